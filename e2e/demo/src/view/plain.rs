//! One line a second, for logs and CI: the same figures as the terminal UI.

use super::{Board, clock, pair, size};

#[derive(Debug, Default)]
pub struct Plain {
    printed_samples: usize,
    printed_decisions: usize,
}

impl Plain {
    pub fn print(&mut self, board: &Board) {
        for decision in board.decisions.iter().skip(self.printed_decisions) {
            println!(
                "{:>6} decision {}×{} → {}×{} {}: {}",
                clock(decision.t),
                decision.from.0,
                decision.from.1,
                decision.to.0,
                decision.to.1,
                decision.reason,
                decision.message
            );
        }
        self.printed_decisions = board.decisions.len();
        for s in board.samples.iter().skip(self.printed_samples) {
            let stalled = if s.stalled.is_empty() {
                String::new()
            } else {
                format!(" stalled {:?}", s.stalled)
            };
            println!(
                "{:>6} {:<16} sent {:>5.0}/s accepted {:>5.0}/s completed {:>5.0}/s lag {:>6} worst {} consumers {}×{} desired {} intake {} e2e {}{stalled}",
                clock(s.t),
                s.phase,
                s.target_rate,
                s.accepted_per_s,
                s.completed_per_s,
                s.lag,
                s.worst
                    .map_or("–".to_owned(), |(p, lag)| format!("p{p}:{lag}")),
                s.pods,
                s.workers,
                size(s.desired),
                pair(s.intake),
                pair(s.end_to_end),
            );
        }
        self.printed_samples = board.samples.len();
    }
}
