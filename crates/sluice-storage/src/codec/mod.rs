//! Column codecs for the blocks of the storage engine: one column (timestamps, floats,
//! integers, unsigned, booleans or strings) of up to [`MAX_VALUES_PER_BLOCK`] values to bytes
//! and back.
//!
//! Owns: the byte format of an encoded column and the choice of encoding. Does not own: block
//! boundaries, files, checksums, compression across blocks (the engine's).
//!
//! # Contract
//!
//! - Encoders append one column to the caller's `dst` and never panic; the only error is a
//!   column too big to decode ([`CodecError::CountTooLarge`],
//!   [`CodecError::StringsTooLong`]), in which case `dst` is unchanged.
//! - Decoders read one column from the front of `src`, append its values to `dst` and return the
//!   bytes read, so columns can sit back to back. On any input they return a typed error rather
//!   than panic, and on error leave `dst` as it was. Output is bounded: at most
//!   [`MAX_VALUES_PER_BLOCK`] values and [`STRING_BLOCK_BYTES_MAX`] string bytes, and LZ4
//!   blocks claiming more than 256× expansion are refused, so a hostile input cannot make a
//!   decoder allocate without bound.
//! - Every value round-trips bit-exactly: floats by their bits (-0.0, NaN payloads,
//!   infinities, subnormals included), integers and timestamps in any order (delta arithmetic
//!   wraps). Timestamps are expected sorted ascending, equal neighbours allowed, because that
//!   is what compresses; unsorted ones still round-trip, only bigger.
//! - The encoder sizes every encoding that applies and writes the smallest; `Raw` is always a
//!   candidate, so a column is never much bigger than its raw form (tag + count varint).
//!
//! # Byte layout
//!
//! Every column is `[tag: u8][count: LEB128 varint][payload]`. Varints are LEB128 (7 bits a
//! byte, low group first); `zz(x)` is zig-zag (`0,-1,1,-2 → 0,1,2,3`); fixed-width numbers
//! are little-endian. Tags differ per column type, so decoding with the wrong decoder is
//! [`CodecError::BadTag`].
//!
//! ## Integer body (timestamps, integers, unsigned as i64 bits, float mantissas, lengths)
//!
//! ```text
//! 0x10 Raw          [v0: 8 bytes LE] ... [v(n-1): 8 bytes LE]
//! 0x11 RunLength    [zz(v0) varint][runs varint] runs × [zz(delta) varint][length varint]
//!                   (the lengths add up to n-1: a regular interval is one run, ~5 bytes)
//! 0x12 Delta        [zz(v0) varint][stream of the n-1 deltas v(i+1)-v(i)]
//! 0x13 DeltaOfDelta [zz(v0) varint][zz(v1-v0) varint][stream of the n-2 deltas of deltas]
//! 0x14 Packed       [stream of the n values themselves]
//!
//! stream of m signed x(i): [kind: u8] then
//!   kind bit 1 clear: [zz(min) varint], offsets o(i) = x(i) - min (wrapping, all >= 0)
//!   kind bit 1 set:   offsets o(i) = zz(x(i)) (better when rare outliers widen the range)
//!   kind bit 0 clear, BitPacked: [width: u8, 0..=64][ceil(m*width/8) bytes: o(i) LSB-first]
//!   kind bit 0 set, Simple8b: [64-bit LE words: selector (4 high bits) + 60 bits holding 240/120
//!                     zeros, 60×1, 30×2, 20×3, 15×4, 12×5, 10×6, 8×7, 7×8, 6×10, 5×12,
//!                     4×15, 3×20, 2×30 or 1×60-bit values, first value in the low bits]
//! ```
//!
//! Timestamp, integer and unsigned columns are `[integer tag][count][integer payload]`.
//! Unsigned values go through as their two's-complement bits (`u as i64`), which wrapping
//! deltas treat exactly.
//!
//! ## Float column
//!
//! ```text
//! 0x20 Raw      [bits(v0): 8 bytes LE] ...
//! 0x21 Gorilla  bit stream, LSB-first: [bits(v0): 64]; then per value x = bits(v) ^ previous
//!               x == 0: [0]
//!               x fits the last window: [1][0][x >> trailing: 64-leading-trailing bits]
//!               else: [1][1][leading (max 31): 5][length-1: 6][x >> trailing: length bits]
//!               padded with zeros to a byte
//! 0x22 Decimal  [e: u8, 0..=15][integer tag][integer payload of the mantissas m(i)]
//!               value = (m as f64) / 10^e; chosen only if that gives back every value's
//!               exact bits (checked per value when encoding), so -0.0, NaN, ±inf and most
//!               subnormals never take it
//! 0x23 Bits     [integer tag][integer payload of bits(v) as i64]
//! 0x24 DecimalNegativeZeros
//!               [e: u8, 0..=15][integer tag][integer payload of the mantissas m(i)]
//!               [k varint][p(0) varint][p(1)-p(0)-1 varint] ... [p(k-1)-p(k-2)-1 varint]
//!               as Decimal, with each -0.0 coded as m = 0; then the k ascending positions
//!               p(j) of the -0.0 values, whose decoded +0.0 becomes -0.0. Decoders refuse
//!               k > n, a position >= n and a position whose mantissa is not 0. Chosen, like
//!               Decimal, only if every other value comes back bit-exact (NaN, ±inf never)
//! ```
//!
//! ## Boolean column
//!
//! ```text
//! 0x30 BitPacked  ceil(n/8) bytes, value i is bit i%8 of byte i/8
//! 0x31 RunLength  [first value: u8 0|1][runs varint] runs × [length varint], runs alternate
//! ```
//!
//! ## String column (byte strings)
//!
//! ```text
//! 0x40 Raw  [integer tag][integer payload of the n lengths][the bytes, concatenated]
//! 0x41 Lz4  [integer tag][integer payload of the n lengths][compressed size varint]
//!           [LZ4 block of the concatenated bytes]
//! ```

