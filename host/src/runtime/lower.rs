//! The event (and the scorer's classification), lowered into a plugin's
//! memory with one look-up of that memory and, where the plugin allows it,
//! one allocation.
//!
//! wasmtime's own lowering of a record (what `bindgen!` derives) asks the
//! store for the guest's memory again for every value it writes: a 2 KB
//! event is some 400 look-ups, the hottest host function of an empty call.
//! [`Lowered`] writes the same bytes by the same canonical-ABI layout in two
//! passes over the value:
//!
//! 1. the allocations. [`Lowering::PerValue`]: every `cabi_realloc` call, for
//!    each string and list, in the order wasmtime makes them (depth first, a
//!    list before its elements), keeping the pointers the guest returns.
//!    [`Lowering::OneBlock`]: the same strings and lists laid out one after
//!    the other, each aligned as the ABI says, and one `cabi_realloc` call
//!    for all of them;
//! 2. one borrow of the guest's memory, then every string copied and every
//!    field written through it.
//!
//! Per value, the guest cannot tell the difference from wasmtime's lowering:
//! the same allocations, the same order, the same bytes. In one block it gets
//! the same bytes, and its strings and lists are pieces of one allocation:
//! a guest that frees them one by one would corrupt its allocator, so the
//! host does it only for a component that carries the custom section
//! [`ARGUMENT_BLOCK_SECTION`](super::load::ARGUMENT_BLOCK_SECTION) and only
//! once one of its exports has returned (the Rust SDK's call arena
//! promises the rest). Each `cabi_realloc` is a call into the guest, with
//! its trap-handling set-up: one instead of ~70 for a 2 KB event.
//!
//! Both passes walk the value with one generic walk ([`Walk`] over a
//! [`Pass`]), so they cannot disagree about the order; the layout comes from
//! wasmtime's own ABI figures for the generated types, and a compile-time
//! check ties each record's size to the one wasmtime computes. The
//! end-to-end test `lowering` compares what a plugin sees through the three
//! lowerings, for every kind of value.
//!
//! This builds on wasmtime's `#[doc(hidden)]` lowering traits (the ones its
//! derive macros implement), so a wasmtime upgrade must be checked here; the
//! version is pinned in `Cargo.toml`. A guest that asks for UTF-16 strings
//! gets wasmtime's own lowering.

use std::mem::MaybeUninit;

use wasmtime::component::__internal::wasmtime_environ::component::StringEncoding;
use wasmtime::component::__internal::{
    CanonicalAbiInfo, ComponentVariant, InstanceType, InterfaceType, LowerContext,
};
use wasmtime::component::{ComponentType, Lower};
use wasmtime::{Result, bail};

use super::bindings::faultline::plugin::types::{
    Attribute, Classification, Event, Exception, Frame, Level, Request, Severity, User, Value,
};

/// How an event is written into a plugin's memory (see the module docs).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Lowering {
    /// All of its strings and lists in one `cabi_realloc` allocation: for
    /// plugins that declare they allow it.
    OneBlock,
    /// One `cabi_realloc` allocation per string and list, as the canonical
    /// ABI lowers them, written by the host.
    PerValue,
    /// wasmtime's own (derived) code, also per value.
    Wasmtime,
}

/// A value the host lowers itself: the event, or the scorer's
/// classification.
pub(crate) trait Walk: Lower {
    /// Runs `p` over the value's strings, lists and scalars, the value at
    /// `at`.
    fn walk<P: Pass>(&self, p: &mut P, at: usize) -> Result<()>;
}

impl Walk for &Event {
    fn walk<P: Pass>(&self, p: &mut P, at: usize) -> Result<()> {
        event(p, self, at)
    }
}

impl Walk for Option<&Classification> {
    fn walk<P: Pass>(&self, p: &mut P, at: usize) -> Result<()> {
        option(p, at, self, |p, at, c| classification(p, at, c))
    }
}

/// A value to pass to a plugin, lowered as described in the module docs. It
/// type-checks exactly as `V` does.
#[derive(Clone, Copy)]
pub(crate) struct Lowered<V> {
    /// The value.
    pub value: V,
    /// How.
    pub how: Lowering,
}

// SAFETY: every associated item is `V`'s own, so wasmtime's checks of this
// type are its checks of `V`.
unsafe impl<V: ComponentType> ComponentType for Lowered<V> {
    type Lower = V::Lower;
    const ABI: CanonicalAbiInfo = V::ABI;

