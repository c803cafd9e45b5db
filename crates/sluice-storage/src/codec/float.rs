//! The f64 column: raw, Gorilla XOR, decimal (integer mantissas and a power of ten), decimal
//! with a list of -0.0 positions, and the bit patterns through the integer codec; the smallest
//! wins.
//!
//! -0.0 has mantissa 0 like +0.0, so plain decimal cannot tell them apart; rounding a value
//! just below zero to a few decimals makes one (a random walk crossing zero does), and
//! without the position list such a block would fall back to ~8 bytes a value.

use super::bits::{put_varint, varint_size, BitReader, BitWriter, Input};
use super::integer::{self, IntegerScratch};
use super::CodecError;

/// Tag: each value's bits as 8 little-endian bytes.
pub const TAG_FLOAT_RAW: u8 = 0x20;
/// Tag: Gorilla XOR bit stream.
pub const TAG_FLOAT_GORILLA: u8 = 0x21;
/// Tag: a decimal exponent byte, then the mantissas as an integer body.
pub const TAG_FLOAT_DECIMAL: u8 = 0x22;
/// Tag: the values' bit patterns (as i64) as an integer body.
pub const TAG_FLOAT_BITS: u8 = 0x23;
/// Tag: like [`TAG_FLOAT_DECIMAL`] (-0.0 coded as mantissa 0), then the positions of the
/// -0.0 values: a count and the gaps between positions as varints.
pub const TAG_FLOAT_DECIMAL_NEGATIVE_ZEROS: u8 = 0x24;

/// Largest decimal exponent `e` (values `m × 10^-e`).
pub const DECIMAL_EXPONENT_MAX: u32 = 15;
/// Powers of ten 10^0..=10^15, all exact in f64.
const POWERS_OF_TEN: [f64; DECIMAL_EXPONENT_MAX as usize + 1] = [
    1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15,
];
/// Largest mantissa magnitude: 2^53, every integer up to it is exact in f64.
const MANTISSA_MAGNITUDE_MAX: f64 = 9_007_199_254_740_992.0;
/// Bit pattern of -0.0 (only the sign bit set).
const NEGATIVE_ZERO_BITS: u64 = 1 << 63;
/// Bytes of the decimal header: the exponent byte and the integer tag.
const DECIMAL_HEADER_BYTES: usize = 2;
/// Bytes of a raw value.
const RAW_VALUE_BYTES: usize = 8;
/// Gorilla: bits of the leading-zero count.
const GORILLA_LEADING_BITS: u32 = 5;
/// Gorilla: largest leading-zero count the 5-bit field holds.
const GORILLA_LEADING_MAX: u32 = 31;
/// Gorilla: bits of the meaningful-length field (stored as length − 1, 1..=64).
const GORILLA_LENGTH_BITS: u32 = 6;

/// Reusable buffers for encoding a float column.
#[derive(Default)]
pub(super) struct FloatScratch {
    integers: Vec<i64>,
    pub(super) integer: IntegerScratch,
    /// Indexes of the -0.0 values of the column last given to [`decimal_plan`], ascending.
    negative_zero_positions: Vec<usize>,
}

/// Where bits go: a writer, or a counter for sizing.
trait BitSink {
    fn put(&mut self, value: u64, width: u32);
}

impl BitSink for BitWriter<'_> {
    #[inline]
    fn put(&mut self, value: u64, width: u32) {
        self.write(value, width);
    }
}

impl BitSink for u64 {
    #[inline]
    fn put(&mut self, _value: u64, width: u32) {
        *self += u64::from(width);
    }
}

