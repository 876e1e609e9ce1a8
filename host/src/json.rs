//! Writing JSON text: the same bytes as `serde_json::to_writer`, faster.
//!
//! Every processed event's document is written once (to `faultline
//! process`'s output, or into the storage log by `serve`): some 260 strings
//! of ~11 bytes each, keys included, for a 2 KB event. serde_json escapes a
//! string one byte at a time, which took over half of writing a document
//! (BENCHMARKS.md, section "Since 638f1b5"). sonic-rs checks 16 bytes at a
//! time for what needs escaping and escapes it, and numbers, the same way
//! as serde_json; the tests below hold the two to the same output.
//!
//! One thing it does not share: serde_json's `RawValue` (pre-written JSON)
//! serializes as a private marker that only serde_json's own writer
//! understands, so a document written here must not hold one.

use serde::Serialize;

/// Appends `value` to `out` as compact JSON text, as `serde_json::to_writer`
/// would.
pub fn write<T: Serialize + ?Sized>(out: &mut Vec<u8>, value: &T) -> serde_json::Result<()> {
    sonic_rs::to_writer(out, value).map_err(|e| serde::ser::Error::custom(e.to_string()))
}

/// `value` as compact JSON text, as `serde_json::to_vec` would write it.
pub fn to_vec<T: Serialize + ?Sized>(value: &T) -> serde_json::Result<Vec<u8>> {
    let mut out = Vec::with_capacity(128);
    write(&mut out, value)?;
    Ok(out)
}

/// `value` as compact JSON text, as `serde_json::to_string` would write it.
pub fn to_string<T: Serialize + ?Sized>(value: &T) -> serde_json::Result<String> {
    sonic_rs::to_string(value).map_err(|e| serde::ser::Error::custom(e.to_string()))
}

#[cfg(test)]
mod tests {
    use serde::Serialize;
    use serde_json::json;

    use super::to_vec;

    fn same_as_serde_json<T: Serialize + ?Sized>(value: &T) {
        let ours = to_vec(value).unwrap();
        let theirs = serde_json::to_vec(value).unwrap();
        assert_eq!(
            String::from_utf8_lossy(&ours),
            String::from_utf8_lossy(&theirs)
        );
    }

    /// Every ASCII character (controls, quote, backslash, DEL) and some
    /// that are not, alone and at every offset of strings long enough to
    /// cross the 16- and 32-byte blocks the writer checks at once.
    #[test]
    fn strings_are_escaped_as_serde_json_escapes_them() {
        let specials = ['é', '€', '😀', '\u{2028}', '\u{7f}', '/', '<'];
        let alphabet: Vec<char> = (0u8..0x80).map(char::from).chain(specials).collect();
        for c in &alphabet {
            for len in 0usize..70 {
                for at in [0, len / 2, len.saturating_sub(1)] {
                    let s: String = (0..len).map(|i| if i == at { *c } else { 'a' }).collect();
                    same_as_serde_json(&s);
                }
            }
        }
        // Pseudo-random mixes, dense in characters that need escaping.
        let mut x = 0x9E37_79B9_7F4A_7C15u64;
        for _ in 0..20_000 {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            let len = (x % 48) as usize;
            let s: String = (0..len)
                .map(|i| alphabet[((x >> (i % 8 * 8)) as usize + i * 7) % alphabet.len()])
                .collect();
            same_as_serde_json(&s);
        }
    }

    #[test]
    fn numbers_are_written_as_serde_json_writes_them() {
        let floats = [
            0.0,
            -0.0,
            1.0,
            0.1,
            1.5e-7,
            1e21,
            1e-7,
            123_456_789.125,
            f64::MAX,
            f64::MIN_POSITIVE,
            5e-324,
            f64::NAN,
            f64::INFINITY,
            f64::NEG_INFINITY,
        ];
        for f in floats {
            same_as_serde_json(&f);
            same_as_serde_json(&(f as f32));
        }
        let mut x = 0x2545_F491_4F6C_DD1Du64;
        for _ in 0..100_000 {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            same_as_serde_json(&f64::from_bits(x));
            same_as_serde_json(&((x % 1_000_000) as f64 / 1000.0));
            same_as_serde_json(&(x as i64));
        }
        same_as_serde_json(&[u64::MAX, 0]);
        same_as_serde_json(&[i64::MIN, -1]);
        same_as_serde_json(&(u8::MAX, i8::MIN, u16::MAX, i32::MIN, u128::MAX, i128::MIN));
    }

    /// What documents are made of: maps, sequences, options, unit
    /// variants, nesting, empty containers, keys that need escaping.
    #[test]
    fn structures_are_written_as_serde_json_writes_them() {
        #[derive(Serialize)]
        enum Outcome {
            Ok,
            #[serde(rename = "failed")]
            Failed,
        }
        #[derive(Serialize)]
        struct Record<'a> {
            stage: usize,
            plugin: &'a str,
            outcome: Outcome,
            other: Outcome,
            error: Option<&'a str>,
            #[serde(skip_serializing_if = "Option::is_none")]
            skipped: Option<u8>,
            changed: Vec<String>,
            pair: (bool, ()),
            tree: serde_json::Value,
        }
        let record = Record {
            stage: 3,
            plugin: "a \"quoted\"\\ name\n",
            outcome: Outcome::Ok,
            other: Outcome::Failed,
            error: None,
            skipped: None,
            changed: vec!["user.email".into(), "tags.k\u{1}".into()],
            pair: (true, ()),
            tree: json!({
                "": [], "k\"ey\u{7}": {}, "nested": [[[{"a": null}]], [1, 2.5, -3]],
                "ünï": "cödé 😀", "big": 18446744073709551615u64
            }),
        };
        same_as_serde_json(&record);
        same_as_serde_json(&vec![record]);
        let deep = (0..2_000).fold(json!("bottom"), |v, _| json!([v]));
        same_as_serde_json(&deep);
    }
}
