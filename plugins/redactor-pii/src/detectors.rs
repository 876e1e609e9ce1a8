//! The PII and secret detectors: one pattern each, compiled into a single regex
//! so a value is scanned once, plus a checksum or shape check where the pattern
//! alone would flag look-alikes (card numbers need Luhn, IBANs mod-97, ...).

use std::net::Ipv6Addr;

use regex::Regex;
use serde::Deserialize;

/// The kinds of data the redactor recognises.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Deserialize)]
#[serde(rename_all = "snake_case")]
#[allow(missing_docs)]
pub enum Kind {
    Email,
    Card,
    Iban,
    Phone,
    Ipv4,
    Ipv6,
    Jwt,
    Bearer,
    ApiKey,
    PrivateKey,
    UrlCredentials,
    Secret,
    Ssn,
}

impl Kind {
    /// Every kind, in config order.
    pub const ALL: [Kind; 13] = [
        Kind::Email,
        Kind::Card,
        Kind::Iban,
        Kind::Phone,
        Kind::Ipv4,
        Kind::Ipv6,
        Kind::Jwt,
        Kind::Bearer,
        Kind::ApiKey,
        Kind::PrivateKey,
        Kind::UrlCredentials,
        Kind::Secret,
        Kind::Ssn,
    ];

    /// The name used in config and placeholders.
    pub fn name(self) -> &'static str {
        match self {
            Kind::Email => "email",
            Kind::Card => "card",
            Kind::Iban => "iban",
            Kind::Phone => "phone",
            Kind::Ipv4 => "ipv4",
            Kind::Ipv6 => "ipv6",
            Kind::Jwt => "jwt",
            Kind::Bearer => "bearer",
            Kind::ApiKey => "api_key",
            Kind::PrivateKey => "private_key",
            Kind::UrlCredentials => "url_credentials",
            Kind::Secret => "secret",
            Kind::Ssn => "ssn",
        }
    }
}

type Check = fn(&str) -> bool;

/// Patterns in priority order: where two start at the same place, the first wins.
/// A pattern with a capture group redacts only that group (the secret, not its key).
const PATTERNS: &[(Kind, &str, Option<Check>)] = &[
    (
        Kind::PrivateKey,
        r"-----BEGIN (?:[A-Z]+ )*PRIVATE KEY-----(?s:.*?)(?:-----END (?:[A-Z]+ )*PRIVATE KEY-----|$)",
        None,
    ),
    (
        Kind::Jwt,
        r"eyJ[A-Za-z0-9_\-]{4,}\.eyJ[A-Za-z0-9_\-]{4,}\.[A-Za-z0-9_\-]*",
        None,
    ),
    (
        Kind::UrlCredentials,
        r"[A-Za-z][A-Za-z0-9+.\-]*://[^/\s:@]*:([^/\s@]+)@",
        None,
    ),
    (
        Kind::ApiKey,
        r"(?-u:\b)(?:(?:AKIA|ASIA|AGPA|AIDA|AROA)[0-9A-Z]{16}|gh[pousr]_[A-Za-z0-9]{36,255}|github_pat_[A-Za-z0-9_]{22,255}|xox[abposr]-[A-Za-z0-9\-]{10,}|(?:sk|rk|pk)_(?:live|test)_[A-Za-z0-9]{16,}|whsec_[A-Za-z0-9]{16,}|AIza[0-9A-Za-z_\-]{35}|sk-(?:proj-|ant-)?[A-Za-z0-9_\-]{20,}|SG\.[A-Za-z0-9_\-]{16,}\.[A-Za-z0-9_\-]{16,}|glpat-[A-Za-z0-9_\-]{20,}|npm_[A-Za-z0-9]{36}|(?:AC|SK)[0-9a-f]{32})(?-u:\b)",
        None,
    ),
    (
        Kind::Bearer,
        r"(?i:bearer|basic|token)\s+([A-Za-z0-9\-._~+/]{8,}=*)",
        Some(token_like),
    ),
    (
        Kind::Secret,
        r#"(?i:pass(?:word|wd|phrase)?|pwd|secret|token|api[_\-]?key|apikey|access[_\-]?key|client[_\-]?secret|private[_\-]?key|session(?:[_\-]?(?:id|key|token))?|sid|credentials?|auth[_\-]?token)["']?\s*[=:]\s*["']?([^\s&;,"'}<>]+)"#,
        None,
    ),
    (
        Kind::Email,
        r"[A-Za-z0-9._%+\-]+@[A-Za-z0-9\-]+(?:\.[A-Za-z0-9\-]+)*\.[A-Za-z]{2,24}",
        None,
    ),
    (
        Kind::Iban,
        r"(?-u:\b)[A-Z]{2}[0-9]{2}(?: ?[A-Z0-9]{4}){2,7}(?: ?[A-Z0-9]{1,3})?(?-u:\b)",
        Some(iban_valid),
    ),
    (
        Kind::Ssn,
        r"(?-u:\b)[0-9]{3}-[0-9]{2}-[0-9]{4}(?-u:\b)",
        Some(ssn_valid),
    ),
    (
        Kind::Ipv4,
        r"(?-u:\b)(?:[0-9]{1,3}\.){3}[0-9]{1,3}(?-u:\b)",
        Some(ipv4_valid),
    ),
    (
        Kind::Card,
        r"(?-u:\b)(?:[0-9][ \-]?){12,18}[0-9](?-u:\b)",
        Some(card_valid),
    ),
    (
        Kind::Phone,
        r"\+[1-9][0-9]{0,2}[ .\-]?(?:\([0-9]{1,4}\)[ .\-]?)?[0-9]{1,4}(?:[ .\-]?[0-9]{2,4}){1,4}(?-u:\b)|\([0-9]{3}\) ?[0-9]{3}[ .\-][0-9]{4}(?-u:\b)|(?-u:\b)[0-9]{3}[.\-][0-9]{3}[.\-][0-9]{4}(?-u:\b)|(?-u:\b)0[1-9](?:[ .][0-9]{2}){4}(?-u:\b)|(?-u:\b)0[1-9][0-9]{1,3}[ \-][0-9]{3,4}[ \-]?[0-9]{3,4}(?-u:\b)",
        Some(phone_valid),
    ),
    (
        Kind::Ipv6,
        r"(?i:(?:[0-9a-f]{0,4}:){2,7}[0-9a-f]{0,4})",
        Some(ipv6_valid),
    ),
];

