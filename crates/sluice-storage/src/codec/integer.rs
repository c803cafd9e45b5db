//! The i64 column body shared by timestamps, integers, unsigned (as their two's-complement
//! bits), decimal float mantissas and string lengths: plan the candidate encodings' sizes,
//! write the smallest, and decode any of them.
//!
//! All arithmetic on deltas wraps, so every i64 sequence round-trips, sorted or not.

use super::bits::{
    bit_width, load_bits, put_varint, unzigzag, varint_size, zigzag, BitWriter, Input,
};
use super::simple8b::{self, SIMPLE8B_VALUE_BITS_MAX, SIMPLE8B_WORD_BYTES};
use super::CodecError;

/// Tag: each value as 8 little-endian bytes.
pub const TAG_INTEGER_RAW: u8 = 0x10;
/// Tag: first value, then runs of equal deltas.
pub const TAG_INTEGER_RUN_LENGTH: u8 = 0x11;
/// Tag: first value, then a stream of the deltas.
pub const TAG_INTEGER_DELTA: u8 = 0x12;
/// Tag: first value and first delta, then a stream of the deltas of deltas.
pub const TAG_INTEGER_DELTA_OF_DELTA: u8 = 0x13;
/// Tag: a stream of the values themselves (small or narrow-ranged unordered values).
pub const TAG_INTEGER_PACKED: u8 = 0x14;

/// Stream kind bit: values packed with Simple-8b (else bit-packed at one width).
const STREAM_SIMPLE8B: u8 = 1;
/// Stream kind bit: values zig-zagged (else offsets from a minimum stored up front).
const STREAM_ZIGZAG: u8 = 2;
/// Largest stream kind.
const STREAM_KIND_MAX: u8 = STREAM_SIMPLE8B | STREAM_ZIGZAG;
/// Bytes of a raw value.
const RAW_VALUE_BYTES: usize = 8;

/// Reusable buffers for planning and writing an i64 body.
#[derive(Default)]
pub(super) struct IntegerScratch {
    items: Vec<i64>,
    offsets: Vec<u64>,
    /// plan without Simple-8b (whose sizing is most of the planning cost)
    pub(super) fast: bool,
}

/// How one stream of deltas (or deltas of deltas, or values) would be written.
#[derive(Clone, Copy)]
struct StreamPlan {
    kind: u8,
    minimum: i64,
    width: u32,
    size_bytes: usize,
}

/// Fills `offsets` with the stream's unsigned form: zig-zag, or offset from `minimum`.
fn fill_offsets(items: &[i64], zigzagged: bool, minimum: i64, offsets: &mut Vec<u64>) {
    offsets.clear();
    if zigzagged {
        offsets.extend(items.iter().map(|&v| zigzag(v)));
    } else {
        offsets.extend(items.iter().map(|&v| v.wrapping_sub(minimum) as u64));
    }
}

/// Sizes the stream of `items` four ways (offset or zig-zag × bit-packed or Simple-8b);
/// Simple-8b is only counted when its lower bound beats both the best so far and
/// `limit_bytes`. Returns `None` when nothing is under `limit_bytes`.
fn plan_stream(
    items: &[i64],
    offsets: &mut Vec<u64>,
    limit_bytes: usize,
    simple8b: bool,
) -> Option<StreamPlan> {
    let (minimum, maximum) = items.iter().fold((i64::MAX, i64::MIN), |(low, high), &v| {
        (low.min(v), high.max(v))
    });
    let minimum = if items.is_empty() { 0 } else { minimum };
    let range = (maximum.wrapping_sub(minimum) as u64) * u64::from(!items.is_empty());
    let zigzag_max = items.iter().fold(0u64, |high, &v| high.max(zigzag(v)));
    let mut transforms = [false, true].map(|zigzagged| {
        if zigzagged {
            (zigzagged, bit_width(zigzag_max), 1)
        } else {
            (
                zigzagged,
                bit_width(range),
                1 + varint_size(zigzag(minimum)),
            )
        }
    });
    transforms.sort_by_key(|&(_, width, _)| width);
    let mut best: Option<StreamPlan> = None;
    for (zigzagged, width, header_bytes) in transforms {
        let kind = if zigzagged { STREAM_ZIGZAG } else { 0 };
        let packed_bytes = header_bytes + 1 + (items.len() * width as usize).div_ceil(8);
        if best.is_none_or(|b| packed_bytes < b.size_bytes) {
            best = Some(StreamPlan {
                kind,
                minimum,
                width,
                size_bytes: packed_bytes,
            });
        }
    }
    for (zigzagged, width, header_bytes) in transforms.into_iter().filter(|_| simple8b) {
        let bar = best.map_or(limit_bytes, |b| b.size_bytes.min(limit_bytes));
        if width <= 1 || width > SIMPLE8B_VALUE_BITS_MAX || header_bytes >= bar {
            continue;
        }
        let to_offset = |v: i64| {
            if zigzagged {
                zigzag(v)
            } else {
                v.wrapping_sub(minimum) as u64
            }
        };
        let bound = simple8b::words_lower_bound(items.iter().map(|&v| to_offset(v)));
        if header_bytes + bound * SIMPLE8B_WORD_BYTES >= bar {
            continue;
        }
        fill_offsets(items, zigzagged, minimum, offsets);
        let simple_bytes = header_bytes + simple8b::pack(offsets, None) * SIMPLE8B_WORD_BYTES;
        if simple_bytes < bar {
            let kind = STREAM_SIMPLE8B | if zigzagged { STREAM_ZIGZAG } else { 0 };
            best = Some(StreamPlan {
                kind,
                minimum,
                width,
                size_bytes: simple_bytes,
            });
        }
    }
    best.filter(|b| b.size_bytes < limit_bytes)
}

