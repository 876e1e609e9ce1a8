//! The PII and secret detectors: one pattern each, compiled into a single regex
//! so a value is scanned once, plus a checksum or shape check where the pattern
//! alone would flag look-alikes (card numbers need Luhn, IBANs mod-97, ...).

use std::net::Ipv6Addr;

use regex::Regex;
use regex_automata::{Input, PatternID, meta};
use serde::Deserialize;
use wide::u8x16;

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

pub(crate) type Check = fn(&str) -> bool;

/// Patterns in priority order: where two start at the same place, the first wins.
/// A pattern with a capture group redacts only that group (the secret, not its key).
pub(crate) const PATTERNS: &[(Kind, &str, Option<Check>)] = &[
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

/// What one pass over a value's bytes tells about which detectors could match
/// it: every pattern above needs at least one of these (a digit run, an `@`, a
/// `:` or `=`, white space, ...), and most strings in an event (function and
/// module names, file names, plain words) have none that an enabled detector
/// needs, so the regex never runs on them.
#[derive(Debug, Default, PartialEq)]
struct Shape {
    len: usize,
    digits: usize,
    colons: usize,
    dashes: usize,
    at: bool,
    equals: bool,
    space: bool,
    /// An ASCII capital, `_` or `-`: every API key pattern has one.
    key_mark: bool,
    /// `eyJ`, how every JWT starts.
    jwt_start: bool,
    /// Any byte outside ASCII: Unicode white space and case folding
    /// (`(?i:token)` matches the Kelvin sign) make no cheap test safe, so such
    /// values always go to the regex.
    non_ascii: bool,
}

/// Per byte, the shape classes it belongs to: one table lookup per byte
/// instead of a chain of comparisons.
const DIGIT: u16 = 1;
const COLON: u16 = 1 << 1;
const DASH: u16 = 1 << 2;
const AT: u16 = 1 << 3;
const EQUALS: u16 = 1 << 4;
const SPACE: u16 = 1 << 5;
const KEY_MARK: u16 = 1 << 6;
const CAPITAL_J: u16 = 1 << 7;
const NON_ASCII: u16 = 1 << 8;

const CLASSES: [u16; 256] = {
    let mut table = [0u16; 256];
    let mut b = 0;
    while b < 256 {
        table[b] = match b as u8 {
            b'0'..=b'9' => DIGIT,
            b':' => COLON,
            b'-' => DASH | KEY_MARK,
            b'@' => AT,
            b'=' => EQUALS,
            b' ' | b'\t' | b'\n' | b'\r' | b'\x0b' | b'\x0c' => SPACE,
            b'_' => KEY_MARK,
            b'J' => KEY_MARK | CAPITAL_J,
            b'A'..=b'Z' => KEY_MARK,
            0x80.. => NON_ASCII,
            _ => 0,
        };
        b += 1;
    }
    table
};

/// What a pass over some bytes found: the classes seen, and the digits,
/// colons and dashes counted.
#[derive(Default)]
struct Tally {
    seen: u16,
    digits: usize,
    colons: usize,
    dashes: usize,
}

impl Tally {
    /// A byte at a time, through [`CLASSES`].
    fn bytes(&mut self, bytes: &[u8]) {
        for &b in bytes {
            let class = CLASSES[usize::from(b)];
            self.seen |= class;
            self.digits += usize::from(class & DIGIT);
            self.colons += usize::from((class & COLON) >> 1);
            self.dashes += usize::from((class & DASH) >> 2);
        }
    }

    /// Sixteen bytes at once (SSE2 natively, Wasm SIMD in the component):
    /// a comparison per class gives a bit per byte, of which only those in
    /// `keep` count (the bytes not already tallied). The same classes as
    /// [`CLASSES`].
    fn chunk(&mut self, chunk: &[u8; 16], keep: u32) {
        let v = u8x16::from(*chunk);
        let eq = |c: u8| v.simd_eq(u8x16::splat(c)).to_bitmask() & keep;
        let within = |lo: u8, hi: u8| {
            let offset = v - u8x16::splat(lo);
            offset
                .min(u8x16::splat(hi - lo))
                .simd_eq(offset)
                .to_bitmask()
                & keep
        };
        let digit = within(b'0', b'9');
        let colon = eq(b':');
        let dash = eq(b'-');
        let space = eq(b' ') | within(b'\t', b'\r');
        let key_mark = within(b'A', b'Z') | eq(b'_') | dash;
        let flag = |bits: u32, class: u16| if bits != 0 { class } else { 0 };
        self.seen |= flag(digit, DIGIT)
            | flag(colon, COLON)
            | flag(dash, DASH)
            | flag(eq(b'@'), AT)
            | flag(eq(b'='), EQUALS)
            | flag(space, SPACE)
            | flag(key_mark, KEY_MARK)
            | flag(eq(b'J'), CAPITAL_J)
            | flag(v.to_bitmask() & keep, NON_ASCII);
        self.digits += digit.count_ones() as usize;
        self.colons += colon.count_ones() as usize;
        self.dashes += dash.count_ones() as usize;
    }
}

impl Shape {
    fn of(value: &str) -> Shape {
        let bytes = value.as_bytes();
        let mut tally = Tally::default();
        let len = bytes.len();
        if len < 8 {
            tally.bytes(bytes);
        } else if len < 16 {
            // The first eight bytes and the last eight, counting the latter
            // only past where the former end.
            let mut both = [0u8; 16];
            both[..8].copy_from_slice(&bytes[..8]);
            both[8..].copy_from_slice(&bytes[len - 8..]);
            tally.chunk(&both, 0xff | (0xffff << (24 - len) & 0xffff));
        } else {
            let mut chunks = bytes.chunks_exact(16);
            for chunk in &mut chunks {
                tally.chunk(chunk.try_into().expect("16 bytes"), u32::MAX);
            }
            // The rest as the last 16 bytes, counting only the bytes not yet
            // counted (the chunk's last ones).
            let rest = chunks.remainder().len();
            if rest > 0 {
                let last = &bytes[len - 16..];
                tally.chunk(last.try_into().expect("16 bytes"), 0xffff << (16 - rest));
            }
        }
        let Tally {
            seen,
            digits,
            colons,
            dashes,
        } = tally;
        Shape {
            len: bytes.len(),
            digits,
            colons,
            dashes,
            at: seen & AT != 0,
            equals: seen & EQUALS != 0,
            space: seen & SPACE != 0,
            key_mark: seen & KEY_MARK != 0,
            jwt_start: seen & CAPITAL_J != 0 && bytes.windows(3).any(|w| w == b"eyJ"),
            non_ascii: seen & NON_ASCII != 0,
        }
    }

    /// False only when `kind`'s pattern cannot match anywhere in the value.
    /// Each test is a necessary condition read off the pattern in `PATTERNS`;
    /// [`Gate`] folds those of the enabled kinds together.
    #[cfg(test)]
    fn admits(&self, kind: Kind) -> bool {
        match kind {
            Kind::PrivateKey => self.dashes >= 5,
            Kind::Jwt => self.jwt_start,
            Kind::UrlCredentials => self.at && self.colons >= 2,
            // The shortest key pattern (`xoxb-` + 10) is 15 bytes, and each has
            // a capital, `_` or `-`.
            Kind::ApiKey => self.len >= 15 && self.key_mark,
            // `bearer` + white space + 8 token bytes.
            Kind::Bearer => self.space && self.len >= 14,
            Kind::Secret => self.equals || self.colons >= 1,
            Kind::Email => self.at,
            // Two capitals, two digits, then at least eight more: 12 bytes.
            Kind::Iban => self.digits >= 2 && self.key_mark && self.len >= 12,
            Kind::Ssn => self.digits >= 9,
            Kind::Ipv4 | Kind::Phone => self.digits >= 4,
            Kind::Card => self.digits >= 13,
            Kind::Ipv6 => self.colons >= 2,
        }
    }
}

/// The enabled detectors' conditions ([`Shape::admits`]) folded once into
/// thresholds, so a value is judged by a few comparisons instead of a pass
/// over every pattern. `usize::MAX` means no enabled detector asks.
#[derive(Debug, Clone, Copy)]
struct Gate {
    digits: usize,
    colons: usize,
    dashes: usize,
    at: bool,
    /// An `@` and two colons (credentials in a URL).
    at_colons: bool,
    /// Two digits, a capital and 12 bytes (an IBAN).
    iban: bool,
    equals: bool,
    jwt: bool,
    /// Least length of a value with a key mark that may hold an API key.
    key_mark_len: usize,
    /// Least length of a value with white space that may hold a token.
    space_len: usize,
}

impl Gate {
    fn new(enabled: impl Fn(Kind) -> bool) -> Gate {
        let mut gate = Gate {
            digits: usize::MAX,
            colons: usize::MAX,
            dashes: usize::MAX,
            at: false,
            at_colons: false,
            iban: false,
            equals: false,
            jwt: false,
            key_mark_len: usize::MAX,
            space_len: usize::MAX,
        };
        for kind in Kind::ALL.into_iter().filter(|k| enabled(*k)) {
            match kind {
                Kind::PrivateKey => gate.dashes = gate.dashes.min(5),
                Kind::Jwt => gate.jwt = true,
                Kind::UrlCredentials => gate.at_colons = true,
                Kind::ApiKey => gate.key_mark_len = gate.key_mark_len.min(15),
                Kind::Bearer => gate.space_len = gate.space_len.min(14),
                Kind::Secret => {
                    gate.equals = true;
                    gate.colons = gate.colons.min(1);
                }
                Kind::Email => gate.at = true,
                Kind::Iban => gate.iban = true,
                Kind::Ssn => gate.digits = gate.digits.min(9),
                Kind::Ipv4 | Kind::Phone => gate.digits = gate.digits.min(4),
                Kind::Card => gate.digits = gate.digits.min(13),
                Kind::Ipv6 => gate.colons = gate.colons.min(2),
            }
        }
        gate
    }

    /// Whether any enabled detector admits a value of this shape.
    fn admits(&self, s: &Shape) -> bool {
        s.non_ascii
            || s.digits >= self.digits
            || s.colons >= self.colons
            || s.dashes >= self.dashes
            || s.at && (self.at || self.at_colons && s.colons >= 2)
            || self.iban && s.digits >= 2 && s.key_mark && s.len >= 12
            || s.equals && self.equals
            || s.jwt_start && self.jwt
            || s.key_mark && s.len >= self.key_mark_len
            || s.space && s.len >= self.space_len
    }
}

/// All detectors compiled into one multi-pattern regex: one pass over a value
/// finds the leftmost match and which pattern made it (as the alternation of
/// all patterns would, earlier patterns winning ties), and only the patterns
/// with a capture group run a second, capturing search on that match.
pub struct Detectors {
    regex: meta::Regex,
    gate: Gate,
    cache: meta::Cache,
    /// Per pattern, in `PATTERNS` order: its kind and check, whether it is
    /// enabled, and its own regex when it has a capture group.
    patterns: Vec<(Kind, Option<Check>, bool, Option<Regex>)>,
}

impl Detectors {
    /// Compiles the detectors; `enabled` says which kinds report findings.
    pub fn new(enabled: impl Fn(Kind) -> bool) -> Detectors {
        let regex = meta::Regex::new_many(&PATTERNS.iter().map(|p| p.1).collect::<Vec<_>>())
            .expect("built-in patterns compile");
        // A pattern's own regex is compiled only if it has a group (the
        // combined regex says which do): compiling all of them took half
        // of the plugin's start.
        let patterns = PATTERNS
            .iter()
            .enumerate()
            .map(|(i, &(kind, pattern, check))| {
                let groups = regex.group_info().group_len(PatternID::must(i));
                let inner =
                    (groups > 1).then(|| Regex::new(pattern).expect("built-in pattern compiles"));
                (kind, check, enabled(kind), inner)
            })
            .collect();
        Detectors {
            cache: regex.create_cache(),
            gate: Gate::new(&enabled),
            regex,
            patterns,
        }
    }

    /// Whether any enabled detector's pattern could match in `value`; when
    /// not, [`Detectors::scan`] would find nothing and the regex is skipped.
    pub fn may_match(&self, value: &str) -> bool {
        self.gate.admits(&Shape::of(value))
    }

    /// Appends the findings in `value` to `out`, in order, non-overlapping.
    pub fn scan(&mut self, value: &str, out: &mut Vec<Finding>) {
        if self.may_match(value) {
            self.scan_all(value, out);
        }
    }

    /// [`Detectors::scan`] without the prefilter.
    fn scan_all(&mut self, value: &str, out: &mut Vec<Finding>) {
        let mut at = 0;
        while at < value.len() {
            let input = Input::new(value).range(at..);
            let Some(m) = self.regex.search_with(&mut self.cache, &input) else {
                return;
            };
            let (start, end) = (m.start(), m.end());
            at = end.max(start + 1);
            while !value.is_char_boundary(at) {
                at += 1;
            }
            let (kind, check, enabled, inner) = &self.patterns[m.pattern().as_usize()];
            if !enabled {
                continue;
            }
            // A pattern with a group redacts only the group (the secret, not
            // its key): the same pattern alone, from the same start, matches
            // the same text and says where the group is.
            let target = match inner {
                Some(own) => own
                    .captures_at(value, start)
                    .and_then(|c| c.get(1))
                    .map_or(start..end, |g| g.range()),
                None => start..end,
            };
            if !check.is_none_or(|c| c(&value[target.clone()])) {
                continue;
            }
            if !boundaries_ok(*kind, value, start, end) {
                continue;
            }
            out.push(Finding {
                start: target.start,
                end: target.end,
                kind: *kind,
            });
        }
    }
}

/// Rejects numbers that are part of a longer dotted or dashed sequence
/// (`1.2.3.4.5` is a version, not an address).
pub(crate) fn boundaries_ok(kind: Kind, value: &str, start: usize, end: usize) -> bool {
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

#[cfg(test)]
mod gate_tests {
    use super::{Gate, Kind, Shape};

    /// Numbers below `n`, from a xorshift generator seeded with `state`.
    fn numbers(mut state: u64) -> impl FnMut(u64) -> u64 {
        move |n| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state % n
        }
    }

    /// The folded thresholds admit exactly what the enabled kinds' own
    /// conditions admit, for every single kind, all of them, and random
    /// sets, over shapes on both sides of every threshold.
    #[test]
    fn the_gate_admits_what_the_enabled_kinds_admit() {
        let mut next = numbers(0x2545_f491_4f6c_dd1d);
        let mut sets: Vec<Vec<Kind>> = Kind::ALL.iter().map(|k| vec![*k]).collect();
        sets.push(Kind::ALL.to_vec());
        sets.push(Vec::new());
        for _ in 0..200 {
            let mask = next(1 << Kind::ALL.len());
            sets.push(
                Kind::ALL
                    .into_iter()
                    .enumerate()
                    .filter(|(i, _)| mask >> i & 1 == 1)
                    .map(|(_, k)| k)
                    .collect(),
            );
        }
        let (mut admitted, mut refused) = (0, 0);
        for set in &sets {
            let gate = Gate::new(|k| set.contains(&k));
            for _ in 0..2_000 {
                let shape = Shape {
                    len: next(20) as usize,
                    digits: next(15) as usize,
                    colons: next(4) as usize,
                    dashes: next(7) as usize,
                    at: next(3) == 0,
                    equals: next(3) == 0,
                    space: next(3) == 0,
                    key_mark: next(3) == 0,
                    jwt_start: next(3) == 0,
                    non_ascii: next(10) == 0,
                };
                let expected = shape.non_ascii || set.iter().any(|k| shape.admits(*k));
                assert_eq!(gate.admits(&shape), expected, "{set:?} {shape:?}");
                if expected {
                    admitted += 1;
                } else {
                    refused += 1;
                }
            }
        }
        assert!(
            admitted > 10_000 && refused > 10_000,
            "{admitted} / {refused}"
        );
    }

    /// The one-pass shape is what its fields say of the value's characters.
    #[test]
    fn a_shape_is_what_its_fields_say() {
        let mut next = numbers(0x9e37_79b9_7f4a_7c15);
        // Every ASCII character, and some beyond.
        let alphabet: Vec<char> = (0u8..128)
            .map(char::from)
            .chain(['é', 'K', '\u{a0}', '\u{2028}', '€', '𝔸'])
            .collect();
        for i in 0..20_000 {
            let len = next(if i % 10 == 0 { 300 } else { 40 }) as usize;
            let mut value: String = (0..len)
                .map(|_| alphabet[next(alphabet.len() as u64) as usize])
                .collect();
            if next(4) == 0 {
                let at = next(len as u64 + 1) as usize;
                let at = value.char_indices().nth(at).map_or(value.len(), |(i, _)| i);
                value.insert_str(at, "eyJ");
            }
            let count = |f: fn(char) -> bool| value.chars().filter(|c| f(*c)).count();
            let any = |f: fn(char) -> bool| value.chars().any(f);
            let expected = Shape {
                len: value.len(),
                digits: count(|c| c.is_ascii_digit()),
                colons: count(|c| c == ':'),
                dashes: count(|c| c == '-'),
                at: any(|c| c == '@'),
                equals: any(|c| c == '='),
                space: any(|c| matches!(c, ' ' | '\t' | '\n' | '\r' | '\x0b' | '\x0c')),
                key_mark: any(|c| c.is_ascii_uppercase() || c == '_' || c == '-'),
                jwt_start: value.contains("eyJ"),
                non_ascii: !value.is_ascii(),
            };
            assert_eq!(Shape::of(&value), expected, "{value:?}");
        }
    }
}
