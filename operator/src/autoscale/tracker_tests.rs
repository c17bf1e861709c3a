use proptest::prelude::*;

use super::*;

fn size(pods: i32, workers: i32) -> ConsumerSize {
    ConsumerSize { pods, workers }
}

/// A sample at `t` seconds of partitions given as (end, committed).
fn sample(t: u64, partitions: &[(i64, Option<i64>)], running: ConsumerSize) -> Sample {
    Sample {
        at: Duration::from_secs(t),
        partitions: partitions
            .iter()
            .enumerate()
            .map(|(i, &(end, committed))| PartitionOffsets {
                partition: i32::try_from(i).unwrap(),
                start: 0,
                end,
                committed,
            })
            .collect(),
        arriving: None,
        running,
    }
}

/// Feeds a tracker polls every 5 s of one partition that receives `arrivals` and processes
/// `processed` messages per poll, starting `backlog` behind.
fn busy_pipeline(
    tracker: &mut Tracker,
    polls: u64,
    backlog: i64,
    arrivals: i64,
    processed: i64,
    running: ConsumerSize,
) -> Estimates {
    let mut estimates = Estimates::default();
    for poll in 0..polls {
        let n = i64::try_from(poll).unwrap();
        let end = backlog + n * arrivals;
        let committed = n * processed;
        let s = sample(poll * 5, &[(end, Some(committed))], running);
        estimates = tracker.record(s, &[]);
    }
    estimates
}

#[test]
fn arrivals_are_the_growth_of_the_log_end_per_second() {
    let mut tracker = Tracker::new(6);
    tracker.record(
        sample(0, &[(100, Some(100)), (50, Some(50))], size(1, 1)),
        &[],
    );
    let estimates = tracker.record(
        sample(5, &[(600, Some(100)), (550, Some(50))], size(1, 1)),
        &[],
    );
    assert_eq!(estimates.arrival_rate, Some(200.0));
    assert_eq!(estimates.total_lag, 1_000);
    assert_eq!(estimates.worst, Some((0, 500)));
}

#[test]
fn no_rates_before_the_second_poll() {
    let mut tracker = Tracker::new(6);
    let estimates = tracker.record(sample(0, &[(100, Some(0))], size(1, 1)), &[]);
    assert_eq!(estimates.arrival_rate, None);
    assert_eq!(estimates.processing_rate, None);
    assert_eq!(estimates.per_worker_rate, None);
}

#[test]
fn the_per_worker_rate_is_learned_while_the_workers_are_busy() {
    // 10 workers process 500 messages per 5 s poll: 10 per worker per second.
    let mut tracker = Tracker::new(6);
    let estimates = busy_pipeline(&mut tracker, 4, 10_000, 100, 500, size(1, 10));
    assert_eq!(estimates.per_worker_rate, Some(10.0));
    assert_eq!(estimates.processing_rate, Some(100.0));
}

#[test]
fn nothing_is_learned_while_the_workers_keep_up() {
    // Processing matches arrivals and nothing is left over: the workers were not busy.
    let mut tracker = Tracker::new(6);
    let estimates = busy_pipeline(&mut tracker, 5, 0, 50, 50, size(1, 10));
    assert_eq!(estimates.per_worker_rate, None);
}

#[test]
fn nothing_is_learned_across_a_change_of_the_consumers() {
    let mut tracker = Tracker::new(6);
    tracker.record(sample(0, &[(10_000, Some(0))], size(1, 10)), &[]);
    let estimates = tracker.record(sample(5, &[(10_000, Some(500))], size(2, 10)), &[]);
    assert_eq!(estimates.per_worker_rate, None);
}

