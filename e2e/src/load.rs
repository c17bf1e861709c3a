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

/// How long a client waits for an answer: longer than the producer's delivery timeout (10 s
/// by default), so that a request the broker cannot take is answered `503`, not given up on.
const ANSWER_WITHIN: Duration = Duration::from_secs(15);
/// How long a client waits before it sends again a request that got no answer.
const RETRY_AFTER: Duration = Duration::from_millis(300);
/// How often a request without an answer is sent, at most.
const ATTEMPTS: usize = 5;
/// A cancel is sent again while the pod's view has not read its order yet.
const CANCEL_ATTEMPTS: usize = 20;
const CANCEL_RETRY_AFTER: Duration = Duration::from_millis(50);

/// How the load behaves beyond its rate.
#[derive(Debug, Clone, Copy, Default)]
pub struct LoadOptions {
    /// Send every order with an `Idempotency-Key` and, when no answer came (connection
    /// refused or reset, timeout), send it again to the next pod, as a careful client would.
    pub retry_unanswered: bool,
    /// Cancel every n-th accepted order right after its `202`.
    pub cancel_every: Option<u64>,
}

/// What the load has done so far.
#[derive(Debug, Default)]
pub struct LoadCounts {
    pub sent: AtomicU64,
    pub accepted: AtomicU64,
    pub refused: AtomicU64,
    /// Requests that never got an answer (or only `504 outcome_unknown`), after every attempt.
    pub failed: AtomicU64,
    /// Attempts sent again after no answer.
    pub retries: AtomicU64,
    /// Cancels refused with `409`: the order was already brewing or brewed.
    pub cancels_refused: AtomicU64,
    /// Requests whose client is done: answered or given up, and the cancel that follows an
    /// accepted order answered or given up too. Until it equals `sent`, an order may be
    /// cancelled on the status topic before its `202` reached `cancels`.
    pub finished: AtomicU64,
    /// The accepted orders, in the order their answers arrived.
    pub acknowledged: Mutex<Vec<Acknowledged>>,
    /// The customer names of requests refused with an answer and never sent without one: no
    /// order of theirs may exist.
    pub refused_names: Mutex<Vec<String>>,
    /// The ids of orders whose cancel was accepted.
    pub cancels: Mutex<Vec<String>>,
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
        locked(&self.acknowledged).len()
    }

    /// The refused requests' customer names and the cancelled orders' ids so far.
    pub fn refused_and_cancelled(&self) -> (Vec<String>, Vec<String>) {
        (
            locked(&self.refused_names).clone(),
            locked(&self.cancels).clone(),
        )
    }

    /// The accepted orders from the `from`-th on (a reader's cursor).
    pub fn acknowledged_since(&self, from: usize) -> Vec<Acknowledged> {
        locked(&self.acknowledged)
            .get(from..)
            .map(<[Acknowledged]>::to_vec)
            .unwrap_or_default()
    }
}