/// One match to redact: a byte range of the value and what it is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Finding {
    /// Start of the redacted range.
    pub start: usize,
    /// End of the redacted range.
    pub end: usize,
    /// What was found.
    pub kind: Kind,
}

/// All detectors compiled into one regex.
pub struct Detectors {
    regex: Regex,
    /// Per detector: its outer group index, whether it has an inner group, its
    /// kind and check, and whether it is enabled.
    groups: Vec<(usize, bool, Kind, Option<Check>, bool)>,
}

impl Detectors {
    /// Compiles the detectors; `enabled` says which kinds report findings.
    pub fn new(enabled: impl Fn(Kind) -> bool) -> Detectors {
        let mut combined = String::new();
        let mut groups = Vec::new();
        let mut next_group = 1;
        for (kind, pattern, check) in PATTERNS {
            if !combined.is_empty() {
                combined.push('|');
            }
            combined.push('(');
            combined.push_str(pattern);
            combined.push(')');
            let inner = Regex::new(pattern)
                .expect("built-in pattern compiles")
                .captures_len()
                - 1;
            groups.push((next_group, inner > 0, *kind, *check, enabled(*kind)));
            next_group += 1 + inner;
        }
        Detectors {
            regex: Regex::new(&combined).expect("built-in patterns compile"),
            groups,
        }
    }

    /// Appends the findings in `value` to `out`, in order, non-overlapping.
    pub fn scan(&self, value: &str, out: &mut Vec<Finding>) {
        let mut at = 0;
        while at < value.len() {
            let Some(m) = self.regex.find_at(value, at) else {
                return;
            };
            let caps = self
                .regex
                .captures_at(value, m.start())
                .expect("a match has captures");
            at = m.end().max(m.start() + 1);
            while !value.is_char_boundary(at) {
                at += 1;
            }
            let Some(&(group, inner, kind, check, enabled)) =
                self.groups.iter().find(|g| caps.get(g.0).is_some())
            else {
                continue;
            };
            let whole = caps.get(group).expect("group matched");
            let target = if inner {
                caps.get(group + 1).unwrap_or(whole)
            } else {
                whole
            };
            if !enabled || !check.is_none_or(|c| c(target.as_str())) {
                continue;
            }
            if !boundaries_ok(kind, value, whole.start(), whole.end()) {
                continue;
            }
            out.push(Finding {
                start: target.start(),
                end: target.end(),
                kind,
            });
        }
    }
}

