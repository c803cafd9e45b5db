//! Large writes: the `/write` bodies an event loop does not plan itself, and the threads
//! (`sluice-write-N`) that plan them.
//!
//! An event loop plans at most `[http] write-piece-size` bytes of a body (about 15 ms at the
//! 4 MiB default), so no request, however large its body or its longest line, holds up the
//! loop's other connections for longer. A larger body becomes a [`LargeWrite`] and waits in a
//! bounded queue (`large-write-queue-depth`; 503 past it) for one of `large-write-threads`
//! threads, which plans it, makes it durable and hands the answer back to the loop:
//!
//! - a body sent as is is planned whole, exactly as a loop plans it (it is already in memory,
//!   at most `max-body-size`), so its answer is InfluxDB's in every case;
//! - a gzip body is first inflated whole without keeping any of it ([`gzip::verify`]), so a
//!   corrupt body, a bad checksum or a body past `max-inflated-body-size` is answered as
//!   before, with nothing written. Then it is inflated again a piece at a time: the whole
//!   lines of each `write-piece-size` bytes are planned ([`PiecewisePlan`]) and queued to the
//!   partitions while the next piece is inflated and planned; the partial last line is
//!   carried in front of the next piece.
//!
//! ```text
//!  compressed body ──inflate ≤ piece──▶ [carry | new bytes] ──whole lines──▶ plan piece k+1
//!                                              ▲  partial last line              │ records
//!                                              └────────────────────────────────┘
//!  piece k queued to the partitions ──durable──▶ piece k+1 queued ──▶ … ──▶ answer
//! ```
//!
//! Invariants:
//! - Memory of one gzip write is its compressed body, one piece buffer (a piece plus the
//!   partial line carried; a line longer than a piece grows it, up to `max-body-size`), and
//!   the records of at most two pieces (one being made durable, one being planned), never
//!   the inflated body. A line longer than `max-body-size` once inflated (no body sent as is
//!   could carry it) ends the write with 413.
//! - The answer is given once every piece queued is durable: 204 means fsynced, as on a loop.
//!   A thread waits for each piece but the last; the partition that makes the last one
//!   durable delivers the answer ([`AnswerOnceDurable`]), and the thread takes the next write
//!   meanwhile, as an event loop goes on to other connections while a write is fsynced.
//! - The texts, counts and bad line numbers of a gzip write's answer are those of its whole
//!   body ([`PiecewisePlan`]). What differs from InfluxDB, which parses the whole body before
//!   writing any of it, is written in the README ("Large writes"): a piece that fails (WAL
//!   failure 500, queue timeout 503, a field given two types inside one piece, the 413
//!   above) ends the write, and the pieces before it stay written.

use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

use crossbeam::channel::{self, Receiver, Sender, TrySendError};

use crate::http::gzip::{self, GunzipStream, GzipFailure};
use crate::http::response::Response;
use crate::http::write::{gzip_refusal, queue_timeout_answer, render, wal_failure_answer};
use crate::ingest::plan::{
    plan_points, write_target, PiecewisePlan, PlannedWrite, WriteContext, WriteOutcome,
    WriteScratch,
};
use crate::ingest::{AckSink, Ingest, QueuedWrite};
use crate::line_protocol::scan::complete_lines_end;
use crate::line_protocol::Precision;
use crate::meta::{Database, MetaData, RetentionPolicy};

/// Bytes a piece buffer may hold past `max-body-size` while it looks for the end of a line:
/// the line's newline, and the byte that must follow it for the line to count as whole
/// (`complete_lines_end`).
const LINE_END_SLACK_BYTES: usize = 2;

/// Where a large write goes and how its body is read: decided by the event loop (which
/// checked the database, retention policy and consistency level as for any write).
#[derive(Debug, Clone)]
pub struct LargeWriteTarget {
    /// the database's name (it existed in the request's meta snapshot)
    pub database: String,
    /// the retention policy's name (it existed too)
    pub retention_policy: String,
    /// timestamps' unit
    pub precision: Precision,
    /// the request's arrival: the time of points without one, and the retention cut-off
    pub now_ns: i64,
    /// the body is gzip (`Content-Encoding: gzip`)
    pub gzip: bool,
    /// the `consistency` parameter; it matters only when the write is replicated
    pub consistency: crate::cluster::consistency::ConsistencyLevel,
}

/// A write handed to a large-write thread.
pub struct LargeWrite {
    /// the meta snapshot the request was checked against; every piece is planned with it
    pub meta: Arc<MetaData>,
    /// where the points go
    pub target: LargeWriteTarget,
    /// the body as sent (gzip or not)
    pub body: Vec<u8>,
}