/// Runs the Gorilla encoder over `values` into `sink`.
fn gorilla<S: BitSink>(values: &[f64], sink: &mut S) {
    let Some((first, rest)) = values.split_first() else {
        return;
    };
    let mut previous = first.to_bits();
    sink.put(previous, u64::BITS);
    let mut window: Option<(u32, u32)> = None;
    for value in rest {
        let bits = value.to_bits();
        let xor = bits ^ previous;
        previous = bits;
        if xor == 0 {
            sink.put(0, 1);
            continue;
        }
        let leading = xor.leading_zeros().min(GORILLA_LEADING_MAX);
        let trailing = xor.trailing_zeros();
        match window {
            Some((window_leading, window_trailing))
                if leading >= window_leading && trailing >= window_trailing =>
            {
                sink.put(0b01, 2);
                let length = u64::BITS - window_leading - window_trailing;
                sink.put(xor >> window_trailing, length);
            }
            _ => {
                let length = u64::BITS - leading - trailing;
                sink.put(0b11, 2);
                sink.put(u64::from(leading), GORILLA_LEADING_BITS);
                sink.put(u64::from(length - 1), GORILLA_LENGTH_BITS);
                sink.put(xor >> trailing, length);
                window = Some((leading, trailing));
            }
        }
    }
}

fn decode_gorilla(
    input: &mut Input<'_>,
    count: usize,
    dst: &mut Vec<f64>,
) -> Result<(), CodecError> {
    let mut reader = BitReader::new(input.rest());
    let mut window: Option<(u32, u32)> = None;
    let mut previous = 0u64;
    for index in 0..count {
        if index == 0 {
            previous = reader.read(u64::BITS)?;
        } else if reader.read_bit()? {
            let (leading, trailing) = if reader.read_bit()? {
                let leading = reader.read(GORILLA_LEADING_BITS)? as u32;
                let length = reader.read(GORILLA_LENGTH_BITS)? as u32 + 1;
                let trailing = u64::BITS
                    .checked_sub(leading + length)
                    .ok_or(CodecError::Corrupt("gorilla window wider than 64 bits"))?;
                window = Some((leading, trailing));
                (leading, trailing)
            } else {
                window.ok_or(CodecError::Corrupt("gorilla window reused before set"))?
            };
            let length = u64::BITS - leading - trailing;
            previous ^= reader.read(length)? << trailing;
        }
        dst.push(f64::from_bits(previous));
    }
    input.advance(reader.bytes_consumed())
}

/// Whether the decoder's `m / 10^e` gives back exactly `value`, and `m` if so.
#[inline]
fn decimal_mantissa(value: f64, exponent: u32) -> Option<i64> {
    let power = *POWERS_OF_TEN.get(exponent as usize)?;
    let scaled = (value * power).round();
    if scaled.is_nan() || scaled.abs() > MANTISSA_MAGNITUDE_MAX {
        return None;
    }
    let mantissa = scaled as i64;
    ((mantissa as f64 / power).to_bits() == value.to_bits()).then_some(mantissa)
}

/// Fills `mantissas` and returns the common exponent when every value is decimal-exact or
/// -0.0; the positions of the -0.0 values (mantissa 0) go to `negative_zero_positions`.
fn decimal_plan(
    values: &[f64],
    mantissas: &mut Vec<i64>,
    negative_zero_positions: &mut Vec<usize>,
) -> Option<u32> {
    negative_zero_positions.clear();
    let mut exponent = 0;
    for (position, &value) in values.iter().enumerate() {
        if !value.is_finite() {
            return None;
        }
        if value.to_bits() == NEGATIVE_ZERO_BITS {
            negative_zero_positions.push(position);
            continue;
        }
        while decimal_mantissa(value, exponent).is_none() {
            exponent += 1;
            if exponent > DECIMAL_EXPONENT_MAX {
                return None;
            }
        }
    }
    mantissas.clear();
    for &value in values {
        if value.to_bits() == NEGATIVE_ZERO_BITS {
            mantissas.push(0);
        } else {
            mantissas.push(decimal_mantissa(value, exponent)?);
        }
    }
    Some(exponent)
}

/// Calls `each` with the varints of the position list: the count, the first position, then
/// each gap minus one (positions are strictly ascending, so gaps are at least one).
fn for_each_position_varint(positions: &[usize], mut each: impl FnMut(u64)) {
    each(positions.len() as u64);
    let mut next_free = 0usize;
    for &position in positions {
        each(position.wrapping_sub(next_free) as u64);
        next_free = position.wrapping_add(1);
    }
}

