//! Which partition a key belongs to, computed the way Kafka's Java clients and librdkafka's
//! `murmur2` partitioner do: the 32-bit murmur2 hash of the key's bytes, made positive, modulo
//! the partition count. A producer that must know the partition before handing the message to a
//! client (to pick one client of a pool by partition) computes it here, and any other client of
//! the topic that hashes keys the standard way agrees with it.

/// Kafka's murmur2 (seed `0x9747b28c`), as in `org.apache.kafka.common.utils.Utils.murmur2`.
pub fn murmur2(data: &[u8]) -> i32 {
    const M: u32 = 0x5bd1_e995;
    const R: u32 = 24;
    // Kafka hashes the length as a Java int; keys longer than that cannot be sent anyway.
    let length = u32::try_from(data.len()).unwrap_or(u32::MAX);
    let mut h: u32 = 0x9747_b28c ^ length;
    let mut words = data.chunks_exact(4);
    for word in &mut words {
        let mut k = u32::from_le_bytes([word[0], word[1], word[2], word[3]]);
        k = k.wrapping_mul(M);
        k ^= k >> R;
        k = k.wrapping_mul(M);
        h = h.wrapping_mul(M);
        h ^= k;
    }
    let tail = words.remainder();
    if !tail.is_empty() {
        for (i, byte) in tail.iter().enumerate().rev() {
            h ^= u32::from(*byte) << (8 * i);
        }
        h = h.wrapping_mul(M);
    }
    h ^= h >> 13;
    h = h.wrapping_mul(M);
    h ^= h >> 15;
    i32::from_ne_bytes(h.to_ne_bytes())
}

/// The partition of `key` in a topic of `partitions` partitions, or `None` for a topic without
/// partitions (not known yet).
pub fn for_key(key: &[u8], partitions: u32) -> Option<i32> {
    if partitions == 0 {
        return None;
    }
    let positive = u32::from_ne_bytes(murmur2(key).to_ne_bytes()) & 0x7fff_ffff;
    i32::try_from(positive % partitions).ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// Hashes and partitions printed by Kafka 4.1.1's own `Utils.murmur2` and `toPositive`.
    const JAVA: [(&str, i32, i32, i32); 9] = [
        ("", 275_646_681, 3, 9),
        ("a", -1_563_381_124, 4, 4),
        ("ab", 316_155_434, 2, 2),
        ("abc", 479_470_107, 3, 3),
        ("21", -973_932_308, 0, 0),
        ("foobar", -790_332_482, 0, 6),
        ("a-little-bit-long-string", -985_981_536, 2, 8),
        ("0190a3e2-7b1c-7def-8123-456789abcdef", -522_586_166, 0, 6),
        ("018f5c2a-1111-7222-8333-444455556666", 86_030_305, 1, 1),
    ];

    #[test]
    fn the_hash_is_the_java_clients_hash() {
        for (key, hash, _, _) in JAVA {
            assert_eq!(murmur2(key.as_bytes()), hash, "{key:?}");
        }
    }

    #[test]
    fn a_key_lands_where_the_java_client_puts_it() {
        for (key, _, of_six, of_twelve) in JAVA {
            assert_eq!(for_key(key.as_bytes(), 6), Some(of_six), "{key:?} of 6");
            assert_eq!(
                for_key(key.as_bytes(), 12),
                Some(of_twelve),
                "{key:?} of 12"
            );
        }
    }

    #[test]
    fn a_topic_without_known_partitions_has_no_partition_for_a_key() {
        assert_eq!(for_key(b"abc", 0), None);
    }

    proptest! {
        #[test]
        fn every_key_gets_a_partition_of_the_topic(
            key in proptest::collection::vec(any::<u8>(), 0..64),
            partitions in 1u32..10_000,
        ) {
            let partition = for_key(&key, partitions).unwrap();
            prop_assert!((0..i32::try_from(partitions).unwrap()).contains(&partition));
            prop_assert_eq!(for_key(&key, partitions), Some(partition));
        }
    }
}
