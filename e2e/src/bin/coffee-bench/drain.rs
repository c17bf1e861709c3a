//! `coffee-bench drain`: how fast `coffee-consumer` drains a pre-filled 12-partition order topic,
//! at brew scale 0 (pure overhead) and with a few milliseconds of brewing per order (I/O-bound
//! work), for several worker counts; with CPU time per message and peak RSS.

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use coffee_events::headers;
use coffee_events::order::{OrderDetails, OrderEvent};
use e2e::fixtures::unique_name;
use e2e::kafka::{admin, client_config, create_topic, partition_count};
use e2e::testbed::TestBed;
use rdkafka::message::{Header, OwnedHeaders};
use rdkafka::producer::{FutureProducer, FutureRecord, Producer};
use tokio::process::Command;

use crate::median;
use crate::process_stats::{cpu_seconds, peak_rss_mib};

/// What to measure.
pub struct Plan {
    pub orders: usize,
    pub partitions: i32,
    pub runs: usize,
    pub scales: Vec<f64>,
    pub workers: Vec<u32>,
    /// A run that has not drained after this long reports its rate so far.
    pub cap: Duration,
    /// An order topic to reuse and keep.
    pub topic: Option<String>,
}

#[derive(Debug, Clone, Copy)]
struct Sample {
    /// Orders per second between the first and the last processed order.
    rate: f64,
    /// From process start until every order was processed; `None` when capped.
    drained: Option<Duration>,
    cpu_us_per_order: f64,
    rss_mib: f64,
}

/// Average brew units of the menu mix the topic is filled with.
fn mean_brew_units() -> f64 {
    let menu = coffee_events::menu::MENU;
    let total: u32 = menu.iter().map(|item| item.brew_units).sum();
    f64::from(total) / f64::from(u32::try_from(menu.len()).unwrap_or(1))
}

async fn fill(bed: &TestBed, topic: &str, orders: usize) -> anyhow::Result<()> {
    let producer: FutureProducer = client_config(bed)
        .set("linger.ms", "50")
        .set("batch.size", "1000000")
        .set("compression.type", "lz4")
        .set("queue.buffering.max.messages", "1000000")
        .create()?;
    let menu = coffee_events::menu::MENU;
    // A valid trace context, as the producer writes one for every order.
    let traceparent = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";
    let mut deliveries = Vec::with_capacity(orders);
    for i in 0..orders {
        let id = uuid::Uuid::now_v7();
        let event = OrderEvent::OrderCreated {
            order_id: id,
            order: OrderDetails {
                customer_name: format!("customer {i}"),
                coffee_type: menu[i % menu.len()].name.to_owned(),
                created_at: jiff::Timestamp::now(),
            },
            idempotency_key: None,
        };
        let key = id.to_string();
        let body = event.encode();
        let record = FutureRecord::to(topic).key(&key).payload(&body).headers(
            OwnedHeaders::new()
                .insert(Header {
                    key: headers::EVENT_TYPE,
                    value: Some(headers::ORDER_CREATED),
                })
                .insert(Header {
                    key: headers::TRACEPARENT,
                    value: Some(traceparent),
                }),
        );
        match producer.send_result(record) {
            Ok(delivery) => deliveries.push(delivery),
            Err((error, _)) => bail!("filling {topic}: {error}"),
        }
    }
    for delivery in futures::future::join_all(deliveries).await {
        match delivery {
            Ok(Ok(_)) => {}
            Ok(Err((error, _))) => bail!("filling {topic}: {error}"),
            Err(_) => bail!("filling {topic}: a delivery was cancelled"),
        }
    }
    producer.flush(Duration::from_secs(30))?;
    Ok(())
}

/// Orders the consumer has finished so far, from its metrics.
async fn processed(http: &reqwest::Client, url: &str) -> f64 {
    let Ok(response) = http.get(url).send().await else {
        return 0.0;
    };
    let text = response.text().await.unwrap_or_default();
    text.lines()
        .filter(|l| l.starts_with("orders_processed_total{"))
        .filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
        .sum()
}

