use super::*;

#[test]
fn the_shared_template_is_filled_in_completely() {
    let properties = server_properties(
        29092,
        29093,
        "SASL_PLAINTEXT",
        std::path::Path::new("/tmp/k"),
    );
    let settings: Vec<&str> = properties.lines().filter(|l| !l.starts_with('#')).collect();
    for placeholder in ["@PORT@", "@CONTROLLER_PORT@", "@LISTENER@", "@LOG_DIRS@"] {
        assert!(
            settings.iter().all(|l| !l.contains(placeholder)),
            "{placeholder} left in {properties}"
        );
    }
    assert!(
        settings
            .contains(&"listeners=SASL_PLAINTEXT://127.0.0.1:29092,CONTROLLER://127.0.0.1:29093")
    );
    assert!(settings.contains(&"log.dirs=/tmp/k"));
    assert!(
        settings.contains(&"offsets.topic.num.partitions=12"),
        "the test bed's value"
    );
}
