//! Reading a finished file: open (verify footer, index checksum and index structure), look a
//! column up by binary search over the offset table, iterate columns, read blocks.
//!
//! The file is memory-mapped ([`super::mapping`]) or, for tests and fuzzing, held in a
//! `Vec<u8>`; either way every access is bounds-checked, so bytes that changed after the
//! checks at open can only produce `Corrupt` errors or missing columns, never a panic.

use std::cmp::Ordering;
use std::fs::File;
use std::path::{Path, PathBuf};

use crate::codec::MAX_VALUES_PER_BLOCK;

use super::block;
use super::format::{
    Footer, RawEntry, BLOCK_SIZE_MIN_BYTES, FOOTER_CHECKED_SIZE_BYTES, FOOTER_SIZE_BYTES,
    FORMAT_VERSION, FORMAT_VERSION_WITHOUT_BLOCK_STATS, HEADER_SIZE_BYTES, MAGIC,
    OFFSET_SIZE_BYTES,
};
use super::mapping::Mapping;
use super::{BlockMeta, Column, ColumnEntry, TsmError};

/// Verification at open releases the pages it read every this many bytes of index.
const VERIFY_RELEASE_STEP_BYTES: usize = 1 << 20;

/// Where the bytes of an open file live.
enum Storage {
    Mapped(Mapping),
    Owned(Vec<u8>),
}

/// An open, verified file. `Send + Sync`: share it between query threads in an `Arc`.
pub struct FileReader {
    path: PathBuf,
    storage: Storage,
    /// File offset of the first index entry (= end of the data region).
    index_offset: usize,
    /// File offset of the offset table (= end of the index entries).
    offset_table_offset: usize,
    column_count: usize,
    value_count: u64,
    min_time: i64,
    max_time: i64,
    /// format version of the file (1: no block statistics)
    version: u32,
}

impl std::fmt::Debug for FileReader {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter
            .debug_struct("FileReader")
            .field("path", &self.path)
            .field("column_count", &self.column_count)
            .field("size_bytes", &self.size_bytes())
            .finish()
    }
}

impl FileReader {
    /// Opens and maps `path`, verifying header, footer, index checksum and index structure
    /// (not the blocks: each is verified when read).
    pub fn open(path: &Path) -> Result<FileReader, TsmError> {
        let io_error = |source| TsmError::Io {
            path: path.to_path_buf(),
            source,
        };
        let file = File::open(path).map_err(io_error)?;
        let size_bytes = file.metadata().map_err(io_error)?.len();
        let too_small = TsmError::Corrupt {
            path: path.to_path_buf(),
            offset: 0,
            detail: format!("file of {size_bytes} bytes is smaller than header and footer"),
        };
        let length = usize::try_from(size_bytes).map_err(|_| TsmError::Corrupt {
            path: path.to_path_buf(),
            offset: 0,
            detail: "file too large to map".to_owned(),
        })?;
        if length < HEADER_SIZE_BYTES + FOOTER_SIZE_BYTES {
            return Err(too_small);
        }
        let mapping = Mapping::new(&file, length).map_err(io_error)?;
        let reader = FileReader::verify(path.to_path_buf(), Storage::Mapped(mapping))?;
        // Verifying read the whole index (at 1M series, hundreds of MiB); reads fault back
        // only the pages they need, so do not keep them all resident.
        reader.release_pages(0, size_bytes);
        Ok(reader)
    }

    /// Opens a file held in memory (tests, fuzzing, files fetched whole); `label` stands for
    /// the path in errors.
    pub fn from_bytes(bytes: Vec<u8>, label: &Path) -> Result<FileReader, TsmError> {
        FileReader::verify(label.to_path_buf(), Storage::Owned(bytes))
    }

