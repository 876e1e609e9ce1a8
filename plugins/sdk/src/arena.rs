//! Memory for a call's arguments: the host writes an event into the plugin's
//! memory one allocation per string and list, and the plugin frees them all
//! when the call ends; here they come from one region, bumped, and are let go
//! by resetting it instead of being freed one by one.
//!
//! The region is in use only between calls, when the host lowers the next
//! call's arguments and the bindings lift them; the export wrappers switch it
//! off before the plugin's own code runs and reset it once the arguments are
//! dropped. The plugin is handed its arguments by reference, so (safe) plugin
//! code cannot keep them past the call; everything it allocates itself comes
//! from the system allocator as usual. Enabled by the `call-arena` feature
//! (on by default) in Wasm builds, where it is the global allocator.
//!
//! The region starts at 64 KiB and, after a call whose arguments did not fit
//! (those came from the system allocator), grows to hold them and keeps that
//! size; the host recycles an instance whose memory grows well past where it
//! settled, which bounds what one very large event leaves behind.

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::UnsafeCell;

/// The region's first size; it grows at a reset to hold what the last
/// window asked for.
const FIRST_CAPACITY: usize = 64 << 10;
/// Alignment of the region itself; no argument asks for more.
const REGION_ALIGN: usize = 16;

struct Region {
    /// Whether allocations come from the region (between calls).
    on: bool,
    base: *mut u8,
    capacity: usize,
    used: usize,
    /// Bytes asked for since the last reset, including those the region had
    /// no room for (which came from the system allocator).
    wanted: usize,
    /// The region a reset replaced with a larger one, kept until the next
    /// reset: the bindings still free some of a call's argument memory after
    /// the call's own code ends (the end-to-end test with a 300 KB event
    /// trapped without this), and such a free must still find it.
    retired: (*mut u8, usize),
}

/// A global allocator that serves the arguments of the next call from a bump
/// region and everything else from the system allocator.
pub struct CallArena {
    region: UnsafeCell<Region>,
}

// Sound only without threads: Wasm components run on one thread, and the
// `call-arena` global allocator is only installed in such builds.
unsafe impl Sync for CallArena {}

impl CallArena {
    /// An arena that starts switched off: allocations made before the first
    /// call ends (static constructors, the first call's arguments) come from
    /// the system allocator and live as long as they like.
    pub const fn new() -> CallArena {
        CallArena {
            region: UnsafeCell::new(Region {
                on: false,
                base: std::ptr::null_mut(),
                capacity: 0,
                used: 0,
                wanted: 0,
                retired: (std::ptr::null_mut(), 0),
            }),
        }
    }

    #[allow(clippy::mut_from_ref)]
    fn region(&self) -> &mut Region {
        // One thread, and no method below calls another while it holds this.
        unsafe { &mut *self.region.get() }
    }

    fn holds(&self, ptr: *mut u8) -> bool {
        let r = self.region();
        let within = |(base, capacity): (*mut u8, usize)| {
            !base.is_null() && ptr >= base && (ptr as usize) < base as usize + capacity
        };
        within((r.base, r.capacity)) || within(r.retired)
    }

    /// The plugin's own code is about to run: allocate from the system.
    pub fn switch_off(&self) {
        self.region().on = false;
    }

    /// The call's arguments are gone: empty the region (growing it if the
    /// last window outgrew it) and serve the next call's arguments from it.
    ///
    /// # Safety
    ///
    /// Nothing allocated from the region since the last reset may be used
    /// again.
    pub unsafe fn reset(&self) {
        let r = self.region();
        let region = |capacity| Layout::from_size_align(capacity, REGION_ALIGN).ok();
        let (retired, retired_capacity) = std::mem::take(&mut r.retired);
        if let Some(old) = region(retired_capacity).filter(|_| !retired.is_null()) {
            unsafe { System.dealloc(retired, old) };
        }
        let needed = r.wanted.max(FIRST_CAPACITY).checked_next_power_of_two();
        if let Some((needed, layout)) = needed
            .filter(|n| *n > r.capacity)
            .and_then(|n| Some((n, region(n)?)))
        {
            r.retired = (r.base, r.capacity);
            r.base = unsafe { System.alloc(layout) };
            r.capacity = if r.base.is_null() { 0 } else { needed };
        }
        r.used = 0;
        r.wanted = 0;
        r.on = true;
    }