/// The answer of a large write, for its event loop to send.
pub struct LargeWriteAnswer {
    /// InfluxDB's answer
    pub response: Response,
    /// the write gave up waiting for room in the partition queues (counted as a timed-out
    /// write)
    pub queue_timed_out: bool,
}

/// Hands a large write's answer to its connection's event loop.
pub type DeliverAnswer = Box<dyn FnOnce(LargeWriteAnswer) + Send>;

/// The bounds a large write is planned under.
#[derive(Debug, Clone, Copy)]
pub struct LargeWriteSettings {
    /// `[http] write-piece-size`
    pub piece_bytes: usize,
    /// `[http] max-inflated-body-size`
    pub max_inflated_body_bytes: usize,
    /// longest line of an inflated body (`[http] max-body-size`)
    pub max_line_bytes: usize,
    /// `[http] enqueued-write-timeout`: longest wait for room in a partition queue
    pub enqueue_timeout: Duration,
}

struct Job {
    write: LargeWrite,
    deliver: DeliverAnswer,
}

/// Replicated writes (`cluster::replicate`), when this node is in a (test-only, static)
/// cluster: every write is then a large write, written to every owner by this thread.
pub type Replication = Option<Arc<crate::cluster::replicate::ReplicatedWrites>>;

/// The large-write threads and their queue.
pub struct LargeWrites {
    /// Taken by `shutdown`: the threads finish what is queued, then stop.
    jobs: Mutex<Option<Sender<Job>>>,
    threads: Mutex<Vec<JoinHandle<()>>>,
}

impl LargeWrites {
    /// Starts `threads` threads (at least one) taking jobs from a queue of `queue_depth`.
    pub fn start(
        threads: usize,
        queue_depth: usize,
        ingest: Arc<Ingest>,
        settings: LargeWriteSettings,
        replication: Replication,
    ) -> std::io::Result<LargeWrites> {
        let (sender, receiver) = channel::bounded::<Job>(queue_depth);
        let mut handles = Vec::new();
        for index in 0..threads.max(1) {
            let jobs = receiver.clone();
            let ingest = Arc::clone(&ingest);
            let replication = replication.clone();
            handles.push(
                std::thread::Builder::new()
                    .name(format!("sluice-write-{index}"))
                    .spawn(move || serve(&jobs, &ingest, settings, &replication))?,
            );
        }
        Ok(LargeWrites {
            jobs: Mutex::new(Some(sender)),
            threads: Mutex::new(handles),
        })
    }

    /// Queues `write`; its answer will go to `deliver`. When the queue is full (or the
    /// threads stopped) nothing runs and the 503 to answer comes back.
    pub fn submit(&self, write: LargeWrite, deliver: DeliverAnswer) -> Result<(), Response> {
        let job = Job { write, deliver };
        let sent = match self.jobs.lock() {
            Ok(guard) => guard.as_ref().map(|jobs| jobs.try_send(job)),
            Err(poisoned) => poisoned
                .into_inner()
                .as_ref()
                .map(|jobs| jobs.try_send(job)),
        };
        match sent {
            Some(Ok(())) => Ok(()),
            Some(Err(TrySendError::Full(_))) => Err(Response::json_error(
                503,
                "too many large writes waiting: large-write queue is full",
            )),
            Some(Err(TrySendError::Disconnected(_))) | None => {
                Err(Response::json_error(503, "server is shutting down"))
            }
        }
    }

