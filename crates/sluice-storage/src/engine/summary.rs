//! Reads that answer from block metadata instead of decoding: a column's points as decoded
//! values plus block *summaries* (time span and count), and the first or last point of a
//! column decoded from one end.
//!
//! Owns no state; it reads a [`Shard`] as [`Shard::read`] does (the cache before the file
//! list, files older first, newest wins on equal times) and must give the same points.
//!
//! A file block may be summarized only when its points are exactly what a merged read would
//! return for its span: it lies wholly inside the asked range, no tombstone applies to the
//! series in its file (a delete may have removed some of its points), and no other block of
//! the column (in any file) nor the cache's points of the column overlap its
//! `[min_time, max_time]` (a newer source would win some of its times, an older one would
//! add points between them), and the column has the type there that the merge keeps (the
//! type in the first file holding it). Everything else is decoded and merged exactly as
//! `read` does, so the decoded points and the summarized blocks never share a time.
//!
//! One difference, on damaged files only: a block that fails its checksum is skipped alone
//! (and logged), where `read` drops that file's whole column; a summarized block is not read,
//! so its checksum is not checked (`sluice verify` checks every block.)

use super::shard::{merge_into, Shard};
use crate::column::Column;
use crate::tsm::{BlockMeta, BlockStats};
use sluice_model::record::FieldType;

/// What a summarized block holds: `count` points, the first at `min_time`, the last at
/// `max_time`, none of them in the decoded part of the same read; the statistics of their
/// values when its file records them.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct BlockSummary {
    /// time of its first point
    pub min_time: i64,
    /// time of its last point
    pub max_time: i64,
    /// number of points
    pub count: u64,
    /// type of its values (the type the merged column has)
    pub field_type: FieldType,
    /// min, max, sum of its values ([`BlockStats`]), if recorded
    pub stats: Option<BlockStats>,
}

/// A column read as [`Shard::read_summarized`] returns it: the points of `decoded` and of
/// every summary together are the points [`Shard::read`] returns, each exactly once.
#[derive(Clone, Debug, Default)]
pub struct SummarizedColumn {
    /// the decoded points (normal; None if every point is in a summary or there is none)
    pub decoded: Option<Column>,
    /// blocks taken from their metadata, in no particular order
    pub summaries: Vec<BlockSummary>,
}

/// Which end of a column [`Shard::read_edge`] reads.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Edge {
    /// the earliest point
    First,
    /// the latest point
    Last,
}

/// A block of one file that overlaps the read's range.
struct FileBlock {
    /// index of the file in the shard's file list
    file: usize,
    meta: BlockMeta,
    field_type: FieldType,
    /// a tombstone applies to the series in its file, or the column has another type there
    /// than in the first file holding it (a merge keeps only that type's points)
    not_summarizable: bool,
}

impl Shard {
    /// The points of one column within `[min_time, max_time]`, with the blocks that may be
    /// summarized (see the module doc) and whose summary `summarizable` accepts returned as
    /// summaries instead of decoded.
    pub fn read_summarized(
        &self,
        series_key: &[u8],
        field: &[u8],
        (min_time, max_time): (i64, i64),
        summarizable: &dyn Fn(&BlockSummary) -> bool,
    ) -> SummarizedColumn {
        let cached = self.read_cache(series_key, field, min_time, max_time);
        let tombstones = self.tombstones();
        let files = self.files();
        let mut blocks: Vec<FileBlock> = Vec::new();
        // Per file holding the column, its points decoded (of its own type, as `read` reads
        // them: merging then keeps the type of the first file holding the column).
        let mut decoded: Vec<Option<Column>> = vec![None; files.len()];
        let mut first_type = None;
        for (index, file) in files.iter().enumerate() {
            if file.reader.max_time() < min_time || file.reader.min_time() > max_time {
                continue;
            }
            let Some(entry) = file.reader.find(series_key, field) else {
                continue;
            };
            if let Some(slot) = decoded.get_mut(index) {
                *slot = Some(Column::empty(entry.field_type));
            }
            let first_type = *first_type.get_or_insert(entry.field_type);
            let not_summarizable = tombstones.touches(series_key, file.last_generation)
                || entry.field_type != first_type;
            blocks.extend(
                entry
                    .blocks
                    .iter()
                    .filter(|meta| meta.overlaps(min_time, max_time))
                    .map(|meta| FileBlock {
                        file: index,
                        meta: *meta,
                        field_type: entry.field_type,
                        not_summarizable,
                    }),
            );
        }
        let cache_span = cached
            .as_ref()
            .and_then(|c| Some((*c.times.first()?, *c.times.last()?)));
        let alone = blocks_alone(&blocks, cache_span);
        let mut result = SummarizedColumn::default();
        for (block, alone) in blocks.iter().zip(alone) {
            let meta = &block.meta;
            let inside = min_time <= meta.min_time && meta.max_time <= max_time;
            let summary = BlockSummary {
                min_time: meta.min_time,
                max_time: meta.max_time,
                count: u64::from(meta.count),
                field_type: block.field_type,
                stats: meta.stats,
            };
            if alone && inside && !block.not_summarizable && summarizable(&summary) {
                result.summaries.push(summary);
                continue;
            }
            let (Some(file), Some(Some(column))) =
                (files.get(block.file), decoded.get_mut(block.file))
            else {
                panic!(
                    "BUG: block of file {} that holds no such column",
                    block.file
                );
            };
            if let Err(error) = file.reader.read_block_into(meta, column) {
                sluice_base::log_error!("storage", "corrupt block skipped"; shard = self.id, error = error);
            }
        }
        // A file's blocks ascend and do not overlap, so each file's column is normal.
        for (file, column) in files.iter().zip(decoded) {
            if let Some(mut column) = column {
                column.retain_time_range(min_time, max_time);
                tombstones.apply(series_key, file.last_generation, &mut column);
                merge_into(&mut result.decoded, column);
            }
        }
        if let Some(column) = cached {
            merge_into(&mut result.decoded, column);
        }
        result.decoded = result.decoded.filter(|column| !column.is_empty());
        result
    }

