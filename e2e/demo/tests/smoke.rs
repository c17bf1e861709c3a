//! The demo's CI smoke runs on the test bed, in plain mode. A one-minute day must scale the
//! consumers up for the rush and back down after it, every accepted order must complete exactly
//! once (checked by the demo against the status topic), and the report must be written. A kept
//! demo must keep running after `coffee-demo` exits, until `--down`. The demo's names are
//! fixed, so the tests take turns.

use std::path::Path;
use std::process::Command;
use std::time::Duration;

use e2e::operator::{kubectl, repo};
use e2e::poll::eventually;
use e2e::testbed::TestBed;
use tokio::io::{AsyncBufReadExt, AsyncReadExt, BufReader};

static TURN: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

const DEMO: &str = env!("CARGO_BIN_EXE_coffee-demo");

fn non_empty(path: &Path) -> bool {
    std::fs::metadata(path).is_ok_and(|m| m.len() > 0)
}

/// Checked before anything starts, so a fresh clone with a partial build learns at once which
/// binary is missing and how to build it, not minutes later.
#[test]
fn a_missing_binary_is_named_with_its_build_command_before_anything_starts() {
    let empty = std::env::temp_dir().join(e2e::fixtures::unique_name("demo-no-binaries"));
    std::fs::create_dir_all(&empty).expect("a scratch directory");
    let output = Command::new(DEMO)
        .args(["--plain", "--bin-dir"])
        .arg(&empty)
        .output()
        .expect("coffee-demo runs");
    std::fs::remove_dir_all(&empty).ok();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("coffee-operator is not in"), "{stderr}");
    assert!(
        stderr.contains("cargo build --locked --release --bin coffee-operator"),
        "{stderr}"
    );
}

#[test]
fn a_short_plain_run_scales_up_and_down_and_completes_every_order_once() {
    let _turn = TURN.blocking_lock();
    let out = std::env::temp_dir().join(e2e::fixtures::unique_name("demo-smoke"));
    let output = Command::new(DEMO)
        .args([
            "--profile",
            "smoke",
            "--duration",
            "60",
            "--peak-rate",
            "150",
            "--scale-down-after",
            "10",
            "--plain",
            "--out",
        ])
        .arg(&out)
        .output()
        .expect("coffee-demo runs");
    let said = format!(
        "stdout:\n{}\nstderr:\n{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(output.status.success(), "the demo failed\n{said}");
    let summary: serde_json::Value =
        serde_json::from_slice(&std::fs::read(out.join("summary.json")).expect("summary.json"))
            .expect("summary.json is JSON");
    assert_eq!(summary["passed"], true, "{summary:#}\n{said}");
    assert!(summary["accepted"].as_u64().unwrap() > 1_000, "{summary:#}");
    assert_eq!(
        summary["completed_once"], summary["accepted"],
        "{summary:#}"
    );
    assert_eq!(summary["completed_twice"], 0, "{summary:#}");
    assert_eq!(summary["scaled_up_and_down"], true, "{summary:#}\n{said}");
    for file in ["report.png", "report.svg", "report.md", "pipeline.yaml"] {
        assert!(non_empty(&out.join(file)), "{file} is missing or empty");
    }
    std::fs::remove_dir_all(&out).ok();
}

fn kubectl_says(bed: &TestBed, args: &[&str]) -> String {
    let output = kubectl(bed, args, None).expect("kubectl runs");
    String::from_utf8_lossy(&output.stdout).into_owned()
}

#[tokio::test]
async fn a_kept_demo_runs_on_after_exit_until_down() {
    let _turn = TURN.lock().await;
    let bed = TestBed::load().expect("the test bed (start it with `e2e/testbed up`)");
    let out = std::env::temp_dir().join(e2e::fixtures::unique_name("demo-keep"));
    let mut demo = tokio::process::Command::new(DEMO)
        .args([
            "--profile",
            "steady",
            "--duration",
            "10",
            "--peak-rate",
            "30",
        ])
        .args(["--keep", "--plain", "--out"])
        .arg(&out)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .expect("coffee-demo starts");
    let ready = ["get", "cop", "coffee-shop", "-n", "coffee-demo", "-o"];
    let ready = [
        &ready[..],
        &["jsonpath={.status.conditions[?(@.type==\"Ready\")].status}"],
    ]
    .concat();
    // Past the ten-second day (a sample line at 0:12), the load goes on at its last rate until
    // interrupted.
    let mut lines = BufReader::new(demo.stdout.take().expect("stdout")).lines();
    let mut said = String::new();
    let past_the_day = tokio::time::timeout(Duration::from_secs(180), async {
        while let Some(line) = lines.next_line().await.expect("reading the demo's output") {
            said.push_str(&line);
            said.push('\n');
            if line.trim_start().starts_with("0:12 ") {
                return true;
            }
        }
        false
    })
    .await;
    if past_the_day != Ok(true) {
        let _ = demo.start_kill();
        let mut stderr = String::new();
        if let Some(mut pipe) = demo.stderr.take() {
            let _ = pipe.read_to_string(&mut stderr).await;
        }
        panic!("the demo never got past its day ({past_the_day:?}):\n{said}\n{stderr}");
    }
    let pid = nix::unistd::Pid::from_raw(i32::try_from(demo.id().expect("a pid")).expect("a pid"));
    nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGINT).expect("SIGINT");
    let rest = tokio::time::timeout(Duration::from_secs(120), async {
        while let Some(line) = lines.next_line().await.expect("reading the demo's output") {
            said.push_str(&line);
            said.push('\n');
        }
        demo.wait().await.expect("the demo's exit status")
    })
    .await
    .expect("the demo ends after Ctrl-C");
    let mut stderr = String::new();
    if let Some(mut pipe) = demo.stderr.take() {
        pipe.read_to_string(&mut stderr)
            .await
            .expect("the demo's errors");
    }
    assert!(rest.success(), "{said}\n{stderr}");
    assert!(said.contains("left running"), "{said}");
    assert!(
        non_empty(&out.join("report.png")),
        "the report is written before the hand-over"
    );

    let kept_logs = repo().join("target/demo/kept-pods/coffee-demo");
    eventually(
        "the kept runtime to run the pipeline's pods",
        Duration::from_secs(60),
        || async {
            let pods = std::fs::read_dir(&kept_logs)
                .map(|d| d.count())
                .unwrap_or(0);
            let ready = kubectl_says(&bed, &ready);
            if pods > 0 && ready == "True" {
                Ok(())
            } else {
                Err(format!("{pods} pod logs, Ready {ready}"))
            }
        },
    )
    .await
    .expect("the pipeline runs on after the demo exited");

    let down = Command::new(DEMO)
        .arg("--down")
        .output()
        .expect("coffee-demo --down runs");
    assert!(
        down.status.success(),
        "{}",
        String::from_utf8_lossy(&down.stderr)
    );
    for namespace in ["coffee-demo", "coffee-demo-system"] {
        let found = kubectl(&bed, &["get", "namespace", namespace], None).expect("kubectl runs");
        assert!(
            !found.status.success(),
            "namespace {namespace} outlived --down"
        );
    }
    assert!(!repo().join("target/demo/kept.pids").exists());
    std::fs::remove_dir_all(&out).ok();
}
