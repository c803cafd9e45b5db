//! Taking a lock under the project's panic policy.
//!
//! A panic is a bug and the server binary aborts on one (`panic = "abort"`), so no thread can
//! die holding a lock and leave it poisoned there. Where unwinding does happen (tests, tools
//! built with the default profile), a poisoned lock means the state behind it may be half
//! updated: going on with it would be a silent fallback on wrong data, so these helpers stop
//! with a `BUG:` panic instead of entering it.
//!
//! Invariant: every lock of shared engine, index, meta and query state is taken through one
//! of these (or the same rule written out where the guard is handled differently).

use std::sync::{Mutex, MutexGuard, RwLock, RwLockReadGuard, RwLockWriteGuard};

/// A read guard of `lock`.
pub fn read<T>(lock: &RwLock<T>) -> RwLockReadGuard<'_, T> {
    match lock.read() {
        Ok(guard) => guard,
        Err(_) => poisoned(),
    }
}

/// A write guard of `lock`.
pub fn write<T>(lock: &RwLock<T>) -> RwLockWriteGuard<'_, T> {
    match lock.write() {
        Ok(guard) => guard,
        Err(_) => poisoned(),
    }
}

/// A guard of `mutex`.
pub fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    match mutex.lock() {
        Ok(guard) => guard,
        Err(_) => poisoned(),
    }
}

/// What a poisoned lock means here.
#[cold]
pub fn poisoned() -> ! {
    panic!("BUG: a lock is poisoned: a thread panicked while holding it, its state may be half updated")
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;

    #[test]
    fn a_poisoned_lock_is_a_bug_not_a_fallback() {
        let shared = Arc::new(RwLock::new(1));
        let holder = Arc::clone(&shared);
        let _ = std::thread::spawn(move || {
            let _guard = holder.write();
            panic!("a thread dies holding the lock");
        })
        .join();
        let taken = std::panic::catch_unwind(|| *read(&shared));
        assert!(taken.is_err(), "entering a poisoned lock must panic");
        assert_eq!(*read(&RwLock::new(2)), 2);
        assert_eq!(*lock(&Mutex::new(3)), 3);
    }
}
