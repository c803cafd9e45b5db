//! The boolean column: bit-packed, or runs of alternating values; the smaller wins.

use super::bits::{put_varint, varint_size, Input};
use super::CodecError;

/// Tag: one bit per value, least significant bit first.
pub const TAG_BOOLEAN_BIT_PACKED: u8 = 0x30;
/// Tag: the first value, the run count, then each run's length; runs alternate.
pub const TAG_BOOLEAN_RUN_LENGTH: u8 = 0x31;

/// Calls `visit(length)` for each run of equal values.
fn for_each_run(values: &[bool], mut visit: impl FnMut(u64)) {
    let Some(&first) = values.first() else { return };
    let mut current = first;
    let mut length = 0u64;
    for &value in values {
        if value == current {
            length += 1;
        } else {
            visit(length);
            current = value;
            length = 1;
        }
    }
    visit(length);
}

/// Writes `[tag][count][payload]` with the smaller encoding for `values`.
pub(super) fn encode(values: &[bool], dst: &mut Vec<u8>) {
    let packed_bytes = values.len().div_ceil(8);
    let mut runs = 0u64;
    let mut run_bytes = 1;
    for_each_run(values, |length| {
        runs += 1;
        run_bytes += varint_size(length);
    });
    run_bytes += varint_size(runs);
    if run_bytes < packed_bytes {
        dst.push(TAG_BOOLEAN_RUN_LENGTH);
        put_varint(dst, values.len() as u64);
        dst.push(u8::from(values.first().copied().unwrap_or(false)));
        put_varint(dst, runs);
        for_each_run(values, |length| put_varint(dst, length));
        return;
    }
    dst.push(TAG_BOOLEAN_BIT_PACKED);
    put_varint(dst, values.len() as u64);
    for chunk in values.chunks(8) {
        let byte = chunk
            .iter()
            .enumerate()
            .fold(0u8, |byte, (bit, &value)| byte | (u8::from(value) << bit));
        dst.push(byte);
    }
}

/// Decodes the payload of encoding `tag` holding `count` values, appending them to `dst`.
pub(super) fn decode_payload(
    input: &mut Input<'_>,
    tag: u8,
    count: usize,
    dst: &mut Vec<bool>,
) -> Result<(), CodecError> {
    match tag {
        TAG_BOOLEAN_BIT_PACKED => {
            let bytes = input.read_bytes(count.div_ceil(8))?;
            for index in 0..count {
                let byte = bytes.get(index / 8).copied().unwrap_or(0);
                dst.push((byte >> (index % 8)) & 1 == 1);
            }
            Ok(())
        }
        TAG_BOOLEAN_RUN_LENGTH => {
            let mut value = match input.read_u8()? {
                0 => false,
                1 => true,
                _ => return Err(CodecError::Corrupt("boolean value byte")),
            };
            let runs = input.read_varint()?;
            if runs > count as u64 {
                return Err(CodecError::Corrupt("more runs than values"));
            }
            let mut seen = 0u64;
            for _ in 0..runs {
                let length = input.read_varint()?;
                if length == 0 || length > count as u64 - seen {
                    return Err(CodecError::Corrupt("run length"));
                }
                seen += length;
                dst.extend(std::iter::repeat_n(value, length as usize));
                value = !value;
            }
            if seen != count as u64 {
                return Err(CodecError::Corrupt("runs do not cover the values"));
            }
            Ok(())
        }
        other => Err(CodecError::BadTag(other)),
    }
}
