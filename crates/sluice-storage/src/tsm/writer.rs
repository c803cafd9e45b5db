//! Writing a file: blocks are streamed to `<final>.tmp` as columns arrive (in key order), the
//! index entries (keys and 32 bytes a block) are built in memory and, past
//! `INDEX_SPILL_BYTES`, moved to `<final>.index.tmp`, so a file of millions of columns does
//! not hold its whole index in memory (at 1M series × 10 fields it is ~800 MB). `finish`
//! appends index and footer, fsyncs, renames into place and fsyncs the directory.
//!
//! Invariants kept between calls: everything before `pending` is in the spill file then
//! `index_entries`, in strictly ascending key order; `pending` holds the key being written,
//! whose blocks are in strictly ascending, non-overlapping time order; `offset_bytes` is the
//! file size so far; the spill file holds exactly `spilled_bytes` bytes, hashed into
//! `index_hasher`.
//! A caller error (key order, bad column) is detected before any byte of the call is
//! written and leaves the writer usable; an I/O or encoding error after that marks it
//! failed, and dropping it removes the temporary file.
//!
//! The file itself is written through the `fsio` seam (so the fault simulations can fail
//! its writes, fsync and rename); the spilled index is scratch, never durable, and stays a
//! plain file.

use std::ffi::OsString;
use std::fs::{File, OpenOptions};
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use sluice_base::fsio::{FileSystem, FileWrite, OsFileSystem};

use crate::codec::{Encoder, MAX_VALUES_PER_BLOCK};
use sluice_model::record::FieldType;

use super::block;
use super::format::{
    field_type_byte, header, put_block_meta, put_entry_head, Footer, BLOCK_CRC_SIZE_BYTES,
    BLOCK_SIZE_MIN_BYTES, OFFSET_SIZE_BYTES,
};
use super::{BlockMeta, BlockStats, Column, FileSummary, TsmError, KEY_LENGTH_MAX_BYTES};
use crate::column::ColumnView;

/// Suffix of the file being written, removed by the rename in `finish`.
const TEMPORARY_SUFFIX: &str = ".tmp";
// Block metas count values in a u32.
const _: () = assert!(MAX_VALUES_PER_BLOCK <= u32::MAX as usize);

/// Suffix of the spilled index entries, removed when the writer is dropped.
const INDEX_SPILL_SUFFIX: &str = ".index.tmp";
/// Buffer between the writer and the file.
const WRITE_BUFFER_SIZE_BYTES: usize = 1 << 20;
/// Index entries held in memory before they are moved to the spill file. A snapshot and a
/// compaction may each hold this much at once; 2 MiB spills in a few system calls a second.
const INDEX_SPILL_BYTES: usize = 2 << 20;
/// Bytes of the offset table `finish` builds and writes at a time.
const OFFSET_TABLE_PIECE_BYTES: usize = 1 << 20;
/// A writer [`FileWriter::with_time_aligned_blocks`] ends blocks at multiples of this time
/// (since the epoch) once they hold [`BLOCK_ALIGNMENT_MIN_VALUES`]: GROUP BY time() windows
/// are aligned the same way, so a window of an hour or a multiple of it holds whole blocks,
/// answered from their statistics. It costs bytes (at 10 s a point: blocks of 360 values
/// instead of 1,000, ~12 % more), so the engine aligns only the files of hot shards.
pub const BLOCK_TIME_ALIGNMENT_NS: i64 = 3_600_000_000_000;
/// A block is not cut at an aligned time before it holds this many values (sparse series keep
/// long blocks: a block's fixed costs are paid over enough values).
pub const BLOCK_ALIGNMENT_MIN_VALUES: usize = 64;
/// An entry records block statistics when its blocks hold at least this many values on
/// average: 40 bytes a block are not worth it for a few points a series (1M series × 3
/// points would add 40 MB of index).
pub const BLOCK_STATS_MIN_MEAN_VALUES: u64 = 32;

/// The column whose blocks are being written.
struct PendingColumn {
    series_key: Vec<u8>,
    field: Vec<u8>,
    field_type: FieldType,
    blocks: Vec<BlockMeta>,
}

