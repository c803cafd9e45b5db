//! Finding the next byte of a small constant set, 16 bytes at a time.
//!
//! Owns the one hot primitive of the scanner: "index of the first byte at or after `from`
//! that is one of these N bytes". On x86_64 it compares 16-byte chunks against each byte of
//! the set with SSE2 (part of the x86_64 baseline, so no runtime detection is needed) and
//! takes the lowest bit of the match mask; for the last partial chunk it tests the last 16
//! bytes of the haystack and shifts off the overlap (or, in a haystack shorter than 16 bytes,
//! copies the rest into a zeroed buffer and masks off the padding). Elsewhere a scalar loop
//! does the same.
//!
//! Invariant: the answer is exactly `hay[from..].iter().position(|b| set.contains(b))`
//! shifted by `from` (checked by the tests below against that expression).

/// Bytes compared per step.
pub(super) const CHUNK_SIZE_BYTES: usize = 16;

/// Index of the first byte at or after `from` that is in `set`, or `None`.
#[inline(always)]
pub fn find_any<const N: usize>(hay: &[u8], from: usize, set: [u8; N]) -> Option<usize> {
    let mut index = from;
    let mut rest = hay.get(from..)?;
    while let Some((chunk, after)) = rest.split_first_chunk::<CHUNK_SIZE_BYTES>() {
        let mask = chunk_mask(chunk, set);
        if mask != 0 {
            return Some(index + mask.trailing_zeros() as usize);
        }
        index += CHUNK_SIZE_BYTES;
        rest = after;
    }
    if rest.is_empty() {
        return None;
    }
    // Fewer than 16 bytes left: if the haystack is long enough, test its last 16 bytes (they
    // overlap bytes already tested) and drop the bits of the overlap; else copy the rest into
    // a zeroed buffer and drop the bits past its end.
    let mask = match hay.last_chunk::<CHUNK_SIZE_BYTES>() {
        Some(last) => chunk_mask(last, set) >> (CHUNK_SIZE_BYTES - rest.len()),
        None => {
            let mut padded = [0u8; CHUNK_SIZE_BYTES];
            if let Some(head) = padded.get_mut(..rest.len()) {
                head.copy_from_slice(rest);
            }
            // rest.len() < 16, so the shift is in range.
            chunk_mask(&padded, set) & ((1u32 << rest.len()) - 1)
        }
    };
    if mask != 0 {
        return Some(index + mask.trailing_zeros() as usize);
    }
    None
}

/// Bit i set when `chunk[i]` is in `set`.
#[cfg(all(target_arch = "x86_64", target_feature = "sse2"))]
#[inline(always)]
pub(super) fn chunk_mask<const N: usize>(chunk: &[u8; CHUNK_SIZE_BYTES], set: [u8; N]) -> u32 {
    use std::arch::x86_64::{
        __m128i, _mm_cmpeq_epi8, _mm_loadu_si128, _mm_movemask_epi8, _mm_or_si128, _mm_set1_epi8,
        _mm_setzero_si128,
    };
    // SAFETY: SSE2 is enabled on every x86_64 target (this item is compiled only there), so
    // the SSE2 intrinsics may be called; `chunk` is a reference to 16 initialised bytes,
    // exactly what the unaligned 128-bit load reads (`_mm_loadu_si128` has no alignment
    // requirement).
    unsafe {
        let bytes = _mm_loadu_si128(chunk.as_ptr().cast::<__m128i>());
        let mut matches = _mm_setzero_si128();
        for byte in set {
            matches = _mm_or_si128(matches, _mm_cmpeq_epi8(bytes, _mm_set1_epi8(byte as i8)));
        }
        _mm_movemask_epi8(matches) as u32
    }
}

/// Bit i set when `chunk[i]` is in `set`.
#[cfg(not(all(target_arch = "x86_64", target_feature = "sse2")))]
#[inline(always)]
pub(super) fn chunk_mask<const N: usize>(chunk: &[u8; CHUNK_SIZE_BYTES], set: [u8; N]) -> u32 {
    let mut mask = 0u32;
    for (bit, byte) in chunk.iter().enumerate() {
        if set.contains(byte) {
            mask |= 1 << bit;
        }
    }
    mask
}

#[cfg(test)]
mod tests {
    use super::find_any;

    fn expected(hay: &[u8], from: usize, set: &[u8]) -> Option<usize> {
        let rest = hay.get(from..)?;
        rest.iter()
            .position(|byte| set.contains(byte))
            .map(|at| at + from)
    }

    #[test]
    fn matches_a_plain_search_at_every_length_and_offset() {
        let set = [b',', b' ', b'=', b'\\', b'"'];
        for length in 0..70 {
            for special_at in 0..=length {
                let mut hay: Vec<u8> = (0..length).map(|i| b'a' + (i % 26) as u8).collect();
                if let Some(byte) = hay.get_mut(special_at) {
                    *byte = set[special_at % set.len()];
                }
                for from in 0..=length + 1 {
                    assert_eq!(find_any(&hay, from, set), expected(&hay, from, &set));
                }
            }
        }
    }

    #[test]
    fn a_nul_in_the_tail_is_not_a_match() {
        assert_eq!(find_any(b"ab\0", 0, [b'x', 0u8]), Some(2));
        assert_eq!(find_any(b"ab", 0, [0u8]), None);
    }
}
