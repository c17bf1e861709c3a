//! A Secret the order intake reads — its listing token — rotated while orders flow: the
//! operator sees the new version and rolls the intake's pods one by one (a new pod ready
//! before an old one stops; the old one finishes what it holds). Every request must still
//! become exactly one order, and the new pods must answer to the new token only. (Rotating the
//! Kafka credentials, which rolls the consumers as well: [`super::scram_rotation`].)

use std::time::Duration;

use anyhow::{Context, ensure};

use super::rolled::{every_pod_replaced, running_pods};
use super::seconds;
use crate::stage::{Injected, LIST_TOKEN_SECRET, PRODUCER, Stage};

/// The operator reads Secret versions about once a minute, then the rolling update runs.
const ROLLED_WITHIN: Duration = Duration::from_secs(180);
const NEW_TOKEN: &str = "the-rotated-listing-token";

pub async fn inject(stage: &mut Stage) -> anyhow::Result<Injected> {
    let before = running_pods(stage, &[PRODUCER]);
    let at = stage.elapsed();
    stage.apply_list_token(NEW_TOKEN)?;
    let what = "every intake pod replaced by one with the new token";
    every_pod_replaced(stage, &[PRODUCER], &before, what, ROLLED_WITHIN).await?;
    let cleared = stage.elapsed();
    for token in [NEW_TOKEN, crate::stage::LIST_TOKEN] {
        let status = listing(stage, token).await?;
        let expected = token == NEW_TOKEN;
        ensure!(
            (status == 200) == expected,
            "GET /orders with the {} token answered {status}",
            if expected { "new" } else { "old" }
        );
    }
    Ok(Injected {
        at,
        cleared,
        notes: vec![format!(
            "Secret {LIST_TOKEN_SECRET} rotated; {} intake pods replaced in {}; the new token lists, the old one does not",
            before.len(),
            seconds(cleared - at)
        )],
    })
}

/// The status of `GET /orders` with `token` on a ready intake pod.
async fn listing(stage: &Stage, token: &str) -> anyhow::Result<u16> {
    let pod = stage
        .running(PRODUCER)
        .into_iter()
        .find(|p| p.ready)
        .context("no ready intake pod")?;
    let port = pod.ports[0].local_port;
    let answer = reqwest::Client::new()
        .get(format!("http://127.0.0.1:{port}/orders?limit=1"))
        .bearer_auth(token)
        .send()
        .await
        .with_context(|| format!("GET /orders on {}", pod.name))?;
    Ok(answer.status().as_u16())
}
