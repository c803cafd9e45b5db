//! `sluice export`: every stored point of a stopped server's data directory, as line protocol
//! with nanosecond timestamps, like `influx_inspect export`.
//!
//! Reads the meta store (to name databases and skip dropped ones) and replays the WAL
//! read-only, streaming: memory stays constant whatever the data size. Points are printed in
//! write order per partition, one line per point; a point written twice (same series and
//! time) appears twice, in order, so importing the export reproduces the stored state.

use std::io::Write;
use std::path::{Path, PathBuf};

use crate::ingest::record::{decode_record, StoredValue};
use crate::line_protocol::format::{append_i64, append_value, FormatValue};
use crate::line_protocol::{escape_into, EscapeKind};
use crate::meta::MetaStore;
use crate::wal::ReplayMode;

/// What to export.
#[derive(Debug, Clone, Default)]
pub struct ExportOptions {
    /// the data directory (`[data] dir`); its siblings `wal` and `meta` are used unless given
    pub data_dir: PathBuf,
    /// `[data] wal-dir`
    pub wal_dir: Option<PathBuf>,
    /// `[meta] dir`
    pub meta_dir: Option<PathBuf>,
    /// only this database
    pub database: Option<String>,
    /// only this retention policy
    pub retention_policy: Option<String>,
}

fn sibling(data_dir: &Path, name: &str) -> PathBuf {
    // `-datadir` may name the server's base directory or its `data` directory.
    if data_dir.join(name).is_dir() {
        return data_dir.join(name);
    }
    data_dir
        .parent()
        .map(|p| p.join(name))
        .unwrap_or_else(|| PathBuf::from(name))
}

/// Writes the export to `out`; returns the number of points written.
pub fn export(options: &ExportOptions, out: &mut dyn Write) -> Result<u64, String> {
    let wal_dir = options
        .wal_dir
        .clone()
        .unwrap_or_else(|| sibling(&options.data_dir, "wal"));
    let meta_dir = options
        .meta_dir
        .clone()
        .unwrap_or_else(|| sibling(&options.data_dir, "meta"));
    let meta = MetaStore::read_only(&meta_dir).map_err(|e| e.to_string())?;
    let mut points = 0u64;
    let mut line = Vec::with_capacity(256);
    let mut context: Option<(u64, Vec<u8>)> = None;
    let mut write_error: Option<std::io::Error> = None;
    let mut corrupt_records = 0u64;
    writeln!(out, "# DDL").map_err(|e| e.to_string())?;
    for database in &meta.databases {
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
        .map_err(|e| e.to_string())?;
    }
    writeln!(out, "# DML").map_err(|e| e.to_string())?;
    crate::ingest::replay_all(&wal_dir, ReplayMode::ReadOnly, |payload| {
        if write_error.is_some() {
            return;
        }
        let result = decode_record(payload, |header, point| {
            let Some(database) = meta.database_by_id(header.database_id) else {
                return;
            };
            if options
                .database
                .as_deref()
                .is_some_and(|name| name != database.name)
            {
                return;
            }
            if options
                .retention_policy
                .as_deref()
                .is_some_and(|rp| rp.as_bytes() != header.retention_policy)
            {
                return;
            }
            line.clear();
            let same_context = context
                .as_ref()
                .is_some_and(|(id, rp)| *id == header.database_id && rp == header.retention_policy);
            if !same_context {
                line.extend_from_slice(
                    format!(
                        "# CONTEXT-DATABASE:{}\n# CONTEXT-RETENTION-POLICY:",
                        database.name
                    )
                    .as_bytes(),
                );
                line.extend_from_slice(header.retention_policy);
                line.push(b'\n');
                context = Some((header.database_id, header.retention_policy.to_vec()));
            }
            line.extend_from_slice(point.series_key);
            for (index, (key, value)) in point.fields.iter().enumerate() {
                line.push(if index == 0 { b' ' } else { b',' });
                escape_into(key, EscapeKind::FieldKey, &mut line);
                line.push(b'=');
                append_value(format_value(*value), &mut line);
            }
            line.push(b' ');
            append_i64(point.timestamp_ns, &mut line);
            line.push(b'\n');
            points += 1;
            if let Err(error) = out.write_all(&line) {
                write_error.get_or_insert(error);
            }
        });
        if result.is_err() {
            corrupt_records += 1;
        }
    })
    .map_err(|e| format!("reading WAL {}: {e}", wal_dir.display()))?;
    if let Some(error) = write_error {
        return Err(format!("writing export: {error}"));
    }
    if corrupt_records > 0 {
        crate::log_warn!("export", "skipped undecodable WAL records"; count = corrupt_records);
    }
    out.flush().map_err(|e| e.to_string())?;
    Ok(points)
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