    /// The first or last point of one column within `[min_time, max_time]` (as a column of
    /// one point), decoding from that end of each file only as far as its first point left
    /// after tombstones. Same point as the edge of [`Shard::read`].
    pub fn read_edge(
        &self,
        series_key: &[u8],
        field: &[u8],
        (min_time, max_time): (i64, i64),
        edge: Edge,
    ) -> Option<Column> {
        let cached = self.read_cache(series_key, field, min_time, max_time);
        let tombstones = self.tombstones();
        // Every source's edge point, older sources first; the best time wins, and of equal
        // times the newest source (as a merge would keep).
        let mut best: Option<Column> = None;
        let mut offer = |candidate: Column| {
            let better = match (&best, edge_time(&candidate, edge)) {
                (_, None) => false,
                (None, Some(_)) => true,
                (Some(current), Some(time)) => match (edge, edge_time(current, edge)) {
                    (_, None) => true,
                    (Edge::First, Some(current_time)) => time <= current_time,
                    (Edge::Last, Some(current_time)) => time >= current_time,
                },
            };
            if better {
                best = Some(candidate);
            }
        };
        // A merge keeps the type of the first file holding the column (else the cache's).
        let mut merged_type = None;
        for file in self.files().iter() {
            if file.reader.max_time() < min_time || file.reader.min_time() > max_time {
                continue;
            }
            let Some(entry) = file.reader.find(series_key, field) else {
                continue;
            };
            if *merged_type.get_or_insert(entry.field_type) != entry.field_type {
                continue;
            }
            let overlapping = entry
                .blocks
                .iter()
                .filter(|meta| meta.overlaps(min_time, max_time));
            let ordered: Box<dyn Iterator<Item = &BlockMeta>> = match edge {
                Edge::First => Box::new(overlapping),
                Edge::Last => Box::new(overlapping.rev()),
            };
            for meta in ordered {
                let mut column = Column::empty(entry.field_type);
                if let Err(error) = file.reader.read_block_into(meta, &mut column) {
                    sluice_base::log_error!("storage", "corrupt block skipped"; shard = self.id, error = error);
                    continue;
                }
                column.retain_time_range(min_time, max_time);
                tombstones.apply(series_key, file.last_generation, &mut column);
                if let Some(point) = edge_point(column, edge) {
                    offer(point);
                    break;
                }
            }
        }
        let cached = cached.filter(|c| merged_type.is_none_or(|t| t == c.field_type()));
        if let Some(point) = cached.and_then(|column| edge_point(column, edge)) {
            offer(point);
        }
        best
    }
}

/// For each block, whether no other block nor the cache's span overlaps it.
fn blocks_alone(blocks: &[FileBlock], cache_span: Option<(i64, i64)>) -> Vec<bool> {
    let mut order: Vec<usize> = (0..blocks.len()).collect();
    order.sort_by_key(|index| blocks.get(*index).map(|b| b.meta.min_time));
    let meta = |position: usize| {
        order
            .get(position)
            .and_then(|index| blocks.get(*index))
            .map(|block| block.meta)
    };
    let mut alone = vec![false; blocks.len()];
    // The latest end of the blocks before, in start order.
    let mut ended_before = i64::MIN;
    for position in 0..order.len() {
        let (Some(this), Some(index)) = (meta(position), order.get(position)) else {
            break;
        };
        let next_starts_after = meta(position + 1).is_none_or(|next| next.min_time > this.max_time);
        let cache_apart =
            cache_span.is_none_or(|(first, last)| last < this.min_time || first > this.max_time);
        let starts_after = position == 0 || ended_before < this.min_time;
        if let Some(slot) = alone.get_mut(*index) {
            *slot = starts_after && next_starts_after && cache_apart;
        }
        ended_before = ended_before.max(this.max_time);
    }
    alone
}

fn edge_time(column: &Column, edge: Edge) -> Option<i64> {
    match edge {
        Edge::First => column.times.first().copied(),
        Edge::Last => column.times.last().copied(),
    }
}

/// The column cut to its edge point (None if empty).
fn edge_point(mut column: Column, edge: Edge) -> Option<Column> {
    let time = edge_time(&column, edge)?;
    column.retain_time_range(time, time);
    Some(column)
}