    /// Finishes the queued writes and stops the threads.
    pub fn shutdown(&self) {
        match self.jobs.lock() {
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

/// A large-write thread: one write at a time, until the queue is closed and empty.
fn serve(
    jobs: &Receiver<Job>,
    ingest: &Ingest,
    settings: LargeWriteSettings,
    replication: &Replication,
) {
    // Field types this thread has seen, as an event loop keeps them.
    let mut scratch = WriteScratch::default();
    while let Ok(job) = jobs.recv() {
        match replication {
            Some(replication) if replication.view.clustered() => {
                let answer = run_replicated(&job.write, replication, &settings);
                (job.deliver)(answer);
            }
            _ => run(job, ingest, &settings, &mut scratch),
        }
    }
}

/// A write to every owner (`cluster::replicate`), answered by its consistency level: this
/// node's parse errors and rejections first (as any write), then `timeout` / `partial
/// write` / the owners' error as a 500 (InfluxDB Enterprise's status for them).
fn run_replicated(
    write: &LargeWrite,
    replication: &crate::cluster::replicate::ReplicatedWrites,
    settings: &LargeWriteSettings,
) -> LargeWriteAnswer {
    let answer = |response| LargeWriteAnswer {
        response,
        queue_timed_out: false,
    };
    let target = &write.target;
    let mut inflated = Vec::new();
    let lines: &[u8] = if target.gzip {
        let mut stream = GunzipStream::new(&write.body, settings.max_inflated_body_bytes);
        match stream.read_into(
            &mut inflated,
            settings.max_inflated_body_bytes.saturating_add(1),
        ) {
            Ok(true) => &inflated,
            Ok(false) => return answer(gzip_refusal(GzipFailure::TooLarge)),
            Err(failure) => return answer(gzip_refusal(failure)),
        }
    } else {
        &write.body
    };
    let body = crate::cluster::replicate::BodyWrite {
        database: &target.database,
        retention_policy: &target.retention_policy,
        precision: target.precision,
        now_ns: target.now_ns,
        lines,
        level: target.consistency,
    };
    let outcome = replication.write(&body);
    let local = match outcome.local {
        Some(Ok(local)) => Some(local),
        _ => None,
    };
    if let Some(local @ (WriteOutcome::Refused(_) | WriteOutcome::PointsRejected(_))) = &local {
        return answer(render(local));
    }
    match outcome.consistency {
        Err(error) => answer(Response::json_error(500, &error.to_string())),
        Ok(()) => answer(render(&local.unwrap_or(WriteOutcome::Accepted))),
    }
}

/// Why a large write stopped before its end.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Stopped {
    /// a piece's records could not be made durable (500)
    NotDurable,
    /// a partition queue stayed full for `enqueued-write-timeout` (503)
    QueueTimedOut,
    /// a line longer than `max-body-size` once inflated (413)
    LineTooLong,
    /// the body is not valid gzip or inflates past `max-inflated-body-size` (400 or 413;
    /// found by the verifying pass, before anything is written)
    Gzip(GzipFailure),
}

/// Plans one large write and queues its records; its answer is delivered once the last
/// records are durable (by the partition that finishes them, so this thread goes on to the
/// next write meanwhile), or at once when the write stops early.
fn run(job: Job, ingest: &Ingest, settings: &LargeWriteSettings, scratch: &mut WriteScratch) {
    let Job { write, deliver } = job;
    match plan_all_but_last(&write, ingest, settings, scratch) {
        Ok(last) => {
            let answer = LargeWriteAnswer {
                response: render(&last.outcome),
                queue_timed_out: false,
            };
            let sink = Arc::new(AnswerOnceDurable {
                pending: Mutex::new(Some((deliver, answer))),
            });
            let queued = ingest.queue_blocking(
                last.records,
                settings.enqueue_timeout,
                Arc::clone(&sink) as Arc<dyn AckSink>,
            );
            if queued.is_err() {
                // The sink will never be told: answer here.
                if let Some((deliver, _)) = sink.take() {
                    deliver(stopped_answer(Stopped::QueueTimedOut, settings));
                }
            }
        }
        Err(stopped) => deliver(stopped_answer(stopped, settings)),
    }
}

/// Plans `write` and makes every piece but the last durable; returns the outcome of all
/// with the last piece's records (all of them for a body sent as is).
fn plan_all_but_last(
    write: &LargeWrite,
    ingest: &Ingest,
    settings: &LargeWriteSettings,
    scratch: &mut WriteScratch,
) -> Result<PlannedWrite, Stopped> {
    let target = &write.target;
    let (database, policy) =
        match write_target(&write.meta, &target.database, &target.retention_policy) {
            Ok(found) => found,
            Err(refusal) => {
                return Ok(PlannedWrite {
                    records: Vec::new(),
                    outcome: WriteOutcome::Refused(refusal),
                })
            }
        };
    let context = WriteContext {
        meta: &write.meta,
        ingest,
        registry: &ingest.field_types,
        now_ns: target.now_ns,
    };
    let place = Place {
        database,
        policy,
        precision: target.precision,
    };
    if !target.gzip {
        let planned = plan_points(
            &write.body,
            place.precision,
            database,
            policy,
            &context,
            scratch,
        );
        return Ok(planned);
    }
    gzip::verify(&write.body, settings.max_inflated_body_bytes).map_err(Stopped::Gzip)?;
    let mut flight = PiecesInFlight {
        ingest,
        enqueue_timeout: settings.enqueue_timeout,
        queued: None,
    };
    write_in_pieces(
        &write.body,
        &place,
        &context,
        settings,
        scratch,
        &mut flight,
    )
}

/// The answer of a write that stopped before its end.
fn stopped_answer(stopped: Stopped, settings: &LargeWriteSettings) -> LargeWriteAnswer {
    let response = match stopped {
        Stopped::QueueTimedOut => queue_timeout_answer(settings.enqueue_timeout, true),
        Stopped::NotDurable => wal_failure_answer(),
        Stopped::LineTooLong => Response::json_error(
            413,
            "Request Entity Too Large: a line is longer than max-body-size after gzip decoding",
        ),
        Stopped::Gzip(failure) => gzip_refusal(failure),
    };
    LargeWriteAnswer {
        response,
        queue_timed_out: stopped == Stopped::QueueTimedOut,
    }
}

/// Delivers a large write's answer when its last records are durable (500 when they are
/// not), from the partition thread that finishes them.
struct AnswerOnceDurable {
    /// taken by whoever answers first
    pending: Mutex<Option<(DeliverAnswer, LargeWriteAnswer)>>,
}

impl AnswerOnceDurable {
    fn take(&self) -> Option<(DeliverAnswer, LargeWriteAnswer)> {
        match self.pending.lock() {
            Ok(mut guard) => guard.take(),
            Err(poisoned) => poisoned.into_inner().take(),
        }
    }
}

impl AckSink for AnswerOnceDurable {
    fn write_complete(&self, _connection: usize, _sequence: u64, durable: bool) {
        if let Some((deliver, answer)) = self.take() {
            if durable {
                deliver(answer);
            } else {
                deliver(LargeWriteAnswer {
                    response: wal_failure_answer(),
                    queue_timed_out: false,
                });
            }
        }
    }
}

/// Where a write's points go.
struct Place<'m> {
    database: &'m Database,
    policy: &'m RetentionPolicy,
    precision: Precision,
}

/// The records of the last piece queued, not yet known durable.
struct PiecesInFlight<'i> {
    ingest: &'i Ingest,
    enqueue_timeout: Duration,
    queued: Option<QueuedWrite>,
}

