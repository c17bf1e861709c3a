//! The product's binaries as the demo, the chaos suite and the benchmarks run them: a check,
//! before anything starts, that each one exists and was built after its sources last changed.
//!
//! A fresh clone once ran the demo's release build, which built one binary of five, and failed
//! sixteen minutes later at the first one missing; an old binary beside new sources is the quieter
//! form of the same mistake. Cargo writes the sources every binary was built from into
//! `<binary>.d` beside it (its dep-info file), so the check compares against exactly those.

use std::path::{Path, PathBuf};
use std::time::SystemTime;

/// The product's binaries, which the runtimes run as the operator's and the pipelines' pods.
pub const PRODUCT_BINARIES: [&str; 3] = ["coffee-operator", "coffee-producer", "coffee-consumer"];

/// Why a binary cannot be run as it is.
#[derive(Debug, thiserror::Error)]
pub enum BinaryError {
    /// The binary is not in the directory.
    #[error("{name} is not in {dir}: build it with `{build}`")]
    Missing {
        name: String,
        dir: String,
        build: String,
    },
    /// A source it was built from changed after it was built.
    #[error("{name} in {dir} is older than its source {source_file}: rebuild it with `{build}`")]
    Stale {
        name: String,
        dir: String,
        source_file: String,
        build: String,
    },
}

/// Fails, naming the first binary missing or stale and the command that builds it, unless every
/// binary in `names` is in `dir` and newer than each source its dep-info file lists. A binary
/// without a dep-info file (copied from elsewhere) is only checked to exist.
pub fn require_binaries<'a>(
    dir: &Path,
    names: impl IntoIterator<Item = &'a str>,
) -> Result<(), BinaryError> {
    for name in names {
        let binary = dir.join(name);
        let build = build_command(dir, name);
        let Ok(built) = std::fs::metadata(&binary).and_then(|m| m.modified()) else {
            return Err(BinaryError::Missing {
                name: name.to_owned(),
                dir: dir.display().to_string(),
                build,
            });
        };
        let dep_info = dir.join(format!("{name}.d"));
        let Ok(text) = std::fs::read_to_string(&dep_info) else {
            continue;
        };
        if let Some(source) = newer_source(&text, built) {
            return Err(BinaryError::Stale {
                name: name.to_owned(),
                dir: dir.display().to_string(),
                source_file: source.display().to_string(),
                build,
            });
        }
    }
    Ok(())
}

/// The first source in a dep-info file's text that changed after `built`. A source that no
/// longer exists counts as changed: the binary was built from something that is gone.
fn newer_source(dep_info: &str, built: SystemTime) -> Option<PathBuf> {
    dep_info_sources(dep_info).into_iter().find(|source| {
        !std::fs::metadata(source)
            .and_then(|m| m.modified())
            .is_ok_and(|changed| changed <= built)
    })
}

/// The sources of the first rule of a Makefile-style dep-info file (`target: src src…`), where a
/// space inside a path is written `\ `.
fn dep_info_sources(dep_info: &str) -> Vec<PathBuf> {
    let Some(line) = dep_info.lines().find(|l| !l.trim().is_empty()) else {
        return Vec::new();
    };
    let Some((_, sources)) = split_rule(line) else {
        return Vec::new();
    };
    let mut paths = Vec::new();
    let mut current = String::new();
    let mut chars = sources.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\\' if chars.peek() == Some(&' ') => {
                current.push(' ');
                chars.next();
            }
            ' ' => {
                if !current.is_empty() {
                    paths.push(PathBuf::from(std::mem::take(&mut current)));
                }
            }
            c => current.push(c),
        }
    }
    if !current.is_empty() {
        paths.push(PathBuf::from(current));
    }
    paths
}

/// Splits a rule at the first `: ` that is not escaped (a target path may itself hold `\ `).
fn split_rule(line: &str) -> Option<(&str, &str)> {
    let bytes = line.as_bytes();
    (0..bytes.len().saturating_sub(1))
        .find(|&i| bytes[i] == b':' && bytes[i + 1] == b' ' && (i == 0 || bytes[i - 1] != b'\\'))
        .map(|i| (&line[..i], &line[i + 2..]))
}