fn write_stream(items: &[i64], plan: StreamPlan, offsets: &mut Vec<u64>, dst: &mut Vec<u8>) {
    dst.push(plan.kind);
    let zigzagged = plan.kind & STREAM_ZIGZAG != 0;
    if !zigzagged {
        put_varint(dst, zigzag(plan.minimum));
    }
    fill_offsets(items, zigzagged, plan.minimum, offsets);
    if plan.kind & STREAM_SIMPLE8B != 0 {
        simple8b::pack(offsets, Some(dst));
        return;
    }
    dst.push(plan.width as u8);
    let mut writer = BitWriter::new(dst);
    if plan.width > 0 {
        for &offset in offsets.iter() {
            writer.write(offset, plan.width);
        }
    }
    writer.finish();
}

fn read_stream(
    input: &mut Input<'_>,
    count: usize,
    mut emit: impl FnMut(i64),
) -> Result<(), CodecError> {
    let kind = input.read_u8()?;
    if kind > STREAM_KIND_MAX {
        return Err(CodecError::Corrupt("integer stream kind"));
    }
    let zigzagged = kind & STREAM_ZIGZAG != 0;
    let minimum = if zigzagged {
        0
    } else {
        unzigzag(input.read_varint()?)
    };
    let mut emit_offset = |offset: u64| {
        emit(if zigzagged {
            unzigzag(offset)
        } else {
            minimum.wrapping_add(offset as i64)
        })
    };
    if kind & STREAM_SIMPLE8B != 0 {
        return simple8b::unpack(input, count, emit_offset);
    }
    let width = u32::from(input.read_u8()?);
    if width > u64::BITS {
        return Err(CodecError::Corrupt("bit width over 64"));
    }
    let packed = input.read_bytes((count * width as usize).div_ceil(8))?;
    for index in 0..count {
        emit_offset(load_bits(packed, index * width as usize, width));
    }
    Ok(())
}

/// Size of the run-length body, or `None` once it passes `limit_bytes` (or for no values).
fn run_length_size(values: &[i64], limit_bytes: usize) -> Option<usize> {
    let first = *values.first()?;
    let mut size_bytes = varint_size(zigzag(first));
    let mut runs = 0u64;
    for_each_run(values, |delta, length| {
        runs += 1;
        size_bytes += varint_size(zigzag(delta)) + varint_size(length);
        size_bytes <= limit_bytes
    });
    size_bytes += varint_size(runs);
    (size_bytes <= limit_bytes).then_some(size_bytes)
}

/// Calls `visit(delta, length)` for each run of equal deltas until it returns false.
fn for_each_run(values: &[i64], mut visit: impl FnMut(i64, u64) -> bool) {
    let mut deltas = values.windows(2).map(|pair| pair[1].wrapping_sub(pair[0]));
    let Some(mut current) = deltas.next() else {
        return;
    };
    let mut length = 1u64;
    for delta in deltas {
        if delta == current {
            length += 1;
        } else {
            if !visit(current, length) {
                return;
            }
            current = delta;
            length = 1;
        }
    }
    visit(current, length);
}