impl PiecesInFlight<'_> {
    /// Waits until the piece queued before is durable, then queues `records`: the next piece
    /// is planned while these are made durable, and at most two pieces' records are held.
    fn hand_over(&mut self, records: Vec<(usize, Vec<u8>, u32)>) -> Result<(), Stopped> {
        self.wait()?;
        if !records.is_empty() {
            let queued = self
                .ingest
                .queue_blocking_waitable(records, self.enqueue_timeout)
                .map_err(|_| Stopped::QueueTimedOut)?;
            self.queued = Some(queued);
        }
        Ok(())
    }

    /// Waits until the piece queued last is durable.
    fn wait(&mut self) -> Result<(), Stopped> {
        match self.queued.take().map(QueuedWrite::wait_durable) {
            Some(false) => Err(Stopped::NotDurable),
            Some(true) | None => Ok(()),
        }
    }
}

/// Inflates `body` (verified) a piece at a time and plans the whole lines of each piece,
/// queueing each but the last; returns, once every piece before it is durable, the outcome
/// of all with the last piece's records.
fn write_in_pieces(
    body: &[u8],
    place: &Place<'_>,
    context: &WriteContext<'_>,
    settings: &LargeWriteSettings,
    scratch: &mut WriteScratch,
    flight: &mut PiecesInFlight<'_>,
) -> Result<PlannedWrite, Stopped> {
    let piece_bytes = settings.piece_bytes.max(1);
    let mut stream = GunzipStream::new(body, settings.max_inflated_body_bytes);
    // The inflated bytes not planned yet: the partial line carried, then new bytes.
    let mut buffer: Vec<u8> = Vec::with_capacity(piece_bytes);
    let mut plan = PiecewisePlan::new();
    let mut wanted_bytes = piece_bytes;
    loop {
        let ended = stream
            .read_into(&mut buffer, wanted_bytes)
            .map_err(Stopped::Gzip)?;
        let whole = complete_lines_end(&buffer, !ended);
        if whole == 0 && !ended {
            // One line fills the buffer: read as much again (so a long line is scanned a
            // bounded number of times), up to the longest line allowed.
            let room =
                (settings.max_line_bytes + LINE_END_SLACK_BYTES).saturating_sub(buffer.len());
            if room == 0 {
                return Err(Stopped::LineTooLong);
            }
            wanted_bytes = buffer.len().max(piece_bytes).min(room);
            continue;
        }
        let records = plan.plan_piece(
            buffer.get(..whole).unwrap_or_default(),
            place.precision,
            place.database,
            place.policy,
            context,
            scratch,
        );
        if plan.is_refused() || ended {
            flight.wait()?;
            return Ok(PlannedWrite {
                records,
                outcome: plan.outcome(),
            });
        }
        flight.hand_over(records)?;
        buffer.drain(..whole);
        if buffer.capacity() > 4 * piece_bytes && buffer.len() < piece_bytes {
            // A long line grew the buffer; the pieces after it need no more than this.
            buffer.shrink_to(2 * piece_bytes);
        }
        wanted_bytes = piece_bytes;
    }
}
