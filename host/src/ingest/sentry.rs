//! The Sentry SDK protocol: `POST /api/{project}/store/` and
//! `POST /api/{project}/envelope/`, authenticated by the DSN's public key
//! (`X-Sentry-Auth`, `?sentry_key=`, or the envelope header's `dsn`), gzip or
//! deflate bodies with a cap on the decompressed size.

use std::io::Read;

use serde_json::Value as Json;

use crate::event::EventError;
use crate::event::raw::Raw;
use crate::runtime::bindings::faultline::plugin::types::Event;

/// The `sentry_key` of an `X-Sentry-Auth` header (`Sentry sentry_key=…, sentry_version=7`).
pub fn key_from_auth_header(header: &str) -> Option<&str> {
    header
        .trim()
        .strip_prefix("Sentry")?
        .split(',')
        .find_map(|part| part.trim().strip_prefix("sentry_key="))
        .map(str::trim)
}

/// The public key of a DSN (`http://KEY@host/1`).
pub fn key_from_dsn(dsn: &str) -> Option<&str> {
    let rest = dsn.split_once("://")?.1;
    let userinfo = rest.split_once('@')?.0;
    Some(userinfo.split(':').next().unwrap_or(userinfo))
}

/// Decodes a `Content-Encoding`; refuses output larger than `limit`.
pub fn decode(encoding: Option<&str>, body: &[u8], limit: usize) -> Result<Vec<u8>, String> {
    let mut out = Vec::new();
    let read = match encoding.map(|e| e.trim().to_ascii_lowercase()).as_deref() {
        None | Some("") | Some("identity") => return Ok(body.to_vec()),
        Some("gzip") | Some("x-gzip") => flate2::read::GzDecoder::new(body)
            .take(limit as u64 + 1)
            .read_to_end(&mut out),
        Some("deflate") => {
            // HTTP's "deflate" is zlib-wrapped; some clients send raw deflate.
            let zlib = flate2::read::ZlibDecoder::new(body)
                .take(limit as u64 + 1)
                .read_to_end(&mut out);
            if zlib.is_err() {
                out.clear();
                flate2::read::DeflateDecoder::new(body)
                    .take(limit as u64 + 1)
                    .read_to_end(&mut out)
            } else {
                zlib
            }
        }
        Some("br") => brotli_decompressor::Decompressor::new(body, 4096)
            .take(limit as u64 + 1)
            .read_to_end(&mut out),
        Some(other) => {
            return Err(format!(
                "unsupported Content-Encoding {other:?}; use gzip, deflate, br or none"
            ));
        }
    };
    read.map_err(|e| {
        format!(
            "the body is not valid {}: {e}",
            encoding.unwrap_or_default()
        )
    })?;
    if out.len() > limit {
        return Err(format!("the body decompresses to more than {limit} bytes"));
    }
    Ok(out)
}

/// What an envelope holds that faultline processes.
#[derive(Debug, Default)]
pub struct Envelope {
    /// The envelope header.
    pub header: Json,
    /// `event` items, read with the header's `event_id` applied (or what is
    /// wrong with them), and each payload's size in bytes as sent.
    pub events: Vec<(Result<Event, EventError>, usize)>,
    /// Items of other types, skipped.
    pub skipped: Vec<String>,
}

fn line(body: &[u8], at: usize) -> (&[u8], usize) {
    match body[at..].iter().position(|b| *b == b'\n') {
        Some(i) => (&body[at..at + i], at + i + 1),
        None => (&body[at..], body.len()),
    }
}

/// Reads an envelope's event item, the header's `event_id` (if it has one)
/// in place of the payload's; `Err` only for text that is not JSON, the
/// event's own error inside. Read straight into the event where the
/// payload allows; through the tree, with the id set on it, where not.
fn read_event(payload: &[u8], id: Option<&Json>) -> Result<Result<Event, EventError>, String> {
    let event = match crate::event::parse(payload) {
        Err(EventError::Json(e)) => return Err(e),
        Ok(event) => event,
        // The payload's own id may be what is wrong, and the header's
        // replaces it: the tree reader reads the event with it set.
        Err(e) if id.is_none() => return Ok(Err(e)),
        Err(_) => {
            let mut event = crate::event::raw::from_slice(payload).map_err(|e| e.to_string())?;
            if let (Some(id), Raw::Object(obj)) = (id, &mut event) {
                obj.insert("event_id", crate::event::raw::from_value(id).into_owned());
            }
            return Ok(crate::event::from_raw(&event));
        }
    };
    Ok(match id {
        Some(id) => crate::event::event_id_from_json(id).map(|id| Event {
            event_id: id,
            ..event
        }),
        None => Ok(event),
    })
}

