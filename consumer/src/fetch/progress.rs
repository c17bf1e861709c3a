//! The fetch thread's view of progress: which messages it took, which came back finished (over
//! the channel from workers and delivery callbacks), and what was committed.

use std::collections::{HashMap, HashSet};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use crate::assignment::{Assignment, Position};
use crate::state::Source;

#[derive(Debug)]
pub struct Progress {
    pub assignment: Assignment,
    reports: mpsc::Receiver<Source>,
    /// The last position committed per partition, so unchanged positions are not sent again.
    committed: HashMap<i32, i64>,
}

impl Progress {
    pub fn new(reports: mpsc::Receiver<Source>) -> Self {
        Self {
            assignment: Assignment::default(),
            reports,
            committed: HashMap::new(),
        }
    }

    /// Applies every finished report that has arrived.
    pub fn drain(&mut self) {
        while let Ok(source) = self.reports.try_recv() {
            self.assignment.finish(source);
        }
    }

    /// Waits until fewer than `level` messages are in flight, at most `timeout`; returns how
    /// many are in flight then.
    pub fn wait_until_below(&mut self, level: usize, timeout: Duration) -> usize {
        let deadline = Instant::now() + timeout;
        loop {
            self.drain();
            let in_flight = self.assignment.in_flight();
            let left = deadline.saturating_duration_since(Instant::now());
            if in_flight < level || left.is_zero() {
                return in_flight;
            }
            if let Ok(source) = self.reports.recv_timeout(left) {
                self.assignment.finish(source);
            }
        }
    }

    /// Positions of `only` (or every assigned partition) that moved since their last commit.
    pub fn positions_to_commit(
        &mut self,
        now_ms: i64,
        only: Option<&HashSet<i32>>,
    ) -> Vec<Position> {
        self.drain();
        self.assignment
            .positions(now_ms)
            .into_iter()
            .filter(|p| only.is_none_or(|only| only.contains(&p.partition)))
            .filter(|p| self.committed.get(&p.partition) != Some(&p.offset))
            .collect()
    }

    pub fn committed(&mut self, positions: &[Position]) {
        for position in positions {
            self.committed.insert(position.partition, position.offset);
        }
    }

    /// Forgets a revoked partition.
    pub fn revoke(&mut self, partition: i32) {
        self.assignment.revoke(partition);
        self.committed.remove(&partition);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn progress() -> (Progress, mpsc::Sender<Source>) {
        let (sender, receiver) = mpsc::channel();
        let mut progress = Progress::new(receiver);
        progress.assignment.assign(0);
        (progress, sender)
    }

    #[test]
    fn reports_move_the_commit_position() {
        let (mut progress, reports) = progress();
        let source = progress.assignment.take(0, 0, 10).unwrap();
        reports.send(source).unwrap();
        let positions = progress.positions_to_commit(99, None);
        assert_eq!(positions[0].offset, 1);
    }

    #[test]
    fn an_unchanged_position_is_not_committed_again() {
        let (mut progress, _reports) = progress();
        progress.assignment.take(0, 0, 10);
        let positions = progress.positions_to_commit(99, None);
        progress.committed(&positions);
        assert!(progress.positions_to_commit(99, None).is_empty());
    }

    #[test]
    fn waiting_for_room_returns_as_soon_as_reports_make_it() {
        let (mut progress, reports) = progress();
        let first = progress.assignment.take(0, 0, 10).unwrap();
        progress.assignment.take(0, 1, 10);
        reports.send(first).unwrap();
        assert_eq!(progress.wait_until_below(2, Duration::from_secs(5)), 1);
    }

    #[test]
    fn waiting_for_room_gives_up_after_the_timeout() {
        let (mut progress, _reports) = progress();
        progress.assignment.take(0, 0, 10);
        assert_eq!(progress.wait_until_below(1, Duration::from_millis(10)), 1);
    }
}
