//! Giving revoked partitions up: after a revoke nothing of theirs may reach Kafka, since their
//! next owner decides their orders again from what it reads on the status topic.

use std::collections::HashSet;

use rdkafka::producer::{Producer, PurgeConfig};
use tracing::info;

use super::Outbox;

impl Outbox {
    /// Gives up revoked `partitions`: nothing more of theirs is handed to Kafka, and with
    /// `withdraw` what was handed over but not yet sent is taken back. An outcome that waits in
    /// librdkafka's queue for a partition leader (a broker failing over) would otherwise be
    /// written after the partitions' next owner read the finished orders, and that owner would
    /// brew the order a second time. librdkafka takes back all or nothing: what partitions still
    /// owned had queued comes back too and is written again (see
    /// [`crate::deliveries::Deliveries`]). A request already with a broker cannot be taken back;
    /// a live broker answers it within moments.
    pub fn release(&self, partitions: &HashSet<i32>, withdraw: bool) {
        {
            let mut state = self.producer.context().shared.lock();
            for &partition in partitions {
                state.disown(partition);
            }
        }
        if withdraw {
            self.producer.purge(PurgeConfig::default().queue());
            info!(partitions = ?partitions, "outcomes not yet sent were taken back; the partitions' next owner decides their orders");
        }
    }
}

/// Against librdkafka's mock cluster, whose partitions can be made leaderless: outcomes then
/// wait in the producer's queue, as they do while a real broker fails over.
#[cfg(test)]
mod tests {
    use std::sync::{Arc, mpsc as std_mpsc};
    use std::time::{Duration, Instant};

    use coffee_events::order::OrderDetails;
    use coffee_events::status::{OrderStatus, StatusEvent};
    use rdkafka::consumer::{BaseConsumer, Consumer};
    use rdkafka::mocking::MockCluster;
    use rdkafka::{ClientConfig, Message, Offset, TopicPartitionList};
    use tokio::sync::mpsc;
    use uuid::Uuid;

    use super::*;
    use crate::metrics::Metrics;
    use crate::outbox::{Outcome, Retry};
    use crate::state::{Shared, Source, State};

    const STATUS: &str = "status";

    struct Bench {
        cluster: MockCluster<'static, rdkafka::producer::DefaultProducerContext>,
        outbox: Outbox,
        retries: mpsc::UnboundedReceiver<Retry>,
        finished: std_mpsc::Receiver<Source>,
    }

    /// An outbox owning order partitions 0 and 1 (epoch 1), writing to a status topic whose
    /// only partition has no leader.
    fn bench() -> Bench {
        let cluster = MockCluster::new(1).expect("starting librdkafka's mock cluster");
        cluster.create_topic(STATUS, 1, 1).unwrap();
        cluster.partition_leader(STATUS, 0, None).unwrap();
        let mut kafka = ClientConfig::new();
        kafka.set("bootstrap.servers", cluster.bootstrap_servers());
        let (shared, finished) = Shared::new(State::new(100), Metrics::new().unwrap());
        let shared = Arc::new(shared);
        shared.lock().own(0, 1);
        shared.lock().own(1, 1);
        let (sender, retries) = mpsc::unbounded_channel();
        let outbox = Outbox::new(
            &kafka,
            STATUS.to_owned(),
            "dead-letters".to_owned(),
            shared,
            sender,
            Duration::from_secs(60),
        )
        .unwrap();
        Bench {
            cluster,
            outbox,
            retries,
            finished,
        }
    }

    fn outcome(order: u128, partition: i32) -> Box<Outcome> {
        Box::new(Outcome {
            event: StatusEvent {
                order_id: Uuid::from_u128(order),
                status: OrderStatus::Completed,
                at: jiff::Timestamp::from_second(1_700_000_000).unwrap(),
                order: OrderDetails {
                    customer_name: "Ada".into(),
                    coffee_type: "Latte".into(),
                    created_at: jiff::Timestamp::from_second(1_700_000_000).unwrap(),
                },
                reason: None,
            },
            trace: Vec::new(),
            source: Source {
                partition,
                offset: 0,
                epoch: 1,
            },
            failed_attempts: 0,
        })
    }

    /// Waits until the outcome of order `partition` is acknowledged, handing what comes back
    /// to the outbox again meanwhile, as the retry task does.
    async fn acknowledged(bench: &mut Bench, partition: i32) {
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            if bench.finished.try_iter().any(|s| s.partition == partition) {
                return;
            }
            while let Ok(retry) = bench.retries.try_recv() {
                let Retry::Outcome(outcome) = retry else {
                    panic!("no dead letter was written");
                };
                bench.outbox.conclude(outcome).await;
            }
            assert!(
                Instant::now() < deadline,
                "the outcome of partition {partition} acknowledged within 20 s"
            );
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }

    /// The keys of every record on the status topic.
    fn status_keys(bench: &Bench) -> Vec<String> {
        let consumer: BaseConsumer = ClientConfig::new()
            .set("bootstrap.servers", bench.cluster.bootstrap_servers())
            .set("group.id", "reader")
            .create()
            .unwrap();
        let (_, high) = consumer
            .fetch_watermarks(STATUS, 0, Duration::from_secs(10))
            .unwrap();
        let mut assignment = TopicPartitionList::new();
        assignment
            .add_partition_offset(STATUS, 0, Offset::Beginning)
            .unwrap();
        consumer.assign(&assignment).unwrap();
        let mut keys = Vec::new();
        while keys.len() < usize::try_from(high).unwrap() {
            let message = consumer
                .poll(Duration::from_secs(10))
                .expect("the status topic's records within 10 s")
                .unwrap();
            keys.push(String::from_utf8(message.key().unwrap().to_vec()).unwrap());
        }
        keys
    }

    #[tokio::test]
    async fn an_outcome_a_revoke_leaves_unsent_never_reaches_the_status_topic() {
        let mut bench = bench();
        bench.outbox.conclude(outcome(1, 0)).await;
        bench.outbox.conclude(outcome(2, 1)).await;

        bench.outbox.release(&HashSet::from([0]), true);
        bench.cluster.partition_leader(STATUS, 0, Some(1)).unwrap();

        acknowledged(&mut bench, 1).await;
        bench.outbox.flush(Duration::from_secs(10)).unwrap();
        assert_eq!(
            status_keys(&bench),
            vec![Uuid::from_u128(2).hyphenated().to_string()],
            "only the outcome of the partition still owned is written"
        );
    }

    #[tokio::test]
    async fn a_release_without_withdrawing_keeps_the_other_partitions_outcomes_queued() {
        let mut bench = bench();
        bench.outbox.conclude(outcome(2, 1)).await;

        bench.outbox.release(&HashSet::from([0]), false);
        bench.cluster.partition_leader(STATUS, 0, Some(1)).unwrap();

        acknowledged(&mut bench, 1).await;
        assert!(
            bench.retries.try_recv().is_err(),
            "nothing was taken back, so nothing came back"
        );
    }
}