#[test]
fn a_partition_with_lag_and_the_same_commit_for_the_stall_polls_is_a_candidate() {
    let mut tracker = Tracker::new(3);
    for t in 0..3 {
        tracker.record(
            sample(
                t * 5,
                &[(100 + 10 * t as i64, Some(40)), (500, Some(500))],
                size(1, 1),
            ),
            &[],
        );
    }
    let now = sample(15, &[(130, Some(40)), (500, Some(500))], size(1, 1));
    assert_eq!(tracker.stall_candidates(&now), vec![0]);
}

#[test]
fn a_partition_that_moved_within_the_stall_polls_is_no_candidate() {
    let mut tracker = Tracker::new(3);
    for (t, committed) in [(0, 40), (5, 41), (10, 41)] {
        tracker.record(sample(t, &[(100, Some(committed))], size(1, 1)), &[]);
    }
    assert!(
        tracker
            .stall_candidates(&sample(15, &[(100, Some(41))], size(1, 1)))
            .is_empty()
    );
}

#[test]
fn a_partition_without_lag_is_never_stalled() {
    let mut tracker = Tracker::new(2);
    for t in 0..3 {
        tracker.record(sample(t * 5, &[(40, Some(40))], size(1, 1)), &[]);
    }
    assert!(
        tracker
            .stall_candidates(&sample(15, &[(40, Some(40))], size(1, 1)))
            .is_empty()
    );
}

#[test]
fn stalled_partitions_count_in_the_total_lag_but_not_in_the_lag_to_scale_for() {
    let mut tracker = Tracker::new(2);
    tracker.record(
        sample(0, &[(1_000, Some(0)), (100, Some(0))], size(1, 1)),
        &[],
    );
    let estimates = tracker.record(
        sample(5, &[(2_000, Some(0)), (150, Some(50))], size(1, 1)),
        &[0],
    );
    assert_eq!(estimates.total_lag, 2_100);
    assert_eq!(estimates.lag, 100);
    assert_eq!(estimates.stalled, vec![0]);
    assert_eq!(estimates.arrival_rate, Some(210.0));
    assert_eq!(estimates.active_arrival_rate, Some(10.0));
}

#[test]
fn more_workers_that_do_not_raise_a_pods_throughput_set_a_ceiling() {
    let mut tracker = Tracker::new(6);
    busy_pipeline(&mut tracker, 4, 100_000, 0, 500, size(1, 10));
    // Twice the workers, 10 % more throughput: the pod is CPU-bound at 10.
    let mut estimates = Estimates::default();
    for poll in 4..8u64 {
        let n = i64::try_from(poll).unwrap();
        let committed = 1_500 + (n - 3) * 550;
        estimates = tracker.record(
            sample(poll * 5, &[(100_000, Some(committed))], size(1, 20)),
            &[],
        );
    }
    let ceiling = estimates.ceiling.expect("a ceiling");
    assert_eq!(ceiling.workers, 10);
    assert!((ceiling.per_pod_rate - 110.0).abs() < 1e-9, "{ceiling:?}");
    assert_eq!(estimates.per_worker_rate, Some(10.0));
}

#[test]
fn more_workers_that_raise_throughput_set_no_ceiling() {
    let mut tracker = Tracker::new(6);
    busy_pipeline(&mut tracker, 4, 100_000, 0, 500, size(1, 10));
    let mut estimates = Estimates::default();
    for poll in 4..8u64 {
        let n = i64::try_from(poll).unwrap();
        let committed = 1_500 + (n - 3) * 1_000;
        estimates = tracker.record(
            sample(poll * 5, &[(100_000, Some(committed))], size(1, 20)),
            &[],
        );
    }
    assert_eq!(estimates.ceiling, None);
}

