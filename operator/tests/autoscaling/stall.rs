//! A consumer process stopped with SIGSTOP keeps its group membership (long session timeout)
//! but moves none of its partitions: those partitions are reported stalled, by name, and
//! their lag does not make the autoscaler run away. The lag it reports matches an
//! independent reader's. When the process continues, the stall clears.

use std::time::Duration;

use e2e::poll::eventually;
use e2e::runtime::PodSnapshot;
use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;

use crate::scenario::{Scenario, Shape, condition, desired};

/// The partitions a consumer process has committed, from its own metrics.
async fn partitions_of(pod: &PodSnapshot) -> Vec<i64> {
    let Some(port) = pod.ports.iter().find(|p| p.container_port == 8080) else {
        return Vec::new();
    };
    let url = format!("http://127.0.0.1:{}/metrics", port.local_port);
    let text = match reqwest::get(url).await {
        Ok(response) => response.text().await.unwrap_or_default(),
        Err(_) => return Vec::new(),
    };
    let mut partitions: Vec<i64> = text
        .lines()
        .filter_map(|l| l.strip_prefix("consumer_committed_offset{partition=\""))
        .filter_map(|l| l.split('"').next()?.parse().ok())
        .collect();
    partitions.sort_unstable();
    partitions
}

fn signal(pid: u32, signal: Signal) {
    let pid = Pid::from_raw(i32::try_from(pid).expect("a pid"));
    kill(pid, signal).expect("signalling the consumer");
}

#[tokio::test]
async fn a_stopped_consumer_stalls_its_partitions_without_a_runaway_and_recovers() {
    let mut s = Scenario::start(
        "stall",
        &Shape {
            mode: "Enabled",
            partitions: 4,
            pods: (2, 4),
            workers: (2, 8),
            session_timeout_seconds: 300,
        },
    )
    .await;
    s.wait("two consumers ready", Duration::from_secs(60), |p| {
        p["status"]["consumer"]["readyReplicas"] == 2
    })
    .await;
    s.load(30.0);
    // Both processes own (and have committed) partitions, as each one's /metrics says.
    let owned = eventually(
        "both consumers to own partitions",
        Duration::from_secs(60),
        || async {
            let mut owned = Vec::new();
            for pod in s.consumers() {
                let partitions = partitions_of(&pod).await;
                if partitions.is_empty() {
                    return Err(format!("{} owns none yet", pod.name));
                }
                owned.push((pod.pid.expect("a running pod"), partitions));
            }
            // A partition just assigned shows only after its first commit; until all four
            // are shown, once each, a pod may own more than its metrics say.
            let mut all: Vec<i64> = owned.iter().flat_map(|(_, p)| p.clone()).collect();
            all.sort_unstable();
            if owned.len() == 2 && all == [0, 1, 2, 3] {
                Ok(owned)
            } else {
                Err(format!("{owned:?}"))
            }
        },
    )
    .await
    .unwrap_or_else(|e| panic!("{e}"));
    let (stopped, its_partitions) = owned[0].clone();
    let before = desired(
        &s.wait("a recorded decision", Duration::from_secs(30), |p| {
            desired(p).0 >= 1
        })
        .await,
    );
    signal(stopped, Signal::SIGSTOP);

    let stalled_named = |p: &serde_json::Value| -> Vec<i64> {
        p["status"]["autoscaling"]["stalledPartitions"]
            .as_array()
            .map(|a| a.iter().filter_map(serde_json::Value::as_i64).collect())
            .unwrap_or_default()
    };
    // Each partition is called stalled once its own lag has stood still long enough, so the
    // stopped pod's partitions may be named one after another.
    let stalled = s
        .wait(
            &format!("Stalled=True naming exactly {its_partitions:?}"),
            Duration::from_secs(60),
            |p| condition(p, "Stalled")["status"] == "True" && stalled_named(p) == its_partitions,
        )
        .await;
    let named = stalled_named(&stalled);
    let message = condition(&stalled, "Stalled")["message"]
        .as_str()
        .unwrap()
        .to_owned();
    for partition in &named {
        assert!(message.contains(&partition.to_string()), "{message}");
    }

    // The stalled partitions grow, the others are served: no scale-out for them.
    for _ in 0..10 {
        tokio::time::sleep(Duration::from_secs(1)).await;
        let during = s.status().await;
        let (pods, workers) = desired(&serde_json::json!({ "status": during }));
        assert_eq!(pods, 2, "{during}");
        assert!(
            pods * workers <= before.0 * before.1,
            "grew from {before:?}: {during}"
        );
    }

    // Without load the healthy partitions drain; the stalled ones hold still: the lag the
    // operator reports is the independent reader's, exactly.
    s.load(0.0);
    let independent = loop {
        let before: i64 = s.offsets().await.iter().map(|p| p.lag()).sum();
        tokio::time::sleep(Duration::from_secs(3)).await;
        let after = s.offsets().await;
        let total: i64 = after.iter().map(|p| p.lag()).sum();
        let only_stalled = after
            .iter()
            .all(|p| p.lag() == 0 || named.contains(&i64::from(p.partition)));
        if total == before && only_stalled {
            break total;
        }
    };
    assert!(independent > 0);
    s.wait(
        "the operator's lag to be the independent one",
        Duration::from_secs(20),
        |p| p["status"]["autoscaling"]["lag"].as_i64() == Some(independent),
    )
    .await;

    signal(stopped, Signal::SIGCONT);
    s.wait("Stalled=False", Duration::from_secs(60), |p| {
        condition(p, "Stalled")["status"] == "False"
    })
    .await;
    assert!(!s.events("PartitionsStalled").is_empty());
    assert!(!s.events("StallCleared").is_empty());
    s.finish().await;
}
