//! The generated pod templates pass Pod Security `restricted`, checked by the real API
//! server's admission (warn mode checks workload templates), and the check can fail.

use std::time::Duration;

use e2e::fixtures::unique_name;
use e2e::poll::eventually;
use e2e::testbed::TestBed;
use k8s_openapi::api::apps::v1::Deployment;
use kube::Api;
use serde_json::Value;

use crate::support::{scene, start_operator};
use e2e::operator::{apply_pipeline, install, kubectl};

/// The Deployment as a manifest another namespace could take: spec and labels only.
fn portable(deployment: &Deployment, namespace: &str) -> Value {
    let mut json = serde_json::to_value(deployment).expect("test helper");
    json["metadata"] = serde_json::json!({
        "name": json["metadata"]["name"],
        "namespace": namespace,
        "labels": json["metadata"]["labels"],
    });
    json.as_object_mut().expect("test helper").remove("status");
    json
}

fn dry_run(bed: &TestBed, manifest: &Value) -> String {
    let output = kubectl(
        bed,
        &["apply", "--dry-run=server", "-f", "-"],
        Some(&manifest.to_string()),
    )
    .expect("test helper");
    assert!(output.status.success(), "{output:?}");
    String::from_utf8_lossy(&output.stderr).into_owned()
}

#[tokio::test]
async fn generated_workloads_pass_pod_security_restricted_and_a_bad_template_does_not() {
    let bed = TestBed::load().unwrap();
    install(&bed).unwrap();
    let scene = scene("pss").await.unwrap();
    let operator = start_operator(&bed, &scene).await.unwrap();
    let spec = format!(
        "  kafka:\n    bootstrapServers: \"{}\"\n    topic: {}\n    partitions: 1\n  producer:\n    replicas: 0\n",
        bed.kafka_bootstrap_servers,
        unique_name("cop-pss")
    );
    apply_pipeline(&bed, &scene.namespace, "secure", &spec).unwrap();
    let deployments: Api<Deployment> = Api::namespaced(scene.client.clone(), &scene.namespace);
    let (producer, consumer) = eventually("both Deployments", Duration::from_secs(30), || async {
        let producer = deployments
            .get("secure-producer")
            .await
            .map_err(|e| e.to_string())?;
        let consumer = deployments
            .get("secure-consumer")
            .await
            .map_err(|e| e.to_string())?;
        Ok::<_, String>((producer, consumer))
    })
    .await
    .unwrap_or_else(|e| panic!("{e}\n{}", operator.log_tail()));

    let restricted = unique_name("restricted");
    let namespace = serde_json::json!({
        "apiVersion": "v1",
        "kind": "Namespace",
        "metadata": {
            "name": restricted,
            "labels": {
                "pod-security.kubernetes.io/enforce": "restricted",
                "pod-security.kubernetes.io/warn": "restricted",
            },
        },
    });
    let created = kubectl(&bed, &["apply", "-f", "-"], Some(&namespace.to_string())).unwrap();
    assert!(created.status.success(), "{created:?}");

    for deployment in [&producer, &consumer] {
        let warnings = dry_run(&bed, &portable(deployment, &restricted));
        assert!(!warnings.contains("Warning"), "{warnings}");
    }
    let mut bad = portable(&consumer, &restricted);
    let container = &mut bad["spec"]["template"]["spec"]["containers"][0];
    container["securityContext"]["allowPrivilegeEscalation"] = Value::Bool(true);
    container["securityContext"]["capabilities"] = serde_json::json!({ "add": ["NET_ADMIN"] });
    let warnings = dry_run(&bed, &bad);
    assert!(
        warnings.contains("would violate PodSecurity \"restricted:latest\""),
        "{warnings}"
    );
    assert!(
        warnings.contains("allowPrivilegeEscalation != false"),
        "{warnings}"
    );

    let _ = kubectl(
        &bed,
        &["delete", "namespace", &restricted, "--wait=false"],
        None,
    );
    operator.stop().await.unwrap();
    scene.finish().await.unwrap();
}
