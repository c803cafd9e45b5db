//! Sluice's storage engine (in progress): today the column codecs of its blocks and the series
//! index.
//!
//! `codec` turns one column of a block (timestamps, floats, integers, unsigned, booleans or
//! strings) into bytes and back. It owns no files and no I/O; the engine that will call it
//! decides block boundaries, files and checksums.
//!
//! `series_index` maps the series keys of one database to dense `u32` ids, persists them in an
//! append-only log, and keeps the inverted index (measurement, tag key, tag value → series)
//! that metadata queries and tag filters read.

pub mod codec;
pub mod series_index;
