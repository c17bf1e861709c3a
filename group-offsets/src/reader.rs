//! One cluster's reader. Callers asking at the same time share the requests: whoever holds
//! the connections serves every question waiting, with one FindCoordinator for the groups
//! whose coordinator is not known and one OffsetFetch per coordinator — 200 pipelines polled
//! together cost a few requests, not 200.

use std::collections::{BTreeMap, HashMap};
use std::sync::Mutex;

use coffee_kafka::security::Security;
use tokio::sync::oneshot;

use crate::FetchError;
use crate::answers::{
    self, Answer, FIND_COORDINATOR_VERSION, OFFSET_FETCH_VERSION, Offsets, Question,
};
use crate::connection::{Connection, Exchange, Settings};
use crate::sasl::Credentials;
use crate::tls;

type Reply = oneshot::Sender<Result<Offsets, FetchError>>;

/// The committed offsets of consumer groups on one Kafka cluster.
pub struct GroupOffsets {
    bootstrap: Vec<String>,
    settings: Settings,
    waiting: Mutex<Vec<(Question, Reply)>>,
    links: tokio::sync::Mutex<Links>,
}

impl std::fmt::Debug for GroupOffsets {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GroupOffsets")
            .field("bootstrap", &self.bootstrap)
            .finish_non_exhaustive()
    }
}

/// Open connections by address, and where each group's coordinator is.
#[derive(Default)]
struct Links {
    connections: HashMap<String, Connection>,
    coordinators: HashMap<String, String>,
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
        Ok(Self {
            bootstrap,
            settings,
            waiting: Mutex::new(Vec::new()),
            links: tokio::sync::Mutex::new(Links::default()),
        })
    }

    /// `group`'s committed offset on partitions 0..`partitions` of `topic` (`None` where it
    /// never committed), as its coordinator knows it now.
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
        self.waiting().push((question, reply));
        {
            let mut links = self.links.lock().await;
            let batch = std::mem::take(&mut *self.waiting());
            if !batch.is_empty() {
                links.serve(&self.bootstrap, &self.settings, batch).await;
            }
        }
        // Served by this caller or by one that held the connections before it.
        replied.await.unwrap_or_else(|_| {
            Err(FetchError::wire(
                &self.bootstrap.join(","),
                "the request serving this question was cancelled",
            ))
        })
    }

    fn waiting(&self) -> std::sync::MutexGuard<'_, Vec<(Question, Reply)>> {
        self.waiting
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

impl Links {
    /// Answers every question of `batch`; a group whose coordinator moved is asked once more.
    async fn serve(
        &mut self,
        bootstrap: &[String],
        settings: &Settings,
        batch: Vec<(Question, Reply)>,
    ) {
        let mut pending = batch;
        for attempt in 0..2 {
            pending = self.locate(bootstrap, settings, pending).await;
            let mut by_coordinator: BTreeMap<String, Vec<(Question, Reply)>> = BTreeMap::new();
            for (question, reply) in pending {
                match self.coordinators.get(&question.group) {
                    Some(address) => by_coordinator
                        .entry(address.clone())
                        .or_default()
                        .push((question, reply)),
                    None => drop(reply.send(Err(moved_away(&question)))),
                }
            }
            let mut moved = Vec::new();
            for (address, asked) in by_coordinator {
                let questions: Vec<&Question> = asked.iter().map(|(q, _)| q).collect();
                let request = answers::offset_fetch(&questions);
                match self
                    .call(settings, &address, OFFSET_FETCH_VERSION, &request)
                    .await
                {
                    Ok(response) => {
                        for (question, reply) in asked {
                            match answers::offsets(&response, &question) {
                                Answer::Known(offsets) => drop(reply.send(Ok(offsets))),
                                Answer::Failed(error) => drop(reply.send(Err(error))),
                                Answer::Moved if attempt == 0 => {
                                    self.coordinators.remove(&question.group);
                                    moved.push((question, reply));
                                }
                                Answer::Moved => drop(reply.send(Err(moved_away(&question)))),
                            }
                        }
                    }
                    Err(error) => fail(asked, &error),
                }
            }
            pending = moved;
            if pending.is_empty() {
                return;
            }
        }
    }

