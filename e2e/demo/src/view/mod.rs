//! What the person running the demo sees while it runs: a terminal UI, or one line a second
//! when stdout is not a terminal (or with `--plain`). Both show the same [`Board`].

mod plain;
mod tui;

use std::io::IsTerminal;

use crate::observe::{Decision, Sample};

/// Everything on screen.
#[derive(Debug, Clone, Default)]
pub struct Board {
    pub samples: Vec<Sample>,
    pub decisions: Vec<Decision>,
    /// Length of the load profile, in seconds.
    pub length: f64,
    /// What the demo is doing now, e.g. "rush hour" or "draining".
    pub stage: String,
    /// Where to look by hand: namespace, pipeline, Prometheus.
    pub namespace: String,
    pub pipeline: String,
    pub prometheus_url: String,
    /// A producer pod's address, for `curl`.
    pub intake_url: Option<String>,
}

/// The live view.
#[derive(Debug)]
pub enum View {
    Tui(tui::Tui),
    Plain(plain::Plain),
}

impl View {
    /// A terminal UI when stdout is a terminal and `plain` is not asked for.
    pub fn open(plain: bool) -> anyhow::Result<Self> {
        if plain || !std::io::stdout().is_terminal() {
            Ok(View::Plain(plain::Plain::default()))
        } else {
            Ok(View::Tui(tui::Tui::open()?))
        }
    }

    pub fn show(&mut self, board: &Board) -> anyhow::Result<()> {
        match self {
            View::Tui(tui) => tui.draw(board),
            View::Plain(plain) => {
                plain.print(board);
                Ok(())
            }
        }
    }

    /// Whether the person asked to quit since the last call (`q`, Esc or Ctrl-C in the
    /// terminal UI).
    pub fn quit_requested(&mut self) -> bool {
        match self {
            View::Tui(tui) => tui.quit_requested(),
            View::Plain(_) => false,
        }
    }

    /// A message outside the live view (in plain mode, a line; in the UI, the stage line).
    pub fn note(&mut self, board: &mut Board, message: &str) -> anyhow::Result<()> {
        board.stage = message.to_owned();
        match self {
            View::Tui(tui) => tui.draw(board),
            View::Plain(_) => {
                println!("demo: {message}");
                Ok(())
            }
        }
    }

    /// Gives the terminal back.
    pub fn close(self) {
        if let View::Tui(tui) = self {
            tui.close();
        }
    }
}

/// `1:05` for 65 seconds.
fn clock(seconds: f64) -> String {
    let whole = seconds.max(0.0) as u64;
    format!("{}:{:02}", whole / 60, whole % 60)
}

/// `12.3` milliseconds.
fn ms(duration: std::time::Duration) -> String {
    format!("{:.1}", duration.as_secs_f64() * 1e3)
}

/// "p50/p99 ms" of a pair, or "–".
fn pair(latency: Option<(std::time::Duration, std::time::Duration)>) -> String {
    latency.map_or("–".to_owned(), |(p50, p99)| {
        format!("{}/{} ms", ms(p50), ms(p99))
    })
}

/// "2×8" of a size, or "–".
fn size(size: Option<(i32, i32)>) -> String {
    size.map_or("–".to_owned(), |(p, w)| format!("{p}×{w}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clocks_show_minutes_and_seconds() {
        assert_eq!(clock(65.4), "1:05");
        assert_eq!(clock(-1.0), "0:00");
    }

    #[test]
    fn missing_figures_show_as_a_dash() {
        assert_eq!(pair(None), "–");
        assert_eq!(size(Some((2, 8))), "2×8");
    }
}
