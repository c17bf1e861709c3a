//! Wiring: probes, leader election, and the controller that runs only while this replica leads.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::Ordering;

use anyhow::Context as _;
use futures::{StreamExt, TryStreamExt};
use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::core::v1::{Service, ServiceAccount};
use k8s_openapi::api::policy::v1::PodDisruptionBudget;
use kube::api::PartialObjectMeta;
use kube::runtime::controller::Controller;
use kube::runtime::{PredicateConfig, WatchStreamExt, reflector, watcher};
use kube::{Client, ResourceExt};
use kube_lease_manager::LeaseManagerBuilder;
use tokio::sync::watch;
use tracing::{info, warn};

use crate::autoscale::cluster::Clusters;
use crate::autoscale::scaler::Shared;
use crate::autoscale::supervisor;
use crate::config::RunArgs;
use crate::crd::CoffeeOrderPipeline;
use crate::events::Events;
use crate::http::{self, Listed, Probes};
use crate::metrics::Metrics;
use crate::reconcile::{self, Context};
use crate::watches;

pub async fn run(args: RunArgs) -> anyhow::Result<()> {
    let client = Client::try_default()
        .await
        .context("connecting to the Kubernetes API (in-cluster or KUBECONFIG)")?;
    let metrics = Metrics::new().context("registering metrics")?;
    let probes = Arc::new(Probes {
        metrics: metrics.clone(),
        listed: Arc::new(Listed::new([
            watches::name_of::<CoffeeOrderPipeline>(),
            watches::name_of::<Deployment>(),
            watches::name_of::<Service>(),
            watches::name_of::<PodDisruptionBudget>(),
            watches::name_of::<ServiceAccount>(),
        ])),
        leading: false.into(),
    });
    let address = SocketAddr::from(([0, 0, 0, 0], args.port));
    let listener = tokio::net::TcpListener::bind(address)
        .await
        .with_context(|| format!("listening on {address}"))?;
    tokio::spawn(axum::serve(listener, http::router(Arc::clone(&probes))).into_future());

    let (stop, stopped) = watch::channel(false);
    tokio::spawn(async move {
        coffee_telemetry::shutdown_signal().await;
        let _ = stop.send(true);
    });

    if !args.leader_election {
        probes.leading.store(true, Ordering::Relaxed);
        run_controller(client, &args, metrics, Arc::clone(&probes.listed), stopped).await;
        return Ok(());
    }
    let identity = args
        .identity
        .clone()
        .unwrap_or_else(|| format!("coffee-operator-{}", std::process::id()));
    let manager = LeaseManagerBuilder::new(client.clone(), &args.lease_name)
        .with_namespace(&args.lease_namespace)
        .with_identity(&identity)
        .with_duration(args.lease_duration_secs)
        .with_grace(2)
        .with_field_manager("coffee-operator-lease")
        .build()
        .await
        .with_context(|| {
            format!(
                "preparing Lease {}/{}",
                args.lease_namespace, args.lease_name
            )
        })?;
    let (mut leader, lease_task) = manager.watch().await;
    info!(%identity, lease = %args.lease_name, "waiting to become the leader");
    let mut shutdown = stopped.clone();
    loop {
        if *leader.borrow_and_update() {
            break;
        }
        tokio::select! {
            changed = leader.changed() => if changed.is_err() { anyhow::bail!("leader election stopped") },
            _ = shutdown.changed() => {
                drop(leader);
                let _ = lease_task.await;
                return Ok(());
            }
        }
    }
    info!(%identity, "leading: reconciling");
    probes.leading.store(true, Ordering::Relaxed);
    let (lost_tx, lost) = watch::channel(false);
    let controller_stop = {
        let mut shutdown = stopped.clone();
        let mut leader = leader.clone();
        async move {
            tokio::select! {
                _ = shutdown.changed() => {}
                _ = async { while leader.changed().await.is_ok() { if !*leader.borrow() { break; } } } => {
                    let _ = lost_tx.send(true);
                }
            }
        }
    };
    let (gate_tx, gate) = watch::channel(false);
    tokio::spawn(async move {
        controller_stop.await;
        let _ = gate_tx.send(true);
    });
    run_controller(client, &args, metrics, Arc::clone(&probes.listed), gate).await;
    probes.leading.store(false, Ordering::Relaxed);
    drop(leader);
    if let Err(error) = lease_task.await {
        warn!(%error, "releasing the lease");
    }
    if *lost.borrow() {
        // Another replica may already be reconciling: stop rather than race it; the restart
        // joins the election as a standby.
        anyhow::bail!("lost the leader lease");
    }
    Ok(())
}