    fn verify(path: PathBuf, storage: Storage) -> Result<FileReader, TsmError> {
        let mut reader = FileReader {
            path,
            storage,
            index_offset: 0,
            offset_table_offset: 0,
            column_count: 0,
            value_count: 0,
            min_time: i64::MAX,
            max_time: i64::MIN,
            version: FORMAT_VERSION,
        };
        let footer = reader.verify_envelope()?;
        reader.verify_index(&footer)?;
        reader.value_count = footer.value_count;
        reader.min_time = footer.min_time;
        reader.max_time = footer.max_time;
        Ok(reader)
    }

    fn corrupt(&self, offset: usize, detail: impl Into<String>) -> TsmError {
        TsmError::Corrupt {
            path: self.path.clone(),
            offset: offset as u64,
            detail: detail.into(),
        }
    }

    /// Checks header, footer and index checksum; sets the index bounds.
    fn verify_envelope(&mut self) -> Result<Footer, TsmError> {
        let bytes = self.bytes();
        let size = bytes.len();
        let footer_offset = size
            .checked_sub(FOOTER_SIZE_BYTES)
            .filter(|&offset| offset >= HEADER_SIZE_BYTES)
            .ok_or_else(|| self.corrupt(0, "file smaller than header and footer"))?;
        let header = bytes.get(..HEADER_SIZE_BYTES).unwrap_or(&[]);
        if header.get(..MAGIC.len()) != Some(&MAGIC[..]) {
            return Err(self.corrupt(0, "bad magic in header"));
        }
        let version = header
            .get(MAGIC.len()..)
            .and_then(|version| <[u8; 4]>::try_from(version).ok())
            .map(u32::from_le_bytes);
        let version = match version {
            Some(known @ (FORMAT_VERSION_WITHOUT_BLOCK_STATS | FORMAT_VERSION)) => known,
            _ => return Err(self.corrupt(MAGIC.len(), format!("unsupported version {version:?}"))),
        };
        let footer_bytes = bytes
            .get(footer_offset..)
            .and_then(|footer| <&[u8; FOOTER_SIZE_BYTES]>::try_from(footer).ok())
            .ok_or_else(|| self.corrupt(footer_offset, "footer out of bounds"))?;
        let (footer, stored_crc) =
            Footer::decode(footer_bytes).map_err(|detail| self.corrupt(footer_offset, detail))?;
        let index_offset = usize::try_from(footer.index_offset)
            .ok()
            .filter(|&offset| offset >= HEADER_SIZE_BYTES)
            .ok_or_else(|| self.corrupt(footer_offset, "index offset out of bounds"))?;
        let index_end = usize::try_from(footer.index_length)
            .ok()
            .and_then(|length| index_offset.checked_add(length))
            .filter(|&end| end == footer_offset)
            .ok_or_else(|| self.corrupt(footer_offset, "index does not end at the footer"))?;
        let index = bytes.get(index_offset..index_end).unwrap_or(&[]);
        let mut hasher = crc32fast::Hasher::new();
        for (number, chunk) in index.chunks(VERIFY_RELEASE_STEP_BYTES).enumerate() {
            hasher.update(chunk);
            // A big index is read once here: do not let it all become resident at once.
            let chunk_offset = index_offset + number * VERIFY_RELEASE_STEP_BYTES;
            self.release_pages(chunk_offset as u64, chunk.len() as u64);
        }
        hasher.update(&footer.checked_bytes());
        if hasher.finalize() != stored_crc {
            return Err(self.corrupt(footer_offset + FOOTER_CHECKED_SIZE_BYTES, "index checksum"));
        }
        let table_length = usize::try_from(footer.column_count)
            .ok()
            .and_then(|count| count.checked_mul(OFFSET_SIZE_BYTES))
            .filter(|&length| length <= index.len())
            .ok_or_else(|| self.corrupt(footer_offset, "column count exceeds the index"))?;
        self.version = version;
        self.index_offset = index_offset;
        self.offset_table_offset = index_end - table_length;
        self.column_count = table_length / OFFSET_SIZE_BYTES;
        Ok(footer)
    }

