//! `Observe` measures and reports what it would decide but changes nothing: the Deployment's
//! replicas stay as they are, no worker count is written, and an HPA (here: a person with
//! kubectl) may own the replicas.

use std::time::Duration;

use e2e::kafka::last_value;

use crate::scenario::{Scenario, Shape, condition, desired};
use e2e::operator::kubectl;

#[tokio::test]
async fn observe_reports_what_it_would_do_and_leaves_replicas_and_workers_alone() {
    let mut s = Scenario::start(
        "observe",
        &Shape {
            mode: "Observe",
            partitions: 2,
            pods: (1, 2),
            workers: (2, 8),
            session_timeout_seconds: 10,
        },
    )
    .await;
    s.load(120.0);
    let observed = s
        .wait("a decision it would take", Duration::from_secs(60), |p| {
            let (pods, workers) = desired(p);
            pods * workers > 2
        })
        .await;
    assert_eq!(condition(&observed, "Scaling")["reason"], "Observing");
    assert_eq!(observed["status"]["autoscaling"]["mode"], "Observe");
    assert_eq!(s.consumer_replicas().await, 1);
    assert!(!s.events("WouldScaleUp").is_empty());
    assert!(s.events("ScaledUp").is_empty());
    let control = last_value(&s.bed, &format!("{}-control", s.topic), &s.group())
        .await
        .unwrap();
    assert_eq!(control, None);

    // Another owner sets the replicas; the operator does not take them back.
    let scaled = kubectl(
        &s.bed,
        &[
            "scale",
            "deployment",
            "shop-consumer",
            "--replicas=2",
            "-n",
            &s.scene.namespace,
        ],
        None,
    )
    .unwrap();
    assert!(scaled.status.success(), "{scaled:?}");
    s.wait(
        "the second consumer reported",
        Duration::from_secs(60),
        |p| p["status"]["autoscaling"]["current"]["pods"] == 2,
    )
    .await;
    assert_eq!(s.consumer_replicas().await, 2);
    s.finish().await;
}
