//! The query threads: who runs a `/query` job, on which CPU, and what bounds the waiting.
//!
//! Owns the threads, the shared job queue (bounded: `queue_depth`; a full queue answers 503
//! and runs nothing), and each event loop's one-job inbox to its home thread.
//!
//! Invariants:
//! - Every submitted job is answered exactly once: run by one thread, or refused by
//!   `submit` with its reply handed back for the 503.
//! - A home thread's `idle` flag is true only while it waits with an empty inbox; only its
//!   own loop claims it (clears the flag) and then puts one job in the inbox. So the inbox
//!   never holds more than one job, and a claimed job runs before anything else that thread
//!   takes.
//! - Queued jobs are finished before the threads stop (`shutdown`).

use std::sync::atomic::{AtomicBool, AtomicI32, AtomicUsize, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;

use crossbeam::channel::{self, Receiver, Sender, TrySendError};

use super::{answer, Leftovers, QueryContext, QueryJob, QueryReply, QueryRequest};
use crate::answer::{AnswerOutcome, QueryAnswer};

/// The query threads and their queues.
///
/// Every thread takes jobs from one shared queue (`queue_depth` jobs; full → 503). Thread
/// `i` below the number of event loops is also the *home* thread of loop `i`, with a one-job
/// inbox of its own: when it is idle, loop `i` claims it (its `idle` flag), restricts it to
/// the CPU the loop is running on (`sluice_base::cpu`, when `follow_loop_cpu`), and hands the job
/// there, so the query runs on the loop's CPU without a cross-CPU wake-up. A busy home
/// thread makes the loop use the shared queue, so a long query never holds up the next one
/// and every thread still serves everyone.
pub struct QueryPool {
    shared_jobs: Sender<QueryJob>,
    homes: Vec<HomeSlot>,
    follow_loop_cpu: bool,
    /// Dropped by `shutdown`: a disconnected channel tells idle threads to stop.
    stop: std::sync::Mutex<Option<Sender<()>>>,
    threads: std::sync::Mutex<Vec<JoinHandle<()>>>,
    context: Arc<QueryContext>,
}

/// The loop's side of its home thread.
struct HomeSlot {
    /// Set by the home thread just before it waits; cleared by whoever claims it.
    idle: Arc<AtomicBool>,
    jobs: Sender<QueryJob>,
    /// The home thread's kernel id, set when it starts (0 before).
    thread_id: Arc<AtomicI32>,
    /// The CPU the home thread was last restricted to (`NOT_PINNED` before).
    pinned_cpu: AtomicUsize,
}

const NOT_PINNED: usize = usize::MAX;

impl HomeSlot {
    /// Restricts the (claimed, so idle) home thread to the CPU the calling loop runs on, if
    /// it is not there already: one `sched_getcpu` (vDSO) per query, a system call only
    /// when the loop has moved.
    fn follow_current_cpu(&self) {
        let thread_id = self.thread_id.load(Ordering::Acquire);
        let Some(cpu) = sluice_base::cpu::current_cpu() else {
            return;
        };
        if thread_id == 0 || self.pinned_cpu.load(Ordering::Relaxed) == cpu {
            return;
        }
        if sluice_base::cpu::pin_thread(thread_id, cpu).is_ok() {
            self.pinned_cpu.store(cpu, Ordering::Relaxed);
        }
    }
}

/// The home thread's side: its flag and its one-job inbox.
struct HomeInbox {
    idle: Arc<AtomicBool>,
    jobs: Receiver<QueryJob>,
    thread_id: Arc<AtomicI32>,
}

/// How long a home thread that was claimed waits for the claimed job; the loop sends it
/// right after claiming, so this only bounds a wait that cannot happen.
const CLAIMED_JOB_WAIT: std::time::Duration = std::time::Duration::from_secs(1);

impl QueryPool {
    /// Starts `threads` query threads with a shared queue of `queue_depth` jobs. The first
    /// `homes` threads (at most `threads`) are the home threads of event loops `0..homes`;
    /// with `follow_loop_cpu` they run their loop's queries on the loop's CPU.
    pub fn start(
        threads: usize,
        queue_depth: usize,
        homes: usize,
        follow_loop_cpu: bool,
        context: Arc<QueryContext>,
    ) -> std::io::Result<QueryPool> {
        let threads = threads.max(1);
        let (shared_jobs, shared_receiver) = channel::bounded::<QueryJob>(queue_depth);
        let (stop, stop_receiver) = channel::bounded::<()>(0);
        let mut home_slots = Vec::new();
        let mut handles = Vec::new();
        for index in 0..threads {
            let inbox = (index < homes).then(|| {
                let idle = Arc::new(AtomicBool::new(false));
                let thread_id = Arc::new(AtomicI32::new(0));
                let (sender, receiver) = channel::bounded::<QueryJob>(1);
                home_slots.push(HomeSlot {
                    idle: Arc::clone(&idle),
                    jobs: sender,
                    thread_id: Arc::clone(&thread_id),
                    pinned_cpu: AtomicUsize::new(NOT_PINNED),
                });
                HomeInbox {
                    idle,
                    jobs: receiver,
                    thread_id,
                }
            });
            let worker = QueryWorker {
                context: Arc::clone(&context),
                shared_jobs: shared_receiver.clone(),
                stop: stop_receiver.clone(),
            };
            handles.push(
                std::thread::Builder::new()
                    .name(format!("sluice-query-{index}"))
                    .spawn(move || match inbox {
                        Some(inbox) => {
                            inbox
                                .thread_id
                                .store(sluice_base::cpu::current_thread_id(), Ordering::Release);
                            worker.run_home(&inbox);
                        }
                        None => worker.run_shared(),
                    })?,
            );
        }
        Ok(QueryPool {
            shared_jobs,
            homes: home_slots,
            follow_loop_cpu,
            stop: std::sync::Mutex::new(Some(stop)),
            threads: std::sync::Mutex::new(handles),
            context,
        })
    }

    /// Queues a query from event loop `event_loop` whose answer goes to `reply`: to the
    /// loop's home thread if it is idle, else to the shared queue. When the queue is full (or
    /// the pool stopped) nothing runs: `Err` gives back `reply` with the 503 to deliver.
    pub fn submit(
        &self,
        event_loop: usize,
        request: QueryRequest,
        reply: Box<dyn QueryReply>,
    ) -> Result<(), (QueryAnswer, Box<dyn QueryReply>)> {
        let mut job = QueryJob { request, reply };
        if let Some(home) = self.homes.get(event_loop) {
            let claimed = home
                .idle
                .compare_exchange(true, false, Ordering::AcqRel, Ordering::Acquire)
                .is_ok();
            if claimed {
                if self.follow_loop_cpu {
                    home.follow_current_cpu();
                }
                match home.jobs.try_send(job) {
                    Ok(()) => return Ok(()),
                    // The inbox is empty when its thread is idle; only a stopped thread
                    // gives the job back.
                    Err(refused) => job = refused.into_inner(),
                }
            }
        }
        match self.shared_jobs.try_send(job) {
            Ok(()) => Ok(()),
            Err(TrySendError::Full(job)) => Err((
                QueryAnswer::refused(
                    AnswerOutcome::Unavailable,
                    "too many queries waiting: query queue is full",
                ),
                job.reply,
            )),
            Err(TrySendError::Disconnected(job)) => Err((
                QueryAnswer::refused(AnswerOutcome::Unavailable, "server is shutting down"),
                job.reply,
            )),
        }
    }

    /// What the query threads execute against (the `sluice-cq` thread and `/debug/vars`
    /// share it).
    pub fn context(&self) -> &Arc<QueryContext> {
        &self.context
    }

    /// Finishes queued queries and stops the threads.
    pub fn shutdown(&self) {
        match self.stop.lock() {
            Ok(mut guard) => drop(guard.take()),
            Err(poisoned) => drop(poisoned.into_inner().take()),
        }
        let threads = match self.threads.lock() {
            Ok(mut guard) => std::mem::take(&mut *guard),
            Err(poisoned) => std::mem::take(&mut *poisoned.into_inner()),
        };
        for thread in threads {
            let _ = thread.join();
        }
    }
}

/// What one query thread reads from.
struct QueryWorker {
    context: Arc<QueryContext>,
    shared_jobs: Receiver<QueryJob>,
    /// Never carries a message: disconnected when the pool stops.
    stop: Receiver<()>,
}

impl QueryWorker {
    /// A thread with no home: shared jobs until the pool stops and the queue is empty.
    fn run_shared(&self) {
        loop {
            // Biased: queued jobs are finished before the stop is seen.
            let job = channel::select_biased! {
                recv(self.shared_jobs) -> job => job.ok(),
                recv(self.stop) -> _ => None,
            };
            match job {
                Some(job) => self.run(job),
                None => return,
            }
        }
    }

    /// A home thread: its inbox first, then shared jobs, until the pool stops.
    fn run_home(&self, inbox: &HomeInbox) {
        loop {
            inbox.idle.store(true, Ordering::Release);
            let (job, from_inbox) = channel::select_biased! {
                recv(inbox.jobs) -> job => (job.ok(), true),
                recv(self.shared_jobs) -> job => (job.ok(), false),
                recv(self.stop) -> _ => (None, false),
            };
            if !from_inbox && !inbox.idle.swap(false, Ordering::AcqRel) {
                // The loop claimed this thread as it took another job (or stopped): the
                // claimed job is in, or about to be in, the inbox. It goes first, so a
                // light query never waits behind a shared one it did not queue behind.
                if let Ok(claimed) = inbox.jobs.recv_timeout(CLAIMED_JOB_WAIT) {
                    self.run(claimed);
                }
            }
            match job {
                Some(job) => self.run(job),
                None => return,
            }
        }
    }

    fn run(&self, job: QueryJob) {
        let mut leftovers = Leftovers::default();
        answer(&job.request, &self.context, job.reply, &mut leftovers);
        // Freed after the answer left, not before.
        drop(leftovers);
    }
}

#[cfg(test)]
mod tests {
    use std::path::PathBuf;
    use std::sync::atomic::AtomicUsize;
    use std::time::{Duration, Instant};

    use super::*;
    use sluice_storage::engine::{Store, StoreOptions};
    use sluice_storage::meta::MetaStore;

    const PATIENCE: Duration = Duration::from_secs(20);

    fn context(name: &str) -> (Arc<QueryContext>, PathBuf) {
        let directory =
            std::env::temp_dir().join(format!("sluice-pool-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&directory);
        let meta = Arc::new(MetaStore::open(&directory.join("meta")).expect("meta"));
        let store = Store::open(
            StoreOptions {
                data_dir: directory.join("data"),
                partitions: 1,
                cache_snapshot_bytes: usize::MAX,
                cache_max_bytes: usize::MAX,
                read_only: false,
            },
            Arc::clone(&meta),
        )
        .expect("store");
        let field_types = Arc::clone(store.field_types());
        let coordinator = crate::CoordinatorConfig {
            max_concurrent_queries: 0,
            query_timeout: Duration::ZERO,
            log_queries_after: Duration::ZERO,
            max_select_point: 0,
            max_select_series: 0,
            max_select_buckets: 0,
            query_memory_limit: 0,
            query_merge_parallelism: 0,
        };
        let context = QueryContext::new(meta, field_types, store, coordinator);
        (Arc::new(context), directory)
    }

    fn show_databases() -> QueryRequest {
        QueryRequest {
            is_get: true,
            ..QueryRequest::new("SHOW DATABASES".to_owned(), "")
        }
    }

    /// Sends (status, name of the thread that delivered) and, if given, first waits for a
    /// go-ahead, holding its thread busy.
    struct Probe {
        answers: Sender<(u16, String)>,
        hold_until: Option<Receiver<()>>,
    }

    impl QueryReply for Probe {
        fn deliver(self: Box<Self>, answer: QueryAnswer) {
            if let Some(go) = &self.hold_until {
                let _ = go.recv_timeout(PATIENCE);
            }
            let thread = std::thread::current().name().unwrap_or("").to_owned();
            // The CPU the answer was delivered on, for the follow-the-loop check.
            let thread = match sluice_base::cpu::current_cpu() {
                Some(cpu) if thread == "sluice-query-0" => format!("{thread}@{cpu}"),
                _ => thread,
            };
            // The status InfluxDB would answer: the tests speak in those.
            let status = match answer.outcome {
                AnswerOutcome::Ran => 200,
                AnswerOutcome::Unavailable => 503,
                other => panic!("unexpected answer {other:?}"),
            };
            let _ = self.answers.send((status, thread));
        }
    }

    fn wait_until(what: &str, condition: impl Fn() -> bool) {
        let deadline = Instant::now() + PATIENCE;
        while !condition() {
            assert!(Instant::now() < deadline, "timed out waiting until {what}");
            std::thread::yield_now();
        }
    }

    fn submit(pool: &QueryPool, event_loop: usize, probe: Probe) {
        if let Err((answer, reply)) = pool.submit(event_loop, show_databases(), Box::new(probe)) {
            reply.deliver(answer);
        }
    }

    #[test]
    fn an_idle_home_thread_runs_its_loops_query_and_a_busy_one_leaves_it_to_the_others() {
        let (context, directory) = context("home");
        let pool = QueryPool::start(2, 8, 1, true, context).expect("pool");
        let (answers, answered) = channel::unbounded();
        wait_until("home thread 0 is idle", || {
            pool.homes[0].idle.load(Ordering::Acquire)
        });
        submit(
            &pool,
            0,
            Probe {
                answers: answers.clone(),
                hold_until: None,
            },
        );
        let first = answered.recv_timeout(PATIENCE).expect("answer");
        // It ran on the CPU this thread (the "loop") submitted from.
        let followed = pool.homes[0].pinned_cpu.load(Ordering::Relaxed);
        assert_ne!(followed, NOT_PINNED);
        assert_eq!(first, (200, format!("sluice-query-0@{followed}")));

        // Hold the home thread busy with a claimed job; the next one goes to thread 1.
        wait_until("home thread 0 is idle again", || {
            pool.homes[0].idle.load(Ordering::Acquire)
        });
        let (go, hold) = channel::bounded(1);
        let held = Probe {
            answers: answers.clone(),
            hold_until: Some(hold),
        };
        submit(&pool, 0, held);
        submit(
            &pool,
            0,
            Probe {
                answers: answers.clone(),
                hold_until: None,
            },
        );
        let second = answered.recv_timeout(PATIENCE).expect("answer");
        assert_eq!(second, (200, "sluice-query-1".to_owned()));
        go.send(()).expect("release");
        let third = answered.recv_timeout(PATIENCE).expect("answer");
        assert!(third.1.starts_with("sluice-query-0@"), "{third:?}");

        // A loop with no home thread uses the shared queue.
        submit(
            &pool,
            7,
            Probe {
                answers,
                hold_until: None,
            },
        );
        assert_eq!(answered.recv_timeout(PATIENCE).expect("answer").0, 200);
        pool.shutdown();
        let _ = std::fs::remove_dir_all(directory);
    }

    #[test]
    fn every_job_is_answered_once_under_races_and_shutdown_finishes_the_queue() {
        let (context, directory) = context("races");
        let pool = Arc::new(QueryPool::start(3, 4, 2, true, context).expect("pool"));
        let delivered = Arc::new(AtomicUsize::new(0));
        let (answers, answered) = channel::unbounded::<(u16, String)>();
        let counter = {
            let delivered = Arc::clone(&delivered);
            std::thread::spawn(move || {
                let mut statuses = std::collections::BTreeMap::new();
                while let Ok((status, _)) = answered.recv() {
                    delivered.fetch_add(1, Ordering::AcqRel);
                    *statuses.entry(status).or_insert(0) += 1;
                }
                statuses
            })
        };
        const PER_LOOP: usize = 2_000;
        let loops: Vec<_> = (0..2)
            .map(|event_loop| {
                let pool = Arc::clone(&pool);
                let answers = answers.clone();
                std::thread::spawn(move || {
                    for _ in 0..PER_LOOP {
                        submit(
                            &pool,
                            event_loop,
                            Probe {
                                answers: answers.clone(),
                                hold_until: None,
                            },
                        );
                    }
                })
            })
            .collect();
        for submitter in loops {
            submitter.join().expect("submitter");
        }
        pool.shutdown();
        drop(answers);
        drop(pool);
        let statuses = counter.join().expect("counter");
        assert_eq!(delivered.load(Ordering::Acquire), 2 * PER_LOOP);
        let ok = statuses.get(&200).copied().unwrap_or(0);
        let refused = statuses.get(&503).copied().unwrap_or(0);
        assert_eq!(ok + refused, 2 * PER_LOOP, "{statuses:?}");
        assert!(ok > 0);
        let _ = std::fs::remove_dir_all(directory);
    }

    #[test]
    fn after_shutdown_submissions_are_refused_with_503() {
        let (context, directory) = context("stopped");
        let pool = QueryPool::start(1, 4, 1, false, context).expect("pool");
        pool.shutdown();
        let (answers, answered) = channel::unbounded();
        submit(
            &pool,
            0,
            Probe {
                answers,
                hold_until: None,
            },
        );
        assert_eq!(answered.recv_timeout(PATIENCE).expect("answer").0, 503);
        let _ = std::fs::remove_dir_all(directory);
    }
}
