//! The test bed's Prometheus scrapes what the local runtime runs: a metric exported by a runtime
//! process is found through Prometheus' query API.

use std::path::PathBuf;
use std::time::Duration;

use e2e::fixtures::{RuntimeScene, testpod_deployment};
use e2e::poll::eventually;
use e2e::prometheus::query;
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

    let wanted = format!(
        "testpod_requests_total{{namespace=\"{}\",deployment=\"scraped\"}}",
        scene.namespace
    );
    let value = eventually(
        "Prometheus to have scraped the test pod",
        Duration::from_secs(60),
        || async {
            let result = query(&http, &scene.bed.prometheus_url, &wanted).await?;
            let first = result.first().cloned().unwrap_or(Value::Null);
            let pod = first["metric"]["pod"].as_str().unwrap_or_default();
            let value = first["value"][1]
                .as_str()
                .and_then(|v| v.parse::<f64>().ok());
            match value {
                Some(value) if pod.starts_with("scraped-") => Ok(value),
                _ => Err(first.to_string()),
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
