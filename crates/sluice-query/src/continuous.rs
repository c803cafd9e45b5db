//! Continuous queries: the `sluice-cq` thread that runs the CQs stored in the meta store,
//! with InfluxDB 1.6.7's timing rules (`services/continuous_querier`).
//!
//! Owns the schedule (when each CQ last ran, in memory: a restart runs every CQ once at the
//! next tick, as InfluxDB does) and the counters in `/debug/vars` (`cq`: `queryOk`,
//! `queryFail`). It does not own what a CQ's SELECT returns nor how its rows are written: a
//! CQ is a `SELECT … INTO` run by [`super::run_internal`] as the server itself (full
//! privileges, as InfluxDB runs CQs with auth on), on this thread, which blocks until the
//! INTO points are durable. Never on an event loop.
//!
//! Every `run-interval`, for each CQ (interval = its GROUP BY time, offset = that time's
//! offset, every = `RESAMPLE EVERY` or the interval, for = `RESAMPLE FOR`, else the larger
//! of interval and every):
//!
//! ```text
//! due        never ran since start-up, or last_run + every <= now   (next_run = now, or
//!            last_run + every)
//! last_run   = truncate(now - offset, every) + offset
//! start      = truncate(next_run + interval - for - offset - 1ns, interval) + offset
//! end        = truncate(now + interval - min(every, interval) - offset, interval) + offset
//! run        when end > start: the SELECT with `time >= start AND time < end` (replacing
//!            any time condition of its own)
//! ```
//!
//! `truncate` rounds down to a multiple of the duration since Go's zero time (year 1), as
//! Go's `time.Time.Truncate` does. A CQ without a GROUP BY time interval (a raw one) never
//! runs. Bounds: one CQ runs at a time; the schedule holds one entry per stored CQ (entries
//! of dropped CQs are forgotten at the next tick).

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use crossbeam::channel::{self, RecvTimeoutError, Sender};

use super::result::{StatementResult, Value};
use super::QueryContext;
use sluice_influxql::ast::{CreateContinuousQueryStatement, SelectStatement};
use sluice_influxql::expr::{BinaryOp, Expr, Literal};
use sluice_influxql::{self as influxql, Statement};

/// Default `[continuous_queries] run-interval` (InfluxDB's), ms.
pub const RUN_INTERVAL_MS_DEFAULT: u64 = 1_000;

/// The CQ counters of `/debug/vars` (InfluxDB's `cq` statistics).
#[derive(Debug, Default)]
pub struct ContinuousQueryStats {
    /// CQ runs that succeeded
    pub query_ok: AtomicU64,
    /// CQ runs that failed (the error is logged)
    pub query_fail: AtomicU64,
}

/// `[continuous_queries]` as the scheduler uses it.
#[derive(Clone, Copy, Debug)]
pub struct ContinuousQueryOptions {
    /// how often due CQs are looked for
    pub run_interval: Duration,
    /// log each run (start, end, points written)
    pub log_enabled: bool,
}

/// The running `sluice-cq` thread.
pub struct ContinuousQueryService {
    stop: Sender<()>,
    thread: JoinHandle<()>,
}

impl ContinuousQueryService {
    /// Starts the thread.
    pub fn start(
        context: Arc<QueryContext>,
        options: ContinuousQueryOptions,
    ) -> std::io::Result<ContinuousQueryService> {
        let (stop, stopped) = channel::bounded::<()>(1);
        let thread = std::thread::Builder::new()
            .name("sluice-cq".to_string())
            .spawn(move || {
                let mut schedule = Schedule::default();
                let run_interval = options.run_interval.max(Duration::from_millis(1));
                loop {
                    match stopped.recv_timeout(run_interval) {
                        Err(RecvTimeoutError::Timeout) => {}
                        Ok(()) | Err(RecvTimeoutError::Disconnected) => return,
                    }
                    schedule.run_due(&context, options, sluice_model::time::now_ns());
                }
            })?;
        Ok(ContinuousQueryService { stop, thread })
    }

