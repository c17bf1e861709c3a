use proptest::prelude::*;

use super::*;
use crate::autoscale::tracker::Ceiling;
use crate::crd::Range;

const WINDOW: Duration = Duration::from_secs(120);

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

fn tuning() -> Tuning {
    Tuning {
        target_drain: Duration::from_secs(30),
        lag_threshold: 100,
        scale_down_window: WINDOW,
        min_rebalance_interval: Duration::from_secs(30),
    }
}

fn size(pods: i32, workers: i32) -> ConsumerSize {
    ConsumerSize { pods, workers }
}

/// Estimates with a learned rate of `per_worker` messages per second per worker.
fn learned(lag: i64, arrivals: f64, per_worker: f64) -> Estimates {
    Estimates {
        total_lag: lag,
        lag,
        arrival_rate: Some(arrivals),
        active_arrival_rate: Some(arrivals),
        per_worker_rate: Some(per_worker),
        ..Estimates::default()
    }
}

fn seconds(s: u64) -> Duration {
    Duration::from_secs(s)
}

#[test]
fn without_lag_the_running_size_stays() {
    let decision = decide(
        seconds(0),
        &Estimates::default(),
        &bounds((1, 4), (10, 50), 4),
        &tuning(),
        size(1, 10),
        &mut Memory::default(),
    );
    assert_eq!(decision.to, size(1, 10));
    assert_eq!(decision.reason, Reason::Steady);
}

#[test]
fn until_a_rate_is_learned_each_worker_takes_lag_threshold_messages() {
    let estimates = Estimates {
        total_lag: 5_000,
        lag: 5_000,
        ..Estimates::default()
    };
    let b = bounds((1, 4), (10, 20), 4);
    let decision = decide(
        seconds(0),
        &estimates,
        &b,
        &tuning(),
        size(1, 10),
        &mut Memory::default(),
    );
    assert!(b.effective_workers(decision.to) >= 50.0, "{decision:?}");
    assert_eq!(decision.reason, Reason::CapacityShort);
    assert_eq!(decision.need, None);
}

#[test]
fn before_a_rate_is_learned_what_the_workers_processed_sizes_a_step() {
    // 10 workers were seen doing 20/s each; 2,400/s arrive with 11,000 behind:
    // (2,400 + 11,000 / 30) / 20 = 138.3 workers' worth: three pods of 47 would do, but added
    // pods keep a quarter spare (at most 37 of 50), so four pods of 35.
    let estimates = Estimates {
        total_lag: 11_000,
        lag: 11_000,
        active_arrival_rate: Some(2_400.0),
        per_worker_floor: Some(20.0),
        ..Estimates::default()
    };
    let decision = decide(
        seconds(0),
        &estimates,
        &bounds((1, 12), (10, 50), 12),
        &tuning(),
        size(1, 10),
        &mut Memory::default(),
    );
    assert_eq!(decision.to, size(4, 35));
}

#[test]
fn before_a_rate_is_learned_a_pipeline_that_keeps_up_stays() {
    let estimates = Estimates {
        total_lag: 200,
        lag: 200,
        active_arrival_rate: Some(5_000.0),
        per_worker_floor: Some(1.0),
        ..Estimates::default()
    };
    let decision = decide(
        seconds(0),
        &estimates,
        &bounds((1, 12), (10, 50), 12),
        &tuning(),
        size(1, 10),
        &mut Memory::default(),
    );
    assert_eq!(decision.to, size(1, 10));
}

#[test]
fn arrivals_beyond_capacity_raise_workers_in_the_running_pods_first() {
    // 10 workers at 10/s give 100/s; 150/s arrive: 150 / (10 × 0.8) = 18.75 → 19 workers.
    let decision = decide(
        seconds(0),
        &learned(0, 150.0, 10.0),
        &bounds((1, 4), (10, 50), 4),
        &tuning(),
        size(1, 10),
        &mut Memory::default(),
    );
    assert_eq!(decision.to, size(1, 19));
    assert_eq!(decision.capacity_from, Some(100.0));
    assert_eq!(decision.capacity_to, Some(190.0));
}

#[test]
fn pods_are_added_only_when_workers_are_at_their_maximum() {
    // 900/s at 10/s per worker asks for 112.5 workers' worth: two pods of 50 cannot, four
    // pods (one partition each) of 29 can.
    let decision = decide(
        seconds(0),
        &learned(0, 900.0, 10.0),
        &bounds((1, 4), (10, 50), 4),
        &tuning(),
        size(2, 10),
        &mut Memory::default(),
    );
    assert_eq!(decision.to, size(4, 29));
}

