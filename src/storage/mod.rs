//! Sluice's storage engine (in progress): today only the column codecs of its blocks.
//!
//! `codec` turns one column of a block (timestamps, floats, integers, unsigned, booleans or
//! strings) into bytes and back. It owns no files and no I/O; the engine that will call it
//! decides block boundaries, files and checksums.

pub mod codec;
