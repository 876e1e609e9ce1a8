//! A bounded memory of what a plugin concluded about texts it has seen.
//!
//! An error stream repeats itself: the same frame modules, exception types,
//! loggers, release names and user agents on every event of a service, the
//! same message on every event of an issue. A plugin that runs a costly test
//! on such texts (a regex search, a table lookup) can remember the outcome
//! and pay only for a hash the next time.

use std::collections::HashMap;
use std::hash::{BuildHasher, RandomState};

use foldhash::fast::FixedState;

/// Outcomes remembered per text, in bounded memory: texts longer than
/// `max_text` bytes are not kept, and when the texts and values kept would
/// take more than `max_bytes` (counting each value's inline size and 64
/// bytes of overhead per entry, not what a value owns on the heap), all of
/// them are forgotten at once. Forgetting everything is crude but cheap, and
/// a stream's recurring texts are relearned within an event or two.
///
/// Texts are hashed with foldhash rather than the standard library's
/// SipHash, which in a component cost more than the look-up it serves. The
/// texts come from events a sender may shape, so each memory's seed is
/// random (from the system's randomness, as SipHash's keys are), and the
/// memory's bound caps what colliding texts could cost.
pub struct Recent<V> {
    /// Each outcome with the bytes counted for it.
    outcomes: HashMap<Box<str>, (V, usize), FixedState>,
    bytes: usize,
    max_text: usize,
    max_bytes: usize,
}

impl<V> Recent<V> {
    /// Overhead counted per entry, beside the text and the value.
    const ENTRY: usize = 64;

    /// An empty memory for texts up to `max_text` bytes, taking at most
    /// about `max_bytes`.
    pub fn new(max_text: usize, max_bytes: usize) -> Recent<V> {
        let seed = RandomState::new().hash_one(0u64);
        Recent {
            outcomes: HashMap::with_hasher(FixedState::with_seed(seed)),
            bytes: 0,
            max_text,
            max_bytes,
        }
    }

    /// The outcome remembered for `text`, if any.
    pub fn get(&self, text: &str) -> Option<&V> {
        self.outcomes.get(text).map(|(outcome, _)| outcome)
    }

    /// Remembers `outcome` for `text`, unless `text` is too long to keep.
    pub fn insert(&mut self, text: &str, outcome: V) {
        self.insert_owning(text, outcome, 0);
    }

    /// [`Recent::insert`] for an outcome that owns `heap` bytes besides its
    /// inline size (a row's strings, say), counted against `max_bytes` too.
    pub fn insert_owning(&mut self, text: &str, outcome: V, heap: usize) {
        if text.len() > self.max_text {
            return;
        }
        let size = text.len() + std::mem::size_of::<V>() + heap + Self::ENTRY;
        if self.bytes + size > self.max_bytes {
            self.outcomes.clear();
            self.bytes = 0;
        }
        self.bytes += size;
        if let Some((_, counted)) = self.outcomes.insert(text.into(), (outcome, size)) {
            self.bytes -= counted;
        }
    }

    /// Forgets every outcome.
    pub fn clear(&mut self) {
        self.outcomes.clear();
        self.bytes = 0;
    }

    /// How many texts are remembered.
    pub fn len(&self) -> usize {
        self.outcomes.len()
    }

    /// Whether no text is remembered.
    pub fn is_empty(&self) -> bool {
        self.outcomes.is_empty()
    }

    /// About how many bytes the remembered texts and values take, as counted
    /// against `max_bytes`.
    pub fn bytes(&self) -> usize {
        self.bytes
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn long_texts_are_not_kept() {
        let mut recent = Recent::new(8, 1 << 20);
        recent.insert("123456789", 1);
        recent.insert("12345678", 2);
        assert_eq!(recent.get("123456789"), None);
        assert_eq!(recent.get("12345678"), Some(&2));
    }

    #[test]
    fn memory_stays_bounded_and_recent_texts_stay() {
        let max = 64 << 10;
        let mut recent = Recent::new(256, max);
        for n in 0..100_000u32 {
            let text = format!("module.number{n}");
            recent.insert(&text, n);
            assert_eq!(recent.get(&text), Some(&n));
            assert!(recent.bytes() <= max);
        }
        // Each entry counts its text, its value and the overhead.
        assert!(recent.len() <= max / (14 + 4 + 64), "{}", recent.len());
    }

    #[test]
    fn inserting_a_text_again_replaces_its_outcome_and_counts_once() {
        let mut recent = Recent::new(256, 1 << 20);
        recent.insert("text", 1);
        let bytes = recent.bytes();
        recent.insert("text", 2);
        assert_eq!(recent.get("text"), Some(&2));
        assert_eq!(recent.bytes(), bytes);
        recent.insert_owning("text", 3, 100);
        assert_eq!(recent.bytes(), bytes + 100);
        recent.insert("text", 4);
        assert_eq!(recent.bytes(), bytes);
        recent.clear();
        assert!(recent.is_empty() && recent.bytes() == 0);
    }
}
