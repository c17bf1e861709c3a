//! The test bed's kube-apiserver is real: CRDs install and serve objects, server-side apply works,
//! the controller manager garbage-collects owned objects, and RBAC denies what is not granted.

use std::time::Duration;

use anyhow::Context;
use e2e::fixtures::{create_namespace, delete_namespace, testpod_deployment, unique_name};
use e2e::poll::eventually;
use e2e::testbed::TestBed;
use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::authorization::v1::SubjectAccessReview;
use k8s_openapi::api::core::v1::ServiceAccount;
use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
use kube::api::{DeleteParams, Patch, PatchParams, PostParams};
use kube::{Api, CustomResource, CustomResourceExt, Resource};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::json;

const TIMEOUT: Duration = Duration::from_secs(30);
const MANAGER: &str = "coffee-e2e";

/// A throwaway custom resource that owns a Deployment, as a CoffeeOrderPipeline will.
#[derive(CustomResource, Deserialize, Serialize, Clone, Debug, JsonSchema)]
#[kube(
    group = "e2e.coffee-pipeline.io",
    version = "v1",
    kind = "Widget",
    namespaced
)]
struct WidgetSpec {
    size: u32,
}

async fn install_widget_crd(client: &kube::Client) -> anyhow::Result<()> {
    let crds: Api<CustomResourceDefinition> = Api::all(client.clone());
    let name = Widget::crd_name();
    crds.patch(
        name,
        &PatchParams::apply(MANAGER).force(),
        &Patch::Apply(Widget::crd()),
    )
    .await?;
    eventually("the Widget CRD to be established", TIMEOUT, || async {
        let crd = crds.get(name).await.map_err(|e| e.to_string())?;
        let established = crd
            .status
            .and_then(|s| s.conditions)
            .unwrap_or_default()
            .iter()
            .any(|c| c.type_ == "Established" && c.status == "True");
        if established {
            Ok(())
        } else {
            Err("not established yet".to_owned())
        }
    })
    .await?;
    Ok(())
}

#[tokio::test]
async fn deleting_the_owner_garbage_collects_its_server_side_applied_deployment()
-> anyhow::Result<()> {
    let bed = TestBed::load()?;
    let client = bed.kube_client().await?;
    let namespace = unique_name("e2e-gc");
    create_namespace(&client, &namespace).await?;
    install_widget_crd(&client).await?;

    let widgets: Api<Widget> = Api::namespaced(client.clone(), &namespace);
    let widget = eventually("the Widget API to serve objects", TIMEOUT, || async {
        let widget = Widget::new("owner", WidgetSpec { size: 3 });
        widgets
            .create(&PostParams::default(), &widget)
            .await
            .map_err(|e| e.to_string())
    })
    .await?;
    assert_eq!(widgets.get("owner").await?.spec.size, 3);

    let mut deployment = testpod_deployment("owned", 0, json!([]));
    deployment.metadata.owner_references =
        Some(vec![widget.controller_owner_ref(&()).context("owner ref")?]);
    let deployments: Api<Deployment> = Api::namespaced(client.clone(), &namespace);
    let applied = deployments
        .patch(
            "owned",
            &PatchParams::apply(MANAGER).force(),
            &Patch::Apply(&deployment),
        )
        .await?;
    let managers: Vec<String> = applied
        .metadata
        .managed_fields
        .iter()
        .flatten()
        .filter_map(|m| m.manager.clone())
        .collect();
    assert!(
        managers.contains(&MANAGER.to_owned()),
        "field managers: {managers:?}"
    );

    widgets.delete("owner", &DeleteParams::background()).await?;
    eventually(
        "the garbage collector to delete the owned Deployment",
        TIMEOUT,
        || async {
            match deployments.get_opt("owned").await {
                Ok(None) => Ok(()),
                Ok(Some(_)) => Err("the Deployment still exists".to_owned()),
                Err(error) => Err(error.to_string()),
            }
        },
    )
    .await?;
    delete_namespace(&client, &namespace).await?;
    Ok(())
}

async fn access_allowed(
    client: &kube::Client,
    user: &str,
    namespace: &str,
    verb: &str,
    resource: &str,
) -> anyhow::Result<bool> {
    let review: SubjectAccessReview = serde_json::from_value(json!({
        "spec": {
            "user": user,
            "groups": ["system:serviceaccounts", format!("system:serviceaccounts:{namespace}")],
            "resourceAttributes": { "namespace": namespace, "verb": verb, "resource": resource },
        }
    }))?;
    let reviewed = Api::<SubjectAccessReview>::all(client.clone())
        .create(&PostParams::default(), &review)
        .await?;
    Ok(reviewed.status.context("review has no status")?.allowed)
}

