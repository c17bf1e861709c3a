//! The faults, one module each: what the stage looks like for it, and how it is injected.
//! Each injection checks what the fault itself must show (a takeover, dead letters, pods
//! restarted) and fails with what it saw; the stage checks the orders.

use std::time::Duration;

use crate::stage::{Injected, Shape, Stage};

mod apiserver;
mod broker;
mod broker_away_scaling;
mod broker_poison;
mod brokers;
mod consumer_kill;
mod leader_kill;
mod operator_kill;
mod poison;
mod producer_kill;
mod rebalance;
mod rolled;
mod rolling_restart;
mod scram_rotation;
mod secret_rotation;

/// One fault.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Fault {
    /// A consumer pod SIGKILLed mid-batch, then again once it runs again.
    ConsumerKill,
    /// The consumers scaled out and back in while the load runs.
    Rebalance,
    /// The broker stopped for 20 s, then started again.
    BrokerStop,
    /// Poison messages written, then the broker hung for 90 s (longer than the consumers'
    /// delivery timeout) while their dead letters are in flight.
    BrokerStopWithPoison,
    /// The leading operator SIGKILLed as it writes a scaling decision.
    OperatorKill,
    /// kube-apiserver stopped and started again.
    ApiserverRestart,
    /// A producer pod SIGKILLed with requests in flight; clients retry unanswered requests.
    ProducerKill,
    /// Undecodable messages written to the order topic by a foreign client.
    Poison,
    /// The intake's listing-token Secret rotated: its pods roll under load.
    SecretRotation,
    /// The broker leading the most order partitions of the test bed's three SIGKILLed, then
    /// started again once every partition has a new leader.
    LeaderKill,
    /// The test bed's three brokers restarted one by one, each until all replicas are in sync.
    RollingRestart,
    /// One of the test bed's three brokers stopped for 60 s while the load triples and the
    /// autoscaler scales out.
    BrokerAwayWhileScaling,
    /// The pipeline's SCRAM password rotated on the brokers and in its Secret.
    ScramRotation,
}

impl Fault {
    pub const ALL: [Fault; 13] = [
        Fault::ConsumerKill,
        Fault::Rebalance,
        Fault::BrokerStop,
        Fault::BrokerStopWithPoison,
        Fault::OperatorKill,
        Fault::ApiserverRestart,
        Fault::ProducerKill,
        Fault::Poison,
        Fault::SecretRotation,
        Fault::LeaderKill,
        Fault::RollingRestart,
        Fault::BrokerAwayWhileScaling,
        Fault::ScramRotation,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Fault::ConsumerKill => "consumer SIGKILL ×2",
            Fault::Rebalance => "scale out and in",
            Fault::BrokerStop => "broker stopped 20 s",
            Fault::BrokerStopWithPoison => "broker hung 90 s, poison in flight",
            Fault::OperatorKill => "operator SIGKILL mid-decision",
            Fault::ApiserverRestart => "kube-apiserver restart",
            Fault::ProducerKill => "producer SIGKILL, clients retry",
            Fault::Poison => "poison messages",
            Fault::SecretRotation => "Secret rotated, intake rolls",
            Fault::LeaderKill => "partition leader SIGKILL",
            Fault::RollingRestart => "rolling broker restart",
            Fault::BrokerAwayWhileScaling => "broker away 60 s, scaling out",
            Fault::ScramRotation => "SCRAM password rotated",
        }
    }

    /// The stage this fault needs, at `rate` orders per second.
    pub fn shape(self, rate: f64) -> Shape {
        let shape = Shape {
            rate,
            ..Shape::default()
        };
        match self {
            Fault::BrokerStop | Fault::BrokerStopWithPoison => Shape {
                own_broker: true,
                ..shape
            },
            // Room above what the load needs (about three pods of four workers at 150/s).
            Fault::Rebalance | Fault::OperatorKill | Fault::BrokerAwayWhileScaling => Shape {
                pods: (1, 6),
                workers: (2, 4),
                ..shape
            },
            // A rolling update stops old pods gracefully; a request that meets one closing its
            // listener is sent again to another, as a client behind a Service would.
            Fault::SecretRotation => Shape {
                list_token: true,
                load: e2e::load::LoadOptions {
                    retry_unanswered: true,
                    ..shape.load
                },
                ..shape
            },
            // Like the listing token's rotation: old pods close their listeners as they go.
            Fault::ScramRotation => Shape {
                scram: true,
                load: e2e::load::LoadOptions {
                    retry_unanswered: true,
                    ..shape.load
                },
                ..shape
            },
            Fault::ProducerKill => Shape {
                load: e2e::load::LoadOptions {
                    retry_unanswered: true,
                    ..shape.load
                },
                ..shape
            },
            Fault::ConsumerKill
            | Fault::ApiserverRestart
            | Fault::Poison
            | Fault::LeaderKill
            | Fault::RollingRestart => shape,
        }
    }

    /// Injects the fault into the running stage and waits until it has done its harm.
    pub async fn inject(self, stage: &mut Stage) -> anyhow::Result<Injected> {
        match self {
            Fault::ConsumerKill => consumer_kill::inject(stage).await,
            Fault::Rebalance => rebalance::inject(stage).await,
            Fault::BrokerStop => broker::inject(stage).await,
            Fault::BrokerStopWithPoison => broker_poison::inject(stage).await,
            Fault::OperatorKill => operator_kill::inject(stage).await,
            Fault::ApiserverRestart => apiserver::inject(stage).await,
            Fault::ProducerKill => producer_kill::inject(stage).await,
            Fault::Poison => poison::inject(stage).await,
            Fault::SecretRotation => secret_rotation::inject(stage).await,
            Fault::LeaderKill => leader_kill::inject(stage).await,
            Fault::RollingRestart => rolling_restart::inject(stage).await,
            Fault::BrokerAwayWhileScaling => broker_away_scaling::inject(stage).await,
            Fault::ScramRotation => scram_rotation::inject(stage).await,
        }
    }
}

/// The pipeline's `status.autoscaling.desired` as (pods, workers); zeros before the first
/// decision.
fn desired(pipeline: &serde_json::Value) -> (i64, i64) {
    let d = &pipeline["status"]["autoscaling"]["desired"];
    (
        d["pods"].as_i64().unwrap_or(0),
        d["workers"].as_i64().unwrap_or(0),
    )
}

/// Seconds with one decimal, for notes.
fn seconds(duration: Duration) -> String {
    format!("{:.1} s", duration.as_secs_f64())
}
