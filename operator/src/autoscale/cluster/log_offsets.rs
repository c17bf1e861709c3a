//! Log-start and stable log-end offsets of every topic the pipelines on a cluster ask about,
//! listed for all of them in one round a second, from one thread.
//!
//! One round for all pipelines instead of a request per pipeline keeps 200 pipelines at two
//! list-offsets requests a second. It also avoids a race in librdkafka: `offsets_for_times`
//! looks partition leaders up in the metadata cache and asks for a topic it lacks only on its
//! first pass, so concurrent calls for different topics, each refreshing the cache, failed
//! with "unknown partition" (seen with 200 pipelines). Here a topic's metadata is fetched
//! before its first round, and rounds never overlap.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Condvar, Mutex};
use std::time::{Duration, Instant};

use rdkafka::consumer::Consumer;

use super::OffsetsConsumer;
use rdkafka::error::KafkaError;
use rdkafka::{Offset, TopicPartitionList};
use tokio::sync::watch;

use super::TIMEOUT;

/// How often a round lists the offsets.
const ROUND: Duration = Duration::from_secs(1);
/// A topic nobody asked about for this long is left out of the rounds.
const FORGET_AFTER: Duration = Duration::from_secs(60);
/// How often a topic's metadata (its partitions' leaders) is fetched again.
const METADATA_AGE: Duration = Duration::from_secs(300);

/// (log start, stable log end) of one partition.
pub type Bounds = (i64, i64);

/// A topic as a round listed it.
#[derive(Debug, Clone, PartialEq)]
pub struct Listed {
    pub bounds: Vec<Bounds>,
    /// Messages per second that arrived on each partition since the round before (about a
    /// second earlier); `None` after the topic's first round.
    pub arriving: Option<Vec<f64>>,
}

#[derive(Default)]
struct State {
    /// Topics asked about: partitions, and when last asked.
    wanted: HashMap<String, (i32, Instant)>,
    /// When each topic's metadata was last fetched.
    metadata: HashMap<String, Instant>,
    /// The latest round's result per topic, with that round's number.
    listed: HashMap<String, (u64, Result<Listed, String>)>,
    /// When each topic was last listed, and its log ends then.
    ends: HashMap<String, (Instant, Vec<i64>)>,
    round: u64,
}

/// The offsets lister of one cluster.
pub struct LogOffsets {
    state: Mutex<State>,
    wake: Condvar,
    rounds: watch::Sender<u64>,
}

impl LogOffsets {
    pub fn new() -> Self {
        Self {
            state: Mutex::new(State::default()),
            wake: Condvar::new(),
            rounds: watch::channel(0).0,
        }
    }

    fn state(&self) -> std::sync::MutexGuard<'_, State> {
        self.state
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// The bounds of partitions 0..`partitions` of `topic` from a round that began after this
    /// call; the error text of that round if it failed for this topic.
    pub async fn get(&self, topic: &str, partitions: i32) -> Result<Listed, String> {
        let mut rounds = self.rounds.subscribe();
        let asked_in = {
            let mut state = self.state();
            state
                .wanted
                .insert(topic.to_owned(), (partitions, Instant::now()));
            state.round + 1
        };
        self.wake.notify_one();
        let deadline = tokio::time::Instant::now() + TIMEOUT * 2;
        loop {
            if let Some((round, listed)) = self.state().listed.get(topic)
                && *round >= asked_in
            {
                return listed.clone();
            }
            match tokio::time::timeout_at(deadline, rounds.changed()).await {
                Ok(Ok(())) => {}
                _ => return Err("no round of list-offsets requests finished in time".to_owned()),
            }
        }
    }

    /// Lists rounds until `stop`: every [`ROUND`] while anybody asks.
    pub fn run(&self, consumer: &OffsetsConsumer, stop: &AtomicBool) {
        while !stop.load(Ordering::Relaxed) {
            let started = Instant::now();
            let wanted: Vec<(String, i32)> = {
                let mut state = self.state();
                state
                    .wanted
                    .retain(|_, (_, asked)| asked.elapsed() < FORGET_AFTER);
                state
                    .wanted
                    .iter()
                    .map(|(t, (p, _))| (t.clone(), *p))
                    .collect()
            };
            if wanted.is_empty() {
                // Idle: the first question wakes it.
                let state = self.state();
                let _ = self.wake.wait_timeout(state, ROUND);
            } else {
                self.round(consumer, &wanted);
                // Not woken early: every poll asking woke it to a round of its own (up to 40
                // rounds a second of 200 topics each, 5 % of a core, at 200 pipelines).
                std::thread::sleep(ROUND.saturating_sub(started.elapsed()));
            }
        }
    }