    /// Stops the thread once the CQ it may be running has finished.
    pub fn stop(self) {
        let _ = self.stop.try_send(());
        drop(self.stop);
        let _ = self.thread.join();
    }
}

/// When each CQ last ran: (database, name) → the `last_run` of the module doc, ns.
#[derive(Default)]
struct Schedule {
    last_run_ns: HashMap<(String, String), i64>,
}

impl Schedule {
    /// Runs every CQ that is due at `now_ns`, one after another.
    fn run_due(&mut self, context: &QueryContext, options: ContinuousQueryOptions, now_ns: i64) {
        let meta = context.meta.snapshot();
        self.last_run_ns.retain(|(database, name), _| {
            meta.database(database)
                .is_some_and(|db| db.continuous_queries.iter().any(|cq| cq.name == *name))
        });
        for database in &meta.databases {
            for info in &database.continuous_queries {
                let key = (database.name.clone(), info.name.clone());
                let last_run_ns = self.last_run_ns.get(&key).copied();
                let planned = match parse(&info.query) {
                    Ok(statement) => plan_run(&statement, last_run_ns, now_ns),
                    Err(error) => {
                        sluice_base::log_warn!("continuous_querier", "error executing query"; name = info.name, database = database.name, error = error);
                        context
                            .continuous_query_stats
                            .query_fail
                            .fetch_add(1, Ordering::Relaxed);
                        continue;
                    }
                };
                let Some(planned) = planned else { continue };
                self.last_run_ns.insert(key, planned.last_run_ns);
                let Some((statement, window)) = planned.select else {
                    continue;
                };
                run_one(
                    context,
                    options,
                    &database.name,
                    &info.name,
                    statement,
                    window,
                );
            }
        }
    }
}

/// Runs one due CQ's SELECT over `window` and counts the outcome.
fn run_one(
    context: &QueryContext,
    options: ContinuousQueryOptions,
    database: &str,
    name: &str,
    statement: SelectStatement,
    window: Window,
) {
    let started = Instant::now();
    if options.log_enabled {
        sluice_base::log_info!("continuous_querier", "executing continuous query"; name = name, database = database,
            start = sluice_model::time::rfc3339_micros(window.start_ns), end = sluice_model::time::rfc3339_micros(window.end_ns));
    }
    let result = super::run_internal(&Statement::Select(Box::new(statement)), database, context);
    let stats = &context.continuous_query_stats;
    if let Some(error) = &result.error {
        stats.query_fail.fetch_add(1, Ordering::Relaxed);
        sluice_base::log_warn!("continuous_querier", "error executing query"; name = name, database = database, error = error);
        return;
    }
    stats.query_ok.fetch_add(1, Ordering::Relaxed);
    if options.log_enabled {
        sluice_base::log_info!("continuous_querier", "finished continuous query"; name = name, database = database,
            points_written = points_written(&result), start = sluice_model::time::rfc3339_micros(window.start_ns),
            end = sluice_model::time::rfc3339_micros(window.end_ns), elapsed_ms = started.elapsed().as_millis());
    }
}

/// The `written` count of a SELECT INTO answer.
fn points_written(result: &StatementResult) -> i64 {
    result
        .series
        .iter()
        .flat_map(|series| series.values.iter())
        .filter_map(|row| match row.get(1) {
            Some(Value::Integer(written)) => Some(*written),
            _ => None,
        })
        .sum()
}

fn parse(text: &str) -> Result<CreateContinuousQueryStatement, String> {
    let mut query = influxql::parse_query(text).map_err(|error| error.to_string())?;
    match query.statements.pop() {
        Some(Statement::CreateContinuousQuery(statement)) if query.statements.is_empty() => {
            Ok(statement)
        }
        _ => Err("query isn't a valid continuous query".to_string()),
    }
}

/// The time range one run covers, `[start_ns, end_ns)`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Window {
    start_ns: i64,
    end_ns: i64,
}

/// What a due CQ does now.
struct PlannedRun {
    /// the CQ's new `last_run`
    last_run_ns: i64,
    /// the SELECT to run and its window; `None` when the window is empty
    select: Option<(SelectStatement, Window)>,
}

