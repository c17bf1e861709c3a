//! The reader against the test bed's three brokers: over PLAINTEXT as their admin, and over
//! SASL_SSL with SCRAM-SHA-512 as users of the test's own, whom the StandardAuthorizer allows
//! only `Describe` on the group and its topic.

use coffee_group_offsets::{FetchError, GroupOffsets};
use coffee_kafka::security::{Mechanism, Protocol, Security};
use e2e::fixtures::unique_name;
use e2e::kafka::{admin, client_config, create_topic};
use e2e::kafka_secured::{Acl, Resource, Secured};
use e2e::testbed::TestBed;
use rdkafka::ClientConfig;
use rdkafka::consumer::{BaseConsumer, CommitMode, Consumer};
use rdkafka::{Offset, TopicPartitionList};

/// Commits `offsets` (partition, offset) for `group` as a client outside the group would.
async fn commit(config: ClientConfig, group: &str, topic: &str, offsets: &[(i32, i64)]) {
    let (group, topic, offsets) = (group.to_owned(), topic.to_owned(), offsets.to_vec());
    tokio::task::spawn_blocking(move || {
        let consumer: BaseConsumer = config
            .clone()
            .set("group.id", &group)
            .set("enable.auto.commit", "false")
            .create()
            .expect("a consumer");
        let mut list = TopicPartitionList::new();
        for (partition, offset) in offsets {
            list.add_partition_offset(&topic, partition, Offset::Offset(offset))
                .expect("an offset");
        }
        consumer
            .commit(&list, CommitMode::Sync)
            .expect("the commit");
    })
    .await
    .expect("the commit task");
}

#[tokio::test]
async fn committed_offsets_are_read_and_a_partition_never_committed_is_none() {
    let bed = TestBed::load().expect("the test bed");
    let topic = unique_name("offsets");
    let group = format!("{topic}-processor");
    create_topic(&admin(&bed).await.expect("an admin"), &topic, 3, &[])
        .await
        .expect("the topic");
    commit(
        e2e::kafka::client_config(&bed),
        &group,
        &topic,
        &[(0, 5), (2, 9)],
    )
    .await;

    let reader =
        GroupOffsets::new(&bed.kafka_bootstrap_servers, &Security::default()).expect("a reader");
    let committed = reader
        .committed(&group, &topic, 3)
        .await
        .expect("the offsets");
    assert_eq!(committed, vec![Some(5), None, Some(9)]);
}

#[tokio::test]
async fn a_group_that_never_committed_has_no_offsets() {
    let bed = TestBed::load().expect("the test bed");
    let reader =
        GroupOffsets::new(&bed.kafka_bootstrap_servers, &Security::default()).expect("a reader");
    let committed = reader
        .committed(&unique_name("nobody"), &unique_name("nothing"), 2)
        .await
        .expect("an answer");
    assert_eq!(committed, vec![None, None]);
}

#[tokio::test]
async fn many_groups_asked_at_once_each_get_their_own_offsets() {
    let bed = TestBed::load().expect("the test bed");
    let topic = unique_name("many");
    create_topic(&admin(&bed).await.expect("an admin"), &topic, 1, &[])
        .await
        .expect("the topic");
    let groups: Vec<String> = (0..40).map(|i| format!("{topic}-group-{i}")).collect();
    for (i, group) in (0i64..).zip(&groups) {
        commit(e2e::kafka::client_config(&bed), group, &topic, &[(0, i)]).await;
    }
    let reader =
        GroupOffsets::new(&bed.kafka_bootstrap_servers, &Security::default()).expect("a reader");
    let asked = groups.iter().map(|g| reader.committed(g, &topic, 1));
    let answers = futures::future::join_all(asked).await;
    for (i, answer) in (0i64..).zip(answers) {
        assert_eq!(answer.expect("an answer"), vec![Some(i)], "group {i}");
    }
}

/// The test bed's secured listeners with a SCRAM user of the test's own, and `topic`, where
/// `group` committed offset 7 on partition 0.
async fn secured_with_a_commit(name: &str, topic: &str, group: &str) -> (Secured, String) {
    let bed = TestBed::load().expect("the test bed");
    let mut secured = bed.secured().expect("the test bed's certificates");
    let user = secured.new_user(name).await.expect("a SCRAM user");
    let admin = admin(&bed).await.expect("an admin");
    create_topic(&admin, topic, 1, &[])
        .await
        .expect("the topic");
    commit(client_config(&bed), group, topic, &[(0, 7)]).await;
    (secured, user)
}

fn describe(user: &str, resource: Resource) -> Acl {
    Acl {
        principal: format!("User:{user}"),
        resource,
        operations: vec!["Describe"],
    }
}

fn scram(secured: &Secured, user: &str, password: &str) -> Security {
    Security {
        protocol: Protocol::SaslSsl,
        mechanism: Some(Mechanism::ScramSha512),
        username: Some(user.to_owned()),
        password: Some(password.to_owned()),
        ca_pem: Some(secured.certificates.ca_pem.clone()),
        ..Security::default()
    }
}

#[tokio::test]
async fn over_sasl_ssl_describe_on_the_group_and_its_topic_is_all_it_takes() {
    let (topic, group) = (unique_name("scram"), unique_name("scram-group"));
    let (secured, tenant) = secured_with_a_commit("reader-scram", &topic, &group).await;
    secured
        .grant(&[
            describe(&tenant, Resource::Group(group.clone())),
            describe(&tenant, Resource::Topic(topic.clone())),
        ])
        .await
        .expect("the ACLs");
    let security = scram(&secured, &tenant, &secured.password(&tenant));
    let reader = GroupOffsets::new(&secured.sasl_ssl_servers(), &security).expect("a reader");
    assert_eq!(reader.committed(&group, &topic, 1).await, Ok(vec![Some(7)]));
}

#[tokio::test]
async fn refusals_name_the_missing_acl_and_never_the_password() {
    let (topic, group) = (unique_name("refused"), unique_name("refused-group"));
    let (secured, stranger) = secured_with_a_commit("reader-refused", &topic, &group).await;
    let other_group = format!("{group}-other");
    secured
        .grant(&[
            describe(&stranger, Resource::Topic(topic.clone())),
            describe(&stranger, Resource::Group(other_group.clone())),
        ])
        .await
        .expect("the ACLs");
    let servers = secured.sasl_ssl_servers();
    let security = scram(&secured, &stranger, &secured.password(&stranger));
    let reader = GroupOffsets::new(&servers, &security).expect("a reader");

    let no_group = reader.committed(&group, &topic, 1).await;
    assert_eq!(
        no_group,
        Err(FetchError::GroupNotAuthorized {
            group: group.clone()
        })
    );
    let no_topic = reader
        .committed(&other_group, &unique_name("elsewhere"), 1)
        .await;
    assert!(
        matches!(&no_topic, Err(FetchError::TopicNotAuthorized { group, .. }) if *group == other_group),
        "{no_topic:?}"
    );

    let wrong = "not-the-password-42";
    let reader = GroupOffsets::new(&servers, &scram(&secured, &stranger, wrong)).expect("a reader");
    let error = reader
        .committed(&group, &topic, 1)
        .await
        .expect_err("a wrong password");
    assert!(
        matches!(error, FetchError::Authentication { .. }),
        "{error:?}"
    );
    assert!(!error.to_string().contains(wrong), "{error}");
}
