//! One demo run: start the system, play the day's load while sampling every second, let the
//! accepted orders drain, check them against the status topic, write the report, tear down.

use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use e2e::kafka::GroupReader;
use e2e::load::Load;
use e2e::testbed::TestBed;

use crate::observe::Observer;
use crate::profile::Profile;
use crate::report::{self, Summary};
use crate::system::{self, NAMESPACE, PIPELINE, PipelineSize, System};
use crate::view::{Board, View};
use e2e::ledger::{self, Ledger};

/// How long accepted orders may take to complete once the load stops.
const DRAIN: Duration = Duration::from_secs(120);

#[derive(Debug)]
pub struct Options {
    pub profile: Profile,
    pub size: PipelineSize,
    pub keep: bool,
    pub plain: bool,
    pub bin_dir: PathBuf,
    pub out_dir: PathBuf,
}

/// Runs the demo; whether every accepted order completed exactly once.
pub async fn run(bed: &TestBed, options: Options) -> anyhow::Result<bool> {
    let mut view = View::open(options.plain)?;
    let mut board = Board {
        length: options.profile.length().as_secs_f64(),
        namespace: NAMESPACE.to_owned(),
        pipeline: PIPELINE.to_owned(),
        prometheus_url: bed.prometheus_url.clone(),
        ..Board::default()
    };
    let started = start(bed, &options, &mut view, &mut board).await;
    let system = match started {
        Ok(system) => system,
        Err(error) => {
            view.close();
            return Err(error);
        }
    };
    let played = play(bed, &system, &options, &mut view, &mut board).await;
    view.close();
    let result = match played {
        Ok(summary) => {
            let title = format!("coffee-pipeline demo: {PIPELINE}");
            let files = report::write(
                &options.out_dir,
                &title,
                &options.profile,
                &board.samples,
                &summary,
            )?;
            print_result(&summary, &files, &system);
            Ok(summary.check.passed())
        }
        Err(error) => Err(error),
    };
    if options.keep {
        let logs = crate::keep::hand_over(bed, system, &options.bin_dir).await?;
        println!(
            "demo: left running in namespaces {NAMESPACE} and {} (pods now run by coffee-runtime, logs in {}); stop it with `e2e/demo/run --down`",
            system::OPERATOR_NAMESPACE,
            logs.display()
        );
    } else {
        println!("demo: tearing down (deleting the pipeline and its topics, helm uninstall)");
        println!("demo: {}", system.stop().await?);
    }
    result
}

async fn start(
    bed: &TestBed,
    options: &Options,
    view: &mut View,
    board: &mut Board,
) -> anyhow::Result<System> {
    if crate::keep::kept() {
        view.note(board, "tearing down the demo that --keep left running")?;
        crate::keep::down(bed)?;
    } else {
        view.note(board, "clearing what an unfinished demo left")?;
        system::clear_leftovers(bed)?;
    }
    system::start(
        bed,
        &options.bin_dir,
        &options.size,
        &options.out_dir,
        &mut |message| {
            // A view that cannot draw a step shows the next sample instead.
            let _ = view.note(board, message);
        },
    )
    .await
}

/// Plays the profile (and, with `keep`, goes on until asked to quit), then drains.
async fn play(
    bed: &TestBed,
    system: &System,
    options: &Options,
    view: &mut View,
    board: &mut Board,
) -> anyhow::Result<Summary> {
    let ledger = Arc::new(Mutex::new(Ledger::default()));
    let follower = ledger::follow(bed, &system.wiring.status_topic, Arc::clone(&ledger)).await?;
    let reader = GroupReader::new(bed, &system.wiring.topic, &system.wiring.group).await?;
    let installed = &system.installed;
    let producers = format!("{PIPELINE}-producer");
    let load = Load::start(
        &installed.pipelines.runtime,
        NAMESPACE,
        &producers,
        8080,
        0.0,
    );
    let counts = Arc::clone(&load.counts);
    let mut observer = Observer::new(PIPELINE, reader, Arc::clone(&counts), Arc::clone(&ledger));
    let profile = &options.profile;
    board.intake_url = crate::observe::intake_url(installed, PIPELINE);
    if let Some(url) = &board.intake_url {
        view.note(
            board,
            &format!("orders go to {url}/order (and the other producer pod)"),
        )?;
    }
    let origin = Instant::now();
    let mut tick = tokio::time::interval(Duration::from_millis(100));
    let mut next_sample = Duration::from_secs(1);
    // The first Ctrl-C (or `q`) ends the load and drains; a second one stops at once.
    let mut interrupts = 0;
    let mut interrupt = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::interrupt())?;
    let mut draining_since: Option<Instant> = None;
    loop {
        tokio::select! {
            _ = tick.tick() => {}
            _ = interrupt.recv() => interrupts += 1,
        }
        if view.quit_requested() {
            interrupts += 1;
        }
        let at = origin.elapsed();
        let in_day = at < profile.length() || options.keep;
        if draining_since.is_none() && (!in_day || interrupts > 0) {
            load.set_rate(0.0);
            draining_since = Some(Instant::now());
        }
        if draining_since.is_none() {
            load.set_rate(profile.rate(at));
        }
        if at < next_sample {
            continue;
        }
        next_sample += Duration::from_secs(1);
        let (phase, rate) = match draining_since {
            Some(_) => ("draining", 0.0),
            None => (profile.phase_at(at).0.name, profile.rate(at)),
        };
        let (sample, decision) = observer
            .sample(installed, at.as_secs_f64(), phase, rate)
            .await?;
        board.stage = phase.to_owned();
        board.samples.push(sample);
        board.decisions.extend(decision);
        view.show(board)?;
        if let Some(since) = draining_since {
            let accepted = counts.acknowledged_count();
            let completed = ledger_completed(&ledger);
            if interrupts > 1 || completed >= accepted || since.elapsed() > DRAIN {
                break;
            }
        }
    }
    load.stop();
    follower.abort();
    let acknowledged = counts.acknowledged_since(0);
    let check = ledger
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
        .check(&acknowledged);
    let window = options.size.scale_down_after;
    Ok(Summary::of(
        profile,
        &board.samples,
        &board.decisions,
        check,
        window,
    ))
}

fn ledger_completed(ledger: &Mutex<Ledger>) -> usize {
    ledger
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
        .completed()
}

fn print_result(summary: &Summary, files: &report::Files, system: &System) {
    let c = &summary.check;
    println!(
        "demo: {} orders accepted, {} completed exactly once, {} lost, {} completed twice: {}",
        c.accepted,
        c.completed_once,
        c.lost.len(),
        c.completed_twice,
        if c.passed() { "passed" } else { "FAILED" }
    );
    println!(
        "demo: {} scaling decisions, {} rebalances, peak lag {}",
        summary.decisions.len(),
        summary.rebalances,
        summary.peak_lag
    );
    println!(
        "demo: pipeline applied from {}",
        system.pipeline_file.display()
    );
    for path in [
        &files.png,
        &files.svg,
        &files.markdown,
        &files.json,
        &files.csv,
    ] {
        println!("demo: report {}", path.display());
    }
}