fn positions_size_bytes(positions: &[usize]) -> usize {
    let mut size_bytes = 0;
    for_each_position_varint(positions, |varint| size_bytes += varint_size(varint));
    size_bytes
}

/// Reads the position list and turns the values it names (from `first`, the column's first
/// index in `dst`) into -0.0; each must have decoded as +0.0 (mantissa 0).
fn decode_negative_zeros(
    input: &mut Input<'_>,
    count: usize,
    dst: &mut [f64],
    first: usize,
) -> Result<(), CodecError> {
    let zeros = input.read_varint()?;
    if zeros > count as u64 {
        return Err(CodecError::Corrupt("more -0.0 positions than values"));
    }
    let mut next_free = 0u64;
    for _ in 0..zeros {
        let position = next_free
            .checked_add(input.read_varint()?)
            .filter(|&position| position < count as u64)
            .ok_or(CodecError::Corrupt("-0.0 position past the column"))?;
        next_free = position + 1;
        let slot = usize::try_from(position)
            .ok()
            .and_then(|position| first.checked_add(position))
            .and_then(|index| dst.get_mut(index))
            .ok_or(CodecError::Corrupt("-0.0 position past the column"))?;
        if slot.to_bits() != 0 {
            return Err(CodecError::Corrupt(
                "-0.0 position holds a nonzero mantissa",
            ));
        }
        *slot = -0.0;
    }
    Ok(())
}

fn fill_bit_patterns(values: &[f64], integers: &mut Vec<i64>) {
    integers.clear();
    integers.extend(values.iter().map(|v| v.to_bits() as i64));
}

/// Writes `[tag][count][payload]` with the smallest encoding for `values`.
pub(super) fn encode(values: &[f64], scratch: &mut FloatScratch, dst: &mut Vec<u8>) {
    // Fast: Gorilla or raw only (the decimal and bit-pattern trials are most of the cost).
    if scratch.integer.fast {
        encode_fast(values, dst);
        return;
    }
    let mut best = (TAG_FLOAT_RAW, values.len() * RAW_VALUE_BYTES);
    let mut gorilla_bits = 0u64;
    gorilla(values, &mut gorilla_bits);
    let gorilla_bytes = gorilla_bits.div_ceil(8) as usize;
    if gorilla_bytes < best.1 {
        best = (TAG_FLOAT_GORILLA, gorilla_bytes);
    }
    let mut decimal = None;
    let positions = &mut scratch.negative_zero_positions;
    let decimal_exponent = decimal_plan(values, &mut scratch.integers, positions);
    if let Some(exponent) = decimal_exponent {
        let plan = integer::plan(&scratch.integers, &mut scratch.integer);
        let (tag, decimal_bytes) = if positions.is_empty() {
            (TAG_FLOAT_DECIMAL, DECIMAL_HEADER_BYTES + plan.size_bytes)
        } else {
            let bytes = DECIMAL_HEADER_BYTES + plan.size_bytes + positions_size_bytes(positions);
            (TAG_FLOAT_DECIMAL_NEGATIVE_ZEROS, bytes)
        };
        if decimal_bytes < best.1 {
            best = (tag, decimal_bytes);
            decimal = Some((exponent, plan));
        }
    }
    let mut bit_patterns = None;
    if decimal.is_none() {
        fill_bit_patterns(values, &mut scratch.integers);
        let plan = integer::plan(&scratch.integers, &mut scratch.integer);
        if 1 + plan.size_bytes < best.1 {
            best = (TAG_FLOAT_BITS, 1 + plan.size_bytes);
            bit_patterns = Some(plan);
        }
    }
    dst.push(best.0);
    put_varint(dst, values.len() as u64);
    match (best.0, decimal, bit_patterns) {
        (TAG_FLOAT_DECIMAL | TAG_FLOAT_DECIMAL_NEGATIVE_ZEROS, Some((exponent, plan)), _) => {
            dst.push(exponent as u8);
            integer::write_body(&scratch.integers, plan, &mut scratch.integer, dst);
            if best.0 == TAG_FLOAT_DECIMAL_NEGATIVE_ZEROS {
                let positions = &scratch.negative_zero_positions;
                for_each_position_varint(positions, |varint| put_varint(dst, varint));
            }
        }
        (TAG_FLOAT_BITS, _, Some(plan)) => {
            integer::write_body(&scratch.integers, plan, &mut scratch.integer, dst);
        }
        (TAG_FLOAT_GORILLA, _, _) => {
            let mut writer = BitWriter::new(dst);
            gorilla(values, &mut writer);
            writer.finish();
        }
        _ => write_raw(values, dst),
    }
}

