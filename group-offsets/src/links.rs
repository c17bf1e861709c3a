//! The serving task's state: open connections by address and where each group's
//! coordinator is; and how a batch of questions is answered with them.

use std::collections::{BTreeMap, HashMap};

use tokio::sync::oneshot;

use crate::FetchError;
use crate::answers::{
    self, Answer, FIND_COORDINATOR_VERSION, OFFSET_FETCH_VERSION, Offsets, Question,
};
use crate::connection::{Connection, Exchange, Settings};

pub(crate) type Reply = oneshot::Sender<Result<Offsets, FetchError>>;

#[derive(Default)]
pub(crate) struct Links {
    connections: HashMap<String, Connection>,
    coordinators: HashMap<String, String>,
}

impl Links {
    /// Answers every question of `batch`; a group whose coordinator moved is asked once more.
    /// Coordinators are asked at the same time, so one unresponsive broker delays only the
    /// groups it coordinates.
    pub(crate) async fn serve(
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
            let calls = by_coordinator.into_iter().map(|(address, asked)| {
                let kept = self.connections.remove(&address);
                async move {
                    let questions: Vec<&Question> = asked.iter().map(|(q, _)| q).collect();
                    let request = answers::offset_fetch(&questions);
                    let (connection, answered) =
                        exchange(kept, settings, &address, OFFSET_FETCH_VERSION, &request).await;
                    (address, asked, connection, answered)
                }
            });
            let mut moved = Vec::new();
            for (address, asked, connection, answered) in futures::future::join_all(calls).await {
                self.keep(address, connection);
                let response = match answered {
                    Ok(response) => response,
                    Err(error) => {
                        fail(asked, &error);
                        continue;
                    }
                };
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
                let kept = self.connections.remove(&address);
                let (connection, found) =
                    exchange(kept, settings, &address, FIND_COORDINATOR_VERSION, &request).await;
                self.keep(address, connection);
                found.map(|response| answers::coordinators(&response))
            }
            Err(error) => Err(error),
        };
        let mut located = Vec::new();
        for (question, reply) in batch {
            if let Ok(found) = &found
                && let Some(Answer::Known(address)) = found.get(&question.group)
            {
                self.coordinators
                    .insert(question.group.clone(), address.clone());
            }
            if self.coordinators.contains_key(&question.group) {
                located.push((question, reply));
                continue;
            }
            // Only the questions whose coordinator is unknown fail with the search.
            let error = match &found {
                Err(error) => error.clone(),
                Ok(found) => match found.get(&question.group) {
                    Some(Answer::Failed(error)) => error.clone(),
                    _ => moved_away(&question),
                },
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

    /// Keeps a connection that answered; without one, where this broker coordinated is asked
    /// again next time.
    fn keep(&mut self, address: String, connection: Option<Connection>) {
        match connection {
            Some(connection) => {
                self.connections.insert(address, connection);
            }
            None => self.coordinators.retain(|_, a| *a != address),
        }
    }
}

/// Sends `request` to `address` on `kept` if it is fresh and answers, else on a new connection
/// (the broker closes idle ones; a SASL session ends) — unless the kept one went unanswered for
/// the whole timeout, which a new one would only wait out again. Returns the connection if it
/// answered.
async fn exchange<R: Exchange>(
    kept: Option<Connection>,
    settings: &Settings,
    address: &str,
    version: i16,
    request: &R,
) -> (Option<Connection>, Result<R::Answer, FetchError>) {
    if let Some(mut connection) = kept.filter(Connection::fresh) {
        match connection.send(version, request).await {
            Ok(response) => return (Some(connection), Ok(response)),
            Err(error @ FetchError::Unanswered { .. }) => return (None, Err(error)),
            Err(_) => {}
        }
    }
    let mut connection = match Connection::open(address, settings).await {
        Ok(connection) => connection,
        Err(error) => return (None, Err(error)),
    };
    match connection.send(version, request).await {
        Ok(response) => (Some(connection), Ok(response)),
        Err(error) => (None, Err(error)),
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
