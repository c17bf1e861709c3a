//! The `CoffeeOrderPipeline` custom resource: what a platform team asks for, validated by the
//! API server at admission (ranges, enums, CEL rules), and what the operator reports back.
//! Doc comments on the fields become the schema's descriptions, so they are written for the
//! people who read `kubectl explain`.

mod spec;
mod status;

pub use spec::*;
pub use status::*;

use kube::CustomResourceExt;

/// The CRD as YAML, as `coffee-operator crd` prints it and `crds/` holds it.
pub fn crd_yaml() -> Result<String, serde_yaml::Error> {
    serde_yaml::to_string(&CoffeeOrderPipeline::crd())
}
