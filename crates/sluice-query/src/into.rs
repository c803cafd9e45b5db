//! `SELECT ... INTO`: writing a SELECT's result rows as points, durably, from the query
//! thread, and answering as InfluxDB 1.6.7 does (one series `result` with `time` 0 and
//! `written`, the number of points written).
//!
//! Owns the conversion of result rows to points and the wait for their durability; it does
//! not decide what the SELECT returns (that is [`super::select`]) nor how points become WAL
//! records (that is `/write`'s planner, [`sluice_ingest::plan::plan_lines`], so an INTO write
//! gets exactly the checks and field-type rules of a `/write`).
//!
//! Points, per row of each result series: measurement = the target's name, or the series'
//! name for `:MEASUREMENT`; tags = the series' tags (GROUP BY tags; empty values left out);
//! fields = every non-null column but `time` (tags selected as columns become string
//! fields, as in InfluxDB); time = the row's time. Rows without a field are skipped.
//!
//! Writing: rows are formatted as line protocol in slices of at most
//! [`INTO_POINTS_PER_WRITE`] points, planned, queued to the partitions (retried every
//! [`ENQUEUE_RETRY_MS`] until the writer's enqueue timeout) and waited for until durable,
//! like a `/write` request; the query thread blocks meanwhile.

use std::sync::Arc;
use std::time::{Duration, Instant};

use crossbeam::channel;

use crate::result::{Series, StatementResult, Value};
use sluice_influxql::ast::Measurement;
use sluice_ingest::plan::{plan_lines, WriteContext, WriteOutcome, WriteScratch};
use sluice_ingest::{AckSink, Ingest};
use sluice_line_protocol::Precision;
use sluice_line_protocol::{append_line, escape_into, EscapeKind, FormatField, FormatValue};
use sluice_storage::meta::MetaData;

/// Points formatted and written at a time (bounds the line-protocol text held at once).
pub const INTO_POINTS_PER_WRITE: usize = 10_000;
/// How often a full partition queue is tried again.
const ENQUEUE_RETRY_MS: u64 = 1;
/// How long the query thread waits for the queued points to become durable.
const DURABLE_WAIT_TIMEOUT_MS: u64 = 60_000;
/// The name and columns of an INTO answer.
const RESULT_SERIES_NAME: &str = "result";
const RESULT_COLUMNS: [&str; 2] = ["time", "written"];

/// What SELECT INTO needs to write.
pub struct IntoWriter {
    /// the partitions and their queues
    pub ingest: Arc<Ingest>,
    /// how long a full partition queue may hold up a write (`[http] enqueued-write-timeout`)
    pub enqueue_timeout: Duration,
}

/// Where the points go.
struct Target<'a> {
    database: &'a str,
    retention_policy: &'a str,
    /// empty: the name of each result series (`:MEASUREMENT`)
    measurement: &'a str,
}

/// Writes `series` (a SELECT's result) into `target`; `database` is the request's `db`.
/// Returns the INTO answer or the error to report.
pub fn write_result(
    series: &[Series],
    target: &Measurement,
    database: &str,
    meta: &MetaData,
    writer: &IntoWriter,
    now_ns: i64,
    statement_id: usize,
) -> StatementResult {
    let database = if target.database.is_empty() {
        database
    } else {
        target.database.as_str()
    };
    let Some(found) = meta.database(database) else {
        return StatementResult::error(statement_id, format!("database not found: {database}"));
    };
    if found.retention_policy(&target.retention_policy).is_none() {
        return StatementResult::error(
            statement_id,
            format!("retention policy not found: {}", target.retention_policy),
        );
    }
    let target = Target {
        database,
        retention_policy: &target.retention_policy,
        measurement: &target.name,
    };
    let mut written: i64 = 0;
    let mut lines = Vec::new();
    let mut points_in_lines = 0usize;
    let mut scratch = WriteScratch::default();
    for one in series {
        let series_key = series_key(&target, one);
        for row in &one.values {
            if append_row(&series_key, &one.columns, row, &mut lines) {
                points_in_lines += 1;
            }
            if points_in_lines >= INTO_POINTS_PER_WRITE {
                if let Err(message) = write_lines(
                    &lines,
                    &target.destination(),
                    meta,
                    writer,
                    now_ns,
                    &mut scratch,
                ) {
                    return StatementResult::error(statement_id, message);
                }
                written += points_in_lines as i64;
                lines.clear();
                points_in_lines = 0;
            }
        }
    }
    if points_in_lines > 0 {
        if let Err(message) = write_lines(
            &lines,
            &target.destination(),
            meta,
            writer,
            now_ns,
            &mut scratch,
        ) {
            return StatementResult::error(statement_id, message);
        }
        written += points_in_lines as i64;
    }
    StatementResult {
        statement_id,
        series: vec![Series {
            name: Some(RESULT_SERIES_NAME.to_string()),
            tags: Vec::new(),
            columns: RESULT_COLUMNS.iter().map(|c| c.to_string()).collect(),
            values: vec![vec![Value::Time(0), Value::Integer(written)]],
            partial: false,
        }],
        ..StatementResult::default()
    }
}

