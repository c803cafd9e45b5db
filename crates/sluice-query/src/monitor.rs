//! `[monitor]`: the `sluice-monitor` thread that stores the server's statistics in a
//! database of its own (`_internal` by default), as InfluxDB 1.6.7's monitor does.
//!
//! Every `store-interval` the thread takes one snapshot of the statistics registry (the
//! source `SHOW STATS` reads) and writes it as points: measurement = module, tags = the
//! statistic's tags plus `hostname`, fields = the counters as integers, time = now
//! truncated to the interval. The points go through the write path every writer shares
//! ([`crate::into::write_line_protocol`]: `/write`'s planner, the WAL partitions, the wait
//! until durable), into the retention policy `monitor`. A missing database is created first,
//! with `monitor` (7 days, shard groups of 1 day) as its default policy.
//!
//! Bounds: one snapshot per interval, written before the next is taken; a write that is
//! slow (full queues, a slow disk) delays the next snapshot instead of queueing it, and a
//! failed one is logged and dropped. Never on an event loop or a query thread.

use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::Duration;

use crossbeam::channel::{self, RecvTimeoutError, Sender};
use sluice_base::statistics::Statistic;
use sluice_line_protocol::{append_line, escape_into, EscapeKind, FormatField, FormatValue};
use sluice_storage::meta::RetentionPolicySpec;

use crate::QueryContext;

/// The retention policy the statistics are written to (created with the database).
pub const MONITOR_RETENTION_POLICY: &str = "monitor";
/// How long `monitor` keeps statistics: 7 days, ns (InfluxDB's).
pub const MONITOR_RETENTION_DURATION_NS: i64 = 7 * 24 * NANOS_PER_HOUR;
/// The shard group duration of `monitor`: 1 day, ns.
pub const MONITOR_SHARD_GROUP_DURATION_NS: i64 = 24 * NANOS_PER_HOUR;
/// Shortest `store-interval` accepted (a shorter one would only make writes).
pub const MONITOR_STORE_INTERVAL_MIN_MS: u64 = 100;
const NANOS_PER_HOUR: i64 = 3_600_000_000_000;

/// `[monitor]` as the thread uses it.
#[derive(Clone, Debug)]
pub struct MonitorOptions {
    /// `store-database`
    pub database: String,
    /// `store-interval`
    pub interval: Duration,
}

/// The running `sluice-monitor` thread.
pub struct MonitorService {
    stop: Sender<()>,
    thread: JoinHandle<()>,
}

impl MonitorService {
    /// Starts the thread; `context` must have an INTO writer (the write path).
    pub fn start(
        context: Arc<QueryContext>,
        options: MonitorOptions,
    ) -> std::io::Result<MonitorService> {
        let (stop, stopped) = channel::bounded::<()>(1);
        let interval = options
            .interval
            .max(Duration::from_millis(MONITOR_STORE_INTERVAL_MIN_MS));
        let thread = std::thread::Builder::new()
            .name("sluice-monitor".to_string())
            .spawn(move || loop {
                match stopped.recv_timeout(interval) {
                    Err(RecvTimeoutError::Timeout) => {}
                    Ok(()) | Err(RecvTimeoutError::Disconnected) => return,
                }
                if let Err(error) = store_once(&context, &options.database, interval) {
                    sluice_base::log_warn!("monitor", "storing statistics failed";
                        database = options.database, error = error);
                }
            })?;
        Ok(MonitorService { stop, thread })
    }

    /// Stops the thread once the snapshot it may be writing is durable.
    pub fn stop(self) {
        let _ = self.stop.try_send(());
        drop(self.stop);
        let _ = self.thread.join();
    }
}

/// Creates the database if it is missing, then writes one snapshot of the statistics.
fn store_once(context: &QueryContext, database: &str, interval: Duration) -> Result<(), String> {
    let Some(writer) = &context.into_writer else {
        return Err("no write path".to_string());
    };
    if context.meta.snapshot().database(database).is_none() {
        let spec = RetentionPolicySpec {
            name: Some(MONITOR_RETENTION_POLICY.to_string()),
            duration_ns: Some(MONITOR_RETENTION_DURATION_NS),
            shard_group_duration_ns: Some(MONITOR_SHARD_GROUP_DURATION_NS),
            replication: Some(1),
        };
        context
            .meta
            .create_database(database, &spec)
            .map_err(|error| format!("creating the database: {error}"))?;
    }
    let now_ns = sluice_model::time::now_ns();
    let interval_ns = i64::try_from(interval.as_nanos())
        .unwrap_or(i64::MAX)
        .max(1);
    let time_ns = now_ns - now_ns.rem_euclid(interval_ns);
    let lines = statistics_lines(
        &context.statistics.snapshot(),
        &context.diagnostics.hostname,
        time_ns,
    );
    let meta = context.meta.snapshot();
    crate::into::write_line_protocol(
        &lines,
        database,
        MONITOR_RETENTION_POLICY,
        writer,
        &meta,
        now_ns,
    )
}

/// One line per statistic: measurement = module, tags + `hostname` (sorted, empty values
/// left out as line protocol requires), integer fields.
pub fn statistics_lines(statistics: &[Statistic], hostname: &str, time_ns: i64) -> Vec<u8> {
    let mut out = Vec::new();
    let mut key = Vec::new();
    for statistic in statistics {
        if statistic.values.is_empty() {
            continue;
        }
        key.clear();
        escape_into(statistic.name.as_bytes(), EscapeKind::Measurement, &mut key);
        let mut tags: Vec<(&str, &str)> = statistic
            .tags
            .iter()
            .map(|(name, value)| (*name, value.as_str()))
            .chain(std::iter::once(("hostname", hostname)))
            .filter(|(_, value)| !value.is_empty())
            .collect();
        tags.sort_unstable();
        for (name, value) in tags {
            key.push(b',');
            escape_into(name.as_bytes(), EscapeKind::TagKey, &mut key);
            key.push(b'=');
            escape_into(value.as_bytes(), EscapeKind::TagValue, &mut key);
        }
        let fields: Vec<FormatField<'_>> = statistic
            .values
            .iter()
            .map(|(name, value)| FormatField {
                key: name.as_bytes(),
                value: FormatValue::Integer(*value),
            })
            .collect();
        append_line(&key, &fields, time_ns, &mut out);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statistics_become_integer_points_with_the_hostname() {
        let statistics = vec![
            Statistic::new("httpd")
                .tag("bind", "127.0.0.1:8086")
                .value("req", 3_i64)
                .value("writeReq", 1_i64),
            Statistic::new("database")
                .tag("database", "a b")
                .value("numSeries", 2_i64),
            Statistic::new("empty"),
        ];
        let lines = statistics_lines(&statistics, "vm", 10_000_000_000);
        assert_eq!(
            String::from_utf8(lines).unwrap(),
            "httpd,bind=127.0.0.1:8086,hostname=vm req=3i,writeReq=1i 10000000000\n\
             database,database=a\\ b,hostname=vm numSeries=2i 10000000000\n"
        );
    }
}
