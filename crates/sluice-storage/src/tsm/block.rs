//! One block: `[field type u8][timestamp column][value column][crc32 u32]`, the two columns in
//! `storage::codec`'s self-describing encodings and the crc32 (IEEE) over every byte before it.
//!
//! Encoding appends to a caller's buffer with a reused [`Encoder`]; decoding appends to a
//! caller's [`Column`] and checks the block against its index meta (count, first and last
//! time) and that its times strictly ascend, so a block that passes its checksum yet
//! disagrees with the index is still caught.

use crate::codec::{self, CodecError, Encoder};
use sluice_model::record::FieldType;

use super::format::{field_type_byte, field_type_from_byte, BLOCK_CRC_SIZE_BYTES};
use super::{BlockMeta, Column, ColumnValues};
use crate::column::{ColumnView, ValuesView};

/// Appends the block of `column`'s values `start..end` (times and values), crc included.
/// The caller guarantees `start < end <= column.len()`.
pub(super) fn encode(
    encoder: &mut Encoder,
    column: ColumnView<'_>,
    start: usize,
    end: usize,
    dst: &mut Vec<u8>,
) -> Result<(), CodecError> {
    let block_start = dst.len();
    dst.push(field_type_byte(column.field_type()));
    let times = column.times.get(start..end).unwrap_or(&[]);
    encoder.encode_timestamps(times, dst)?;
    match column.values.range(start, end) {
        ValuesView::Float(values) => encoder.encode_floats(values, dst)?,
        ValuesView::Integer(values) => encoder.encode_integers(values, dst)?,
        ValuesView::Unsigned(values) => encoder.encode_unsigned(values, dst)?,
        ValuesView::Boolean(values) => encoder.encode_booleans(values, dst)?,
        ValuesView::String(values) => {
            let strings: Vec<&[u8]> = values.iter().map(Vec::as_slice).collect();
            encoder.encode_strings(&strings, dst)?
        }
    }
    let crc = crc32fast::hash(dst.get(block_start..).unwrap_or(&[]));
    dst.extend_from_slice(&crc.to_le_bytes());
    Ok(())
}

/// Splits a whole block into its body and checks the trailing crc; returns the body.
pub(super) fn verified_body(block: &[u8]) -> Result<&[u8], &'static str> {
    let body_length = block
        .len()
        .checked_sub(BLOCK_CRC_SIZE_BYTES)
        .ok_or("block shorter than its checksum")?;
    let (body, crc_bytes) = block.split_at(body_length);
    let mut stored = [0u8; BLOCK_CRC_SIZE_BYTES];
    stored.copy_from_slice(crc_bytes);
    if crc32fast::hash(body) != u32::from_le_bytes(stored) {
        return Err("block checksum mismatch");
    }
    Ok(body)
}

/// The field type a block body says it holds.
pub(super) fn body_field_type(body: &[u8]) -> Result<FieldType, &'static str> {
    let byte = *body.first().ok_or("empty block")?;
    field_type_from_byte(byte).ok_or("unknown field type in block")
}

/// Decodes a verified block body and appends its values to `column`, which must be of the
/// block's type. Checks the block against `meta`. On error `column` may hold part of the
/// block; callers discard it.
pub(super) fn decode_into(
    body: &[u8],
    meta: &BlockMeta,
    column: &mut Column,
) -> Result<(), String> {
    if body_field_type(body)? != column.field_type() {
        return Err("block field type differs from its index entry".to_owned());
    }
    let columns = body.get(1..).unwrap_or(&[]);
    let times_start = column.times.len();
    let times_length = codec::decode_timestamps(columns, &mut column.times)
        .map_err(|error| format!("timestamps: {error}"))?;
    let values_bytes = columns.get(times_length..).unwrap_or(&[]);
    let values_length = decode_values(values_bytes, &mut column.values)
        .map_err(|error| format!("values: {error}"))?;
    if values_length != values_bytes.len() {
        return Err("bytes after the value column".to_owned());
    }
    let times = column.times.get(times_start..).unwrap_or(&[]);
    check_times(times, meta)?;
    if column.values.len() != column.times.len() {
        return Err("value count differs from timestamp count".to_owned());
    }
    Ok(())
}

/// Checks decoded times against the block meta: count, bounds, strictly ascending.
fn check_times(times: &[i64], meta: &BlockMeta) -> Result<(), &'static str> {
    if times.len() != meta.count as usize {
        return Err("block value count differs from its index entry");
    }
    if times.first() != Some(&meta.min_time) || times.last() != Some(&meta.max_time) {
        return Err("block times differ from its index entry");
    }
    if times.windows(2).any(|pair| pair[0] >= pair[1]) {
        return Err("block times not strictly ascending");
    }
    Ok(())
}

fn decode_values(src: &[u8], values: &mut ColumnValues) -> Result<usize, CodecError> {
    match values {
        ColumnValues::Float(values) => codec::decode_floats(src, values),
        ColumnValues::Integer(values) => codec::decode_integers(src, values),
        ColumnValues::Unsigned(values) => codec::decode_unsigned(src, values),
        ColumnValues::Boolean(values) => codec::decode_booleans(src, values),
        ColumnValues::String(values) => codec::decode_strings(src, values),
    }
}
