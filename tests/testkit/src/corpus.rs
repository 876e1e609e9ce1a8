//! Deterministic test data: a labelled PII corpus (personal data of every kind
//! placed in every kind of field, plus look-alikes that must survive) and
//! Sentry-shaped events of a chosen size for benchmarks.

use serde_json::{Value, json};

/// A small deterministic PRNG (xorshift64*), so corpora are identical across runs.
pub struct Rng(u64);

impl Rng {
    /// A generator from a seed.
    pub fn new(seed: u64) -> Rng {
        Rng(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1)
    }

    /// The next number.
    pub fn next_u64(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    /// A number below `n`.
    pub fn below(&mut self, n: u64) -> u64 {
        self.next_u64() % n
    }

    /// One of `items`.
    pub fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len() as u64) as usize]
    }

    /// `n` random digits.
    pub fn digits(&mut self, n: usize) -> String {
        (0..n)
            .map(|_| char::from(b'0' + self.below(10) as u8))
            .collect()
    }

    /// `n` random characters from `alphabet`.
    pub fn chars(&mut self, n: usize, alphabet: &[u8]) -> String {
        (0..n).map(|_| char::from(*self.pick(alphabet))).collect()
    }
}

const ALNUM: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
const UPPER_DIGITS: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
const B64URL: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
const HEX: &[u8] = b"0123456789abcdef";

/// The kinds of personal data and secrets in the corpus.
pub const KINDS: &[&str] = &[
    "email",
    "card",
    "iban",
    "phone",
    "ipv4",
    "ipv6",
    "jwt",
    "bearer",
    "api_key",
    "url_password",
    "query_password",
    "connection_password",
    "ssn",
];

fn luhn_complete(prefix: &str, len: usize, rng: &mut Rng) -> String {
    let mut digits: Vec<u32> = prefix.chars().map(|c| c.to_digit(10).unwrap()).collect();
    while digits.len() < len - 1 {
        digits.push(rng.below(10) as u32);
    }
    let sum: u32 = digits
        .iter()
        .rev()
        .enumerate()
        .map(|(i, &d)| {
            if i % 2 == 0 {
                let x = d * 2;
                x / 10 + x % 10
            } else {
                d
            }
        })
        .sum();
    digits.push((10 - sum % 10) % 10);
    digits
        .iter()
        .map(|d| char::from_digit(*d, 10).unwrap())
        .collect()
}

fn iban(rng: &mut Rng) -> String {
    let (country, bban) = match rng.below(3) {
        0 => ("DE", rng.digits(18)),
        1 => (
            "GB",
            format!(
                "{}{}",
                rng.chars(4, b"ABCDEFGHIJKLMNOPQRSTUVWXYZ"),
                rng.digits(14)
            ),
        ),
        _ => ("FR", rng.digits(23)),
    };
    let rearranged = format!("{bban}{country}00");
    let mut rem: u32 = 0;
    for c in rearranged.chars() {
        let v = c.to_digit(36).unwrap();
        rem = if v >= 10 {
            (rem * 100 + v) % 97
        } else {
            (rem * 10 + v) % 97
        };
    }
    let check = 98 - rem;
    let compact = format!("{country}{check:02}{bban}");
    if rng.below(2) == 0 {
        compact
    } else {
        compact
            .as_bytes()
            .chunks(4)
            .map(|c| std::str::from_utf8(c).unwrap())
            .collect::<Vec<_>>()
            .join(" ")
    }
}

