//! TLS to a broker whose certificate a public CA signed, from inside the producer's image: the
//! image carries the system's CA bundle, and a client given no CA of its own must find it
//! there. The image's root file system is laid out by `images/rootfs.sh`, as the image's build
//! stage does; the test CA added to its bundle stands in for a public CA.

use std::path::{Path, PathBuf};
use std::time::Duration;

use e2e::fixtures::unique_name;
use e2e::kafka_secured::{Secured, acls};
use e2e::process::ServiceProcess;
use e2e::testbed::TestBed;

use crate::support::Topics;

const BINARY: &str = "/usr/local/bin/coffee-producer";
const BUNDLE: &str = "etc/ssl/certs/ca-certificates.crt";

/// The producer image's root file system in a directory of its own, removed when dropped.
struct RootFs(PathBuf);

impl RootFs {
    fn lay_out(bed: &TestBed) -> Self {
        let dir = PathBuf::from(&bed.log_dir)
            .join("rootfs")
            .join(unique_name("producer"));
        let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("../images/rootfs.sh");
        let output = std::process::Command::new(script)
            .arg(env!("CARGO_BIN_EXE_coffee-producer"))
            .arg(&dir)
            .output()
            .expect("images/rootfs.sh runs");
        assert!(
            output.status.success(),
            "images/rootfs.sh: {}",
            String::from_utf8_lossy(&output.stderr)
        );
        // The images' user must be able to reach the binary.
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o755))
            .expect("the root file system readable");
        Self(dir)
    }

    /// Adds `ca_pem` to the image's CA bundle, as a public CA is in it.
    fn trust(&self, ca_pem: &str) {
        let bundle = self.0.join(BUNDLE);
        let mut text = std::fs::read_to_string(&bundle).expect("the image's CA bundle");
        text.push_str(ca_pem);
        std::fs::write(&bundle, text).expect("the image's CA bundle written");
    }
}

impl Drop for RootFs {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// The producer inside `root`, on the brokers' SASL_SSL listener as `user`, with `extra` flags.
fn start_inside(
    bed: &TestBed,
    root: &RootFs,
    topics: &Topics,
    (secured, user): (&Secured, &str),
    extra: &[String],
) -> ServiceProcess {
    let mut flags = secured.scram_flags(user);
    // Given no CA: the system's (the image's bundle) are trusted.
    let ca = flags
        .iter()
        .position(|f| f == "--kafka-ssl-ca-pem")
        .expect("a CA flag");
    flags.drain(ca..ca + 2);
    flags.extend(extra.iter().cloned());
    ServiceProcess::spawn_chrooted(bed, &root.0, BINARY, "producer-tests", "trust", |c| {
        c.args(["--bind-address", "127.0.0.1"])
            .args(["--kafka-brokers", &secured.sasl_ssl_servers()])
            .args(["--kafka-topic", &topics.orders])
            .args(["--status-topic", &topics.statuses])
            .args(&flags)
            .env("RUST_LOG", "info");
    })
    .expect("the producer starts inside the image's root file system")
}

/// The test bed's secured listeners, a SCRAM user of the test's own, and topics it may use as
/// a producer.
async fn secured_topics(bed: &TestBed, name: &str) -> (Secured, String, Topics) {
    let mut secured = bed.secured().expect("the test bed's certificates");
    let user = secured.new_user(name).await.expect("a SCRAM user");
    let topics = Topics::create_on(bed, &bed.kafka_bootstrap_servers, name)
        .await
        .expect("topics");
    secured
        .grant(&acls::producer(&format!("User:{user}"), &topics.orders))
        .await
        .expect("the producer's ACLs");
    (secured, user, topics)
}

#[tokio::test]
async fn a_broker_signed_by_a_ca_in_the_images_bundle_is_trusted_without_a_ca_of_its_own() {
    let bed = TestBed::load().expect("the test bed");
    let (secured, user, topics) = secured_topics(&bed, "trust-public").await;
    let root = RootFs::lay_out(&bed);
    root.trust(&secured.certificates.ca_pem);
    let mut producer = start_inside(&bed, &root, &topics, (&secured, &user), &[]);
    producer
        .wait_for("/readyz", 200, Duration::from_secs(45))
        .await
        .expect("ready over SASL_SSL, trusting the image's bundle");
}

#[tokio::test]
async fn a_broker_signed_by_a_ca_the_image_does_not_know_is_refused_unless_its_ca_is_given() {
    let bed = TestBed::load().expect("the test bed");
    let (secured, user, topics) = secured_topics(&bed, "trust-private").await;
    let root = RootFs::lay_out(&bed);
    let refused = start_inside(&bed, &root, &topics, (&secured, &user), &[]);
    e2e::poll::eventually(
        "the broker's certificate refused",
        Duration::from_secs(45),
        || async {
            let tail = refused.log_tail();
            match tail.contains("certificate verify failed") {
                true => Ok(()),
                false => Err(tail),
            }
        },
    )
    .await
    .expect("the handshake fails on the unknown CA");
    let given = [
        "--kafka-ssl-ca-pem".to_owned(),
        secured.certificates.ca_pem.clone(),
    ];
    let mut trusting = start_inside(&bed, &root, &topics, (&secured, &user), &given);
    trusting
        .wait_for("/readyz", 200, Duration::from_secs(45))
        .await
        .expect("ready over SASL_SSL with the broker's CA given");
}