/// The chosen encoding of an i64 body.
#[derive(Clone, Copy)]
pub(super) struct IntegerPlan {
    /// The encoding tag.
    pub(super) tag: u8,
    /// Payload bytes (without the tag).
    pub(super) size_bytes: usize,
    /// The stream layout, for the stream encodings.
    stream: Option<StreamPlan>,
}

/// Chooses the smallest encoding for `values` (of those sized: not Simple-8b when
/// `scratch.fast`).
pub(super) fn plan(values: &[i64], scratch: &mut IntegerScratch) -> IntegerPlan {
    let mut best = IntegerPlan {
        tag: TAG_INTEGER_RAW,
        size_bytes: values.len() * RAW_VALUE_BYTES,
        stream: None,
    };
    if let Some(size_bytes) = run_length_size(values, best.size_bytes) {
        best = IntegerPlan {
            tag: TAG_INTEGER_RUN_LENGTH,
            size_bytes,
            stream: None,
        };
    }
    let Some((&first, _)) = values.split_first() else {
        return best;
    };
    let first_bytes = varint_size(zigzag(first));
    let simple8b = !scratch.fast;
    if values.len() >= 2 {
        scratch.items.clear();
        scratch
            .items
            .extend(values.windows(2).map(|p| p[1].wrapping_sub(p[0])));
        let limit = best.size_bytes.saturating_sub(first_bytes);
        if let Some(stream) = plan_stream(&scratch.items, &mut scratch.offsets, limit, simple8b) {
            let size_bytes = first_bytes + stream.size_bytes;
            best = IntegerPlan {
                tag: TAG_INTEGER_DELTA,
                size_bytes,
                stream: Some(stream),
            };
        }
    }
    if values.len() >= 3 {
        let first_delta = fill_delta_of_delta(values, &mut scratch.items);
        let header_bytes = first_bytes + varint_size(zigzag(first_delta));
        let limit = best.size_bytes.saturating_sub(header_bytes);
        if let Some(stream) = plan_stream(&scratch.items, &mut scratch.offsets, limit, simple8b) {
            let size_bytes = header_bytes + stream.size_bytes;
            let tag = TAG_INTEGER_DELTA_OF_DELTA;
            best = IntegerPlan {
                tag,
                size_bytes,
                stream: Some(stream),
            };
        }
    }
    if let Some(stream) = plan_stream(values, &mut scratch.offsets, best.size_bytes, simple8b) {
        let size_bytes = stream.size_bytes;
        best = IntegerPlan {
            tag: TAG_INTEGER_PACKED,
            size_bytes,
            stream: Some(stream),
        };
    }
    best
}

/// Fills `items` with the deltas of deltas of `values` and returns the first delta.
fn fill_delta_of_delta(values: &[i64], items: &mut Vec<i64>) -> i64 {
    items.clear();
    items.extend(values.windows(3).map(|w| {
        w[2].wrapping_sub(w[1])
            .wrapping_sub(w[1].wrapping_sub(w[0]))
    }));
    match values {
        [first, second, ..] => second.wrapping_sub(*first),
        _ => 0,
    }
}

/// Writes the payload of `plan` (from [`plan`] on the same values) for `values`.
pub(super) fn write(
    values: &[i64],
    plan: IntegerPlan,
    scratch: &mut IntegerScratch,
    dst: &mut Vec<u8>,
) {
    let first = values.first().copied().unwrap_or(0);
    match (plan.tag, plan.stream) {
        (TAG_INTEGER_RUN_LENGTH, _) => {
            put_varint(dst, zigzag(first));
            let mut runs = 0u64;
            for_each_run(values, |_, _| {
                runs += 1;
                true
            });
            put_varint(dst, runs);
            for_each_run(values, |delta, length| {
                put_varint(dst, zigzag(delta));
                put_varint(dst, length);
                true
            });
        }
        (TAG_INTEGER_PACKED, Some(stream)) => {
            write_stream(values, stream, &mut scratch.offsets, dst);
        }
        (TAG_INTEGER_DELTA, Some(stream)) => {
            put_varint(dst, zigzag(first));
            scratch.items.clear();
            scratch
                .items
                .extend(values.windows(2).map(|p| p[1].wrapping_sub(p[0])));
            write_stream(&scratch.items, stream, &mut scratch.offsets, dst);
        }
        (TAG_INTEGER_DELTA_OF_DELTA, Some(stream)) => {
            put_varint(dst, zigzag(first));
            let first_delta = fill_delta_of_delta(values, &mut scratch.items);
            put_varint(dst, zigzag(first_delta));
            write_stream(&scratch.items, stream, &mut scratch.offsets, dst);
        }
        _ => {
            debug_assert!(
                plan.tag == TAG_INTEGER_RAW,
                "BUG: integer plan without a stream"
            );
            for &value in values {
                dst.extend_from_slice(&value.to_le_bytes());
            }
        }
    }
}