    /// Finds the coordinators not yet known; answers (with the reason) the questions whose
    /// coordinator cannot be found and returns the others.
    async fn locate(
        &mut self,
        bootstrap: &[String],
        settings: &Settings,
        batch: Vec<(Question, Reply)>,
    ) -> Vec<(Question, Reply)> {
        let mut unknown: Vec<String> = batch
            .iter()
            .map(|(q, _)| q.group.clone())
            .filter(|g| !self.coordinators.contains_key(g))
            .collect();
        unknown.sort_unstable();
        unknown.dedup();
        if unknown.is_empty() {
            return batch;
        }
        let request = answers::find_coordinators(&unknown);
        let found = match self.any_broker(bootstrap, settings).await {
            Ok(address) => {
                self.call(settings, &address, FIND_COORDINATOR_VERSION, &request)
                    .await
            }
            Err(error) => Err(error),
        };
        let found = match found {
            Ok(response) => answers::coordinators(&response),
            Err(error) => {
                fail(batch, &error);
                return Vec::new();
            }
        };
        for (group, answer) in &found {
            if let Answer::Known(address) = answer {
                self.coordinators.insert(group.clone(), address.clone());
            }
        }
        let mut located = Vec::new();
        for (question, reply) in batch {
            if self.coordinators.contains_key(&question.group) {
                located.push((question, reply));
                continue;
            }
            let error = match found.get(&question.group) {
                Some(Answer::Failed(error)) => error.clone(),
                _ => moved_away(&question),
            };
            drop(reply.send(Err(error)));
        }
        located
    }

    /// Any broker will do for FindCoordinator: one already connected, else the first
    /// bootstrap server that answers.
    async fn any_broker(
        &mut self,
        bootstrap: &[String],
        settings: &Settings,
    ) -> Result<String, FetchError> {
        if let Some(address) = self.connections.keys().next() {
            return Ok(address.clone());
        }
        let mut last = None;
        for address in bootstrap {
            match Connection::open(address, settings).await {
                Ok(connection) => {
                    self.connections.insert(address.clone(), connection);
                    return Ok(address.clone());
                }
                Err(error) => last = Some(error),
            }
        }
        Err(last.unwrap_or_else(|| FetchError::Settings("no bootstrap server".to_owned())))
    }

    /// Sends `request` to `address`, on a new connection if there is none (or its SASL
    /// session is ending) or if the one kept failed (the broker closes idle connections).
    async fn call<R: Exchange>(
        &mut self,
        settings: &Settings,
        address: &str,
        version: i16,
        request: &R,
    ) -> Result<R::Answer, FetchError> {
        let kept = self.connections.remove(address).filter(Connection::fresh);
        if let Some(mut connection) = kept
            && let Ok(response) = connection.send(version, request).await
        {
            self.connections.insert(address.to_owned(), connection);
            return Ok(response);
        }
        let answered = async {
            let mut connection = Connection::open(address, settings).await?;
            let response = connection.send(version, request).await?;
            Ok((connection, response))
        };
        match answered.await {
            Ok((connection, response)) => {
                self.connections.insert(address.to_owned(), connection);
                Ok(response)
            }
            Err(error) => {
                // Where this broker coordinated, ask again next time.
                self.coordinators.retain(|_, a| a != address);
                Err(error)
            }
        }
    }
}

fn fail(asked: Vec<(Question, Reply)>, error: &FetchError) {
    for (_, reply) in asked {
        drop(reply.send(Err(error.clone())));
    }
}

fn moved_away(question: &Question) -> FetchError {
    FetchError::Kafka {
        group: question.group.clone(),
        error: "its coordinator is moving (NOT_COORDINATOR twice)".to_owned(),
    }
}