/// The cargo command that puts `name` into `dir`, from the profile the directory is named for.
fn build_command(dir: &Path, name: &str) -> String {
    let profile = match dir.file_name().and_then(|n| n.to_str()) {
        Some("release") => " --release".to_owned(),
        Some("debug") => String::new(),
        Some(other) if dir.parent().is_some_and(|p| p.ends_with("target")) => {
            format!(" --profile {other}")
        }
        _ => " --release".to_owned(),
    };
    format!("cargo build --locked{profile} --bin {name}")
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn scratch(name: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(crate::fixtures::unique_name(name));
        std::fs::create_dir_all(&dir).expect("scratch dir");
        dir
    }

    fn touch(path: &Path, at: SystemTime) {
        std::fs::write(path, b"x").expect("write");
        std::fs::File::options()
            .write(true)
            .open(path)
            .and_then(|f| f.set_modified(at))
            .expect("set mtime");
    }

    /// Writes the dep-info file of `coffee-x` in `dir`, naming `source` as what it was built from.
    fn dep_info(dir: &Path, source: &Path) {
        let text = format!("{}: {}\n", dir.join("coffee-x").display(), source.display());
        std::fs::write(dir.join("coffee-x.d"), text).expect("dep-info");
    }

    #[test]
    fn dep_info_sources_are_split_at_unescaped_spaces() {
        let text = "/t/release/coffee-demo: /r/a.rs /r/with\\ space.rs  /r/b.rs\n\n/r/a.rs:\n";
        assert_eq!(
            dep_info_sources(text),
            [
                PathBuf::from("/r/a.rs"),
                PathBuf::from("/r/with space.rs"),
                PathBuf::from("/r/b.rs")
            ]
        );
    }

    #[test]
    fn a_missing_binary_is_named_with_the_command_that_builds_it() {
        let dir = scratch("bins-missing").join("target").join("release");
        std::fs::create_dir_all(&dir).expect("dir");
        let error = require_binaries(&dir, ["coffee-demo"]).expect_err("missing");
        let said = error.to_string();
        assert!(matches!(error, BinaryError::Missing { .. }), "{said}");
        assert!(said.contains("coffee-demo is not in"), "{said}");
        assert!(
            said.contains("cargo build --locked --release --bin coffee-demo"),
            "{said}"
        );
    }

    #[test]
    fn a_binary_older_than_one_of_its_sources_is_stale() {
        let dir = scratch("bins-stale").join("target").join("debug");
        std::fs::create_dir_all(&dir).expect("dir");
        let now = SystemTime::now();
        let source = dir.join("main.rs");
        touch(&source, now);
        touch(&dir.join("coffee-x"), now - Duration::from_secs(60));
        dep_info(&dir, &source);
        let said = require_binaries(&dir, ["coffee-x"])
            .expect_err("stale")
            .to_string();
        assert!(said.contains("older than its source"), "{said}");
        assert!(said.contains("main.rs"), "{said}");
        assert!(
            said.contains("cargo build --locked --bin coffee-x"),
            "{said}"
        );
    }

    #[test]
    fn a_binary_newer_than_every_source_passes() {
        let dir = scratch("bins-fresh");
        let now = SystemTime::now();
        let source = dir.join("main.rs");
        touch(&source, now - Duration::from_secs(60));
        touch(&dir.join("coffee-x"), now);
        dep_info(&dir, &source);
        require_binaries(&dir, ["coffee-x"]).expect("fresh");
    }

    #[test]
    fn a_source_that_is_gone_makes_the_binary_stale() {
        let dir = scratch("bins-gone");
        touch(&dir.join("coffee-x"), SystemTime::now());
        dep_info(&dir, &dir.join("gone.rs"));
        assert!(matches!(
            require_binaries(&dir, ["coffee-x"]),
            Err(BinaryError::Stale { .. })
        ));
    }

    #[test]
    fn a_binary_without_dep_info_is_only_checked_to_exist() {
        let dir = scratch("bins-copied");
        touch(
            &dir.join("coffee-x"),
            SystemTime::UNIX_EPOCH + Duration::from_secs(1),
        );
        require_binaries(&dir, ["coffee-x"]).expect("exists");
    }
}
