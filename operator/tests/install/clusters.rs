//! An operator limited to some Kafka clusters (chart value `allowedKafkaClusters`) refuses a
//! pipeline naming another, with a condition, and dials nothing.

use std::collections::BTreeSet;

use e2e::operator::wait_for_condition;

use super::release::{install, leader};

#[tokio::test]
async fn a_pipeline_naming_a_cluster_the_operator_may_not_use_is_refused() {
    let installed = install(
        "chart-clusters",
        &["allowedKafkaClusters={kafka.allowed.example:9093}"],
    )
    .await;
    leader(&installed, 2, &BTreeSet::new()).await;
    installed.apply_sample().expect("applying the sample");
    let logs = installed.operator_logs();
    let ready = wait_for_condition(
        &installed.pipelines,
        "espresso-bar",
        "Ready",
        "False",
        Some("KafkaClusterNotAllowed"),
        &logs,
    )
    .await;
    assert!(
        ready["message"]
            .as_str()
            .unwrap_or_default()
            .contains("--allowed-kafka-clusters"),
        "{ready}"
    );
    let consumers = installed
        .pipelines
        .deployments
        .get_opt("espresso-bar-consumer")
        .await
        .expect("a lookup");
    assert!(consumers.is_none(), "a refused pipeline runs nothing");
    installed.finish().await.expect("cleaning up");
}
