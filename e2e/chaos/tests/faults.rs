//! Each fault once, under load on the test bed: every acknowledged order reaches exactly one
//! final status, no request becomes two orders, nothing refused is published, and the pipeline
//! gets back to its steady backlog. The faults take turns: they share two cores, and the
//! kube-apiserver restart touches everything on the test bed.

use coffee_chaos::faults::Fault;
use coffee_chaos::{Timing, bin_dir_of, run};

static TURN: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

/// Orders per second: enough that every fault hits orders in flight on these two cores.
const RATE: f64 = 150.0;

async fn survives(fault: Fault) {
    let _turn = TURN.lock().await;
    let bin_dir = bin_dir_of(std::path::Path::new(env!("CARGO_BIN_EXE_coffee-chaos")))
        .expect("the workspace's binaries");
    let figures = run(fault, RATE, Timing::BRIEF, &bin_dir)
        .await
        .unwrap_or_else(|e| panic!("{}: {e:#}", fault.name()));
    println!("{}", figures.line());
    assert!(figures.passed(), "{}", figures.line());
    assert!(figures.acknowledged > 1_000, "{}", figures.line());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_consumer_killed_twice_mid_batch_loses_and_repeats_nothing() {
    survives(Fault::ConsumerKill).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rebalances_under_load_lose_and_repeat_nothing() {
    survives(Fault::Rebalance).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_broker_stopped_for_twenty_seconds_loses_nothing_acknowledged() {
    survives(Fault::BrokerStop).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_broker_stopped_past_the_delivery_timeout_with_poison_in_flight_frees_every_partition() {
    survives(Fault::BrokerStopWithPoison).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_operator_killed_mid_decision_is_replaced_and_its_decision_carried_out() {
    survives(Fault::OperatorKill).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_restarted_api_server_stops_no_order_and_the_operator_acts_again() {
    survives(Fault::ApiserverRestart).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_producer_killed_with_requests_in_flight_makes_each_retried_request_one_order() {
    survives(Fault::ProducerKill).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn poison_on_every_partition_is_dead_lettered_and_the_partitions_move_on() {
    survives(Fault::Poison).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_secret_rotated_under_load_rolls_the_intake_and_loses_no_order() {
    survives(Fault::SecretRotation).await;
}

/// Known defect, open in issue 25: in 1 of 3 runs on 2026-12-07 13 orders were brewed twice.
/// The killed broker coordinated the group, failover took longer than the stage's 6 s session,
/// and outcomes the old owners still had queued for a leaderless status partition landed after
/// the new owners had read the finished orders. Purging them at the revoke fixed this fault (3 of
/// 3 runs) but made the broker-hung fault brew 144 orders twice, so it was reverted. Run it with
/// `-- --ignored`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "known defect: outcomes in flight across a coordinator failover can be brewed twice (issue 25)"]
async fn a_partition_leader_killed_under_load_fails_over_and_loses_nothing_acknowledged() {
    survives(Fault::LeaderKill).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rolling_restart_of_every_broker_loses_nothing_acknowledged() {
    survives(Fault::RollingRestart).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_broker_away_for_a_minute_does_not_stop_the_autoscaler_scaling_out() {
    survives(Fault::BrokerAwayWhileScaling).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_scram_password_rotated_under_load_rolls_every_pod_and_loses_no_order() {
    survives(Fault::ScramRotation).await;
}
