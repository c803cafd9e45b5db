//! Sluice's storage engine.
//!
//! - `codec` turns one column of a block (timestamps, floats, integers, unsigned, booleans or
//!   strings) into bytes and back; it owns no files and no I/O.
//! - `column` is a column in memory and the merge rules (sorted, last write wins) every layer
//!   shares.
//! - `engine` owns shards: per-partition caches over immutable files, snapshots, reads.

pub mod codec;
pub mod column;
pub mod engine;
