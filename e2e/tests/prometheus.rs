//! The test bed's Prometheus scrapes what the local runtime runs: a metric exported by a runtime
//! process is found through Prometheus' query API.

use std::path::PathBuf;
use std::time::Duration;

use e2e::fixtures::{
    RUNTIME_TEST_LABEL, create_namespace, delete_namespace, testpod_deployment, unique_name,
};
use e2e::poll::eventually;
use e2e::runtime::{self, RuntimeConfig};
use e2e::testbed::TestBed;
use k8s_openapi::api::apps::v1::Deployment;
use kube::Api;
use kube::api::{Patch, PatchParams};
use serde_json::{Value, json};

#[tokio::test]
async fn a_runtime_process_metric_is_found_through_the_query_api() -> anyhow::Result<()> {
    let bed = TestBed::load()?;
    let http = reqwest::Client::new();
    let ready = format!("{}/-/ready", bed.prometheus_url);
    http.get(&ready)
        .send()
        .await
        .and_then(reqwest::Response::error_for_status)
        .map_err(|error| bed.unreachable("prometheus", ready.clone(), error.to_string()))?;
    let client = bed.kube_client().await?;
    let namespace = unique_name("e2e-prom");
    create_namespace(&client, &namespace).await?;
    let bin_dir = PathBuf::from(env!("CARGO_BIN_EXE_coffee-testpod"))
        .parent()
        .map(PathBuf::from)
        .unwrap_or_default();
    let mut config = RuntimeConfig::new(
        bin_dir,
        format!("{RUNTIME_TEST_LABEL}=true"),
        PathBuf::from(&bed.log_dir).join("pods"),
    );
    config.namespace = Some(namespace.clone());
    config.targets_dir = Some(bed.prometheus_targets_dir.clone());
    let runtime = runtime::spawn(client.clone(), config);
    let deployments: Api<Deployment> = Api::namespaced(client.clone(), &namespace);
    deployments
        .patch(
            "scraped",
            &PatchParams::apply("coffee-e2e"),
            &Patch::Apply(testpod_deployment("scraped", 1, json!([]))),
        )
        .await?;

    let query =
        format!("testpod_requests_total{{namespace=\"{namespace}\",deployment=\"scraped\"}}");
    let url = format!("{}/api/v1/query", bed.prometheus_url);
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
    runtime.shutdown().await;
    delete_namespace(&client, &namespace).await?;
    Ok(())
}
