use super::*;
use faultline_sdk::{Frame, new_event, new_exception};

fn classify(config: Config, event: &Event) -> Option<Classification> {
    Taxonomy::new(config).unwrap().classify(event).unwrap()
}

fn with_exception(ty: &str, value: &str) -> Event {
    let mut e = new_event("e1");
    e.exceptions.push(new_exception(ty, value));
    e
}

#[test]
fn covers_every_top_level_category() {
    let cases = [
        (
            with_exception("ConnectionRefusedError", "[Errno 111] Connection refused"),
            "AVAILABILITY.CONNECTION",
        ),
        (
            with_exception(
                "ReadTimeout",
                "HTTPSConnectionPool: Read timed out. (read timeout=5)",
            ),
            "LATENCY.TIMEOUT",
        ),
        (
            with_exception("CardError", "Your card was declined by Stripe"),
            "DEPENDENCY.PAYMENT",
        ),
        (
            with_exception(
                "IntegrityError",
                "duplicate key value violates unique constraint \"orders_pkey\"",
            ),
            "DATA.CONSTRAINT",
        ),
        (
            with_exception("PermissionDenied", "user may not delete invoices"),
            "SECURITY.AUTHORIZATION",
        ),
        (with_exception("MemoryError", ""), "CAPACITY.MEMORY"),
        (
            with_exception("ImproperlyConfigured", "SECRET_KEY must not be empty"),
            "CONFIG.MISSING",
        ),
        (
            with_exception("ValidationError", "email: invalid email"),
            "INPUT.VALIDATION",
        ),
    ];
    for (event, code) in cases {
        let c = classify(Config::default(), &event).unwrap();
        assert_eq!(c.code, code, "for {:?}", event.exceptions[0].type_);
        assert_eq!(
            c.category[0],
            code.split('.').next().unwrap().to_ascii_lowercase()
        );
    }
}

#[test]
fn root_cause_taxonomy_reports_the_cause_code() {
    let mut event = with_exception("OperationalError", "could not connect to server");
    event.exceptions[0].module = Some("psycopg2".into());
    let config = Config {
        taxonomy: TaxonomyKind::RootCause,
        ..Config::default()
    };
    let c = classify(config, &event).unwrap();
    assert_eq!(c.code, "INFRA.DATABASE");
    assert_eq!(c.category, vec!["infra", "database"]);
    assert_eq!(c.taxonomy, "faultline-root-cause/1");
}

#[test]
fn http_status_from_tags() {
    let mut event = new_event("e2");
    event.message = Some("request failed".into());
    event.tags.push(("http.status_code".into(), "503".into()));
    assert_eq!(
        classify(Config::default(), &event).unwrap().code,
        "AVAILABILITY.UNAVAILABLE"
    );
    event.tags[0].1 = "404".into();
    assert_eq!(
        classify(Config::default(), &event).unwrap().code,
        "INPUT.NOT_FOUND"
    );
}

#[test]
fn operator_rules_come_first_and_logger_matches() {
    let config: Config = faultline_sdk::parse_config(
        r#"{"rules": [{"code": "BILLING.LEDGER", "category": ["billing", "ledger"],
            "severity": "critical", "match": {"logger": "^billing\\.", "message": "ledger"}}]}"#,
    )
    .unwrap();
    let mut event = with_exception("TimeoutError", "ledger write timed out");
    event.logger = Some("billing.ledger".into());
    let c = classify(config.clone(), &event).unwrap();
    assert_eq!(c.code, "BILLING.LEDGER");
    assert_eq!(c.severity, Severity::Critical);
    event.logger = Some("web".into());
    assert_eq!(classify(config, &event).unwrap().code, "LATENCY.TIMEOUT");
}

