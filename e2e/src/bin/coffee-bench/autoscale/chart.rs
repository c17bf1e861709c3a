//! A picture of one profile: the load, the lag, and the consumers (pods × workers) over time,
//! ours against KEDA + HPA, as a self-contained SVG.

use std::fmt::Write as _;

use e2e::measure::Sample;

const WIDTH: f64 = 900.0;
const PANEL: f64 = 150.0;
const LEFT: f64 = 70.0;
const COLOURS: [(&str, &str); 2] = [("ours", "#1f77b4"), ("KEDA+HPA", "#ff7f0e")];

/// One panel: a value of the samples, drawn for every run.
struct Panel {
    title: &'static str,
    value: fn(&Sample) -> f64,
}

const PANELS: [Panel; 3] = [
    Panel {
        title: "orders/s sent",
        value: |s| s.rate,
    },
    Panel {
        title: "lag (messages, independent reader)",
        value: |s| s.lag as f64,
    },
    Panel {
        title: "consumer workers (ready pods × workers per pod)",
        value: |s| f64::from(s.pods) * f64::from(s.workers),
    },
];

/// The SVG for `runs` (label, samples) of profile `name`.
pub fn svg(name: &str, runs: &[(&str, &[Sample])]) -> String {
    let length = runs
        .iter()
        .flat_map(|(_, s)| s.last())
        .map(|s| s.t)
        .fold(1.0, f64::max);
    let height = 40.0 + PANEL * PANELS.len() as f64 + 30.0;
    let mut out = format!(
        r#"<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{height}" font-family="sans-serif" font-size="12"><rect width="100%" height="100%" fill="white"/><text x="{LEFT}" y="20" font-size="15">{name}: ours (blue) vs KEDA + HPA (orange)</text>"#
    );
    for (i, panel) in PANELS.iter().enumerate() {
        let top = 40.0 + PANEL * i as f64;
        let max = runs
            .iter()
            .flat_map(|(_, s)| s.iter().map(panel.value))
            .fold(1.0, f64::max);
        let _ = write!(
            out,
            r##"<text x="{LEFT}" y="{}" fill="#333">{} (max {max:.0})</text><line x1="{LEFT}" y1="{}" x2="{}" y2="{}" stroke="#999"/>"##,
            top + 12.0,
            panel.title,
            top + PANEL - 10.0,
            WIDTH - 10.0,
            top + PANEL - 10.0,
        );
        for (label, samples) in runs {
            let colour = COLOURS
                .iter()
                .find(|(l, _)| l == label)
                .map_or("#555", |(_, c)| c);
            let points: Vec<String> = samples
                .iter()
                .map(|s| {
                    let x = LEFT + (WIDTH - LEFT - 10.0) * s.t / length;
                    let y = top + PANEL - 10.0 - (PANEL - 30.0) * (panel.value)(s) / max;
                    format!("{x:.1},{y:.1}")
                })
                .collect();
            let _ = write!(
                out,
                r#"<polyline fill="none" stroke="{colour}" stroke-width="1.5" points="{}"/>"#,
                points.join(" ")
            );
        }
    }
    let _ = write!(
        out,
        r##"<text x="{LEFT}" y="{}" fill="#333">0 s</text><text x="{}" y="{}" fill="#333" text-anchor="end">{length:.0} s</text></svg>"##,
        height - 10.0,
        WIDTH - 10.0,
        height - 10.0,
    );
    out
}