/// A value of personal data of `kind`, and the part of it that must disappear.
pub fn pii(kind: &str, rng: &mut Rng) -> (String, String) {
    let same = |s: String| (s.clone(), s);
    match kind {
        "email" => same(format!(
            "{}.{}{}@{}",
            rng.pick(&["jane", "omar", "li", "maria", "kofi", "sven"]),
            rng.pick(&["doe", "haddad", "wei", "garcia", "mensah", "berg"]),
            rng.below(100),
            rng.pick(&["example.com", "mail.example.org", "corp.example.co.uk"])
        )),
        "card" => {
            let (prefix, len) = *rng.pick(&[
                ("4", 16),
                ("51", 16),
                ("55", 16),
                ("2221", 16),
                ("34", 15),
                ("37", 15),
                ("6011", 16),
            ]);
            let n = luhn_complete(prefix, len, rng);
            same(match rng.below(3) {
                0 => n,
                1 if len == 16 => n
                    .as_bytes()
                    .chunks(4)
                    .map(|c| std::str::from_utf8(c).unwrap())
                    .collect::<Vec<_>>()
                    .join(" "),
                _ if len == 16 => n
                    .as_bytes()
                    .chunks(4)
                    .map(|c| std::str::from_utf8(c).unwrap())
                    .collect::<Vec<_>>()
                    .join("-"),
                _ => n,
            })
        }
        "iban" => same(iban(rng)),
        "phone" => same(match rng.below(7) {
            0 => format!("+44 20 {} {}", rng.digits(4), rng.digits(4)),
            1 => format!("+1-{}-555-{}", 200 + rng.below(700), rng.digits(4)),
            2 => format!("+49 30 {}", rng.digits(8)),
            3 => format!("({}) 555-{}", 200 + rng.below(700), rng.digits(4)),
            4 => format!("{}.555.{}", 200 + rng.below(700), rng.digits(4)),
            5 => format!("030 {} {}", rng.digits(4), rng.digits(4)),
            _ => format!(
                "06 {} {} {} {}",
                rng.digits(2),
                rng.digits(2),
                rng.digits(2),
                rng.digits(2)
            ),
        }),
        "ipv4" => same(format!(
            "{}.{}.{}.{}",
            1 + rng.below(223),
            rng.below(256),
            rng.below(256),
            1 + rng.below(254)
        )),
        "ipv6" => same(format!(
            "2001:db8:{:x}:{:x}::{:x}",
            rng.below(0xffff),
            rng.below(0xffff),
            1 + rng.below(0xfffe)
        )),
        "jwt" => same(format!(
            "eyJhbGciOiJIUzI1NiJ9.eyJ{}.{}",
            rng.chars(40, B64URL),
            rng.chars(43, B64URL)
        )),
        "bearer" => {
            let token = format!("{}{}", rng.chars(30, ALNUM), rng.digits(2));
            (format!("Bearer {token}"), token)
        }
        "api_key" => same(match rng.below(5) {
            0 => format!("AKIA{}", rng.chars(16, UPPER_DIGITS)),
            1 => format!("ghp_{}", rng.chars(36, ALNUM)),
            2 => format!("sk_live_{}", rng.chars(24, ALNUM)),
            3 => format!("xoxb-{}-{}", rng.digits(12), rng.chars(24, ALNUM)),
            _ => format!("AIza{}", rng.chars(35, B64URL)),
        }),
        "url_password" => {
            let pw = format!("{}{}!", rng.chars(10, ALNUM), rng.digits(2));
            (
                format!(
                    "postgres://app:{pw}@db-{}.internal:5432/orders",
                    rng.below(9)
                ),
                pw,
            )
        }
        "query_password" => {
            let pw = rng.chars(12, ALNUM);
            (
                format!(
                    "https://shop.example.com/login?user=u{}&password={pw}&next=%2F",
                    rng.below(1000)
                ),
                pw,
            )
        }
        "connection_password" => {
            let pw = format!("{}#{}", rng.chars(8, ALNUM), rng.digits(3));
            (
                format!(
                    "Server=sql-{};Database=ledger;User Id=svc;Password={pw};",
                    rng.below(9)
                ),
                pw,
            )
        }
        "ssn" => same(format!(
            "{:03}-{:02}-{:04}",
            100 + rng.below(565),
            1 + rng.below(98),
            1 + rng.below(9998)
        )),
        other => panic!("unknown kind {other}"),
    }
}