async fn run_controller(
    client: Client,
    args: &RunArgs,
    metrics: Metrics,
    listed: Arc<Listed>,
    mut stop: watch::Receiver<bool>,
) {
    let namespace = args.namespace.as_deref();
    let pipelines = watches::api::<CoffeeOrderPipeline>(&client, namespace);
    let deployments = watches::api::<PartialObjectMeta<Deployment>>(&client, namespace);
    let services = watches::api::<PartialObjectMeta<Service>>(&client, namespace);
    let budgets = watches::api::<PartialObjectMeta<PodDisruptionBudget>>(&client, namespace);
    let accounts = watches::api::<PartialObjectMeta<ServiceAccount>>(&client, namespace);
    let events = Events::new(client.clone(), args.identity.clone());
    let autoscaler = Arc::new(Shared {
        client: client.clone(),
        clusters: Clusters::default(),
        events: events.clone(),
        metrics: metrics.autoscaler.clone(),
        allowed_clusters: args.allowed_kafka_clusters.clone(),
    });
    let ctx = Arc::new(Context::new(
        client,
        events,
        metrics,
        args.workload_defaults(),
        args.allowed_kafka_clusters.clone(),
    ));
    let (store, writer) = reflector::store();
    // Reconcile on what the reconciler acts on, not on every status write: the autoscaler
    // writes lag and rates every few seconds and must not re-apply every object each time.
    let triggers = watcher(pipelines, watcher::Config::default())
        .backoff(watches::for_watches())
        .inspect_ok({
            let listed = Arc::clone(&listed);
            move |event| watches::note_listed::<CoffeeOrderPipeline>(event, &listed)
        })
        // Neither the reconciler nor the autoscaler reads who owns which field; with two
        // status writers those entries were the biggest part of the cached pipelines (about
        // 5 MiB of heap with 200 pipelines).
        .modify(|pipeline| pipeline.managed_fields_mut().clear())
        .reflect(writer)
        .applied_objects()
        .predicate_filter(reconcile::trigger, PredicateConfig::default());
    let triggers = watches::quiet(triggers);
    let supervisor = tokio::spawn(supervisor::run(autoscaler, store.clone(), stop.clone()));
    let selector =
        watcher::Config::default().labels("app.kubernetes.io/managed-by=coffee-operator");
    Controller::for_stream(triggers, store)
        .owns_stream(watches::owned(deployments, selector.clone(), &listed))
        .owns_stream(watches::owned(services, selector.clone(), &listed))
        .owns_stream(watches::owned(budgets, selector.clone(), &listed))
        .owns_stream(watches::owned(accounts, selector, &listed))
        // Bounded: a burst of new pipelines should not open hundreds of Kafka admin requests
        // at once on a small cluster.
        .with_config(kube::runtime::controller::Config::default().concurrency(16))
        .graceful_shutdown_on(async move {
            let _ = stop.wait_for(|stopped| *stopped).await;
        })
        .run(reconcile::reconcile, reconcile::error_policy, ctx)
        .for_each(|result| async move {
            match result {
                Ok(_) => {}
                // An owned object changed after its pipeline was deleted: nothing to do.
                Err(kube::runtime::controller::Error::ObjectNotFound(object)) => {
                    tracing::debug!(%object, "pipeline already deleted");
                }
                Err(error) => warn!(%error, "controller"),
            }
        })
        .await;
    let _ = supervisor.await;
    info!("controller stopped");
}
