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
            line.push(b' ');
            for (index, (key, value)) in point.fields.iter().enumerate() {
                if index > 0 {
                    line.push(b',');
                }
                crate::line_protocol::escape_into(
                    key,
                    crate::line_protocol::EscapeKind::FieldKey,
                    &mut line,
                );
                line.push(b'=');
                append_value(*value, &mut line);
            }
            line.push(b' ');
            line.extend_from_slice(point.timestamp_ns.to_string().as_bytes());
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

fn append_value(value: StoredValue<'_>, out: &mut Vec<u8>) {
    match value {
        StoredValue::Float(v) => out.extend_from_slice(format_float_go(v).as_bytes()),
        StoredValue::Integer(v) => {
            out.extend_from_slice(v.to_string().as_bytes());
            out.push(b'i');
        }
        StoredValue::Unsigned(v) => {
            out.extend_from_slice(v.to_string().as_bytes());
            out.push(b'u');
        }
        StoredValue::Boolean(v) => out.extend_from_slice(if v { b"true" } else { b"false" }),
        StoredValue::String(v) => {
            out.push(b'"');
            crate::line_protocol::escape_into(
                v,
                crate::line_protocol::EscapeKind::StringFieldValue,
                out,
            );
            out.push(b'"');
        }
    }
}

/// Formats a float as Go's `strconv.FormatFloat(v, 'g', -1, 64)`: the shortest digits that
/// round-trip, in exponent form when the decimal exponent is below -4 or at least 6 (Go's rule
/// for shortest 'g'), e.g. `1e+06`, `123456`, `1.5e-05`.
pub fn format_float_go(value: f64) -> String {
    if value.is_nan() {
        return "NaN".into();
    }
    if value.is_infinite() {
        return if value > 0.0 {
            "+Inf".into()
        } else {
            "-Inf".into()
        };
    }
    if value == 0.0 {
        return if value.is_sign_negative() {
            "-0".into()
        } else {
            "0".into()
        };
    }
    // Rust's `{:e}` gives the shortest round-tripping digits: "d.ddde<exp>".
    let scientific = format!("{:e}", value.abs());
    let Some((mantissa, exponent)) = scientific.split_once('e') else {
        return value.to_string();
    };
    let exponent: i32 = exponent.parse().unwrap_or(0);
    let digits: String = mantissa.chars().filter(|c| c.is_ascii_digit()).collect();
    let sign = if value < 0.0 { "-" } else { "" };
    if !(-4..6).contains(&exponent) {
        let (first, rest) = digits.split_at(1);
        let fraction = if rest.is_empty() {
            String::new()
        } else {
            format!(".{rest}")
        };
        let exponent_sign = if exponent < 0 { '-' } else { '+' };
        return format!(
            "{sign}{first}{fraction}e{exponent_sign}{:02}",
            exponent.abs()
        );
    }
    if exponent < 0 {
        let zeros = "0".repeat((-exponent - 1) as usize);
        return format!("{sign}0.{zeros}{digits}");
    }
    let integer_digits = (exponent + 1) as usize;
    if digits.len() <= integer_digits {
        let zeros = "0".repeat(integer_digits - digits.len());
        format!("{sign}{digits}{zeros}")
    } else {
        let (integer, fraction) = digits.split_at(integer_digits);
        format!("{sign}{integer}.{fraction}")
    }
}

#[cfg(test)]
mod tests {
    use super::format_float_go;

    #[test]
    fn floats_as_go_prints_them() {
        let cases = [
            (1.0, "1"),
            (1.5, "1.5"),
            (-1.5e10, "-1.5e+10"),
            (1e-5, "1e-05"),
            (0.0001, "0.0001"),
            (100000.0, "100000"),
            (1e6, "1e+06"),
            (1234567.0, "1.234567e+06"),
            (123456.7, "123456.7"),
            (-0.0, "-0"),
            (0.1 + 0.2, "0.30000000000000004"),
            (1e21, "1e+21"),
            (f64::MAX, "1.7976931348623157e+308"),
        ];
        for (value, expected) in cases {
            assert_eq!(format_float_go(value), expected, "{value}");
        }
    }
}