/// Writes one file; see the module doc. Dropping it before `finish` removes `<final>.tmp`.
pub struct FileWriter {
    final_path: PathBuf,
    temporary_path: PathBuf,
    /// `None` once finished or failed.
    file: Option<BufWriter<FileWrite>>,
    /// where the file is written, synced and renamed
    file_system: Arc<dyn FileSystem>,
    max_values_per_block: usize,
    /// blocks also end at multiples of [`BLOCK_TIME_ALIGNMENT_NS`]
    time_aligned_blocks: bool,
    /// Bytes written so far (header and blocks).
    offset_bytes: u64,
    encoder: Encoder,
    block_buffer: Vec<u8>,
    /// Finished index entries, in key order, after those already spilled.
    index_entries: Vec<u8>,
    /// Offset of each finished entry within the whole index (spilled bytes first).
    entry_offsets: Vec<u64>,
    /// Where index entries go past `INDEX_SPILL_BYTES` (created on first use).
    index_spill: Option<BufWriter<File>>,
    index_spill_path: PathBuf,
    /// Bytes of index entries in `index_spill`.
    spilled_bytes: u64,
    /// In-memory index entries that trigger a spill (`INDEX_SPILL_BYTES`; tests lower it).
    index_spill_threshold: usize,
    /// Bytes of the offset table written at a time (`OFFSET_TABLE_PIECE_BYTES`; tests lower
    /// it).
    offset_table_piece_bytes: usize,
    /// crc32 of the index entries spilled so far.
    index_hasher: crc32fast::Hasher,
    pending: Option<PendingColumn>,
    /// Set once the file is renamed into place: from then on it is no longer ours to remove.
    published: bool,
    block_count: u64,
    value_count: u64,
    min_time: i64,
    max_time: i64,
}

impl std::fmt::Debug for FileWriter {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter
            .debug_struct("FileWriter")
            .field("final_path", &self.final_path)
            .field("offset_bytes", &self.offset_bytes)
            .finish()
    }
}

impl FileWriter {
    /// This writer spilling its index entries past `bytes` instead of `INDEX_SPILL_BYTES`
    /// (tests: the spill path on small files).
    #[cfg(test)]
    pub(crate) fn with_index_spill_threshold(mut self, bytes: usize) -> FileWriter {
        self.index_spill_threshold = bytes;
        // ... and writing its offset table in pieces of that size.
        self.offset_table_piece_bytes = bytes;
        self
    }

    /// This writer ending blocks at aligned times too ([`BLOCK_TIME_ALIGNMENT_NS`]).
    pub fn with_time_aligned_blocks(mut self) -> FileWriter {
        self.time_aligned_blocks = true;
        self
    }

    /// This writer with [`Encoder::fast`] encodings (for snapshots, which compactions rewrite).
    pub fn with_fast_encoding(mut self) -> FileWriter {
        self.encoder = Encoder::fast();
        self
    }

    /// Starts writing the file that `finish` will publish as `final_path`; the bytes go to
    /// `<final_path>.tmp` meanwhile (replaced if a crash left one). Columns are cut into
    /// blocks of at most `max_values_per_block` values (1 ..= `codec::MAX_VALUES_PER_BLOCK`).
    pub fn create(final_path: &Path, max_values_per_block: usize) -> Result<FileWriter, TsmError> {
        Self::create_in(Arc::new(OsFileSystem), final_path, max_values_per_block)
    }

    /// [`FileWriter::create`] through `file_system`.
    pub fn create_in(
        file_system: Arc<dyn FileSystem>,
        final_path: &Path,
        max_values_per_block: usize,
    ) -> Result<FileWriter, TsmError> {
        if !(1..=MAX_VALUES_PER_BLOCK).contains(&max_values_per_block) {
            return Err(TsmError::InvalidParameter {
                detail: "max_values_per_block must be within 1 ..= codec::MAX_VALUES_PER_BLOCK",
            });
        }
        let mut temporary_name = OsString::from(final_path.as_os_str());
        temporary_name.push(TEMPORARY_SUFFIX);
        let temporary_path = PathBuf::from(temporary_name);
        let mut spill_name = OsString::from(final_path.as_os_str());
        spill_name.push(INDEX_SPILL_SUFFIX);
        let file = file_system
            .create(&temporary_path)
            .map_err(|source| TsmError::Io {
                path: temporary_path.clone(),
                source,
            })?;
        let mut writer = FileWriter {
            final_path: final_path.to_path_buf(),
            temporary_path,
            file: Some(BufWriter::with_capacity(
                WRITE_BUFFER_SIZE_BYTES,
                FileWrite(file),
            )),
            file_system,
            max_values_per_block,
            offset_bytes: 0,
            encoder: Encoder::new(),
            block_buffer: Vec::new(),
            index_entries: Vec::new(),
            entry_offsets: Vec::new(),
            index_spill: None,
            index_spill_path: PathBuf::from(spill_name),
            spilled_bytes: 0,
            index_spill_threshold: INDEX_SPILL_BYTES,
            time_aligned_blocks: false,
            offset_table_piece_bytes: OFFSET_TABLE_PIECE_BYTES,
            index_hasher: crc32fast::Hasher::new(),
            pending: None,
            published: false,
            block_count: 0,
            value_count: 0,
            min_time: i64::MAX,
            max_time: i64::MIN,
        };
        writer.write_all(&header())?;
        Ok(writer)
    }

