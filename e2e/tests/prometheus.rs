//! The test bed's Prometheus scrapes what the local runtime runs: a metric exported by a runtime
//! process is found through Prometheus' query API.

use std::path::PathBuf;
use std::time::Duration;

use e2e::fixtures::{RuntimeScene, testpod_deployment};
use e2e::poll::eventually;
use serde_json::{Value, json};

#[tokio::test]
async fn a_runtime_process_metric_is_found_through_the_query_api() -> anyhow::Result<()> {
    let binary = PathBuf::from(env!("CARGO_BIN_EXE_coffee-testpod"));
    let scene = RuntimeScene::start("e2e-prom", binary.parent().unwrap_or(&binary)).await?;
    let http = reqwest::Client::new();
    let ready = format!("{}/-/ready", scene.bed.prometheus_url);
    http.get(&ready)
        .send()
        .await
        .and_then(reqwest::Response::error_for_status)
        .map_err(|error| {
            scene
                .bed
                .unreachable("prometheus", ready.clone(), error.to_string())
        })?;
    scene
        .apply(&testpod_deployment("scraped", 1, json!([])))
        .await?;

    let query = format!(
        "testpod_requests_total{{namespace=\"{}\",deployment=\"scraped\"}}",
        scene.namespace
    );
    let url = format!("{}/api/v1/query", scene.bed.prometheus_url);
    let value = eventually(
        "Prometheus to have scraped the test pod",
        Duration::from_secs(60),
        || async {
            let body: Value = http
                .get(&url)
                .query(&[("query", &query)])
                .send()
                .await
                .map_err(|e| e.to_string())?
                .json()
                .await
                .map_err(|e| e.to_string())?;
            let first = &body["data"]["result"][0];
            let pod = first["metric"]["pod"].as_str().unwrap_or_default();
            let value = first["value"][1]
                .as_str()
                .and_then(|v| v.parse::<f64>().ok());
            match value {
                Some(value) if pod.starts_with("scraped-") => Ok(value),
                _ => Err(body.to_string()),
            }
        },
    )
    .await?;
    assert!(
        value >= 1.0,
        "a scrape is itself a request, so the counter is at least 1: {value}"
    );
    scene.finish().await
}