mod bits;
mod boolean;
mod float;
mod integer;
mod simple8b;
mod string;
#[cfg(test)]
mod tests;

use bits::{put_varint, Input};

pub use boolean::{TAG_BOOLEAN_BIT_PACKED, TAG_BOOLEAN_RUN_LENGTH};
pub use float::{
    gorilla_size_bytes, DECIMAL_EXPONENT_MAX, TAG_FLOAT_BITS, TAG_FLOAT_DECIMAL,
    TAG_FLOAT_DECIMAL_NEGATIVE_ZEROS, TAG_FLOAT_GORILLA, TAG_FLOAT_RAW,
};
pub use integer::{
    TAG_INTEGER_DELTA, TAG_INTEGER_DELTA_OF_DELTA, TAG_INTEGER_PACKED, TAG_INTEGER_RAW,
    TAG_INTEGER_RUN_LENGTH,
};
pub use string::{TAG_STRING_LZ4, TAG_STRING_RAW};

/// Most values one column holds; decoders refuse larger counts, encoders larger inputs.
pub const MAX_VALUES_PER_BLOCK: usize = 65_536;
/// Most bytes the strings of one column hold together.
pub const STRING_BLOCK_BYTES_MAX: usize = 64 * 1024 * 1024;

/// Why a column could not be encoded or decoded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CodecError {
    /// The input ends before the column does.
    Truncated,
    /// The first byte is no encoding of this column type (the byte).
    BadTag(u8),
    /// The column holds more than [`MAX_VALUES_PER_BLOCK`] values (the count).
    CountTooLarge(u64),
    /// The strings hold more than [`STRING_BLOCK_BYTES_MAX`] bytes (their total).
    StringsTooLong(usize),
    /// The bytes contradict the format (what is wrong).
    Corrupt(&'static str),
}

impl std::fmt::Display for CodecError {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            CodecError::Truncated => write!(formatter, "column truncated"),
            CodecError::BadTag(tag) => write!(formatter, "unknown column encoding 0x{tag:02x}"),
            CodecError::CountTooLarge(count) => write!(
                formatter,
                "column of {count} values exceeds {MAX_VALUES_PER_BLOCK}"
            ),
            CodecError::StringsTooLong(total) => write!(
                formatter,
                "strings of {total} bytes exceed {STRING_BLOCK_BYTES_MAX}"
            ),
            CodecError::Corrupt(what) => write!(formatter, "corrupt column: {what}"),
        }
    }
}

impl std::error::Error for CodecError {}

/// The name of an encoding tag, for statistics and debugging.
pub fn encoding_name(tag: u8) -> Option<&'static str> {
    Some(match tag {
        TAG_INTEGER_RAW | TAG_FLOAT_RAW | TAG_STRING_RAW => "raw",
        TAG_INTEGER_RUN_LENGTH | TAG_BOOLEAN_RUN_LENGTH => "run-length",
        TAG_INTEGER_DELTA => "delta",
        TAG_INTEGER_DELTA_OF_DELTA => "delta-of-delta",
        TAG_INTEGER_PACKED => "packed",
        TAG_FLOAT_GORILLA => "gorilla",
        TAG_FLOAT_DECIMAL => "decimal",
        TAG_FLOAT_DECIMAL_NEGATIVE_ZEROS => "decimal-negative-zeros",
        TAG_FLOAT_BITS => "float-bits",
        TAG_BOOLEAN_BIT_PACKED => "bit-packed",
        TAG_STRING_LZ4 => "lz4",
        _ => return None,
    })
}