/// The fast choice, Gorilla or raw (whichever is smaller, raw on a tie), in one Gorilla pass:
/// the Gorilla body is written, then replaced by the raw values if it is not smaller. The
/// same bytes as sizing Gorilla first and writing the winner, at half the Gorilla cost (the
/// snapshot thread's largest encoding cost).
fn encode_fast(values: &[f64], dst: &mut Vec<u8>) {
    let start = dst.len();
    let raw_bytes = values.len() * RAW_VALUE_BYTES;
    dst.push(TAG_FLOAT_GORILLA);
    put_varint(dst, values.len() as u64);
    let body_start = dst.len();
    let mut writer = BitWriter::new(dst);
    gorilla(values, &mut writer);
    writer.finish();
    if dst.len() - body_start < raw_bytes {
        return;
    }
    dst.truncate(start);
    dst.push(TAG_FLOAT_RAW);
    put_varint(dst, values.len() as u64);
    write_raw(values, dst);
}

/// The raw body: each value's bits, little-endian.
fn write_raw(values: &[f64], dst: &mut Vec<u8>) {
    for value in values {
        dst.extend_from_slice(&value.to_bits().to_le_bytes());
    }
}

/// Size in bytes of the Gorilla encoding of `values` (what InfluxDB's TSM uses for floats).
pub fn gorilla_size_bytes(values: &[f64]) -> usize {
    let mut bits = 0u64;
    gorilla(values, &mut bits);
    bits.div_ceil(8) as usize
}

/// Decodes `[e][integer tag][mantissas]`, appending `m / 10^e` for each to `dst`.
fn decode_decimal(
    input: &mut Input<'_>,
    count: usize,
    dst: &mut Vec<f64>,
) -> Result<(), CodecError> {
    let exponent = input.read_u8()?;
    let power = *POWERS_OF_TEN
        .get(usize::from(exponent))
        .ok_or(CodecError::Corrupt("decimal exponent over 15"))?;
    let integer_tag = input.read_u8()?;
    integer::decode_payload(input, integer_tag, count, |mantissa| {
        dst.push(mantissa as f64 / power);
    })
}

/// Decodes the payload of encoding `tag` holding `count` values, appending them to `dst`.
pub(super) fn decode_payload(
    input: &mut Input<'_>,
    tag: u8,
    count: usize,
    dst: &mut Vec<f64>,
) -> Result<(), CodecError> {
    match tag {
        TAG_FLOAT_RAW => {
            let bytes = input.read_bytes(count * RAW_VALUE_BYTES)?;
            for chunk in bytes.chunks_exact(RAW_VALUE_BYTES) {
                let mut array = [0u8; RAW_VALUE_BYTES];
                array.copy_from_slice(chunk);
                dst.push(f64::from_bits(u64::from_le_bytes(array)));
            }
            Ok(())
        }
        TAG_FLOAT_GORILLA => decode_gorilla(input, count, dst),
        TAG_FLOAT_DECIMAL => decode_decimal(input, count, dst),
        TAG_FLOAT_DECIMAL_NEGATIVE_ZEROS => {
            let first = dst.len();
            decode_decimal(input, count, dst)?;
            decode_negative_zeros(input, count, dst, first)
        }
        TAG_FLOAT_BITS => {
            let integer_tag = input.read_u8()?;
            integer::decode_payload(input, integer_tag, count, |bits| {
                dst.push(f64::from_bits(bits as u64));
            })
        }
        other => Err(CodecError::BadTag(other)),
    }
}
