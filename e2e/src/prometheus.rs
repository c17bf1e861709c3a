//! Asking the test bed's Prometheus: one instant query through its HTTP API.

use serde_json::Value;

/// The result vector of `query` at Prometheus `base_url`, or Prometheus' (or the transport's)
/// error in words.
pub async fn query(
    http: &reqwest::Client,
    base_url: &str,
    query: &str,
) -> Result<Vec<Value>, String> {
    let body: Value = http
        .get(format!("{base_url}/api/v1/query"))
        .query(&[("query", query)])
        .send()
        .await
        .map_err(|e| e.to_string())?
        .json()
        .await
        .map_err(|e| e.to_string())?;
    if body["status"] != "success" {
        return Err(format!("{}: {}", body["errorType"], body["error"]));
    }
    Ok(body["data"]["result"]
        .as_array()
        .cloned()
        .unwrap_or_default())
}
