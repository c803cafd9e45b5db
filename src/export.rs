//! `sluice export`: every stored point of a stopped server's data directory, as line protocol
//! with nanosecond timestamps, like `influx_inspect export`.
//!
//! Opens the storage read-only (the meta store names databases and skips dropped ones; the
//! shards' files are read; the WAL is replayed into memory without being repaired) and prints
//! what a query would see: per database and retention policy, shard by shard in time order,
//! series in key order, one line per (series, time) with its fields in key order. A point
//! written twice (same series and time) appears once, with the fields last written, so
//! importing the export reproduces the stored state. Memory holds the WAL's points (the caches
//! a server start would hold), not the files'.
//!
//! The directories come from `store_dirs` (flags, inside or beside `-datadir`, or the
//! server's configuration); a missing directory or a meta directory without `meta.db` is an
//! error there, so an export is never silently empty because it looked in the wrong place.
//!
//! [`write_shard_points`] is the one place a shard becomes line protocol: `sluice backup`
//! (`backup::service`) writes a running server's shards with it too.

use std::io::Write;

use crate::ingest::record::{decode_record, StoredValue};
use crate::line_protocol::format::{append_i64, append_value, FormatValue};
use crate::line_protocol::{escape_into, EscapeKind};
use crate::meta::MetaStore;
use crate::storage::column::Column;
use crate::storage::engine::shard::Shard;
use crate::storage::engine::{Store, StoreOptions};
use crate::store_dirs::{wal_partition_dirs, StoreDirs};
use crate::wal::ReplayMode;
use std::sync::Arc;

/// What to export.
#[derive(Debug, Clone)]
pub struct ExportOptions {
    /// the store, located and checked by [`crate::store_dirs::locate`]
    pub dirs: StoreDirs,
    /// only this database
    pub database: Option<String>,
    /// only this retention policy
    pub retention_policy: Option<String>,
}

/// Writes the export to `out`; returns the number of points written.
pub fn export(options: &ExportOptions, out: &mut dyn Write) -> Result<u64, String> {
    let dirs = &options.dirs;
    let meta_data = MetaStore::read_only(dirs.meta_dir()).map_err(|e| e.to_string())?;
    let meta = Arc::new(MetaStore::frozen(meta_data.clone()));
    let partition_dirs = wal_partition_dirs(dirs.wal_dir())
        .map_err(|e| format!("listing WAL directory {}: {e}", dirs.wal_dir().display()))?;
    // Every partition directory is replayed, so the caches must cover the highest one even
    // if `PARTITIONS` is unreadable or says fewer.
    let partitions = crate::ingest::recorded_partition_count(dirs.wal_dir())
        .ok()
        .flatten()
        .unwrap_or(1)
        .max(partition_dirs.last().map_or(0, |(number, _)| number + 1));
    let store = Store::open_read_only(
        StoreOptions {
            data_dir: dirs.data_dir().to_path_buf(),
            partitions,
            cache_snapshot_bytes: usize::MAX,
            cache_max_bytes: usize::MAX,
            read_only: true,
        },
        meta,
    )
    .map_err(|e| e.to_string())?;
    let mut corrupt_records = 0u64;
    // As a server start replays it: a request's parts only when the request completed.
    crate::ingest::replay::replay_partitions(
        &partition_dirs,
        ReplayMode::ReadOnly,
        |index, record: &[u8]| {
            if decode_record(record, |_, _| {}).is_err() {
                corrupt_records += 1;
                return;
            }
            store.apply_record(index, record);
        },
    )
    .map_err(|e| format!("reading WAL {}: {e}", dirs.wal_dir().display()))?;
    if corrupt_records > 0 {
        crate::log_warn!("export", "skipped undecodable WAL records"; count = corrupt_records);
    }
    let io = |e: std::io::Error| format!("writing export: {e}");
    writeln!(out, "# DDL").map_err(io)?;
    for database in &meta_data.databases {
        if options
            .database
            .as_deref()
            .is_some_and(|name| name != database.name)
        {
            continue;
        }
        writeln!(
            out,
            "CREATE DATABASE {} WITH NAME {}",
            quote_ident(&database.name),
            quote_ident(&database.default_retention_policy)
        )
        .map_err(io)?;
    }
    writeln!(out, "# DML").map_err(io)?;
    let mut shards = store.shards();
    shards.sort_by(|a, b| {
        (a.database_id, &a.retention_policy, a.start_ns).cmp(&(
            b.database_id,
            &b.retention_policy,
            b.start_ns,
        ))
    });
    let mut points = 0u64;
    let mut context: Option<(u64, String)> = None;
    let mut line = Vec::with_capacity(256);
    for shard in shards {
        let Some(database) = meta_data.database_by_id(shard.database_id) else {
            continue;
        };
        if options
            .database
            .as_deref()
            .is_some_and(|name| name != database.name)
            || options
                .retention_policy
                .as_deref()
                .is_some_and(|rp| rp != shard.retention_policy)
        {
            continue;
        }
        let wanted = (shard.database_id, shard.retention_policy.clone());
        if context.as_ref() != Some(&wanted) {
            writeln!(
                out,
                "# CONTEXT-DATABASE:{}\n# CONTEXT-RETENTION-POLICY:{}",
                database.name, shard.retention_policy
            )
            .map_err(io)?;
            context = Some(wanted);
        }
        points += write_shard_points(&shard, i64::MIN, &mut line, out).map_err(io)?;
    }
    out.flush().map_err(io)?;
    Ok(points)
}

