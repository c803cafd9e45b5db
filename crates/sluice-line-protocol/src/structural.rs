//! The structural bytes of a body (`,` space `=` `"` `\` newline), found 64 at a time.
//!
//! Owns one cursor over a body: a 64-bit mask with bit `i` set when byte `block_start + i`
//! is structural. The fast path (`fast`) asks for "the first structural byte at or after
//! `from`" once per token; while `from` is inside the current block that is one shift, one
//! `and` and one `trailing_zeros`, so a token's end (and length) comes without touching its
//! bytes, and the newline that ends a line is found by the same walk (no separate line-end
//! search).
//!
//! # Algorithm
//! A block is the 64 bytes starting at the `from` that needed it (unaligned), or fewer at
//! the end of the body (copied into a zeroed buffer: NUL is not structural, so the padding
//! sets no bit). On x86_64 each 16-byte quarter is compared with SSE2 against each of the
//! six bytes (`find::chunk_mask`) and the four 16-bit masks are joined.
//!
//! Invariant: `next(body, from)` is exactly
//! `body[from..].iter().position(is_structural) + from`, or `body.len()` when there is none
//! (checked by the tests below against that expression). The cursor holds no reference to
//! the body: every call passes the same body (one cursor per [`super::Parser`]).

use super::find::{chunk_mask, CHUNK_SIZE_BYTES};

/// Bytes classified per block (one bit each in a `u64`).
pub const BLOCK_SIZE_BYTES: usize = 64;
/// The structural bytes: separators, quote, backslash, newline.
pub const STRUCTURAL_BYTES: [u8; 6] = [b',', b' ', b'=', b'"', b'\\', b'\n'];

const _: () = assert!(BLOCK_SIZE_BYTES == u64::BITS as usize);
const _: () = assert!(BLOCK_SIZE_BYTES == 4 * CHUNK_SIZE_BYTES);

/// The start of no block: past any index a slice can have (slices hold at most
/// `isize::MAX` bytes), so the first query loads a real block, and adding a block's size to it
/// cannot overflow.
const NO_BLOCK_START: usize = isize::MAX as usize + 1;

/// Where the structural bytes of the current block are.
#[derive(Debug, Clone, Copy)]
pub struct StructuralCursor {
    /// index in the body of the block's first byte
    block_start: usize,
    /// bit `i` set iff `body[block_start + i]` is structural; bits past the body's end are 0
    mask: u64,
}

impl Default for StructuralCursor {
    fn default() -> Self {
        StructuralCursor {
            block_start: NO_BLOCK_START,
            mask: 0,
        }
    }
}

impl StructuralCursor {
    /// Index of the first structural byte at or after `from`, or `body.len()` if none.
    #[inline(always)]
    pub fn next(&mut self, body: &[u8], from: usize) -> usize {
        let offset = from.wrapping_sub(self.block_start);
        if offset < BLOCK_SIZE_BYTES {
            let pending = self.mask & (u64::MAX << offset);
            if pending != 0 {
                return self.block_start + pending.trailing_zeros() as usize;
            }
            return self.next_in_new_blocks(body, self.block_start + BLOCK_SIZE_BYTES);
        }
        self.next_in_new_blocks(body, from)
    }

    /// Loads blocks from `from` on until one holds a structural byte.
    #[inline(never)]
    fn next_in_new_blocks(&mut self, body: &[u8], mut from: usize) -> usize {
        loop {
            if from >= body.len() {
                return body.len();
            }
            self.block_start = from;
            self.mask = block_mask(body, from);
            if self.mask != 0 {
                return from + self.mask.trailing_zeros() as usize;
            }
            from += BLOCK_SIZE_BYTES;
        }
    }
}

/// Bit `i` set iff `body[from + i]` is structural (bits past the body's end are 0).
#[inline(always)]
fn block_mask(body: &[u8], from: usize) -> u64 {
    let rest = body.get(from..).unwrap_or_default();
    match rest.first_chunk::<BLOCK_SIZE_BYTES>() {
        Some(block) => full_block_mask(block),
        None => {
            let mut padded = [0u8; BLOCK_SIZE_BYTES];
            if let Some(head) = padded.get_mut(..rest.len()) {
                head.copy_from_slice(rest);
            }
            full_block_mask(&padded)
        }
    }
}

/// Bit `i` set iff `block[i]` is structural: the four 16-byte quarters' masks, joined.
#[inline(always)]
fn full_block_mask(block: &[u8; BLOCK_SIZE_BYTES]) -> u64 {
    // Written out (not a loop over quarters): the compiler then keeps every mask in a register
    // and joins them with three shifts.
    let quarter_mask = |at: usize| -> u64 {
        block
            .get(at..)
            .and_then(|rest| rest.first_chunk::<CHUNK_SIZE_BYTES>())
            .map_or(0, |chunk| u64::from(chunk_mask(chunk, STRUCTURAL_BYTES)))
    };
    quarter_mask(0)
        | quarter_mask(CHUNK_SIZE_BYTES) << CHUNK_SIZE_BYTES
        | quarter_mask(2 * CHUNK_SIZE_BYTES) << (2 * CHUNK_SIZE_BYTES)
        | quarter_mask(3 * CHUNK_SIZE_BYTES) << (3 * CHUNK_SIZE_BYTES)
}

#[cfg(test)]
mod tests {
    use super::{StructuralCursor, STRUCTURAL_BYTES};
    use proptest::prelude::*;

    fn expected(body: &[u8], from: usize) -> usize {
        body.get(from..)
            .and_then(|rest| rest.iter().position(|byte| STRUCTURAL_BYTES.contains(byte)))
            .map_or(body.len(), |at| at + from)
    }

    #[test]
    fn matches_a_plain_search_at_every_length_and_offset() {
        for length in 0..140 {
            for special_at in 0..=length {
                let mut body: Vec<u8> = (0..length).map(|i| b'a' + (i % 26) as u8).collect();
                if let Some(byte) = body.get_mut(special_at) {
                    *byte = STRUCTURAL_BYTES[special_at % STRUCTURAL_BYTES.len()];
                }
                // One cursor walked forward (the parser's use) and a fresh one per query.
                let mut walking = StructuralCursor::default();
                for from in 0..=length + 1 {
                    assert_eq!(walking.next(&body, from), expected(&body, from));
                    let mut fresh = StructuralCursor::default();
                    assert_eq!(fresh.next(&body, from), expected(&body, from));
                }
            }
        }
    }

    proptest! {
        #[test]
        fn random_queries_match_a_plain_search(
            body in prop::collection::vec(
                prop::sample::select(b"ab,= \"\\\n\0\t".to_vec()), 0..300),
            queries in prop::collection::vec(0usize..310, 0..40),
        ) {
            // Queries in any order, also backwards (the parser goes back after a fallback).
            let mut cursor = StructuralCursor::default();
            for from in queries {
                prop_assert_eq!(cursor.next(&body, from), expected(&body, from));
            }
        }
    }
}
