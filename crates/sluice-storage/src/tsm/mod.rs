//! Immutable column files ("TSM-like"): the on-disk form of a shard's data, written once by a
//! snapshot of the cache or by a compaction, then only read.
//!
//! Owns: the byte format of a file (drawn byte by byte in `docs/FORMAT.md`), writing one
//! crash-safely ([`FileWriter`]), and reading columns back ([`FileReader`]). Does not own: which
//! files exist, when they are merged or deleted (the engine's), nor how a column is encoded
//! (`storage::codec`'s).
//!
//! # Model
//!
//! A file holds *columns*. A column is the values of one (series key, field key) pair: the
//! series key is the canonical escaped `measurement,tag=value,...` bytes, the field key the
//! unescaped field name. Columns are sorted by (series key, field key), bytewise, series key
//! first. A column is a list of *blocks* of at most `max_values_per_block` values each, in
//! ascending time without duplicates; the blocks of one column do not overlap in time and are
//! stored in time order.
//!
//! # Layout (little-endian; details in `docs/FORMAT.md`)
//!
//! ```text
//! [header: magic "SLUICETS" | version u32]
//! [block]...   block = [field type u8][timestamp column][value column][crc32 of those]
//! [index entries, in key order]
//!              entry = [u16 len][series key][u16 len][field key][field type u8]
//!                      [block count u32][block count × 32-byte block meta]
//! [offset table: column count × u64, file offset of each entry]
//! [footer: index offset | index length | column count | value count | min time | max time
//!          | crc32 of index + footer | magic]
//! ```
//!
//! # Invariants a reader relies on
//!
//! - [`FileReader::open`] checks header, footer and the index checksum, then walks the whole
//!   index once (no block is read): keys strictly ascending, each entry where the offset table
//!   says, blocks inside the data region, counts and times consistent with the footer. After
//!   that a lookup is a binary search over the fixed-width offset table, reading only the
//!   entries it compares (O(log columns)), and iteration never meets a malformed entry.
//! - A block's checksum is verified each time the block is read; a block that decodes to
//!   other counts or times than its index entry says is `Corrupt`.
//! - Every length read from the file is checked against the bytes that remain before anything
//!   is allocated from it: a hostile file costs at most its own size in memory.
//! - A file appears under its final name only complete and fsynced: it is written to
//!   `<name>.tmp`, fsynced, renamed, and the directory fsynced.

mod block;
mod format;
mod mapping;
mod reader;
#[cfg(test)]
mod tests;
mod writer;

use std::fmt;
use std::path::PathBuf;

use crate::codec::CodecError;
use sluice_model::record::FieldType;

pub use format::{
    BLOCK_CRC_SIZE_BYTES, BLOCK_META_SIZE_BYTES, BLOCK_STATS_SIZE_BYTES, FOOTER_SIZE_BYTES,
    FORMAT_VERSION, FORMAT_VERSION_WITHOUT_BLOCK_STATS, HEADER_SIZE_BYTES, MAGIC,
    OFFSET_SIZE_BYTES,
};
pub use reader::{BadBlock, BlockTotals, ColumnIter, FileReader};
pub use writer::{
    FileWriter, BLOCK_ALIGNMENT_MIN_VALUES, BLOCK_STATS_MIN_MEAN_VALUES, BLOCK_TIME_ALIGNMENT_NS,
};

/// Values per block a writer uses unless told otherwise.
pub const DEFAULT_MAX_VALUES_PER_BLOCK: usize = 1000;
/// Longest series key or field key a file holds (its length is a u16).
pub const KEY_LENGTH_MAX_BYTES: usize = u16::MAX as usize;

// The in-memory column is shared with the cache and the readers of the engine.
pub use crate::column::{Column, ColumnValues};