    /// Appends `column` to the column `(series_key, field)`, cut into blocks. The key must be
    /// greater than every key written before, or equal to the last one if the column's first
    /// time is after that key's last time and its type the same. The column must be non-empty
    /// with strictly ascending times and as many values as times.
    pub fn write_column(
        &mut self,
        series_key: &[u8],
        field: &[u8],
        column: &Column,
    ) -> Result<(), TsmError> {
        self.write_column_view(series_key, field, column.view())
    }

    /// [`FileWriter::write_column`] of a borrowed column (same rules).
    pub fn write_column_view(
        &mut self,
        series_key: &[u8],
        field: &[u8],
        column: ColumnView<'_>,
    ) -> Result<(), TsmError> {
        check_column(column)?;
        let (Some(&first_time), Some(&last_time)) = (column.times.first(), column.times.last())
        else {
            return Err(TsmError::InvalidColumn {
                detail: "empty column",
            });
        };
        self.check_next(series_key, field, column.field_type(), first_time)?;
        self.begin_column(series_key, field, column.field_type());
        self.spill_index_if_large()?;
        let mut start = 0;
        while start < column.len() {
            let end = if self.time_aligned_blocks {
                aligned_block_end(column.times, start, self.max_values_per_block)
            } else {
                column.len().min(start + self.max_values_per_block)
            };
            self.block_buffer.clear();
            let encoded = block::encode(
                &mut self.encoder,
                column,
                start,
                end,
                &mut self.block_buffer,
            );
            if let Err(error) = encoded {
                self.fail();
                return Err(TsmError::Encode(error));
            }
            let times = column.times.get(start..end).unwrap_or(&[]);
            let meta = BlockMeta {
                min_time: times.first().copied().unwrap_or(first_time),
                max_time: times.last().copied().unwrap_or(last_time),
                count: (end - start) as u32,
                offset: self.offset_bytes,
                size: 0,
                stats: BlockStats::of(column, start, end),
            };
            let buffer = std::mem::take(&mut self.block_buffer);
            let result = self.append_block(meta, &buffer);
            self.block_buffer = buffer;
            result?;
            start = end;
        }
        Ok(())
    }

    /// Appends a block copied whole (field type through crc) from another file, as
    /// [`super::FileReader::read_block_raw`] returns it, to column `(series_key, field)`:
    /// the compaction fast path, no decoding. Same ordering rules as `write_column`; the
    /// block's size, type byte and crc must match `meta` and `field_type`.
    pub fn write_block_raw(
        &mut self,
        series_key: &[u8],
        field: &[u8],
        field_type: FieldType,
        meta: &BlockMeta,
        bytes: &[u8],
    ) -> Result<(), TsmError> {
        check_raw_block(field_type, meta, bytes)?;
        self.check_next(series_key, field, field_type, meta.min_time)?;
        self.begin_column(series_key, field, field_type);
        self.spill_index_if_large()?;
        self.append_block(*meta, bytes)
    }

