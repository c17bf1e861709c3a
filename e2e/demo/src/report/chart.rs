//! The report's picture, a self-contained SVG: orders per second (sent, accepted, completed), the
//! lag (total and the worst partition), and the consumers (pods × workers running and desired)
//! over the run, the phases of the day shaded behind, and every scaling decision a line across
//! all three panels labelled with its reason.

use std::fmt::Write as _;

use crate::observe::{Decision, Sample};
use crate::profile::Profile;

const WIDTH: f64 = 1000.0;
const PANEL: f64 = 170.0;
const LEFT: f64 = 70.0;
const RIGHT: f64 = 20.0;
const TOP: f64 = 60.0;

/// A line of one panel.
struct Series {
    label: &'static str,
    colour: &'static str,
    dashed: bool,
    value: fn(&Sample) -> Option<f64>,
}

struct Panel {
    title: &'static str,
    series: &'static [Series],
}

const PANELS: [Panel; 3] = [
    Panel {
        title: "orders/s",
        series: &[
            Series {
                label: "sent",
                colour: "#999999",
                dashed: true,
                value: |s| Some(s.target_rate),
            },
            Series {
                label: "accepted",
                colour: "#1f77b4",
                dashed: false,
                value: |s| Some(s.accepted_per_s),
            },
            Series {
                label: "completed",
                colour: "#2ca02c",
                dashed: false,
                value: |s| Some(s.completed_per_s),
            },
        ],
    },
    Panel {
        title: "lag (messages)",
        series: &[
            Series {
                label: "total",
                colour: "#d62728",
                dashed: false,
                value: |s| Some(s.lag as f64),
            },
            Series {
                label: "worst partition",
                colour: "#ff7f0e",
                dashed: false,
                value: |s| s.worst.map(|(_, lag)| lag as f64),
            },
        ],
    },
    Panel {
        title: "consumer workers (pods × workers)",
        series: &[
            Series {
                label: "running",
                colour: "#1f77b4",
                dashed: false,
                value: |s| Some(f64::from(s.pods) * f64::from(s.workers)),
            },
            Series {
                label: "desired",
                colour: "#9467bd",
                dashed: true,
                value: |s| s.desired.map(|(p, w)| f64::from(p) * f64::from(w)),
            },
        ],
    },
];

/// Decisions listed under the chart, per row.
const LEGEND_COLUMNS: usize = 3;

/// The chart of a run.
pub fn svg(title: &str, profile: &Profile, samples: &[Sample], decisions: &[Decision]) -> String {
    let length = samples
        .last()
        .map_or(1.0, |s| s.t)
        .max(profile.length().as_secs_f64())
        .max(1.0);
    let x = |t: f64| LEFT + (WIDTH - LEFT - RIGHT) * t / length;
    let bottom = TOP + PANEL * PANELS.len() as f64;
    let legend_rows = decisions.len().div_ceil(LEGEND_COLUMNS);
    let height = bottom + 40.0 + 16.0 * legend_rows as f64;
    let mut out = format!(
        r#"<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{height}" font-family="DejaVu Sans, sans-serif" font-size="12"><rect width="100%" height="100%" fill="white"/><text x="{LEFT}" y="22" font-size="16">{}</text>"#,
        escape(title)
    );
    phases(&mut out, profile, &x, bottom);
    for (i, panel) in PANELS.iter().enumerate() {
        draw_panel(&mut out, panel, TOP + PANEL * i as f64, samples, &x);
    }
    mark_decisions(&mut out, decisions, &x, bottom);
    let _ = write!(
        out,
        r##"<text x="{LEFT}" y="{:.0}" fill="#333">0 s</text><text x="{:.0}" y="{:.0}" fill="#333" text-anchor="end">{length:.0} s</text></svg>"##,
        bottom + 20.0,
        WIDTH - RIGHT,
        bottom + 20.0,
    );
    out
}

/// Each decision: a line across the panels, coloured by direction, numbered at its foot, and
/// listed with its sizes and reason under the chart.
fn mark_decisions(out: &mut String, decisions: &[Decision], x: &dyn Fn(f64) -> f64, bottom: f64) {
    let mut previous_label = f64::MIN;
    let mut raise = 0.0;
    for (i, decision) in decisions.iter().enumerate() {
        let up = decision.to.0 * decision.to.1 > decision.from.0 * decision.from.1;
        let colour = if up { "#c0392b" } else { "#2e7d32" };
        let at = x(decision.t);
        // Numbers of decisions close together climb instead of overlapping.
        raise = if at - previous_label < 16.0 {
            raise + 12.0
        } else {
            0.0
        };
        previous_label = at;
        let _ = write!(
            out,
            r##"<line x1="{at:.1}" y1="{TOP}" x2="{at:.1}" y2="{bottom}" stroke="{colour}" stroke-dasharray="2,3"/><text x="{:.1}" y="{:.1}" font-size="10" fill="{colour}">{}</text>"##,
            at + 2.0,
            bottom - 4.0 - raise,
            i + 1,
        );
        let column = (i % LEGEND_COLUMNS) as f64;
        let row = (i / LEGEND_COLUMNS) as f64;
        let _ = write!(
            out,
            r##"<text x="{:.0}" y="{:.0}" font-size="11" fill="{colour}">{}. {:.0} s  {}×{} → {}×{}  {}</text>"##,
            LEFT + column * (WIDTH - LEFT) / LEGEND_COLUMNS as f64,
            bottom + 40.0 + 16.0 * row,
            i + 1,
            decision.t,
            decision.from.0,
            decision.from.1,
            decision.to.0,
            decision.to.1,
            escape(&decision.reason),
        );
    }
}

