//! The report at the end of a run: the chart as SVG and PNG, the summary as Markdown (which
//! shows the chart) and as JSON (for scripts), and every second's figures as CSV, in one
//! directory.

mod chart;
mod summary;

use std::path::{Path, PathBuf};

use anyhow::Context;

pub use summary::Summary;

use crate::observe::Sample;
use crate::profile::Profile;

/// The files of a report.
#[derive(Debug, Clone)]
pub struct Files {
    pub svg: PathBuf,
    pub png: PathBuf,
    pub markdown: PathBuf,
    pub json: PathBuf,
    pub csv: PathBuf,
}

/// Writes the report of a run into `dir`.
pub fn write(
    dir: &Path,
    title: &str,
    profile: &Profile,
    samples: &[Sample],
    summary: &Summary,
) -> anyhow::Result<Files> {
    std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    let files = Files {
        svg: dir.join("report.svg"),
        png: dir.join("report.png"),
        markdown: dir.join("report.md"),
        json: dir.join("summary.json"),
        csv: dir.join("samples.csv"),
    };
    let svg = chart::svg(title, profile, samples, &summary.decisions);
    write_file(&files.svg, svg.as_bytes())?;
    write_file(&files.png, &png(&svg)?)?;
    write_file(
        &files.markdown,
        summary.markdown(title, "report.png").as_bytes(),
    )?;
    write_file(
        &files.json,
        serde_json::to_string_pretty(&summary.json())?.as_bytes(),
    )?;
    write_file(&files.csv, csv(samples).as_bytes())?;
    Ok(files)
}

/// One line a second, in the units of [`Sample`].
fn csv(samples: &[Sample]) -> String {
    let ms = |d: Option<(std::time::Duration, std::time::Duration)>, p99: bool| {
        d.map_or(String::new(), |(p50, q99)| {
            format!("{:.2}", if p99 { q99 } else { p50 }.as_secs_f64() * 1e3)
        })
    };
    let mut out = String::from(
        "t,phase,sent_per_s,accepted_per_s,completed_per_s,lag,worst_partition,worst_lag,pods,workers,replicas,desired_pods,desired_workers,stalled,intake_p50_ms,intake_p99_ms,end_to_end_p50_ms,end_to_end_p99_ms\n",
    );
    for s in samples {
        let (worst_partition, worst_lag) =
            s.worst.map_or((String::new(), String::new()), |(p, l)| {
                (p.to_string(), l.to_string())
            });
        let (desired_pods, desired_workers) =
            s.desired.map_or((String::new(), String::new()), |(p, w)| {
                (p.to_string(), w.to_string())
            });
        let stalled: Vec<String> = s.stalled.iter().map(i32::to_string).collect();
        out.push_str(&format!(
            "{:.1},{},{:.1},{},{},{},{worst_partition},{worst_lag},{},{},{},{desired_pods},{desired_workers},{},{},{},{},{}\n",
            s.t,
            s.phase,
            s.target_rate,
            s.accepted_per_s,
            s.completed_per_s,
            s.lag,
            s.pods,
            s.workers,
            s.replicas,
            stalled.join(" "),
            ms(s.intake, false),
            ms(s.intake, true),
            ms(s.end_to_end, false),
            ms(s.end_to_end, true),
        ));
    }
    out
}

fn write_file(path: &Path, bytes: &[u8]) -> anyhow::Result<()> {
    std::fs::write(path, bytes).with_context(|| format!("writing {}", path.display()))
}

/// Renders the SVG at twice its size with the system's fonts.
fn png(svg: &str) -> anyhow::Result<Vec<u8>> {
    let mut options = resvg::usvg::Options::default();
    options.fontdb_mut().load_system_fonts();
    let tree = resvg::usvg::Tree::from_str(svg, &options).context("parsing the report's SVG")?;
    let size = tree
        .size()
        .to_int_size()
        .scale_by(2.0)
        .context("the chart's size")?;
    let mut pixmap = resvg::tiny_skia::Pixmap::new(size.width(), size.height())
        .context("a pixmap for the chart")?;
    resvg::render(
        &tree,
        resvg::tiny_skia::Transform::from_scale(2.0, 2.0),
        &mut pixmap.as_mut(),
    );
    pixmap.encode_png().context("encoding the chart as PNG")
}
