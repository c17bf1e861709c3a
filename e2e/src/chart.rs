//! The operator's Helm chart on the test bed: `helm` as the admin, and releases of the chart
//! into namespaces of their own. Shared by the install tests (and the demo to come).

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use anyhow::Context;

use crate::operator::{repo, succeed};
use crate::testbed::TestBed;

/// The test bed's Kubernetes minor, from the one place that pins it (the wrapper module that
/// builds kube-apiserver); the test bed's helm, built as helm's release is, renders for it.
pub fn kube_minor() -> anyhow::Result<u32> {
    let go_mod = repo().join("e2e/tools/kube/go.mod");
    let text = std::fs::read_to_string(&go_mod)
        .with_context(|| format!("reading {}", go_mod.display()))?;
    text.lines()
        .find_map(|line| line.strip_prefix("require k8s.io/kubernetes v1."))
        .and_then(|rest| rest.split('.').next())
        .and_then(|minor| minor.parse().ok())
        .with_context(|| {
            format!(
                "no `require k8s.io/kubernetes v1.X.Y` in {}",
                go_mod.display()
            )
        })
}

/// Where the chart lives in the repository.
pub fn chart_dir() -> PathBuf {
    repo().join("charts/coffee-pipeline-operator")
}

/// Runs the test bed's helm as the admin.
pub fn helm(bed: &TestBed, args: &[&str]) -> anyhow::Result<Output> {
    Command::new(bed.tool("helm"))
        .env("KUBECONFIG", &bed.kubeconfig)
        .args(args)
        .output()
        .with_context(|| format!("running helm {}", args.join(" ")))
}

/// `helm template` of the chart with `values` (`--set` expressions), with no other flag, as a
/// platform team rendering it for GitOps would.
pub fn template(
    bed: &TestBed,
    release: &str,
    namespace: &str,
    values: &[&str],
) -> anyhow::Result<Output> {
    let chart = chart_dir();
    let mut args = vec![
        "template",
        release,
        chart.to_str().unwrap_or_default(),
        "--namespace",
        namespace,
    ];
    for value in values {
        args.extend(["--set", value]);
    }
    helm(bed, &args)
}

/// A release of the chart: `helm install`ed, upgraded and uninstalled by the test that owns it.
#[derive(Debug)]
pub struct Release {
    pub name: String,
    pub namespace: String,
}

impl Release {
    /// `helm install name chart -n namespace` with `values` (`--set` expressions).
    pub fn install(
        bed: &TestBed,
        name: &str,
        namespace: &str,
        values: &[String],
    ) -> anyhow::Result<Self> {
        let release = Self {
            name: name.to_owned(),
            namespace: namespace.to_owned(),
        };
        release.run(bed, "install", &chart_dir(), values)?;
        Ok(release)
    }

    /// `helm upgrade` with `values` in place of the previous ones.
    pub fn upgrade(&self, bed: &TestBed, values: &[String]) -> anyhow::Result<()> {
        self.run(bed, "upgrade", &chart_dir(), values)
    }

    /// `helm upgrade` to another version of the chart, in directory `chart`.
    pub fn upgrade_to(&self, bed: &TestBed, chart: &Path, values: &[String]) -> anyhow::Result<()> {
        self.run(bed, "upgrade", chart, values)
    }

    /// `helm uninstall`, waiting until what it deletes is gone.
    pub fn uninstall(self, bed: &TestBed) -> anyhow::Result<()> {
        succeed(
            helm(
                bed,
                &[
                    "uninstall",
                    &self.name,
                    "--namespace",
                    &self.namespace,
                    "--wait",
                    "--timeout",
                    "60s",
                ],
            )?,
            "helm uninstall",
        )?;
        Ok(())
    }

    fn run(
        &self,
        bed: &TestBed,
        verb: &str,
        chart: &Path,
        values: &[String],
    ) -> anyhow::Result<()> {
        let mut args = vec![
            verb,
            self.name.as_str(),
            chart.to_str().context("utf-8 chart path")?,
            "--namespace",
            self.namespace.as_str(),
        ];
        for value in values {
            args.extend(["--set", value.as_str()]);
        }
        succeed(helm(bed, &args)?, &format!("helm {verb}"))?;
        Ok(())
    }
}