#[tokio::test]
async fn service_account_without_rbac_is_forbidden_until_a_role_is_bound() -> anyhow::Result<()> {
    let bed = TestBed::load()?;
    let client = bed.kube_client().await?;
    let namespace = unique_name("e2e-rbac");
    create_namespace(&client, &namespace).await?;
    let accounts: Api<ServiceAccount> = Api::namespaced(client.clone(), &namespace);
    let account: ServiceAccount =
        serde_json::from_value(json!({ "metadata": { "name": "nobody" } }))?;
    accounts.create(&PostParams::default(), &account).await?;
    let user = format!("system:serviceaccount:{namespace}:nobody");

    assert!(!access_allowed(&client, &user, &namespace, "list", "configmaps").await?);
    let can_i = std::process::Command::new(bed.tool("kubectl"))
        .env("KUBECONFIG", &bed.kubeconfig)
        .args([
            "auth",
            "can-i",
            "list",
            "configmaps",
            "-n",
            &namespace,
            "--as",
            &user,
        ])
        .output()?;
    assert_eq!(String::from_utf8_lossy(&can_i.stdout).trim(), "no");
    assert!(!can_i.status.success());

    // Control: the same question is answered "yes" once a Role grants it, so the "no" above
    // came from RBAC rather than from a server that refuses everything.
    let apply = PatchParams::apply(MANAGER);
    let role = json!({
        "apiVersion": "rbac.authorization.k8s.io/v1", "kind": "Role",
        "metadata": { "name": "read-configmaps", "namespace": namespace },
        "rules": [{ "apiGroups": [""], "resources": ["configmaps"], "verbs": ["list"] }],
    });
    let binding = json!({
        "apiVersion": "rbac.authorization.k8s.io/v1", "kind": "RoleBinding",
        "metadata": { "name": "nobody-reads-configmaps", "namespace": namespace },
        "roleRef": { "apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": "read-configmaps" },
        "subjects": [{ "kind": "ServiceAccount", "name": "nobody", "namespace": namespace }],
    });
    Api::<k8s_openapi::api::rbac::v1::Role>::namespaced(client.clone(), &namespace)
        .patch("read-configmaps", &apply, &Patch::Apply(role))
        .await?;
    Api::<k8s_openapi::api::rbac::v1::RoleBinding>::namespaced(client.clone(), &namespace)
        .patch("nobody-reads-configmaps", &apply, &Patch::Apply(binding))
        .await?;
    eventually("the RoleBinding to take effect", TIMEOUT, || async {
        match access_allowed(&client, &user, &namespace, "list", "configmaps").await {
            Ok(true) => Ok(()),
            other => Err(format!("{other:?}")),
        }
    })
    .await?;
    assert!(!access_allowed(&client, &user, &namespace, "delete", "configmaps").await?);
    delete_namespace(&client, &namespace).await?;
    Ok(())
}

#[tokio::test]
async fn built_kubectl_matches_the_api_server_and_helm_reaches_it() -> anyhow::Result<()> {
    let bed = TestBed::load()?;
    let client = bed.kube_client().await?;
    let server = client.apiserver_version().await?.git_version;

    let kubectl = std::process::Command::new(bed.tool("kubectl"))
        .env("KUBECONFIG", &bed.kubeconfig)
        .args(["version", "-o", "json"])
        .output()?;
    let versions: serde_json::Value =
        serde_json::from_slice(&kubectl.stdout).with_context(|| {
            format!(
                "kubectl version: {}",
                String::from_utf8_lossy(&kubectl.stderr)
            )
        })?;
    assert_eq!(versions["clientVersion"]["gitVersion"], server.as_str());
    assert_eq!(versions["serverVersion"]["gitVersion"], server.as_str());

    // helm lists releases through the API server, so this proves it can talk to it.
    let helm = std::process::Command::new(bed.tool("helm"))
        .env("KUBECONFIG", &bed.kubeconfig)
        .args(["list", "--all-namespaces"])
        .output()?;
    assert!(
        helm.status.success(),
        "helm list: {}",
        String::from_utf8_lossy(&helm.stderr)
    );
    Ok(())
}
