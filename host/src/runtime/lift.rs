//! A stage's result, read out of the plugin's memory by the host with one
//! look-up of that memory.
//!
//! wasmtime's own lifting of a result (what `bindgen!` derives) goes through
//! its generic per-value code: for every string and list it looks up the
//! call's options and the memory again, checks the string encoding, and
//! builds an intermediate handle before copying. A classification, an
//! enrichment, a redactor's edits or an impact with its five factors is some
//! 26 strings per event across the default chain: 14.7k instructions per
//! event in callgrind, a fifth of what the chain spends outside the plugins'
//! own code (BENCHMARKS.md, "Since 638f1b5").
//! [`Lifted`] reads the same values by the same canonical-ABI layout from
//! one borrow of the memory, with the same checks: every string and list in
//! bounds, lists aligned, strings UTF-8, discriminants in range, and the
//! same budget of bytes copied per call (wasmtime's "hostcall fuel", which
//! stops a plugin from making the host copy one region over and over).
//!
//! The layout comes from wasmtime's ABI figures for the generated types,
//! tied to them at compile time as in [`super::lower`]. The end-to-end test
//! `a_result_reads_the_same_however_it_is_lifted` compares what both ways
//! read for every shape of result each role has, each plugin error, a
//! string that is not UTF-8 and one past the end of the memory (test
//! plugins `mirror-*`). The alignment check is wasmtime's own, line for
//! line; the SDK's bindings cannot misalign a list to test it. Like lowering, this
//! builds on wasmtime's `#[doc(hidden)]` traits, so a wasmtime upgrade must
//! be checked here; a guest whose strings are not UTF-8-encoded is lifted
//! by wasmtime's own code.

use wasmtime::component::__internal::wasmtime_environ::component::StringEncoding;
use wasmtime::component::__internal::{
    CanonicalAbiInfo, ComponentVariant, InstanceType, InterfaceType, LiftContext,
};
use wasmtime::component::{ComponentType, Lift};
use wasmtime::{Result, bail};

use super::bindings::faultline::plugin::types::{
    Attribute, Classification, Edit, Enrichment, Factor, Impact, ImpactLevel, Money, PluginError,
    Redaction, Severity, Value,
};
use super::lower::{ATTRIBUTE, CLASSIFICATION, PAIR, layout, payload};

/// How a stage's result is read out of a plugin's memory.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Lifting {
    /// By the host, with one look-up of the memory (see the module docs).
    Host,
    /// By wasmtime's own (derived) code.
    Wasmtime,
}

/// A result the host lifts itself. It type-checks exactly as `T` does.
pub(crate) struct Lifted<T>(pub T);

// SAFETY: every associated item is `T`'s own, so wasmtime's checks of this
// type are its checks of `T`.
unsafe impl<T: ComponentType> ComponentType for Lifted<T> {
    type Lower = T::Lower;
    const ABI: CanonicalAbiInfo = T::ABI;

    fn typecheck(ty: &InterfaceType, types: &InstanceType<'_>) -> Result<()> {
        T::typecheck(ty, types)
    }
}

// SAFETY: reads what `T`'s derived implementation reads, at the offsets it
// reads it, with the same checks (see the module docs).
unsafe impl<T: Read + Lift> Lift for Lifted<T> {
    fn linear_lift_from_flat(
        cx: &mut LiftContext<'_>,
        ty: InterfaceType,
        src: &Self::Lower,
    ) -> Result<Self> {
        // Every role's result has more flat values than a result may, so it
        // always comes through memory; wasmtime's own code is right for this.
        T::linear_lift_from_flat(cx, ty, src).map(Lifted)
    }

    fn linear_lift_from_memory(
        cx: &mut LiftContext<'_>,
        ty: InterfaceType,
        bytes: &[u8],
    ) -> Result<Self> {
        if cx.options().string_encoding != StringEncoding::Utf8 {
            return T::linear_lift_from_memory(cx, ty, bytes).map(Lifted);
        }
        let memory = cx.memory();
        let mut r = Reader { cx, memory };
        T::read(&mut r, bytes).map(Lifted)
    }
}

/// The guest's memory, and the call's context for its budget of bytes.
pub(crate) struct Reader<'c, 'a> {
    cx: &'c mut LiftContext<'a>,
    memory: &'a [u8],
}

