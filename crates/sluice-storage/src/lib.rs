//! Sluice's storage engine: everything that decides what is on disk and reads it back.
//!
//! Depends on the data model (`sluice-model`), logging and the file-system seam
//! (`sluice-base`) and the line-protocol crate (series keys) only: it never calls up into
//! ingest, queries or the server. The only call "up" is the checkpoint closure the server
//! installs in the store.
//!
//! - `wal` is the write-ahead log of one partition: segments of checksummed records, group
//!   commit, replay and repair; it does not know what a record means.
//! - `meta` holds databases, retention policies and shard groups, persisted atomically.
//! - `codec` turns one column of a block (timestamps, floats, integers, unsigned, booleans or
//!   strings) into bytes and back; it owns no files and no I/O.
//! - `column` is a column in memory and the merge rules (sorted, last write wins) every layer
//!   shares.
//! - `tsm` writes and reads immutable column files: blocks of codec columns with checksums, a
//!   key-sorted index with a fixed-width offset table for binary search, a checksummed footer.
//!   It decides block boundaries within a column; the engine decides which files exist.
//! - `series_index` maps the series keys of one database to dense `u32` ids, persists them in
//!   an append-only log, and keeps the inverted index (measurement, tag key, tag value →
//!   series) that metadata queries and tag filters read.
//! - `engine` owns shards: per-partition caches over immutable files, snapshots, compactions,
//!   retention, reads, and one series index per database.

#![cfg_attr(test, allow(clippy::unwrap_used))]

pub mod codec;
pub mod column;
pub mod engine;
pub mod key_table;
pub mod meta;
pub mod series_index;
pub mod tsm;
pub mod wal;
#[cfg(test)]
mod wal_simulation;