    fn typecheck(ty: &InterfaceType, types: &InstanceType<'_>) -> Result<()> {
        V::typecheck(ty, types)
    }
}

// SAFETY: writes exactly what `V`'s derived implementation writes, at the
// offsets it writes them (see the module docs).
unsafe impl<V: Walk> Lower for Lowered<V> {
    fn linear_lower_to_flat<T>(
        &self,
        cx: &mut LowerContext<'_, T>,
        ty: InterfaceType,
        dst: &mut MaybeUninit<Self::Lower>,
    ) -> Result<()> {
        // The event has far more than 16 flat values, so its calls' params
        // always go through memory; wasmtime's own code is right for this.
        self.value.linear_lower_to_flat(cx, ty, dst)
    }

    fn linear_lower_to_memory<T>(
        &self,
        cx: &mut LowerContext<'_, T>,
        ty: InterfaceType,
        offset: usize,
    ) -> Result<()> {
        if self.how == Lowering::Wasmtime || cx.options().string_encoding != StringEncoding::Utf8 {
            return self.value.linear_lower_to_memory(cx, ty, offset);
        }
        let pointers = if self.how == Lowering::OneBlock {
            let mut measure = Bump::measure();
            self.value.walk(&mut measure, offset)?;
            let block = cx.realloc(0, 0, measure.align, measure.next)?;
            Pointers::Block(Bump::block(block, measure.next))
        } else {
            let mut allocate = Allocate {
                cx: &mut *cx,
                at: Vec::with_capacity(128),
            };
            self.value.walk(&mut allocate, offset)?;
            Pointers::Given(allocate.at.into_iter())
        };
        let mut write = Write {
            memory: cx.as_slice_mut(),
            pointers,
        };
        self.value.walk(&mut write, offset)
    }
}

/// One of the two passes: what to do with a string, a list and a scalar at
/// an offset in the guest's memory.
pub(crate) trait Pass {
    /// A string whose pointer and length go at `at`.
    fn string(&mut self, at: usize, s: &str) -> Result<()>;
    /// A list of `len` values laid out as `abi` says, whose pointer and
    /// length go at `at`; returns where its first value goes.
    fn list(&mut self, at: usize, len: usize, abi: CanonicalAbiInfo) -> Result<usize>;
    /// Bytes of a scalar at `at`.
    fn scalar<const N: usize>(&mut self, at: usize, bytes: [u8; N]);
}

/// The largest string or list the host lowers: the limit wasmtime's own
/// lowering sets for a string.
const MAX_BYTES: usize = (1 << 31) - 1;

fn string_len(s: &str) -> Result<usize> {
    if s.len() > MAX_BYTES {
        bail!("string length of {} too large to copy into wasm", s.len());
    }
    Ok(s.len())
}

fn list_size(len: usize, abi: &CanonicalAbiInfo) -> Result<usize> {
    match len.checked_mul(abi.size32 as usize) {
        Some(size) if size <= MAX_BYTES => Ok(size),
        _ => bail!("size overflow copying a list"),
    }
}

/// First pass, per value: the guest allocates every string and list.
struct Allocate<'c, 'a, T: 'static> {
    cx: &'c mut LowerContext<'a, T>,
    /// What the guest returned, in the walk's order.
    at: Vec<usize>,
}

impl<T: 'static> Pass for Allocate<'_, '_, T> {
    fn string(&mut self, _at: usize, s: &str) -> Result<()> {
        let ptr = self.cx.realloc(0, 0, 1, string_len(s)?)?;
        self.at.push(ptr);
        Ok(())
    }

    fn list(&mut self, _at: usize, len: usize, abi: CanonicalAbiInfo) -> Result<usize> {
        let ptr = self.cx.realloc(0, 0, abi.align32, list_size(len, &abi)?)?;
        self.at.push(ptr);
        Ok(ptr)
    }

    fn scalar<const N: usize>(&mut self, _at: usize, _bytes: [u8; N]) {}
}

/// The strings and lists laid out one after the other from `next`, each
/// aligned as the ABI says. As the first pass in one block, from 0, it
/// measures the block; in the second, from the block's start, it places
/// each value at the same offset in it.
struct Bump {
    next: usize,
    /// The largest alignment asked for (the block's own).
    align: u32,
    /// Where the values must end.
    limit: usize,
}

