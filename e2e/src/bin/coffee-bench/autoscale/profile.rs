//! The load profiles, the same for both scalers: orders per second over time. A time scale
//! below 1 shortens the profile and every autoscaling timing of both scalers alike (polls,
//! windows, intervals); the pipeline itself (brew times, pod start-up, rebalances) keeps its
//! real speed, so a scaled run is a quick check, not a replica of the real-time one.

use std::time::Duration;

/// A load over time: (from second, orders per second); a negative rate ramps linearly to the
/// next point's.
#[derive(Debug, Clone)]
pub struct Profile {
    pub name: &'static str,
    points: Vec<(f64, f64)>,
    length: f64,
}

impl Profile {
    pub fn all(scale: f64) -> Vec<Profile> {
        let p = |name, points: &[(f64, f64)], length: f64| Profile {
            name,
            points: points.iter().map(|&(t, r)| (t * scale, r)).collect(),
            length: length * scale,
        };
        vec![
            p("step", &[(0.0, 100.0), (60.0, 1_200.0)], 360.0),
            p(
                "spike",
                &[(0.0, 150.0), (60.0, 1_500.0), (90.0, 150.0)],
                420.0,
            ),
            p(
                "ramp",
                &[(0.0, 100.0), (60.0, -1.0), (300.0, 1_200.0)],
                420.0,
            ),
            p(
                "on/off",
                &[
                    (0.0, 1_000.0),
                    (60.0, 0.0),
                    (120.0, 1_000.0),
                    (180.0, 0.0),
                    (240.0, 1_000.0),
                    (300.0, 0.0),
                ],
                420.0,
            ),
            p("steady", &[(0.0, 600.0)], 420.0),
        ]
    }

    pub fn length(&self) -> Duration {
        Duration::from_secs_f64(self.length)
    }

    pub fn rate(&self, at: Duration) -> f64 {
        let t = at.as_secs_f64();
        let mut rate = 0.0;
        for (i, &(from, r)) in self.points.iter().enumerate() {
            if t < from {
                break;
            }
            rate = match self.points.get(i + 1) {
                Some(&(to, next)) if r < 0.0 => {
                    let start = i.checked_sub(1).map_or(0.0, |j| self.points[j].1);
                    start + (next - start) * (t - from) / (to - from)
                }
                _ => r,
            };
        }
        rate
    }

    /// When the rate jumps up (a ramp's start counts too), in seconds.
    pub fn rises(&self) -> Vec<f64> {
        self.points
            .windows(2)
            .filter(|w| w[1].1 < 0.0 || w[1].1 > w[0].1)
            .map(|w| w[1].0)
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn profile(name: &str) -> Profile {
        Profile::all(1.0)
            .into_iter()
            .find(|p| p.name == name)
            .unwrap()
    }

    #[test]
    fn a_step_rises_once() {
        let step = profile("step");
        assert_eq!(step.rate(Duration::from_secs(59)), 100.0);
        assert_eq!(step.rate(Duration::from_secs(61)), 1_200.0);
        assert_eq!(step.rises(), vec![60.0]);
    }

    #[test]
    fn a_ramp_interpolates() {
        let ramp = profile("ramp");
        assert_eq!(ramp.rate(Duration::from_secs(180)), 650.0);
        assert_eq!(ramp.rate(Duration::from_secs(400)), 1_200.0);
    }

    #[test]
    fn scaling_shortens_the_profile_not_the_rates() {
        let quick = Profile::all(0.25)
            .into_iter()
            .find(|p| p.name == "step")
            .unwrap();
        assert_eq!(quick.length(), Duration::from_secs(90));
        assert_eq!(quick.rate(Duration::from_secs(16)), 1_200.0);
    }
}
