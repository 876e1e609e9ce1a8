//! The Sentry protocol: the real Python `sentry-sdk` pointed at the DSN, and
//! the store and envelope endpoints' handling of keys, encodings and bad input.

use std::io::Write;
use std::process::Command;

use crate::serve::{raw_request, start};
use crate::support::temp_dir;

const SDK_SCRIPT: &str = r#"
import sys, sentry_sdk
sentry_sdk.init(dsn=sys.argv[1], release="checkout@2.14.3", environment="production", send_default_pii=True)
sentry_sdk.set_user({"id": "u-1001", "email": "jane.doe@example.com"})
sentry_sdk.set_tag("service", "checkout-api")
def charge(card):
    token = "tok_1MqLb2xyz"
    raise ConnectionRefusedError("payment gateway refused card " + card)
try:
    charge("4111 1111 1111 1111")
except Exception:
    print(sentry_sdk.capture_exception())
print(sentry_sdk.capture_message("nightly export timed out after 300 s", level="warning"))
sentry_sdk.flush(timeout=10)
"#;

#[test]
fn the_python_sentry_sdk_works_unchanged() {
    let dir = temp_dir("sentry-sdk");
    let server = start(&dir, &[], None);
    let out = Command::new("python3")
        .args(["-c", SDK_SCRIPT, &server.dsn])
        .output()
        .expect("running python3 (scripts/setup.sh installs sentry-sdk)");
    assert!(
        out.status.success(),
        "sentry-sdk script failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let ids: Vec<String> = String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(str::to_string)
        .collect();
    assert_eq!(ids.len(), 2, "two event ids printed");
    let (status, exception) = server.get(&format!("/api/v1/events/{}", ids[0]));
    assert_eq!(status, 200, "the exception event was stored");
    let text = exception.to_string();
    for secret in [
        "jane.doe@example.com",
        "4111 1111 1111 1111",
        "tok_1MqLb2xyz",
    ] {
        assert!(!text.contains(secret), "{secret} stored unredacted: {text}");
    }
    assert_eq!(
        exception["exception"]["values"][0]["type"],
        "ConnectionRefusedError"
    );
    assert_eq!(exception["release"], "checkout@2.14.3");
    assert_eq!(exception["tags"]["service"], "checkout-api");
    let frames = exception["exception"]["values"][0]["stacktrace"]["frames"]
        .as_array()
        .unwrap();
    assert!(
        frames.iter().any(|f| f["function"] == "charge"),
        "stack frames kept"
    );
    let (status, message) = server.get(&format!("/api/v1/events/{}", ids[1]));
    assert_eq!(status, 200);
    assert_eq!(message["message"], "nightly export timed out after 300 s");
    assert_eq!(message["level"], "warning");
    assert_eq!(message["classification"]["code"], "LATENCY.TIMEOUT");
}

#[test]
fn store_and_envelope_endpoints_check_keys_encodings_and_input() {
    let dir = temp_dir("sentry-endpoints");
    let server = start(&dir, &[], None);
    let key = server.dsn_key();
    let auth = format!("Sentry sentry_key={key}, sentry_version=7, sentry_client=test/1");
    let event = br#"{"event_id":"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa","message":"from store"}"#;

    let (status, _, body) = raw_request(
        &server.addr,
        "POST",
        "/api/1/store/",
        &[("X-Sentry-Auth", auth.as_str())],
        event,
    );
    assert_eq!(
        (status, body["id"].as_str()),
        (200, Some("aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"))
    );

    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    gz.write_all(br#"{"message":"gzipped"}"#).unwrap();
    let (status, _, body) = raw_request(
        &server.addr,
        "POST",
        &format!("/api/1/store/?sentry_key={key}"),
        &[("Content-Encoding", "gzip")],
        &gz.finish().unwrap(),
    );
    assert_eq!(status, 200, "{body}");

    let mut br = Vec::new();
    brotli::BrotliCompress(
        &mut &br#"{"event_id":"cccccccccccccccccccccccccccccccc","message":"brotli"}"#[..],
        &mut br,
        &brotli::enc::BrotliEncoderParams::default(),
    )
    .unwrap();
    let (status, _, body) = raw_request(
        &server.addr,
        "POST",
        &format!("/api/1/store/?sentry_key={key}"),
        // Browser SDKs send text/plain to avoid a CORS preflight: accepted.
        &[("Content-Encoding", "br"), ("Content-Type", "text/plain")],
        &br,
    );
    assert_eq!(
        (status, body["id"].as_str()),
        (200, Some("cccccccccccccccccccccccccccccccc")),
        "{body}"
    );
    let (status, headers, _) = raw_request(
        &server.addr,
        "POST",
        &format!("/api/1/store/?sentry_key={key}"),
        &[("Content-Encoding", "zstd")],
        b"whatever",
    );
    assert_eq!(status, 400);
    assert!(headers.contains("gzip, deflate, br or none"), "{headers}");
    let (status, headers, _) = raw_request(
        &server.addr,
        "POST",
        &format!("/api/1/store/?sentry_key={key}"),
        &[],
        b"{\"message\": \"bad \xff\xfe bytes\"}",
    );
    assert_eq!(status, 400);
    assert!(
        headers.contains("x-sentry-error: invalid json"),
        "{headers}"
    );

    let envelope = format!(
        "{{\"event_id\":\"bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb\",\"dsn\":\"{}\"}}\n{{\"type\":\"session\"}}\n{{}}\n{{\"type\":\"event\"}}\n{{\"message\":\"from envelope\"}}\n",
        server.dsn
    );
    let (status, _, body) = raw_request(
        &server.addr,
        "POST",
        "/api/1/envelope/",
        &[],
        envelope.as_bytes(),
    );
    assert_eq!(
        (status, body["id"].as_str()),
        (200, Some("bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb")),
        "dsn header authenticates; header event_id wins"
    );
    let (status, stored) = server.get("/api/v1/events/bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb");
    assert_eq!(
        (status, stored["message"].as_str()),
        (200, Some("from envelope"))
    );

    let (status, headers, _) = raw_request(&server.addr, "POST", "/api/1/store/", &[], event);
    assert_eq!(status, 403);
    assert!(headers.contains("x-sentry-error: no dsn key"), "{headers}");
    let (status, _, _) = raw_request(
        &server.addr,
        "POST",
        "/api/1/store/",
        &[("X-Sentry-Auth", "Sentry sentry_key=wrong")],
        event,
    );
    assert_eq!(status, 403);
    let (status, _, _) = raw_request(
        &server.addr,
        "POST",
        "/api/9/store/",
        &[("X-Sentry-Auth", auth.as_str())],
        event,
    );
    assert_eq!(status, 404);
    let (status, headers, _) = raw_request(
        &server.addr,
        "POST",
        "/api/1/envelope/",
        &[("X-Sentry-Auth", auth.as_str())],
        b"{}\n{\"type\":\"event\",\"length\":500}\n{\"message\":\"cut\"}",
    );
    assert_eq!(status, 400);
    assert!(
        headers.contains("x-sentry-error: item 0: truncated"),
        "{headers}"
    );
    let (status, headers, _) = raw_request(
        &server.addr,
        "POST",
        "/api/1/store/",
        &[("X-Sentry-Auth", auth.as_str())],
        b"{not json",
    );
    assert_eq!(status, 400);
    assert!(
        headers.contains("x-sentry-error: invalid json"),
        "{headers}"
    );
    let (status, _, _) = raw_request(
        &server.addr,
        "POST",
        "/api/1/store/",
        &[
            ("X-Sentry-Auth", auth.as_str()),
            ("Content-Encoding", "gzip"),
        ],
        b"not gzip",
    );
    assert_eq!(status, 400);
}