/// Whether the CQ is due at `now_ns` given when it last ran, and what it then runs (see
/// the module doc); `None` when not due (or never runnable: no GROUP BY time interval).
fn plan_run(
    statement: &CreateContinuousQueryStatement,
    last_run_ns: Option<i64>,
    now_ns: i64,
) -> Option<PlannedRun> {
    let interval_ns = statement.source.group_by_interval_ns().ok()?;
    if interval_ns <= 0 || statement.source.is_raw_query() {
        return None;
    }
    let offset_ns = group_by_offset_ns(&statement.source);
    let (last_run_ns, window) = timing(
        Timing {
            interval_ns,
            offset_ns,
            every_ns: statement.resample_every_ns,
            for_ns: statement.resample_for_ns,
        },
        last_run_ns,
        now_ns,
    )?;
    let select = window.map(|window| (with_time_range(&statement.source, window), window));
    Some(PlannedRun {
        last_run_ns,
        select,
    })
}

/// A CQ's durations, ns (`every_ns`, `for_ns`: 0 when not given).
#[derive(Clone, Copy, Debug)]
struct Timing {
    interval_ns: i64,
    offset_ns: i64,
    every_ns: i64,
    for_ns: i64,
}

/// InfluxDB's timing rule: `None` when not due, else the new `last_run` and the window to
/// run (`None` when empty).
fn timing(timing: Timing, last_run_ns: Option<i64>, now_ns: i64) -> Option<(i64, Option<Window>)> {
    let Timing {
        interval_ns,
        offset_ns,
        every_ns,
        for_ns,
    } = timing;
    let mut resample_every_ns = if every_ns != 0 { every_ns } else { interval_ns };
    let next_run_ns = match last_run_ns {
        Some(last) if last.saturating_add(resample_every_ns) <= now_ns => {
            last.saturating_add(resample_every_ns)
        }
        Some(_) => return None,
        None => now_ns,
    };
    let new_last_run_ns = go_truncate(now_ns - offset_ns, resample_every_ns) + offset_ns;
    let resample_for_ns = if for_ns != 0 {
        for_ns
    } else {
        interval_ns.max(resample_every_ns)
    };
    resample_every_ns = resample_every_ns.min(interval_ns);
    let start_ns = go_truncate(
        next_run_ns + interval_ns - resample_for_ns - offset_ns - 1,
        interval_ns,
    ) + offset_ns;
    let end_ns = go_truncate(
        now_ns + interval_ns - resample_every_ns - offset_ns,
        interval_ns,
    ) + offset_ns;
    let window = (end_ns > start_ns).then_some(Window { start_ns, end_ns });
    Some((new_last_run_ns, window))
}

/// Go's `time.Time.Truncate`: `ns` rounded down to a multiple of `duration_ns` since Go's
/// zero time (0001-01-01), not the Unix epoch.
fn go_truncate(ns: i64, duration_ns: i64) -> i64 {
    if duration_ns <= 0 {
        return ns;
    }
    sluice_storage::meta::shard_group_bounds(ns, duration_ns).0
}

/// The offset of `GROUP BY time(interval, offset)`, ns (0 when none).
fn group_by_offset_ns(select: &SelectStatement) -> i64 {
    select
        .dimensions
        .iter()
        .find_map(|dimension| match dimension {
            Expr::Call(call) if call.name == "time" => match call.args.get(1) {
                Some(Expr::Literal(Literal::Duration(offset_ns))) => Some(*offset_ns),
                _ => Some(0),
            },
            _ => None,
        })
        .unwrap_or(0)
}

/// `select` with its time condition replaced by `time >= start AND time < end`.
fn with_time_range(select: &SelectStatement, window: Window) -> SelectStatement {
    let mut select = select.clone();
    let time = |op, ns| {
        Expr::binary(
            op,
            Expr::var_ref("time"),
            Expr::Literal(Literal::Integer(ns)),
        )
    };
    let range = Expr::binary(
        BinaryOp::And,
        time(BinaryOp::Gte, window.start_ns),
        time(BinaryOp::Lt, window.end_ns),
    );
    select.condition = match select.condition.take().and_then(without_time) {
        Some(rest) => Some(Expr::binary(
            BinaryOp::And,
            Expr::Paren(Box::new(rest)),
            range,
        )),
        None => Some(range),
    };
    select
}