proptest! {
    #[test]
    fn rates_and_lag_are_never_negative(
        steps in proptest::collection::vec((0i64..10_000, 0i64..10_000, 1u64..20), 1..20),
    ) {
        let mut tracker = Tracker::new(4);
        let (mut end, mut committed, mut t) = (0i64, 0i64, 0u64);
        for (grow, process, dt) in steps {
            end += grow;
            committed = (committed + process).min(end + 5);
            t += dt;
            let estimates = tracker.record(sample(t, &[(end, Some(committed))], size(1, 4)), &[]);
            prop_assert!(estimates.total_lag >= 0 && estimates.lag >= 0);
            prop_assert!(estimates.arrival_rate.is_none_or(|r| r >= 0.0));
            prop_assert!(estimates.processing_rate.is_none_or(|r| r >= 0.0));
            prop_assert!(estimates.per_worker_rate.is_none_or(|r| r > 0.0));
        }
    }
}

#[test]
fn the_floor_is_what_the_workers_provably_processed_busy_or_not() {
    let mut tracker = Tracker::new(6);
    // 10 workers keep up with 50 per second: each did at least 5 per second.
    let estimates = busy_pipeline(&mut tracker, 3, 0, 250, 250, size(1, 10));
    assert_eq!(estimates.per_worker_floor, Some(5.0));
    assert_eq!(estimates.per_worker_rate, None);
}

#[test]
fn across_a_resize_the_floor_counts_the_larger_size() {
    let mut tracker = Tracker::new(6);
    tracker.record(sample(0, &[(10_000, Some(0))], size(1, 10)), &[]);
    let estimates = tracker.record(sample(5, &[(10_000, Some(1_000))], size(2, 10)), &[]);
    assert_eq!(estimates.per_worker_floor, Some(10.0));
}

#[test]
fn a_busy_stretch_shorter_than_the_learning_span_teaches_nothing() {
    // Two 2 s polls of a backlog: 4 s are mostly commit timing (and maybe a rebalance pause).
    let mut tracker = Tracker::new(6);
    tracker.record(sample(0, &[(10_000, Some(0))], size(1, 10)), &[]);
    tracker.record(sample(2, &[(10_000, Some(100))], size(1, 10)), &[]);
    let estimates = tracker.record(sample(4, &[(10_000, Some(200))], size(1, 10)), &[]);
    assert_eq!(estimates.per_worker_rate, None);
}

#[test]
fn a_pipeline_that_keeps_up_teaches_nothing_though_commits_trail_a_second() {
    // 100/s arrive and are processed; commits trail by a second: 100 of lag, 10 workers.
    let mut tracker = Tracker::new(6);
    let mut estimates = Estimates::default();
    for poll in 0..8u64 {
        let n = i64::try_from(poll).unwrap();
        estimates = tracker.record(
            sample(poll * 5, &[(100 + n * 500, Some(n * 500))], size(1, 10)),
            &[],
        );
    }
    assert_eq!(estimates.per_worker_rate, None);
    assert_eq!(estimates.ceiling, None);
}

#[test]
fn more_workers_with_nothing_more_to_do_set_no_ceiling() {
    // 10 and then 14 workers process the same 100/s because only 100/s arrive.
    let mut tracker = Tracker::new(6);
    let mut estimates = Estimates::default();
    for poll in 0..12u64 {
        let n = i64::try_from(poll).unwrap();
        let workers = if poll < 6 { 10 } else { 14 };
        estimates = tracker.record(
            sample(
                poll * 5,
                &[(150 + n * 500, Some(n * 500))],
                size(1, workers),
            ),
            &[],
        );
    }
    assert_eq!(estimates.ceiling, None);
}

#[test]
fn the_last_seconds_arrivals_show_a_step_at_once() {
    // The growth since the previous poll says 230/s; the last second says 1,200/s.
    let mut tracker = Tracker::new(6);
    tracker.record(sample(0, &[(0, Some(0))], size(1, 10)), &[]);
    let mut now = sample(5, &[(1_150, Some(100))], size(1, 10));
    now.arriving = Some(vec![1_200.0]);
    let estimates = tracker.record(now, &[]);
    assert_eq!(estimates.arrival_rate, Some(1_200.0));
    assert_eq!(estimates.active_arrival_rate, Some(1_200.0));
}