    /// Walks every index entry once: each where the offset table says, keys strictly
    /// ascending, blocks sane and inside the data region, totals equal to the footer's.
    fn verify_index(&self, footer: &Footer) -> Result<(), TsmError> {
        let mut position = self.index_offset;
        let mut previous_key: Option<(&[u8], &[u8])> = None;
        let mut value_count = 0u64;
        let mut min_time = i64::MAX;
        let mut max_time = i64::MIN;
        let mut released_to = (self.index_offset, 0usize);
        for ordinal in 0..self.column_count {
            if position - released_to.0 >= VERIFY_RELEASE_STEP_BYTES {
                // Entries and offset table are walked once: give back what was read.
                self.release_pages(released_to.0 as u64, (position - released_to.0) as u64);
                let table_start = self.offset_table_offset + released_to.1 * OFFSET_SIZE_BYTES;
                let table_length = (ordinal - released_to.1) * OFFSET_SIZE_BYTES;
                self.release_pages(table_start as u64, table_length as u64);
                released_to = (position, ordinal);
            }
            if self.entry_offset(ordinal) != Some(position) {
                return Err(self.corrupt(position, "offset table disagrees with the entries"));
            }
            let entry = self
                .entry_at(position)
                .map_err(|detail| self.corrupt(position, detail))?;
            let key = (entry.series_key, entry.field);
            if previous_key.is_some_and(|previous| previous >= key) {
                return Err(self.corrupt(position, "index keys not strictly ascending"));
            }
            previous_key = Some(key);
            if entry.block_count() == 0 {
                return Err(self.corrupt(position, "column without blocks"));
            }
            let mut previous_max_time: Option<i64> = None;
            for meta in entry.blocks() {
                self.verify_block_meta(&meta, previous_max_time)
                    .map_err(|detail| self.corrupt(position, detail))?;
                previous_max_time = Some(meta.max_time);
                value_count = value_count.saturating_add(u64::from(meta.count));
                min_time = min_time.min(meta.min_time);
                max_time = max_time.max(meta.max_time);
            }
            position += entry.size_bytes;
        }
        if position != self.offset_table_offset {
            return Err(self.corrupt(position, "index entries do not end at the offset table"));
        }
        let totals = (value_count, min_time, max_time);
        if totals != (footer.value_count, footer.min_time, footer.max_time) {
            return Err(self.corrupt(position, "footer totals differ from the index"));
        }
        Ok(())
    }

