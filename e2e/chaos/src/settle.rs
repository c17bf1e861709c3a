//! Waiting for every acknowledged order's final status after the load stopped. The ledger's
//! follower reads the status topic as it grows; a fault can stall the follower's own client (a
//! broker hung for 90 s did, more than once), so while it still misses orders the topic is read
//! again from its beginning now and then, and that reading is the verdict.

use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use e2e::ledger::{Check, Ledger};
use e2e::load::Acknowledged;
use e2e::poll::eventually;
use e2e::testbed::TestBed;

/// How long every acknowledged order may take to reach its final status after the load.
const SETTLE_WITHIN: Duration = Duration::from_secs(180);
/// How often the status topic is read again while the follower misses orders.
const REREAD_EVERY: Duration = Duration::from_secs(15);

/// What the load saw: the orders acknowledged, the requests refused, the cancels accepted.
#[derive(Debug)]
pub struct Seen {
    pub acknowledged: Vec<Acknowledged>,
    pub refused: Vec<String>,
    pub cancelled: Vec<String>,
}

impl Seen {
    fn check(&self, ledger: &Ledger) -> Check {
        ledger.check_requests(&self.acknowledged, &self.refused, &self.cancelled)
    }
}

/// The check once nothing is lost (or as it stands after [`SETTLE_WITHIN`]), and a note when
/// the verdict came from reading the topic again. Requests that became more than one order are
/// printed with their orders, for whoever looks into them.
pub async fn settle(
    follower: &Arc<Mutex<Ledger>>,
    bed: &TestBed,
    status_topic: &str,
    seen: &Seen,
) -> (Check, Option<String>) {
    let (check, note) = settled(follower, bed, status_topic, seen).await;
    if !check.duplicated_request_examples.is_empty() {
        eprintln!(
            "requests that became more than one order: {}",
            check.duplicated_request_examples.join("; ")
        );
    }
    (check, note)
}

async fn settled(
    follower: &Arc<Mutex<Ledger>>,
    bed: &TestBed,
    status_topic: &str,
    seen: &Seen,
) -> (Check, Option<String>) {
    let started = Instant::now();
    let last_reread = Mutex::new(started);
    let reread = || async {
        let again = Ledger::reread(bed, status_topic)
            .await
            .map_err(|e| format!("reading the status topic again: {e:#}"))?;
        Ok::<_, String>(seen.check(&again))
    };
    let settled = eventually(
        "every acknowledged order finished",
        SETTLE_WITHIN,
        || async {
            let check = seen.check(&follower.lock().unwrap_or_else(PoisonError::into_inner));
            if check.lost.is_empty() {
                return Ok((check, false));
            }
            let due = {
                let mut last = last_reread.lock().unwrap_or_else(PoisonError::into_inner);
                let due = last.elapsed() >= REREAD_EVERY;
                if due {
                    *last = Instant::now();
                }
                due
            };
            if !due {
                return Err(format!("{} lost", check.lost.len()));
            }
            let again = reread().await?;
            match again.lost.is_empty() {
                true => Ok((again, true)),
                false => Err(format!("{} lost, read again", again.lost.len())),
            }
        },
    )
    .await;
    match settled {
        Ok((check, false)) => (check, None),
        Ok((check, true)) => (
            check,
            Some(
                "the ledger's follower stalled: the verdict is from the status topic read again"
                    .to_owned(),
            ),
        ),
        Err(_) => match reread().await {
            Ok(again) => (again, None),
            Err(error) => (
                seen.check(&follower.lock().unwrap_or_else(PoisonError::into_inner)),
                Some(error),
            ),
        },
    }
}
