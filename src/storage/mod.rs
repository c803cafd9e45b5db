//! Sluice's storage engine (in progress): the column codecs of its blocks and the immutable
//! column files built from them.
//!
//! `codec` turns one column of a block (timestamps, floats, integers, unsigned, booleans or
//! strings) into bytes and back. It owns no files and no I/O.
//!
//! `tsm` writes and reads immutable column files: blocks of codec columns with checksums, a
//! key-sorted index with a fixed-width offset table for binary search, a checksummed footer.
//! It decides block boundaries within a column; the engine decides which files exist.

pub mod codec;
pub mod tsm;