/// The phases of the day as shaded bands with their names.
fn phases(out: &mut String, profile: &Profile, x: &dyn Fn(f64) -> f64, bottom: f64) {
    let mut start = 0.0;
    for (i, phase) in profile.phases.iter().enumerate() {
        let (from, to) = (x(start), x(start + phase.seconds));
        let fill = if i % 2 == 0 { "#f4f4f4" } else { "#ffffff" };
        // About 6.5 px a character at this size: a name longer than its band is cut short.
        let room = ((to - from - 6.0) / 6.5).max(0.0) as usize;
        let name: String = if phase.name.chars().count() > room {
            let cut: String = phase.name.chars().take(room.saturating_sub(1)).collect();
            if cut.is_empty() {
                cut
            } else {
                format!("{cut}…")
            }
        } else {
            phase.name.to_owned()
        };
        let _ = write!(
            out,
            r##"<rect x="{from:.1}" y="{:.0}" width="{:.1}" height="{:.0}" fill="{fill}"/><text x="{:.1}" y="{:.0}" font-size="11" fill="#666">{}</text>"##,
            TOP - 20.0,
            to - from,
            bottom - TOP + 20.0,
            from + 3.0,
            TOP - 6.0,
            escape(&name),
        );
        start += phase.seconds;
    }
}

fn draw_panel(
    out: &mut String,
    panel: &Panel,
    top: f64,
    samples: &[Sample],
    x: &dyn Fn(f64) -> f64,
) {
    let max = panel
        .series
        .iter()
        .flat_map(|series| samples.iter().filter_map(series.value))
        .fold(1.0, f64::max);
    let base = top + PANEL - 15.0;
    let y = |v: f64| base - (PANEL - 40.0) * v / max;
    let _ = write!(
        out,
        r##"<text x="{LEFT}" y="{:.0}" fill="#222">{} (max {max:.0})</text><line x1="{LEFT}" y1="{base:.0}" x2="{:.0}" y2="{base:.0}" stroke="#999"/><text x="{:.0}" y="{:.0}" text-anchor="end" fill="#666">{max:.0}</text><text x="{:.0}" y="{base:.0}" text-anchor="end" fill="#666">0</text>"##,
        top + 12.0,
        panel.title,
        WIDTH - RIGHT,
        LEFT - 6.0,
        y(max) + 4.0,
        LEFT - 6.0,
    );
    let mut legend = LEFT + 360.0;
    for series in panel.series {
        let points: Vec<String> = samples
            .iter()
            .filter_map(|s| (series.value)(s).map(|v| format!("{:.1},{:.1}", x(s.t), y(v))))
            .collect();
        let dash = if series.dashed {
            r#" stroke-dasharray="6,4""#
        } else {
            ""
        };
        let _ = write!(
            out,
            r#"<polyline fill="none" stroke="{}" stroke-width="1.6"{dash} points="{}"/><line x1="{legend:.0}" y1="{:.0}" x2="{:.0}" y2="{:.0}" stroke="{}" stroke-width="3"{dash}/><text x="{:.0}" y="{:.0}">{}</text>"#,
            series.colour,
            points.join(" "),
            top + 8.0,
            legend + 18.0,
            top + 8.0,
            series.colour,
            legend + 22.0,
            top + 12.0,
            series.label,
        );
        legend += 130.0;
    }
}

fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::profile::Kind;

    fn samples() -> Vec<Sample> {
        (0..10)
            .map(|t| Sample {
                t: f64::from(t),
                target_rate: 100.0,
                accepted_per_s: 100.0,
                completed_per_s: 90.0,
                lag: i64::from(t) * 10,
                worst: Some((3, i64::from(t))),
                pods: 1,
                workers: 4,
                desired: Some((2, 4)),
                ..Sample::default()
            })
            .collect()
    }

    #[test]
    fn every_series_is_drawn_and_every_decision_marked_with_its_reason() {
        let profile = Profile::new(Kind::Smoke, std::time::Duration::from_secs(10), 100.0);
        let decision = Decision {
            t: 4.0,
            from: (1, 4),
            to: (2, 4),
            reason: "LagGrowing".into(),
            message: "lag 40 grows".into(),
        };
        let svg = svg("demo <run>", &profile, &samples(), &[decision]);
        assert_eq!(svg.matches("<polyline").count(), 7);
        assert!(svg.contains("1. 4 s  1×4 → 2×4  LagGrowing"));
        assert!(svg.contains("demo &lt;run&gt;"), "titles are escaped");
        assert!(svg.contains("rush"), "phases are named");
    }

    #[test]
    fn a_phase_name_longer_than_its_band_is_cut_short() {
        let profile = Profile::new(Kind::CoffeeShop, std::time::Duration::from_secs(3_000), 1.0);
        let mut samples = samples();
        // "rush hour begins" gets about 60 px: room for eight characters.
        samples.last_mut().expect("samples").t = 4_550.0;
        let svg = svg("t", &profile, &samples, &[]);
        assert!(!svg.contains(">rush hour begins<"));
        assert!(svg.contains('…'));
    }

    #[test]
    fn a_series_without_values_draws_no_points() {
        let profile = Profile::new(Kind::Steady, std::time::Duration::from_secs(10), 1.0);
        let mut samples = samples();
        for s in &mut samples {
            s.desired = None;
        }
        let svg = svg("t", &profile, &samples, &[]);
        assert!(svg.contains(r#"stroke-dasharray="6,4" points="""#));
    }
}
