//! The whole pipeline as a platform team runs it, under steady load: the chart `helm install`ed
//! (two operator replicas electing a leader, run by the local runtime under their
//! ServiceAccount), one autoscaled pipeline whose producer and consumer pods a second runtime
//! runs, orders over HTTP from the load generator, and the ledger reading the status topic.
//! A fault acts on the stage; [`Stage::finish`] stops the load, lets the pipeline settle and
//! checks every order.

use std::path::Path;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use e2e::fixtures::unique_name;
use e2e::install::{Installed, Placement};
use e2e::kafka_instance::KafkaInstance;
use e2e::ledger::{self, Ledger};
use e2e::load::{Load, LoadOptions};
use e2e::operator::{apply_pipeline, kubectl, pipeline, succeed, wait_for_condition};
use e2e::pipeline::Wiring;
use e2e::poll::eventually;
use e2e::runtime::PodSnapshot;
use e2e::testbed::TestBed;
use serde_json::Value;
use tokio::task::JoinHandle;

use crate::figures::{Figures, Requests};
use crate::recovery::{self, Sample};
use crate::settle::{Seen, settle};
use crate::tenant::Tenant;

/// The pipeline's name; its Deployments are `chaos-producer` and `chaos-consumer`.
pub const PIPELINE: &str = "chaos";
pub const PRODUCER: &str = "chaos-producer";
pub const CONSUMER: &str = "chaos-consumer";
/// The Secret holding the intake's listing token, when the shape asks for one.
pub const LIST_TOKEN_SECRET: &str = "chaos-listing";
/// The listing token the stage starts with.
pub const LIST_TOKEN: &str = "the-first-listing-token";
/// How often the backlog is sampled.
const SAMPLE_EVERY: Duration = Duration::from_millis(250);
/// How long requests still in flight may take once the load stops (five attempts of up to
/// 15 s each, at worst).
const IN_FLIGHT_WITHIN: Duration = Duration::from_secs(90);

/// The stage a fault needs.
#[derive(Debug, Clone, Copy)]
pub struct Shape {
    /// Orders per second.
    pub rate: f64,
    pub partitions: i32,
    pub producers: i32,
    pub pods: (i32, i32),
    pub workers: (i32, i32),
    /// A broker of the pipeline's own, which the fault may stop, instead of the test bed's.
    pub own_broker: bool,
    /// The intake lists orders with a bearer token from the Secret [`LIST_TOKEN_SECRET`].
    pub list_token: bool,
    /// The pipeline reaches the test bed's Kafka over SASL_SSL as a tenant ([`Tenant`]).
    pub scram: bool,
    pub load: LoadOptions,
}

impl Default for Shape {
    fn default() -> Self {
        Self {
            rate: 150.0,
            partitions: 6,
            producers: 2,
            pods: (2, 4),
            workers: (2, 8),
            own_broker: false,
            list_token: false,
            scram: false,
            load: LoadOptions {
                cancel_every: Some(25),
                ..LoadOptions::default()
            },
        }
    }
}

/// When a fault began and ended, and what it has to say, in the stage's time.
#[derive(Debug, Clone, Default)]
pub struct Injected {
    pub at: Duration,
    pub cleared: Duration,
    pub notes: Vec<String>,
}

/// The running pipeline under load.
#[derive(Debug)]
pub struct Stage {
    pub installed: Installed,
    /// The test bed, its Kafka the one the pipeline uses.
    pub bed: TestBed,
    pub broker: Option<KafkaInstance>,
    pub tenant: Option<Tenant>,
    pub wiring: Wiring,
    pub load: Load,
    pub shape: Shape,
    ledger: Arc<Mutex<Ledger>>,
    samples: Arc<Mutex<Vec<Sample>>>,
    tasks: Vec<JoinHandle<()>>,
    started: Instant,
}