impl Bump {
    /// For measuring a block.
    fn measure() -> Bump {
        Bump {
            next: 0,
            align: 1,
            limit: MAX_BYTES,
        }
    }

    /// For placing values in a block of `size` bytes at `start`, which
    /// `realloc` returned and checked against the guest's memory: a value
    /// that would end past it is an error, not a write outside it.
    fn block(start: usize, size: usize) -> Bump {
        Bump {
            next: start,
            align: 1,
            limit: start + size,
        }
    }

    fn take(&mut self, size: usize, align: u32) -> Result<usize> {
        let at = self.next.next_multiple_of(align as usize);
        match at.checked_add(size) {
            Some(end) if end <= self.limit => {
                self.next = end;
                self.align = self.align.max(align);
                Ok(at)
            }
            _ => bail!(
                "the event does not fit the memory measured for it: more than {MAX_BYTES} \
                 bytes, or changed between the two lowering passes"
            ),
        }
    }
}

impl Pass for Bump {
    fn string(&mut self, _at: usize, s: &str) -> Result<()> {
        self.take(string_len(s)?, 1).map(drop)
    }

    fn list(&mut self, _at: usize, len: usize, abi: CanonicalAbiInfo) -> Result<usize> {
        self.take(list_size(len, &abi)?, abi.align32)
    }

    fn scalar<const N: usize>(&mut self, _at: usize, _bytes: [u8; N]) {}
}

/// Where the second pass finds each string's and list's memory.
enum Pointers {
    /// What the guest returned for each, in the walk's order.
    Given(std::vec::IntoIter<usize>),
    /// Pieces of one block.
    Block(Bump),
}

/// Second pass: everything written through one borrow of the memory. Every
/// range was checked against the memory by `realloc` in the first pass (or,
/// for the record itself, by wasmtime before it called us), and slicing
/// checks again.
struct Write<'m> {
    memory: &'m mut [u8],
    pointers: Pointers,
}

impl Write<'_> {
    /// Where the next string or list goes.
    fn next(&mut self, size: usize, align: u32) -> Result<usize> {
        match &mut self.pointers {
            Pointers::Given(at) => match at.next() {
                Some(ptr) => Ok(ptr),
                None => bail!("the event changed between the two lowering passes"),
            },
            Pointers::Block(bump) => bump.take(size, align),
        }
    }

    fn pointer(&mut self, at: usize, ptr: usize, len: usize) {
        // Both fit in 32 bits: `realloc` checked them against the memory.
        self.scalar(at, (ptr as u32).to_le_bytes());
        self.scalar(at + 4, (len as u32).to_le_bytes());
    }
}

impl Pass for Write<'_> {
    fn string(&mut self, at: usize, s: &str) -> Result<()> {
        let ptr = self.next(s.len(), 1)?;
        self.memory[ptr..][..s.len()].copy_from_slice(s.as_bytes());
        self.pointer(at, ptr, s.len());
        Ok(())
    }

    fn list(&mut self, at: usize, len: usize, abi: CanonicalAbiInfo) -> Result<usize> {
        let ptr = self.next(list_size(len, &abi)?, abi.align32)?;
        self.pointer(at, ptr, len);
        Ok(ptr)
    }

    fn scalar<const N: usize>(&mut self, at: usize, bytes: [u8; N]) {
        self.memory[at..][..N].copy_from_slice(&bytes);
    }
}

/// The offset of each field of a record whose fields are laid out as
/// `fields` says, by the canonical ABI's rule: each aligned to its own
/// alignment, in order.
pub(super) const fn offsets<const N: usize>(fields: [CanonicalAbiInfo; N]) -> [usize; N] {
    let mut out = [0; N];
    let mut offset = 0u32;
    let mut i = 0;
    while i < N {
        offset = offset.next_multiple_of(fields[i].align32);
        out[i] = offset as usize;
        offset += fields[i].size32;
        i += 1;
    }
    out
}

/// The ABI figures of a type.
pub(super) const fn abi<T: ComponentType>() -> CanonicalAbiInfo {
    T::ABI
}

/// Whether the record laid out by `fields` has `T`'s size and alignment: a
/// field added, removed or retyped in the WIT fails the build here.
pub(super) const fn same_record<T: ComponentType, const N: usize>(
    fields: [CanonicalAbiInfo; N],
) -> bool {
    let record = CanonicalAbiInfo::record_static(&fields);
    record.size32 == T::ABI.size32 && record.align32 == T::ABI.align32
}