/// Encodes columns reusing its scratch buffers, so steady-state encoding does not allocate.
/// The free `encode_*` functions make a fresh one per call.
#[derive(Default)]
pub struct Encoder {
    integer: integer::IntegerScratch,
    float: float::FloatScratch,
    string: string::StringScratch,
    unsigned_as_signed: Vec<i64>,
    /// The last timestamp column encoded and its encoding: the fields of a series usually
    /// share their times, and a file writes them one after another, so most timestamp
    /// columns are the previous one again (9 of 10 for 10-field points).
    last_times: Vec<i64>,
    last_times_encoded: Vec<u8>,
}

fn check_count(count: usize) -> Result<(), CodecError> {
    if count > MAX_VALUES_PER_BLOCK {
        return Err(CodecError::CountTooLarge(count as u64));
    }
    Ok(())
}

impl Encoder {
    /// A new encoder with empty scratch buffers.
    pub fn new() -> Self {
        Encoder::default()
    }

    /// An encoder that picks among the cheap encodings only: floats Gorilla or raw,
    /// integers and times run-length, delta, delta-of-delta or packed at one bit width (no
    /// Simple-8b, no decimal or bit-pattern floats). Several times faster, somewhat larger:
    /// for files a compaction soon rewrites (snapshots).
    pub fn fast() -> Self {
        let mut encoder = Encoder::default();
        encoder.integer.fast = true;
        encoder.float.integer.fast = true;
        encoder
    }

    /// Appends a timestamp column (i64 ns, expected ascending) to `dst`.
    pub fn encode_timestamps(
        &mut self,
        values: &[i64],
        dst: &mut Vec<u8>,
    ) -> Result<(), CodecError> {
        if !values.is_empty() && values == self.last_times.as_slice() {
            dst.extend_from_slice(&self.last_times_encoded);
            return Ok(());
        }
        let start = dst.len();
        self.encode_integers(values, dst)?;
        self.last_times.clear();
        self.last_times.extend_from_slice(values);
        self.last_times_encoded.clear();
        self.last_times_encoded
            .extend_from_slice(dst.get(start..).unwrap_or(&[]));
        Ok(())
    }

    /// Appends an integer column to `dst`.
    pub fn encode_integers(&mut self, values: &[i64], dst: &mut Vec<u8>) -> Result<(), CodecError> {
        check_count(values.len())?;
        let plan = integer::plan(values, &mut self.integer);
        dst.push(plan.tag);
        put_varint(dst, values.len() as u64);
        integer::write(values, plan, &mut self.integer, dst);
        Ok(())
    }

    /// Appends an unsigned column to `dst` (coded as the i64 bits of each value).
    pub fn encode_unsigned(&mut self, values: &[u64], dst: &mut Vec<u8>) -> Result<(), CodecError> {
        check_count(values.len())?;
        let mut signed = std::mem::take(&mut self.unsigned_as_signed);
        signed.clear();
        signed.extend(values.iter().map(|&v| v as i64));
        let result = self.encode_integers(&signed, dst);
        self.unsigned_as_signed = signed;
        result
    }

    /// Appends a float column to `dst`.
    pub fn encode_floats(&mut self, values: &[f64], dst: &mut Vec<u8>) -> Result<(), CodecError> {
        check_count(values.len())?;
        float::encode(values, &mut self.float, dst);
        Ok(())
    }

    /// Appends a boolean column to `dst`.
    pub fn encode_booleans(
        &mut self,
        values: &[bool],
        dst: &mut Vec<u8>,
    ) -> Result<(), CodecError> {
        check_count(values.len())?;
        boolean::encode(values, dst);
        Ok(())
    }

    /// Appends a string (byte string) column to `dst`.
    pub fn encode_strings(
        &mut self,
        values: &[&[u8]],
        dst: &mut Vec<u8>,
    ) -> Result<(), CodecError> {
        check_count(values.len())?;
        let total_bytes = values
            .iter()
            .map(|v| v.len())
            .fold(0usize, usize::saturating_add);
        if total_bytes > STRING_BLOCK_BYTES_MAX {
            return Err(CodecError::StringsTooLong(total_bytes));
        }
        string::encode(values, &mut self.string, dst);
        Ok(())
    }
}

/// Appends a timestamp column (i64 ns, expected ascending, equal neighbours allowed) to `dst`.
pub fn encode_timestamps(values: &[i64], dst: &mut Vec<u8>) -> Result<(), CodecError> {
    Encoder::new().encode_timestamps(values, dst)
}

/// Appends an integer column to `dst`.
pub fn encode_integers(values: &[i64], dst: &mut Vec<u8>) -> Result<(), CodecError> {
    Encoder::new().encode_integers(values, dst)
}

/// Appends an unsigned column to `dst`.
pub fn encode_unsigned(values: &[u64], dst: &mut Vec<u8>) -> Result<(), CodecError> {
    Encoder::new().encode_unsigned(values, dst)
}