impl Stage {
    /// Installs the chart, applies the pipeline, waits until it is Ready and starts the load.
    pub async fn start(bin_dir: &Path, shape: Shape) -> anyhow::Result<Self> {
        let bed = TestBed::load()?;
        let broker = match shape.own_broker {
            true => Some(KafkaInstance::start(&bed, &unique_name("chaos-broker")).await?),
            false => None,
        };
        let bed = match &broker {
            Some(broker) => bed.with_kafka(&broker.bootstrap_servers()),
            None => bed,
        };
        let installed = Installed::helm(&Placement::unique("chaos"), bin_dir, &[]).await?;
        installed
            .wait_for_leader(2, &Default::default(), Duration::from_secs(90))
            .await?;
        let namespace = installed.pipelines.namespace.clone();
        if shape.list_token {
            apply_list_token(&bed, &namespace, LIST_TOKEN)?;
        }
        let topic = unique_name("chaos");
        let tenant = match shape.scram {
            true => Some(Tenant::create(&bed, &namespace, &topic).await?),
            false => None,
        };
        let connection = match &tenant {
            Some(tenant) => tenant.connection(),
            None => format!("bootstrapServers: \"{}\"", bed.kafka_bootstrap_servers),
        };
        apply_pipeline(
            &bed,
            &namespace,
            PIPELINE,
            &spec(&connection, &topic, &shape),
        )?;
        let logs = installed.operator_logs();
        wait_for_condition(&installed.pipelines, PIPELINE, "Ready", "True", None, &logs).await;
        let wiring = Wiring::of_consumer(&installed.pipelines.deployments, CONSUMER).await?;
        let ledger = Arc::new(Mutex::new(Ledger::default()));
        let follower = ledger::follow(&bed, &wiring.status_topic, Arc::clone(&ledger)).await?;
        let runtime = &installed.pipelines.runtime;
        let load = Load::start_with(runtime, &namespace, PRODUCER, 8080, shape.rate, shape.load);
        let mut stage = Self {
            installed,
            bed,
            broker,
            tenant,
            wiring,
            load,
            shape,
            ledger,
            samples: Arc::default(),
            tasks: vec![follower],
            started: Instant::now(),
        };
        stage.tasks.push(stage.sample_backlog());
        Ok(stage)
    }