/// `layout!([visibility] NAME, Record, [field types])`: `NAME`, the offset
/// of each field of `Record`, checked at compile time against wasmtime's
/// figures (`lift.rs` lays out the results with it too).
macro_rules! layout {
    ($vis:vis $name:ident, $record:ty, [$($field:ty),* $(,)?]) => {
        $vis const $name: [usize; [$(stringify!($field)),*].len()] =
            $crate::runtime::lower::offsets([$($crate::runtime::lower::abi::<$field>()),*]);
        const _: () = assert!(
            $crate::runtime::lower::same_record::<$record, { [$(stringify!($field)),*].len() }>(
                [$($crate::runtime::lower::abi::<$field>()),*]
            ),
            concat!("the layout of `", stringify!($record), "` here is not wasmtime's"),
        );
    };
}
pub(super) use layout;

type Text = Option<String>;
type Pairs = Vec<(String, String)>;

layout!(
    EVENT,
    Event,
    [
        String,
        f64,
        Level,
        String,
        Text,
        Text,
        Vec<Exception>,
        Pairs,
        Option<User>,
        Option<Request>,
        Text,
        Text,
        Text,
        Text,
        Vec<String>,
        Vec<Attribute>,
    ]
);
layout!(EXCEPTION, Exception, [String, Text, Text, Vec<Frame>]);
layout!(
    FRAME,
    Frame,
    [
        Text,
        Text,
        Text,
        Text,
        Option<u32>,
        Option<u32>,
        Option<bool>,
        Vec<Attribute>,
    ]
);
layout!(USER, User, [Text, Text, Text, Text]);
layout!(REQUEST, Request, [Text, Text, Text, Text, Pairs]);
layout!(pub(super) ATTRIBUTE, Attribute, [String, Value]);
layout!(pub(super) PAIR, (String, String), [String, String]);
layout!(
    pub(super) CLASSIFICATION,
    Classification,
    [String, Vec<String>, String, Severity, f32, Option<Vec<String>>]
);

/// Where an option's payload goes, after its one-byte discriminant.
pub(super) const fn payload<T: ComponentType>() -> usize {
    <Option<T> as ComponentVariant>::PAYLOAD_OFFSET32
}

fn event<P: Pass>(p: &mut P, e: &Event, at: usize) -> Result<()> {
    let Event {
        event_id,
        timestamp,
        level,
        platform,
        logger,
        message,
        exceptions,
        tags,
        user,
        request,
        release,
        environment,
        server_name,
        transaction,
        fingerprint,
        attributes,
    } = e;
    let o = EVENT.map(|o| at + o);
    p.string(o[0], event_id)?;
    p.scalar(o[1], timestamp.to_bits().to_le_bytes());
    p.scalar(o[2], [level_case(*level)]);
    p.string(o[3], platform)?;
    text(p, o[4], logger)?;
    text(p, o[5], message)?;
    list(p, o[6], exceptions, exception)?;
    list(p, o[7], tags, pair)?;
    option(p, o[8], user, |p, at, u| {
        let User {
            id,
            email,
            username,
            ip_address,
        } = u;
        let o = USER.map(|o| at + o);
        text(p, o[0], id)?;
        text(p, o[1], email)?;
        text(p, o[2], username)?;
        text(p, o[3], ip_address)
    })?;
    option(p, o[9], request, |p, at, r| {
        let Request {
            method,
            url,
            query_string,
            cookies,
            headers,
        } = r;
        let o = REQUEST.map(|o| at + o);
        text(p, o[0], method)?;
        text(p, o[1], url)?;
        text(p, o[2], query_string)?;
        text(p, o[3], cookies)?;
        list(p, o[4], headers, pair)
    })?;
    text(p, o[10], release)?;
    text(p, o[11], environment)?;
    text(p, o[12], server_name)?;
    text(p, o[13], transaction)?;
    list(p, o[14], fingerprint, |p, at, s| p.string(at, s))?;
    list(p, o[15], attributes, attribute)
}

fn exception<P: Pass>(p: &mut P, at: usize, x: &Exception) -> Result<()> {
    let Exception {
        type_,
        value,
        module,
        frames,
    } = x;
    let o = EXCEPTION.map(|o| at + o);
    p.string(o[0], type_)?;
    text(p, o[1], value)?;
    text(p, o[2], module)?;
    list(p, o[3], frames, frame)
}

