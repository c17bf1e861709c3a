//! With an OTLP endpoint, finished spans are exported there over OTLP/HTTP.

use std::io::{Read, Write};
use std::net::TcpListener;
use std::sync::mpsc;
use std::time::Duration;

use coffee_telemetry::{LogFormat, init};

/// Accepts one HTTP request and reports its request line and headers.
fn one_request_collector() -> (String, mpsc::Receiver<String>) {
    let listener = TcpListener::bind("127.0.0.1:0").expect("binding a loopback port");
    let endpoint = format!(
        "http://{}/v1/traces",
        listener.local_addr().expect("the bound address")
    );
    let (sender, received) = mpsc::channel();
    std::thread::spawn(move || {
        let (mut stream, _) = listener.accept().expect("accepting the exporter");
        stream
            .set_read_timeout(Some(Duration::from_secs(5)))
            .expect("setting a read timeout");
        let mut buffer = [0u8; 8192];
        let read = stream.read(&mut buffer).unwrap_or(0);
        let _ = stream.write_all(b"HTTP/1.1 200 OK\r\ncontent-length: 0\r\n\r\n");
        let _ = sender.send(String::from_utf8_lossy(&buffer[..read]).into_owned());
    });
    (endpoint, received)
}

#[test]
fn spans_are_exported_to_the_configured_endpoint() {
    let (endpoint, received) = one_request_collector();
    let telemetry = init("coffee-test", LogFormat::Json, Some(&endpoint)).unwrap();
    tracing::info_span!("PlaceOrder").in_scope(|| tracing::info!("inside the span"));
    drop(telemetry);
    let request = received
        .recv_timeout(Duration::from_secs(10))
        .expect("no OTLP request arrived");
    assert!(request.starts_with("POST /v1/traces"), "{request}");
    assert!(
        request
            .to_ascii_lowercase()
            .contains("content-type: application/x-protobuf"),
        "{request}"
    );
}

#[test]
fn an_https_endpoint_is_refused_at_start_up_with_the_reason() {
    let error = init(
        "coffee-test",
        LogFormat::Json,
        Some("https://collector:4318/v1/traces"),
    )
    .expect_err("refused");
    let said = error.to_string();
    assert!(said.contains("https://collector:4318/v1/traces"), "{said}");
    assert!(said.contains("only plain http://"), "{said}");
}