impl Reader<'_, '_> {
    fn string(&mut self, b: &[u8]) -> Result<String> {
        let (ptr, len) = pointer_pair(b);
        match ptr.checked_add(len) {
            Some(end) if end <= self.memory.len() => self.cx.consume_fuel(len)?,
            _ => bail!("string pointer/length out of bounds of memory"),
        }
        let bytes = &self.memory[ptr..][..len];
        // Most strings are short and ASCII, which std's UTF-8 check is slow
        // to tell for a few bytes.
        let text = if bytes.is_ascii() {
            // SAFETY: ASCII is UTF-8.
            unsafe { std::str::from_utf8_unchecked(bytes) }
        } else {
            std::str::from_utf8(bytes)?
        };
        Ok(text.to_owned())
    }

    fn list<T: Read>(&mut self, b: &[u8]) -> Result<Vec<T>> {
        let (ptr, len) = pointer_pair(b);
        match len
            .checked_mul(T::SIZE32)
            .and_then(|size| ptr.checked_add(size))
        {
            Some(end) if end <= self.memory.len() => {
                self.cx.consume_fuel_array(len, size_of::<T>())?
            }
            _ => bail!("list pointer/length out of bounds of memory"),
        }
        if !ptr.is_multiple_of(T::ALIGN32 as usize) {
            bail!("list pointer is not aligned")
        }
        let mut items = Vec::with_capacity(len);
        for i in 0..len {
            let memory = self.memory;
            items.push(T::read(self, &memory[ptr + i * T::SIZE32..][..T::SIZE32])?);
        }
        Ok(items)
    }
}

/// A string's or list's pointer and length.
fn pointer_pair(b: &[u8]) -> (usize, usize) {
    let word = |i: usize| u32::from_le_bytes(b[i..i + 4].try_into().expect("four bytes")) as usize;
    (word(0), word(4))
}

/// A value the host lifts itself, from `b`: exactly its `SIZE32` bytes.
pub(crate) trait Read: ComponentType + Sized {
    /// Reads the value in `b`, following its pointers into `r`'s memory.
    fn read(r: &mut Reader<'_, '_>, b: &[u8]) -> Result<Self>;
}

impl Read for String {
    fn read(r: &mut Reader<'_, '_>, b: &[u8]) -> Result<Self> {
        r.string(b)
    }
}

impl<T: Read> Read for Vec<T> {
    fn read(r: &mut Reader<'_, '_>, b: &[u8]) -> Result<Self> {
        r.list(b)
    }
}

impl<T: Read> Read for Option<T> {
    fn read(r: &mut Reader<'_, '_>, b: &[u8]) -> Result<Self> {
        match b[0] {
            0 => Ok(None),
            1 => T::read(r, &b[payload::<T>()..][..T::SIZE32]).map(Some),
            _ => bail!("invalid option discriminant"),
        }
    }
}

impl<T: Read, E: Read> Read for Result<T, E> {
    fn read(r: &mut Reader<'_, '_>, b: &[u8]) -> Result<Self> {
        let payload = &b[<Self as ComponentVariant>::PAYLOAD_OFFSET32..];
        match b[0] {
            0 => T::read(r, &payload[..T::SIZE32]).map(Ok),
            1 => E::read(r, &payload[..E::SIZE32]).map(Err),
            _ => bail!("invalid expected discriminant"),
        }
    }
}

/// Scalars, read as wasmtime reads them (floats bit for bit).
macro_rules! scalars {
    ($($ty:ty),*) => {$(
        impl Read for $ty {
            fn read(_: &mut Reader<'_, '_>, b: &[u8]) -> Result<Self> {
                Ok(<$ty>::from_le_bytes(b.try_into().expect("the scalar's size")))
            }
        }
    )*};
}
scalars!(u8, u64, i64, f32, f64);

impl Read for (String, String) {
    fn read(r: &mut Reader<'_, '_>, b: &[u8]) -> Result<Self> {
        Ok((r.string(&b[PAIR[0]..][..8])?, r.string(&b[PAIR[1]..][..8])?))
    }
}

/// The field of a record at `offset`, of type `T`.
fn field<T: Read>(r: &mut Reader<'_, '_>, b: &[u8], offset: usize) -> Result<T> {
    T::read(r, &b[offset..][..T::SIZE32])
}

/// A variant's payload of type `T`.
fn case<T: Read, V: ComponentVariant>(r: &mut Reader<'_, '_>, b: &[u8]) -> Result<T> {
    field(r, b, V::PAYLOAD_OFFSET32)
}