fn frame<P: Pass>(p: &mut P, at: usize, f: &Frame) -> Result<()> {
    let Frame {
        function,
        module,
        filename,
        abs_path,
        lineno,
        colno,
        in_app,
        vars,
    } = f;
    let o = FRAME.map(|o| at + o);
    text(p, o[0], function)?;
    text(p, o[1], module)?;
    text(p, o[2], filename)?;
    text(p, o[3], abs_path)?;
    option(p, o[4], lineno, |p, at, n| {
        p.scalar(at, n.to_le_bytes());
        Ok(())
    })?;
    option(p, o[5], colno, |p, at, n| {
        p.scalar(at, n.to_le_bytes());
        Ok(())
    })?;
    option(p, o[6], in_app, |p, at, b| {
        p.scalar(at, [u8::from(*b)]);
        Ok(())
    })?;
    list(p, o[7], vars, attribute)
}

fn attribute<P: Pass>(p: &mut P, at: usize, a: &Attribute) -> Result<()> {
    let Attribute { key, value } = a;
    p.string(at + ATTRIBUTE[0], key)?;
    let at = at + ATTRIBUTE[1];
    let payload = at + <Value as ComponentVariant>::PAYLOAD_OFFSET32;
    // Cases in the WIT's order; the discriminant is one byte.
    match value {
        Value::Text(s) => {
            p.scalar(at, [0]);
            p.string(payload, s)
        }
        Value::Integer(i) => {
            p.scalar(at, [1]);
            p.scalar(payload, i.to_le_bytes());
            Ok(())
        }
        Value::Number(n) => {
            p.scalar(at, [2]);
            p.scalar(payload, n.to_bits().to_le_bytes());
            Ok(())
        }
        Value::Boolean(b) => {
            p.scalar(at, [3]);
            p.scalar(payload, [u8::from(*b)]);
            Ok(())
        }
        Value::Null => {
            p.scalar(at, [4]);
            Ok(())
        }
    }
}

fn pair<P: Pass>(p: &mut P, at: usize, (k, v): &(String, String)) -> Result<()> {
    p.string(at + PAIR[0], k)?;
    p.string(at + PAIR[1], v)
}

fn classification<P: Pass>(p: &mut P, at: usize, c: &Classification) -> Result<()> {
    let Classification {
        code,
        category,
        taxonomy,
        severity,
        confidence,
        fingerprint,
    } = c;
    let o = CLASSIFICATION.map(|o| at + o);
    p.string(o[0], code)?;
    list(p, o[1], category, |p, at, s| p.string(at, s))?;
    p.string(o[2], taxonomy)?;
    p.scalar(o[3], [severity_case(*severity)]);
    p.scalar(o[4], confidence.to_bits().to_le_bytes());
    option(p, o[5], fingerprint, |p, at, parts| {
        list(p, at, parts, |p, at, s| p.string(at, s))
    })
}

/// The case index of a severity, in the WIT's order.
fn severity_case(severity: Severity) -> u8 {
    match severity {
        Severity::Low => 0,
        Severity::Medium => 1,
        Severity::High => 2,
        Severity::Critical => 3,
    }
}

/// The case index of a level, in the WIT's order.
fn level_case(level: Level) -> u8 {
    match level {
        Level::Debug => 0,
        Level::Info => 1,
        Level::Warning => 2,
        Level::Error => 3,
        Level::Fatal => 4,
    }
}

fn text<P: Pass>(p: &mut P, at: usize, s: &Option<String>) -> Result<()> {
    option(p, at, s, |p, at, s| p.string(at, s))
}

fn option<P: Pass, T: ComponentType>(
    p: &mut P,
    at: usize,
    value: &Option<T>,
    some: impl FnOnce(&mut P, usize, &T) -> Result<()>,
) -> Result<()> {
    match value {
        None => {
            p.scalar(at, [0]);
            Ok(())
        }
        Some(v) => {
            p.scalar(at, [1]);
            some(p, at + payload::<T>(), v)
        }
    }
}

fn list<P: Pass, T: ComponentType>(
    p: &mut P,
    at: usize,
    items: &[T],
    mut each: impl FnMut(&mut P, usize, &T) -> Result<()>,
) -> Result<()> {
    let base = p.list(at, items.len(), T::ABI)?;
    for (i, item) in items.iter().enumerate() {
        each(p, base + i * T::SIZE32, item)?;
    }
    Ok(())
}
