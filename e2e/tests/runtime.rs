//! The local pod runtime runs Deployments from the real API server as real processes: the number
//! of live processes follows `spec.replicas`, Deployment status tells the truth, ConfigMap env
//! arrives, a killed process comes back, a changed template rolls, and deletion stops everything.

use std::path::PathBuf;
use std::time::Duration;

use e2e::fixtures::{RuntimeScene, live_processes, testpod_deployment};
use e2e::poll::eventually;
use k8s_openapi::api::core::v1::ConfigMap;
use kube::Api;
use kube::api::{DeleteParams, Patch, PatchParams, PostParams};
use serde_json::json;

const TIMEOUT: Duration = Duration::from_secs(30);

fn testpod_binary() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_coffee-testpod"))
}

async fn scene(prefix: &str) -> anyhow::Result<RuntimeScene> {
    let binary = testpod_binary();
    RuntimeScene::start(prefix, binary.parent().unwrap_or(&binary)).await
}

async fn scale(scene: &RuntimeScene, name: &str, replicas: i32) -> anyhow::Result<()> {
    let patch = Patch::Merge(json!({ "spec": { "replicas": replicas } }));
    scene
        .deployments
        .patch(name, &PatchParams::default(), &patch)
        .await?;
    Ok(())
}

/// Waits until exactly `replicas` processes run and the Deployment's status says so.
async fn settled(scene: &RuntimeScene, name: &str, replicas: usize) -> anyhow::Result<()> {
    let generation = scene.deployments.get(name).await?.metadata.generation;
    let count = i32::try_from(replicas)?;
    eventually(
        &format!("{replicas} live processes and a matching status for {name}"),
        TIMEOUT,
        || async {
            let processes = live_processes(&testpod_binary(), &format!("{name}-"));
            let status = scene
                .deployments
                .get(name)
                .await
                .map_err(|e| e.to_string())?
                .status
                .unwrap_or_default();
            // The API server drops zero counts (omitempty), as for a real Deployment.
            let counts = [
                status.replicas,
                status.ready_replicas,
                status.available_replicas,
                status.updated_replicas,
            ];
            let matches = processes.len() == replicas
                && status.observed_generation == generation
                && counts.iter().all(|n| n.unwrap_or(0) == count);
            if matches {
                Ok(())
            } else {
                Err(format!("processes {processes:?}, status {status:?}"))
            }
        },
    )
    .await?;
    Ok(())
}

#[tokio::test]
async fn processes_and_status_follow_replicas_from_two_to_three_to_one_to_zero()
-> anyhow::Result<()> {
    let scene = scene("e2e-scale").await?;
    scene
        .apply(&testpod_deployment("web", 2, json!([])))
        .await?;
    settled(&scene, "web", 2).await?;
    for replicas in [3, 1, 0] {
        scale(&scene, "web", replicas).await?;
        settled(&scene, "web", usize::try_from(replicas)?).await?;
    }
    scene.finish().await
}

#[tokio::test]
async fn env_from_a_config_map_reaches_the_process() -> anyhow::Result<()> {
    let scene = scene("e2e-env").await?;
    let config_map: ConfigMap = serde_json::from_value(json!({
        "metadata": { "name": "settings" },
        "data": { "FLAVOUR": "hazelnut" },
    }))?;
    Api::<ConfigMap>::namespaced(scene.client.clone(), &scene.namespace)
        .create(&PostParams::default(), &config_map)
        .await?;
    let env = json!([
        { "name": "FLAVOUR", "valueFrom": { "configMapKeyRef": { "name": "settings", "key": "FLAVOUR" } } },
        { "name": "MY_POD", "valueFrom": { "fieldRef": { "fieldPath": "metadata.name" } } },
    ]);
    scene.apply(&testpod_deployment("envy", 1, env)).await?;
    settled(&scene, "envy", 1).await?;

    let pod = scene
        .runtime
        .pods()
        .into_iter()
        .find(|p| p.deployment == "envy")
        .expect("a pod");
    let port = pod.ports[0].local_port;
    let get = |var: &'static str| async move {
        reqwest::get(format!("http://127.0.0.1:{port}/env/{var}"))
            .await?
            .error_for_status()?
            .text()
            .await
    };
    assert_eq!(get("FLAVOUR").await?, "hazelnut");
    assert_eq!(get("MY_POD").await?, pod.name);
    assert_eq!(get("PORT").await?, port.to_string());
    scene.finish().await
}

#[tokio::test]
async fn a_killed_process_is_restarted_and_counted() -> anyhow::Result<()> {
    let scene = scene("e2e-restart").await?;
    scene
        .apply(&testpod_deployment("phoenix", 1, json!([])))
        .await?;
    settled(&scene, "phoenix", 1).await?;
    let before = live_processes(&testpod_binary(), "phoenix-").remove(0);

    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(i32::try_from(before.pid)?),
        nix::sys::signal::Signal::SIGKILL,
    )?;
    let after = eventually("a new process for the same pod", TIMEOUT, || async {
        match live_processes(&testpod_binary(), "phoenix-").as_slice() {
            [p] if p.pid != before.pid => Ok(p.clone()),
            other => Err(format!("{other:?}")),
        }
    })
    .await?;
    assert_eq!(after.hostname, before.hostname, "a restart keeps the pod");
    let restarts = eventually("the restart to be counted", TIMEOUT, || async {
        match scene.runtime.pods().as_slice() {
            [pod] if pod.restarts == 1 => Ok(pod.restarts),
            other => Err(format!("{other:?}")),
        }
    })
    .await?;
    assert_eq!(restarts, 1);
    settled(&scene, "phoenix", 1).await?;
    scene.finish().await
}

#[tokio::test]
async fn a_changed_pod_template_replaces_every_process() -> anyhow::Result<()> {
    let scene = scene("e2e-roll").await?;
    scene
        .apply(&testpod_deployment(
            "rolling",
            2,
            json!([{ "name": "VERSION", "value": "1" }]),
        ))
        .await?;
    settled(&scene, "rolling", 2).await?;
    let old: Vec<u32> = live_processes(&testpod_binary(), "rolling-")
        .iter()
        .map(|p| p.pid)
        .collect();

    scene
        .apply(&testpod_deployment(
            "rolling",
            2,
            json!([{ "name": "VERSION", "value": "2" }]),
        ))
        .await?;
    settled(&scene, "rolling", 2).await?;
    let new = live_processes(&testpod_binary(), "rolling-");
    assert!(
        new.iter().all(|p| !old.contains(&p.pid)),
        "old {old:?}, new {new:?}"
    );
    scene.finish().await
}

#[tokio::test]
async fn deleting_the_deployment_stops_its_processes() -> anyhow::Result<()> {
    let scene = scene("e2e-delete").await?;
    scene
        .apply(&testpod_deployment("doomed", 2, json!([])))
        .await?;
    settled(&scene, "doomed", 2).await?;
    scene
        .deployments
        .delete("doomed", &DeleteParams::default())
        .await?;
    eventually("no processes left", TIMEOUT, || async {
        match live_processes(&testpod_binary(), "doomed-").as_slice() {
            [] => Ok(()),
            left => Err(format!("{left:?}")),
        }
    })
    .await?;
    scene.finish().await
}
