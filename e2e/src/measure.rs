//! What a run of a pipeline under changing load measured, from samples taken every second
//! outside the scaler: the group's lag from an independent reader, the consumer processes the
//! runtime runs, and the replicas the Deployment asks for. Shared by the autoscaling benchmark
//! and the demo's report.

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
    /// Seconds from each rise of the load until the lag's trend (its least-squares slope over
    /// the 10 s around) stopped rising: the capacity in place and the group's rebalances done
    /// (`None`: never).
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

/// Half the window over which the lag's trend is taken: commits land about once a second, so
/// a single sample of the lag jitters by up to a second of arrivals.
const HALF_TREND: f64 = 5.0;

/// The least-squares slope of `(t, lag)` points, per second.
fn slope(points: &[(f64, f64)]) -> f64 {
    let n = points.len() as f64;
    if n < 2.0 {
        return f64::NAN;
    }
    let mean_t = points.iter().map(|p| p.0).sum::<f64>() / n;
    let mean_y = points.iter().map(|p| p.1).sum::<f64>() / n;
    let covariance: f64 = points.iter().map(|p| (p.0 - mean_t) * (p.1 - mean_y)).sum();
    let variance: f64 = points.iter().map(|p| (p.0 - mean_t).powi(2)).sum();
    covariance / variance
}

/// `per_worker` is a worker's nominal orders per second (1 / mean brew time).
pub fn figures(samples: &[Sample], rises: &[f64], flap_window: f64, per_worker: f64) -> Figures {
    let trend = |t: f64| {
        let window: Vec<(f64, f64)> = samples
            .iter()
            .filter(|s| (s.t - t).abs() <= HALF_TREND)
            .map(|s| (s.t, s.lag as f64))
            .collect();
        slope(&window)
    };
    let to_sufficient = rises
        .iter()
        .enumerate()
        .map(|(i, &rise)| {
            let until = rises.get(i + 1).copied().unwrap_or(f64::MAX);
            let last = samples.last().map_or(0.0, |s| s.t);
            samples
                .iter()
                .filter(|s| s.t >= rise + HALF_TREND && s.t < until && s.t + HALF_TREND <= last)
                .find(|s| trend(s.t) <= 0.0)
                .map(|s| s.t - rise)
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
        // The trend over t ± 5 s first stops rising at t = 7, where the lag peaks.
        assert_eq!(figures.to_sufficient, vec![Some(6.0)]);
        assert_eq!(figures.peak_lag, 520);
        assert_eq!(figures.to_drain, Some(11.0));
    }

    #[test]
    fn one_low_sample_in_a_rising_lag_is_not_a_turn() {
        let lags = [
            0, 1000, 2000, 3000, 2000, 5000, 6000, 7000, 8000, 9000, 10000, 11000, 12000, 13000,
        ];
        let samples = run(&lags, &[1; 14]);
        assert_eq!(
            figures(&samples, &[0.0], 120.0, 20.0).to_sufficient,
            vec![None]
        );
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