    /// Writes index and footer, fsyncs the file, renames it to its final path and fsyncs the
    /// directory: the file is visible only whole and durable. Returns what it holds.
    pub fn finish(mut self) -> Result<FileSummary, TsmError> {
        self.end_column();
        let index_offset = self.offset_bytes;
        let entry_offsets = std::mem::take(&mut self.entry_offsets);
        let table_length = entry_offsets.len() * OFFSET_SIZE_BYTES;
        let footer = Footer {
            index_offset,
            index_length: self.spilled_bytes + (self.index_entries.len() + table_length) as u64,
            column_count: entry_offsets.len() as u64,
            value_count: self.value_count,
            min_time: self.min_time,
            max_time: self.max_time,
        };
        let mut hasher = std::mem::replace(&mut self.index_hasher, crc32fast::Hasher::new());
        hasher.update(&self.index_entries);
        self.copy_spilled_index()?;
        let entries = std::mem::take(&mut self.index_entries);
        self.write_all(&entries)?;
        drop(entries);
        // The offset table goes out in pieces: built whole it was another 8 bytes a column
        // in memory (80 MB for a snapshot at 1M series of 10 fields) next to `entry_offsets`.
        let piece_bytes = self.offset_table_piece_bytes.max(OFFSET_SIZE_BYTES);
        let mut table = Vec::with_capacity(piece_bytes.min(table_length));
        for relative in &entry_offsets {
            table.extend_from_slice(&(index_offset + relative).to_le_bytes());
            if table.len() >= piece_bytes {
                hasher.update(&table);
                self.write_all(&table)?;
                table.clear();
            }
        }
        hasher.update(&table);
        self.write_all(&table)?;
        hasher.update(&footer.checked_bytes());
        self.write_all(&footer.encode(hasher.finalize()))?;
        self.sync_and_publish()?;
        Ok(FileSummary {
            path: self.final_path.clone(),
            size_bytes: self.offset_bytes,
            column_count: footer.column_count,
            block_count: self.block_count,
            value_count: self.value_count,
            min_time: self.min_time,
            max_time: self.max_time,
        })
    }

    fn sync_and_publish(&mut self) -> Result<(), TsmError> {
        let Some(buffered) = self.file.take() else {
            return Err(TsmError::WriterFailed);
        };
        let temporary_error = |source| TsmError::Io {
            path: self.temporary_path.clone(),
            source,
        };
        let FileWrite(mut file) = buffered
            .into_inner()
            .map_err(|error| temporary_error(error.into_error()))?;
        file.sync_data().map_err(temporary_error)?;
        drop(file);
        self.file_system
            .rename(&self.temporary_path, &self.final_path)
            .map_err(temporary_error)?;
        self.published = true;
        let directory = match self.final_path.parent() {
            Some(parent) if !parent.as_os_str().is_empty() => parent,
            _ => Path::new("."),
        };
        let synced = self.file_system.sync_directory(directory);
        if let Err(source) = synced {
            // The caller takes this as a file never written and does not serve it, but the
            // rename is done: left in place, the next start would serve it, outside what
            // tombstones written meanwhile were pruned for. Take it back.
            if self.file_system.remove_file(&self.final_path).is_ok() {
                let _ = self.file_system.sync_directory(directory);
            }
            return Err(TsmError::Io {
                path: directory.to_path_buf(),
                source,
            });
        }
        Ok(())
    }

    /// Checks that a block of `(series_key, field)` of `field_type` starting at `first_time`
    /// may come next.
    fn check_next(
        &self,
        series_key: &[u8],
        field: &[u8],
        field_type: FieldType,
        first_time: i64,
    ) -> Result<(), TsmError> {
        if self.file.is_none() {
            return Err(TsmError::WriterFailed);
        }
        for key in [series_key, field] {
            if key.len() > KEY_LENGTH_MAX_BYTES {
                return Err(TsmError::KeyTooLong {
                    length_bytes: key.len(),
                });
            }
        }
        let Some(pending) = &self.pending else {
            return Ok(());
        };
        let pending_key = (pending.series_key.as_slice(), pending.field.as_slice());
        if pending_key < (series_key, field) {
            return Ok(());
        }
        if pending_key > (series_key, field) {
            return Err(TsmError::KeyOrder {
                series_key: series_key.to_vec(),
                field: field.to_vec(),
            });
        }
        if pending.field_type != field_type {
            return Err(TsmError::InvalidColumn {
                detail: "field type differs from earlier blocks of the column",
            });
        }
        let last_time = pending.blocks.last().map_or(i64::MIN, |meta| meta.max_time);
        if first_time <= last_time {
            return Err(TsmError::InvalidColumn {
                detail: "times do not follow the column's earlier blocks",
            });
        }
        Ok(())
    }

