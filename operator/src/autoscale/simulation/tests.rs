//! Our autoscaler against the KEDA + HPA replay on the same modelled pipeline and loads: a
//! 12-partition topic, workers of 20 orders/s each (50 ms brews), pods allowed 1–12 with
//! 10–50 workers (KEDA's pods keep the template's 10, so it tops out at 2,400/s and every load
//! stays below that), `lagThreshold` 100 for both, pods that take 3 s to start, and 2 s
//! without processing at every rebalance.

use std::time::Duration;

use e2e::keda::KedaHpa;

use super::*;
use crate::crd::Range;

const PARTITIONS: i32 = 12;

fn model() -> Model {
    Model {
        partitions: 12,
        per_worker_rate: 20.0,
        pod_limit: None,
        pod_startup: Duration::from_secs(3),
        rebalance_pause: Duration::from_secs(2),
        worker_delay: Duration::from_secs(1),
        stuck: None,
    }
}

fn bounds() -> Bounds {
    Bounds {
        pods: Range { min: 1, max: 12 },
        workers: Range { min: 10, max: 50 },
        partitions: PARTITIONS,
    }
}

fn start() -> ConsumerSize {
    ConsumerSize {
        pods: 1,
        workers: 10,
    }
}

fn ours() -> Ours {
    let tuning = Tuning {
        target_drain: Duration::from_secs(30),
        lag_threshold: 100,
        scale_down_window: Duration::from_secs(120),
        min_rebalance_interval: Duration::from_secs(30),
    };
    Ours::new(bounds(), tuning, 6, start())
}

fn keda() -> Keda {
    Keda {
        replay: KedaHpa::new(KedaHpa::defaults(PARTITIONS, 100, 12), PARTITIONS),
        workers: 10,
    }
}

fn step() -> Profile {
    Profile {
        name: "step",
        segments: vec![(0, 100.0), (60, 1_600.0)],
        length: 600,
    }
}

fn spike() -> Profile {
    Profile {
        name: "spike",
        segments: vec![(0, 200.0), (60, 2_000.0), (90, 200.0)],
        length: 600,
    }
}

fn ramp() -> Profile {
    Profile {
        name: "ramp",
        segments: vec![(0, 100.0), (60, -1.0), (360, 2_000.0)],
        length: 720,
    }
}

fn on_off() -> Profile {
    let mut segments = Vec::new();
    for cycle in 0..5u64 {
        segments.push((cycle * 120, 1_200.0));
        segments.push((cycle * 120 + 60, 0.0));
    }
    Profile {
        name: "on/off",
        segments,
        length: 600,
    }
}

fn both(profile: &Profile, model: Model) -> (Outcome, Outcome) {
    (
        run(profile, model, start(), &mut ours()),
        run(profile, model, start(), &mut keda()),
    )
}

fn first_sufficient(outcome: &Outcome) -> f64 {
    outcome
        .to_sufficient
        .first()
        .copied()
        .flatten()
        .unwrap_or(f64::INFINITY)
}

#[test]
fn after_a_step_capacity_suffices_within_ten_seconds_and_three_times_sooner_than_keda() {
    let (ours, keda) = both(&step(), model());
    let (mine, theirs) = (first_sufficient(&ours), first_sufficient(&keda));
    assert!(mine <= 10.0, "ours took {mine} s: {ours:?}");
    assert!(theirs >= 3.0 * mine, "KEDA {theirs} s vs ours {mine} s");
}

#[test]
fn every_profile_rebalances_less_and_costs_no_more_pod_seconds_than_keda() {
    eprintln!(
        "| profile | scaler | to sufficient (s) | short of capacity (s) | peak lag | to drain (s) | rebalances | pod-seconds | flaps |"
    );
    eprintln!("|---|---|---|---|---|---|---|---|---|");
    for profile in [step(), spike(), ramp(), on_off()] {
        let (ours, keda) = both(&profile, model());
        for (scaler, o) in [("ours", &ours), ("KEDA+HPA", &keda)] {
            let sufficient: Vec<String> = o
                .to_sufficient
                .iter()
                .map(|s| s.map_or("never".to_owned(), |s| format!("{s:.1}")))
                .collect();
            eprintln!(
                "| {} | {scaler} | {} | {:.0} | {:.0} | {} | {} | {:.0} | {} |",
                profile.name,
                sufficient.join(", "),
                o.short_seconds,
                o.peak_lag,
                o.to_drain.map_or("—".to_owned(), |d| format!("{d:.0}")),
                o.rebalances,
                o.pod_seconds,
                o.flaps
            );
        }
        assert!(
            ours.rebalances < keda.rebalances,
            "{}: {} rebalances vs KEDA {}",
            profile.name,
            ours.rebalances,
            keda.rebalances
        );
        assert!(
            ours.pod_seconds <= keda.pod_seconds,
            "{}: {:.0} pod-seconds vs KEDA {:.0}",
            profile.name,
            ours.pod_seconds,
            keda.pod_seconds
        );
    }
}

#[test]
fn every_profile_is_short_of_capacity_for_less_time_with_less_lag_and_no_flap() {
    for profile in [step(), spike(), ramp(), on_off()] {
        let (ours, keda) = both(&profile, model());
        assert!(
            ours.short_seconds < keda.short_seconds,
            "{}: short {:.0} s vs KEDA {:.0} s",
            profile.name,
            ours.short_seconds,
            keda.short_seconds
        );
        assert!(ours.peak_lag < keda.peak_lag, "{}", profile.name);
        assert_eq!(ours.flaps, 0, "{}: {:?}", profile.name, ours.decisions);
    }
}

#[test]
fn a_steady_load_settles_once_and_never_flaps() {
    let steady = Profile {
        name: "steady",
        segments: vec![(0, 800.0)],
        length: 1_200,
    };
    let outcome = run(&steady, model(), start(), &mut ours());
    assert_eq!(outcome.flaps, 0, "{:?}", outcome.decisions);
    let late: Vec<_> = outcome
        .decisions
        .iter()
        .filter(|(t, _)| *t > 300.0)
        .collect();
    assert!(late.is_empty(), "changes after settling: {late:?}");
}

#[test]
fn a_stuck_partition_does_not_run_away_to_the_maximum_as_keda_does() {
    let stuck = Model {
        stuck: Some((3, Duration::from_secs(30))),
        ..model()
    };
    let steady = Profile {
        name: "stuck",
        segments: vec![(0, 600.0)],
        length: 600,
    };
    let (ours, keda) = both(&steady, stuck);
    assert!(
        ours.max_pods <= 2,
        "ours asked for {} pods: {:?}",
        ours.max_pods,
        ours.decisions
    );
    assert_eq!(keda.max_pods, 12);
}

#[test]
fn cpu_bound_pods_get_company_instead_of_more_workers() {
    let cpu_bound = Model {
        pod_limit: Some(300.0),
        ..model()
    };
    let load = Profile {
        name: "cpu-bound",
        segments: vec![(0, 100.0), (60, 1_200.0)],
        length: 600,
    };
    let outcome = run(&load, cpu_bound, start(), &mut ours());
    assert!(
        first_sufficient(&outcome) <= 120.0,
        "{:?}",
        outcome.decisions
    );
    let (_, last) = outcome.decisions.last().copied().unwrap_or_default();
    assert!(last.pods >= 4, "{:?}", outcome.decisions);
}
