//! Sluice's storage engine.
//!
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

pub mod codec;
pub mod column;
pub mod engine;
pub mod key_table;
pub mod series_index;
pub mod tsm;
