//! The demo's load: named phases of a coffee shop's day, each with the orders per second it
//! sends (held, or ramped from the previous phase's rate).

use std::time::Duration;

/// One stretch of the day.
#[derive(Debug, Clone, PartialEq)]
pub struct Phase {
    pub name: &'static str,
    pub seconds: f64,
    /// Orders per second at the end of the phase.
    pub rate: f64,
    /// Whether the rate ramps from the previous phase's (or holds from the start).
    pub ramp: bool,
}

/// A load over time.
#[derive(Debug, Clone, PartialEq)]
pub struct Profile {
    pub phases: Vec<Phase>,
}

/// Which day the demo plays.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Kind {
    /// Quiet → rush hour → a spike → quiet again, over the whole duration.
    CoffeeShop,
    /// A minute: quiet, a rush that needs more consumers, quiet long enough to scale back.
    Smoke,
    /// The peak rate all along.
    Steady,
}

impl Profile {
    /// The `kind` of day, lasting `duration`, peaking at `peak` orders per second (a spike
    /// doubles it).
    pub fn new(kind: Kind, duration: Duration, peak: f64) -> Self {
        let total = duration.as_secs_f64();
        let phase = |name, share: f64, rate, ramp| Phase {
            name,
            seconds: total * share,
            rate,
            ramp,
        };
        let quiet = (peak / 10.0).max(1.0);
        let phases = match kind {
            Kind::CoffeeShop => vec![
                phase("quiet morning", 0.15, quiet, false),
                phase("rush hour begins", 0.10, peak, true),
                phase("rush hour", 0.25, peak, false),
                phase("spike", 0.10, 2.0 * peak, false),
                phase("rush hour", 0.10, peak, false),
                phase("quiet again", 0.30, quiet, false),
            ],
            Kind::Smoke => vec![
                phase("quiet", 0.10, quiet, false),
                phase("rush", 0.40, peak, false),
                phase("quiet again", 0.50, quiet, false),
            ],
            Kind::Steady => vec![phase("steady", 1.0, peak, false)],
        };
        Self { phases }
    }

    pub fn length(&self) -> Duration {
        Duration::from_secs_f64(self.phases.iter().map(|p| p.seconds).sum())
    }

    /// The phase at `at` (the last one after the end) and when it began, in seconds.
    pub fn phase_at(&self, at: Duration) -> (&Phase, f64) {
        let t = at.as_secs_f64();
        let mut start = 0.0;
        for phase in &self.phases {
            if t < start + phase.seconds {
                return (phase, start);
            }
            start += phase.seconds;
        }
        let last = self.phases.last().expect("a profile has phases");
        (last, start - last.seconds)
    }

    /// Orders per second at `at`.
    pub fn rate(&self, at: Duration) -> f64 {
        let (phase, start) = self.phase_at(at);
        if !phase.ramp {
            return phase.rate;
        }
        let index = self
            .phases
            .iter()
            .position(|p| std::ptr::eq(p, phase))
            .unwrap_or(0);
        let from = index
            .checked_sub(1)
            .map_or(0.0, |previous| self.phases[previous].rate);
        let progress = ((at.as_secs_f64() - start) / phase.seconds).clamp(0.0, 1.0);
        from + (phase.rate - from) * progress
    }

    /// When the load rises (a phase starts above the previous one's rate), in seconds: the
    /// moments after which capacity has to follow.
    pub fn rises(&self) -> Vec<f64> {
        let mut rises = Vec::new();
        let mut start = 0.0;
        let mut previous = 0.0;
        for (i, phase) in self.phases.iter().enumerate() {
            if i > 0 && phase.rate > previous {
                rises.push(start);
            }
            previous = phase.rate;
            start += phase.seconds;
        }
        rises
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(seconds: f64) -> Duration {
        Duration::from_secs_f64(seconds)
    }

    #[test]
    fn the_phases_fill_the_duration() {
        for kind in [Kind::CoffeeShop, Kind::Smoke, Kind::Steady] {
            let profile = Profile::new(kind, Duration::from_secs(300), 500.0);
            assert!(
                (profile.length().as_secs_f64() - 300.0).abs() < 1e-6,
                "{kind:?}"
            );
        }
    }

    #[test]
    fn a_coffee_shop_day_is_quiet_then_busy_then_spikes_then_quiet() {
        let profile = Profile::new(Kind::CoffeeShop, Duration::from_secs(100), 500.0);
        assert_eq!(profile.rate(at(5.0)), 50.0);
        assert_eq!(profile.rate(at(30.0)), 500.0);
        assert_eq!(profile.rate(at(55.0)), 1_000.0);
        assert_eq!(profile.rate(at(65.0)), 500.0);
        assert_eq!(profile.rate(at(90.0)), 50.0);
        assert_eq!(profile.phase_at(at(55.0)).0.name, "spike");
    }

    #[test]
    fn a_ramp_climbs_linearly_from_the_previous_rate() {
        let profile = Profile::new(Kind::CoffeeShop, Duration::from_secs(100), 500.0);
        // "rush hour begins" runs from 15 s to 25 s, from 50/s to 500/s.
        assert!((profile.rate(at(20.0)) - 275.0).abs() < 1e-6);
    }

    #[test]
    fn after_the_end_the_last_rate_holds() {
        let profile = Profile::new(Kind::Smoke, Duration::from_secs(60), 200.0);
        assert_eq!(profile.rate(at(1_000.0)), 20.0);
        assert_eq!(profile.phase_at(at(1_000.0)).0.name, "quiet again");
    }

    #[test]
    fn rises_are_the_starts_of_busier_phases() {
        let profile = Profile::new(Kind::CoffeeShop, Duration::from_secs(100), 500.0);
        let rises: Vec<f64> = profile.rises().iter().map(|t| t.round()).collect();
        assert_eq!(rises, vec![15.0, 50.0]);
        assert!(
            Profile::new(Kind::Steady, Duration::from_secs(60), 1.0)
                .rises()
                .is_empty()
        );
    }
}
