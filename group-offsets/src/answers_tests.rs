use kafka_protocol::messages::BrokerId;
use kafka_protocol::messages::find_coordinator_response::Coordinator;
use kafka_protocol::messages::offset_fetch_response::{
    OffsetFetchResponseGroup, OffsetFetchResponsePartitions, OffsetFetchResponseTopics,
};
use proptest::prelude::*;

use super::*;

fn question(group: &str, topic: &str, partitions: i32) -> Question {
    Question {
        group: group.to_owned(),
        topic: topic.to_owned(),
        partitions,
    }
}

/// An answer for `group` on `topic` with (partition, offset, error code) entries.
fn answer(
    group: &str,
    error: i16,
    topic: &str,
    partitions: &[(i32, i64, i16)],
) -> OffsetFetchResponse {
    let partitions = partitions
        .iter()
        .map(|&(index, offset, code)| {
            OffsetFetchResponsePartitions::default()
                .with_partition_index(index)
                .with_committed_offset(offset)
                .with_error_code(code)
        })
        .collect();
    let topic = OffsetFetchResponseTopics::default()
        .with_name(TopicName(str_bytes(topic)))
        .with_partitions(partitions);
    let group = OffsetFetchResponseGroup::default()
        .with_group_id(GroupId(str_bytes(group)))
        .with_error_code(error)
        .with_topics(vec![topic]);
    OffsetFetchResponse::default().with_groups(vec![group])
}

/// A topic and the partitions asked of it.
type Asked = (String, Vec<i32>);

#[test]
fn one_request_asks_every_group_once_for_all_its_topics() {
    let (a, b, c) = (
        question("g1", "t1", 2),
        question("g1", "t2", 1),
        question("g2", "t3", 3),
    );
    let again = question("g1", "t1", 2);
    let request = offset_fetch(&[&a, &b, &c, &again]);
    let asked: Vec<(String, Vec<Asked>)> = request
        .groups
        .iter()
        .map(|g| {
            let topics = g.topics.as_ref().unwrap();
            let topics = topics
                .iter()
                .map(|t| (t.name.0.to_string(), t.partition_indexes.clone()))
                .collect();
            (g.group_id.0.to_string(), topics)
        })
        .collect();
    assert_eq!(
        asked,
        vec![
            (
                "g1".into(),
                vec![("t1".into(), vec![0, 1]), ("t2".into(), vec![0])]
            ),
            ("g2".into(), vec![("t3".into(), vec![0, 1, 2])]),
        ]
    );
}

#[test]
fn a_partition_without_a_commit_is_none() {
    let response = answer("g", 0, "t", &[(0, 42, 0), (1, -1, 0)]);
    assert_eq!(
        offsets(&response, &question("g", "t", 2)),
        Answer::Known(vec![Some(42), None])
    );
}

#[test]
fn partitions_the_answer_leaves_out_have_no_commit() {
    let response = answer("g", 0, "t", &[(1, 7, 0)]);
    assert_eq!(
        offsets(&response, &question("g", "t", 3)),
        Answer::Known(vec![None, Some(7), None])
    );
}

#[test]
fn a_partition_beyond_the_question_is_ignored() {
    let response = answer("g", 0, "t", &[(0, 5, 0), (4, 9, 0)]);
    assert_eq!(
        offsets(&response, &question("g", "t", 1)),
        Answer::Known(vec![Some(5)])
    );
}

#[test]
fn an_unknown_topic_has_no_commits() {
    let response = answer("g", 0, "t", &[(0, -1, 3)]);
    assert_eq!(
        offsets(&response, &question("g", "t", 1)),
        Answer::Known(vec![None])
    );
}

#[test]
fn a_refused_group_names_the_group() {
    let response = answer("g", 30, "t", &[]);
    assert_eq!(
        offsets(&response, &question("g", "t", 1)),
        Answer::Failed(FetchError::GroupNotAuthorized { group: "g".into() })
    );
}

#[test]
fn a_refused_topic_names_the_topic_and_the_group() {
    let response = answer("g", 0, "t", &[(0, -1, 29)]);
    let refused = FetchError::TopicNotAuthorized {
        group: "g".into(),
        topic: "t".into(),
    };
    assert_eq!(
        offsets(&response, &question("g", "t", 1)),
        Answer::Failed(refused)
    );
}

#[test]
fn a_moved_coordinator_is_asked_again() {
    for code in [15, 16] {
        let response = answer("g", code, "t", &[]);
        assert_eq!(offsets(&response, &question("g", "t", 1)), Answer::Moved);
    }
}

#[test]
fn a_loading_coordinator_fails_the_poll_with_kafka_s_words() {
    let response = answer("g", 14, "t", &[]);
    match offsets(&response, &question("g", "t", 1)) {
        Answer::Failed(FetchError::Kafka { group, error }) => {
            assert_eq!(group, "g");
            assert_eq!(error, "CoordinatorLoadInProgress (error code 14)");
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn a_group_left_out_of_the_answer_fails_by_name() {
    let response = answer("other", 0, "t", &[]);
    let failed = offsets(&response, &question("g", "t", 1));
    assert!(matches!(failed, Answer::Failed(FetchError::Kafka { group, .. }) if group == "g"));
}

fn coordinator(key: &str, host: &str, port: i32, error: i16) -> Coordinator {
    Coordinator::default()
        .with_key(str_bytes(key))
        .with_node_id(BrokerId(1))
        .with_host(str_bytes(host))
        .with_port(port)
        .with_error_code(error)
}

#[test]
fn coordinators_are_addresses_or_why_not() {
    let response = FindCoordinatorResponse::default().with_coordinators(vec![
        coordinator("a", "kafka-1", 9093, 0),
        coordinator("b", "", -1, 15),
        coordinator("c", "", -1, 30),
    ]);
    let found = coordinators(&response);
    assert_eq!(found["a"], Answer::Known("kafka-1:9093".to_owned()));
    assert_eq!(found["b"], Answer::Moved);
    assert_eq!(
        found["c"],
        Answer::Failed(FetchError::GroupNotAuthorized { group: "c".into() })
    );
}

#[test]
fn find_coordinators_asks_for_groups_by_key() {
    let request = find_coordinators(&["a".to_owned(), "b".to_owned()]);
    assert_eq!(request.key_type, 0);
    let keys: Vec<&str> = request
        .coordinator_keys
        .iter()
        .map(|k| k.as_str())
        .collect();
    assert_eq!(keys, ["a", "b"]);
}

proptest! {
    #[test]
    fn every_committed_offset_is_read_back(commits in proptest::collection::vec(proptest::option::of(0i64..1 << 40), 1..64)) {
        let entries: Vec<(i32, i64, i16)> = commits
            .iter()
            .enumerate()
            .map(|(i, c)| (i32::try_from(i).unwrap(), c.unwrap_or(-1), 0))
            .collect();
        let response = answer("g", 0, "t", &entries);
        let partitions = i32::try_from(commits.len()).unwrap();
        prop_assert_eq!(offsets(&response, &question("g", "t", partitions)), Answer::Known(commits));
    }
}
