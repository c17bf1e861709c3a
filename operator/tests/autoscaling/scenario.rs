//! One autoscaled pipeline on the test bed: the operator under its ServiceAccount, the local
//! runtime running the producer and consumer processes it asks for, orders over HTTP, and
//! ways to look at what happened from outside the operator.

use std::time::Duration;

use e2e::fixtures::{RuntimeScene, unique_name};
use e2e::kafka::{GroupPartition, group_offsets};
use e2e::load::Load;
use e2e::poll::eventually;
use e2e::runtime::PodSnapshot;
use e2e::testbed::TestBed;
use k8s_openapi::api::apps::v1::Deployment;
use kube::Api;
use serde_json::Value;
use tokio::sync::{Mutex, MutexGuard};

use crate::support::{scene, start_operator};
use e2e::operator::{OperatorProcess, apply_pipeline, install, kubectl, pipeline};

/// The closed-loop tests measure rates on two shared cores: one at a time.
static ONE_AT_A_TIME: Mutex<()> = Mutex::const_new(());

pub const NAME: &str = "shop";

/// What differs between the scenarios' pipelines.
pub struct Shape {
    pub mode: &'static str,
    pub partitions: i32,
    pub pods: (i32, i32),
    pub workers: (i32, i32),
    pub session_timeout_seconds: u32,
}

pub struct Scenario {
    _turn: MutexGuard<'static, ()>,
    pub bed: TestBed,
    pub scene: RuntimeScene,
    pub operator: OperatorProcess,
    pub topic: String,
    load: Option<Load>,
}

impl Scenario {
    /// Installs, starts an operator and a runtime, applies the pipeline and waits until Ready.
    pub async fn start(prefix: &str, shape: &Shape) -> Scenario {
        let turn = ONE_AT_A_TIME.lock().await;
        let bed = TestBed::load().expect("the test bed (start it with `e2e/testbed up`)");
        install(&bed).expect("installing the CRD and RBAC");
        let scene = scene(prefix).await.expect("a namespace with a pod runtime");
        let operator = start_operator(&bed, &scene)
            .await
            .expect("the operator to start");
        let topic = unique_name("scaled");
        let spec = format!(
            "  kafka: {{bootstrapServers: \"{}\", topic: {topic}, partitions: {}}}\n  producer: {{replicas: 1}}\n  consumer:\n    replicas: {{min: {}, max: {}}}\n    workers: {{min: {}, max: {}}}\n    sessionTimeoutSeconds: {}\n  autoscaling:\n    mode: {}\n    pollIntervalSeconds: 2\n    targetDrainSeconds: 10\n    scaleDownStabilizationSeconds: 20\n    minRebalanceIntervalSeconds: 5\n    stallPolls: 3\n  topicDeletionPolicy: Delete\n",
            bed.kafka_bootstrap_servers,
            shape.partitions,
            shape.pods.0,
            shape.pods.1,
            shape.workers.0,
            shape.workers.1,
            shape.session_timeout_seconds,
            shape.mode,
        );
        apply_pipeline(&bed, &scene.namespace, NAME, &spec).expect("applying the pipeline");
        let scenario = Scenario {
            _turn: turn,
            bed,
            scene,
            operator,
            topic,
            load: None,
        };
        e2e::operator::wait_ready(&scenario.scene, &scenario.operator, NAME).await;
        scenario
    }

    pub fn group(&self) -> String {
        format!("{}-processor", self.topic)
    }

    /// Sends `rate` orders per second through the producer pods from now on.
    pub fn load(&mut self, rate: f64) {
        match &self.load {
            Some(load) => load.set_rate(rate),
            None => {
                let load = Load::start(
                    &self.scene.runtime,
                    &self.scene.namespace,
                    &format!("{NAME}-producer"),
                    8080,
                    rate,
                );
                self.load = Some(load);
            }
        }
    }

    /// Waits until the pipeline object satisfies `check`; the failure shows the status and
    /// the operator's log.
    pub async fn wait(
        &self,
        what: &str,
        timeout: Duration,
        check: impl Fn(&Value) -> bool,
    ) -> Value {
        eventually(what, timeout, || async {
            let object = pipeline(&self.scene, NAME)
                .await
                .map_err(|e| e.to_string())?;
            if check(&object) {
                Ok(object)
            } else {
                Err(object["status"].to_string())
            }
        })
        .await
        .unwrap_or_else(|e| panic!("{e}\n{}", self.operator.log_tail()))
    }

    pub async fn status(&self) -> Value {
        pipeline(&self.scene, NAME)
            .await
            .expect("reading the pipeline")["status"]
            .clone()
    }

    /// The consumer Deployment's replicas as the API server has them.
    pub async fn consumer_replicas(&self) -> i32 {
        let deployments: Api<Deployment> =
            Api::namespaced(self.scene.client.clone(), &self.scene.namespace);
        let consumer = deployments
            .get(&format!("{NAME}-consumer"))
            .await
            .expect("reading the consumer Deployment");
        consumer.spec.and_then(|s| s.replicas).unwrap_or(1)
    }

    /// Consumer processes the runtime runs.
    pub fn consumers(&self) -> Vec<PodSnapshot> {
        self.scene
            .runtime
            .pods()
            .into_iter()
            .filter(|p| p.deployment == format!("{NAME}-consumer") && p.pid.is_some())
            .collect()
    }

    /// The group's offsets read by an independent client.
    pub async fn offsets(&self) -> Vec<GroupPartition> {
        group_offsets(&self.bed, &self.topic, &self.group())
            .await
            .expect("the group's offsets")
    }

    /// The notes of the pipeline's Events with `reason`, oldest first.
    pub fn events(&self, reason: &str) -> Vec<String> {
        let output = kubectl(
            &self.bed,
            &[
                "get",
                "events.events.k8s.io",
                "-n",
                &self.scene.namespace,
                "--field-selector",
                &format!("reason={reason}"),
                "--sort-by=.eventTime",
                "-o",
                "jsonpath={range .items[*]}{.note}{\"\\n\"}{end}",
            ],
            None,
        )
        .expect("kubectl get events");
        String::from_utf8_lossy(&output.stdout)
            .lines()
            .map(str::to_owned)
            .collect()
    }

    pub async fn finish(mut self) {
        if let Some(load) = self.load.take() {
            load.stop();
        }
        let _ = kubectl(
            &self.bed,
            &[
                "delete",
                "cop",
                NAME,
                "-n",
                &self.scene.namespace,
                "--timeout=60s",
            ],
            None,
        );
        let _ = self.operator.stop().await;
        self.scene.finish().await.expect("stopping the runtime");
    }
}

/// `status.autoscaling.desired` as (pods, workers).
pub fn desired(object: &Value) -> (i64, i64) {
    let d = &object["status"]["autoscaling"]["desired"];
    (
        d["pods"].as_i64().unwrap_or(0),
        d["workers"].as_i64().unwrap_or(0),
    )
}

/// The condition `type_` of a pipeline object.
pub fn condition<'a>(object: &'a Value, type_: &str) -> &'a Value {
    object["status"]["conditions"]
        .as_array()
        .and_then(|c| c.iter().find(|c| c["type"] == type_))
        .unwrap_or(&Value::Null)
}
