//! An operator killed in the middle of scaling: its successor takes the decision over from the
//! status and the control topic instead of snapping back to the minimum.

use std::time::{Duration, Instant};

use e2e::fixtures::unique_name;

use crate::scenario::{Scenario, Shape, desired};
use crate::support::binary;
use e2e::operator::{OperatorProcess, operator_kubeconfig};

#[tokio::test]
async fn an_operator_killed_mid_scale_is_succeeded_without_snapping_back() {
    let mut s = Scenario::start(
        "restart",
        &Shape {
            mode: "Enabled",
            partitions: 4,
            pods: (1, 4),
            workers: (2, 8),
            session_timeout_seconds: 10,
        },
    )
    .await;
    s.load(300.0);
    let scaled = s
        .wait("scaled out", Duration::from_secs(60), |p| desired(p).0 > 1)
        .await;
    let (pods, workers) = desired(&scaled);
    let decided = i32::try_from(pods).expect("pods");
    e2e::poll::eventually(
        "the Deployment to carry the decision",
        Duration::from_secs(30),
        || async {
            let replicas = s.consumer_replicas().await;
            if replicas == decided {
                Ok(())
            } else {
                Err(format!("{replicas} replicas"))
            }
        },
    )
    .await
    .expect("the reconciler applies the decided pods");

    // SIGKILL (no lease released, no decision finished), then a successor.
    s.operator.kill().await.unwrap();
    let kubeconfig = operator_kubeconfig(&s.bed).await.unwrap();
    s.operator = OperatorProcess::start(
        &s.bed,
        binary(),
        &kubeconfig,
        &s.scene.namespace,
        &unique_name("lease"),
    )
    .await
    .unwrap();

    // For a while under the same load, neither the decision nor the Deployment drop below it.
    let since = Instant::now();
    while since.elapsed() < Duration::from_secs(20) {
        let status = s.status().await;
        let now = desired(&serde_json::json!({ "status": status }));
        assert!(
            now.0 >= pods,
            "desired {now:?} after {pods}x{workers}\n{}",
            s.operator.log_tail()
        );
        assert!(s.consumer_replicas().await >= decided);
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    assert!(s.operator.leading().await, "{}", s.operator.log_tail());
    s.finish().await;
}