    fn verify_block_meta(
        &self,
        meta: &BlockMeta,
        previous_max_time: Option<i64>,
    ) -> Result<(), &'static str> {
        let end = meta.offset.checked_add(u64::from(meta.size));
        if meta.offset < HEADER_SIZE_BYTES as u64
            || end.is_none_or(|end| end > self.index_offset as u64)
        {
            return Err("block outside the data region");
        }
        if (meta.size as usize) < BLOCK_SIZE_MIN_BYTES {
            return Err("block too small");
        }
        if meta.count == 0 || meta.count as usize > MAX_VALUES_PER_BLOCK {
            return Err("block value count out of range");
        }
        // Unique integer times: a block of n values spans at least n - 1 nanoseconds.
        let span = i128::from(meta.max_time) - i128::from(meta.min_time);
        if span < i128::from(meta.count) - 1 {
            return Err("block time range narrower than its count");
        }
        if previous_max_time.is_some_and(|previous| previous >= meta.min_time) {
            return Err("blocks of a column overlap or are out of time order");
        }
        if let Some(stats) = &meta.stats {
            let inside = |time: i64| meta.min_time <= time && time <= meta.max_time;
            if !inside(stats.min_at) || !inside(stats.max_at) {
                return Err("block statistics name times outside the block");
            }
        }
        Ok(())
    }

    /// All the file's bytes.
    fn bytes(&self) -> &[u8] {
        match &self.storage {
            Storage::Mapped(mapping) => mapping.bytes(),
            Storage::Owned(bytes) => bytes,
        }
    }

    /// File offset of entry `ordinal`, from the offset table.
    fn entry_offset(&self, ordinal: usize) -> Option<usize> {
        let start = self
            .offset_table_offset
            .checked_add(ordinal.checked_mul(OFFSET_SIZE_BYTES)?)?;
        let bytes = self
            .bytes()
            .get(start..start.checked_add(OFFSET_SIZE_BYTES)?)?;
        let offset = u64::from_le_bytes(<[u8; OFFSET_SIZE_BYTES]>::try_from(bytes).ok()?);
        usize::try_from(offset).ok()
    }

    /// The entry at file offset `position`, which must lie within the entries.
    fn entry_at(&self, position: usize) -> Result<RawEntry<'_>, &'static str> {
        let entries = self
            .bytes()
            .get(position..self.offset_table_offset)
            .filter(|entries| !entries.is_empty() && position >= self.index_offset)
            .ok_or("index entry offset out of bounds")?;
        RawEntry::parse(entries, self.version)
    }

    /// Entry `ordinal` (None only if the file changed after it was verified).
    fn entry(&self, ordinal: usize) -> Option<RawEntry<'_>> {
        self.entry_at(self.entry_offset(ordinal)?).ok()
    }

    /// The first ordinal whose key is ≥ `(series_key, field)`: a binary search that reads
    /// only the O(log n) entries it compares.
    fn lower_bound(&self, series_key: &[u8], field: &[u8]) -> usize {
        let (mut low, mut high) = (0, self.column_count);
        while low < high {
            let middle = low + (high - low) / 2;
            let ordering = match self.entry(middle) {
                Some(entry) => (entry.series_key, entry.field).cmp(&(series_key, field)),
                None => Ordering::Greater,
            };
            if ordering == Ordering::Less {
                low = middle + 1;
            } else {
                high = middle;
            }
        }
        low
    }

    /// The path the file was opened from (or the label given to `from_bytes`).
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Drops the process's resident copy of the file bytes in `offset .. offset + length`
    /// (page cache keeps them; see `Mapping::release`). No-op for files held in memory.
    pub fn release_pages(&self, offset: u64, length: u64) {
        if let Storage::Mapped(mapping) = &self.storage {
            let offset = usize::try_from(offset).unwrap_or(usize::MAX);
            let length = usize::try_from(length).unwrap_or(usize::MAX);
            mapping.release(offset, length);
        }
    }

    /// [`FileReader::release_pages`] over the index (entries and offset table): for a reader
    /// walking the whole index once, as a compaction does.
    pub fn release_index_pages(&self) {
        let end = self.bytes().len();
        self.release_pages(
            self.index_offset as u64,
            end.saturating_sub(self.index_offset) as u64,
        );
    }

    /// Size of the file.
    pub fn size_bytes(&self) -> u64 {
        self.bytes().len() as u64
    }

    /// Number of columns.
    pub fn column_count(&self) -> usize {
        self.column_count
    }

    /// Number of values in all columns.
    pub fn value_count(&self) -> u64 {
        self.value_count
    }

    /// Time of the earliest value (`i64::MAX` if the file holds none).
    pub fn min_time(&self) -> i64 {
        self.min_time
    }

    /// Time of the latest value (`i64::MIN` if the file holds none).
    pub fn max_time(&self) -> i64 {
        self.max_time
    }

    /// The index entry of `(series_key, field)`, if the file holds that column.
    pub fn find(&self, series_key: &[u8], field: &[u8]) -> Option<ColumnEntry> {
        let ordinal = self.lower_bound(series_key, field);
        let entry = self.entry(ordinal)?;
        (entry.series_key == series_key && entry.field == field).then(|| column_entry(&entry))
    }

    /// Whether the file holds any column of series `series_key`.
    pub fn holds_series(&self, series_key: &[u8]) -> bool {
        let ordinal = self.lower_bound(series_key, &[]);
        self.entry(ordinal)
            .is_some_and(|entry| entry.series_key == series_key)
    }

    /// Every column, in key order: `(series key, field key, entry)`.
    pub fn columns(&self) -> ColumnIter<'_> {
        ColumnIter {
            reader: self,
            next_ordinal: 0,
            series_key_prefix: &[],
        }
    }

    /// The columns whose series key starts with `series_key_prefix`, in key order (e.g.
    /// prefix `cpu,` for every series of measurement `cpu`; plain `cpu` would also match
    /// `cpu2`).
    pub fn columns_with_prefix<'a>(&'a self, series_key_prefix: &'a [u8]) -> ColumnIter<'a> {
        ColumnIter {
            reader: self,
            next_ordinal: self.lower_bound(series_key_prefix, &[]),
            series_key_prefix,
        }
    }

    /// The bytes of a whole block (field type through crc) after checking its crc: what
    /// [`super::FileWriter::write_block_raw`] copies into another file.
    pub fn read_block_raw(&self, meta: &BlockMeta) -> Result<&[u8], TsmError> {
        Ok(self.verified_block(meta)?.0)
    }

    /// The whole block `meta` describes and its body (without crc), crc checked.
    fn verified_block(&self, meta: &BlockMeta) -> Result<(&[u8], &[u8]), TsmError> {
        let offset = usize::try_from(meta.offset).unwrap_or(usize::MAX);
        let block = offset
            .checked_add(meta.size as usize)
            .filter(|_| offset >= HEADER_SIZE_BYTES)
            .and_then(|end| self.bytes().get(offset..end.min(self.index_offset)))
            .filter(|block| block.len() == meta.size as usize)
            .ok_or_else(|| self.corrupt(offset, "block outside the data region"))?;
        let body = block::verified_body(block).map_err(|detail| self.corrupt(offset, detail))?;
        Ok((block, body))
    }

    /// Decodes the block `meta` describes (crc checked, contents checked against `meta`).
    pub fn read_block(&self, meta: &BlockMeta) -> Result<Column, TsmError> {
        let (_, body) = self.verified_block(meta)?;
        let field_type = block::body_field_type(body)
            .map_err(|detail| self.corrupt(meta.offset as usize, detail))?;
        let mut column = Column::empty(field_type);
        self.decode_block_into(meta, body, &mut column)?;
        Ok(column)
    }

    /// Decodes the block `meta` describes and appends its values to `column`, which must be
    /// of the block's type and end before the block's first time. On error `column` is left
    /// as it was.
    pub fn read_block_into(&self, meta: &BlockMeta, column: &mut Column) -> Result<(), TsmError> {
        let (_, body) = self.verified_block(meta)?;
        self.decode_block_into(meta, body, column)
    }

    fn decode_block_into(
        &self,
        meta: &BlockMeta,
        body: &[u8],
        column: &mut Column,
    ) -> Result<(), TsmError> {
        if column
            .times
            .last()
            .is_some_and(|&last| last >= meta.min_time)
        {
            return Err(TsmError::InvalidColumn {
                detail: "block starts before the end of the column it is appended to",
            });
        }
        let length_before = column.len();
        if let Err(detail) = block::decode_into(body, meta, column) {
            column.retain_first(length_before);
            return Err(self.corrupt(meta.offset as usize, detail));
        }
        Ok(())
    }

    /// Reads every block of every column once, as a query would (checksum, decoding, type,
    /// count and times against the index entry), and hands each one that fails to
    /// `on_bad_block`; for `sluice verify`. The pages of each block are given back after it
    /// is checked, so checking a file bigger than memory does not grow the resident set.
    pub fn check_blocks(&self, mut on_bad_block: impl FnMut(BadBlock<'_>)) -> BlockTotals {
        let mut totals = BlockTotals::default();
        for (series_key, field, entry) in self.columns() {
            // One buffer per column, emptied between blocks: each block is checked alone
            // (their order was checked at open), without an allocation per block.
            let mut column = Column::empty(entry.field_type);
            for meta in &entry.blocks {
                column.retain_first(0);
                totals.blocks += 1;
                totals.values += u64::from(meta.count);
                let read = self.read_block_into(meta, &mut column).and_then(|()| {
                    let computed = super::BlockStats::of(column.view(), 0, column.len());
                    match meta.stats {
                        Some(stats) if Some(stats) != computed => Err(self.corrupt(
                            meta.offset as usize,
                            "block statistics differ from its values",
                        )),
                        _ => Ok(()),
                    }
                });
                if let Err(error) = read {
                    totals.bad_blocks += 1;
                    on_bad_block(BadBlock {
                        series_key,
                        field,
                        meta: *meta,
                        error,
                    });
                }
                self.release_pages(meta.offset, u64::from(meta.size));
            }
        }
        self.release_index_pages();
        totals
    }

    /// The values of column `(series_key, field)` with `min_time <= time <= max_time`; only
    /// blocks overlapping the range are read. `None` if the file holds no such column.
    pub fn read_column_range(
        &self,
        series_key: &[u8],
        field: &[u8],
        min_time: i64,
        max_time: i64,
    ) -> Result<Option<Column>, TsmError> {
        let Some(entry) = self.find(series_key, field) else {
            return Ok(None);
        };
        let mut column = Column::empty(entry.field_type);
        for meta in entry
            .blocks
            .iter()
            .filter(|meta| meta.overlaps(min_time, max_time))
        {
            self.read_block_into(meta, &mut column)?;
        }
        column.retain_time_range(min_time, max_time);
        Ok(Some(column))
    }
}

