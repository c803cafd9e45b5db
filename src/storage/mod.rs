//! Sluice's storage engine.
//!
//! - `codec` turns one column of a block (timestamps, floats, integers, unsigned, booleans or
//!   strings) into bytes and back; it owns no files and no I/O.
//! - `column` is a column in memory and the merge rules (sorted, last write wins) every layer
//!   shares.
//! - `tsm` writes and reads immutable column files: blocks of codec columns with checksums, a
//!   key-sorted index with a fixed-width offset table for binary search, a checksummed footer.
//!   It decides block boundaries within a column; the engine decides which files exist.
//! - `engine` owns shards: per-partition caches over immutable files, snapshots, reads.

pub mod codec;
pub mod column;
pub mod engine;
pub mod tsm;
