//! Turning a number of workers into pods × workers per pod (pure).
//!
//! Partitions are spread over pods by the group's assignor, so with `P` partitions on `p` pods
//! the busiest pod holds `ceil(P / p)` of them, and with keys spread evenly it gets that share
//! of the arrivals. A size therefore sustains only what its busiest pod can: `workers × P /
//! ceil(P / p)` workers' worth. Sizing every pod for the busiest share makes pod counts that
//! spread partitions evenly (for 12 partitions: 1, 2, 3, 4, 6, 12) the ones chosen, because an
//! uneven count costs a pod without adding capacity.

use crate::crd::{CoffeeOrderPipelineSpec, ConsumerSize, Range};

/// What sizes may be chosen.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Bounds {
    pub pods: Range,
    pub workers: Range,
    /// Partitions of the order topic: never more pods than this.
    pub partitions: i32,
}

impl Bounds {
    /// The spec's consumer bounds on a topic of `partitions` (as Kafka reports them).
    pub fn of(spec: &CoffeeOrderPipelineSpec, partitions: i32) -> Self {
        Self {
            pods: spec.consumer.replicas,
            workers: spec.consumer.workers,
            partitions,
        }
    }

    /// The most pods that can all get a partition.
    pub fn max_pods(&self) -> i32 {
        self.pods.max.min(self.partitions).max(1)
    }

    /// The fewest pods allowed (never more than can get a partition).
    pub fn min_pods(&self) -> i32 {
        self.pods.min.min(self.max_pods()).max(1)
    }

    /// `size` moved inside the bounds.
    pub fn clamp(&self, size: ConsumerSize) -> ConsumerSize {
        ConsumerSize {
            pods: size.pods.clamp(self.min_pods(), self.max_pods()),
            workers: size.workers.clamp(self.workers.min, self.workers.max),
        }
    }

    /// The busiest pod's share of the partitions with `pods` pods.
    fn busiest_share(&self, pods: i32) -> f64 {
        let partitions = self.partitions.max(1);
        let busiest = (partitions + pods.max(1) - 1) / pods.max(1);
        f64::from(busiest) / f64::from(partitions)
    }

    /// Workers' worth of throughput `size` sustains: what its busiest pod can, spread over all.
    pub fn effective_workers(&self, size: ConsumerSize) -> f64 {
        f64::from(size.workers) / self.busiest_share(size.pods)
    }

    /// Workers per pod that `pods` pods need for `workers` workers' worth of throughput.
    pub fn workers_per_pod(&self, pods: i32, workers: f64) -> i32 {
        let needed = (workers * self.busiest_share(pods) - 1e-9).ceil();
        (needed.min(f64::from(i32::MAX)) as i32).max(self.workers.min)
    }

    /// The size for `workers` with as few pods as will do (at least `from_pods`), each with at
    /// most `max_workers`; the largest size if none will do.
    pub fn smallest_fitting(&self, workers: f64, from_pods: i32, max_workers: i32) -> ConsumerSize {
        let max_workers = max_workers.clamp(self.workers.min, self.workers.max);
        let first = from_pods.clamp(self.min_pods(), self.max_pods());
        (first..=self.max_pods())
            .map(|pods| ConsumerSize {
                pods,
                workers: self.workers_per_pod(pods, workers),
            })
            .find(|size| size.workers <= max_workers)
            .unwrap_or(ConsumerSize {
                pods: self.max_pods(),
                workers: max_workers,
            })
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    fn bounds(pods: (i32, i32), workers: (i32, i32), partitions: i32) -> Bounds {
        Bounds {
            pods: Range {
                min: pods.0,
                max: pods.1,
            },
            workers: Range {
                min: workers.0,
                max: workers.1,
            },
            partitions,
        }
    }

    fn size(pods: i32, workers: i32) -> ConsumerSize {
        ConsumerSize { pods, workers }
    }

    #[test]
    fn an_uneven_pod_count_is_only_as_good_as_its_busiest_pod() {
        let b = bounds((1, 12), (1, 100), 12);
        assert_eq!(b.effective_workers(size(5, 10)), 40.0);
        assert_eq!(b.effective_workers(size(4, 10)), 40.0);
        assert_eq!(b.effective_workers(size(6, 10)), 60.0);
    }

    #[test]
    fn workers_fill_the_running_pods_before_another_pod_is_added() {
        let b = bounds((1, 12), (2, 50), 12);
        assert_eq!(b.smallest_fitting(40.0, 2, 50), size(2, 20));
        assert_eq!(b.smallest_fitting(101.0, 2, 50), size(3, 34));
    }

    #[test]
    fn pod_counts_that_spread_partitions_evenly_are_chosen() {
        let b = bounds((1, 12), (1, 10), 12);
        // 41 workers: 5 pods would need 11 on the busiest (3 partitions); 6 pods need 7.
        assert_eq!(b.smallest_fitting(41.0, 1, 10), size(6, 7));
    }

    #[test]
    fn beyond_every_bound_the_largest_size_is_returned() {
        let b = bounds((1, 4), (1, 10), 12);
        assert_eq!(b.smallest_fitting(1000.0, 1, 10), size(4, 10));
    }

    #[test]
    fn never_more_pods_than_partitions() {
        let b = bounds((1, 10), (1, 10), 3);
        assert_eq!(b.max_pods(), 3);
        assert_eq!(b.clamp(size(8, 4)), size(3, 4));
    }

    proptest! {
        #[test]
        fn the_size_chosen_sustains_the_workers_asked_for_or_is_the_largest(
            partitions in 1i32..64,
            max_pods in 1i32..64,
            min_workers in 1i32..20,
            extra_workers in 0i32..200,
            workers in 0.0f64..20_000.0,
            from_pods in 0i32..70,
        ) {
            let b = bounds((1, max_pods), (min_workers, min_workers + extra_workers), partitions);
            let chosen = b.smallest_fitting(workers, from_pods, b.workers.max);
            prop_assert!(chosen.pods >= 1 && chosen.pods <= b.max_pods());
            prop_assert!(chosen.workers >= b.workers.min && chosen.workers <= b.workers.max);
            let largest = size(b.max_pods(), b.workers.max);
            prop_assert!(b.effective_workers(chosen) + 1e-6 >= workers || chosen == largest);
        }

        #[test]
        fn more_workers_asked_never_gives_less_capacity(
            partitions in 1i32..48,
            workers in 0.0f64..2_000.0,
            more in 0.0f64..2_000.0,
        ) {
            let b = bounds((1, partitions), (1, 64), partitions);
            let fewer = b.smallest_fitting(workers, 1, 64);
            let larger = b.smallest_fitting(workers + more, 1, 64);
            prop_assert!(b.effective_workers(larger) + 1e-9 >= b.effective_workers(fewer));
        }
    }
}
