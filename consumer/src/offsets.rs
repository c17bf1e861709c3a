//! Which offset of a partition may be committed. Workers finish messages out of order; the
//! commit position is the lowest offset not yet finished, so a crash redelivers exactly the
//! unfinished messages and nothing finished is lost.

use std::collections::VecDeque;

/// One partition's messages taken from Kafka and not yet committed past.
#[derive(Debug, Default)]
pub struct OffsetTracker {
    /// Offsets in the order they were taken (ascending), with when and whether they
    /// are finished. Finished offsets at the front are dropped at once.
    pending: VecDeque<Pending>,
    /// The offset after the last one taken: the position once everything is finished.
    next: Option<i64>,
    unfinished: usize,
}

#[derive(Debug)]
struct Pending {
    offset: i64,
    taken_at_ms: Option<i64>,
    finished: bool,
}

impl OffsetTracker {
    /// Records that the message at `offset` was taken. Offsets at or below one already taken
    /// (a redelivery after a seek) are refused, so they are not counted twice.
    pub fn take(&mut self, offset: i64, taken_at_ms: Option<i64>) -> bool {
        if self.next.is_some_and(|next| offset < next) {
            return false;
        }
        self.pending.push_back(Pending {
            offset,
            taken_at_ms,
            finished: false,
        });
        self.next = Some(offset + 1);
        self.unfinished += 1;
        true
    }

    /// Records that the message at `offset` is finished. Returns false for an offset that was
    /// not taken or is already finished.
    pub fn finish(&mut self, offset: i64) -> bool {
        let Ok(index) = self.pending.binary_search_by_key(&offset, |p| p.offset) else {
            return false;
        };
        let Some(entry) = self.pending.get_mut(index) else {
            return false;
        };
        if entry.finished {
            return false;
        }
        entry.finished = true;
        self.unfinished -= 1;
        while self.pending.front().is_some_and(|p| p.finished) {
            self.pending.pop_front();
        }
        true
    }

    /// The offset to commit: the first unfinished message, or the one after the last taken.
    pub fn position(&self) -> Option<i64> {
        self.pending.front().map(|p| p.offset).or(self.next)
    }

    /// When the first unfinished message was taken (wall clock, ms). No outcome of a message at
    /// or after the position can have been written before it, which bounds a new owner's search.
    pub fn oldest_unfinished_taken_at_ms(&self) -> Option<i64> {
        self.pending.front().and_then(|p| p.taken_at_ms)
    }

    /// Messages taken and not finished.
    pub fn unfinished(&self) -> usize {
        self.unfinished
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn taken(offsets: &[i64]) -> OffsetTracker {
        let mut tracker = OffsetTracker::default();
        for &offset in offsets {
            assert!(tracker.take(offset, Some(offset * 10)));
        }
        tracker
    }

    #[test]
    fn nothing_taken_has_no_position() {
        assert_eq!(OffsetTracker::default().position(), None);
    }

    #[test]
    fn unfinished_first_message_holds_the_position() {
        let mut tracker = taken(&[5, 6, 7]);
        tracker.finish(6);
        tracker.finish(7);
        assert_eq!(tracker.position(), Some(5));
    }

    #[test]
    fn finishing_the_gap_moves_the_position_past_everything_finished() {
        let mut tracker = taken(&[5, 6, 7]);
        tracker.finish(6);
        tracker.finish(7);
        tracker.finish(5);
        assert_eq!(tracker.position(), Some(8));
        assert_eq!(tracker.unfinished(), 0);
    }

    #[test]
    fn offsets_with_gaps_from_compaction_are_tracked() {
        let mut tracker = taken(&[3, 10, 42]);
        tracker.finish(3);
        assert_eq!(tracker.position(), Some(10));
        tracker.finish(10);
        tracker.finish(42);
        assert_eq!(tracker.position(), Some(43));
    }

    #[test]
    fn finishing_twice_counts_once() {
        let mut tracker = taken(&[1, 2]);
        assert!(tracker.finish(2));
        assert!(!tracker.finish(2));
        assert_eq!(tracker.unfinished(), 1);
    }

    #[test]
    fn finishing_an_offset_never_taken_is_refused() {
        let mut tracker = taken(&[1, 3]);
        assert!(!tracker.finish(2));
        assert!(!tracker.finish(9));
        assert_eq!(tracker.position(), Some(1));
    }

    #[test]
    fn a_redelivered_older_offset_is_not_taken_again() {
        let mut tracker = taken(&[4, 5]);
        assert!(!tracker.take(4, None));
        assert_eq!(tracker.unfinished(), 2);
    }

    #[test]
    fn oldest_unfinished_take_time_follows_the_position() {
        let mut tracker = taken(&[1, 2]);
        assert_eq!(tracker.oldest_unfinished_taken_at_ms(), Some(10));
        tracker.finish(1);
        assert_eq!(tracker.oldest_unfinished_taken_at_ms(), Some(20));
        tracker.finish(2);
        assert_eq!(tracker.oldest_unfinished_taken_at_ms(), None);
    }

    proptest::proptest! {
        /// Whatever order work finishes in, the position is always the lowest unfinished offset,
        /// and the one after the last once everything is finished.
        #[test]
        fn position_is_the_lowest_unfinished_offset(
            order in proptest::strategy::Strategy::prop_shuffle(proptest::strategy::Just((0..40i64).collect::<Vec<_>>()))
        ) {
            let mut tracker = taken(&(0..40).collect::<Vec<_>>());
            let mut unfinished: std::collections::BTreeSet<i64> = (0..40).collect();
            for offset in order {
                proptest::prop_assert!(tracker.finish(offset));
                unfinished.remove(&offset);
                let expected = unfinished.first().copied().unwrap_or(40);
                proptest::prop_assert_eq!(tracker.position(), Some(expected));
            }
        }
    }
}
