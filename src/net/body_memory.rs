//! The process-wide budget of request-body bytes held in memory (`[http] max-body-memory`).
//!
//! Owns one counter: the bytes reserved by the bodies being read or being written across
//! every connection of every loop. A connection reserves a body's bound (its declared
//! `Content-Length`, or the path's body limit for a chunked body) before it reads the body
//! past what its read buffer already held; the reservation lives until the request is
//! answered (a large write's body stays in memory until its thread is done with it), and is
//! released by dropping it, so a closed connection cannot leak it.
//!
//! Invariants: the counter is the sum of the live reservations; it passes the limit only by
//! the one reservation admitted when nothing else is held (so one body of `max-body-size`
//! always proceeds, whatever the limit). A connection that cannot reserve stops reading — the
//! kernel's receive window pushes back on its client — and retries every millisecond (the
//! loop's queue-retry tick), until `enqueued-write-timeout` ends it with a 503. Because a
//! body is admitted whole before it is read, admitted bodies always finish: they never wait
//! on each other, so there is no deadlock.

use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::Arc;

/// The budget shared by every connection.
#[derive(Debug)]
pub struct BodyMemory {
    held_bytes: AtomicUsize,
    limit_bytes: usize,
    /// bodies that had to wait for room (for `/debug/vars`)
    pub waits: AtomicU64,
}

/// Bytes reserved for one body; released when dropped.
#[derive(Debug)]
pub struct BodyReservation {
    bytes: usize,
    memory: Arc<BodyMemory>,
}

impl BodyMemory {
    /// A budget of `limit_bytes`.
    pub fn new(limit_bytes: usize) -> Arc<BodyMemory> {
        Arc::new(BodyMemory {
            held_bytes: AtomicUsize::new(0),
            limit_bytes,
            waits: AtomicU64::new(0),
        })
    }

    /// Reserves `bytes` if they fit under the limit, or if nothing is held at all.
    pub fn try_reserve(self: &Arc<Self>, bytes: usize) -> Option<BodyReservation> {
        let mut held = self.held_bytes.load(Ordering::Relaxed);
        loop {
            let fits = held == 0 || held.saturating_add(bytes) <= self.limit_bytes;
            if !fits {
                return None;
            }
            match self.held_bytes.compare_exchange_weak(
                held,
                held + bytes,
                Ordering::AcqRel,
                Ordering::Relaxed,
            ) {
                Ok(_) => {
                    return Some(BodyReservation {
                        bytes,
                        memory: Arc::clone(self),
                    })
                }
                Err(now) => held = now,
            }
        }
    }

    /// Bytes reserved now.
    pub fn held_bytes(&self) -> usize {
        self.held_bytes.load(Ordering::Relaxed)
    }
}

impl Drop for BodyReservation {
    fn drop(&mut self) {
        self.memory
            .held_bytes
            .fetch_sub(self.bytes, Ordering::AcqRel);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reservations_fit_under_the_limit_and_one_always_proceeds() {
        let memory = BodyMemory::new(100);
        let big = memory.try_reserve(1_000).expect("alone, any size proceeds");
        assert!(memory.try_reserve(1).is_none());
        drop(big);
        assert_eq!(memory.held_bytes(), 0);
        let first = memory.try_reserve(60).expect("fits");
        let second = memory.try_reserve(40).expect("fits exactly");
        assert!(memory.try_reserve(1).is_none());
        drop(first);
        let third = memory.try_reserve(50).expect("room again");
        assert_eq!(memory.held_bytes(), 90);
        drop((second, third));
        assert_eq!(memory.held_bytes(), 0);
    }
}
