//! Which member of the producer pool carries an event: the one that owns the partition of the
//! event's key. Every event of one order has the same key, so its create and cancel share a
//! partition and a producer, and the producer's idempotent sequence keeps them in order.

use coffee_kafka::partition;

/// Where one event goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Route {
    pub partition: i32,
    /// Index of the pool member that owns `partition`.
    pub member: usize,
}

/// The route of `key` in a topic of `partitions` partitions, with a pool of `pool` producers;
/// `None` while the partition count is not known. Partitions are dealt round-robin, so members
/// own equally many (±1) and each partition has exactly one.
pub fn route(key: &[u8], partitions: u32, pool: usize) -> Option<Route> {
    let partition = partition::for_key(key, partitions)?;
    Some(Route {
        partition,
        member: owner(partition, pool),
    })
}

/// The member of a pool of `pool` that owns `partition`.
fn owner(partition: i32, pool: usize) -> usize {
    usize::try_from(partition).unwrap_or(0) % pool.max(1)
}

/// The partition count every member of the pool knows from its own metadata (the smallest),
/// or 0 while any member knows none. A topic that just grew is used in full only once every
/// member has seen it, so no member is handed a partition it would refuse as unknown.
pub fn known_by_all(counts: impl IntoIterator<Item = Option<u32>>) -> u32 {
    let known: Option<Vec<u32>> = counts.into_iter().collect();
    known
        .and_then(|counts| counts.into_iter().min())
        .unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn a_single_producer_carries_every_partition() {
        for key in [&b"a"[..], b"ab", b"abc", b"21"] {
            assert_eq!(route(key, 6, 1).unwrap().member, 0);
        }
    }

    #[test]
    fn the_partition_is_the_java_clients_partition() {
        // Kafka's Java client puts "foobar" on partition 0 of 6 and 6 of 12.
        assert_eq!(route(b"foobar", 6, 4).unwrap().partition, 0);
        assert_eq!(
            route(b"foobar", 12, 4).unwrap(),
            Route {
                partition: 6,
                member: 2
            }
        );
    }

    #[test]
    fn nothing_is_routed_before_the_partitions_are_known() {
        assert_eq!(route(b"abc", 0, 2), None);
    }

    #[test]
    fn the_pool_uses_the_partitions_every_member_knows() {
        assert_eq!(known_by_all([Some(6), Some(12), Some(6)]), 6);
        assert_eq!(known_by_all([Some(6), None]), 0);
        assert_eq!(known_by_all([]), 0);
    }

    proptest! {
        #[test]
        fn every_event_of_an_order_takes_one_route(
            id in any::<u128>(), partitions in 1u32..64, pool in 1usize..9,
        ) {
            let key = uuid::Uuid::from_u128(id).hyphenated().to_string();
            let first = route(key.as_bytes(), partitions, pool).unwrap();
            prop_assert_eq!(route(key.as_bytes(), partitions, pool), Some(first));
            prop_assert!(first.member < pool);
        }

        #[test]
        fn members_own_equally_many_partitions(partitions in 1u32..256, pool in 1usize..9) {
            let mut owned = vec![0u32; pool];
            for partition in 0..i32::try_from(partitions).unwrap() {
                owned[owner(partition, pool)] += 1;
            }
            let (least, most) = (owned.iter().min().unwrap(), owned.iter().max().unwrap());
            prop_assert!(most - least <= 1, "{owned:?}");
        }
    }
}
