//! A pipeline on Kafka as a platform team runs it: over SASL_SSL with SCRAM-SHA-512, and over
//! TLS with a client certificate, trusting the cluster's CA from a Secret, as a tenant with
//! only the ACLs the README lists. The operator's own admin client and both workloads use the
//! pipeline's Secrets; an order placed at the intake's pod is brewed, and its status is read
//! back there.

use std::time::Duration;

use e2e::fixtures::{RuntimeScene, unique_name};
use e2e::kafka::partition_count;
use e2e::kafka_secured::{Acl, CLIENT_CN, Resource, Secured, acls};
use e2e::operator::{apply_pipeline, apply_secret, delete_pipeline, install};
use e2e::poll::eventually;
use e2e::testbed::TestBed;
use serde_json::{Value, json};

use crate::support::{scene, start_operator};

/// A Secret's name and its keys with their text.
type SecretData = (&'static str, Vec<(&'static str, String)>);

/// The CRD installed, the test bed's secured listeners with a SCRAM user of the test's own,
/// and a scene with the Secrets `secrets` writes from the certificates and that user.
async fn secured_scene(
    name: &str,
    secrets: fn(&Secured, &str) -> Vec<SecretData>,
) -> (TestBed, Secured, String, RuntimeScene) {
    let bed = TestBed::load().expect("the test bed");
    install(&bed).expect("the CRD");
    let mut secured = bed.secured().expect("the test bed's certificates");
    let user = secured.new_user(name).await.expect("a SCRAM user");
    let scene = scene(name).await.expect("a scene");
    for (secret, data) in secrets(&secured, &user) {
        let data: Vec<(&str, &str)> = data.iter().map(|(k, v)| (*k, v.as_str())).collect();
        apply_secret(&bed, &scene.namespace, secret, &data).expect("a Secret");
    }
    (bed, secured, user, scene)
}

/// Runs a pipeline named `name` whose `kafka:` section `kafka` writes from the brokers'
/// listeners, with the Secrets `secrets` writes, as the principal `principal` names (given
/// the test's SCRAM user), and follows one order through it.
async fn an_order_is_brewed_over(
    name: &str,
    principal: fn(&str) -> String,
    kafka: fn(&Secured, &str) -> String,
    secrets: fn(&Secured, &str) -> Vec<SecretData>,
) {
    let (bed, secured, user, scene) = secured_scene(name, secrets).await;
    let principal = &principal(&user);
    let operator = start_operator(&bed, &scene).await.expect("the operator");
    let topic = unique_name(name);
    let tenant = [
        acls::operator(principal, &topic),
        acls::producer(principal, &topic),
        acls::consumer(principal, &topic),
    ]
    .concat();
    secured.grant(&tenant).await.expect("the tenant's ACLs");
    let spec = format!(
        "{}  producer:\n    replicas: 1\n  consumer:\n    replicas: {{min: 1, max: 2}}\n    workers: {{min: 2, max: 4}}\n  autoscaling:\n    mode: Enabled\n  topicDeletionPolicy: Delete\n",
        kafka(&secured, &topic)
    );
    apply_pipeline(&bed, &scene.namespace, name, &spec).expect("the pipeline");
    e2e::operator::wait_ready(&scene, &operator, name).await;
    let intake = intake(&scene, &format!("{name}-producer"));
    let http = reqwest::Client::new();
    let placed: Value = http
        .post(format!("{intake}/order"))
        .json(&json!({"customer_name": "Ada", "coffee_type": "Espresso"}))
        .send()
        .await
        .expect("the intake answers")
        .json()
        .await
        .expect("a JSON answer");
    let id = placed["id"].as_str().expect("an order id").to_owned();
    eventually("the order brewed", Duration::from_secs(60), || async {
        let order: Value = http
            .get(format!("{intake}/order/{id}"))
            .send()
            .await
            .map_err(|e| e.to_string())?
            .json()
            .await
            .map_err(|e| e.to_string())?;
        match order["status"].as_str() {
            Some("completed") => Ok(()),
            _ => Err(order.to_string()),
        }
    })
    .await
    .unwrap_or_else(|e| panic!("{e}\n{}", operator.log_tail()));
    // The autoscaler reads the log's offsets and the group's commits with the same grants.
    eventually(
        "the autoscaler measuring",
        Duration::from_secs(60),
        || async {
            let pipeline = e2e::operator::pipeline(&scene, name)
                .await
                .map_err(|e| e.to_string())?;
            let autoscaling = &pipeline["status"]["autoscaling"];
            match (
                autoscaling["observedTime"].is_string(),
                autoscaling["processingRate"].is_number(),
            ) {
                (true, true) => Ok(()),
                _ => Err(autoscaling.to_string()),
            }
        },
    )
    .await
    .unwrap_or_else(|e| panic!("{e}\n{}", operator.log_tail()));
    // Deleted with the same grants: the operator reads its owner record and deletes the topics.
    delete_pipeline(&bed, &scene, name).unwrap_or_else(|e| panic!("{e}\n{}", operator.log_tail()));
    eventually("the topics deleted", Duration::from_secs(30), || async {
        match partition_count(&bed, &topic).await {
            Ok(0) => Ok(()),
            other => Err(format!("{other:?}")),
        }
    })
    .await
    .unwrap_or_else(|e| panic!("{e}\n{}", operator.log_tail()));
    operator.stop().await.expect("the operator stops");
    scene.finish().await.expect("cleaning up");
}

