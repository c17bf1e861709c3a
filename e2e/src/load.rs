//! Orders over HTTP at a rate that follows a profile, spread over the producer pods the local
//! runtime runs: the load of the closed-loop tests and the autoscaling benchmark. Every
//! acknowledged order (`202`) is recorded, with its id, when it was answered and how long the
//! answer took: an independent record of what was accepted.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime};

use tokio::sync::watch;
use tokio::task::JoinHandle;

use crate::runtime::{PodSnapshot, RuntimeHandle};

/// How often requests are sent: every tick sends the orders due since the last one.
const TICK: Duration = Duration::from_millis(10);
/// The coffees ordered, in turn.
pub const COFFEES: [&str; 4] = ["Espresso", "Americano", "Latte", "Cappuccino"];

/// Mean brew units of the orders this load sends (milliseconds at the consumer's defaults).
pub fn mean_brew_units() -> f64 {
    let units: u32 = COFFEES
        .iter()
        .filter_map(|name| coffee_events::menu::MENU.iter().find(|m| m.name == *name))
        .map(|m| m.brew_units)
        .sum();
    f64::from(units) / COFFEES.len() as f64
}

/// What the load has done so far.
#[derive(Debug, Default)]
pub struct LoadCounts {
    pub sent: AtomicU64,
    pub accepted: AtomicU64,
    pub refused: AtomicU64,
    pub failed: AtomicU64,
    /// The accepted orders, in the order their answers arrived.
    pub acknowledged: Mutex<Vec<Acknowledged>>,
}

/// One accepted order, as the client saw it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Acknowledged {
    pub id: String,
    /// When the `202` arrived.
    pub at: SystemTime,
    /// From sending the request to the `202`.
    pub latency: Duration,
}

impl LoadCounts {
    /// How many orders were accepted with an id so far.
    pub fn acknowledged_count(&self) -> usize {
        self.acknowledged
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .len()
    }

    /// The accepted orders from the `from`-th on (a reader's cursor).
    pub fn acknowledged_since(&self, from: usize) -> Vec<Acknowledged> {
        let all = self
            .acknowledged
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        all.get(from..)
            .map(<[Acknowledged]>::to_vec)
            .unwrap_or_default()
    }
}

/// A running load; stops when dropped or with [`Load::stop`].
#[derive(Debug)]
pub struct Load {
    pub counts: Arc<LoadCounts>,
    rate: watch::Sender<f64>,
    task: JoinHandle<()>,
}

impl Load {
    /// Starts sending `rate` orders per second to the ready pods of `deployment` in
    /// `namespace` run by `runtime` (port `container_port`).
    pub fn start(
        runtime: &RuntimeHandle,
        namespace: &str,
        deployment: &str,
        container_port: i32,
        rate: f64,
    ) -> Self {
        Self::spawn(
            Targets::Pods {
                pods: runtime.subscribe(),
                namespace: namespace.to_owned(),
                deployment: deployment.to_owned(),
                container_port,
            },
            rate,
        )
    }

    /// Starts sending `rate` orders per second to `urls` (each an order endpoint), in turn.
    pub fn start_at(urls: Vec<String>, rate: f64) -> Self {
        Self::spawn(Targets::Fixed(urls), rate)
    }

    fn spawn(targets: Targets, rate: f64) -> Self {
        let counts = Arc::new(LoadCounts::default());
        let (sender, receiver) = watch::channel(rate);
        let task = tokio::spawn(send(targets, receiver, Arc::clone(&counts)));
        Self {
            counts,
            rate: sender,
            task,
        }
    }

    /// Changes the rate, in orders per second.
    pub fn set_rate(&self, rate: f64) {
        self.rate.send_replace(rate);
    }

    /// Stops sending; requests already sent still count when they are answered.
    pub fn stop(self) -> Arc<LoadCounts> {
        self.task.abort();
        Arc::clone(&self.counts)
    }
}

impl Drop for Load {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// Where the orders go.
enum Targets {
    /// The ready pods of a Deployment the runtime runs, as they come and go.
    Pods {
        pods: watch::Receiver<Vec<PodSnapshot>>,
        namespace: String,
        deployment: String,
        container_port: i32,
    },
    Fixed(Vec<String>),
}

impl Targets {
    fn urls(&self) -> Vec<String> {
        match self {
            Targets::Fixed(urls) => urls.clone(),
            Targets::Pods {
                pods,
                namespace,
                deployment,
                container_port,
            } => pods
                .borrow()
                .iter()
                .filter(|p| p.ready && &p.namespace == namespace && &p.deployment == deployment)
                .filter_map(|p| p.base_url(*container_port))
                .map(|base| format!("{base}/order"))
                .collect(),
        }
    }
}

async fn send(targets: Targets, rate: watch::Receiver<f64>, counts: Arc<LoadCounts>) {
    let http = reqwest::Client::builder()
        .timeout(Duration::from_secs(10))
        .build()
        .unwrap_or_default();
    let mut tick = tokio::time::interval(TICK);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut owed = 0.0f64;
    let mut next = 0usize;
    loop {
        tick.tick().await;
        owed += *rate.borrow() * TICK.as_secs_f64();
        let urls = targets.urls();
        if urls.is_empty() {
            owed = owed.min(1.0);
            continue;
        }
        while owed >= 1.0 {
            owed -= 1.0;
            next = next.wrapping_add(1);
            let url = urls[next % urls.len()].clone();
            let body = format!(
                r#"{{"customer_name":"load {next}","coffee_type":"{}"}}"#,
                COFFEES[next % COFFEES.len()]
            );
            counts.sent.fetch_add(1, Ordering::Relaxed);
            tokio::spawn(order(http.clone(), url, body, Arc::clone(&counts)));
        }
    }
}

async fn order(http: reqwest::Client, url: String, body: String, counts: Arc<LoadCounts>) {
    let sent = Instant::now();
    let response = http
        .post(url)
        .header("content-type", "application/json")
        .body(body)
        .send()
        .await;
    match response {
        Ok(r) if r.status() == reqwest::StatusCode::ACCEPTED => {
            let (at, latency) = (SystemTime::now(), sent.elapsed());
            counts.accepted.fetch_add(1, Ordering::Relaxed);
            if let Ok(order) = r.json::<serde_json::Value>().await
                && let Some(id) = order["id"].as_str()
            {
                counts
                    .acknowledged
                    .lock()
                    .unwrap_or_else(std::sync::PoisonError::into_inner)
                    .push(Acknowledged {
                        id: id.to_owned(),
                        at,
                        latency,
                    });
            }
        }
        Ok(_) => {
            counts.refused.fetch_add(1, Ordering::Relaxed);
        }
        Err(_) => {
            counts.failed.fetch_add(1, Ordering::Relaxed);
        }
    }
}