/// The escaped series key the rows of `series` are written to.
fn series_key(target: &Target<'_>, series: &Series) -> Vec<u8> {
    let measurement = if target.measurement.is_empty() {
        series.name.as_deref().unwrap_or("")
    } else {
        target.measurement
    };
    let mut key = Vec::new();
    escape_into(measurement.as_bytes(), EscapeKind::Measurement, &mut key);
    let mut tags: Vec<&(String, String)> =
        series.tags.iter().filter(|(_, v)| !v.is_empty()).collect();
    tags.sort_by(|a, b| a.0.cmp(&b.0));
    for (tag_key, tag_value) in tags {
        key.push(b',');
        escape_into(tag_key.as_bytes(), EscapeKind::TagKey, &mut key);
        key.push(b'=');
        escape_into(tag_value.as_bytes(), EscapeKind::TagValue, &mut key);
    }
    key
}

/// Appends the line of one row; false when the row has no field (nothing appended).
fn append_row(series_key: &[u8], columns: &[String], row: &[Value], out: &mut Vec<u8>) -> bool {
    let mut time_ns = 0;
    let mut fields: Vec<FormatField<'_>> = Vec::with_capacity(row.len());
    for (column, value) in columns.iter().zip(row) {
        let value = match value {
            Value::Time(ns) | Value::ZonedTime { time_ns: ns, .. } if column == "time" => {
                time_ns = *ns;
                continue;
            }
            Value::Null | Value::Time(_) | Value::ZonedTime { .. } => continue,
            Value::Float(x) if !x.is_finite() => continue,
            Value::Float(x) => FormatValue::Float(*x),
            Value::Integer(x) => FormatValue::Integer(*x),
            Value::Unsigned(x) => FormatValue::Unsigned(*x),
            Value::Boolean(x) => FormatValue::Boolean(*x),
            Value::String(text) => FormatValue::String(text.as_bytes()),
        };
        fields.push(FormatField {
            key: column.as_bytes(),
            value,
        });
    }
    if fields.is_empty() {
        return false;
    }
    append_line(series_key, &fields, time_ns, out);
    true
}

/// Told when the batches of one INTO write are durable.
struct DurableSignal {
    sender: channel::Sender<bool>,
}

impl AckSink for DurableSignal {
    fn write_complete(&self, _connection: usize, _sequence: u64, durable: bool) {
        let _ = self.sender.try_send(durable);
    }
}

/// Writes `lines` (line protocol, nanosecond times) into `database`.`retention_policy` as a
/// `/write` would, and waits until they are durable: the write path of the `[monitor]`
/// thread. Errors are the write outcome's text, `timeout` or `write failed`.
pub fn write_line_protocol(
    lines: &[u8],
    database: &str,
    retention_policy: &str,
    writer: &IntoWriter,
    meta: &MetaData,
    now_ns: i64,
) -> Result<(), String> {
    let target = Destination {
        database,
        retention_policy,
    };
    let mut scratch = WriteScratch::default();
    write_lines(lines, &target, meta, writer, now_ns, &mut scratch)
}

/// Where planned points go: a database and retention policy (empty: the default one).
#[derive(Clone, Copy, Debug)]
pub struct Destination<'a> {
    /// the database, which must exist in the meta snapshot given with the lines
    pub database: &'a str,
    /// the retention policy; empty: the database's default
    pub retention_policy: &'a str,
}

impl Target<'_> {
    fn destination(&self) -> Destination<'_> {
        Destination {
            database: self.database,
            retention_policy: self.retention_policy,
        }
    }
}

