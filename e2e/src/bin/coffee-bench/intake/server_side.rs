//! The producer's own account of its latency: its `http_request_duration_seconds` histogram of
//! accepted orders, read before and after a run. A tail the load generator reports can so be
//! told apart from time the requests spent inside the producer.

use anyhow::Context;

/// Accepted orders answered within each bucket bound (seconds), cumulative, and in all.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Histogram {
    buckets: Vec<(f64, u64)>,
    count: u64,
}

const ACCEPTED: [&str; 3] = [r#"path="/order""#, r#"method="POST""#, r#"status="202""#];

impl Histogram {
    /// The histogram of `POST /order` answered `202` in Prometheus text.
    pub fn parse(metrics: &str) -> Self {
        let mut histogram = Self::default();
        for line in metrics.lines() {
            let Some(rest) = line.strip_prefix("http_request_duration_seconds_") else {
                continue;
            };
            if !ACCEPTED.iter().all(|label| rest.contains(label)) {
                continue;
            }
            let Some(value) = rest.rsplit(' ').next().and_then(|v| v.parse::<u64>().ok()) else {
                continue;
            };
            if rest.starts_with("count") {
                histogram.count = value;
            } else if let Some(bound) = bucket_bound(rest) {
                histogram.buckets.push((bound, value));
            }
        }
        histogram.buckets.sort_by(|a, b| a.0.total_cmp(&b.0));
        histogram
    }

    /// What was added between `before` and `self`.
    pub fn since(&self, before: &Self) -> Self {
        let earlier = |bound: f64| {
            before
                .buckets
                .iter()
                .find(|(b, _)| *b == bound)
                .map_or(0, |(_, n)| *n)
        };
        Self {
            buckets: self
                .buckets
                .iter()
                .map(|&(bound, n)| (bound, n.saturating_sub(earlier(bound))))
                .collect(),
            count: self.count.saturating_sub(before.count),
        }
    }

    /// The share of answers within `seconds` (a bucket bound); NaN without answers or bucket.
    pub fn share_within(&self, seconds: f64) -> f64 {
        let within = self
            .buckets
            .iter()
            .find(|(bound, _)| (*bound - seconds).abs() < 1e-9)
            .map(|(_, n)| *n);
        match within {
            Some(n) if self.count > 0 => n as f64 / self.count as f64,
            _ => f64::NAN,
        }
    }
}

fn bucket_bound(rest: &str) -> Option<f64> {
    let after = rest.strip_prefix("bucket{")?;
    let le = after.split("le=\"").nth(1)?;
    le.split('"').next()?.parse().ok()
}

/// The producer's histogram now; `order_url` is its `…/order` endpoint.
pub async fn scrape(order_url: &str) -> anyhow::Result<Histogram> {
    let base = order_url.trim_end_matches("/order");
    let text = reqwest::get(format!("{base}/metrics"))
        .await
        .and_then(reqwest::Response::error_for_status)
        .with_context(|| format!("reading {base}/metrics"))?
        .text()
        .await?;
    Ok(Histogram::parse(&text))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn metrics(within_8ms: u64, within_16ms: u64, count: u64) -> String {
        format!(
            "http_request_duration_seconds_bucket{{method=\"POST\",path=\"/order\",status=\"202\",le=\"0.008\"}} {within_8ms}\n\
             http_request_duration_seconds_bucket{{method=\"POST\",path=\"/order\",status=\"202\",le=\"0.016\"}} {within_16ms}\n\
             http_request_duration_seconds_bucket{{method=\"GET\",path=\"/order/{{id}}\",status=\"200\",le=\"0.008\"}} 999\n\
             http_request_duration_seconds_count{{method=\"POST\",path=\"/order\",status=\"202\"}} {count}\n"
        )
    }

    #[test]
    fn only_accepted_orders_count() {
        let histogram = Histogram::parse(&metrics(90, 99, 100));
        assert_eq!(histogram.share_within(0.008), 0.9);
        assert_eq!(histogram.share_within(0.016), 0.99);
    }

    #[test]
    fn a_run_is_what_it_added() {
        let before = Histogram::parse(&metrics(100, 100, 100));
        let after = Histogram::parse(&metrics(180, 198, 200));
        assert_eq!(after.since(&before).share_within(0.008), 0.8);
    }

    #[test]
    fn no_answers_have_no_share() {
        assert!(Histogram::default().share_within(0.008).is_nan());
    }
}
