//! The scripts a newcomer runs first (the demo, the chaos suite, the benchmarks) build what they
//! run through `e2e/build-binaries`. A fresh clone once built one binary of five because a
//! script mixed `-p` with `--bin`, and only a machine with an empty `target/` could see it: these
//! tests check the scripts' lists against the workspace without building anything.

use std::collections::BTreeSet;
use std::path::Path;
use std::process::Command;

use e2e::operator::repo;

/// Every `[[bin]]` target of the workspace's members.
fn workspace_binaries() -> BTreeSet<String> {
    let output = Command::new(env!("CARGO"))
        .args(["metadata", "--no-deps", "--format-version", "1", "--locked"])
        .current_dir(repo())
        .output()
        .expect("cargo metadata runs");
    assert!(output.status.success(), "{output:?}");
    let metadata: serde_json::Value = serde_json::from_slice(&output.stdout).expect("JSON");
    metadata["packages"]
        .as_array()
        .expect("packages")
        .iter()
        .flat_map(|p| p["targets"].as_array().cloned().unwrap_or_default())
        .filter(|t| {
            t["kind"]
                .as_array()
                .is_some_and(|k| k.iter().any(|k| k == "bin"))
        })
        .filter_map(|t| t["name"].as_str().map(str::to_owned))
        .collect()
}

/// The scripts that build and run release binaries.
fn scripts() -> Vec<std::path::PathBuf> {
    let mut scripts = vec![repo().join("e2e/demo/run"), repo().join("e2e/chaos/run")];
    let benches = std::fs::read_dir(repo().join("e2e/bench")).expect("e2e/bench");
    scripts.extend(benches.flatten().map(|e| e.path()));
    scripts
}

/// The binaries a script hands to `e2e/build-binaries`, and the one it runs at the end from
/// `target/release/`.
fn built_and_run(script: &Path) -> (Vec<String>, Option<String>) {
    let text = std::fs::read_to_string(script).expect("script");
    let built = text
        .lines()
        .find_map(|l| l.split_once("e2e/build-binaries\" ").map(|(_, rest)| rest))
        .unwrap_or_else(|| panic!("{} does not use e2e/build-binaries", script.display()))
        .split_whitespace()
        .map(str::to_owned)
        .collect();
    let run = text.lines().rev().find_map(|l| {
        let (_, rest) = l.split_once("target/release/")?;
        let binary = rest.split_whitespace().next()?;
        Some(binary.trim_end_matches('"').to_owned())
    });
    (built, run)
}

#[test]
fn no_script_builds_with_cargo_directly() {
    for script in scripts() {
        let text = std::fs::read_to_string(&script).expect("script");
        assert!(
            !text.contains("cargo build"),
            "{} runs cargo build itself instead of e2e/build-binaries",
            script.display()
        );
    }
}

#[test]
fn every_binary_a_script_builds_is_a_target_of_the_workspace() {
    let known = workspace_binaries();
    for script in scripts() {
        let (built, _) = built_and_run(&script);
        for binary in &built {
            assert!(
                known.contains(binary),
                "{} builds {binary}, which no workspace member has ({known:?})",
                script.display()
            );
        }
    }
}

#[test]
fn every_script_builds_the_binary_it_runs() {
    for script in scripts() {
        let (built, run) = built_and_run(&script);
        let run =
            run.unwrap_or_else(|| panic!("{} runs nothing from target/release", script.display()));
        assert!(
            built.contains(&run),
            "{} runs {run} but builds only {built:?}",
            script.display()
        );
    }
}

#[test]
fn build_binaries_refuses_a_name_no_member_has() {
    let target = std::env::temp_dir().join(e2e::fixtures::unique_name("build-binaries"));
    let output = Command::new(repo().join("e2e/build-binaries"))
        .arg("coffee-no-such-binary")
        .env("CARGO_TARGET_DIR", &target)
        .output()
        .expect("e2e/build-binaries runs");
    std::fs::remove_dir_all(&target).ok();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(!output.status.success(), "{stderr}");
    assert!(stderr.contains("coffee-no-such-binary"), "{stderr}");
}
