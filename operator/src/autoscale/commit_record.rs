//! Commits as Kafka's group coordinator writes them to `__consumer_offsets` (pure).
//!
//! One record per commit: the key is a record type (0 or 1 for an offset commit) followed by
//! the group, topic and partition; the value is a version (0 to 4) followed by the offset and,
//! further on, the commit time. A record without a value deletes the commit (the group's
//! offsets expired or were deleted). Other record types (group metadata, the newer consumer
//! group protocol's records) are not commits and are skipped.

/// Where a commit applies.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct CommitKey {
    pub group: String,
    pub topic: String,
    pub partition: i32,
}

/// What a record of `__consumer_offsets` says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CommitRecord {
    /// The group committed `offset` at `timestamp_ms`.
    Committed {
        key: CommitKey,
        offset: i64,
        timestamp_ms: i64,
    },
    /// The commit was deleted.
    Deleted(CommitKey),
    /// Not a commit.
    Other,
}

/// Why a record could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unreadable __consumer_offsets record: {0}")]
pub struct MalformedRecord(&'static str);

/// Reads one record of `__consumer_offsets`.
pub fn parse(key: Option<&[u8]>, value: Option<&[u8]>) -> Result<CommitRecord, MalformedRecord> {
    let Some(key) = key else {
        return Ok(CommitRecord::Other);
    };
    let mut key = Reader(key);
    if !matches!(key.i16()?, 0 | 1) {
        return Ok(CommitRecord::Other);
    }
    let commit = CommitKey {
        group: key.string()?,
        topic: key.string()?,
        partition: key.i32()?,
    };
    let Some(value) = value else {
        return Ok(CommitRecord::Deleted(commit));
    };
    let mut value = Reader(value);
    let version = value.i16()?;
    if !(0..=4).contains(&version) {
        return Err(MalformedRecord("unknown value version"));
    }
    let offset = value.i64()?;
    if version >= 3 {
        value.i32()?;
    }
    if version >= 4 {
        value.compact_string()?;
    } else {
        value.string()?;
    }
    let timestamp_ms = value.i64()?;
    Ok(CommitRecord::Committed {
        key: commit,
        offset,
        timestamp_ms,
    })
}

/// Big-endian reads from the front of a byte slice.
struct Reader<'a>(&'a [u8]);