/// Appends a float column to `dst`.
pub fn encode_floats(values: &[f64], dst: &mut Vec<u8>) -> Result<(), CodecError> {
    Encoder::new().encode_floats(values, dst)
}

/// Appends a boolean column to `dst`.
pub fn encode_booleans(values: &[bool], dst: &mut Vec<u8>) -> Result<(), CodecError> {
    Encoder::new().encode_booleans(values, dst)
}

/// Appends a string (byte string) column to `dst`.
pub fn encode_strings(values: &[&[u8]], dst: &mut Vec<u8>) -> Result<(), CodecError> {
    Encoder::new().encode_strings(values, dst)
}

/// Reads `[tag][count]`, checking the count against [`MAX_VALUES_PER_BLOCK`].
fn read_header(input: &mut Input<'_>) -> Result<(u8, usize), CodecError> {
    let tag = input.read_u8()?;
    let count = input.read_varint()?;
    if count > MAX_VALUES_PER_BLOCK as u64 {
        return Err(CodecError::CountTooLarge(count));
    }
    Ok((tag, count as usize))
}

/// Runs `decode` on `src`; on error truncates `dst` back to its length before.
fn decode_column<T>(
    src: &[u8],
    dst: &mut Vec<T>,
    decode: impl FnOnce(&mut Input<'_>, u8, usize, &mut Vec<T>) -> Result<(), CodecError>,
) -> Result<usize, CodecError> {
    let length_before = dst.len();
    let mut input = Input::new(src);
    let result = read_header(&mut input).and_then(|(tag, count)| {
        dst.reserve(count);
        decode(&mut input, tag, count, dst)
    });
    match result {
        Ok(()) => Ok(input.position()),
        Err(error) => {
            dst.truncate(length_before);
            Err(error)
        }
    }
}

fn decode_integer_column(
    input: &mut Input<'_>,
    tag: u8,
    count: usize,
    dst: &mut Vec<i64>,
) -> Result<(), CodecError> {
    integer::decode_payload(input, tag, count, |value| dst.push(value))
}

/// Decodes a timestamp column from the front of `src` into `dst`; returns the bytes read.
pub fn decode_timestamps(src: &[u8], dst: &mut Vec<i64>) -> Result<usize, CodecError> {
    decode_column(src, dst, decode_integer_column)
}

/// Decodes an integer column from the front of `src` into `dst`; returns the bytes read.
pub fn decode_integers(src: &[u8], dst: &mut Vec<i64>) -> Result<usize, CodecError> {
    decode_column(src, dst, decode_integer_column)
}

/// Decodes an unsigned column from the front of `src` into `dst`; returns the bytes read.
pub fn decode_unsigned(src: &[u8], dst: &mut Vec<u64>) -> Result<usize, CodecError> {
    decode_column(src, dst, |input, tag, count, dst| {
        integer::decode_payload(input, tag, count, |value| dst.push(value as u64))
    })
}

/// Decodes a float column from the front of `src` into `dst`; returns the bytes read.
pub fn decode_floats(src: &[u8], dst: &mut Vec<f64>) -> Result<usize, CodecError> {
    decode_column(src, dst, float::decode_payload)
}

/// Decodes a boolean column from the front of `src` into `dst`; returns the bytes read.
pub fn decode_booleans(src: &[u8], dst: &mut Vec<bool>) -> Result<usize, CodecError> {
    decode_column(src, dst, boolean::decode_payload)
}

/// Decodes a string column from the front of `src`: appends the strings' bytes to `bytes` and
/// each string's end offset in `bytes` to `ends` (string i is `bytes[ends[i-1]..ends[i]]`,
/// starting at the length `bytes` had before). Returns the bytes read.
pub fn decode_strings_into(
    src: &[u8],
    bytes: &mut Vec<u8>,
    ends: &mut Vec<usize>,
) -> Result<usize, CodecError> {
    let bytes_before = bytes.len();
    let result = decode_column(src, ends, |input, tag, count, ends| {
        string::decode_payload(input, tag, count, bytes, ends)
    });
    if result.is_err() {
        bytes.truncate(bytes_before);
    }
    result
}

/// Decodes a string column from the front of `src`, one `Vec<u8>` per string, into `dst`;
/// returns the bytes read. [`decode_strings_into`] allocates less.
pub fn decode_strings(src: &[u8], dst: &mut Vec<Vec<u8>>) -> Result<usize, CodecError> {
    let mut bytes = Vec::new();
    let mut ends = Vec::new();
    let read = decode_strings_into(src, &mut bytes, &mut ends)?;
    let mut start = 0;
    for end in ends {
        dst.push(bytes.get(start..end).unwrap_or(&[]).to_vec());
        start = end;
    }
    Ok(read)
}
