//! The `CoffeeOrderPipeline` custom resource: what a platform team asks for, validated by the
//! API server at admission (ranges, enums, CEL rules), and what the operator reports back.
//! Doc comments on the fields become the schema's descriptions, so they are written for the
//! people who read `kubectl explain`.

mod autoscaling;
mod pod;
mod spec;
mod status;

pub use autoscaling::*;
pub use pod::*;
pub use spec::*;
pub use status::*;

use kube::CustomResourceExt;

/// The CRD as YAML, as `coffee-operator crd` prints it and `crds/` holds it.
pub fn crd_yaml() -> Result<String, serde_yaml::Error> {
    serde_yaml::to_string(&CoffeeOrderPipeline::crd()).map(|yaml| quote_yaml11_booleans(&yaml))
}

/// Quotes the mode `Off` where it stands alone as a value: kubectl reads YAML 1.1, in which a
/// bare `Off` (like `On`, `Yes`, `No`) is a boolean, while serde_yaml writes YAML 1.2.
fn quote_yaml11_booleans(yaml: &str) -> String {
    let mut out = String::with_capacity(yaml.len());
    for line in yaml.lines() {
        match line.strip_suffix(" Off") {
            Some(head) if head.ends_with(':') || head.trim_start() == "-" => {
                out.push_str(head);
                out.push_str(" 'Off'");
            }
            _ => out.push_str(line),
        }
        out.push('\n');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_bare_off_is_quoted_for_yaml_1_1_readers() {
        assert_eq!(
            quote_yaml11_booleans(
                "enum:\n- Off\n- Observe\ndefault: Off\ndescription: turn it Off\n"
            ),
            "enum:\n- 'Off'\n- Observe\ndefault: 'Off'\ndescription: turn it Off\n"
        );
    }

    #[test]
    fn the_generated_crd_has_no_bare_off() {
        let yaml = crd_yaml().unwrap();
        assert!(
            !yaml
                .lines()
                .any(|l| l.ends_with(": Off") || l.trim() == "- Off")
        );
    }
}
