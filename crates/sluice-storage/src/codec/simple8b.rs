//! Simple-8b: packs runs of small unsigned integers into 64-bit words.
//!
//! Each word is `selector (4 high bits) | payload (60 low bits)`; the selector says how many
//! values of how many bits the payload holds (table [`SELECTORS`]), the first value in the low
//! bits. Selectors 0 and 1 are runs of 240 and 120 zeros with no payload. The encoder is greedy:
//! at each position it takes the selector with the most values that all fit. The last word may
//! be partly used; the decoder knows the count and ignores the rest.

use super::bits::Input;
use super::CodecError;

/// Widest value Simple-8b holds.
pub(super) const SIMPLE8B_VALUE_BITS_MAX: u32 = 60;
/// Bytes per Simple-8b word.
pub(super) const SIMPLE8B_WORD_BYTES: usize = 8;
/// Where the selector starts in a word.
const SELECTOR_SHIFT: u32 = 60;

/// (values per word, bits per value) for each selector.
const SELECTORS: [(usize, u32); 16] = [
    (240, 0),
    (120, 0),
    (60, 1),
    (30, 2),
    (20, 3),
    (15, 4),
    (12, 5),
    (10, 6),
    (8, 7),
    (7, 8),
    (6, 10),
    (5, 12),
    (4, 15),
    (3, 20),
    (2, 30),
    (1, 60),
];

/// Index of the widest selector (one 60-bit value).
const SELECTOR_WIDEST: usize = 15;

/// Each width 0..=60 rounded up to the nearest selector width: the fewest bits a value of that
/// width takes in any word.
const ROUNDED_WIDTHS: [u8; SIMPLE8B_VALUE_BITS_MAX as usize + 1] = rounded_widths();

const fn rounded_widths() -> [u8; SIMPLE8B_VALUE_BITS_MAX as usize + 1] {
    let mut table = [0u8; SIMPLE8B_VALUE_BITS_MAX as usize + 1];
    let mut width = 0;
    while width <= SIMPLE8B_VALUE_BITS_MAX as usize {
        let mut selector = SELECTORS.len() - 1;
        while selector > 0 && SELECTORS[selector - 1].1 as usize >= width {
            selector -= 1;
        }
        table[width] = SELECTORS[selector].1 as u8;
        width += 1;
    }
    table
}

/// A lower bound on the words [`pack`] needs for these values (each `< 2^60`): no word holds
/// more than 60 bits of rounded widths. Cheap, so a hopeless Simple-8b try can be skipped.
pub(super) fn words_lower_bound(values: impl Iterator<Item = u64>) -> usize {
    let bits: usize = values
        .map(|value| {
            let width = (u64::BITS - value.leading_zeros()) as usize;
            usize::from(ROUNDED_WIDTHS.get(width).copied().unwrap_or(u8::MAX))
        })
        .sum();
    bits.div_ceil(SIMPLE8B_VALUE_BITS_MAX as usize)
}

/// The selector for the values starting at `values[0]`, and how many values it takes.
#[inline]
fn choose_selector(values: &[u64]) -> (usize, usize) {
    'selectors: for (selector, &(capacity, bits)) in SELECTORS.iter().enumerate() {
        let is_zero_run = bits == 0;
        if is_zero_run && values.len() < capacity {
            continue;
        }
        let taken = capacity.min(values.len());
        let limit = if bits == 0 { 0 } else { (1u64 << bits) - 1 };
        for &value in values.iter().take(taken) {
            if value > limit {
                continue 'selectors;
            }
        }
        return (selector, taken);
    }
    (SELECTOR_WIDEST, values.len().min(1))
}

/// Packs `values` (each `< 2^60`, the caller checks) and returns the word count; appends the
/// words to `dst` when it is given, else only counts.
pub(super) fn pack(values: &[u64], mut dst: Option<&mut Vec<u8>>) -> usize {
    let mut rest = values;
    let mut words = 0;
    while !rest.is_empty() {
        let (selector, taken) = choose_selector(rest);
        let (chunk, tail) = rest.split_at(taken);
        if let Some(out) = dst.as_deref_mut() {
            let bits = SELECTORS
                .get(selector)
                .map_or(SIMPLE8B_VALUE_BITS_MAX, |s| s.1);
            let mut word = (selector as u64) << SELECTOR_SHIFT;
            if bits > 0 {
                for (slot, &value) in chunk.iter().enumerate() {
                    word |= value << (slot as u32 * bits);
                }
            }
            out.extend_from_slice(&word.to_le_bytes());
        }
        rest = tail;
        words += 1;
    }
    words
}

/// Reads words until `count` values are out, passing each to `emit`.
pub(super) fn unpack(
    input: &mut Input<'_>,
    count: usize,
    mut emit: impl FnMut(u64),
) -> Result<(), CodecError> {
    let mut produced = 0;
    while produced < count {
        let word = input.read_u64_le()?;
        let selector = (word >> SELECTOR_SHIFT) as usize;
        let &(capacity, bits) = SELECTORS
            .get(selector)
            .ok_or(CodecError::Corrupt("simple8b selector"))?;
        let taken = capacity.min(count - produced);
        if bits == 0 {
            for _ in 0..taken {
                emit(0);
            }
        } else {
            let mask = (1u64 << bits) - 1;
            for slot in 0..taken {
                emit((word >> (slot as u32 * bits)) & mask);
            }
        }
        produced += taken;
    }
    Ok(())
}