/// Rejects numbers that are part of a longer dotted or dashed sequence
/// (`1.2.3.4.5` is a version, not an address).
fn boundaries_ok(kind: Kind, value: &str, start: usize, end: usize) -> bool {
    let bytes = value.as_bytes();
    let before = start.checked_sub(1).map(|i| bytes[i]);
    let after = bytes.get(end).copied();
    let after2 = bytes.get(end + 1).copied();
    match kind {
        Kind::Ipv4 | Kind::Card | Kind::Ssn | Kind::Phone => {
            let dotted_before = matches!(before, Some(b'.' | b'-' | b'_' | b'/'))
                && start >= 2
                && bytes[start - 2].is_ascii_alphanumeric();
            // `-a` after digits is a UUID or id continuing, not the end of a number.
            let dotted_after = matches!(after, Some(b'.' | b'-'))
                && after2.is_some_and(|b| b.is_ascii_alphanumeric());
            !(dotted_before || dotted_after)
        }
        Kind::Ipv6 => {
            !before.is_some_and(|b| b.is_ascii_alphanumeric() || b == b':' || b == b'.')
                && !after.is_some_and(|b| b.is_ascii_alphanumeric() || b == b':')
        }
        _ => true,
    }
}

fn digits(s: &str) -> impl Iterator<Item = u32> + '_ {
    s.chars().filter_map(|c| c.to_digit(10))
}

/// Luhn checksum, known issuer prefix and a length that issuer uses.
pub fn card_valid(s: &str) -> bool {
    let ds: Vec<u32> = digits(s).collect();
    if !(13..=19).contains(&ds.len()) {
        return false;
    }
    let sum: u32 = ds
        .iter()
        .rev()
        .enumerate()
        .map(|(i, &d)| {
            if i % 2 == 1 {
                (d * 2).div_euclid(10) + (d * 2) % 10
            } else {
                d
            }
        })
        .sum();
    if !sum.is_multiple_of(10) {
        return false;
    }
    let prefix = |n: usize| ds[..n].iter().fold(0u32, |acc, d| acc * 10 + d);
    let len = ds.len();
    match ds[0] {
        4 => matches!(len, 13 | 16 | 19),
        5 => (51..=55).contains(&prefix(2)) && len == 16,
        2 => (2221..=2720).contains(&prefix(4)) && len == 16,
        3 => {
            matches!(prefix(2), 34 | 37) && len == 15
                || matches!(prefix(2), 36 | 38 | 39) && (14..=19).contains(&len)
                || (3528..=3589).contains(&prefix(4)) && (16..=19).contains(&len)
                || (300..=305).contains(&prefix(3)) && (14..=19).contains(&len)
        }
        6 => {
            (prefix(4) == 6011
                || prefix(2) == 65
                || (644..=649).contains(&prefix(3))
                || prefix(2) == 62)
                && (16..=19).contains(&len)
        }
        _ => false,
    }
}

/// ISO 13616 mod-97 check.
pub fn iban_valid(s: &str) -> bool {
    let compact: Vec<u8> = s.bytes().filter(|b| *b != b' ').collect();
    if !(15..=34).contains(&compact.len()) {
        return false;
    }
    let (head, tail) = compact.split_at(4);
    let mut rem: u32 = 0;
    for &b in tail.iter().chain(head) {
        let v = match b {
            b'0'..=b'9' => u32::from(b - b'0'),
            b'A'..=b'Z' => u32::from(b - b'A') + 10,
            _ => return false,
        };
        rem = if v >= 10 {
            (rem * 100 + v) % 97
        } else {
            (rem * 10 + v) % 97
        };
    }
    rem == 1
}

/// SSA rules: no area 000, 666 or 9xx, no group 00, no serial 0000.
pub fn ssn_valid(s: &str) -> bool {
    let parts: Vec<&str> = s.split('-').collect();
    let [area, group, serial] = parts[..] else {
        return false;
    };
    area != "000" && area != "666" && !area.starts_with('9') && group != "00" && serial != "0000"
}

fn ipv4_valid(s: &str) -> bool {
    s.split('.')
        .all(|o| o.parse::<u8>().is_ok() && (o.len() == 1 || !o.starts_with('0')))
}

fn ipv6_valid(s: &str) -> bool {
    let hex = s.bytes().filter(u8::is_ascii_hexdigit).count();
    let groups = s.split(':').filter(|g| !g.is_empty()).count();
    hex >= 4 && groups >= 2 && s.parse::<Ipv6Addr>().is_ok()
}

fn phone_valid(s: &str) -> bool {
    (7..=15).contains(&digits(s).count())
}

/// A bearer or basic credential has a digit or a token symbol in it, which
/// tells it apart from prose such as "basic authentication failed".
fn token_like(s: &str) -> bool {
    s.bytes()
        .any(|b| b.is_ascii_digit() || b"-._~+/=".contains(&b))
}
