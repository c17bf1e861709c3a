//! Lag of one partition from its three offsets, with the edge cases KEDA's scaler gets wrong:
//! a group that never committed counts what the log still holds (not the whole log-end offset,
//! part of which retention may have deleted), a commit that retention overtook counts the same,
//! and lag is never negative.

/// What Kafka reports for one partition of the order topic.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PartitionOffsets {
    pub partition: i32,
    /// The log-start offset: the oldest message retention has kept.
    pub start: i64,
    /// The log-end offset as a `read_committed` reader sees it (the last stable offset), so
    /// open and aborted transactions and their markers are not counted.
    pub end: i64,
    /// The group's committed offset (the next message to process); `None` if never committed.
    pub committed: Option<i64>,
}

impl PartitionOffsets {
    /// Where processing stands: the committed offset, or the log start when there is no commit
    /// or retention deleted the messages after it. Never beyond the end.
    pub fn position(&self) -> i64 {
        let end = self.end.max(self.start);
        match self.committed {
            Some(committed) if committed >= self.start => committed.min(end),
            _ => self.start.min(end),
        }
    }

    /// Messages still to process.
    pub fn lag(&self) -> i64 {
        self.end.max(self.start) - self.position()
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    fn offsets(start: i64, end: i64, committed: Option<i64>) -> PartitionOffsets {
        PartitionOffsets {
            partition: 0,
            start,
            end,
            committed,
        }
    }

    #[test]
    fn lag_is_the_distance_from_the_commit_to_the_end() {
        assert_eq!(offsets(0, 100, Some(60)).lag(), 40);
    }

    #[test]
    fn without_a_commit_only_what_the_log_still_holds_counts() {
        assert_eq!(offsets(900, 1000, None).lag(), 100);
    }

    #[test]
    fn a_commit_that_retention_overtook_counts_from_the_log_start() {
        assert_eq!(offsets(900, 1000, Some(500)).lag(), 100);
    }

    #[test]
    fn a_commit_beyond_the_stable_end_is_no_lag_rather_than_negative() {
        assert_eq!(offsets(0, 100, Some(120)).lag(), 0);
    }

    #[test]
    fn an_empty_partition_has_no_lag() {
        assert_eq!(offsets(0, 0, None).lag(), 0);
    }

    proptest! {
        #[test]
        fn lag_is_never_negative_nor_more_than_the_log_holds(
            start in 0i64..1_000_000,
            length in 0i64..1_000_000,
            committed in proptest::option::of(-10i64..3_000_000),
        ) {
            let partition = offsets(start, start + length, committed);
            prop_assert!(partition.lag() >= 0);
            prop_assert!(partition.lag() <= length);
            prop_assert_eq!(partition.position() + partition.lag(), start + length);
        }
    }
}