    fn sample_backlog(&self) -> JoinHandle<()> {
        let (counts, ledger) = (Arc::clone(&self.load.counts), Arc::clone(&self.ledger));
        let (samples, started) = (Arc::clone(&self.samples), self.started);
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(SAMPLE_EVERY);
            loop {
                tick.tick().await;
                let finished = ledger
                    .lock()
                    .unwrap_or_else(PoisonError::into_inner)
                    .finished();
                let acknowledged = counts.acknowledged_count();
                let backlog = acknowledged.saturating_sub(finished) as u64;
                let at = started.elapsed();
                let mut samples = samples.lock().unwrap_or_else(PoisonError::into_inner);
                samples.push(Sample { at, backlog });
            }
        })
    }

    /// Time since the load started.
    pub fn elapsed(&self) -> Duration {
        self.started.elapsed()
    }

    /// Requests refused with an answer (`4xx`/`503`) so far.
    pub fn refused(&self) -> u64 {
        self.load
            .counts
            .refused
            .load(std::sync::atomic::Ordering::Relaxed)
    }

    /// Orders acknowledged so far.
    pub fn acknowledged(&self) -> usize {
        self.load.counts.acknowledged_count()
    }

    /// The running processes of the pipeline's `deployment`, ready or not.
    pub fn running(&self, deployment: &str) -> Vec<PodSnapshot> {
        let pods = self.installed.pipelines.runtime.pods();
        pods.into_iter()
            .filter(|p| p.deployment == deployment && p.pid.is_some())
            .collect()
    }

    /// The pipeline object as the API server has it.
    pub async fn pipeline(&self) -> anyhow::Result<Value> {
        pipeline(&self.installed.pipelines, PIPELINE).await
    }

    /// Sets the intake's listing token in its Secret (creating or rotating it).
    pub fn apply_list_token(&self, token: &str) -> anyhow::Result<()> {
        apply_list_token(&self.bed, &self.installed.pipelines.namespace, token)
    }

    /// `kubectl patch`es the pipeline's spec with a JSON merge patch of `spec`.
    pub fn patch_spec(&self, spec: &str) -> anyhow::Result<()> {
        let patch = format!(r#"{{"spec":{spec}}}"#);
        let namespace = &self.installed.pipelines.namespace;
        let args = [
            "patch",
            "cop",
            PIPELINE,
            "-n",
            namespace,
            "--type=merge",
            "-p",
            &patch,
        ];
        succeed(kubectl(&self.bed, &args, None)?, "patching the pipeline").map(|_| ())
    }

    /// Waits until exactly `pods` processes of the pipeline's `deployment` run, all ready (a
    /// scale-in is over when the extra processes have exited, a scale-out when the new ones
    /// are ready).
    pub async fn wait_for_pods(
        &self,
        deployment: &str,
        pods: usize,
        timeout: Duration,
    ) -> anyhow::Result<()> {
        let what = format!("{pods} running, ready pods of {deployment}");
        eventually(&what, timeout, || async {
            let running = self.running(deployment);
            let ready = running.iter().filter(|p| p.ready).count();
            if running.len() == pods && ready == pods {
                Ok(())
            } else {
                Err(format!("{} running, {ready} ready", running.len()))
            }
        })
        .await
        .map_err(|e| anyhow::anyhow!("{e}\n{}", self.installed.operator_logs()))
    }

    /// Lets the load run for `duration`: the steady state before a fault.
    pub async fn run_for(&self, duration: Duration) {
        tokio::time::sleep(duration).await;
    }

    /// Keeps the load running until the pipeline recovered from `fault` and at least `after`
    /// has passed since it cleared (at most `within`); then stops the load, waits until every
    /// acknowledged order has its final status, checks them and removes the stage.
    pub async fn finish(
        self,
        name: &str,
        fault: Injected,
        after: Duration,
        within: Duration,
    ) -> anyhow::Result<Figures> {
        let recovery = self.await_recovery(&fault, after, within).await;
        self.load.set_rate(0.0);
        let counts = Arc::clone(&self.load.counts);
        // Cancels included: checked before a cancel's `202` arrived, an order cancelled on the
        // status topic looked cancelled by nobody (CI: one such order failed a run).
        let answered = || {
            use std::sync::atomic::Ordering::Relaxed;
            counts.finished.load(Relaxed) >= counts.sent.load(Relaxed)
        };
        let waited = Instant::now();
        while !answered() && waited.elapsed() < IN_FLIGHT_WITHIN {
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        let settling = Instant::now();
        let (refused, cancelled) = counts.refused_and_cancelled();
        let seen = Seen {
            acknowledged: counts.acknowledged_since(0),
            refused,
            cancelled,
        };
        let (check, note) = settle(&self.ledger, &self.bed, &self.wiring.status_topic, &seen).await;
        let settle = settling.elapsed();
        let mut notes = fault.notes;
        notes.extend(note);
        let requests = {
            use std::sync::atomic::Ordering::Relaxed;
            Requests {
                sent: counts.sent.load(Relaxed),
                refused: counts.refused.load(Relaxed),
                unanswered: counts.failed.load(Relaxed),
                retried: counts.retries.load(Relaxed),
            }
        };
        let figures = Figures::new(name, requests, &check, recovery, settle, notes);
        self.tear_down().await?;
        Ok(figures)
    }

    async fn await_recovery(
        &self,
        fault: &Injected,
        after: Duration,
        within: Duration,
    ) -> Option<Duration> {
        let deadline = self.started + fault.cleared + within.max(after);
        loop {
            let found = {
                let samples = self.samples.lock().unwrap_or_else(PoisonError::into_inner);
                recovery::recovery(&samples, fault.at, fault.cleared)
            };
            let long_enough = self.elapsed() >= fault.cleared + after;
            if (found.is_some() && long_enough) || Instant::now() >= deadline {
                return found;
            }
            tokio::time::sleep(SAMPLE_EVERY).await;
        }
    }

    async fn tear_down(mut self) -> anyhow::Result<()> {
        for task in self.tasks.drain(..) {
            task.abort();
        }
        let finished = self.installed.finish().await;
        if let Some(mut broker) = self.broker.take() {
            broker.pause().await;
        }
        finished
    }
}

/// The pipeline's spec: autoscaling on with short windows, a fresh topic, topics deleted
/// with the pipeline, a short session timeout so a killed consumer's partitions move on soon.
fn spec(connection: &str, topic: &str, shape: &Shape) -> String {
    format!(
        "  kafka: {{{connection}, topic: {topic}, partitions: {}}}\n\
         \x20 producer: {{replicas: {}{}}}\n\
         \x20 consumer:\n    replicas: {{min: {}, max: {}}}\n    workers: {{min: {}, max: {}}}\n    sessionTimeoutSeconds: 6\n\
         \x20 autoscaling:\n    mode: Enabled\n    pollIntervalSeconds: 2\n    targetDrainSeconds: 10\n    scaleDownStabilizationSeconds: 10\n    minRebalanceIntervalSeconds: 5\n\
         \x20 topicDeletionPolicy: Delete\n",
        shape.partitions,
        shape.producers,
        if shape.list_token {
            format!(", ordersListTokenSecret: {{name: {LIST_TOKEN_SECRET}, key: token}}")
        } else {
            String::new()
        },
        shape.pods.0,
        shape.pods.1,
        shape.workers.0,
        shape.workers.1,
    )
}

fn apply_list_token(bed: &TestBed, namespace: &str, token: &str) -> anyhow::Result<()> {
    let secret = format!(
        "apiVersion: v1\nkind: Secret\nmetadata: {{name: {LIST_TOKEN_SECRET}, namespace: {namespace}}}\nstringData: {{token: {token}}}\n"
    );
    succeed(
        kubectl(bed, &["apply", "-f", "-"], Some(&secret))?,
        "applying the listing token's Secret",
    )
    .map(|_| ())
}

/// SIGKILLs a pod's process: no shutdown, no commit, no flush.
pub fn kill(pod: &PodSnapshot) -> anyhow::Result<()> {
    let Some(pid) = pod.pid else {
        bail!("pod {} runs no process", pod.name);
    };
    let pid = nix::unistd::Pid::from_raw(i32::try_from(pid).context("a pid")?);
    nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGKILL)
        .with_context(|| format!("SIGKILL to pod {} ({pid})", pod.name))
}
