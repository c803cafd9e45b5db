//! Per-thread allocation accounting, so a query can be stopped when the memory it holds
//! passes its budget (`[coordinator] query-memory-limit`) instead of the kernel stopping the
//! whole process.
//!
//! Owns [`ThreadCountingAllocator`], a wrapper around the system allocator that adds every
//! allocation's size to a counter of the allocating thread and subtracts every free from
//! the counter of the freeing thread. The `sluice` binary installs it as the global
//! allocator; a library user (a test, a bench with its own allocator) may not, and then
//! [`thread_net_bytes`] stays 0 and budgets only see what callers charge explicitly.
//!
//! Invariants:
//! - The counter is a plain thread-local integer: no atomic, no lock, nothing allocated, so
//!   the allocator never re-enters itself.
//! - The counter is a *net* figure of one thread. Memory freed by another thread (an answer
//!   handed to an event loop) stays counted where it was allocated, and memory allocated
//!   elsewhere but freed here makes it drop; so budgets are taken as a difference between two
//!   readings on the same thread during one piece of work, never as an absolute.

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;

thread_local! {
    static NET_BYTES: Cell<i64> = const { Cell::new(0) };
}

fn add(bytes: i64) {
    // `try_with`: during thread teardown the slot may be gone; then nothing is counted.
    let _ = NET_BYTES.try_with(|net| net.set(net.get().wrapping_add(bytes)));
}

/// Bytes allocated minus bytes freed by the calling thread so far (0 when the counting
/// allocator is not installed).
pub fn thread_net_bytes() -> i64 {
    NET_BYTES.try_with(Cell::get).unwrap_or(0)
}

/// The system allocator, counting per thread.
pub struct ThreadCountingAllocator;

// SAFETY: every call is forwarded unchanged to `System`, which upholds `GlobalAlloc`'s
// contract; the only addition is arithmetic on a thread-local `Cell`, which neither
// allocates nor unwinds.
unsafe impl GlobalAlloc for ThreadCountingAllocator {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        // SAFETY: forwarded with the caller's layout.
        let pointer = unsafe { System.alloc(layout) };
        if !pointer.is_null() {
            add(layout.size() as i64);
        }
        pointer
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        // SAFETY: forwarded with the caller's layout.
        let pointer = unsafe { System.alloc_zeroed(layout) };
        if !pointer.is_null() {
            add(layout.size() as i64);
        }
        pointer
    }

    unsafe fn dealloc(&self, pointer: *mut u8, layout: Layout) {
        // SAFETY: the caller passes a block this allocator (that is, System) returned.
        unsafe { System.dealloc(pointer, layout) };
        add(-(layout.size() as i64));
    }

    unsafe fn realloc(&self, pointer: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        // SAFETY: the caller passes a block System returned, with its layout.
        let moved = unsafe { System.realloc(pointer, layout, new_size) };
        if !moved.is_null() {
            add(new_size as i64 - layout.size() as i64);
        }
        moved
    }
}

/// The memory one query may hold: a limit, and the thread's reading when it started.
#[derive(Clone, Copy, Debug)]
pub struct MemoryBudget {
    /// most bytes the work may hold at once (0: unlimited)
    pub limit_bytes: u64,
    baseline_bytes: i64,
}

impl MemoryBudget {
    /// A budget of `limit_bytes` (0: unlimited) for work that starts now on this thread.
    pub fn starting_now(limit_bytes: u64) -> MemoryBudget {
        MemoryBudget {
            limit_bytes,
            baseline_bytes: thread_net_bytes(),
        }
    }

    /// Bytes this thread holds beyond its reading at the start.
    pub fn held_bytes(&self) -> u64 {
        u64::try_from(thread_net_bytes() - self.baseline_bytes).unwrap_or(0)
    }

    /// Whether holding `more_bytes` on top of what is held now stays within the limit.
    pub fn allows(&self, more_bytes: u64) -> bool {
        self.limit_bytes == 0 || self.held_bytes().saturating_add(more_bytes) <= self.limit_bytes
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_unlimited_budget_allows_anything() {
        let budget = MemoryBudget::starting_now(0);
        assert!(budget.allows(u64::MAX));
    }

    #[test]
    fn a_limit_counts_what_is_asked_for() {
        let budget = MemoryBudget::starting_now(1000);
        assert!(budget.allows(1000));
        assert!(!budget.allows(1001));
    }
}
