//! Byte comparison eight bytes at a time, as the plugin's `memcmp`.
//!
//! Every `==` between strings or byte slices (a hash map finding its key, a
//! table lookup, `starts_with`) ends in the C library's `memcmp`, and the one
//! Wasm components link compares a byte per step; this one loads eight
//! bytes per step, and looks at single bytes only in the last few or where
//! a word differs. In Wasm builds, with the
//! `word-compare` feature (on by default), this is the component's `memcmp`:
//! a symbol defined by the program is used before the C library's.

/// Compares `n` bytes at `a` and `b` as `memcmp` does: negative, zero or
/// positive as the first differing byte (unsigned) of `a` is lower, equal
/// or higher.
///
/// # Safety
///
/// `a` and `b` must be valid for reads of `n` bytes.
pub unsafe fn compare(a: *const u8, b: *const u8, n: usize) -> i32 {
    let mut at = 0;
    while n - at >= 8 {
        // SAFETY: `at + 8 <= n`, and unaligned loads are allowed.
        let (x, y) = unsafe {
            (
                a.add(at).cast::<u64>().read_unaligned(),
                b.add(at).cast::<u64>().read_unaligned(),
            )
        };
        if x != y {
            // The first differing byte in memory order is the lowest in a
            // little-endian word.
            let first = (u64::from_le(x) ^ u64::from_le(y)).trailing_zeros() / 8;
            at += first as usize;
            break;
        }
        at += 8;
    }
    while at < n {
        // SAFETY: `at < n`.
        let (x, y) = unsafe { (*a.add(at), *b.add(at)) };
        if x != y {
            return i32::from(x) - i32::from(y);
        }
        at += 1;
    }
    0
}

/// The component's `memcmp`.
#[cfg(all(target_arch = "wasm32", feature = "word-compare"))]
pub(crate) mod global {
    /// # Safety
    ///
    /// As the C function: `a` and `b` valid for reads of `n` bytes.
    #[unsafe(no_mangle)]
    pub unsafe extern "C" fn memcmp(a: *const u8, b: *const u8, n: usize) -> i32 {
        unsafe { super::compare(a, b, n) }
    }

    /// `memcmp` for equality only, which compilers call for `==`.
    ///
    /// # Safety
    ///
    /// As the C function: `a` and `b` valid for reads of `n` bytes.
    #[unsafe(no_mangle)]
    pub unsafe extern "C" fn bcmp(a: *const u8, b: *const u8, n: usize) -> i32 {
        unsafe { super::compare(a, b, n) }
    }
}

#[cfg(test)]
mod tests {
    use super::compare;

    fn sign(a: &[u8], b: &[u8]) -> i32 {
        assert_eq!(a.len(), b.len());
        unsafe { compare(a.as_ptr(), b.as_ptr(), a.len()) }.signum()
    }

    #[test]
    fn agrees_with_slice_order_at_every_length_and_position() {
        for len in 0..40 {
            let base: Vec<u8> = (0..len).map(|i| (i * 37 % 251) as u8).collect();
            assert_eq!(sign(&base, &base), 0, "len {len}");
            for at in 0..len {
                for delta in [1u8, 0x7f, 0x80, 0xff] {
                    let mut other = base.clone();
                    other[at] = other[at].wrapping_add(delta);
                    let expected = base.cmp(&other) as i32;
                    assert_eq!(sign(&base, &other), expected, "len {len} at {at} +{delta}");
                    assert_eq!(sign(&other, &base), -expected, "len {len} at {at} +{delta}");
                }
            }
        }
    }

    #[test]
    fn the_first_difference_decides() {
        // A later difference in the same word points the other way.
        let a = *b"abcdefgh-abcdefgh";
        let mut b = a;
        b[2] = b'a';
        b[6] = b'z';
        assert!(sign(&a, &b) > 0);
        let mut c = a;
        c[12] = b'z';
        c[15] = b'a';
        assert!(sign(&a, &c) < 0);
        // Unaligned starts.
        assert!(sign(&a[1..], &b[1..]) > 0);
        assert_eq!(sign(&a[7..9], &b[7..9]), 0);
    }
}
