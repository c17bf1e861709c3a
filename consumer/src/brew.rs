//! Brewing stands in for I/O-bound work: an asynchronous wait that never blocks a thread and
//! lasts as long as the menu says. tokio's timer rounds every sleep up to its next 1 ms tick,
//! which adds about a millisecond to each brew — 15 % of a 6 ms brew, and so 15 % of the
//! throughput W workers should reach (W ÷ brew time). Each worker therefore brews on a Linux
//! timerfd of its own, watched by tokio's reactor: it fires within microseconds, one wake-up per
//! brew, as a real I/O completion would. The price shows only when the CPU is the limit: tokio's
//! wheel wakes all brews ending in the same millisecond together, so 1,000 workers on 6 ms brews
//! spent about 18 µs of CPU per order with it and 33–40 µs with timerfds (docs/benchmarks.md).

use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use tokio_timerfd::Delay;
use tracing::warn;

/// One worker's brewing clock. Its timerfd is opened at the first brew, so a pool that never
/// brews (brew scale 0) holds none. Without a timerfd (the process is out of file descriptors,
/// or the kernel has none) it falls back to tokio's timer, a millisecond less precise.
#[derive(Default)]
pub struct BrewTimer {
    clock: Clock,
}

#[derive(Default)]
enum Clock {
    #[default]
    NotOpened,
    Timerfd(Delay),
    Tokio,
}

/// Whether the fallback was already reported; one warning per process is enough.
static FALLBACK_REPORTED: AtomicBool = AtomicBool::new(false);

impl BrewTimer {
    /// Waits `duration`. Dropping the future midway is safe: the next brew re-arms the timer.
    /// Must run inside the tokio runtime, whose reactor watches the timerfd.
    pub async fn brew(&mut self, duration: Duration) {
        if duration.is_zero() {
            return;
        }
        let deadline = Instant::now() + duration;
        if matches!(self.clock, Clock::NotOpened) {
            self.clock = open();
        }
        if let Clock::Timerfd(delay) = &mut self.clock {
            delay.reset(deadline);
            match delay.await {
                Ok(()) => return,
                Err(error) => {
                    warn!(%error, "the brewing timer failed; finishing this brew on tokio's timer");
                    self.clock = Clock::Tokio;
                }
            }
        }
        tokio::time::sleep_until(deadline.into()).await;
    }
}

fn open() -> Clock {
    match Delay::new(Instant::now()) {
        Ok(delay) => Clock::Timerfd(delay),
        Err(error) => {
            if !FALLBACK_REPORTED.swap(true, Ordering::Relaxed) {
                warn!(%error, "no timerfd for brewing; using tokio's millisecond timer");
            }
            Clock::Tokio
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_brew_lasts_at_least_its_duration() {
        let mut timer = BrewTimer::default();
        for millis in [1, 3, 7] {
            let began = Instant::now();
            timer.brew(Duration::from_millis(millis)).await;
            assert!(began.elapsed() >= Duration::from_millis(millis));
        }
    }

    #[tokio::test]
    async fn a_zero_brew_returns_at_once() {
        let mut timer = BrewTimer::default();
        tokio::time::timeout(Duration::from_secs(5), timer.brew(Duration::ZERO))
            .await
            .expect("a zero brew must not wait for a timer that is never armed");
    }

    #[tokio::test]
    async fn an_abandoned_brew_does_not_shorten_the_next() {
        let mut timer = BrewTimer::default();
        let abandoned = tokio::time::timeout(
            Duration::from_millis(1),
            timer.brew(Duration::from_millis(3)),
        )
        .await;
        assert!(abandoned.is_err());
        // The abandoned timer fires while nobody waits, leaving its descriptor readable.
        std::thread::sleep(Duration::from_millis(5));
        let began = Instant::now();
        timer.brew(Duration::from_millis(20)).await;
        assert!(began.elapsed() >= Duration::from_millis(20));
    }

    #[tokio::test]
    async fn the_timerfd_is_opened_at_the_first_brew() {
        let mut timer = BrewTimer::default();
        assert!(matches!(timer.clock, Clock::NotOpened));
        timer.brew(Duration::from_millis(1)).await;
        assert!(matches!(timer.clock, Clock::Timerfd(_)));
    }
}
