//! Sluice's data model: what every layer agrees on and none of them owns.
//!
//! Owns the field types and stored values of points and the WAL record that carries them
//! ([`record`]), the field-type registry of each database ([`field_types`]), which partition
//! owns a series ([`routing`]), every fixed bound ([`limits`]), time and its text forms
//! ([`time`]), the little-endian byte helpers of the on-disk formats ([`bytes`]), and Go's
//! number parsing and conversion rules and its JSON string escaping, which InfluxDB's
//! answers depend on ([`gocompat`], [`gojson`]).
//!
//! Invariants: no I/O, no threads, nothing of ours below it; every layer above (storage,
//! ingest, query, the server) may use it, so a type two layers exchange lives here rather
//! than in either of them.

#![cfg_attr(test, allow(clippy::unwrap_used))]

/// The InfluxDB version Sluice answers as (`X-Influxdb-Version`, `SHOW DIAGNOSTICS`): the
/// behaviour it matches.
pub const INFLUXDB_COMPATIBLE_VERSION: &str = "1.6.7";

pub mod bytes;
pub mod field_types;
pub mod gocompat;
pub mod gojson;
pub mod limits;
pub mod record;
pub mod routing;
pub mod time;