    fn bump(&self, layout: Layout) -> Option<*mut u8> {
        let r = self.region();
        if !r.on {
            return None;
        }
        r.wanted = r.wanted.saturating_add(layout.size() + layout.align() - 1);
        if r.base.is_null() || layout.align() > REGION_ALIGN {
            return None;
        }
        let start = r.used.checked_next_multiple_of(layout.align())?;
        let end = start.checked_add(layout.size())?;
        if end > r.capacity {
            return None;
        }
        r.used = end;
        Some(unsafe { r.base.add(start) })
    }
}

impl Default for CallArena {
    fn default() -> Self {
        CallArena::new()
    }
}

unsafe impl GlobalAlloc for CallArena {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        match self.bump(layout) {
            Some(ptr) => ptr,
            None => unsafe { System.alloc(layout) },
        }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        if !self.holds(ptr) {
            unsafe { System.dealloc(ptr, layout) }
        }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        if !self.holds(ptr) && !self.region().on {
            return unsafe { System.realloc(ptr, layout, new_size) };
        }
        let new_layout = unsafe { Layout::from_size_align_unchecked(new_size, layout.align()) };
        let new = unsafe { self.alloc(new_layout) };
        if !new.is_null() {
            unsafe {
                std::ptr::copy_nonoverlapping(ptr, new, layout.size().min(new_size));
                self.dealloc(ptr, layout);
            }
        }
        new
    }
}

/// The arena as the plugin's global allocator, and the `cabi_realloc` the
/// host calls to place arguments, routed through it (the C library's own
/// would bypass it).
#[cfg(all(target_arch = "wasm32", feature = "call-arena"))]
pub(crate) mod global {
    use super::CallArena;

    #[global_allocator]
    pub(crate) static ARENA: CallArena = CallArena::new();

    /// The canonical ABI's allocation function, as wit-bindgen defines it for
    /// other targets.
    #[unsafe(no_mangle)]
    pub unsafe extern "C" fn cabi_realloc(
        old_ptr: *mut u8,
        old_len: usize,
        align: usize,
        new_len: usize,
    ) -> *mut u8 {
        use std::alloc::{Layout, alloc, realloc};
        let ptr = unsafe {
            if old_len == 0 {
                if new_len == 0 {
                    return align as *mut u8;
                }
                alloc(Layout::from_size_align_unchecked(new_len, align))
            } else {
                realloc(
                    old_ptr,
                    Layout::from_size_align_unchecked(old_len, align),
                    new_len,
                )
            }
        };
        if ptr.is_null() {
            core::arch::wasm32::unreachable();
        }
        ptr
    }
}

/// Whether `ptr` points into the call arena's region: true for the current
/// call's arguments (when the region had room for them), false for anything
/// the plugin allocates itself, and always false without the arena.
#[doc(hidden)]
pub fn holds_argument(ptr: *const u8) -> bool {
    #[cfg(all(target_arch = "wasm32", feature = "call-arena"))]
    return global::ARENA.holds(ptr.cast_mut());
    #[cfg(not(all(target_arch = "wasm32", feature = "call-arena")))]
    {
        let _ = ptr;
        false
    }
}

/// Marks the start of the plugin's own code in a call (the export macros
/// call it).
#[doc(hidden)]
pub fn call_starts() {
    #[cfg(all(target_arch = "wasm32", feature = "call-arena"))]
    global::ARENA.switch_off();
}

/// Marks the end of a call (the export macros call it).
///
/// # Safety
///
/// The call's arguments, the only values allocated from the region, must be
/// dropped already.
#[doc(hidden)]
pub unsafe fn call_ends() {
    #[cfg(all(target_arch = "wasm32", feature = "call-arena"))]
    unsafe {
        global::ARENA.reset()
    };
}

