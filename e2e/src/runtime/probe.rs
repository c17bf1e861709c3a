//! Readiness probing of a local pod: the network check, and the success/failure threshold
//! bookkeeping that turns a series of checks into "ready" the way the kubelet does.

use std::time::Duration;

use tokio::net::TcpStream;

/// Where and how to check one replica, with the container port already mapped to its local port.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Check {
    Http { port: u16, path: String },
    Tcp { port: u16 },
}

impl Check {
    /// True when the process answers: an HTTP status below 400, or an accepted TCP connection.
    pub async fn passes(&self, client: &reqwest::Client, timeout: Duration) -> bool {
        let attempt = async {
            match self {
                Check::Http { port, path } => client
                    .get(format!("http://127.0.0.1:{port}{path}"))
                    .send()
                    .await
                    .is_ok_and(|response| response.status().as_u16() < 400),
                Check::Tcp { port } => TcpStream::connect(("127.0.0.1", *port)).await.is_ok(),
            }
        };
        tokio::time::timeout(timeout, attempt)
            .await
            .unwrap_or(false)
    }
}

/// Consecutive-result bookkeeping: ready after `success_threshold` passes in a row, not ready
/// after `failure_threshold` failures in a row. A new process starts not ready.
#[derive(Debug, Clone)]
pub struct Readiness {
    success_threshold: u32,
    failure_threshold: u32,
    streak: i64,
    ready: bool,
}

impl Readiness {
    pub fn new(success_threshold: u32, failure_threshold: u32) -> Self {
        Self {
            success_threshold: success_threshold.max(1),
            failure_threshold: failure_threshold.max(1),
            streak: 0,
            ready: false,
        }
    }

    /// Records one check and returns whether the pod is now ready.
    pub fn observe(&mut self, passed: bool) -> bool {
        self.streak = match (passed, self.streak) {
            (true, s) if s > 0 => s + 1,
            (true, _) => 1,
            (false, s) if s < 0 => s - 1,
            (false, _) => -1,
        };
        if self.streak >= i64::from(self.success_threshold) {
            self.ready = true;
        } else if -self.streak >= i64::from(self.failure_threshold) {
            self.ready = false;
        }
        self.ready
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn starts_not_ready() {
        assert!(!Readiness::new(1, 3).ready);
    }

    #[test]
    fn one_pass_is_enough_by_default() {
        assert!(Readiness::new(1, 3).observe(true));
    }

    #[test]
    fn success_threshold_needs_consecutive_passes() {
        let mut r = Readiness::new(2, 3);
        assert!(!r.observe(true));
        assert!(!r.observe(false));
        assert!(!r.observe(true));
        assert!(r.observe(true));
    }

    #[test]
    fn a_ready_pod_survives_fewer_failures_than_the_threshold() {
        let mut r = Readiness::new(1, 3);
        r.observe(true);
        assert!(r.observe(false));
        assert!(r.observe(false));
        assert!(!r.observe(false));
    }

    #[test]
    fn a_pass_resets_the_failure_streak() {
        let mut r = Readiness::new(1, 2);
        r.observe(true);
        r.observe(false);
        r.observe(true);
        assert!(r.observe(false));
    }

    #[test]
    fn zero_thresholds_behave_as_one() {
        let mut r = Readiness::new(0, 0);
        assert!(r.observe(true));
        assert!(!r.observe(false));
    }

    #[tokio::test]
    async fn tcp_check_fails_on_a_closed_port() {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        drop(listener);
        let client = reqwest::Client::new();
        assert!(
            !Check::Tcp { port }
                .passes(&client, Duration::from_secs(1))
                .await
        );
    }

    #[tokio::test]
    async fn tcp_check_passes_on_a_listening_port() {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let client = reqwest::Client::new();
        assert!(
            Check::Tcp { port }
                .passes(&client, Duration::from_secs(1))
                .await
        );
    }
}