#[test]
fn added_pods_leave_a_quarter_of_their_workers_spare() {
    // 600/s at 10/s per worker: 75 workers' worth. Two pods of 38 would do; with a quarter
    // spare (at most 37), three pods of 25 (partitions 6: two each).
    let decision = decide(
        seconds(0),
        &learned(0, 600.0, 10.0),
        &bounds((1, 6), (10, 50), 6),
        &tuning(),
        size(1, 10),
        &mut Memory::default(),
    );
    assert_eq!(decision.to, size(3, 25));
}

#[test]
fn lag_is_drained_within_the_target_time() {
    // No arrivals, 6,000 behind, 30 s target: 200/s needed, 250/s sized.
    let decision = decide(
        seconds(0),
        &learned(6_000, 0.0, 10.0),
        &bounds((1, 1), (1, 100), 1),
        &tuning(),
        size(1, 10),
        &mut Memory::default(),
    );
    assert_eq!(decision.to, size(1, 25));
    assert_eq!(decision.need, Some(200.0));
    assert_eq!(decision.drain_seconds, Some(24.0));
}

#[test]
fn at_the_largest_size_a_shortfall_is_reported_not_acted_on() {
    let decision = decide(
        seconds(0),
        &learned(100_000, 5_000.0, 10.0),
        &bounds((1, 2), (1, 20), 2),
        &tuning(),
        size(2, 20),
        &mut Memory::default(),
    );
    assert_eq!(decision.to, size(2, 20));
    assert_eq!(decision.reason, Reason::AtMaximum);
    assert_eq!(decision.drain_seconds, None);
}

#[test]
fn a_pod_change_within_the_rebalance_interval_waits_but_workers_still_grow() {
    // 1,100/s at 10/s per worker: two pods of 50 give 1,000/s; four pods of 35 are wanted.
    let b = bounds((1, 4), (10, 50), 4);
    let mut memory = Memory {
        last_pod_change: Some(seconds(100)),
        ..Memory::default()
    };
    let held = decide(
        seconds(110),
        &learned(0, 1_100.0, 10.0),
        &b,
        &tuning(),
        size(2, 10),
        &mut memory,
    );
    assert_eq!(held.to, size(2, 50));
    assert!(held.pods_held);
    let later = decide(
        seconds(131),
        &learned(0, 1_100.0, 10.0),
        &b,
        &tuning(),
        size(2, 50),
        &mut memory,
    );
    assert_eq!(later.to, size(4, 35));
    assert_eq!(memory.last_pod_change, Some(seconds(131)));
}

#[test]
fn a_pod_that_more_workers_stopped_helping_gets_company_instead() {
    let mut estimates = learned(0, 300.0, 10.0);
    estimates.ceiling = Some(Ceiling {
        workers: 12,
        per_pod_rate: 120.0,
        at: seconds(0),
    });
    let decision = decide(
        seconds(0),
        &estimates,
        &bounds((1, 6), (4, 100), 6),
        &tuning(),
        size(1, 12),
        &mut Memory::default(),
    );
    assert!(decision.to.workers <= 12, "{decision:?}");
    assert_eq!(decision.to.pods, 6);
}

#[test]
fn shrinking_waits_for_the_whole_window_then_takes_its_largest_need() {
    let b = bounds((1, 4), (10, 50), 4);
    let mut memory = Memory::default();
    let mut sizes = Vec::new();
    let mut current = size(4, 50);
    for t in (0..=300).step_by(5) {
        let arrivals = if t < 60 { 400.0 } else { 100.0 };
        let decision = decide(
            seconds(t),
            &learned(0, arrivals, 10.0),
            &b,
            &tuning(),
            current,
            &mut memory,
        );
        if decision.changed() {
            sizes.push((t, decision.to));
        }
        current = decision.to;
    }
    // At 120 s the window still holds the 400/s polls (50 workers' worth); once they have left
    // it, 100/s asks for 12.5.
    assert_eq!(sizes, vec![(120, size(1, 50)), (180, size(1, 13))]);
}