    /// Makes `(series_key, field)` the pending column, ending the previous one if it differs.
    /// `check_next` has approved the key.
    fn begin_column(&mut self, series_key: &[u8], field: &[u8], field_type: FieldType) {
        if let Some(pending) = &self.pending {
            if pending.series_key == series_key && pending.field == field {
                return;
            }
        }
        self.end_column();
        let mut pending = self.pending.take().unwrap_or(PendingColumn {
            series_key: Vec::new(),
            field: Vec::new(),
            field_type,
            blocks: Vec::new(),
        });
        pending.series_key.clear();
        pending.series_key.extend_from_slice(series_key);
        pending.field.clear();
        pending.field.extend_from_slice(field);
        pending.field_type = field_type;
        pending.blocks.clear();
        self.pending = Some(pending);
    }

    /// Moves the pending column, if it has blocks, into the index (keeping its buffers).
    fn end_column(&mut self) {
        let Some(pending) = &mut self.pending else {
            return;
        };
        if pending.blocks.is_empty() {
            return;
        }
        self.entry_offsets
            .push(self.spilled_bytes + self.index_entries.len() as u64);
        let values: u64 = pending.blocks.iter().map(|m| u64::from(m.count)).sum();
        let with_stats = pending.blocks.iter().all(|m| m.stats.is_some())
            && values >= BLOCK_STATS_MIN_MEAN_VALUES * pending.blocks.len() as u64;
        put_entry_head(
            &mut self.index_entries,
            &pending.series_key,
            &pending.field,
            pending.field_type,
            pending.blocks.len() as u32,
            with_stats,
        );
        for meta in &pending.blocks {
            put_block_meta(&mut self.index_entries, meta, with_stats);
        }
        pending.blocks.clear();
    }

    /// Writes one whole block of the pending column and records it.
    fn append_block(&mut self, mut meta: BlockMeta, bytes: &[u8]) -> Result<(), TsmError> {
        let Ok(size) = u32::try_from(bytes.len()) else {
            self.fail();
            return Err(TsmError::InvalidBlock {
                detail: "block larger than 4 GiB",
            });
        };
        meta.offset = self.offset_bytes;
        meta.size = size;
        self.write_all(bytes)?;
        let Some(pending) = &mut self.pending else {
            panic!("BUG: block appended without a pending column");
        };
        pending.blocks.push(meta);
        self.block_count += 1;
        self.value_count += u64::from(meta.count);
        self.min_time = self.min_time.min(meta.min_time);
        self.max_time = self.max_time.max(meta.max_time);
        Ok(())
    }

    /// Moves the in-memory index entries to the spill file once they pass
    /// `INDEX_SPILL_BYTES`.
    fn spill_index_if_large(&mut self) -> Result<(), TsmError> {
        if self.index_entries.len() < self.index_spill_threshold {
            return Ok(());
        }
        let spill_error = |writer: &mut FileWriter, source| {
            writer.fail();
            TsmError::Io {
                path: writer.index_spill_path.clone(),
                source,
            }
        };
        if self.index_spill.is_none() {
            let opened = OpenOptions::new()
                .read(true)
                .write(true)
                .create(true)
                .truncate(true)
                .open(&self.index_spill_path);
            match opened {
                Ok(file) => {
                    self.index_spill = Some(BufWriter::with_capacity(WRITE_BUFFER_SIZE_BYTES, file))
                }
                Err(source) => return Err(spill_error(self, source)),
            }
        }
        let Some(spill) = &mut self.index_spill else {
            return Err(TsmError::WriterFailed);
        };
        if let Err(source) = spill.write_all(&self.index_entries) {
            return Err(spill_error(self, source));
        }
        self.index_hasher.update(&self.index_entries);
        self.spilled_bytes += self.index_entries.len() as u64;
        self.index_entries.clear();
        Ok(())
    }