/// A look-alike that must survive redaction unchanged.
pub fn lookalike(rng: &mut Rng) -> String {
    match rng.below(10) {
        0 => format!("ORD-{}-{}", 2020 + rng.below(6), rng.digits(6)),
        1 => format!("v{}.{}.{}", rng.below(5), rng.below(30), rng.below(20)),
        2 => format!(
            "2026-0{}-1{}T{:02}:{:02}:{:02}.{}Z",
            1 + rng.below(9),
            rng.below(10),
            rng.below(24),
            rng.below(60),
            rng.below(60),
            rng.digits(3)
        ),
        3 => format!("{}ms", 10 + rng.below(30_000)),
        4 => format!("api-{}.prod.internal", rng.chars(4, HEX)),
        5 => format!(
            "SELECT id, total FROM orders WHERE customer_id = ${} LIMIT {}",
            1 + rng.below(3),
            10 + rng.below(90)
        ),
        6 => format!(
            "{}-{}-4{}-a{}-{}",
            rng.chars(8, HEX),
            rng.chars(4, HEX),
            rng.chars(3, HEX),
            rng.chars(3, HEX),
            rng.chars(12, HEX)
        ),
        7 => format!("build {}", rng.chars(40, HEX)),
        8 => format!("invoice {}", rng.digits(10)),
        _ => format!(
            "retry {} of {} after {}s",
            1 + rng.below(5),
            5 + rng.below(5),
            rng.below(60)
        ),
    }
}