/// Writes every point of `shard` at or after `since_ns` as line protocol (nanosecond
/// timestamps), series in key order, one line per (series, time) with its fields in key
/// order; returns the lines written. `line` is scratch. `sluice backup` writes a running
/// server's shards with it too: the shard's reads see every point acknowledged before the
/// call (caches, then files; see `Shard::read`).
pub fn write_shard_points(
    shard: &Shard,
    since_ns: i64,
    line: &mut Vec<u8>,
    out: &mut dyn Write,
) -> std::io::Result<u64> {
    let mut points = 0u64;
    for (series_key, fields) in shard.series_fields() {
        let columns: Vec<(Vec<u8>, Column)> = fields
            .keys()
            .filter_map(|field| {
                shard
                    .read(&series_key, field, since_ns, i64::MAX)
                    .map(|column| (field.clone(), column))
            })
            .collect();
        points += write_series(&series_key, &columns, line, out)?;
    }
    Ok(points)
}

/// Writes one line per distinct time of the series, fields in key order; returns the lines.
fn write_series(
    series_key: &[u8],
    columns: &[(Vec<u8>, Column)],
    line: &mut Vec<u8>,
    out: &mut dyn Write,
) -> std::io::Result<u64> {
    let mut positions = vec![0usize; columns.len()];
    let mut lines = 0u64;
    loop {
        let next_time = columns
            .iter()
            .zip(&positions)
            .filter_map(|((_, column), position)| column.times.get(*position))
            .min()
            .copied();
        let Some(time) = next_time else {
            return Ok(lines);
        };
        line.clear();
        line.extend_from_slice(series_key);
        let mut first = true;
        for ((field, column), position) in columns.iter().zip(positions.iter_mut()) {
            if column.times.get(*position) != Some(&time) {
                continue;
            }
            if let Some(value) = column.values.get(*position) {
                line.push(if first { b' ' } else { b',' });
                first = false;
                escape_into(field, EscapeKind::FieldKey, line);
                line.push(b'=');
                append_value(format_value(value), line);
            }
            *position += 1;
        }
        line.push(b' ');
        append_i64(time, line);
        line.push(b'\n');
        out.write_all(line)?;
        lines += 1;
    }
}

fn quote_ident(name: &str) -> String {
    let plain = !name.is_empty()
        && name
            .chars()
            .next()
            .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
    if plain {
        name.to_string()
    } else {
        format!("\"{}\"", name.replace('\\', "\\\\").replace('"', "\\\""))
    }
}

fn format_value(value: StoredValue<'_>) -> FormatValue<'_> {
    match value {
        StoredValue::Float(v) => FormatValue::Float(v),
        StoredValue::Integer(v) => FormatValue::Integer(v),
        StoredValue::Unsigned(v) => FormatValue::Unsigned(v),
        StoredValue::Boolean(v) => FormatValue::Boolean(v),
        StoredValue::String(v) => FormatValue::String(v),
    }
}
