//! A load that one pod's workers can take raises the workers live (no restart, no
//! rebalance); a load beyond one pod adds pods; the lag drains; without load the consumers
//! shrink back after the stabilisation window.

use std::time::Duration;

use e2e::kafka::last_value;

use crate::scenario::{Scenario, Shape, desired};

#[tokio::test]
async fn workers_rise_first_then_pods_the_lag_drains_and_the_size_returns_after_the_window() {
    let mut s = Scenario::start(
        "autoscale",
        &Shape {
            mode: "Enabled",
            partitions: 4,
            pods: (1, 4),
            workers: (2, 8),
            session_timeout_seconds: 10,
        },
    )
    .await;
    let first_pid = s.consumers()[0].pid;

    // ~56 ms brews: a worker takes ~18 orders/s, so 70/s needs ~5 workers in the one pod.
    s.load(70.0);
    let grown = s
        .wait("more workers in one pod", Duration::from_secs(60), |p| {
            let (pods, workers) = desired(p);
            pods == 1 && workers > 2
        })
        .await;
    let workers = desired(&grown).1;
    assert_eq!(s.consumer_replicas().await, 1);
    let consumers = s.consumers();
    assert_eq!(consumers.len(), 1, "{consumers:?}");
    assert_eq!(
        consumers[0].pid, first_pid,
        "a worker change restarted the pod"
    );
    let control = last_value(&s.bed, &format!("{}-control", s.topic), &s.group())
        .await
        .unwrap();
    assert_eq!(control, Some(format!("{{\"workers\": {workers}}}")));
    let events = s.events("ScaledUp");
    assert!(
        events.iter().any(|e| e.starts_with("workers 2→")),
        "{events:?}"
    );

    // 300/s is beyond one pod of 8 workers: pods are added.
    s.load(300.0);
    s.wait("more pods", Duration::from_secs(60), |p| desired(p).0 > 1)
        .await;
    s.wait(
        "the extra consumers running",
        Duration::from_secs(30),
        |p| p["status"]["consumer"]["readyReplicas"].as_i64() > Some(1),
    )
    .await;
    assert!(s.consumers().len() > 1);
    s.wait("the lag to drain", Duration::from_secs(90), |p| {
        p["status"]["autoscaling"]["lag"]
            .as_i64()
            .is_some_and(|lag| lag < 150)
    })
    .await;

    // No load: back to the minimum, but only after the 20 s window.
    s.load(0.0);
    let stopped = std::time::Instant::now();
    let back = s
        .wait("the minimum again", Duration::from_secs(90), |p| {
            desired(p) == (1, 2)
        })
        .await;
    assert!(
        stopped.elapsed() >= Duration::from_secs(18),
        "shrank after {:?}",
        stopped.elapsed()
    );
    assert_eq!(
        back["status"]["autoscaling"]["lastDecision"]["reason"],
        "CapacityUnused"
    );
    s.wait("one consumer pod", Duration::from_secs(30), |p| {
        p["status"]["consumer"]["replicas"] == 1
    })
    .await;
    let independent: i64 = s.offsets().await.iter().map(|p| p.lag()).sum();
    assert_eq!(independent, 0);
    s.finish().await;
}