    /// Appends the spilled index entries, if any, to the file.
    fn copy_spilled_index(&mut self) -> Result<(), TsmError> {
        use std::io::{Read, Seek};
        let Some(spill) = self.index_spill.take() else {
            return Ok(());
        };
        let path = self.index_spill_path.clone();
        let spill_error = |writer: &mut FileWriter, source| {
            writer.fail();
            TsmError::Io {
                path: path.clone(),
                source,
            }
        };
        let mut file = match spill.into_inner() {
            Ok(file) => file,
            Err(error) => return Err(spill_error(self, error.into_error())),
        };
        if let Err(source) = file.rewind() {
            return Err(spill_error(self, source));
        }
        let mut buffer = vec![0u8; WRITE_BUFFER_SIZE_BYTES];
        let mut copied = 0u64;
        while copied < self.spilled_bytes {
            let remaining = usize::try_from(self.spilled_bytes - copied).unwrap_or(usize::MAX);
            let window = buffer.len().min(remaining);
            let read = match file.read(buffer.get_mut(..window).unwrap_or(&mut [])) {
                Ok(0) => {
                    let short = std::io::Error::new(
                        std::io::ErrorKind::UnexpectedEof,
                        "spilled index shorter than written",
                    );
                    return Err(spill_error(self, short));
                }
                Ok(read) => read,
                Err(error) if error.kind() == std::io::ErrorKind::Interrupted => continue,
                Err(source) => return Err(spill_error(self, source)),
            };
            self.write_all(buffer.get(..read).unwrap_or(&[]))?;
            copied += read as u64;
        }
        Ok(())
    }

    fn write_all(&mut self, bytes: &[u8]) -> Result<(), TsmError> {
        let Some(file) = &mut self.file else {
            return Err(TsmError::WriterFailed);
        };
        if let Err(source) = file.write_all(bytes) {
            self.fail();
            return Err(TsmError::Io {
                path: self.temporary_path.clone(),
                source,
            });
        }
        self.offset_bytes += bytes.len() as u64;
        Ok(())
    }

    /// Marks the writer failed: its file is incomplete and only dropping it is left.
    fn fail(&mut self) {
        self.file = None;
    }
}

impl Drop for FileWriter {
    fn drop(&mut self) {
        // Unfinished or failed: the temporary file must not linger.
        if !self.published {
            let _ = self.file_system.remove_file(&self.temporary_path);
        }
        // The spilled index was copied into the file (or the file is abandoned).
        if self.spilled_bytes > 0 || self.index_spill.is_some() {
            let _ = std::fs::remove_file(&self.index_spill_path);
        }
    }
}

/// Checks a column handed to `write_column`: as many values as times, times
/// strictly ascending.
/// Where the block starting at `start` ends: after `max_values` values, or earlier at the
/// first time past a multiple of [`BLOCK_TIME_ALIGNMENT_NS`] once it holds
/// [`BLOCK_ALIGNMENT_MIN_VALUES`].
fn aligned_block_end(times: &[i64], start: usize, max_values: usize) -> usize {
    let end = times.len().min(start.saturating_add(max_values.max(1)));
    let aligned_from = start + BLOCK_ALIGNMENT_MIN_VALUES;
    let Some(window) = times.get(aligned_from.saturating_sub(1)..end) else {
        return end;
    };
    let period = |time: i64| time.div_euclid(BLOCK_TIME_ALIGNMENT_NS);
    window
        .windows(2)
        .position(|pair| period(pair[0]) != period(pair[1]))
        .map_or(end, |index| aligned_from + index)
}

fn check_column(column: ColumnView<'_>) -> Result<(), TsmError> {
    if column.values.len() != column.times.len() {
        return Err(TsmError::InvalidColumn {
            detail: "values and times differ in number",
        });
    }
    if column.times.windows(2).any(|pair| pair[0] >= pair[1]) {
        return Err(TsmError::InvalidColumn {
            detail: "times not strictly ascending",
        });
    }
    Ok(())
}

/// Checks a raw block against its meta: size, count, times, type byte and crc.
fn check_raw_block(field_type: FieldType, meta: &BlockMeta, bytes: &[u8]) -> Result<(), TsmError> {
    let invalid = |detail| Err(TsmError::InvalidBlock { detail });
    if bytes.len() != meta.size as usize || bytes.len() < BLOCK_SIZE_MIN_BYTES {
        return invalid("size differs from its meta");
    }
    if meta.count == 0 || meta.count as usize > MAX_VALUES_PER_BLOCK {
        return invalid("count out of range");
    }
    if meta.min_time > meta.max_time {
        return invalid("min time after max time");
    }
    if bytes.first() != Some(&field_type_byte(field_type)) {
        return invalid("field type differs from the block's");
    }
    let body = bytes
        .get(..bytes.len() - BLOCK_CRC_SIZE_BYTES)
        .unwrap_or(&[]);
    if block::verified_body(bytes).ok() != Some(body) {
        return invalid("checksum mismatch");
    }
    Ok(())
}
