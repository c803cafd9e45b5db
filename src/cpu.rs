//! CPU placement of the event loops and their home query threads.
//!
//! Owns the mapping from thread index to CPU: event loop `i` and query thread `i` (its home
//! query thread, see `query::QueryPool`) share the `i`-th CPU the process may run on,
//! wrapping around when there are more loops than CPUs. Why: a query handed from a loop to a
//! thread parked on another CPU costs a cross-CPU wake-up (an inter-processor interrupt,
//! and on a virtual machine a halted vCPU to resume: 30–60 µs measured here), as much as a
//! whole `SHOW TAG VALUES`. Handed to a thread on the same CPU, it runs as soon as the loop
//! goes back to `epoll_wait`.
//!
//! Invariants: only CPUs in the process's own affinity mask are used (a cgroup, `taskset` or
//! container limit is respected); a failure to read or set affinity is never fatal, the
//! thread simply stays where the scheduler puts it. Placement is off when
//! `[http] pin-threads = false`.

/// The CPUs this process may run on, in ascending order; empty when they cannot be read.
pub fn allowed_cpus() -> Vec<usize> {
    // SAFETY: `cpu_set_t` is plain bits, valid when zeroed; sched_getaffinity(0) reads the
    // calling thread's mask (the process's, as no thread has been placed when this runs)
    // into a buffer of the size we pass.
    unsafe {
        let mut set: libc::cpu_set_t = std::mem::zeroed();
        if libc::sched_getaffinity(0, std::mem::size_of::<libc::cpu_set_t>(), &mut set) != 0 {
            return Vec::new();
        }
        (0..libc::CPU_SETSIZE as usize)
            .filter(|&cpu| libc::CPU_ISSET(cpu, &set))
            .collect()
    }
}

/// The CPU for thread `index` of a placed group: the `index`-th allowed CPU, wrapping.
pub fn cpu_for(allowed: &[usize], index: usize) -> Option<usize> {
    if allowed.is_empty() {
        None
    } else {
        allowed.get(index % allowed.len()).copied()
    }
}

/// Restricts the calling thread to `cpu`. Errors are returned for logging, never fatal.
pub fn pin_current_thread(cpu: usize) -> std::io::Result<()> {
    if cpu >= libc::CPU_SETSIZE as usize {
        return Err(std::io::Error::from_raw_os_error(libc::EINVAL));
    }
    // SAFETY: as above; `cpu` is below CPU_SETSIZE, so CPU_SET stays inside the set, and
    // sched_setaffinity(0) changes only the calling thread.
    unsafe {
        let mut set: libc::cpu_set_t = std::mem::zeroed();
        libc::CPU_SET(cpu, &mut set);
        if libc::sched_setaffinity(0, std::mem::size_of::<libc::cpu_set_t>(), &set) != 0 {
            return Err(std::io::Error::last_os_error());
        }
    }
    Ok(())
}

/// Pins the calling thread (`what`, for the log) to `cpu` if there is one, logging failure.
pub fn place_current_thread(what: &str, cpu: Option<usize>) {
    if let Some(cpu) = cpu {
        if let Err(error) = pin_current_thread(cpu) {
            crate::log_warn!("server", "could not pin thread to its CPU"; thread = what, cpu = cpu, error = error);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn placement_wraps_over_the_allowed_cpus() {
        assert_eq!(cpu_for(&[], 0), None);
        assert_eq!(cpu_for(&[2, 5], 0), Some(2));
        assert_eq!(cpu_for(&[2, 5], 1), Some(5));
        assert_eq!(cpu_for(&[2, 5], 2), Some(2));
    }

    #[test]
    fn a_pinned_thread_runs_on_its_cpu_and_bad_cpus_are_refused() {
        let allowed = allowed_cpus();
        assert!(!allowed.is_empty(), "a test process may run somewhere");
        let last = allowed[allowed.len() - 1];
        let on = std::thread::spawn(move || {
            pin_current_thread(last).map(|()| {
                // SAFETY: sched_getcpu has no preconditions.
                unsafe { libc::sched_getcpu() }
            })
        })
        .join()
        .expect("thread");
        assert_eq!(on.ok(), Some(last as i32));
        assert!(pin_current_thread(libc::CPU_SETSIZE as usize).is_err());
    }
}
