//! Byte and bit level helpers for the column codecs: a bounds-checked input cursor, LEB128
//! varints, zig-zag, and little-endian bit writer/reader. Nothing here panics on any input.

use super::CodecError;

/// Most bytes an LEB128 varint of a u64 takes.
pub(super) const VARINT_MAX_BYTES: usize = 10;
/// Bits in a u64: the widest value a bit-packed stream holds.
pub(super) const U64_BITS: u32 = 64;
/// Bytes loaded per bit read: a value of up to 64 bits starting at any bit of a byte needs 9.
const BIT_WINDOW_BYTES: usize = 16;

/// Maps signed to unsigned so that small magnitudes become small numbers (0, -1, 1, -2 → 0..3).
#[inline]
pub(super) fn zigzag(value: i64) -> u64 {
    ((value << 1) ^ (value >> 63)) as u64
}

/// Inverse of [`zigzag`].
#[inline]
pub(super) fn unzigzag(value: u64) -> i64 {
    ((value >> 1) as i64) ^ -((value & 1) as i64)
}

/// Appends `value` as an LEB128 varint (7 bits a byte, low group first).
#[inline]
pub(super) fn put_varint(dst: &mut Vec<u8>, mut value: u64) {
    while value >= 0x80 {
        dst.push((value as u8) | 0x80);
        value >>= 7;
    }
    dst.push(value as u8);
}

/// Bytes [`put_varint`] writes for `value`.
#[inline]
pub(super) fn varint_size(value: u64) -> usize {
    let significant_bits = (U64_BITS - (value | 1).leading_zeros()) as usize;
    significant_bits.div_ceil(7)
}

/// Bits needed to hold `value` (0 for 0).
#[inline]
pub(super) fn bit_width(value: u64) -> u32 {
    U64_BITS - value.leading_zeros()
}

/// A read position in an encoded column; every read past the end is `Truncated`.
pub(super) struct Input<'a> {
    src: &'a [u8],
    position: usize,
}

impl<'a> Input<'a> {
    pub(super) fn new(src: &'a [u8]) -> Self {
        Input { src, position: 0 }
    }

    /// Bytes consumed so far.
    pub(super) fn position(&self) -> usize {
        self.position
    }

    pub(super) fn read_u8(&mut self) -> Result<u8, CodecError> {
        let byte = *self.src.get(self.position).ok_or(CodecError::Truncated)?;
        self.position += 1;
        Ok(byte)
    }

    pub(super) fn read_bytes(&mut self, length: usize) -> Result<&'a [u8], CodecError> {
        let end = self
            .position
            .checked_add(length)
            .ok_or(CodecError::Truncated)?;
        let bytes = self
            .src
            .get(self.position..end)
            .ok_or(CodecError::Truncated)?;
        self.position = end;
        Ok(bytes)
    }

    pub(super) fn read_u64_le(&mut self) -> Result<u64, CodecError> {
        let bytes = self.read_bytes(8)?;
        let array: [u8; 8] = bytes.try_into().map_err(|_| CodecError::Truncated)?;
        Ok(u64::from_le_bytes(array))
    }

    pub(super) fn read_varint(&mut self) -> Result<u64, CodecError> {
        let mut value = 0u64;
        for index in 0..VARINT_MAX_BYTES {
            let byte = self.read_u8()?;
            let group = u64::from(byte & 0x7f);
            if index == VARINT_MAX_BYTES - 1 && group > 1 {
                return Err(CodecError::Corrupt("varint overflows u64"));
            }
            value |= group << (7 * index);
            if byte & 0x80 == 0 {
                return Ok(value);
            }
        }
        Err(CodecError::Corrupt("varint longer than 10 bytes"))
    }

    /// The unread rest of the input.
    pub(super) fn rest(&self) -> &'a [u8] {
        self.src.get(self.position..).unwrap_or(&[])
    }

    /// Marks `length` more bytes consumed (after a sub-reader used them).
    pub(super) fn advance(&mut self, length: usize) -> Result<(), CodecError> {
        self.read_bytes(length).map(|_| ())
    }
}

/// Appends values of 0..=64 bits each, least significant bit first, to a byte vector.
pub(super) struct BitWriter<'a> {
    dst: &'a mut Vec<u8>,
    pending: u128,
    pending_bits: u32,
}

impl<'a> BitWriter<'a> {
    pub(super) fn new(dst: &'a mut Vec<u8>) -> Self {
        BitWriter {
            dst,
            pending: 0,
            pending_bits: 0,
        }
    }

    /// Writes the low `width` bits of `value` (`width <= 64`).
    #[inline]
    pub(super) fn write(&mut self, value: u64, width: u32) {
        debug_assert!(width <= U64_BITS, "BUG: bit width {width} > 64");
        let masked = if width >= U64_BITS {
            value
        } else {
            value & ((1u64 << width) - 1)
        };
        self.pending |= u128::from(masked) << self.pending_bits;
        self.pending_bits += width;
        if self.pending_bits >= U64_BITS {
            self.dst
                .extend_from_slice(&(self.pending as u64).to_le_bytes());
            self.pending >>= U64_BITS;
            self.pending_bits -= U64_BITS;
        }
    }

    /// Flushes the last partial byte (zero padded).
    pub(super) fn finish(self) {
        let bytes = self.pending.to_le_bytes();
        let used = (self.pending_bits as usize).div_ceil(8);
        self.dst.extend_from_slice(bytes.get(..used).unwrap_or(&[]));
    }
}

/// Reads values written by [`BitWriter`] from a byte slice; reading past its end is an error.
pub(super) struct BitReader<'a> {
    src: &'a [u8],
    bit_position: usize,
    bit_length: usize,
}

impl<'a> BitReader<'a> {
    pub(super) fn new(src: &'a [u8]) -> Self {
        BitReader {
            src,
            bit_position: 0,
            bit_length: src.len().saturating_mul(8),
        }
    }

    /// Bytes touched so far (the partial last byte counts).
    pub(super) fn bytes_consumed(&self) -> usize {
        self.bit_position.div_ceil(8)
    }

    /// Reads `width` bits (`width <= 64`).
    #[inline]
    pub(super) fn read(&mut self, width: u32) -> Result<u64, CodecError> {
        let end = self.bit_position + width as usize;
        if end > self.bit_length {
            return Err(CodecError::Truncated);
        }
        let value = load_bits(self.src, self.bit_position, width);
        self.bit_position = end;
        Ok(value)
    }

    #[inline]
    pub(super) fn read_bit(&mut self) -> Result<bool, CodecError> {
        Ok(self.read(1)? == 1)
    }
}

/// The `width` bits starting at bit `bit_position` of `src`, bits past its end read as zero.
#[inline]
pub(super) fn load_bits(src: &[u8], bit_position: usize, width: u32) -> u64 {
    let byte = bit_position / 8;
    let shift = (bit_position % 8) as u32;
    let window = match src.get(byte..byte + BIT_WINDOW_BYTES) {
        Some(chunk) => {
            let mut array = [0u8; BIT_WINDOW_BYTES];
            array.copy_from_slice(chunk);
            u128::from_le_bytes(array)
        }
        None => {
            let mut array = [0u8; BIT_WINDOW_BYTES];
            let available = src.get(byte..).unwrap_or(&[]);
            for (slot, &value) in array.iter_mut().zip(available) {
                *slot = value;
            }
            u128::from_le_bytes(array)
        }
    };
    let value = (window >> shift) as u64;
    if width >= U64_BITS {
        value
    } else {
        value & ((1u64 << width) - 1)
    }
}