impl Read for Attribute {
    fn read(r: &mut Reader<'_, '_>, b: &[u8]) -> Result<Self> {
        Ok(Attribute {
            key: field(r, b, ATTRIBUTE[0])?,
            value: field(r, b, ATTRIBUTE[1])?,
        })
    }
}

impl Read for Value {
    fn read(r: &mut Reader<'_, '_>, b: &[u8]) -> Result<Self> {
        // Cases in the WIT's order; the discriminant is one byte.
        Ok(match b[0] {
            0 => Value::Text(case::<_, Value>(r, b)?),
            1 => Value::Integer(case::<_, Value>(r, b)?),
            2 => Value::Number(case::<_, Value>(r, b)?),
            3 => Value::Boolean(case::<u8, Value>(r, b)? != 0),
            4 => Value::Null,
            d => bail!("unexpected discriminant: {d}"),
        })
    }
}

impl Read for Classification {
    fn read(r: &mut Reader<'_, '_>, b: &[u8]) -> Result<Self> {
        let o = CLASSIFICATION;
        Ok(Classification {
            code: field(r, b, o[0])?,
            category: field(r, b, o[1])?,
            taxonomy: field(r, b, o[2])?,
            severity: match b[o[3]] {
                0 => Severity::Low,
                1 => Severity::Medium,
                2 => Severity::High,
                3 => Severity::Critical,
                d => bail!("unexpected discriminant: {d}"),
            },
            confidence: field(r, b, o[4])?,
            fingerprint: field(r, b, o[5])?,
        })
    }
}

layout!(ENRICHMENT, Enrichment, [Vec<(String, String)>, Vec<Attribute>]);

impl Read for Enrichment {
    fn read(r: &mut Reader<'_, '_>, b: &[u8]) -> Result<Self> {
        Ok(Enrichment {
            tags: field(r, b, ENRICHMENT[0])?,
            attributes: field(r, b, ENRICHMENT[1])?,
        })
    }
}

layout!(EDIT, Edit, [String, Redaction]);

impl Read for Edit {
    fn read(r: &mut Reader<'_, '_>, b: &[u8]) -> Result<Self> {
        let action = &b[EDIT[1]..][..Redaction::SIZE32];
        Ok(Edit {
            path: field(r, b, EDIT[0])?,
            action: match action[0] {
                0 => Redaction::Replace(case::<_, Redaction>(r, action)?),
                1 => Redaction::Remove,
                d => bail!("unexpected discriminant: {d}"),
            },
        })
    }
}

layout!(
    IMPACT,
    Impact,
    [u8, ImpactLevel, Option<Money>, Option<u64>, Vec<Factor>]
);
layout!(MONEY, Money, [i64, String]);
layout!(FACTOR, Factor, [String, f64, f64, f64, String]);

impl Read for Impact {
    fn read(r: &mut Reader<'_, '_>, b: &[u8]) -> Result<Self> {
        let o = IMPACT;
        Ok(Impact {
            score: field(r, b, o[0])?,
            level: match b[o[1]] {
                0 => ImpactLevel::Negligible,
                1 => ImpactLevel::Low,
                2 => ImpactLevel::Medium,
                3 => ImpactLevel::High,
                4 => ImpactLevel::Critical,
                d => bail!("unexpected discriminant: {d}"),
            },
            revenue_at_risk: field(r, b, o[2])?,
            users_affected: field(r, b, o[3])?,
            factors: field(r, b, o[4])?,
        })
    }
}

impl Read for Money {
    fn read(r: &mut Reader<'_, '_>, b: &[u8]) -> Result<Self> {
        Ok(Money {
            minor_units: field(r, b, MONEY[0])?,
            currency: field(r, b, MONEY[1])?,
        })
    }
}

impl Read for Factor {
    fn read(r: &mut Reader<'_, '_>, b: &[u8]) -> Result<Self> {
        let o = FACTOR;
        Ok(Factor {
            name: field(r, b, o[0])?,
            weight: field(r, b, o[1])?,
            value: field(r, b, o[2])?,
            contribution: field(r, b, o[3])?,
            detail: field(r, b, o[4])?,
        })
    }
}

impl Read for PluginError {
    fn read(r: &mut Reader<'_, '_>, b: &[u8]) -> Result<Self> {
        Ok(match b[0] {
            0 => PluginError::InvalidConfig(case::<_, PluginError>(r, b)?),
            1 => PluginError::InvalidEvent(case::<_, PluginError>(r, b)?),
            2 => PluginError::Internal(case::<_, PluginError>(r, b)?),
            d => bail!("unexpected discriminant: {d}"),
        })
    }
}
