//! Memory for a call's arguments: the host writes an event into the plugin's
//! memory one allocation per string and list, and the plugin frees them all
//! when the call ends; here they come from one region, bumped, and are let go
//! by resetting it instead of being freed one by one.
//!
//! The region is in use only between calls, when the host lowers the next
//! call's arguments and the bindings lift them; the export wrappers switch it
//! off before the plugin's own code runs and reset it once the call is over.
//! The arguments are then forgotten rather than dropped: they are plain data
//! in the arena's memory, which the reset lets go at once. The plugin is
//! handed its arguments by reference, so (safe) plugin
//! code cannot keep them past the call; everything it allocates itself comes
//! from the system allocator as usual. Enabled by the `call-arena` feature
//! (on by default) in Wasm builds, where it is the global allocator.
//!
//! The region starts at 64 KiB and, after a call whose arguments did not fit,
//! grows to hold them and keeps that size; the host recycles an instance
//! whose memory grows well past where it settled, which bounds what one very
//! large event leaves behind. Arguments that do not fit get blocks of their
//! own, which are let go a reset later, like a replaced region: so every
//! argument is in memory the arena owns, and freeing one never reaches the
//! system allocator. That is what lets the host place all of a call's
//! strings and lists in one allocation (the component says so with the
//! custom section [`ARGUMENT_BLOCK_SECTION`]).

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::UnsafeCell;

/// The region's first size; it grows at a reset to hold what the last
/// window asked for.
const FIRST_CAPACITY: usize = 64 << 10;
/// Alignment of the region and of spilled blocks (one for an allocation that
/// asks for more is padded to it).
const REGION_ALIGN: usize = 16;

/// Name of the custom section by which a component tells the host that its
/// `cabi_realloc`, between calls, serves memory the plugin never frees piece
/// by piece, so the host may place all of an event call's strings and lists
/// in one allocation. The section's content is the format's version, `1`.
pub const ARGUMENT_BLOCK_SECTION: &str = argument_block_section!();

/// The section's name, for the attribute that emits it (which cannot name a
/// constant).
macro_rules! argument_block_section {
    () => {
        "faultline:argument-block"
    };
}
use argument_block_section;

/// Memory from the system allocator that holds arguments: the region, or
/// one allocation the region had no room for. The header is at its start,
/// the usable bytes follow it.
#[repr(C, align(16))]
struct Block {
    /// The next block in the same list.
    next: *mut Block,
    /// Size of the whole block, header included.
    size: usize,
}

const HEADER: usize = std::mem::size_of::<Block>();

impl Block {
    /// A block with room for `capacity` bytes, or null.
    fn new(capacity: usize) -> *mut Block {
        let Some(layout) = HEADER
            .checked_add(capacity)
            .and_then(|size| Layout::from_size_align(size, REGION_ALIGN).ok())
        else {
            return std::ptr::null_mut();
        };
        let block = unsafe { System.alloc(layout) }.cast::<Block>();
        if !block.is_null() {
            unsafe {
                block.write(Block {
                    next: std::ptr::null_mut(),
                    size: layout.size(),
                })
            };
        }
        block
    }

    /// The usable bytes of a block (null for none).
    fn data(block: *mut Block) -> (*mut u8, usize) {
        if block.is_null() {
            return (std::ptr::null_mut(), 0);
        }
        let size = unsafe { (*block).size };
        (unsafe { block.cast::<u8>().add(HEADER) }, size - HEADER)
    }

    fn contains(block: *mut Block, ptr: *mut u8) -> bool {
        let (base, capacity) = Block::data(block);
        !base.is_null() && ptr >= base && (ptr as usize) < base as usize + capacity
    }

    /// Whether a block of the list starting at `head` contains `ptr`.
    fn list_contains(mut head: *mut Block, ptr: *mut u8) -> bool {
        while !head.is_null() {
            if Block::contains(head, ptr) {
                return true;
            }
            head = unsafe { (*head).next };
        }
        false
    }

    /// Frees every block of the list starting at `head`.
    fn free_list(mut head: *mut Block) {
        while !head.is_null() {
            let next = unsafe { (*head).next };
            let size = unsafe { (*head).size };
            unsafe {
                System.dealloc(
                    head.cast(),
                    Layout::from_size_align_unchecked(size, REGION_ALIGN),
                )
            };
            head = next;
        }
    }
}

