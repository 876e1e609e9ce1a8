use super::*;
use detectors::Finding;
use faultline_sdk::{Attribute, Request, User, Value, new_event, new_exception};

fn scrub(config: Config, text: &str) -> String {
    let mut pii = Pii::new(config).unwrap();
    let mut event = new_event("e");
    event.message = Some(text.to_string());
    match pii.redact(&event).unwrap().pop() {
        Some(Edit {
            action: Redaction::Replace(s),
            ..
        }) => s,
        Some(other) => panic!("unexpected edit {other:?}"),
        None => text.to_string(),
    }
}

fn replace(text: &str) -> String {
    scrub(Config::default(), text)
}

#[test]
fn finds_each_kind() {
    let cases = [
        ("mail jane.doe+x@example.co.uk now", "mail [email] now"),
        ("card 4111 1111 1111 1111 failed", "card [card] failed"),
        ("card 4111-1111-1111-1111", "card [card]"),
        ("amex 378282246310005.", "amex [card]."),
        ("iban DE89 3704 0044 0532 0130 00 bad", "iban [iban] bad"),
        ("iban GB82WEST12345698765432", "iban [iban]"),
        (
            "call +44 20 7946 0958 or +1-415-555-2671",
            "call [phone] or [phone]",
        ),
        ("call (415) 555-2671 today", "call [phone] today"),
        ("call 415.555.2671", "call [phone]"),
        ("ruf 030 1234 5678 an", "ruf [phone] an"),
        ("from 203.0.113.42:443", "from [ipv4]:443"),
        ("from 2001:db8:85a3::8a2e:370:7334 x", "from [ipv6] x"),
        (
            "jwt eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0In0.dozjgNryP4J3jVmNHl0w5N_XgL0n3I9PlFUP0THsR8U",
            "jwt [jwt]",
        ),
        (
            "Authorization: Bearer abc123def456ghi",
            "Authorization: Bearer [bearer]",
        ),
        ("key AKIAIOSFODNN7EXAMPLE used", "key [api_key] used"),
        (
            "stripe sk_live_4eC39HqLyjWDarjtT1zdp7dc",
            "stripe [api_key]",
        ),
        (
            "gh ghp_abcdefghijklmnopqrstuvwxyz0123456789",
            "gh [api_key]",
        ),
        (
            "postgres://app:hunter2@db.internal:5432/x",
            "postgres://app:[url_credentials]@db.internal:5432/x",
        ),
        (
            "GET /login?user=bob&password=hunter2&x=1",
            "GET /login?user=bob&password=[secret]&x=1",
        ),
        (
            "Server=db;User Id=sa;Password=S3cr3t!;",
            "Server=db;User Id=sa;Password=[secret];",
        ),
        ("ssn 123-45-6789 on file", "ssn [ssn] on file"),
    ];
    for (input, expected) in cases {
        assert_eq!(replace(input), expected, "input: {input}");
    }
}

#[test]
fn keeps_look_alikes() {
    let keep = [
        "order 4111111111111112 not found",
        "order ORD-2024-000123 failed after 1500 ms",
        "upgrade from 2.14.3 to 2.15.0 failed",
        "build 1.2.3.4.5 broke",
        "timeout at 2024-03-05T10:22:33.123Z after 30s",
        "request 550e8400-e29b-41d4-a716-446655440000 failed",
        "host api-7f9c.prod.internal:8443 refused",
        "SELECT * FROM users WHERE id = $1 AND email = $2",
        "epoch 1700000000123 out of range",
        "std::vector<int>::at failed in Foo::bar",
        "basic authentication failed",
        "token expired",
        "ssn 000-12-3456 is invalid",
        "retry 3 of 5 in 250ms, shipping code 12345",
        "sha 9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08",
    ];
    for input in keep {
        assert_eq!(replace(input), input, "input was changed");
    }
}

#[test]
fn methods() {
    let cfg = |method| Config {
        method,
        hash_key: Some("0123456789abcdef".into()),
        ..Config::default()
    };
    assert_eq!(
        scrub(cfg(Method::Mask), "card 4111 1111 1111 1111"),
        "card **** **** **** 1111"
    );
    assert_eq!(scrub(cfg(Method::Remove), "mail a@b.io now"), "mail  now");
    let h1 = scrub(cfg(Method::Hash), "mail a@b.io");
    let h2 = scrub(cfg(Method::Hash), "mail a@b.io");
    let h3 = scrub(cfg(Method::Hash), "mail c@b.io");
    assert_eq!(h1, h2);
    assert_ne!(h1, h3);
    assert!(
        h1.starts_with("mail [email:") && h1.len() == "mail [email:]".len() + 16,
        "{h1}"
    );
    let mut per_kind = Config::default();
    per_kind.methods.insert(Kind::Card, Method::Mask);
    assert_eq!(
        scrub(per_kind, "a@b.io 4111111111111111"),
        "[email] ************1111"
    );
}

