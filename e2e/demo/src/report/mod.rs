//! The report at the end of a run: the chart as SVG and PNG, the summary as Markdown (which
//! shows the chart) and as JSON (for scripts), in one directory.

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
    Ok(files)
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
