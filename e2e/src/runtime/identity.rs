//! A pod's ServiceAccount identity, as a kubelet gives it: a token for the pod's ServiceAccount
//! from the TokenRequest API, in files of the pod's own that its process finds through
//! `KUBECONFIG`. A process then reaches the API server as its pod would — authorised by its own
//! RBAC, never by the admin credentials the runtime itself uses.

use std::path::{Path, PathBuf};

use k8s_openapi::api::authentication::v1::{TokenRequest, TokenRequestSpec};
use k8s_openapi::api::core::v1::ServiceAccount;
use kube::config::{Cluster, Kubeconfig};
use kube::{Api, Client, api::PostParams};
use serde_json::json;

use super::LaunchError;

/// Lifetime of a pod's token. A kubelet rotates projected tokens while a pod runs; here a pod
/// gets a fresh token whenever its process (re)starts, so this bounds how long one process can
/// talk to the API server without a restart.
const TOKEN_LIFETIME_SECS: i64 = 24 * 3600;

/// The API server entry of `kubeconfig`'s current context: the address and CA that pods are
/// given, without the user that context authenticates as.
pub fn cluster_of(kubeconfig: &Kubeconfig) -> Result<Cluster, String> {
    let context_name = kubeconfig
        .current_context
        .as_deref()
        .ok_or("the kubeconfig has no current context")?;
    let context = kubeconfig
        .contexts
        .iter()
        .find(|c| c.name == context_name)
        .and_then(|c| c.context.as_ref())
        .ok_or_else(|| format!("the kubeconfig has no context {context_name:?}"))?;
    kubeconfig
        .clusters
        .iter()
        .find(|c| c.name == context.cluster)
        .and_then(|c| c.cluster.clone())
        .ok_or_else(|| format!("the kubeconfig has no cluster {:?}", context.cluster))
}

/// The kubeconfig of a pod: `cluster`, and a user whose token is read from `token_file` (so that
/// the token itself is in no file but that one).
pub fn pod_kubeconfig(cluster: &Cluster, token_file: &Path, pod: &str) -> serde_json::Value {
    json!({
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [{ "name": "cluster", "cluster": cluster }],
        "users": [{ "name": pod, "user": { "tokenFile": token_file } }],
        "contexts": [{ "name": "pod", "context": { "cluster": "cluster", "user": pod } }],
        "current-context": "pod",
    })
}

/// Requests a token for `service_account` in `namespace` and writes it and a kubeconfig that
/// uses it into `dir`; returns the kubeconfig's path.
pub async fn issue(
    client: &Client,
    namespace: &str,
    service_account: &str,
    cluster: &Cluster,
    dir: &Path,
) -> Result<PathBuf, LaunchError> {
    let failed = |reason: String| LaunchError::Identity {
        service_account: format!("{namespace}/{service_account}"),
        reason,
    };
    let request = TokenRequest {
        spec: Some(TokenRequestSpec {
            expiration_seconds: Some(TOKEN_LIFETIME_SECS),
            ..TokenRequestSpec::default()
        }),
        ..TokenRequest::default()
    };
    let issued = Api::<ServiceAccount>::namespaced(client.clone(), namespace)
        .create_token_request(service_account, &PostParams::default(), &request)
        .await
        .map_err(|e| failed(format!("the TokenRequest failed: {e}")))?;
    let token = issued
        .status
        .and_then(|status| status.token)
        .ok_or_else(|| failed("the TokenRequest returned no token".to_owned()))?;
    let write = |path: &Path, contents: &[u8]| -> Result<(), LaunchError> {
        write_private(path, contents)
            .map_err(|e| failed(format!("writing {}: {e}", path.display())))
    };
    std::fs::create_dir_all(dir).map_err(|e| failed(format!("creating {}: {e}", dir.display())))?;
    let token_file = dir.join("token");
    write(&token_file, token.as_bytes())?;
    let pod = dir
        .file_name()
        .map(|name| name.to_string_lossy().into_owned())
        .unwrap_or_default();
    let kubeconfig = dir.join("kubeconfig");
    let text = serde_yaml::to_string(&pod_kubeconfig(cluster, &token_file, &pod))
        .map_err(|e| failed(format!("rendering the kubeconfig: {e}")))?;
    write(&kubeconfig, text.as_bytes())?;
    Ok(kubeconfig)
}

/// Writes a file only its owner can read, as a kubelet mounts a token.
fn write_private(path: &Path, contents: &[u8]) -> std::io::Result<()> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(path)?;
    file.write_all(contents)
}

#[cfg(test)]
mod tests {
    use super::*;

    const ADMIN: &str = r#"
apiVersion: v1
kind: Config
clusters:
  - name: testbed
    cluster: { server: "https://127.0.0.1:16443", certificate-authority: /ca.crt }
  - name: other
    cluster: { server: "https://10.0.0.1" }
users:
  - name: admin
    user: { client-certificate: /admin.crt, client-key: /admin.key }
contexts:
  - name: admin
    context: { cluster: testbed, user: admin }
current-context: admin
"#;

    #[test]
    fn the_current_contexts_cluster_is_given_to_pods() {
        let cluster = cluster_of(&Kubeconfig::from_yaml(ADMIN).unwrap()).unwrap();
        assert_eq!(cluster.server.as_deref(), Some("https://127.0.0.1:16443"));
        assert_eq!(cluster.certificate_authority.as_deref(), Some("/ca.crt"));
    }

    #[test]
    fn a_kubeconfig_without_a_current_context_is_refused() {
        let mut kubeconfig = Kubeconfig::from_yaml(ADMIN).unwrap();
        kubeconfig.current_context = None;
        assert!(
            cluster_of(&kubeconfig)
                .unwrap_err()
                .contains("no current context")
        );
    }

    #[test]
    fn a_pods_kubeconfig_reads_its_token_from_a_file_and_carries_no_admin_credentials() {
        let cluster = cluster_of(&Kubeconfig::from_yaml(ADMIN).unwrap()).unwrap();
        let config = pod_kubeconfig(&cluster, Path::new("/pods/web-1/token"), "web-1");
        let parsed: Kubeconfig = serde_json::from_value(config.clone()).unwrap();
        let user = parsed.auth_infos[0].auth_info.as_ref().unwrap();
        assert_eq!(user.token_file.as_deref(), Some("/pods/web-1/token"));
        assert!(user.client_certificate.is_none() && user.client_key.is_none());
        assert_eq!(
            cluster_of(&parsed).unwrap().server.as_deref(),
            Some("https://127.0.0.1:16443")
        );
    }
}
