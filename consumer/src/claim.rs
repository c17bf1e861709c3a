//! A job a worker has taken but may not have begun: a worker takes several ready jobs at once
//! (one lock for many instant orders), so between taking a job and beginning it a cancel request
//! can still arrive — and must win. Marking jobs running when they were taken refused 5 of 8
//! cancels that reached Kafka before their orders started brewing. The claim settles the race
//! without the scheduler's lock: whichever of begin and cancel comes first decides.

use std::sync::atomic::{AtomicU8, Ordering};

const CLAIMED: u8 = 0;
const BEGUN: u8 = 1;
const CANCELLED: u8 = 2;

/// Whether a taken job has begun, or was cancelled before it could.
#[derive(Debug)]
pub struct Claim(AtomicU8);

impl Claim {
    /// A claim on a job; `cancelled` when a cancel request arrived while it was still queued.
    pub fn new(cancelled: bool) -> Self {
        Self(AtomicU8::new(if cancelled { CANCELLED } else { CLAIMED }))
    }

    /// The worker begins the job: true if it may go ahead, false if a cancel came first.
    pub fn begin(&self) -> bool {
        match self
            .0
            .compare_exchange(CLAIMED, BEGUN, Ordering::AcqRel, Ordering::Acquire)
        {
            Ok(_) => true,
            Err(now) => now == BEGUN,
        }
    }

    /// A cancel request: true if it came before the job began (the job will be cancelled),
    /// false if brewing had begun.
    pub fn cancel(&self) -> bool {
        match self
            .0
            .compare_exchange(CLAIMED, CANCELLED, Ordering::AcqRel, Ordering::Acquire)
        {
            Ok(_) => true,
            Err(now) => now == CANCELLED,
        }
    }

    /// Whether a cancel came before the job began (for a job given back untouched).
    pub fn is_cancelled(&self) -> bool {
        self.0.load(Ordering::Acquire) == CANCELLED
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_cancel_before_the_job_begins_wins() {
        let claim = Claim::new(false);
        assert!(claim.cancel());
        assert!(!claim.begin());
        assert!(claim.is_cancelled());
    }

    #[test]
    fn a_cancel_after_the_job_began_is_too_late() {
        let claim = Claim::new(false);
        assert!(claim.begin());
        assert!(!claim.cancel());
        assert!(claim.begin(), "begin stays true");
    }

    #[test]
    fn a_job_cancelled_while_queued_never_begins() {
        let claim = Claim::new(true);
        assert!(!claim.begin());
        assert!(claim.cancel(), "a second cancel is answered the same");
    }

    #[test]
    fn begin_and_cancel_racing_on_threads_agree_on_one_winner() {
        for _ in 0..1_000 {
            let claim = std::sync::Arc::new(Claim::new(false));
            let other = std::sync::Arc::clone(&claim);
            let canceller = std::thread::spawn(move || other.cancel());
            let began = claim.begin();
            let cancelled = canceller.join().unwrap();
            assert_ne!(began, cancelled, "exactly one of begin and cancel wins");
        }
    }
}
