//! Installs that change what the whole test bed shares: `kubectl apply -f manifests/` as
//! generated (an operator watching every namespace) and the CRD upgraded through Helm. Cargo runs
//! test binaries one after another, so no other test runs an operator or applies the CRD while
//! these run; the lock keeps the two from overlapping each other.

use std::collections::BTreeSet;
use std::time::Duration;

use e2e::chart::{Release, chart_dir};
use e2e::fixtures::{create_namespace, delete_namespace, unique_name};
use e2e::install::{CRD, Installed, adopt_crd};
use e2e::operator::{install, kubectl, succeed};
use e2e::testbed::TestBed;
use tokio::sync::Mutex;

static SHARED: Mutex<()> = Mutex::const_new(());

fn crd_field(bed: &TestBed, jsonpath: &str) -> String {
    let output = kubectl(
        bed,
        &["get", "crd", CRD, "-o", &format!("jsonpath={jsonpath}")],
        None,
    )
    .expect("kubectl runs");
    succeed(output, "reading the CRD").expect("the CRD is readable")
}

/// A copy of the chart whose CRD carries one more annotation: a new version of the CRD.
fn chart_with_annotated_crd(dir: &std::path::Path) {
    std::fs::create_dir_all(dir).expect("a directory for the chart's copy");
    let status = std::process::Command::new("cp")
        .arg("-r")
        .arg(chart_dir())
        .arg(dir)
        .status()
        .expect("cp runs");
    assert!(status.success());
    let crd = dir.join("coffee-pipeline-operator/templates/crd.yaml");
    let text = std::fs::read_to_string(&crd).expect("the copy of the CRD template");
    let upgraded = text.replacen(
        "    helm.sh/resource-policy: keep\n",
        "    helm.sh/resource-policy: keep\n    coffee-pipeline.io/upgrade-test: upgraded\n",
        1,
    );
    assert_ne!(
        text, upgraded,
        "the chart's CRD template has the keep annotation"
    );
    std::fs::write(&crd, upgraded).expect("writing the newer CRD template");
}

#[tokio::test]
async fn helm_adopts_the_crd_upgrades_it_and_keeps_it_on_uninstall() {
    let _shared = SHARED.lock().await;
    let bed = TestBed::load().expect("the test bed (start it with `e2e/testbed up`)");
    install(&bed).expect("the CRD as kubectl applies it");
    let uid = crd_field(&bed, "{.metadata.uid}");
    let namespace = unique_name("crd-upgrade");
    let client = bed.kube_client().await.unwrap();
    create_namespace(&client, &namespace).await.unwrap();
    let name = unique_name("crd");
    adopt_crd(&bed, &name, &namespace).expect("handing the CRD to the release");
    let values = vec![format!("watchNamespace={namespace}")];
    let release = Release::install(&bed, &name, &namespace, &values).expect("helm install");

    let newer = std::env::temp_dir().join(unique_name("chart"));
    chart_with_annotated_crd(&newer);
    release
        .upgrade_to(&bed, &newer.join("coffee-pipeline-operator"), &values)
        .expect("helm upgrade to the newer chart");
    assert_eq!(
        crd_field(
            &bed,
            "{.metadata.annotations.coffee-pipeline\\.io/upgrade-test}"
        ),
        "upgraded",
        "helm upgrade updated the CRD"
    );

    release.uninstall(&bed).expect("helm uninstall");
    assert_eq!(
        crd_field(&bed, "{.metadata.uid}"),
        uid,
        "the CRD outlived the uninstall, never deleted or recreated"
    );
    let cleaned = kubectl(
        &bed,
        &["annotate", "crd", CRD, "coffee-pipeline.io/upgrade-test-"],
        None,
    )
    .expect("kubectl runs");
    succeed(cleaned, "removing the test's annotation").unwrap();
    delete_namespace(&client, &namespace).await.unwrap();
    std::fs::remove_dir_all(newer).ok();
}

#[tokio::test]
async fn the_plain_manifests_run_the_operator_for_every_namespace() {
    let _shared = SHARED.lock().await;
    let binary = std::path::Path::new(env!("CARGO_BIN_EXE_coffee-operator"));
    let bin_dir = binary.parent().expect("bin dir");
    let namespace = unique_name("manifests");
    let installed = Installed::manifests(&namespace, bin_dir)
        .await
        .expect("kubectl apply -f manifests/ on the test bed (start it with `e2e/testbed up`)");
    let (pods, _) = installed
        .wait_for_leader(2, &BTreeSet::new(), Duration::from_secs(90))
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    for pod in &pods {
        assert_eq!(
            installed.token_user(pod).await.unwrap(),
            "system:serviceaccount:coffee-pipeline-system:coffee-operator",
            "pod {pod}"
        );
    }

    installed.apply_sample().expect("applying the sample");
    installed.wait_for_sample_ready().await;

    tokio::time::timeout(Duration::from_secs(120), installed.finish())
        .await
        .expect("the runtimes stop")
        .expect("deleting the pipeline and the operator");
}