#[test]
fn bounds_that_moved_are_followed_at_once() {
    let decision = decide(
        seconds(0),
        &Estimates::default(),
        &bounds((2, 3), (10, 20), 6),
        &tuning(),
        size(5, 40),
        &mut Memory::default(),
    );
    assert_eq!(decision.to, size(3, 20));
    assert_eq!(decision.reason, Reason::Bounds);
}

fn arbitrary_bounds() -> impl Strategy<Value = Bounds> {
    (1i32..24, 1i32..24, 1i32..64, 0i32..200).prop_map(|(partitions, max_pods, min_w, extra)| {
        bounds(
            (1, max_pods.min(partitions)),
            (min_w, min_w + extra),
            partitions,
        )
    })
}

fn arbitrary_estimates() -> impl Strategy<Value = Estimates> {
    (
        0i64..2_000_000,
        0.0f64..50_000.0,
        proptest::option::of(0.1f64..500.0),
    )
        .prop_map(|(lag, arrivals, rate)| Estimates {
            total_lag: lag,
            lag,
            arrival_rate: Some(arrivals),
            active_arrival_rate: Some(arrivals),
            per_worker_rate: rate,
            ..Estimates::default()
        })
}

proptest! {
    #[test]
    fn never_beyond_the_bounds_or_the_partitions(
        b in arbitrary_bounds(),
        e in arbitrary_estimates(),
        pods in 1i32..30,
        workers in 1i32..300,
        at in 0u64..1_000,
    ) {
        let decision = decide(seconds(at), &e, &b, &tuning(), size(pods, workers), &mut Memory::default());
        prop_assert!(decision.to.pods >= b.pods.min.min(b.partitions));
        prop_assert!(decision.to.pods <= b.pods.max.min(b.partitions));
        prop_assert!(decision.to.workers >= b.workers.min && decision.to.workers <= b.workers.max);
    }

    #[test]
    fn more_lag_or_more_arrivals_never_give_less_capacity(
        b in arbitrary_bounds(),
        e in arbitrary_estimates(),
        more_lag in 0i64..1_000_000,
        more_arrivals in 0.0f64..10_000.0,
    ) {
        let current = size(b.min_pods(), b.workers.min);
        let base = decide(seconds(0), &e, &b, &tuning(), current, &mut Memory::default());
        let mut heavier = e.clone();
        heavier.lag += more_lag;
        heavier.total_lag += more_lag;
        heavier.active_arrival_rate = heavier.active_arrival_rate.map(|a| a + more_arrivals);
        let heavy = decide(seconds(0), &heavier, &b, &tuning(), current, &mut Memory::default());
        prop_assert!(b.effective_workers(heavy.to) + 1e-9 >= b.effective_workers(base.to));
    }

    #[test]
    fn a_steady_input_changes_the_size_at_most_once(
        b in arbitrary_bounds(),
        e in arbitrary_estimates(),
    ) {
        let mut memory = Memory::default();
        let mut current = size(b.min_pods(), b.workers.min);
        let mut changes = 0;
        for t in (0..600).step_by(5) {
            let decision = decide(seconds(t), &e, &b, &tuning(), current, &mut memory);
            if decision.changed() {
                changes += 1;
            }
            current = decision.to;
        }
        prop_assert!(changes <= 1, "{changes} changes");
    }

    #[test]
    fn the_lag_of_stalled_partitions_never_causes_a_scale_out(
        b in arbitrary_bounds(),
        e in arbitrary_estimates(),
        stalled_lag in 0i64..10_000_000,
    ) {
        let current = size(b.min_pods(), b.workers.min);
        let plain = decide(seconds(0), &e, &b, &tuning(), current, &mut Memory::default());
        let mut with_stall = e.clone();
        with_stall.total_lag += stalled_lag;
        with_stall.stalled = vec![0];
        let stalled = decide(seconds(0), &with_stall, &b, &tuning(), current, &mut Memory::default());
        prop_assert_eq!(plain.to, stalled.to);
    }

    #[test]
    fn shrinking_never_happens_before_the_window_has_passed(
        b in arbitrary_bounds(),
        e in arbitrary_estimates(),
        at in 0u64..119,
    ) {
        let current = size(b.max_pods(), b.workers.max);
        let mut memory = Memory::default();
        decide(seconds(0), &e, &b, &tuning(), current, &mut memory);
        let decision = decide(seconds(at), &Estimates::default(), &b, &tuning(), current, &mut memory);
        prop_assert!(b.effective_workers(decision.to) + 1e-9 >= b.effective_workers(current));
    }
}