async fn run_once(
    bed: &TestBed,
    consumer: &Path,
    orders_topic: &str,
    plan: &Plan,
    workers: u32,
    scale: f64,
) -> anyhow::Result<Sample> {
    let admin = admin(bed).await?;
    let statuses = unique_name("bench-drain-status");
    create_topic(
        &admin,
        &statuses,
        plan.partitions,
        &[("cleanup.policy", "compact")],
    )
    .await?;
    let port = e2e::ports::free_local_port()?;
    let log = std::fs::File::create(PathBuf::from(&bed.log_dir).join("bench-drain-consumer.log"))?;
    let started = Instant::now();
    let mut child = Command::new(consumer)
        .args(["--bind-address", "127.0.0.1", "--port", &port.to_string()])
        .args([
            "--kafka-brokers",
            &bed.kafka_bootstrap_servers,
            "--kafka-topic",
            orders_topic,
        ])
        .args([
            "--status-topic",
            &statuses,
            "--group-id",
            &unique_name("bench-drain"),
        ])
        .args(["--dead-letter-topic", &format!("{statuses}-dead-letters")])
        .args([
            "--workers",
            &workers.to_string(),
            "--max-workers",
            &workers.max(1).to_string(),
        ])
        .args(["--brew-time-scale", &scale.to_string()])
        .env(
            "RUST_LOG",
            std::env::var("BENCH_CONSUMER_LOG").unwrap_or_else(|_| "warn".into()),
        )
        .stdin(Stdio::null())
        .stdout(log.try_clone()?)
        .stderr(log)
        .kill_on_drop(true)
        .spawn()
        .with_context(|| format!("starting {}", consumer.display()))?;
    let http = reqwest::Client::new();
    let url = format!("http://127.0.0.1:{port}/metrics");
    let target = plan.orders as f64;
    let mut first: Option<(Instant, f64)> = None;
    let (finished_at, done) = loop {
        if let Some(status) = child.try_wait()? {
            bail!("coffee-consumer exited with {status}; see bench-drain-consumer.log");
        }
        let done = processed(&http, &url).await;
        let now = Instant::now();
        if done > 0.0 && first.is_none() {
            first = Some((now, done));
        }
        if done >= target || first.is_some_and(|(at, _)| now - at >= plan.cap) {
            break (now, done);
        }
        if now - started > plan.cap + Duration::from_secs(60) {
            bail!("no order processed within a minute; see bench-drain-consumer.log");
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    let (first_at, first_done) = first.context("nothing processed")?;
    let window = (finished_at - first_at).as_secs_f64().max(0.02);
    let sample = Sample {
        rate: (done - first_done) / window,
        drained: (done >= target).then(|| finished_at - started),
        cpu_us_per_order: cpu_seconds(&child) * 1e6 / done,
        rss_mib: peak_rss_mib(&child),
    };
    let _ = child.kill().await;
    let _ = admin
        .delete_topics(
            &[&statuses, &format!("{statuses}-dead-letters")],
            &rdkafka::admin::AdminOptions::new(),
        )
        .await;
    Ok(sample)
}

pub async fn drain(plan: Plan) -> anyhow::Result<()> {
    let bed = TestBed::load()?;
    let consumer = std::env::current_exe()?
        .parent()
        .context("bin dir")?
        .join("coffee-consumer");
    let admin = admin(&bed).await?;
    let orders_topic = plan
        .topic
        .clone()
        .unwrap_or_else(|| unique_name("bench-drain-orders"));
    if partition_count(&bed, &orders_topic).await? == 0 {
        create_topic(&admin, &orders_topic, plan.partitions, &[]).await?;
        let filling = Instant::now();
        fill(&bed, &orders_topic, plan.orders).await?;
        eprintln!(
            "filled {orders_topic} with {} orders in {:.1}s",
            plan.orders,
            filling.elapsed().as_secs_f64()
        );
    }

    let mut samples: Vec<(f64, u32, Sample)> = Vec::new();
    for run in 1..=plan.runs {
        for &scale in &plan.scales {
            for &workers in &plan.workers {
                let sample =
                    run_once(&bed, &consumer, &orders_topic, &plan, workers, scale).await?;
                eprintln!("run {run}: scale {scale} workers {workers}: {sample:?}");
                samples.push((scale, workers, sample));
            }
        }
    }
    let unit_ms = 1.0;
    println!(
        "| brew scale | mean brew | workers | orders/s (median) | workers ÷ brew time | achieved | drain time | CPU µs/order | peak RSS MiB |"
    );
    println!("|---|---|---|---|---|---|---|---|---|");
    for &scale in &plan.scales {
        for &workers in &plan.workers {
            let of: Vec<Sample> = samples
                .iter()
                .filter(|(s, w, _)| *s == scale && *w == workers)
                .map(|(_, _, x)| *x)
                .collect();
            let rate = median(&mut of.iter().map(|s| s.rate).collect::<Vec<_>>());
            let cpu = median(&mut of.iter().map(|s| s.cpu_us_per_order).collect::<Vec<_>>());
            let rss = of.iter().map(|s| s.rss_mib).fold(0.0, f64::max);
            let brew_ms = mean_brew_units() * unit_ms * scale;
            let (ideal, achieved) = if brew_ms > 0.0 {
                let ideal = f64::from(workers) * 1000.0 / brew_ms;
                (
                    format!("{ideal:.0}"),
                    format!("{:.0} %", rate / ideal * 100.0),
                )
            } else {
                ("—".to_owned(), "—".to_owned())
            };
            let drained: Vec<f64> = of
                .iter()
                .filter_map(|s| s.drained.map(|d| d.as_secs_f64()))
                .collect();
            let drain = if drained.len() == of.len() {
                format!("{:.2} s", median(&mut drained.clone()))
            } else {
                format!("~{:.0} s (extrapolated)", plan.orders as f64 / rate)
            };
            println!(
                "| {scale} | {brew_ms:.2} ms | {workers} | {rate:.0} | {ideal} | {achieved} | {drain} | {cpu:.1} | {rss:.1} |"
            );
        }
    }
    if plan.topic.is_none() {
        let _ = admin
            .delete_topics(&[&orders_topic], &rdkafka::admin::AdminOptions::new())
            .await;
    }
    Ok(())
}