/// A block [`FileReader::check_blocks`] could not read.
#[derive(Debug)]
pub struct BadBlock<'a> {
    /// Series key of its column.
    pub series_key: &'a [u8],
    /// Field key of its column.
    pub field: &'a [u8],
    /// Where the index says it is and what it holds.
    pub meta: BlockMeta,
    /// Why it failed (`Corrupt`, with the block's offset).
    pub error: TsmError,
}

/// What [`FileReader::check_blocks`] read.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct BlockTotals {
    /// Blocks checked.
    pub blocks: u64,
    /// Values the index says those blocks hold.
    pub values: u64,
    /// Blocks that failed.
    pub bad_blocks: u64,
}

fn column_entry(entry: &RawEntry<'_>) -> ColumnEntry {
    ColumnEntry {
        field_type: entry.field_type,
        blocks: entry.blocks().collect(),
    }
}

/// Columns of a file in key order, optionally only those whose series key has a prefix.
pub struct ColumnIter<'a> {
    reader: &'a FileReader,
    next_ordinal: usize,
    series_key_prefix: &'a [u8],
}

impl<'a> Iterator for ColumnIter<'a> {
    type Item = (&'a [u8], &'a [u8], ColumnEntry);

    fn next(&mut self) -> Option<Self::Item> {
        if self.next_ordinal >= self.reader.column_count {
            return None;
        }
        let entry = self.reader.entry(self.next_ordinal)?;
        if !entry.series_key.starts_with(self.series_key_prefix) {
            self.next_ordinal = self.reader.column_count;
            return None;
        }
        self.next_ordinal += 1;
        Some((entry.series_key, entry.field, column_entry(&entry)))
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        (
            0,
            Some(self.reader.column_count.saturating_sub(self.next_ordinal)),
        )
    }
}

// Query threads share readers through `Arc`.
const _: fn() = || {
    fn is_send_sync<T: Send + Sync>() {}
    is_send_sync::<FileReader>();
};