/// The base URL of the ready pod of `deployment`.
fn intake(scene: &RuntimeScene, deployment: &str) -> String {
    let pod = scene
        .runtime
        .pods()
        .into_iter()
        .find(|p| p.deployment == deployment && p.ready)
        .expect("a ready intake pod");
    format!("http://127.0.0.1:{}", pod.ports[0].local_port)
}

#[tokio::test]
async fn a_pipeline_runs_over_sasl_ssl_with_scram_trusting_the_ca_from_a_secret() {
    an_order_is_brewed_over(
        "scram",
        |user| format!("User:{user}"),
        |s, topic| {
            format!(
                "  kafka:\n    bootstrapServers: \"{}\"\n    topic: {topic}\n    partitions: 2\n    tls: {{caSecret: {{name: kafka-ca, key: ca.crt}}}}\n    sasl: {{mechanism: SCRAM-SHA-512, secretName: kafka-user}}\n",
                s.sasl_ssl_servers()
            )
        },
        |s, user| {
            vec![
                ("kafka-ca", vec![("ca.crt", s.certificates.ca_pem.clone())]),
                (
                    "kafka-user",
                    vec![("username", user.to_owned()), ("password", s.password(user))],
                ),
            ]
        },
    )
    .await;
}

#[tokio::test]
async fn a_pipeline_runs_over_tls_with_a_client_certificate() {
    an_order_is_brewed_over(
        "mtls",
        |_| format!("User:CN={CLIENT_CN}"),
        |s, topic| {
            format!(
                "  kafka:\n    bootstrapServers: \"{}\"\n    topic: {topic}\n    partitions: 2\n    tls:\n      caSecret: {{name: kafka-tls, key: ca.crt}}\n      certSecret: {{name: kafka-tls, key: tls.crt}}\n      keySecret: {{name: kafka-tls, key: tls.key}}\n",
                s.ssl_servers()
            )
        },
        |s, _| {
            let c = &s.certificates;
            vec![(
                "kafka-tls",
                vec![
                    ("ca.crt", c.ca_pem.clone()),
                    ("tls.crt", c.client_certificate_pem.clone()),
                    ("tls.key", c.client_key_pem.clone()),
                ],
            )]
        },
    )
    .await;
}

/// Runs a pipeline over SASL_SSL as a tenant granted the documented ACLs less what `withhold`
/// takes away, and returns the message of condition `type_` once it is `False` with reason
/// `KafkaNotAuthorized`, and the pipeline's order topic.
async fn refused_for_want_of(
    name: &str,
    type_: &str,
    withhold: fn(Acl) -> Option<Acl>,
) -> (String, String) {
    let scram_secrets = |secured: &Secured, user: &str| -> Vec<SecretData> {
        vec![
            (
                "kafka-user",
                vec![
                    ("username", user.to_owned()),
                    ("password", secured.password(user)),
                ],
            ),
            (
                "kafka-ca",
                vec![("ca.crt", secured.certificates.ca_pem.clone())],
            ),
        ]
    };
    let (bed, secured, user, scene) = secured_scene(name, scram_secrets).await;
    let topic = unique_name(name);
    let principal = format!("User:{user}");
    let tenant: Vec<Acl> = [
        acls::operator(&principal, &topic),
        acls::producer(&principal, &topic),
        acls::consumer(&principal, &topic),
    ]
    .concat()
    .into_iter()
    .filter_map(withhold)
    .collect();
    secured.grant(&tenant).await.expect("the tenant's ACLs");
    let operator = start_operator(&bed, &scene).await.expect("the operator");
    let spec = format!(
        "  kafka:\n    bootstrapServers: \"{}\"\n    topic: {topic}\n    partitions: 2\n    tls: {{caSecret: {{name: kafka-ca, key: ca.crt}}}}\n    sasl: {{mechanism: SCRAM-SHA-512, secretName: kafka-user}}\n  producer:\n    replicas: 1\n  autoscaling:\n    mode: Enabled\n",
        secured.sasl_ssl_servers()
    );
    apply_pipeline(&bed, &scene.namespace, name, &spec).expect("the pipeline");
    let condition = e2e::operator::wait_for_condition(
        &scene,
        name,
        type_,
        "False",
        Some("KafkaNotAuthorized"),
        &operator.log_tail(),
    )
    .await;
    operator.stop().await.expect("the operator stops");
    scene.finish().await.expect("cleaning up");
    let message = condition["message"].as_str().unwrap_or_default().to_owned();
    (message, topic)
}

/// A tenant granted everything on its topics but nothing on its group: the autoscaler says
/// which ACL it lacks, rather than measuring lag against no commits (as the follower of
/// `__consumer_offsets` did when refused: every message counted as lag).
#[tokio::test]
async fn a_tenant_without_describe_on_its_group_is_told_which_acl_the_autoscaler_needs() {
    let (message, topic) = refused_for_want_of("nogroup", "Scaling", |acl| {
        (!matches!(acl.resource, Resource::Group(_))).then_some(acl)
    })
    .await;
    assert!(
        message.contains(&format!("Describe ACL on consumer group {topic}-processor")),
        "{message}"
    );
}

/// A tenant that may do everything on its topics but create them: the reconciler names the
/// ACL (it said only "Topic authorization failed").
#[tokio::test]
async fn a_tenant_without_create_on_its_topics_is_told_which_acl_the_operator_needs() {
    let (message, topic) = refused_for_want_of("nocreate", "TopicReady", |mut acl| {
        acl.operations.retain(|operation| *operation != "Create");
        (!acl.operations.is_empty()).then_some(acl)
    })
    .await;
    assert!(
        message.contains(&format!("Create ACL on topic {topic}")),
        "{message}"
    );
}