/// Parses an envelope: a header line, then items, each a header line and a
/// payload of `length` bytes or up to the next newline.
pub fn parse_envelope(body: &[u8]) -> Result<Envelope, String> {
    let (header_line, mut at) = line(body, 0);
    let header: Json =
        serde_json::from_slice(header_line).map_err(|e| format!("invalid envelope header: {e}"))?;
    if !header.is_object() {
        return Err("the envelope header must be a JSON object".into());
    }
    let mut envelope = Envelope {
        header,
        ..Envelope::default()
    };
    let mut index = 0;
    while at < body.len() {
        let (item_line, next) = line(body, at);
        at = next;
        if item_line.iter().all(u8::is_ascii_whitespace) {
            continue;
        }
        let item: Json = serde_json::from_slice(item_line)
            .map_err(|e| format!("item {index}: invalid item header: {e}"))?;
        let payload = match item.get("length").and_then(Json::as_u64) {
            Some(len) => {
                let len = len as usize;
                if at + len > body.len() {
                    return Err(format!(
                        "item {index}: truncated: header says {len} bytes, {} remain",
                        body.len() - at
                    ));
                }
                let p = &body[at..at + len];
                at += len;
                if body.get(at) == Some(&b'\n') {
                    at += 1;
                }
                p
            }
            None => {
                let (p, next) = line(body, at);
                at = next;
                p
            }
        };
        let kind = item.get("type").and_then(Json::as_str).unwrap_or("");
        if kind == "event" {
            let event = read_event(payload, envelope.header.get("event_id"))
                .map_err(|e| format!("item {index}: invalid event JSON: {e}"))?;
            envelope.events.push((event, payload.len()));
        } else {
            envelope.skipped.push(kind.to_string());
        }
        index += 1;
    }
    Ok(envelope)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    #[test]
    fn auth_sources() {
        assert_eq!(
            key_from_auth_header("Sentry sentry_key=abc, sentry_version=7, sentry_client=x/1"),
            Some("abc")
        );
        assert_eq!(key_from_auth_header("Bearer abc"), None);
        assert_eq!(key_from_dsn("http://abc@127.0.0.1:8080/1"), Some("abc"));
        assert_eq!(key_from_dsn("https://abc:secret@host/2"), Some("abc"));
    }

    #[test]
    fn envelopes_with_and_without_lengths() {
        let event = br#"{"message":"hi","event_id":"11111111111111111111111111111111"}"#;
        let mut body =
            br#"{"event_id":"9ec79c33ec9942ab8353589fcb2e04dc","dsn":"http://k@h/1"}"#.to_vec();
        body.extend_from_slice(
            format!("\n{{\"type\":\"event\",\"length\":{}}}\n", event.len()).as_bytes(),
        );
        body.extend_from_slice(event);
        body.extend_from_slice(b"\n{\"type\":\"session\"}\n{\"started\":\"x\"}\n{\"type\":\"event\"}\n{\"message\":\"two\"}");
        let env = parse_envelope(&body).unwrap();
        assert_eq!(env.events.len(), 2);
        let first = env.events[0].0.as_ref().unwrap();
        assert_eq!(
            first.event_id, "9ec79c33ec9942ab8353589fcb2e04dc",
            "the header's event_id wins"
        );
        assert_eq!(first.message.as_deref(), Some("hi"));
        assert_eq!(env.events[0].1, event.len(), "sizes are as sent");
        let second = env.events[1].0.as_ref().unwrap();
        assert_eq!(second.message.as_deref(), Some("two"));
        assert_eq!(second.event_id, "9ec79c33ec9942ab8353589fcb2e04dc");
        assert_eq!(env.skipped, vec!["session"]);
        let truncated = parse_envelope(b"{}\n{\"type\":\"event\",\"length\":50}\n{}").unwrap_err();
        assert!(truncated.contains("truncated"), "{truncated}");
        assert!(
            parse_envelope(b"nope")
                .unwrap_err()
                .starts_with("invalid envelope header")
        );
    }

    #[test]
    fn the_header_event_id_replaces_the_payloads() {
        let header = serde_json::json!("9EC79C33-EC99-42AB-8353-589FCB2E04DC");
        let want = "9ec79c33ec9942ab8353589fcb2e04dc";
        let read = |payload: &str, id: Option<&Json>| read_event(payload.as_bytes(), id);
        // Read straight, then the id replaced.
        let e = read(
            r#"{"message":"m","event_id":"11111111111111111111111111111111"}"#,
            Some(&header),
        );
        assert_eq!(e.unwrap().unwrap().event_id, want);
        // The payload's own id is not one: the header's replaces it all the same.
        let e = read(r#"{"message":"m","event_id":"nope"}"#, Some(&header));
        assert_eq!(e.unwrap().unwrap().event_id, want);
        // Without a header id, the payload's error stands.
        let e = read(r#"{"event_id":"nope"}"#, None).unwrap().unwrap_err();
        assert!(e.to_string().starts_with("field `event_id`"), "{e}");
        // A header id that is not one is the event's error.
        let e = read(r#"{"message":"m"}"#, Some(&serde_json::json!("x")));
        assert!(
            e.unwrap()
                .unwrap_err()
                .to_string()
                .starts_with("field `event_id`")
        );
        // Text that is not JSON is the item's error.
        assert!(read("{", Some(&header)).unwrap_err().contains("EOF"));
    }

    #[test]
    fn decompression_is_capped() {
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
        gz.write_all(&vec![b'a'; 100_000]).unwrap();
        let bomb = gz.finish().unwrap();
        assert!(bomb.len() < 1000);
        assert_eq!(decode(Some("gzip"), &bomb, 200_000).unwrap().len(), 100_000);
        assert!(
            decode(Some("gzip"), &bomb, 10_000)
                .unwrap_err()
                .contains("more than 10000 bytes")
        );
        assert!(
            decode(Some("zstd"), b"x", 10)
                .unwrap_err()
                .contains("unsupported Content-Encoding")
        );
        let mut br = Vec::new();
        brotli::BrotliCompress(
            &mut &vec![b'a'; 100_000][..],
            &mut br,
            &brotli::enc::BrotliEncoderParams::default(),
        )
        .unwrap();
        assert!(br.len() < 1000);
        assert_eq!(decode(Some("br"), &br, 200_000).unwrap().len(), 100_000);
        assert!(
            decode(Some("br"), &br, 10_000)
                .unwrap_err()
                .contains("more than 10000 bytes")
        );
        let mut z = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::default());
        z.write_all(b"{}").unwrap();
        assert_eq!(
            decode(Some("deflate"), &z.finish().unwrap(), 10).unwrap(),
            b"{}"
        );
    }
}