/// `condition` without its comparisons of `time` (those under AND; `None` when nothing is
/// left).
fn without_time(condition: Expr) -> Option<Expr> {
    match condition {
        Expr::Binary(binary) if binary.op == BinaryOp::And => {
            let binary = *binary;
            match (without_time(binary.lhs), without_time(binary.rhs)) {
                (Some(lhs), Some(rhs)) => Some(Expr::binary(BinaryOp::And, lhs, rhs)),
                (one, None) | (None, one) => one,
            }
        }
        Expr::Binary(binary) if is_time(&binary.lhs) || is_time(&binary.rhs) => None,
        Expr::Paren(inner) => without_time(*inner).map(|inner| Expr::Paren(Box::new(inner))),
        other => Some(other),
    }
}

fn is_time(expr: &Expr) -> bool {
    matches!(expr, Expr::VarRef(var) if var.name.eq_ignore_ascii_case("time"))
}

#[cfg(test)]
mod tests {
    use super::*;

    const SECOND_NS: i64 = 1_000_000_000;
    /// A whole minute since both the Unix epoch and Go's zero time.
    const T0: i64 = 1_793_491_200 * SECOND_NS;

    fn timing_of(interval_s: i64, every_s: i64, for_s: i64) -> Timing {
        Timing {
            interval_ns: interval_s * SECOND_NS,
            offset_ns: 0,
            every_ns: every_s * SECOND_NS,
            for_ns: for_s * SECOND_NS,
        }
    }

    fn window(start_s: i64, end_s: i64) -> Option<Window> {
        Some(Window {
            start_ns: T0 + start_s * SECOND_NS,
            end_ns: T0 + end_s * SECOND_NS,
        })
    }

    #[test]
    fn first_run_mid_interval_covers_nothing_then_each_boundary_the_previous_interval() {
        let t = timing_of(60, 0, 0);
        let (last, first) = timing(t, None, T0 + 30 * SECOND_NS).unwrap();
        assert_eq!((last, first), (T0, None));
        assert!(timing(t, Some(last), T0 + 59 * SECOND_NS).is_none());
        let (last, second) = timing(t, Some(last), T0 + 60 * SECOND_NS + 5).unwrap();
        assert_eq!(last, T0 + 60 * SECOND_NS);
        assert_eq!(second, window(0, 60));
    }

    #[test]
    fn resample_every_and_for() {
        // Every 10 s, the last 30 s of 10 s buckets.
        let t = timing_of(10, 10, 30);
        let (last, run) = timing(t, Some(T0), T0 + 10 * SECOND_NS).unwrap();
        assert_eq!(last, T0 + 10 * SECOND_NS);
        assert_eq!(run, window(-20, 10));
        // GROUP BY 10 s, every 20 s: two buckets per run.
        let t = timing_of(10, 20, 0);
        let (_, run) = timing(t, Some(T0), T0 + 20 * SECOND_NS).unwrap();
        assert_eq!(run, window(0, 20));
    }

    #[test]
    fn time_conditions_are_replaced() {
        let Ok(statement) = parse(
            "CREATE CONTINUOUS QUERY c ON d BEGIN SELECT mean(v) INTO x FROM m \
             WHERE time > now() - 1h AND host = 'a' GROUP BY time(1s, 100ms) END",
        ) else {
            panic!("parse")
        };
        assert_eq!(group_by_offset_ns(&statement.source), 100_000_000);
        let select = with_time_range(
            &statement.source,
            Window {
                start_ns: 1,
                end_ns: 2,
            },
        );
        let printed = select.to_string();
        assert!(
            printed.contains("WHERE (host = 'a') AND (time >= 1 AND time < 2) GROUP"),
            "{printed}"
        );
    }
}