#[test]
fn hash_without_key_is_a_config_error() {
    let config = Config {
        method: Method::Hash,
        ..Config::default()
    };
    let err = Pii::new(config).err().unwrap();
    assert!(err.to_string().contains("hash_key"), "{err}");
    let bad: Result<Config, _> = faultline_sdk::parse_config(r#"{"method": "shred"}"#);
    assert!(bad.unwrap_err().to_string().contains("shred"));
}

#[test]
fn only_enabled_detectors_report() {
    let config = Config {
        detectors: Some(vec![Kind::Email]),
        ..Config::default()
    };
    assert_eq!(
        scrub(config, "a@b.io 4111111111111111"),
        "[email] 4111111111111111"
    );
}

#[test]
fn sensitive_keys_scrub_whole_values_everywhere() {
    let mut event = new_event("e");
    event
        .tags
        .push(("session_id".into(), "plain-looking".into()));
    event.tags.push(("shipping".into(), "express".into()));
    event.request = Some(Request {
        method: Some("POST".into()),
        url: Some("https://shop.example.com/pay?card=4111111111111111".into()),
        query_string: None,
        cookies: Some("sid=abc".into()),
        headers: vec![
            ("Authorization".into(), "Basic dXNlcjpwYXNz".into()),
            ("Accept".into(), "text/html".into()),
        ],
    });
    event.user = Some(User {
        id: Some("42".into()),
        email: Some("jane@example.com".into()),
        username: Some("jane".into()),
        ip_address: Some("198.51.100.7".into()),
    });
    let mut exc = new_exception("ValueError", "bad card 5555555555554444");
    exc.frames.push(faultline_sdk::Frame {
        function: Some("pay".into()),
        module: Some("shop.pay".into()),
        filename: None,
        abs_path: None,
        lineno: Some(3),
        colno: None,
        in_app: Some(true),
        vars: vec![Attribute {
            key: "password".into(),
            value: Value::Text("letmein".into()),
        }],
    });
    event.exceptions.push(exc);
    event.attributes.push(Attribute {
        key: "extra.api_key".into(),
        value: Value::Text("whatever".into()),
    });
    event.attributes.push(Attribute {
        key: "extra.order_id".into(),
        value: Value::Text("ORD-1".into()),
    });
    // Twice with one instance: the second time, whether each field name is
    // sensitive is remembered.
    let mut pii = Pii::new(Config::default()).unwrap();
    for pass in 0..2 {
        let edits = pii.redact(&event).unwrap();
        let paths: Vec<&str> = edits.iter().map(|e| e.path.as_str()).collect();
        assert_eq!(
            paths,
            vec![
                "exception.values.0.value",
                "exception.values.0.stacktrace.frames.0.vars.password",
                "tags.session_id",
                "user.email",
                "user.ip_address",
                "request.url",
                "request.cookies",
                "request.headers.Authorization",
                "extra.api_key",
            ],
            "pass {pass}"
        );
    }
}

/// The detectors as one alternation regex with a group per pattern, scanned
/// with captures and no prefilter: the simplest reading of "patterns in
/// priority order, leftmost first, non-overlapping", kept as the oracle the
/// fast scan is checked against.
struct Reference {
    regex: regex::Regex,
    groups: Vec<(usize, bool, Kind, Option<detectors::Check>, bool)>,
}

impl Reference {
    fn new(enabled: impl Fn(Kind) -> bool) -> Reference {
        let mut combined = Vec::new();
        let mut groups = Vec::new();
        let mut next_group = 1;
        for &(kind, pattern, check) in detectors::PATTERNS {
            combined.push(format!("({pattern})"));
            let inner = regex::Regex::new(pattern).unwrap().captures_len() - 1;
            groups.push((next_group, inner > 0, kind, check, enabled(kind)));
            next_group += 1 + inner;
        }
        Reference {
            regex: regex::Regex::new(&combined.join("|")).unwrap(),
            groups,
        }
    }

    fn scan(&self, value: &str) -> Vec<Finding> {
        let mut out = Vec::new();
        let mut at = 0;
        while at < value.len() {
            let Some(caps) = self.regex.captures_at(value, at) else {
                break;
            };
            let m = caps.get(0).unwrap();
            at = m.end().max(m.start() + 1);
            while !value.is_char_boundary(at) {
                at += 1;
            }
            let &(group, inner, kind, check, enabled) = self
                .groups
                .iter()
                .find(|g| caps.get(g.0).is_some())
                .unwrap();
            let whole = caps.get(group).unwrap();
            let target = if inner {
                caps.get(group + 1).unwrap_or(whole)
            } else {
                whole
            };
            if enabled
                && check.is_none_or(|c| c(target.as_str()))
                && detectors::boundaries_ok(kind, value, whole.start(), whole.end())
            {
                out.push(Finding {
                    start: target.start(),
                    end: target.end(),
                    kind,
                });
            }
        }
        out
    }
}

/// The fast scan (prefilter, then one multi-pattern search and a capturing
/// search only for patterns with a group) finds exactly what the reference
/// alternation finds, for every detector alone and all together, over values
/// made of PII samples, their shortest forms, look-alikes and noise joined by
/// the characters the prefilter counts.
#[test]
fn fast_scan_finds_what_the_reference_finds() {
    let fragments = [
        "jane.doe+x@example.co.uk",
        "a@b.cc",
        "4111 1111 1111 1111",
        "4111111111111111",
        "378282246310005",
        "DE89 3704 0044 0532 0130 00",
        "GB82WEST12345698765432",
        "+44 20 7946 0958",
        "+1-415",
        "(415) 555-2671",
        "415.555.2671",
        "030 1234 5678",
        "203.0.113.42",
        "1.2.3.4",
        "2001:db8::1",
        "fe::ab",
        "::",
        "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0In0.sig",
        "eyJabcd.eyJabcd.",
        "Bearer abc123def456ghi",
        "token 12345678",
        "basic dXNlcjpwYXNz",
        "AKIAIOSFODNN7EXAMPLE",
        "xoxb-1234567890",
        "sk-abcdefghijklmnopqrstu",
        "sk_live_4eC39HqLyjWDarjtT1zdp7dc",
        "ghp_abcdefghijklmnopqrstuvwxyz0123456789",
        "npm_abcdefghijklmnopqrstuvwxyz0123456789",
        "SG.abcdefghijklmnop.abcdefghijklmnop",
        "glpat-abcdefghijklmnopqrst",
        "ACabcdefabcdefabcdefabcdefabcdefab",
        "-----BEGIN PRIVATE KEY-----",
        "-----BEGIN RSA PRIVATE KEY-----MIIB-----END RSA PRIVATE KEY-----",
        "postgres://app:hunter2@db",
        "password=hunter2",
        "secret: s3",
        "api_key: x",
        "123-45-6789",
        "ORD-2024-000123",
        "handler_12",
        "shop.checkout.step3",
        "shop/checkout/step3.py",
        "Mozilla/5.0",
        "TOKEN\u{a0}abcdefgh1",
        "\u{212a}ey=1",
        "pässword=x",
        "plain words",
        "x",
        "",
    ];
    let joins = ["", " ", ".", "-", "/", ":", "=", "@", "_", "\t", "\u{2003}"];
    let mut state = 0x2545_f491_4f6c_dd1d_u64;
    let mut next = |n: usize| {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        (state % n as u64) as usize
    };
    let mut values: Vec<String> = fragments.iter().map(|f| f.to_string()).collect();
    for _ in 0..3000 {
        let mut v = String::new();
        for _ in 0..1 + next(4) {
            v.push_str(joins[next(joins.len())]);
            let f = fragments[next(fragments.len())];
            // Sometimes only part of a fragment, cut at a character boundary.
            let cut = f
                .char_indices()
                .map(|(i, _)| i)
                .nth(next(f.len() + 1))
                .unwrap_or(f.len());
            v.push_str(if next(3) == 0 { &f[..cut] } else { f });
        }
        values.push(v);
    }
    let mut sets: Vec<Vec<Kind>> = Kind::ALL.iter().map(|k| vec![*k]).collect();
    sets.push(Kind::ALL.to_vec());
    let mut found = Vec::new();
    let (mut skipped, mut findings) = (0, 0);
    for set in &sets {
        let mut detectors = Detectors::new(|k| set.contains(&k));
        let reference = Reference::new(|k| set.contains(&k));
        for v in &values {
            found.clear();
            detectors.scan(v, &mut found);
            assert_eq!(found, reference.scan(v), "detectors {set:?}, value {v:?}");
            skipped += usize::from(!detectors.may_match(v));
            findings += found.len();
        }
    }
    // The test means something only if values are both skipped and found in.
    assert!(skipped > 1000, "prefilter skipped only {skipped} values");
    assert!(findings > 5000, "only {findings} findings");
}

#[test]
fn ascii_keys_normalize_as_the_unicode_path_does() {
    let unicode = |key: &str| -> String {
        key.chars()
            .filter(|c| !matches!(c, '-' | '_' | '.' | ' '))
            .flat_map(char::to_lowercase)
            .collect()
    };
    let every_ascii: String = (0u8..128).map(char::from).collect();
    for key in ["Pass-Word", "X_API.Key", "user email", "", &every_ascii] {
        assert_eq!(normalize_key(key), unicode(key), "{key:?}");
    }
    assert_eq!(normalize_key("ÜBER_Tökén"), "übertökén");
}
