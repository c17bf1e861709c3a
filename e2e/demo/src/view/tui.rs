//! The terminal UI: load and lag as sparklines, the consumers now and desired, latencies, and
//! the autoscaler's last decisions with their reasons. A thread reads the keyboard so that `q`
//! works while the demo waits on servers.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use ratatui::DefaultTerminal;
use ratatui::Frame;
use ratatui::crossterm::event::{self, Event, KeyCode, KeyEventKind, KeyModifiers};
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::{Color, Style, Stylize};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, List, ListItem, Paragraph, Sparkline};

use super::{Board, clock, pair, size};
use crate::observe::Sample;

pub struct Tui {
    terminal: DefaultTerminal,
    quit: Arc<AtomicBool>,
    stop_keys: Arc<AtomicBool>,
}

impl std::fmt::Debug for Tui {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Tui").finish_non_exhaustive()
    }
}

impl Tui {
    pub fn open() -> anyhow::Result<Self> {
        let terminal = ratatui::try_init()?;
        let quit = Arc::new(AtomicBool::new(false));
        let stop_keys = Arc::new(AtomicBool::new(false));
        let (q, stop) = (Arc::clone(&quit), Arc::clone(&stop_keys));
        std::thread::spawn(move || {
            while !stop.load(Ordering::Relaxed) {
                if !event::poll(Duration::from_millis(100)).unwrap_or(false) {
                    continue;
                }
                if let Ok(Event::Key(key)) = event::read()
                    && key.kind == KeyEventKind::Press
                {
                    let ctrl_c = key.code == KeyCode::Char('c')
                        && key.modifiers.contains(KeyModifiers::CONTROL);
                    if ctrl_c || matches!(key.code, KeyCode::Char('q') | KeyCode::Esc) {
                        q.store(true, Ordering::Relaxed);
                    }
                }
            }
        });
        Ok(Self {
            terminal,
            quit,
            stop_keys,
        })
    }

    pub fn quit_requested(&self) -> bool {
        self.quit.swap(false, Ordering::Relaxed)
    }

    pub fn draw(&mut self, board: &Board) -> anyhow::Result<()> {
        self.terminal.draw(|frame| render(frame, board))?;
        Ok(())
    }

    pub fn close(self) {
        self.stop_keys.store(true, Ordering::Relaxed);
        ratatui::restore();
    }
}

fn render(frame: &mut Frame, board: &Board) {
    let [title, rates, consumers, decisions, footer] = Layout::vertical([
        Constraint::Length(1),
        Constraint::Fill(2),
        Constraint::Fill(1),
        Constraint::Length(9),
        Constraint::Length(1),
    ])
    .areas(frame.area());
    let last = board.samples.last().cloned().unwrap_or_default();
    render_title(frame, title, board, &last);
    render_rates(frame, rates, &board.samples, &last);
    let [size_area, latency] =
        Layout::horizontal([Constraint::Percentage(50), Constraint::Percentage(50)])
            .areas(consumers);
    render_consumers(frame, size_area, &board.samples, &last);
    render_health(frame, latency, &last);
    render_decisions(frame, decisions, board);
    frame.render_widget(
        Line::from(format!(
            " kubectl get cop -n {} -w   kubectl describe cop {} -n {}   orders {}/order   Prometheus {}",
            board.namespace,
            board.pipeline,
            board.namespace,
            board.intake_url.as_deref().unwrap_or("–"),
            board.prometheus_url
        ))
        .dark_gray(),
        footer,
    );
}

fn render_title(frame: &mut Frame, area: Rect, board: &Board, last: &Sample) {
    frame.render_widget(
        Line::from(vec![
            " coffee-pipeline demo ".bold().reversed(),
            Span::raw(format!(
                "  {}  {} / {}  sending {:.0} orders/s",
                board.stage,
                clock(last.t),
                clock(board.length),
                last.target_rate
            )),
            "   q quits".dark_gray(),
        ]),
        area,
    );
}

