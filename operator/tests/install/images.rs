//! The images build here, offline, from the same Dockerfiles a registry build uses, and each
//! one's entrypoint runs inside its own root filesystem as uid 65532.

use std::path::Path;
use std::process::{Command, Output};

use e2e::fixtures::unique_name;
use e2e::operator::{repo, succeed};

fn run(program: &str, args: &[&str]) -> Output {
    Command::new(program)
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("running {program} {}: {e}", args.join(" ")))
}

fn stdout_of(output: Output, what: &str) -> String {
    succeed(output, what)
        .unwrap_or_else(|e| panic!("{e}"))
        .trim()
        .to_owned()
}

/// An image's root filesystem, mounted through a working container for as long as it lives.
struct Mounted {
    container: String,
    root: String,
}

impl Mounted {
    fn of(image: &str) -> Self {
        let container = stdout_of(run("buildah", &["from", image]), "buildah from");
        let root = stdout_of(run("buildah", &["mount", &container]), "buildah mount");
        Self { container, root }
    }
}

impl Drop for Mounted {
    fn drop(&mut self) {
        let _ = run("buildah", &["umount", &self.container]);
        let _ = run("buildah", &["rm", &self.container]);
    }
}

#[test]
fn each_image_runs_its_entrypoint_as_uid_65532_with_nothing_else_inside() {
    let bin_dir = super::release::binary().parent().expect("bin dir");
    let tag = unique_name("test");
    let built = Command::new(repo().join("images/build"))
        .args(["--offline", "--bin-dir"])
        .arg(bin_dir)
        .args(["--tag", &tag])
        .output()
        .expect("images/build runs");
    let report = stdout_of(built, "images/build --offline");
    for binary in ["coffee-operator", "coffee-producer", "coffee-consumer"] {
        let image = format!("localhost/{binary}:{tag}");
        assert!(report.contains(&image), "{image} not built:\n{report}");
        check_image(&image, binary);
        let _ = run("buildah", &["rmi", &image]);
    }
    eprintln!(
        "image sizes (binaries from {}):\n{report}",
        bin_dir.display()
    );
}

fn check_image(image: &str, binary: &str) {
    let config = stdout_of(
        run(
            "buildah",
            &[
                "inspect",
                "--format",
                "{{.OCIv1.Config.User}} {{.OCIv1.Config.Entrypoint}} {{index .OCIv1.Config.Labels \"org.opencontainers.image.title\"}}",
                image,
            ],
        ),
        "buildah inspect",
    );
    assert_eq!(
        config,
        format!("65532:65532 [/usr/local/bin/{binary}] {binary}"),
        "{image}"
    );
    let mounted = Mounted::of(image);
    let help = run(
        "chroot",
        &[
            "--userspec=65532:65532",
            &mounted.root,
            &format!("/usr/local/bin/{binary}"),
            "--help",
        ],
    );
    let text = stdout_of(help, &format!("{binary} --help inside {image}"));
    assert!(text.contains("Usage:"), "{text}");
    let root = Path::new(&mounted.root);
    for absent in ["bin/sh", "usr/bin", "tmp"] {
        assert!(
            !root.join(absent).exists(),
            "{image} has /{absent}: only the binary and its libraries belong in it"
        );
    }
}
