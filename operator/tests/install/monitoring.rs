//! Every query of the Grafana dashboard and every alert expression, run against the test bed's
//! Prometheus while a real pipeline works under the Helm-installed operator: no query fails, no
//! panel is empty, and every series an alert reads exists.

use std::collections::BTreeSet;
use std::time::Duration;

use e2e::chart::chart_dir;
use e2e::load::Load;
use e2e::operator::{apply_pipeline, wait_for_condition};
use e2e::poll::eventually;
use e2e::prometheus::query;
use rdkafka::producer::{FutureProducer, FutureRecord};
use serde_json::Value;

use e2e::install::Installed;

use super::release::{install, leader};

const PIPELINE: &str = "latte";

/// Every PromQL expression of the dashboard (panels and annotations), with its variables set to
/// one namespace and pipeline.
fn dashboard_queries(namespace: &str) -> Vec<(String, String)> {
    let text =
        std::fs::read_to_string(chart_dir().join("files/dashboard.json")).expect("the dashboard");
    let dashboard: Value = serde_json::from_str(&text).expect("the dashboard is JSON");
    let mut queries = Vec::new();
    for panel in dashboard["panels"].as_array().expect("panels") {
        for target in panel["targets"].as_array().into_iter().flatten() {
            let title = format!("{} / {}", panel["title"], target["legendFormat"]);
            queries.push((
                title,
                target["expr"].as_str().expect("a target's expr").to_owned(),
            ));
        }
    }
    for annotation in dashboard["annotations"]["list"]
        .as_array()
        .expect("annotations")
    {
        let title = format!("annotation {}", annotation["name"]);
        queries.push((
            title,
            annotation["expr"]
                .as_str()
                .expect("an annotation's expr")
                .to_owned(),
        ));
    }
    queries
        .into_iter()
        .map(|(title, expr)| {
            let expr = expr
                .replace("$namespace", namespace)
                .replace("$pipeline", PIPELINE)
                .replace("$__rate_interval", "1m");
            (title, expr)
        })
        .collect()
}

/// Every alert's expression from the rule file.
fn alert_expressions() -> Vec<(String, String)> {
    let text =
        std::fs::read_to_string(chart_dir().join("files/alerts.rules.yaml")).expect("the rules");
    let rules: serde_yaml::Value = serde_yaml::from_str(&text).expect("the rules are YAML");
    rules["groups"]
        .as_sequence()
        .expect("groups")
        .iter()
        .flat_map(|group| group["rules"].as_sequence().expect("rules"))
        .map(|rule| {
            (
                rule["alert"].as_str().expect("alert").to_owned(),
                rule["expr"].as_str().expect("expr").to_owned(),
            )
        })
        .collect()
}