/// Where one block is and what it holds, as the index records it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct BlockMeta {
    /// Time of the first value (ns).
    pub min_time: i64,
    /// Time of the last value (ns).
    pub max_time: i64,
    /// Number of values, 1 ..= `codec::MAX_VALUES_PER_BLOCK`.
    pub count: u32,
    /// File offset of the block's first byte (its field type).
    pub offset: u64,
    /// Bytes of the block, its trailing crc32 included.
    pub size: u32,
    /// Its values' statistics, when the file records them (format version 2, numeric
    /// columns; see [`BlockStats`]).
    pub stats: Option<BlockStats>,
}

/// Statistics of one block's values, kept in the index so that a query over a block that
/// lies wholly in one window needs not decode it. Values are the bits of the column's type
/// (`f64::to_bits` of a float, an `i64` or `u64` as `u64`); floats never NaN (a column
/// holding one gets no statistics).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct BlockStats {
    /// smallest value
    pub min_bits: u64,
    /// time of its first occurrence
    pub min_at: i64,
    /// largest value
    pub max_bits: u64,
    /// time of its first occurrence
    pub max_at: i64,
    /// sum in time order: floats `((0.0 + v0) + v1) + ...`, integers wrapping `i64`,
    /// unsigned wrapping `u64`
    pub sum_bits: u64,
}

impl BlockStats {
    /// The statistics of `column`'s values `start..end` (non-empty, times ascending); None
    /// for a type without them or a float run holding a NaN.
    pub fn of(column: crate::column::ColumnView<'_>, start: usize, end: usize) -> Option<Self> {
        let times = column.times.get(start..end)?;
        match column.values {
            crate::column::ValuesView::Float(values) => {
                let values = values.get(start..end)?;
                if values.iter().any(|v| v.is_nan()) {
                    return None;
                }
                let sum = values.iter().fold(0.0f64, |sum, v| sum + v);
                Self::from_extremes(times, values, |a, b| a < b, f64::to_bits, sum.to_bits())
            }
            crate::column::ValuesView::Integer(values) => {
                let values = values.get(start..end)?;
                let sum = values.iter().fold(0i64, |sum, v| sum.wrapping_add(*v));
                Self::from_extremes(times, values, |a, b| a < b, |v| v as u64, sum as u64)
            }
            crate::column::ValuesView::Unsigned(values) => {
                let values = values.get(start..end)?;
                let sum = values.iter().fold(0u64, |sum, v| sum.wrapping_add(*v));
                Self::from_extremes(times, values, |a, b| a < b, |v| v, sum)
            }
            _ => None,
        }
    }

    fn from_extremes<T: Copy>(
        times: &[i64],
        values: &[T],
        less: impl Fn(&T, &T) -> bool,
        bits: impl Fn(T) -> u64,
        sum_bits: u64,
    ) -> Option<Self> {
        let (mut min_index, mut max_index) = (0, 0);
        let first = values.first()?;
        let (mut min, mut max) = (first, first);
        for (index, value) in values.iter().enumerate().skip(1) {
            if less(value, min) {
                (min, min_index) = (value, index);
            }
            if less(max, value) {
                (max, max_index) = (value, index);
            }
        }
        Some(BlockStats {
            min_bits: bits(*min),
            min_at: *times.get(min_index)?,
            max_bits: bits(*max),
            max_at: *times.get(max_index)?,
            sum_bits,
        })
    }
}

impl BlockMeta {
    /// Whether the block holds times within `min_time ..= max_time` (by its bounds).
    pub fn overlaps(&self, min_time: i64, max_time: i64) -> bool {
        self.min_time <= max_time && self.max_time >= min_time
    }
}

/// One column's index entry: its type and blocks, in time order.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ColumnEntry {
    /// Type of every value of the column.
    pub field_type: FieldType,
    /// The blocks, in time order, non-overlapping; never empty.
    pub blocks: Vec<BlockMeta>,
}