/// Orders per second and lag, side by side.
fn render_rates(frame: &mut Frame, area: Rect, samples: &[Sample], last: &Sample) {
    let [orders, lag] =
        Layout::horizontal([Constraint::Percentage(50), Constraint::Percentage(50)]).areas(area);
    two_sparklines(
        frame,
        orders,
        format!(
            " orders/s: accepted {:.0} (blue), completed {:.0} (green) ",
            last.accepted_per_s, last.completed_per_s
        ),
        (samples, |s| s.accepted_per_s as u64, Color::Blue),
        (samples, |s| s.completed_per_s as u64, Color::Green),
    );
    two_sparklines(
        frame,
        lag,
        format!(
            " lag: total {} (red), worst partition {} (yellow) ",
            last.lag,
            last.worst
                .map_or("–".to_owned(), |(p, l)| format!("p{p} {l}"))
        ),
        (samples, |s| s.lag.max(0) as u64, Color::Red),
        (
            samples,
            |s| s.worst.map_or(0, |(_, l)| l.max(0) as u64),
            Color::Yellow,
        ),
    );
}

fn render_health(frame: &mut Frame, area: Rect, last: &Sample) {
    let stalled = if last.stalled.is_empty() {
        "none".to_owned()
    } else {
        format!("{:?}", last.stalled)
    };
    frame.render_widget(
        Paragraph::new(vec![
            Line::from(format!(
                "intake (request → 202)  p50/p99  {}",
                pair(last.intake)
            )),
            Line::from(format!(
                "end to end (request → completed)  {}",
                pair(last.end_to_end)
            )),
            Line::from(format!("refused or unanswered  {}", last.refused)),
            Line::from(format!("stalled partitions  {stalled}")),
        ])
        .block(Block::bordered().title(" latency and health ")),
        area,
    );
}

fn render_decisions(frame: &mut Frame, area: Rect, board: &Board) {
    let items: Vec<ListItem> = board
        .decisions
        .iter()
        .rev()
        .map(|d| {
            ListItem::new(Line::from(vec![
                Span::raw(format!("{:>6}  ", clock(d.t))),
                Span::styled(
                    format!(
                        "{}×{} → {}×{}  {:<16}",
                        d.from.0, d.from.1, d.to.0, d.to.1, d.reason
                    ),
                    Style::new().bold(),
                ),
                Span::raw(d.message.clone()),
            ]))
        })
        .collect();
    frame.render_widget(
        List::new(items).block(Block::bordered().title(" scaling decisions (newest first) ")),
        area,
    );
}

fn render_consumers(frame: &mut Frame, area: Rect, samples: &[Sample], last: &Sample) {
    let block = Block::bordered().title(format!(
        " consumers: {}×{} running, desired {}, replicas {} ",
        last.pods,
        last.workers,
        size(last.desired),
        last.replicas
    ));
    let width = usize::from(block.inner(area).width);
    let data: Vec<u64> = tail(samples, width)
        .iter()
        .map(|s| u64::try_from(s.pods * s.workers).unwrap_or(0))
        .collect();
    frame.render_widget(
        Sparkline::default()
            .block(block)
            .data(&data)
            .style(Style::new().fg(Color::Cyan)),
        area,
    );
}

type Series<'a> = (&'a [Sample], fn(&Sample) -> u64, Color);

/// Two sparklines in one bordered box, each scaled to the larger's maximum.
fn two_sparklines(frame: &mut Frame, area: Rect, title: String, upper: Series, lower: Series) {
    let block = Block::bordered().title(title);
    let inner = block.inner(area);
    frame.render_widget(block, area);
    let width = usize::from(inner.width);
    let upper_data: Vec<u64> = tail(upper.0, width).iter().map(upper.1).collect();
    let lower_data: Vec<u64> = tail(lower.0, width).iter().map(lower.1).collect();
    let max = upper_data
        .iter()
        .chain(&lower_data)
        .copied()
        .max()
        .unwrap_or(1)
        .max(1);
    let [top, bottom] =
        Layout::vertical([Constraint::Percentage(50), Constraint::Percentage(50)]).areas(inner);
    for (area, data, colour) in [(top, upper_data, upper.2), (bottom, lower_data, lower.2)] {
        frame.render_widget(
            Sparkline::default()
                .data(&data)
                .max(max)
                .style(Style::new().fg(colour)),
            area,
        );
    }
}

/// The last `n` samples: as many as the sparkline has columns.
fn tail(samples: &[Sample], n: usize) -> &[Sample] {
    &samples[samples.len().saturating_sub(n)..]
}
