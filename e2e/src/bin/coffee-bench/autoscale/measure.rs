//! What a run measured, from samples taken every second outside both scalers: the group's lag
//! from an independent reader, the consumer processes the runtime runs, and the replicas the
//! Deployment asks for.

/// One second of a run.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Sample {
    pub t: f64,
    /// Orders per second the load was sending.
    pub rate: f64,
    pub lag: i64,
    /// Consumer pods ready.
    pub pods: i32,
    /// Live workers per pod, as a consumer reports them.
    pub workers: i32,
    /// The consumer Deployment's replicas.
    pub replicas: i32,
}

/// A run's figures.
#[derive(Debug, Clone, PartialEq)]
pub struct Figures {
    /// Seconds from each rise of the load until the ready consumers' capacity (pods × live
    /// workers × a worker's nominal rate) reached the load (`None`: never).
    pub to_capacity: Vec<Option<f64>>,
    /// Seconds from each rise of the load until the lag stopped growing: the capacity in place
    /// and the group's rebalances done (`None`: never).
    pub to_sufficient: Vec<Option<f64>>,
    pub peak_lag: i64,
    /// Seconds from the last rise until the lag, having exceeded a second of arrivals, was
    /// back under it.
    pub to_drain: Option<f64>,
    /// Changes of the Deployment's replicas (each one a rebalance).
    pub rebalances: u32,
    pub pod_seconds: f64,
    /// Replica changes that reversed the previous one within `flap_window` seconds.
    pub flaps: u32,
}

/// How long the lag must not have grown for capacity to count as sufficient.
const FLAT: f64 = 5.0;

/// `per_worker` is a worker's nominal orders per second (1 / mean brew time).
pub fn figures(samples: &[Sample], rises: &[f64], flap_window: f64, per_worker: f64) -> Figures {
    let lag_at = |t: f64| {
        samples
            .iter()
            .take_while(|s| s.t <= t)
            .last()
            .map_or(0, |s| s.lag)
    };
    let to_sufficient = rises
        .iter()
        .enumerate()
        .map(|(i, &rise)| {
            let until = rises.get(i + 1).copied().unwrap_or(f64::MAX);
            samples
                .iter()
                .filter(|s| s.t >= rise + FLAT && s.t < until)
                .find(|s| s.lag <= lag_at(s.t - FLAT))
                .map(|s| s.t - FLAT / 2.0 - rise)
        })
        .collect();
    let to_capacity = rises
        .iter()
        .enumerate()
        .map(|(i, &rise)| {
            let until = rises.get(i + 1).copied().unwrap_or(f64::MAX);
            samples
                .iter()
                .filter(|s| s.t >= rise && s.t < until)
                .find(|s| f64::from(s.pods) * f64::from(s.workers) * per_worker >= s.rate)
                .map(|s| s.t - rise)
        })
        .collect();
    let last_rise = rises.last().copied().unwrap_or(0.0);
    let mut behind = false;
    let mut to_drain = None;
    for s in samples.iter().filter(|s| s.t > last_rise) {
        if s.lag as f64 > s.rate.max(1.0) {
            behind = true;
        } else if behind {
            to_drain = Some(s.t - last_rise);
            break;
        }
    }
    let (mut rebalances, mut flaps, mut last) = (0, 0, None::<(bool, f64)>);
    for pair in samples.windows(2) {
        let (before, now) = (pair[0].replicas, pair[1].replicas);
        if now == before {
            continue;
        }
        rebalances += 1;
        let up = now > before;
        if last.is_some_and(|(was_up, at)| was_up != up && pair[1].t - at < flap_window) {
            flaps += 1;
        }
        last = Some((up, pair[1].t));
    }
    let step = samples.get(1).map_or(1.0, |s| s.t - samples[0].t);
    Figures {
        to_capacity,
        to_sufficient,
        peak_lag: samples.iter().map(|s| s.lag).max().unwrap_or(0),
        to_drain,
        rebalances,
        pod_seconds: samples.iter().map(|s| f64::from(s.pods) * step).sum(),
        flaps,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(lags: &[i64], replicas: &[i32]) -> Vec<Sample> {
        lags.iter()
            .zip(replicas)
            .enumerate()
            .map(|(i, (&lag, &replicas))| Sample {
                t: i as f64,
                rate: 100.0,
                lag,
                pods: replicas,
                workers: 10,
                replicas,
            })
            .collect()
    }

    #[test]
    fn capacity_suffices_once_the_lag_stops_growing() {
        let lags = [
            0, 0, 100, 200, 300, 400, 500, 520, 500, 400, 300, 200, 100, 50, 0, 0,
        ];
        let samples = run(&lags, &[1; 16]);
        let figures = figures(&samples, &[1.0], 120.0, 20.0);
        // Not grown over 5 s first at t = 10 (300 ≤ 400 at t = 5): the turn was mid-window.
        assert_eq!(figures.to_sufficient, vec![Some(6.5)]);
        assert_eq!(figures.peak_lag, 520);
        assert_eq!(figures.to_drain, Some(11.0));
    }

    #[test]
    fn capacity_is_in_place_once_pods_times_workers_carry_the_rate() {
        let mut samples = run(&[0; 6], &[1, 1, 1, 2, 2, 2]);
        for s in &mut samples {
            s.rate = 250.0;
        }
        // 10 workers at 20/s: one pod gives 200/s, two 400/s.
        assert_eq!(
            figures(&samples, &[1.0], 120.0, 20.0).to_capacity,
            vec![Some(2.0)]
        );
    }

    #[test]
    fn replica_changes_are_rebalances_and_quick_reversals_are_flaps() {
        let samples = run(&[0; 8], &[1, 1, 5, 5, 2, 2, 4, 4]);
        let figures = figures(&samples, &[], 120.0, 20.0);
        assert_eq!(figures.rebalances, 3);
        assert_eq!(figures.flaps, 2);
        assert_eq!(figures.pod_seconds, 24.0);
    }
}