#[cfg(test)]
mod tests {
    use super::*;

    fn layout(size: usize, align: usize) -> Layout {
        Layout::from_size_align(size, align).unwrap()
    }

    #[test]
    fn allocates_from_the_system_until_the_first_reset() {
        let arena = CallArena::new();
        let p = unsafe { arena.alloc(layout(32, 8)) };
        assert!(!p.is_null() && !arena.holds(p));
        unsafe { arena.dealloc(p, layout(32, 8)) };
    }

    #[test]
    fn serves_arguments_from_the_region_and_the_plugin_from_the_system() {
        let arena = CallArena::new();
        unsafe { arena.reset() };
        let a = unsafe { arena.alloc(layout(10, 1)) };
        let b = unsafe { arena.alloc(layout(24, 8)) };
        assert!(arena.holds(a) && arena.holds(b));
        assert_eq!(b as usize % 8, 0);
        assert!(b as usize >= a as usize + 10, "no overlap");
        // Freeing a region allocation is a no-op; the memory stays readable.
        unsafe {
            b.write_bytes(7, 24);
            arena.dealloc(b, layout(24, 8));
            assert_eq!(*b.add(23), 7);
        }
        arena.switch_off();
        let own = unsafe { arena.alloc(layout(16, 8)) };
        assert!(!arena.holds(own));
        unsafe { arena.dealloc(own, layout(16, 8)) };
        unsafe { arena.reset() };
        let again = unsafe { arena.alloc(layout(10, 1)) };
        assert_eq!(again, a, "a reset starts the region over");
    }

    #[test]
    fn a_window_that_outgrows_the_region_spills_and_grows_it_for_the_next() {
        let arena = CallArena::new();
        unsafe { arena.reset() };
        let big = FIRST_CAPACITY + 1;
        let spilled = unsafe { arena.alloc(layout(big, 8)) };
        assert!(!arena.holds(spilled));
        unsafe {
            spilled.write_bytes(1, big);
            arena.dealloc(spilled, layout(big, 8));
            arena.reset();
        }
        let fits = unsafe { arena.alloc(layout(big, 8)) };
        assert!(
            arena.holds(fits),
            "the region grew to the last window's needs"
        );
    }

    #[test]
    fn memory_of_a_replaced_region_is_still_known_until_the_next_reset() {
        let arena = CallArena::new();
        unsafe { arena.reset() };
        let params = unsafe { arena.alloc(layout(64, 8)) };
        let spilled = unsafe { arena.alloc(layout(FIRST_CAPACITY, 8)) };
        unsafe { arena.reset() };
        // The bindings free a call's parameter record after the reset that
        // grew the region: that must not reach the system allocator.
        assert!(arena.holds(params));
        unsafe {
            arena.dealloc(params, layout(64, 8));
            arena.dealloc(spilled, layout(FIRST_CAPACITY, 8));
            arena.reset();
        }
        assert!(!arena.holds(params), "freed at the reset after");
    }

    #[test]
    fn realloc_moves_region_memory_out_when_the_plugin_grows_it() {
        let arena = CallArena::new();
        unsafe { arena.reset() };
        let p = unsafe { arena.alloc(layout(4, 1)) };
        unsafe { p.copy_from_nonoverlapping(b"abcd".as_ptr(), 4) };
        arena.switch_off();
        let q = unsafe { arena.realloc(p, layout(4, 1), 64) };
        assert!(!arena.holds(q));
        assert_eq!(unsafe { std::slice::from_raw_parts(q, 4) }, b"abcd");
        // A system allocation grows in place as the system allocator likes.
        let r = unsafe { arena.realloc(q, layout(64, 1), 128) };
        assert!(!arena.holds(r));
        assert_eq!(unsafe { std::slice::from_raw_parts(r, 4) }, b"abcd");
        unsafe { arena.dealloc(r, layout(128, 1)) };
    }
}
