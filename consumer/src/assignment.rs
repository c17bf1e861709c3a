//! The partitions this process owns and, per partition, which offsets are finished. Only the
//! fetch thread touches it: workers and delivery callbacks report finished messages through a
//! channel, so the hot path takes no shared lock per message.

use std::collections::HashMap;

use crate::offsets::OffsetTracker;
use crate::state::Source;

#[derive(Debug)]
struct Assigned {
    epoch: u64,
    tracker: OffsetTracker,
}

/// A position to commit: the partition, the offset, and the time before which no outcome of
/// a message at or after it was written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Position {
    pub partition: i32,
    pub offset: i64,
    pub since_ms: i64,
}

#[derive(Debug, Default)]
pub struct Assignment {
    partitions: HashMap<i32, Assigned>,
    next_epoch: u64,
}

impl Assignment {
    /// Starts tracking a newly assigned partition, under a new epoch, which it returns.
    pub fn assign(&mut self, partition: i32) -> u64 {
        self.next_epoch += 1;
        self.partitions.insert(
            partition,
            Assigned {
                epoch: self.next_epoch,
                tracker: OffsetTracker::default(),
            },
        );
        self.next_epoch
    }

    /// Stops tracking a revoked partition; later reports about it are ignored.
    pub fn revoke(&mut self, partition: i32) {
        self.partitions.remove(&partition);
    }

    /// Records a message taken at `now_ms`; `None` when the partition is not assigned or the
    /// offset was already taken.
    pub fn take(&mut self, partition: i32, offset: i64, now_ms: i64) -> Option<Source> {
        let assigned = self.partitions.get_mut(&partition)?;
        assigned
            .tracker
            .take(offset, Some(now_ms))
            .then_some(Source {
                partition,
                offset,
                epoch: assigned.epoch,
            })
    }

    /// Marks `source` finished, unless its partition was revoked since it was taken.
    pub fn finish(&mut self, source: Source) -> bool {
        match self.partitions.get_mut(&source.partition) {
            Some(assigned) if assigned.epoch == source.epoch => {
                assigned.tracker.finish(source.offset)
            }
            _ => false,
        }
    }

    /// Messages taken and not finished, over all partitions.
    pub fn in_flight(&self) -> usize {
        self.partitions
            .values()
            .map(|a| a.tracker.unfinished())
            .sum()
    }

    /// Messages of `partition` taken and not finished.
    pub fn unfinished(&self, partition: i32) -> usize {
        self.partitions
            .get(&partition)
            .map_or(0, |a| a.tracker.unfinished())
    }

    pub fn partitions(&self) -> impl Iterator<Item = i32> + '_ {
        self.partitions.keys().copied()
    }

    /// The commit position of every partition that has one; `now_ms` bounds the outcomes of a
    /// partition with nothing unfinished.
    pub fn positions(&self, now_ms: i64) -> Vec<Position> {
        self.partitions
            .iter()
            .filter_map(|(&partition, assigned)| {
                Some(Position {
                    partition,
                    offset: assigned.tracker.position()?,
                    since_ms: assigned
                        .tracker
                        .oldest_unfinished_taken_at_ms()
                        .unwrap_or(now_ms),
                })
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_report_from_before_a_reassignment_is_ignored() {
        let mut assignment = Assignment::default();
        assignment.assign(0);
        let old = assignment.take(0, 5, 1).unwrap();
        assignment.assign(0);
        assignment.take(0, 5, 2).unwrap();
        assert!(!assignment.finish(old));
        assert_eq!(assignment.in_flight(), 1);
    }

    #[test]
    fn messages_of_unassigned_partitions_are_not_taken() {
        assert_eq!(Assignment::default().take(3, 0, 1), None);
    }

    #[test]
    fn a_revoked_partition_is_forgotten() {
        let mut assignment = Assignment::default();
        assignment.assign(0);
        let source = assignment.take(0, 0, 1).unwrap();
        assignment.revoke(0);
        assert!(!assignment.finish(source));
        assert_eq!(assignment.in_flight(), 0);
        assert!(assignment.positions(9).is_empty());
    }

    #[test]
    fn in_flight_counts_every_partition() {
        let mut assignment = Assignment::default();
        assignment.assign(0);
        assignment.assign(1);
        assignment.take(0, 0, 1);
        let done = assignment.take(1, 0, 1).unwrap();
        assignment.take(1, 1, 1);
        assignment.finish(done);
        assert_eq!(assignment.in_flight(), 2);
        assert_eq!(assignment.unfinished(1), 1);
    }

    #[test]
    fn positions_carry_when_the_first_unfinished_message_was_taken() {
        let mut assignment = Assignment::default();
        assignment.assign(0);
        assignment.assign(1);
        assignment.take(0, 7, 100);
        let done = assignment.take(1, 3, 200).unwrap();
        assignment.finish(done);
        let mut positions = assignment.positions(500);
        positions.sort_by_key(|p| p.partition);
        assert_eq!(
            positions,
            vec![
                Position {
                    partition: 0,
                    offset: 7,
                    since_ms: 100
                },
                Position {
                    partition: 1,
                    offset: 4,
                    since_ms: 500
                },
            ]
        );
    }
}