impl ColumnEntry {
    /// Time of the column's first value.
    pub fn min_time(&self) -> i64 {
        self.blocks.first().map_or(i64::MAX, |block| block.min_time)
    }

    /// Time of the column's last value.
    pub fn max_time(&self) -> i64 {
        self.blocks.last().map_or(i64::MIN, |block| block.max_time)
    }

    /// Number of values of the column.
    pub fn value_count(&self) -> u64 {
        self.blocks.iter().map(|block| u64::from(block.count)).sum()
    }
}

/// What a finished file holds.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FileSummary {
    /// The file's final path.
    pub path: PathBuf,
    /// Its size.
    pub size_bytes: u64,
    /// Columns it holds.
    pub column_count: u64,
    /// Blocks it holds.
    pub block_count: u64,
    /// Values it holds.
    pub value_count: u64,
    /// Time of its earliest value (`i64::MAX` when it holds none).
    pub min_time: i64,
    /// Time of its latest value (`i64::MIN` when it holds none).
    pub max_time: i64,
}

/// Why a file could not be written or read.
#[derive(Debug)]
pub enum TsmError {
    /// The operating system refused an operation on `path`.
    Io {
        /// The file or directory.
        path: PathBuf,
        /// The error.
        source: std::io::Error,
    },
    /// The file's bytes contradict the format: the file must not be used.
    Corrupt {
        /// The file.
        path: PathBuf,
        /// File offset of the structure found wrong.
        offset: u64,
        /// What is wrong.
        detail: String,
    },
    /// A column was written after a column with a greater or equal key (the offending key).
    KeyOrder {
        /// Series key of the column out of order.
        series_key: Vec<u8>,
        /// Field key of the column out of order.
        field: Vec<u8>,
    },
    /// A series key or field key is longer than [`KEY_LENGTH_MAX_BYTES`].
    KeyTooLong {
        /// Its length.
        length_bytes: usize,
    },
    /// A column handed to the writer breaks the rules (empty, unsorted, overlapping what was
    /// written for the key, another type than before, values and times of different lengths).
    InvalidColumn {
        /// Which rule.
        detail: &'static str,
    },
    /// A raw block handed to the writer does not match its meta or checksum.
    InvalidBlock {
        /// What is wrong.
        detail: &'static str,
    },
    /// A parameter is out of range.
    InvalidParameter {
        /// Which and why.
        detail: &'static str,
    },
    /// A column could not be encoded (e.g. strings too long for one block).
    Encode(CodecError),
    /// An earlier error left the writer's file incomplete: it can only be dropped.
    WriterFailed,
}

impl fmt::Display for TsmError {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TsmError::Io { path, source } => write!(formatter, "{}: {source}", path.display()),
            TsmError::Corrupt {
                path,
                offset,
                detail,
            } => write!(
                formatter,
                "{}: corrupt at offset {offset}: {detail}",
                path.display()
            ),
            TsmError::KeyOrder { series_key, field } => write!(
                formatter,
                "column {:?} {:?} written out of key order",
                String::from_utf8_lossy(series_key),
                String::from_utf8_lossy(field)
            ),
            TsmError::KeyTooLong { length_bytes } => write!(
                formatter,
                "key of {length_bytes} bytes exceeds {KEY_LENGTH_MAX_BYTES}"
            ),
            TsmError::InvalidColumn { detail } => write!(formatter, "invalid column: {detail}"),
            TsmError::InvalidBlock { detail } => write!(formatter, "invalid raw block: {detail}"),
            TsmError::InvalidParameter { detail } => {
                write!(formatter, "invalid parameter: {detail}")
            }
            TsmError::Encode(error) => write!(formatter, "cannot encode column: {error}"),
            TsmError::WriterFailed => write!(formatter, "writer failed earlier"),
        }
    }
}

impl std::error::Error for TsmError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            TsmError::Io { source, .. } => Some(source),
            TsmError::Encode(error) => Some(error),
            _ => None,
        }
    }
}