/// Writes `[tag][payload]` for `values` with `plan` (from [`plan`] on the same values).
pub(super) fn write_body(
    values: &[i64],
    plan: IntegerPlan,
    scratch: &mut IntegerScratch,
    dst: &mut Vec<u8>,
) {
    dst.push(plan.tag);
    write(values, plan, scratch, dst);
}

/// Plans and writes `[tag][payload]` for `values`.
pub(super) fn encode_body(values: &[i64], scratch: &mut IntegerScratch, dst: &mut Vec<u8>) {
    let plan = plan(values, scratch);
    write_body(values, plan, scratch, dst);
}

/// Decodes the payload of encoding `tag` holding `count` values, passing each to `emit`.
pub(super) fn decode_payload(
    input: &mut Input<'_>,
    tag: u8,
    count: usize,
    mut emit: impl FnMut(i64),
) -> Result<(), CodecError> {
    match tag {
        TAG_INTEGER_RAW => {
            let bytes = input.read_bytes(count * RAW_VALUE_BYTES)?;
            for chunk in bytes.chunks_exact(RAW_VALUE_BYTES) {
                let mut array = [0u8; RAW_VALUE_BYTES];
                array.copy_from_slice(chunk);
                emit(i64::from_le_bytes(array));
            }
            Ok(())
        }
        TAG_INTEGER_RUN_LENGTH => decode_run_length(input, count, emit),
        TAG_INTEGER_PACKED => read_stream(input, count, emit),
        TAG_INTEGER_DELTA => {
            let mut value = first_value(input, count, 1)?;
            emit(value);
            read_stream(input, count - 1, |delta| {
                value = value.wrapping_add(delta);
                emit(value);
            })
        }
        TAG_INTEGER_DELTA_OF_DELTA => {
            let mut value = first_value(input, count, 2)?;
            let mut delta = unzigzag(input.read_varint()?);
            emit(value);
            value = value.wrapping_add(delta);
            emit(value);
            read_stream(input, count - 2, |delta_of_delta| {
                delta = delta.wrapping_add(delta_of_delta);
                value = value.wrapping_add(delta);
                emit(value);
            })
        }
        other => Err(CodecError::BadTag(other)),
    }
}

/// Reads the first value of a column that needs at least `count_min` values.
fn first_value(input: &mut Input<'_>, count: usize, count_min: usize) -> Result<i64, CodecError> {
    if count < count_min {
        return Err(CodecError::Corrupt(
            "too few values for the integer encoding",
        ));
    }
    Ok(unzigzag(input.read_varint()?))
}

fn decode_run_length(
    input: &mut Input<'_>,
    count: usize,
    mut emit: impl FnMut(i64),
) -> Result<(), CodecError> {
    let mut value = first_value(input, count, 1)?;
    emit(value);
    let runs = input.read_varint()?;
    let deltas_expected = (count - 1) as u64;
    if runs > deltas_expected {
        return Err(CodecError::Corrupt("more runs than values"));
    }
    let mut deltas_seen = 0u64;
    for _ in 0..runs {
        let delta = unzigzag(input.read_varint()?);
        let length = input.read_varint()?;
        if length == 0 || length > deltas_expected - deltas_seen {
            return Err(CodecError::Corrupt("run length"));
        }
        deltas_seen += length;
        for _ in 0..length {
            value = value.wrapping_add(delta);
            emit(value);
        }
    }
    if deltas_seen != deltas_expected {
        return Err(CodecError::Corrupt("runs do not cover the values"));
    }
    Ok(())
}
