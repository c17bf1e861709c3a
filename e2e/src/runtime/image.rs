//! Which local binary a container image stands for.

use std::path::{Path, PathBuf};

use super::LaunchError;

/// The binary name an image refers to: its last path segment without tag or digest, so that
/// `ghcr.io/acme/coffee-producer:1.2` runs the workspace's `coffee-producer`.
pub fn binary_name(image: &str) -> Result<&str, LaunchError> {
    let without_digest = image.split('@').next().unwrap_or(image);
    let last_segment = without_digest.rsplit('/').next().unwrap_or(without_digest);
    let name = last_segment.split(':').next().unwrap_or(last_segment);
    if name.is_empty() {
        return Err(LaunchError::Image {
            image: image.to_owned(),
            reason: "has no name to map to a binary".to_owned(),
        });
    }
    Ok(name)
}

/// The path of the binary for `image` inside `bin_dir`, which must exist.
pub fn resolve_binary(bin_dir: &Path, image: &str) -> Result<PathBuf, LaunchError> {
    let path = bin_dir.join(binary_name(image)?);
    if path.is_file() {
        Ok(path)
    } else {
        Err(LaunchError::Image {
            image: image.to_owned(),
            reason: format!("no binary {} (build it with cargo build)", path.display()),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn registry_path_and_tag_are_stripped() {
        assert_eq!(
            binary_name("ghcr.io/acme/coffee-producer:1.2").unwrap(),
            "coffee-producer"
        );
    }

    #[test]
    fn registry_port_is_not_mistaken_for_a_tag() {
        assert_eq!(
            binary_name("localhost:5000/coffee-consumer").unwrap(),
            "coffee-consumer"
        );
    }

    #[test]
    fn digest_is_stripped() {
        assert_eq!(
            binary_name("coffee-operator@sha256:abcd").unwrap(),
            "coffee-operator"
        );
    }

    #[test]
    fn empty_image_is_an_error_naming_it() {
        let error = binary_name("registry/:tag").unwrap_err().to_string();
        assert!(error.contains("registry/:tag"), "{error}");
    }

    #[test]
    fn missing_binary_is_an_error_naming_the_path() {
        let error = resolve_binary(Path::new("/nonexistent"), "x/coffee-ghost:1")
            .unwrap_err()
            .to_string();
        assert!(error.contains("/nonexistent/coffee-ghost"), "{error}");
    }
}
