//! What to ask and what the answers mean (pure): the batched FindCoordinator and OffsetFetch
//! requests for a set of groups, and each group's share of the answers.

use std::collections::BTreeMap;

use kafka_protocol::ResponseError;
use kafka_protocol::messages::offset_fetch_request::{
    OffsetFetchRequestGroup, OffsetFetchRequestTopics,
};
use kafka_protocol::messages::{
    FindCoordinatorRequest, FindCoordinatorResponse, GroupId, OffsetFetchRequest,
    OffsetFetchResponse, TopicName,
};
use kafka_protocol::protocol::StrBytes;

use crate::FetchError;

/// FindCoordinator with a list of keys (KIP-699, Kafka 3.0).
pub(crate) const FIND_COORDINATOR_VERSION: i16 = 4;
/// OffsetFetch with a list of groups and topics by name (KIP-709, Kafka 3.0).
pub(crate) const OFFSET_FETCH_VERSION: i16 = 8;

/// One group's question: its committed offsets on partitions 0..`partitions` of `topic`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Question {
    pub group: String,
    pub topic: String,
    pub partitions: i32,
}

/// A group's share of an answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Answer<T> {
    Known(T),
    /// The group's coordinator moved or is not elected yet: ask again where it is now.
    Moved,
    Failed(FetchError),
}

/// The committed offset of each partition; `None` where the group never committed.
pub(crate) type Offsets = Vec<Option<i64>>;

pub(crate) fn find_coordinators(groups: &[String]) -> FindCoordinatorRequest {
    FindCoordinatorRequest::default()
        .with_key_type(0)
        .with_coordinator_keys(groups.iter().map(|g| str_bytes(g)).collect())
}

/// Each group's coordinator as `host:port`.
pub(crate) fn coordinators(response: &FindCoordinatorResponse) -> BTreeMap<String, Answer<String>> {
    response
        .coordinators
        .iter()
        .map(|c| {
            let group = c.key.as_str().to_owned();
            let answer = match ResponseError::try_from_code(c.error_code) {
                None => Answer::Known(format!("{}:{}", c.host.as_str(), c.port)),
                Some(ResponseError::CoordinatorNotAvailable | ResponseError::NotCoordinator) => {
                    Answer::Moved
                }
                Some(ResponseError::GroupAuthorizationFailed) => {
                    Answer::Failed(FetchError::GroupNotAuthorized {
                        group: group.clone(),
                    })
                }
                Some(error) => Answer::Failed(kafka(&group, error)),
            };
            (group, answer)
        })
        .collect()
}

/// One request for every question (to one coordinator): a group asked twice is asked once,
/// for all its topics.
pub(crate) fn offset_fetch(questions: &[&Question]) -> OffsetFetchRequest {
    let mut groups: BTreeMap<&str, BTreeMap<&str, i32>> = BTreeMap::new();
    for q in questions {
        let topics = groups.entry(&q.group).or_default();
        let partitions = topics.entry(&q.topic).or_default();
        *partitions = (*partitions).max(q.partitions);
    }
    let groups = groups
        .into_iter()
        .map(|(group, topics)| {
            let topics = topics
                .into_iter()
                .map(|(topic, partitions)| {
                    OffsetFetchRequestTopics::default()
                        .with_name(TopicName(str_bytes(topic)))
                        .with_partition_indexes((0..partitions).collect())
                })
                .collect();
            OffsetFetchRequestGroup::default()
                .with_group_id(GroupId(str_bytes(group)))
                .with_topics(Some(topics))
        })
        .collect();
    OffsetFetchRequest::default().with_groups(groups)
}

/// `question`'s share of an OffsetFetch answer.
pub(crate) fn offsets(response: &OffsetFetchResponse, question: &Question) -> Answer<Offsets> {
    let Question {
        group,
        topic,
        partitions,
    } = question;
    let Some(answer) = response
        .groups
        .iter()
        .find(|g| g.group_id.0.as_str() == group)
    else {
        return Answer::Failed(FetchError::Kafka {
            group: group.clone(),
            error: "the answer left the group out".to_owned(),
        });
    };
    match ResponseError::try_from_code(answer.error_code) {
        None => {}
        Some(ResponseError::CoordinatorNotAvailable | ResponseError::NotCoordinator) => {
            return Answer::Moved;
        }
        Some(ResponseError::GroupAuthorizationFailed) => {
            return Answer::Failed(FetchError::GroupNotAuthorized {
                group: group.clone(),
            });
        }
        Some(error) => return Answer::Failed(kafka(group, error)),
    }
    let mut offsets = vec![None; usize::try_from(*partitions).unwrap_or(0)];
    let listed = answer.topics.iter().filter(|t| t.name.0.as_str() == topic);
    for partition in listed.flat_map(|t| &t.partitions) {
        match ResponseError::try_from_code(partition.error_code) {
            // A topic the group never read (or that is gone) has no commits.
            None | Some(ResponseError::UnknownTopicOrPartition) => {}
            Some(ResponseError::TopicAuthorizationFailed) => {
                return Answer::Failed(FetchError::TopicNotAuthorized {
                    group: group.clone(),
                    topic: topic.clone(),
                });
            }
            Some(error) => return Answer::Failed(kafka(group, error)),
        }
        let slot = usize::try_from(partition.partition_index)
            .ok()
            .and_then(|i| offsets.get_mut(i));
        if let Some(slot) = slot {
            *slot = (partition.committed_offset >= 0).then_some(partition.committed_offset);
        }
    }
    Answer::Known(offsets)
}

fn kafka(group: &str, error: ResponseError) -> FetchError {
    FetchError::Kafka {
        group: group.to_owned(),
        error: format!("{error} (error code {})", error.code()),
    }
}

fn str_bytes(s: &str) -> StrBytes {
    StrBytes::from_string(s.to_owned())
}

#[cfg(test)]
#[path = "answers_tests.rs"]
mod tests;
