//! CPU placement: event loop `i` on the `i`-th CPU the process may use, and each loop's
//! home query thread on the CPU its loop submits from.
//!
//! Owns the few system calls involved. Why: a query handed from an event loop to a thread
//! parked on another CPU costs a cross-CPU wake-up (an inter-processor interrupt, and on a
//! virtual machine a halted vCPU to resume: 30–60 µs measured here), as much as a whole
//! `SHOW TAG VALUES`. Handed to a thread allowed only on the loop's own CPU, it runs as soon
//! as the loop goes back to `epoll_wait`; and a loop that stays on one CPU keeps its home
//! thread there, so the restriction is set once. The ingest and storage threads are not
//! placed (alternating runs at 1M series showed no ingest difference with the loops pinned).
//!
//! Invariants: threads are only restricted to CPUs of the process's own affinity mask (a
//! cgroup, `taskset` or container limit is respected), or to a CPU a thread of this process
//! is running on; failures are never fatal, the thread simply stays where it is. Placement
//! is off with `[http] pin-event-loops = false` and `[http] query-on-loop-cpu = false`.

/// The CPUs this process may run on, in ascending order; empty when they cannot be read.
pub fn allowed_cpus() -> Vec<usize> {
    // SAFETY: `cpu_set_t` is plain bits, valid when zeroed; sched_getaffinity(0) reads the
    // calling thread's mask (the process's, when called before any thread was placed) into
    // a buffer of the size we pass.
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

/// The CPU the calling thread is running on, if the kernel says.
pub fn current_cpu() -> Option<usize> {
    // SAFETY: sched_getcpu has no preconditions.
    usize::try_from(unsafe { libc::sched_getcpu() }).ok()
}

/// The kernel's id of the calling thread (for `pin_thread` from another thread).
pub fn current_thread_id() -> i32 {
    // SAFETY: gettid has no preconditions and cannot fail.
    unsafe { libc::gettid() }
}

/// Restricts thread `thread_id` (of this process) to `cpu`. Errors are for the caller to
/// ignore or log, never fatal.
pub fn pin_thread(thread_id: i32, cpu: usize) -> std::io::Result<()> {
    if cpu >= libc::CPU_SETSIZE as usize || thread_id <= 0 {
        return Err(std::io::Error::from_raw_os_error(libc::EINVAL));
    }
    // SAFETY: `cpu_set_t` is plain bits, valid when zeroed; `cpu` is below CPU_SETSIZE, so
    // CPU_SET stays inside the set; sched_setaffinity reads a set of the size we pass and
    // changes only the thread named.
    unsafe {
        let mut set: libc::cpu_set_t = std::mem::zeroed();
        libc::CPU_SET(cpu, &mut set);
        if libc::sched_setaffinity(thread_id, std::mem::size_of::<libc::cpu_set_t>(), &set) != 0 {
            return Err(std::io::Error::last_os_error());
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_thread_pinned_from_another_runs_on_that_cpu_and_bad_requests_are_refused() {
        let cpu = current_cpu().expect("the kernel tells the CPU");
        let (id_sender, id_receiver) = std::sync::mpsc::channel();
        let (go_sender, go_receiver) = std::sync::mpsc::channel::<()>();
        let pinned = std::thread::spawn(move || {
            let _ = id_sender.send(current_thread_id());
            let _ = go_receiver.recv();
            current_cpu()
        });
        let thread_id = id_receiver.recv().expect("thread id");
        pin_thread(thread_id, cpu).expect("pin");
        go_sender.send(()).expect("go");
        assert_eq!(pinned.join().expect("thread"), Some(cpu));
        assert!(pin_thread(thread_id, libc::CPU_SETSIZE as usize).is_err());
        assert!(pin_thread(0, cpu).is_err());
    }
}
