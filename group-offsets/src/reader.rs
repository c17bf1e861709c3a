//! One cluster's reader. Questions asked at the same time share the requests: one task serves
//! every question waiting, with one FindCoordinator for the groups whose coordinator is not
//! known and one OffsetFetch per coordinator, all coordinators at once ([`crate::links`]) —
//! 200 pipelines polled together cost a few requests, not 200. The serving task is spawned,
//! so a caller that gives up (its pipeline deleted, its poll cancelled) fails nobody else's
//! question, and each caller waits a bounded time.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use coffee_kafka::security::Security;
use tokio::sync::oneshot;

use crate::FetchError;
use crate::answers::{Offsets, Question};
use crate::connection::Settings;
use crate::links::{Links, Reply};
use crate::sasl::Credentials;
use crate::tls;

/// How long a caller waits for its answer: one connection attempt and one request to an
/// unresponsive broker, with room to spare.
const ANSWER_WITHIN: Duration = Duration::from_secs(25);

/// The committed offsets of consumer groups on one Kafka cluster.
pub struct GroupOffsets {
    inner: Arc<Inner>,
}

struct Inner {
    bootstrap: Vec<String>,
    settings: Settings,
    waiting: Mutex<Waiting>,
    /// Held only by the serving task, of which there is one at a time.
    links: tokio::sync::Mutex<Links>,
}

#[derive(Default)]
struct Waiting {
    questions: Vec<(Question, Reply)>,
    /// Whether a task is serving; it serves until no question waits.
    serving: bool,
}

impl std::fmt::Debug for GroupOffsets {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GroupOffsets")
            .field("bootstrap", &self.inner.bootstrap)
            .finish_non_exhaustive()
    }
}

impl GroupOffsets {
    /// A reader for the comma-separated `brokers`; fails on settings that cannot connect
    /// (e.g. a CA PEM that does not parse). Connects on first use.
    pub fn new(brokers: &str, security: &Security) -> Result<Self, FetchError> {
        let bootstrap: Vec<String> = brokers
            .split(',')
            .map(str::trim)
            .filter(|b| !b.is_empty())
            .map(str::to_owned)
            .collect();
        if bootstrap.is_empty() {
            return Err(FetchError::Settings(format!(
                "no bootstrap server in '{brokers}'"
            )));
        }
        let settings = Settings {
            tls: tls::client_config(security)?,
            sasl: Credentials::of(security),
        };
        let inner = Inner {
            bootstrap,
            settings,
            waiting: Mutex::new(Waiting::default()),
            links: tokio::sync::Mutex::new(Links::default()),
        };
        Ok(Self {
            inner: Arc::new(inner),
        })
    }

    /// `group`'s committed offset on partitions 0..`partitions` of `topic` (`None` where it
    /// never committed), as its coordinator knows it now. Must be called within a tokio
    /// runtime (it may spawn the serving task).
    pub async fn committed(
        &self,
        group: &str,
        topic: &str,
        partitions: i32,
    ) -> Result<Offsets, FetchError> {
        let (reply, replied) = oneshot::channel();
        let question = Question {
            group: group.to_owned(),
            topic: topic.to_owned(),
            partitions,
        };
        let start = {
            let mut waiting = self.inner.waiting();
            waiting.questions.push((question, reply));
            !std::mem::replace(&mut waiting.serving, true)
        };
        if start {
            tokio::spawn(Arc::clone(&self.inner).serve());
        }
        let bootstrap = || self.inner.bootstrap.join(",");
        match tokio::time::timeout(ANSWER_WITHIN, replied).await {
            Ok(Ok(answer)) => answer,
            Ok(Err(_)) => Err(FetchError::wire(&bootstrap(), "the reader stopped")),
            Err(_) => Err(FetchError::wire(
                &bootstrap(),
                format!("no answer within {} s", ANSWER_WITHIN.as_secs()),
            )),
        }
    }
}

impl Inner {
    fn waiting(&self) -> std::sync::MutexGuard<'_, Waiting> {
        self.waiting
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Serves the waiting questions, batch after batch, until none waits.
    async fn serve(self: Arc<Self>) {
        let mut links = self.links.lock().await;
        loop {
            let batch = {
                let mut waiting = self.waiting();
                if waiting.questions.is_empty() {
                    waiting.serving = false;
                    return;
                }
                std::mem::take(&mut waiting.questions)
            };
            links.serve(&self.bootstrap, &self.settings, batch).await;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_cluster_nobody_listens_on_is_an_error_naming_the_address() {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("a port");
        let address = listener.local_addr().expect("its address").to_string();
        drop(listener);
        let reader = GroupOffsets::new(&address, &Security::default()).expect("a reader");
        match reader.committed("g", "t", 1).await {
            Err(FetchError::Wire { address: named, .. }) => assert_eq!(named, address),
            other => panic!("{other:?}"),
        }
    }

    /// A broker that accepts connections and never answers, as a hung or black-holed one.
    async fn silent_broker() -> (String, tokio::task::JoinHandle<()>) {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("a port");
        let address = listener.local_addr().expect("its address").to_string();
        let held = tokio::spawn(async move {
            let mut accepted = Vec::new();
            while let Ok((stream, _)) = listener.accept().await {
                accepted.push(stream);
            }
        });
        (address, held)
    }

    #[tokio::test(start_paused = true)]
    async fn a_broker_that_never_answers_is_an_error_within_the_answer_deadline() {
        let (address, _held) = silent_broker().await;
        let reader = GroupOffsets::new(&address, &Security::default()).expect("a reader");
        let asked = tokio::time::Instant::now();
        let answer = reader.committed("g", "t", 1).await;
        // The serving task's own connection deadline answered, not the caller's last resort.
        assert!(asked.elapsed() < ANSWER_WITHIN, "{:?}", asked.elapsed());
        assert_unanswered(answer, &address);
    }

    /// `answer` is the serving task's verdict on a broker that never answers at `address`
    /// (its request's timeout), not the caller's own deadline.
    fn assert_unanswered(answer: Result<Offsets, FetchError>, address: &str) {
        match answer {
            Err(error @ FetchError::Unanswered { .. }) => {
                assert!(error.to_string().contains(address), "{error}");
            }
            other => panic!("{other:?}"),
        }
    }

    #[tokio::test(start_paused = true)]
    async fn a_caller_that_gives_up_leaves_the_others_their_answers() {
        let (address, _held) = silent_broker().await;
        let reader = GroupOffsets::new(&address, &Security::default()).expect("a reader");
        let impatient =
            tokio::time::timeout(Duration::from_millis(10), reader.committed("first", "t", 1));
        assert!(impatient.await.is_err(), "the first caller gave up");
        // The serving task still runs for the second question; it gets an answer, not a hang.
        let answer = reader.committed("second", "t", 1).await;
        assert_unanswered(answer, &address);
    }

    #[test]
    fn no_bootstrap_server_is_refused_at_once() {
        let refused = GroupOffsets::new(" , ", &Security::default());
        assert!(matches!(refused, Err(FetchError::Settings(_))));
    }
}