impl Reader<'_> {
    fn take(&mut self, n: usize) -> Result<&[u8], MalformedRecord> {
        if self.0.len() < n {
            return Err(MalformedRecord("record too short"));
        }
        let (head, rest) = self.0.split_at(n);
        self.0 = rest;
        Ok(head)
    }

    fn array<const N: usize>(&mut self) -> Result<[u8; N], MalformedRecord> {
        self.take(N)?
            .try_into()
            .map_err(|_| MalformedRecord("record too short"))
    }

    fn i16(&mut self) -> Result<i16, MalformedRecord> {
        Ok(i16::from_be_bytes(self.array()?))
    }

    fn i32(&mut self) -> Result<i32, MalformedRecord> {
        Ok(i32::from_be_bytes(self.array()?))
    }

    fn i64(&mut self) -> Result<i64, MalformedRecord> {
        Ok(i64::from_be_bytes(self.array()?))
    }

    /// A string with a 16-bit length.
    fn string(&mut self) -> Result<String, MalformedRecord> {
        let length =
            usize::try_from(self.i16()?).map_err(|_| MalformedRecord("negative string length"))?;
        self.utf8(length)
    }

    /// A string whose length plus one is an unsigned varint (flexible versions).
    fn compact_string(&mut self) -> Result<String, MalformedRecord> {
        let mut length: u64 = 0;
        for shift in (0..35).step_by(7) {
            let [byte] = self.array()?;
            length |= u64::from(byte & 0x7f) << shift;
            if byte & 0x80 == 0 {
                let length = usize::try_from(length.saturating_sub(1))
                    .map_err(|_| MalformedRecord("string too long"))?;
                return self.utf8(length);
            }
        }
        Err(MalformedRecord("varint too long"))
    }

    fn utf8(&mut self, length: usize) -> Result<String, MalformedRecord> {
        String::from_utf8(self.take(length)?.to_vec())
            .map_err(|_| MalformedRecord("string not UTF-8"))
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    fn string(s: &str) -> Vec<u8> {
        let mut bytes = i16::try_from(s.len()).unwrap().to_be_bytes().to_vec();
        bytes.extend_from_slice(s.as_bytes());
        bytes
    }

    fn key(kind: i16, group: &str, topic: &str, partition: i32) -> Vec<u8> {
        let mut bytes = kind.to_be_bytes().to_vec();
        bytes.extend(string(group));
        bytes.extend(string(topic));
        bytes.extend(partition.to_be_bytes());
        bytes
    }

    fn value(version: i16, offset: i64, metadata: &str, timestamp: i64) -> Vec<u8> {
        let mut bytes = version.to_be_bytes().to_vec();
        bytes.extend(offset.to_be_bytes());
        if version >= 3 {
            bytes.extend(7i32.to_be_bytes());
        }
        if version >= 4 {
            bytes.push(u8::try_from(metadata.len() + 1).unwrap());
            bytes.extend_from_slice(metadata.as_bytes());
        } else {
            bytes.extend(string(metadata));
        }
        bytes.extend(timestamp.to_be_bytes());
        if version == 1 {
            bytes.extend((-1i64).to_be_bytes());
        }
        if version >= 4 {
            bytes.push(0);
        }
        bytes
    }

    fn orders_key() -> CommitKey {
        CommitKey {
            group: "orders-processor".into(),
            topic: "orders".into(),
            partition: 3,
        }
    }

    #[test]
    fn every_value_version_gives_the_offset_and_commit_time() {
        for version in 0..=4 {
            let parsed = parse(
                Some(&key(1, "orders-processor", "orders", 3)),
                Some(&value(
                    version,
                    1234,
                    "status-since-ms=99",
                    1_700_000_000_000,
                )),
            );
            assert_eq!(
                parsed,
                Ok(CommitRecord::Committed {
                    key: orders_key(),
                    offset: 1234,
                    timestamp_ms: 1_700_000_000_000
                }),
                "value version {version}"
            );
        }
    }

    #[test]
    fn the_legacy_key_type_is_a_commit_too() {
        let parsed = parse(
            Some(&key(0, "orders-processor", "orders", 3)),
            Some(&value(1, 5, "", 9)),
        );
        assert!(matches!(
            parsed,
            Ok(CommitRecord::Committed { offset: 5, .. })
        ));
    }

    #[test]
    fn a_record_without_value_deletes_the_commit() {
        let parsed = parse(Some(&key(1, "orders-processor", "orders", 3)), None);
        assert_eq!(parsed, Ok(CommitRecord::Deleted(orders_key())));
    }

    #[test]
    fn group_metadata_is_not_a_commit() {
        let mut group = 2i16.to_be_bytes().to_vec();
        group.extend(string("orders-processor"));
        assert_eq!(
            parse(Some(&group), Some(b"\x00\x03")),
            Ok(CommitRecord::Other)
        );
    }

    #[test]
    fn a_truncated_record_is_an_error_not_a_panic() {
        let full = key(1, "orders-processor", "orders", 3);
        assert!(parse(Some(&full[..full.len() - 2]), Some(&value(3, 1, "", 1))).is_err());
        assert!(parse(Some(&full), Some(&value(3, 1, "", 1)[..9])).is_err());
    }

    proptest! {
        #[test]
        fn arbitrary_bytes_never_panic(
            key in proptest::collection::vec(any::<u8>(), 0..64),
            value in proptest::option::of(proptest::collection::vec(any::<u8>(), 0..64)),
        ) {
            let _ = parse(Some(&key), value.as_deref());
        }
    }
}