fn locked<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
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
        let options = LoadOptions::default();
        Self::start_with(
            runtime,
            namespace,
            deployment,
            container_port,
            rate,
            options,
        )
    }

    /// Like [`Load::start`], with `options`.
    pub fn start_with(
        runtime: &RuntimeHandle,
        namespace: &str,
        deployment: &str,
        container_port: i32,
        rate: f64,
        options: LoadOptions,
    ) -> Self {
        let targets = Targets::Pods {
            pods: runtime.subscribe(),
            namespace: namespace.to_owned(),
            deployment: deployment.to_owned(),
            container_port,
        };
        Self::spawn(targets, rate, options)
    }

    /// Starts sending `rate` orders per second to `urls` (each an order endpoint), in turn.
    pub fn start_at(urls: Vec<String>, rate: f64) -> Self {
        Self::spawn(Targets::Fixed(urls), rate, LoadOptions::default())
    }

    fn spawn(targets: Targets, rate: f64, options: LoadOptions) -> Self {
        let counts = Arc::new(LoadCounts::default());
        let (sender, receiver) = watch::channel(rate);
        let task = tokio::spawn(send(targets, receiver, options, Arc::clone(&counts)));
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

async fn send(
    targets: Targets,
    rate: watch::Receiver<f64>,
    options: LoadOptions,
    counts: Arc<LoadCounts>,
) {
    let http = reqwest::Client::builder()
        .timeout(ANSWER_WITHIN)
        .build()
        .unwrap_or_default();
    // Customer names are unique per request across loads: the ledger finds a request that
    // became two orders by its name.
    let run = crate::fixtures::unique_name("load");
    let mut tick = tokio::time::interval(TICK);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut owed = 0.0f64;
    let mut next = 0usize;
    loop {
        tick.tick().await;
        owed += *rate.borrow() * TICK.as_secs_f64();
        let urls: Arc<[String]> = targets.urls().into();
        if urls.is_empty() {
            owed = owed.min(1.0);
            continue;
        }
        while owed >= 1.0 {
            owed -= 1.0;
            next = next.wrapping_add(1);
            let request = Request {
                name: format!("{run}-{next}"),
                coffee: COFFEES[next % COFFEES.len()],
                cancel: options
                    .cancel_every
                    .is_some_and(|n| (next as u64).is_multiple_of(n.max(1))),
            };
            counts.sent.fetch_add(1, Ordering::Relaxed);
            let client = Client {
                http: http.clone(),
                urls: Arc::clone(&urls),
                first: next,
                retry: options.retry_unanswered,
                counts: Arc::clone(&counts),
            };
            tokio::spawn(client.order(request));
        }
    }
}

/// One order the load sends.
struct Request {
    /// The customer's name, unique per request; also its `Idempotency-Key` when retrying.
    name: String,
    coffee: &'static str,
    /// Whether to cancel the order once accepted.
    cancel: bool,
}

/// A client sending one request, to the `first` of `urls` and on to the next when retrying.
struct Client {
    http: reqwest::Client,
    urls: Arc<[String]>,
    first: usize,
    retry: bool,
    counts: Arc<LoadCounts>,
}

impl Client {
    async fn order(self, request: Request) {
        let counts = Arc::clone(&self.counts);
        self.send(request).await;
        counts.finished.fetch_add(1, Ordering::Relaxed);
    }

    async fn send(self, request: Request) {
        let sent = Instant::now();
        let body = format!(
            r#"{{"customer_name":"{}","coffee_type":"{}"}}"#,
            request.name, request.coffee
        );
        let attempts = if self.retry { ATTEMPTS } else { 1 };
        let mut unanswered = false;
        for attempt in 0..attempts {
            let url = &self.urls[(self.first + attempt) % self.urls.len()];
            let mut post = self
                .http
                .post(url)
                .header("content-type", "application/json")
                .body(body.clone());
            if self.retry {
                post = post.header("idempotency-key", &request.name);
            }
            match post.send().await {
                Ok(r) if r.status() == reqwest::StatusCode::ACCEPTED => {
                    let latency = sent.elapsed();
                    return self.accepted(r, latency, url, request.cancel).await;
                }
                // Another request with this key is still being published there.
                Ok(r) if self.retry && r.status() == reqwest::StatusCode::CONFLICT => {}
                // Sent to Kafka but never confirmed: it may exist, as if no answer came.
                Ok(r) if r.status() == reqwest::StatusCode::GATEWAY_TIMEOUT => unanswered = true,
                Ok(_) => {
                    self.counts.refused.fetch_add(1, Ordering::Relaxed);
                    if !unanswered {
                        locked(&self.counts.refused_names).push(request.name);
                    }
                    return;
                }
                Err(_) => unanswered = true,
            }
            if attempt + 1 < attempts {
                self.counts.retries.fetch_add(1, Ordering::Relaxed);
                tokio::time::sleep(RETRY_AFTER).await;
            }
        }
        self.counts.failed.fetch_add(1, Ordering::Relaxed);
    }

    async fn accepted(
        &self,
        response: reqwest::Response,
        latency: Duration,
        url: &str,
        cancel: bool,
    ) {
        let at = SystemTime::now();
        self.counts.accepted.fetch_add(1, Ordering::Relaxed);
        let Ok(order) = response.json::<serde_json::Value>().await else {
            return;
        };
        let Some(id) = order["id"].as_str() else {
            return;
        };
        locked(&self.counts.acknowledged).push(Acknowledged {
            id: id.to_owned(),
            at,
            latency,
        });
        if cancel {
            self.cancel(&format!("{url}/{id}/cancel"), id).await;
        }
    }

    /// Cancels an accepted order; a `404` means the pod's view has not read the order yet.
    async fn cancel(&self, url: &str, id: &str) {
        for _ in 0..CANCEL_ATTEMPTS {
            match self.http.post(url).send().await.map(|r| r.status()) {
                Ok(reqwest::StatusCode::ACCEPTED) => {
                    locked(&self.counts.cancels).push(id.to_owned());
                    return;
                }
                Ok(reqwest::StatusCode::CONFLICT) => {
                    self.counts.cancels_refused.fetch_add(1, Ordering::Relaxed);
                    return;
                }
                _ => tokio::time::sleep(CANCEL_RETRY_AFTER).await,
            }
        }
    }
}