#[test]
fn bad_rules_are_config_errors() {
    let bad_regex = r#"{"rules": [{"code": "X", "category": [], "match": {"message": "("}}]}"#;
    let err = Taxonomy::new(faultline_sdk::parse_config(bad_regex).unwrap())
        .err()
        .unwrap();
    assert!(
        err.to_string()
            .contains("match.message is not a valid regex"),
        "{err}"
    );
    // Among valid rules, on another field, the bad one is named.
    let among_others = r#"{"rules": [
        {"code": "OK", "category": [], "match": {"module": "^shop\\.", "message": "timed? out"}},
        {"code": "BAD", "category": [], "match": {"module": "[z-a]"}}
    ]}"#;
    let Err(PluginError::InvalidConfig(err)) =
        Taxonomy::new(faultline_sdk::parse_config(among_others).unwrap())
    else {
        panic!("a bad pattern must be a config error");
    };
    assert!(
        err.starts_with(r#"rule "BAD": match.module is not a valid regex"#),
        "{err}"
    );
    let no_conditions = r#"{"rules": [{"code": "X", "category": [], "match": {}}]}"#;
    let err = Taxonomy::new(faultline_sdk::parse_config(no_conditions).unwrap())
        .err()
        .unwrap();
    assert!(err.to_string().contains("has no conditions"), "{err}");
    let unknown = faultline_sdk::parse_config::<Config>(r#"{"taxonomy": "symptom", "rulez": []}"#);
    assert!(unknown.unwrap_err().to_string().contains("rulez"));
}

#[test]
fn fingerprint_uses_in_app_frame_and_is_stable() {
    let mut event = with_exception("KeyError", "'customer_42'");
    let frame = |module: &str, function: &str, in_app| Frame {
        function: Some(function.into()),
        module: Some(module.into()),
        filename: None,
        abs_path: None,
        lineno: Some(10),
        colno: None,
        in_app: Some(in_app),
        vars: vec![],
    };
    event.exceptions[0].frames = vec![
        frame("app.views", "checkout", true),
        frame("dict", "get", false),
    ];
    let a = classify(Config::default(), &event).unwrap();
    event.exceptions[0].value = Some("'customer_43'".into());
    let b = classify(Config::default(), &event).unwrap();
    assert_eq!(a.fingerprint, b.fingerprint);
    assert_eq!(
        a.fingerprint.unwrap(),
        vec!["DEFECT.BOUNDS", "KeyError", "app.views:checkout"]
    );
}

#[test]
fn message_fingerprint_strips_ids() {
    assert_eq!(
        normalize_message("order 1234 failed for user 9f86d081884c7d65 (retry 3)"),
        "order <n> failed for user <id> (retry <n>)"
    );
}

#[test]
fn unmatched_events_fall_back_or_not() {
    let mut event = new_event("e3");
    event.message = Some("something odd".into());
    let c = classify(Config::default(), &event).unwrap();
    assert_eq!(c.code, "UNCLASSIFIED");
    let strict = Config {
        fallback: false,
        ..Config::default()
    };
    assert!(classify(strict, &event).is_none());
}

#[test]
fn fatal_level_raises_severity() {
    let mut event = with_exception("ValidationError", "bad");
    event.level = faultline_sdk::Level::Fatal;
    assert_eq!(
        classify(Config::default(), &event).unwrap().severity,
        Severity::Critical
    );
}

/// Events whose texts recur across fields and events: each one alone, and
/// the same text as a module, a message and a logger.
fn recurring_events() -> Vec<Event> {
    let texts = [
        "psycopg2",
        "stripe",
        "Connection refused",
        "read timed out",
        "app.views",
        "duplicate key value violates unique constraint",
    ];
    let mut events = Vec::new();
    for (n, text) in texts.iter().enumerate() {
        for (m, other) in texts.iter().enumerate() {
            let mut event = with_exception(if n % 2 == 0 { "Error" } else { "Timeout" }, other);
            event.exceptions[0].module = Some(text.to_string());
            event.logger = Some(texts[(n + m) % texts.len()].to_string());
            event.message = Some(format!("{text} {other}"));
            events.push(event);
        }
    }
    events
}

#[test]
fn remembered_texts_classify_as_fresh_ones() {
    let events = recurring_events();
    // Expected: an instance that forgets before every event.
    let mut forgetful = Taxonomy::new(Config::default()).unwrap();
    let fresh: Vec<_> = events
        .iter()
        .map(|event| {
            for (_, set) in &mut forgetful.sets {
                set.seen.clear();
            }
            format!("{:?}", forgetful.classify(event).unwrap())
        })
        .collect();
    // One instance over the events three times: the first pass fills what it
    // remembers, the later ones read from it.
    let mut taxonomy = Taxonomy::new(Config::default()).unwrap();
    for _ in 0..3 {
        for (event, expected) in events.iter().zip(&fresh) {
            assert_eq!(
                &format!("{:?}", taxonomy.classify(event).unwrap()),
                expected
            );
        }
    }
    let codes: std::collections::BTreeSet<_> = fresh
        .iter()
        .filter_map(|c| c.split("code: ").nth(1)?.split(',').next())
        .collect();
    assert!(codes.len() > 3, "the events classify alike: {codes:?}");
}
