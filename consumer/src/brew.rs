//! Brewing stands in for I/O-bound work: an asynchronous wait that never blocks a thread and
//! lasts as long as the menu says. tokio's timer rounds every sleep up to its next 1 ms tick,
//! which adds about a millisecond to each brew — 15 % of a 6 ms brew, and so 15 % of the
//! throughput W workers should reach (W ÷ brew time). Each worker therefore brews on a Linux
//! timerfd of its own, watched by tokio's reactor: it fires within microseconds, one wake-up per
//! brew, as a real I/O completion would. The price shows only when the CPU is the limit: tokio's
//! wheel wakes all brews ending in the same millisecond together, so 1,000 workers on 6 ms brews
//! spent about 18 µs of CPU per order with it and 33 µs with timerfds (docs/benchmarks.md).

use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use tokio_timerfd::Delay;
use tracing::warn;

/// One worker's brewing clock. Without a timerfd (the process is out of file descriptors, or
/// the kernel has none) it falls back to tokio's timer, a millisecond less precise.
pub struct BrewTimer {
    delay: Option<Delay>,
}

/// Whether the fallback was already reported; one warning per process is enough.
static FALLBACK_REPORTED: AtomicBool = AtomicBool::new(false);

impl BrewTimer {
    /// Must be called inside the tokio runtime, whose reactor watches the timer.
    pub fn new() -> Self {
        match Delay::new(Instant::now()) {
            Ok(delay) => Self { delay: Some(delay) },
            Err(error) => {
                if !FALLBACK_REPORTED.swap(true, Ordering::Relaxed) {
                    warn!(%error, "no timerfd for brewing; using tokio's millisecond timer");
                }
                Self { delay: None }
            }
        }
    }

    /// Waits `duration`. Dropping the future midway is safe: the next brew re-arms the timer.
    pub async fn brew(&mut self, duration: Duration) {
        let deadline = Instant::now() + duration;
        if let Some(delay) = &mut self.delay {
            delay.reset(deadline);
            match delay.await {
                Ok(()) => return,
                Err(error) => {
                    warn!(%error, "the brewing timer failed; finishing this brew on tokio's timer");
                    self.delay = None;
                }
            }
        }
        tokio::time::sleep_until(deadline.into()).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_brew_lasts_at_least_its_duration() {
        let mut timer = BrewTimer::new();
        for millis in [1, 3, 7] {
            let began = Instant::now();
            timer.brew(Duration::from_millis(millis)).await;
            assert!(began.elapsed() >= Duration::from_millis(millis));
        }
    }

    #[tokio::test]
    async fn a_zero_brew_returns_at_once() {
        let mut timer = BrewTimer::new();
        tokio::time::timeout(Duration::from_secs(5), timer.brew(Duration::ZERO))
            .await
            .expect("a zero brew must not wait for a timer that is never armed");
    }

    #[tokio::test]
    async fn an_abandoned_brew_does_not_shorten_the_next() {
        let mut timer = BrewTimer::new();
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
    async fn a_worker_brews_on_a_timerfd_when_the_kernel_has_one() {
        assert!(BrewTimer::new().delay.is_some());
    }
}