/// The metric names an expression reads: identifiers with one of the product's prefixes.
fn metric_names(expr: &str) -> BTreeSet<String> {
    const PREFIXES: [&str; 8] = [
        "coffee_",
        "http_",
        "kafka_",
        "orders_",
        "order_",
        "consumer_",
        "dead_letters",
        "rebalances",
    ];
    expr.split(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
        .filter(|word| PREFIXES.iter().any(|p| word.starts_with(p)))
        .map(str::to_owned)
        .collect()
}

/// What the dashboard has panels for, and would be empty without: orders at a rate one worker
/// keeps up with, a refused order, and an event no consumer can decode.
async fn make_every_panel_move(installed: &Installed, topic: &str) -> Load {
    let load = Load::start(
        &installed.pipelines.runtime,
        &installed.pipelines.namespace,
        &format!("{PIPELINE}-producer"),
        8080,
        10.0,
    );
    let producer = installed
        .pipelines
        .runtime
        .pods()
        .into_iter()
        .find(|p| p.deployment == format!("{PIPELINE}-producer") && p.ready)
        .expect("a ready producer pod");
    let port = producer.ports[0].local_port;
    let refused = reqwest::Client::new()
        .post(format!("http://127.0.0.1:{port}/order"))
        .json(&serde_json::json!({ "customer_name": "", "coffee_type": "latte" }))
        .send()
        .await
        .expect("the producer answers");
    assert_eq!(refused.status(), 422, "an empty customer_name is refused");
    let kafka: FutureProducer = e2e::kafka::client_config(&installed.bed)
        .create()
        .expect("a Kafka producer");
    kafka
        .send(
            FutureRecord::<str, str>::to(topic)
                .key("poison")
                .payload("not an order"),
            Duration::from_secs(10),
        )
        .await
        .map_err(|(e, _)| e)
        .expect("the poison event is written");
    load
}

#[tokio::test]
async fn every_dashboard_query_and_alert_expression_finds_series_of_a_working_pipeline() {
    let installed = install("chart-mon", &[]).await;
    leader(&installed, 2, &BTreeSet::new()).await;
    let topic = e2e::fixtures::unique_name("monitored");
    // At most 2 workers of about 18 orders/s: a load of 60/s keeps them busy (the autoscaler
    // learns their rate, and decides to scale up once, after Prometheus saw its series).
    let spec = format!(
        "  kafka: {{bootstrapServers: \"{}\", topic: {topic}, partitions: 3}}\n  producer: {{replicas: 1}}\n  consumer:\n    replicas: {{min: 1, max: 1}}\n    workers: {{min: 1, max: 2}}\n  autoscaling:\n    mode: Enabled\n    pollIntervalSeconds: 2\n    targetDrainSeconds: 10\n  topicDeletionPolicy: Delete\n",
        installed.bed.kafka_bootstrap_servers
    );
    let namespace = installed.pipelines.namespace.clone();
    apply_pipeline(&installed.bed, &namespace, PIPELINE, &spec).expect("applying the pipeline");
    let logs = installed.operator_logs();
    wait_for_condition(&installed.pipelines, PIPELINE, "Ready", "True", None, &logs).await;
    let load = make_every_panel_move(&installed, &topic).await;
    let http = reqwest::Client::new();
    let url = installed.bed.prometheus_url.clone();
    let sizes = format!(
        "coffee_autoscaler_consumer_workers{{namespace=\"{namespace}\", pipeline=\"{PIPELINE}\"}}"
    );
    eventually(
        "Prometheus to have scraped the autoscaler's series of the pipeline",
        Duration::from_secs(60),
        || async {
            match query(&http, &url, &sizes).await {
                Ok(series) if !series.is_empty() => Ok(()),
                other => Err(format!("{other:?}")),
            }
        },
    )
    .await
    .unwrap_or_else(|e| panic!("{e}\n{}", installed.operator_logs()));
    load.set_rate(60.0);

    let panels = dashboard_queries(&namespace);
    let checked = eventually(
        "every dashboard query to return series",
        Duration::from_secs(180),
        || async {
            let mut empty = Vec::new();
            for (title, expr) in &panels {
                match query(&http, &url, expr).await {
                    Ok(result) if result.is_empty() => empty.push(title.clone()),
                    Ok(_) => {}
                    Err(error) => panic!("{title}: `{expr}` fails: {error}"),
                }
            }
            if empty.is_empty() {
                Ok(panels.len())
            } else {
                Err(format!("empty: {empty:?}"))
            }
        },
    )
    .await
    .unwrap_or_else(|e| panic!("{e}\n{}", installed.operator_logs()));
    assert!(checked >= 30, "{checked} queries");

    for (alert, expr) in alert_expressions() {
        if let Err(error) = query(&http, &url, &expr).await {
            panic!("{alert}: `{expr}` fails: {error}");
        }
        for metric in metric_names(&expr) {
            let selector = format!("{{__name__=\"{metric}\"}}");
            let series = query(&http, &url, &selector).await.unwrap();
            assert!(
                !series.is_empty(),
                "{alert} reads {metric}, which no target exports"
            );
        }
    }
    load.stop();
    installed.finish().await.expect("cleaning up");
}