/// Plans `lines` (line protocol, nanosecond timestamps) as a `/write` to `target`, queues
/// the records and waits until they are durable; an error is the write's outcome text, or
/// `timeout` / `write failed`. `SELECT INTO` writes its rows with it.
pub fn write_lines(
    lines: &[u8],
    target: &Destination<'_>,
    meta: &MetaData,
    writer: &IntoWriter,
    now_ns: i64,
    scratch: &mut WriteScratch,
) -> Result<(), String> {
    let outcome = write_lines_durably(lines, target, meta, writer, now_ns, scratch)?;
    if outcome.is_accepted() {
        Ok(())
    } else {
        Err(outcome.to_string())
    }
}

/// As [`write_lines`], but a write whose planned points became durable answers with its
/// outcome (which may drop some points) for the caller to judge: `sluice restore` accepts
/// points dropped only for being older than the retention policy keeps. An error is
/// `timeout` or `write failed` (nothing of the write is applied).
pub fn write_lines_durably(
    lines: &[u8],
    target: &Destination<'_>,
    meta: &MetaData,
    writer: &IntoWriter,
    now_ns: i64,
    scratch: &mut WriteScratch,
) -> Result<WriteOutcome, String> {
    let timed = TimedLines {
        lines,
        precision: Precision::Nanosecond,
        now_ns,
    };
    write_timed_lines_durably(&timed, target, meta, writer, scratch)
}

/// Lines of line protocol with the unit of their timestamps and the time of those without.
#[derive(Clone, Copy, Debug)]
pub struct TimedLines<'a> {
    /// whole lines
    pub lines: &'a [u8],
    /// the unit of their timestamps (`/write`'s `precision`)
    pub precision: Precision,
    /// the time of a line without a timestamp, and the retention cut-off
    pub now_ns: i64,
}

/// As [`write_lines_durably`], for lines in any precision (a cluster peer's copy of a
/// `/write` body, planned with the writer's precision and "now" so every owner stores the
/// same points).
pub fn write_timed_lines_durably(
    timed: &TimedLines<'_>,
    target: &Destination<'_>,
    meta: &MetaData,
    writer: &IntoWriter,
    scratch: &mut WriteScratch,
) -> Result<WriteOutcome, String> {
    let (lines, now_ns) = (timed.lines, timed.now_ns);
    let context = WriteContext {
        meta,
        ingest: &writer.ingest,
        registry: &writer.ingest.field_types,
        now_ns,
    };
    let planned = plan_lines(
        lines,
        timed.precision,
        target.database,
        target.retention_policy,
        &context,
        scratch,
    );
    let outcome = planned.outcome;
    let records = planned.records;
    if records.is_empty() {
        return Ok(outcome);
    }
    let (sender, receiver) = channel::bounded(1);
    // A batch given up on (timeout) fails the request: nothing of it is applied.
    let batches = writer
        .ingest
        .batches(records, Arc::new(DurableSignal { sender }), 0, 0);
    for mut batch in batches {
        let deadline = Instant::now() + writer.enqueue_timeout;
        loop {
            match writer.ingest.try_send(batch) {
                Ok(()) => break,
                Err(returned) if Instant::now() < deadline => {
                    batch = returned;
                    std::thread::sleep(Duration::from_millis(ENQUEUE_RETRY_MS));
                }
                Err(_) => return Err("timeout".to_string()),
            }
        }
    }
    match receiver.recv_timeout(Duration::from_millis(DURABLE_WAIT_TIMEOUT_MS)) {
        Ok(true) => Ok(outcome),
        Ok(false) => Err("write failed".to_string()),
        Err(_) => Err("timeout".to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rows_become_lines() {
        let target = Target {
            database: "db",
            retention_policy: "",
            measurement: "",
        };
        let series = Series {
            name: Some("c p".into()),
            tags: vec![("z".into(), "1".into()), ("a".into(), String::new())],
            columns: vec!["time".into(), "x".into(), "s".into(), "n".into()],
            values: vec![
                vec![
                    Value::Time(5),
                    Value::Float(1.5),
                    Value::String("a\"b".into()),
                    Value::Integer(3),
                ],
                vec![Value::Time(6), Value::Null, Value::Null, Value::Null],
            ],
            partial: false,
        };
        let key = series_key(&target, &series);
        assert_eq!(key, b"c\\ p,z=1");
        let mut out = Vec::new();
        let columns = &series.columns;
        assert!(append_row(&key, columns, &series.values[0], &mut out));
        assert!(!append_row(&key, columns, &series.values[1], &mut out));
        assert_eq!(
            String::from_utf8(out).unwrap(),
            "c\\ p,z=1 x=1.5,s=\"a\\\"b\",n=3i 5\n"
        );
    }
}