/// One corpus event with its labels.
pub struct Labelled {
    /// The event as JSON.
    pub event: Value,
    /// Each piece of personal data: its kind and the text that must not survive.
    pub pii: Vec<(&'static str, String)>,
    /// Text that must survive unchanged.
    pub keep: Vec<String>,
}

/// The places a value can sit in.
pub const FIELDS: &[&str] = &[
    "message",
    "exception",
    "frame_var",
    "request_url",
    "header",
    "tag",
    "user",
    "extra",
    "context",
    "breadcrumb",
];

/// `n` labelled events; PII kinds and fields cycle so every kind lands in every field.
pub fn labelled(n: usize, seed: u64) -> Vec<Labelled> {
    let mut rng = Rng::new(seed);
    (0..n)
        .map(|i| {
            let mut event = json!({
                "event_id": format!("{:032x}", i + 1),
                "timestamp": 1_764_000_000 + i as u64,
                "level": "error",
                "platform": "python",
                "logger": "shop.checkout",
                "server_name": format!("checkout-{}", rng.chars(4, HEX)),
                "exception": {"values": [{"type": "PaymentError", "value": "", "stacktrace": {"frames": [
                    {"function": "charge", "module": "shop.payments", "filename": "shop/payments.py", "lineno": 42, "in_app": true, "vars": {}}
                ]}}]},
                "request": {"method": "POST", "url": "https://shop.example.com/checkout", "headers": {"Accept": "application/json"}},
                "tags": {"region": "eu-west-1"},
                "user": {"id": format!("u-{i}")},
                "extra": {},
                "contexts": {"order": {}},
                "breadcrumbs": {"values": []},
            });
            let mut labels = Labelled { event: Value::Null, pii: Vec::new(), keep: Vec::new() };
            let count = 3 + rng.below(3) as usize;
            for j in 0..count {
                let kind = KINDS[(i * 7 + j * 3) % KINDS.len()];
                let field = FIELDS[(i + j * 5) % FIELDS.len()];
                let (value, secret) = pii(kind, &mut rng);
                let look = lookalike(&mut rng);
                let secret = if field == "request_url" && kind == "card" { secret.replace(' ', "") } else { secret };
                place(&mut event, field, kind, j, &value, &look, &mut rng);
                labels.pii.push((kind, secret));
                labels.keep.push(look);
            }
            labels.event = event;
            labels
        })
        .collect()
}

fn place(
    event: &mut Value,
    field: &str,
    kind: &str,
    j: usize,
    value: &str,
    look: &str,
    rng: &mut Rng,
) {
    let sentence = format!(
        "{} {value} while handling {look}",
        rng.pick(&[
            "could not charge",
            "lookup failed for",
            "rejected",
            "timeout contacting"
        ])
    );
    match field {
        "message" => {
            let old = event["message"].as_str().unwrap_or("").to_string();
            event["message"] = Value::String(if old.is_empty() {
                sentence
            } else {
                format!("{old}; {sentence}")
            });
        }
        "exception" => {
            let exc = &mut event["exception"]["values"][0]["value"];
            let old = exc.as_str().unwrap_or("").to_string();
            *exc = Value::String(if old.is_empty() {
                sentence
            } else {
                format!("{old}; {sentence}")
            });
        }
        "frame_var" => {
            let vars = &mut event["exception"]["values"][0]["stacktrace"]["frames"][0]["vars"];
            vars[format!("{kind}_value_{j}")] = Value::String(value.to_string());
            vars[format!("ref_{j}")] = Value::String(look.to_string());
        }
        "request_url" => {
            // Only what plausibly travels in a URL; the rest goes to a header.
            let url = match kind {
                "url_password" | "query_password" => value.to_string(),
                "bearer" => format!(
                    "https://shop.example.com/callback?access_token={}",
                    value.trim_start_matches("Bearer ")
                ),
                "email" | "api_key" | "jwt" | "ipv4" | "ssn" | "card" => {
                    format!(
                        "https://shop.example.com/search?q={}&page=2",
                        value.replace(' ', "")
                    )
                }
                _ => {
                    event["request"]["headers"][format!("X-Detail-{j}")] =
                        Value::String(value.to_string());
                    event["request"]["headers"][format!("X-Trace-{j}")] =
                        Value::String(look.to_string());
                    return;
                }
            };
            event["request"]["url"] = Value::String(url);
            event["request"]["headers"][format!("X-Trace-{j}")] = Value::String(look.to_string());
        }
        "header" => {
            event["request"]["headers"][format!("X-Detail-{j}")] = Value::String(value.to_string());
            event["request"]["headers"][format!("X-Ref-{j}")] = Value::String(look.to_string());
        }
        "tag" => {
            event["tags"][format!("detail_{j}")] = Value::String(value.to_string());
            event["tags"][format!("ref_{j}")] = Value::String(look.to_string());
        }
        "user" => {
            let slot = if kind == "email" {
                "email"
            } else if kind == "ipv4" || kind == "ipv6" {
                "ip_address"
            } else {
                "username"
            };
            event["user"][slot] = Value::String(value.to_string());
            event["user"][format!("note_{j}")] = Value::String(look.to_string());
        }
        "extra" => {
            event["extra"][format!("detail_{j}")] = Value::String(sentence);
        }
        "context" => {
            event["contexts"]["order"][format!("detail_{j}")] = Value::String(value.to_string());
            event["contexts"]["order"][format!("ref_{j}")] = Value::String(look.to_string());
        }
        _ => {
            event["breadcrumbs"]["values"]
                .as_array_mut()
                .unwrap()
                .push(json!({"category": "log", "message": sentence, "level": "info"}));
        }
    }
}

/// A Sentry-shaped error event of about `target_bytes` of JSON, with a stack
/// trace, request, user, tags and extra data, and a little personal data.
pub fn sized_event(i: usize, target_bytes: usize, rng: &mut Rng) -> Value {
    let mut event = json!({
        "event_id": format!("{:032x}", i + 1),
        "timestamp": 1_764_000_000 + i as u64,
        "level": "error",
        "platform": "python",
        "logger": "shop.checkout.views",
        "server_name": "checkout-api-7f9c",
        "transaction": "POST /checkout",
        "release": "checkout@2.14.3",
        "environment": "production",
        "message": format!("payment failed for jane.doe{}@example.com after 3 retries", i % 100),
        "exception": {"values": [{"type": "ConnectionError", "module": "requests.exceptions",
            "value": format!("HTTPSConnectionPool(host='api.payments.example', port=443): Read timed out. (read timeout={})", rng.below(30)),
            "stacktrace": {"frames": []}}]},
        "request": {"method": "POST", "url": "https://shop.example.com/checkout?step=pay",
            "headers": {"Accept": "application/json", "User-Agent": "Mozilla/5.0", "Authorization": "Bearer abc123def456ghi789"}},
        "user": {"id": format!("u-{}", i % 5000), "ip_address": "203.0.113.42"},
        "tags": {"service": "checkout-api", "region": "eu-west-1", "http.status_code": "504"},
        "extra": {"cart_total": 129.99, "currency": "EUR", "order_id": format!("ORD-2026-{:06}", i)},
        "contexts": {"runtime": {"name": "CPython", "version": "3.12.1"}},
    });
    let mut frame = 0;
    while event.to_string().len() < target_bytes {
        let frames = event["exception"]["values"][0]["stacktrace"]["frames"]
            .as_array_mut()
            .unwrap();
        frames.push(json!({
            "function": format!("handler_{frame}"),
            "module": format!("shop.checkout.step{}", frame % 7),
            "filename": format!("shop/checkout/step{}.py", frame % 7),
            "lineno": 10 + frame,
            "in_app": frame % 3 != 0,
        }));
        frame += 1;
    }
    event
}

/// Gives every frame of `event` what the Python SDK sends by default beside
/// the frame's location: its absolute path, source context (the line and a
/// few around it) and local variables.
pub fn with_frame_context(event: &mut Value) {
    let frames = event["exception"]["values"]
        .as_array_mut()
        .into_iter()
        .flatten()
        .filter_map(|exception| exception["stacktrace"]["frames"].as_array_mut())
        .flatten();
    for (n, frame) in frames.enumerate() {
        let filename = frame["filename"].as_str().unwrap_or("app.py").to_string();
        frame["abs_path"] = Value::String(format!("/srv/app/{filename}"));
        frame["context_line"] =
            Value::String("    response = client.post(url, json=payload, timeout=timeout)".into());
        frame["pre_context"] = json!([
            format!("def handler_{n}(request):"),
            "    payload = build_payload(request)",
            "    url = settings.PAYMENTS_URL",
        ]);
        frame["post_context"] = json!([
            "    response.raise_for_status()",
            "    return response.json()"
        ]);
        frame["vars"] = json!({
            "request": "<WSGIRequest: POST '/checkout'>",
            "payload": {"amount": 1299 + n, "currency": "EUR", "items": [{"sku": "SKU-1", "qty": 2}]},
            "timeout": 13,
            "url": "https://api.payments.example/v1/charges",
            "self": format!("<Handler {n}>"),
        });
    }
}

/// Recall and keep-rate of a redaction run.
#[derive(Debug, Default)]
pub struct Score {
    /// Personal data items that no longer appear in the output.
    pub redacted: usize,
    /// Personal data items in the corpus.
    pub pii: usize,
    /// Look-alikes still present verbatim.
    pub kept: usize,
    /// Look-alikes in the corpus.
    pub lookalikes: usize,
    /// Items that survived, by kind, with an example.
    pub missed: Vec<(&'static str, String)>,
    /// Look-alikes that were changed.
    pub mangled: Vec<String>,
}

impl Score {
    /// Share of personal data removed.
    pub fn recall(&self) -> f64 {
        self.redacted as f64 / self.pii.max(1) as f64
    }

    /// Share of look-alikes left intact.
    pub fn keep_rate(&self) -> f64 {
        self.kept as f64 / self.lookalikes.max(1) as f64
    }
}

/// Scores `outputs` (the serialized output of each corpus event, in order).
pub fn score(corpus: &[Labelled], outputs: &[String]) -> Score {
    assert_eq!(corpus.len(), outputs.len(), "one output per corpus event");
    let mut s = Score::default();
    for (item, out) in corpus.iter().zip(outputs) {
        for (kind, secret) in &item.pii {
            s.pii += 1;
            if out.contains(secret.as_str()) {
                s.missed.push((kind, secret.clone()));
            } else {
                s.redacted += 1;
            }
        }
        for look in &item.keep {
            s.lookalikes += 1;
            if out.contains(look.as_str()) {
                s.kept += 1;
            } else {
                s.mangled.push(look.clone());
            }
        }
    }
    s
}