    fn round(&self, consumer: &OffsetsConsumer, wanted: &[(String, i32)]) {
        let stale: Vec<String> = {
            let state = self.state();
            wanted
                .iter()
                .filter(|(t, _)| {
                    state
                        .metadata
                        .get(t)
                        .is_none_or(|at| at.elapsed() > METADATA_AGE)
                })
                .map(|(t, _)| t.clone())
                .collect()
        };
        let mut failed: HashMap<String, String> = HashMap::new();
        // Many new topics at once (an operator start): one request for the whole cluster.
        let stale = if stale.len() > 1 {
            match consumer.fetch_metadata(None, TIMEOUT) {
                Ok(metadata) => {
                    let mut state = self.state();
                    for topic in metadata.topics().iter().filter(|t| t.error().is_none()) {
                        state
                            .metadata
                            .insert(topic.name().to_owned(), Instant::now());
                    }
                    stale
                        .into_iter()
                        .filter(|t| !state.metadata.contains_key(t))
                        .collect()
                }
                Err(_) => stale,
            }
        } else {
            stale
        };
        for topic in stale {
            match consumer.fetch_metadata(Some(&topic), TIMEOUT) {
                Ok(_) => {
                    self.state().metadata.insert(topic, Instant::now());
                }
                Err(error) => {
                    failed.insert(topic, error.to_string());
                }
            }
        }
        let listable: Vec<(String, i32)> = wanted
            .iter()
            .filter(|(t, _)| !failed.contains_key(t))
            .cloned()
            .collect();
        let mut listed = list(consumer, &listable);
        let now = Instant::now();
        for (topic, error) in failed {
            listed.insert(topic, Err(error));
        }
        let mut state = self.state();
        state.round += 1;
        let round = state.round;
        for (topic, result) in listed {
            let result = result.map(|bounds| {
                let ends: Vec<i64> = bounds.iter().map(|&(_, end)| end).collect();
                let arriving = state
                    .ends
                    .insert(topic.clone(), (now, ends.clone()))
                    .and_then(|(then, before)| arrivals(now - then, &before, &ends));
                Listed { bounds, arriving }
            });
            state.listed.insert(topic, (round, result));
        }
        let wanted = &state.wanted;
        let keep: Vec<String> = state
            .ends
            .keys()
            .filter(|t| wanted.contains_key(*t))
            .cloned()
            .collect();
        state.ends.retain(|t, _| keep.contains(t));
        state.listed.retain(|_, (r, _)| *r == round);
        // A failed topic may have a new leader, or be new: fetch its metadata again.
        let failed: Vec<String> = state
            .listed
            .iter()
            .filter(|(_, (_, r))| r.is_err())
            .map(|(t, _)| t.clone())
            .collect();
        for topic in failed {
            state.metadata.remove(&topic);
        }
        drop(state);
        self.rounds.send_replace(round);
    }
}

/// Arrivals per second on each partition between two listings `elapsed` apart; `None` if the
/// partitions changed in between or no time passed.
fn arrivals(elapsed: Duration, before: &[i64], now: &[i64]) -> Option<Vec<f64>> {
    let seconds = elapsed.as_secs_f64();
    (seconds > 0.0 && before.len() == now.len()).then(|| {
        before
            .iter()
            .zip(now)
            .map(|(b, n)| (n - b).max(0) as f64 / seconds)
            .collect()
    })
}

/// The bounds of every partition of `topics`: all at once, or topic by topic if that fails
/// (so one deleted topic does not fail the others).
fn list(
    consumer: &OffsetsConsumer,
    topics: &[(String, i32)],
) -> HashMap<String, Result<Vec<Bounds>, String>> {
    match list_together(consumer, topics) {
        Ok(all) => all,
        Err(_) if topics.len() > 1 => topics
            .iter()
            .map(|(topic, partitions)| {
                let one = list_together(consumer, &[(topic.clone(), *partitions)]);
                let result = one.map_err(|e| e.to_string()).and_then(|mut m| {
                    m.remove(topic)
                        .unwrap_or_else(|| Err("not listed".to_owned()))
                });
                (topic.clone(), result)
            })
            .collect(),
        Err(error) => topics
            .iter()
            .map(|(topic, _)| (topic.clone(), Err(error.to_string())))
            .collect(),
    }
}

fn list_together(
    consumer: &OffsetsConsumer,
    topics: &[(String, i32)],
) -> Result<HashMap<String, Result<Vec<Bounds>, String>>, KafkaError> {
    let request = |at: Offset| -> Result<TopicPartitionList, KafkaError> {
        let mut list = TopicPartitionList::new();
        for (topic, partitions) in topics {
            for partition in 0..*partitions {
                list.add_partition_offset(topic, partition, at)?;
            }
        }
        Ok(list)
    };
    // With librdkafka's default `read_committed`, "the end" is the last stable offset.
    let starts = consumer.offsets_for_times(request(Offset::Beginning)?, TIMEOUT)?;
    let ends = consumer.offsets_for_times(request(Offset::End)?, TIMEOUT)?;
    let offset = |list: &TopicPartitionList, topic: &str, partition: i32| -> Result<i64, String> {
        let element = list
            .find_partition(topic, partition)
            .ok_or_else(|| format!("partition {partition} of {topic} was not listed"))?;
        element.error().map_err(|e| e.to_string())?;
        Ok(element.offset().to_raw().unwrap_or(0).max(0))
    };
    Ok(topics
        .iter()
        .map(|(topic, partitions)| {
            let bounds = (0..*partitions)
                .map(|p| Ok((offset(&starts, topic, p)?, offset(&ends, topic, p)?)))
                .collect::<Result<Vec<Bounds>, String>>();
            (topic.clone(), bounds)
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn arrivals_are_the_growth_of_each_end_per_second() {
        let rates = arrivals(Duration::from_millis(500), &[10, 20], &[60, 20]);
        assert_eq!(rates, Some(vec![100.0, 0.0]));
    }

    #[test]
    fn new_partitions_give_no_arrivals_until_the_next_round() {
        assert_eq!(arrivals(Duration::from_secs(1), &[10], &[60, 0]), None);
    }
}
