//! The demo's CI smoke run: a one-minute day in plain mode on the test bed. It must scale the
//! consumers up for the rush and back down after it, every accepted order must complete exactly
//! once (checked by the demo against the status topic), and the report must be written.

use std::path::Path;
use std::process::Command;

fn non_empty(path: &Path) -> bool {
    std::fs::metadata(path).is_ok_and(|m| m.len() > 0)
}

#[test]
fn a_short_plain_run_scales_up_and_down_and_completes_every_order_once() {
    let out = std::env::temp_dir().join(e2e::fixtures::unique_name("demo-smoke"));
    let output = Command::new(env!("CARGO_BIN_EXE_coffee-demo"))
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