struct Region {
    /// Whether allocations come from the region (between calls).
    on: bool,
    /// The block allocations are bumped through (null before the first reset).
    region: *mut Block,
    used: usize,
    /// Bytes asked for since the last reset, including those the region had
    /// no room for (which got blocks of their own).
    wanted: usize,
    /// This window's allocations the region had no room for.
    spilled: *mut Block,
    /// The last window's spilled blocks, and the region a reset replaced with
    /// a larger one: kept until the next reset, because the bindings still
    /// free some of a call's argument memory after the call's own code ends
    /// (the end-to-end test with a 300 KB event trapped without this), and
    /// such a free must still find it.
    retired: *mut Block,
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
                region: std::ptr::null_mut(),
                used: 0,
                wanted: 0,
                spilled: std::ptr::null_mut(),
                retired: std::ptr::null_mut(),
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
        Block::contains(r.region, ptr)
            || Block::list_contains(r.spilled, ptr)
            || Block::list_contains(r.retired, ptr)
    }

    /// The plugin's own code is about to run: allocate from the system.
    /// Returns whether the arena was serving allocations until now (then
    /// the call's arguments are all in its memory).
    pub fn switch_off(&self) -> bool {
        std::mem::replace(&mut self.region().on, false)
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
        Block::free_list(std::mem::replace(
            &mut r.retired,
            std::mem::take(&mut r.spilled),
        ));
        let needed = r.wanted.max(FIRST_CAPACITY).checked_next_power_of_two();
        if let Some(needed) = needed.filter(|n| *n > Block::data(r.region).1) {
            let grown = Block::new(needed);
            if !grown.is_null() {
                if !r.region.is_null() {
                    unsafe { (*r.region).next = r.retired };
                    r.retired = r.region;
                }
                r.region = grown;
            }
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
        let (base, capacity) = Block::data(r.region);
        let start = r.used.checked_next_multiple_of(layout.align())?;
        let end = start.checked_add(layout.size())?;
        if !base.is_null() && layout.align() <= REGION_ALIGN && end <= capacity {
            r.used = end;
            return Some(unsafe { base.add(start) });
        }
        // No room (or an alignment the region's start does not give): a
        // block of its own, let go a reset after the next.
        let padding = layout.align().saturating_sub(REGION_ALIGN);
        let block = Block::new(layout.size().checked_add(padding)?);
        if block.is_null() {
            return None;
        }
        unsafe { (*block).next = r.spilled };
        r.spilled = block;
        let data = Block::data(block).0;
        Some(unsafe { data.add(data.align_offset(layout.align())) })
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

    /// The custom section [`super::ARGUMENT_BLOCK_SECTION`]: once one of the
    /// component's exports has returned, until the plugin's code runs in the
    /// next call, every allocation `cabi_realloc` makes is memory the arena
    /// owns, where freeing any part of it is a no-op.
    #[unsafe(link_section = super::argument_block_section!())]
    #[used]
    static ARGUMENT_BLOCK: [u8; 1] = *b"1";

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
/// call it). Returns whether the call's arguments are all in the arena's
/// memory: then they need not be dropped, since the reset at the call's end
/// lets them go at once.
#[doc(hidden)]
pub fn call_starts() -> bool {
    #[cfg(all(target_arch = "wasm32", feature = "call-arena"))]
    return global::ARENA.switch_off();
    #[cfg(not(all(target_arch = "wasm32", feature = "call-arena")))]
    false
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
        assert!(arena.holds(spilled), "a block of the arena's own");
        assert_eq!(spilled as usize % REGION_ALIGN, 0);
        unsafe {
            spilled.write_bytes(1, big);
            arena.dealloc(spilled, layout(big, 8));
            assert_eq!(*spilled.add(big - 1), 1, "freeing it is a no-op");
            arena.reset();
        }
        let fits = unsafe { arena.alloc(layout(big, 8)) };
        assert!(
            Block::contains(arena.region().region, fits),
            "the region grew to the last window's needs"
        );
    }

    #[test]
    fn every_allocation_between_calls_is_the_arenas_however_many_spill() {
        let arena = CallArena::new();
        unsafe { arena.reset() };
        // More than the region holds, in pieces of every size: the host may
        // carve any of them up, so none may come from the system.
        let sizes = [40_000, 1, 30_000, 70_000, 8, 200_000, 3];
        let pieces: Vec<*mut u8> = sizes
            .iter()
            .map(|&n| unsafe { arena.alloc(layout(n, 8)) })
            .collect();
        for (&p, &n) in pieces.iter().zip(&sizes) {
            assert!(arena.holds(p) && arena.holds(unsafe { p.add(n - 1) }));
            unsafe { p.write_bytes(9, n) };
        }
        for (i, (&p, &n)) in pieces.iter().zip(&sizes).enumerate() {
            for (&q, &m) in pieces.iter().zip(&sizes).skip(i + 1) {
                assert!(p as usize + n <= q as usize || q as usize + m <= p as usize);
            }
        }
        unsafe { arena.reset() };
        assert!(
            pieces.iter().all(|&p| arena.holds(p)),
            "kept one reset more, for the bindings' late frees"
        );
        unsafe { arena.reset() };
        assert!(
            pieces.iter().all(|&p| !arena.holds(p)),
            "the spilled blocks and the replaced region are let go"
        );
    }

    #[test]
    fn alignments_past_the_regions_get_blocks_of_the_arenas_own() {
        let arena = CallArena::new();
        unsafe { arena.reset() };
        for align in [32, 64, 4096] {
            let p = unsafe { arena.alloc(layout(100, align)) };
            assert_eq!(p as usize % align, 0);
            assert!(arena.holds(p) && arena.holds(unsafe { p.add(99) }));
            unsafe { p.write_bytes(3, 100) };
        }
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
        assert!(arena.holds(params) && arena.holds(spilled));
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
