//! The string (byte string) column: the lengths as an integer body, then the concatenated
//! bytes, LZ4-compressed when that is smaller.

use super::bits::{put_varint, varint_size, Input};
use super::integer::{self, IntegerScratch};
use super::{CodecError, STRING_BLOCK_BYTES_MAX};

/// Tag: lengths, then the bytes as they are.
pub const TAG_STRING_RAW: u8 = 0x40;
/// Tag: lengths, then the compressed size and an LZ4 block of the bytes.
pub const TAG_STRING_LZ4: u8 = 0x41;

/// Below this many bytes compression is not tried.
const COMPRESSION_INPUT_BYTES_MIN: usize = 32;
/// Most bytes one LZ4 block byte can expand to (a long match costs 1 byte per 255 out), with
/// slack; the decoder rejects bigger claims, so a tiny input cannot make it allocate much.
const LZ4_EXPANSION_RATIO_MAX: usize = 256;
/// Slack for fixed per-block overheads in the expansion check.
const LZ4_EXPANSION_SLACK_BYTES: usize = 64;

/// Whether an LZ4 block of `compressed_bytes` may honestly hold `total_bytes`.
fn lz4_expansion_plausible(compressed_bytes: usize, total_bytes: usize) -> bool {
    total_bytes
        <= compressed_bytes
            .saturating_mul(LZ4_EXPANSION_RATIO_MAX)
            .saturating_add(LZ4_EXPANSION_SLACK_BYTES)
}

/// Reusable buffers for encoding a string column.
#[derive(Default)]
pub(super) struct StringScratch {
    lengths: Vec<i64>,
    concatenated: Vec<u8>,
    compressed: Vec<u8>,
    integer: IntegerScratch,
}

/// Writes `[tag][count][lengths][bytes]`; the caller checked count and total size.
pub(super) fn encode(values: &[&[u8]], scratch: &mut StringScratch, dst: &mut Vec<u8>) {
    scratch.lengths.clear();
    scratch
        .lengths
        .extend(values.iter().map(|v| v.len() as i64));
    scratch.concatenated.clear();
    for value in values {
        scratch.concatenated.extend_from_slice(value);
    }
    let total_bytes = scratch.concatenated.len();
    let mut compressed_bytes = None;
    if total_bytes >= COMPRESSION_INPUT_BYTES_MIN {
        let bound = lz4_flex::block::get_maximum_output_size(total_bytes);
        scratch.compressed.clear();
        scratch.compressed.resize(bound, 0);
        if let Ok(size) =
            lz4_flex::block::compress_into(&scratch.concatenated, &mut scratch.compressed)
        {
            let pays = size + varint_size(size as u64) < total_bytes;
            if pays && lz4_expansion_plausible(size, total_bytes) {
                compressed_bytes = Some(size);
            }
        }
    }
    let tag = if compressed_bytes.is_some() {
        TAG_STRING_LZ4
    } else {
        TAG_STRING_RAW
    };
    dst.push(tag);
    put_varint(dst, values.len() as u64);
    integer::encode_body(&scratch.lengths, &mut scratch.integer, dst);
    match compressed_bytes.and_then(|size| scratch.compressed.get(..size)) {
        Some(block) => {
            put_varint(dst, block.len() as u64);
            dst.extend_from_slice(block);
        }
        None => dst.extend_from_slice(&scratch.concatenated),
    }
}

/// Decodes the payload of `tag` holding `count` strings: appends their bytes to `bytes` and
/// each one's end offset (into `bytes`) to `ends`.
pub(super) fn decode_payload(
    input: &mut Input<'_>,
    tag: u8,
    count: usize,
    bytes: &mut Vec<u8>,
    ends: &mut Vec<usize>,
) -> Result<(), CodecError> {
    if tag != TAG_STRING_RAW && tag != TAG_STRING_LZ4 {
        return Err(CodecError::BadTag(tag));
    }
    let start = bytes.len();
    let ends_start = ends.len();
    let mut total_bytes = 0u64;
    let mut too_long = false;
    let integer_tag = input.read_u8()?;
    ends.reserve(count);
    integer::decode_payload(input, integer_tag, count, |length| {
        total_bytes = total_bytes.saturating_add(length as u64);
        too_long |= total_bytes > STRING_BLOCK_BYTES_MAX as u64;
        ends.push(start.saturating_add(total_bytes as usize));
    })?;
    if too_long {
        ends.truncate(ends_start);
        return Err(CodecError::Corrupt(
            "strings longer than STRING_BLOCK_BYTES_MAX",
        ));
    }
    let total_bytes = total_bytes as usize;
    if tag == TAG_STRING_RAW {
        bytes.extend_from_slice(input.read_bytes(total_bytes)?);
        return Ok(());
    }
    let compressed_bytes = usize::try_from(input.read_varint()?).unwrap_or(usize::MAX);
    let block = input.read_bytes(compressed_bytes)?;
    if !lz4_expansion_plausible(block.len(), total_bytes) {
        return Err(CodecError::Corrupt("lz4 expansion too large"));
    }
    bytes.resize(start + total_bytes, 0);
    let output = bytes.get_mut(start..).unwrap_or(&mut []);
    match lz4_flex::block::decompress_into(block, output) {
        Ok(written) if written == total_bytes => Ok(()),
        _ => {
            bytes.truncate(start);
            Err(CodecError::Corrupt("lz4 block"))
        }
    }
}
