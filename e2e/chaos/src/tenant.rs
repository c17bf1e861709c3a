//! The stage's pipeline as a tenant of the test bed's shared, secured Kafka: over SASL_SSL as a
//! SCRAM user of its own, granted exactly the README's ACLs for its operator, intake and
//! consumers, with the CA and the credentials in Secrets the pipeline names. Its password can
//! be rotated as a platform team would: on the brokers, then in the Secret.

use e2e::kafka_secured::{Secured, acls};
use e2e::operator::apply_secret;
use e2e::testbed::TestBed;

/// The Secret with the tenant's user name and password.
pub const USER_SECRET: &str = "chaos-kafka-user";
/// The Secret with the test bed's CA.
const CA_SECRET: &str = "chaos-kafka-ca";

#[derive(Debug)]
pub struct Tenant {
    secured: Secured,
    pub user: String,
    namespace: String,
}

impl Tenant {
    /// A new SCRAM user granted the pipeline's ACLs on `topic`, and its Secrets in `namespace`.
    pub async fn create(bed: &TestBed, namespace: &str, topic: &str) -> anyhow::Result<Self> {
        let mut secured = bed.secured()?;
        let user = secured.new_user("chaos").await?;
        let principal = format!("User:{user}");
        let granted = [
            acls::operator(&principal, topic),
            acls::producer(&principal, topic),
            acls::consumer(&principal, topic),
        ]
        .concat();
        secured.grant(&granted).await?;
        apply_secret(
            bed,
            namespace,
            CA_SECRET,
            &[("ca.crt", &secured.certificates.ca_pem)],
        )?;
        let tenant = Self {
            secured,
            user,
            namespace: namespace.to_owned(),
        };
        tenant.apply_user_secret(bed)?;
        Ok(tenant)
    }

    /// The spec's `kafka` connection settings, in flow style.
    pub fn connection(&self) -> String {
        format!(
            "bootstrapServers: \"{}\", tls: {{caSecret: {{name: {CA_SECRET}, key: ca.crt}}}}, \
             sasl: {{mechanism: SCRAM-SHA-512, secretName: {USER_SECRET}}}",
            self.secured.sasl_ssl_servers()
        )
    }

    /// A new password: set on the brokers first (connections already authenticated stay), then
    /// in the Secret, which rolls the pods that read it.
    pub async fn rotate(&mut self, bed: &TestBed) -> anyhow::Result<()> {
        let password = format!("{}-rotated", e2e::fixtures::unique_name("pw"));
        self.secured.set_password(&self.user, &password).await?;
        self.apply_user_secret(bed)
    }

    fn apply_user_secret(&self, bed: &TestBed) -> anyhow::Result<()> {
        let password = self.secured.password(&self.user);
        apply_secret(
            bed,
            &self.namespace,
            USER_SECRET,
            &[("username", &self.user), ("password", &password)],
        )
    }
}
