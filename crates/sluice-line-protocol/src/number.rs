//! Reading decimal numbers fast: digit runs a word at a time, and exact decimal-to-f64
//! conversion for plain decimals (`-?digits[.digits]`) of up to 19 significant digits.
//!
//! Owns no grammar: callers decide which bytes may follow a number. Every function here is
//! exact or declines (`None`), and a caller that gets `None` falls back to the general scanner
//! or to `str::parse::<f64>`, so the results are bit-identical to `str::parse` (proptests
//! below check that on random digit strings, and the differential tests on whole lines).
//!
//! # Digit runs (SWAR)
//! Eight bytes are loaded as one little-endian word (first byte lowest; zero-padded past the
//! end of the text, and NUL is not a digit). A byte is a digit iff its high nibble is 3 and
//! its low nibble plus 6 does not carry into bit 4; the lowest byte failing that test gives
//! the run length `n` in one `trailing_zeros`. The low nibbles of the word, shifted left by
//! `8 * (8 - n)` bytes so that the bytes past the run fall off and zero digits come in at
//! the front, are combined by the multiply-shift trick into the run's value. A run of eight
//! continues with the next word.
//!
//! # Exact conversion of `m / 10^k`
//! - `m <= 2^53` and `k <= 22`: `m` and `10^k` are both exact f64 values, so one IEEE
//!   division rounds the exact quotient correctly (Clinger's fast path).
//! - otherwise, with `m < 2^64` and `k <= 27` (`5^27 < 2^63`): `m / 10^k = (m / 5^k) * 2^-k`.
//!   The integer quotient `q = floor(m * 2^s / 5^k)`, with `m * 2^s` normalised to 128 bits,
//!   has at least 64 significant bits; its top 53 bits are rounded to nearest, ties to even,
//!   with the bits below and the division's remainder as the sticky part. Scaling by a power
//!   of two is exact in the normal range, which every such value is in.

/// Bytes per word of the digit scanner.
pub const WORD_SIZE_BYTES: usize = 8;
/// The low nibble of every byte of a word.
const LOW_NIBBLES: u64 = 0x0F0F_0F0F_0F0F_0F0F;
/// The high nibble of every byte of a word.
const HIGH_NIBBLES: u64 = 0xF0F0_F0F0_F0F0_F0F0;
/// `b'0'` in every byte of a word.
const ZEROS: u64 = 0x3030_3030_3030_3030;
/// Added to the low nibbles: carries into the high nibble exactly for a nibble above 9.
const ABOVE_NINE: u64 = 0x0606_0606_0606_0606;
/// Bits per byte.
const BYTE_BITS: u32 = 8;

/// Most digits whose value always fits in a u64 (10^19 < 2^64).
pub const U64_DIGITS_MAX: usize = 19;
/// Powers of ten that fit in a u64; a run of `n <= 8` digits scales the value by `10^n`.
const POWERS_OF_TEN_U64: [u64; 20] = {
    let mut powers = [1u64; 20];
    let mut index = 1;
    while index < powers.len() {
        powers[index] = powers[index - 1] * 10;
        index += 1;
    }
    powers
};

/// Largest mantissa (inclusive) that an f64 holds exactly together with every smaller one.
const EXACT_MANTISSA_MAX: u64 = 1 << 53;
/// Largest power of ten an f64 holds exactly.
const EXACT_POWER_OF_TEN_MAX: usize = 22;
/// Powers of ten exactly representable as f64.
const EXACT_POWERS_OF_TEN: [f64; EXACT_POWER_OF_TEN_MAX + 1] = [
    1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15, 1e16,
    1e17, 1e18, 1e19, 1e20, 1e21, 1e22,
];
/// Largest `k` with `5^k` in a u64 below 2^63 (the long-division path's divisor).
const FIVE_POWER_MAX: usize = 27;
/// Powers of five up to [`FIVE_POWER_MAX`].
const POWERS_OF_FIVE: [u64; FIVE_POWER_MAX + 1] = {
    let mut powers = [1u64; FIVE_POWER_MAX + 1];
    let mut index = 1;
    while index < powers.len() {
        powers[index] = powers[index - 1] * 5;
        index += 1;
    }
    powers
};
/// Explicit mantissa bits of an f64 plus the implicit one.
const MANTISSA_BITS: u32 = 53;
/// Exponent bias of an f64.
const EXPONENT_BIAS: i32 = 1023;
/// Smallest and largest unbiased exponent of a normal f64.
const EXPONENT_MIN: i32 = -1022;
/// See [`EXPONENT_MIN`].
const EXPONENT_MAX: i32 = 1023;
/// Position of the exponent field in an f64's bits.
const EXPONENT_SHIFT: u32 = 52;

/// The word of `text` starting at `at`, zero-padded past its end (NUL is not a digit, so a
/// run stops there).
#[inline(always)]
fn load_word(text: &[u8], at: usize) -> u64 {
    if let Some(chunk) = text
        .get(at..)
        .and_then(|rest| rest.first_chunk::<WORD_SIZE_BYTES>())
    {
        return u64::from_le_bytes(*chunk);
    }
    let remaining = text.len().saturating_sub(at);
    if let Some(last) = text.last_chunk::<WORD_SIZE_BYTES>() {
        // The text's last word ends where we want; shift out the bytes before `at`.
        let overlap_bits = (BYTE_BITS as usize * (WORD_SIZE_BYTES - remaining)) as u32;
        return u64::from_le_bytes(*last)
            .checked_shr(overlap_bits)
            .unwrap_or(0);
    }
    let mut padded = [0u8; WORD_SIZE_BYTES];
    let rest = text.get(at..).unwrap_or_default();
    if let Some(head) = padded.get_mut(..rest.len()) {
        head.copy_from_slice(rest);
    }
    u64::from_le_bytes(padded)
}

/// How many of the word's bytes, from the lowest, are ASCII digits (0..=8).
#[inline(always)]
fn leading_digit_count(word: u64) -> usize {
    (not_digit_bytes(word).trailing_zeros() / BYTE_BITS) as usize
}

/// The value of eight digits 0..=9, one per byte, first digit in the lowest byte.
#[inline(always)]
pub fn eight_digits_value(digits: u64) -> u64 {
    // Pairs: each 16-bit lane becomes 10 * first + second (no byte carries: at most 99).
    let pairs = (digits * 10 + (digits >> 8)) & 0x00FF_00FF_00FF_00FF;
    // Quads: each 32-bit lane becomes 100 * first pair + second pair; products that spill
    // past bit 63 belong to lanes that are discarded, hence the wrapping multiplies.
    let quads = (pairs.wrapping_mul(1 + (100 << 16)) >> 16) & 0x0000_FFFF_0000_FFFF;
    // The two quads: 10_000 * first + second, in the top half.
    quads.wrapping_mul(1 + (10_000 << 32)) >> 32
}

/// Appends the ASCII digits at the start of `text` to `value` (wrapping past 19 digits) and
/// returns how many there were.
#[inline(always)]
pub fn read_digits(text: &[u8], value: &mut u64) -> usize {
    let mut count = 0;
    loop {
        let word = load_word(text, count);
        let run = leading_digit_count(word);
        if run == 0 {
            return count;
        }
        // 1..=8 digits: shift the bytes past the run out; zeros (digit 0) come in first.
        let unused_bits = (BYTE_BITS as usize * (WORD_SIZE_BYTES - run)) as u32;
        let digits = (word & LOW_NIBBLES) << unused_bits;
        let scale = POWERS_OF_TEN_U64.get(run).copied().unwrap_or(0);
        *value = value
            .wrapping_mul(scale)
            .wrapping_add(eight_digits_value(digits));
        count += run;
        if run < WORD_SIZE_BYTES {
            return count;
        }
    }
}

/// Nonzero in exactly the bytes of `word` that are not ASCII digits.
#[inline(always)]
fn not_digit_bytes(word: u64) -> u64 {
    // No carry crosses bytes (0x0F + 0x06 < 0x100).
    ((word & HIGH_NIBBLES) ^ ZEROS) | (((word & LOW_NIBBLES) + ABOVE_NINE) & HIGH_NIBBLES)
}

/// The value of the `length` bytes of `body` from `start` when all of them are ASCII digits
/// (`Some(0)` for `length == 0`), else `None`; wraps past [`U64_DIGITS_MAX`] digits, so
/// callers pass at most that many. The length is known (the structural bitmask gave it), so
/// each word is checked and converted whole: no search for the run's end.
#[inline(always)]
pub fn fixed_digits(body: &[u8], start: usize, length: usize) -> Option<u64> {
    let mut value = 0u64;
    let mut done = 0;
    while done < length {
        let word = load_word(body, start + done);
        let take = (length - done).min(WORD_SIZE_BYTES);
        // take is 1..=8: the shift is 0..=56 bits.
        let unused_bits = (BYTE_BITS as usize * (WORD_SIZE_BYTES - take)) as u32;
        if not_digit_bytes(word) & (u64::MAX >> unused_bits) != 0 {
            return None;
        }
        let digits = (word & LOW_NIBBLES) << unused_bits;
        let scale = POWERS_OF_TEN_U64.get(take).copied().unwrap_or(0);
        value = value
            .wrapping_mul(scale)
            .wrapping_add(eight_digits_value(digits));
        done += take;
    }
    Some(value)
}

/// `10^exponent` for `exponent <= 19`, else `None`.
#[inline(always)]
pub fn power_of_ten(exponent: usize) -> Option<u64> {
    POWERS_OF_TEN_U64.get(exponent).copied()
}

/// A number `digits[.digits]` that ends inside the first word of `text`, read with one SWAR
/// step: the point is squeezed out (the integer bytes move up one byte, a zero digit comes
/// in at the front). `None` when `text` is shorter than a word or the number (with its point)
/// runs to the word's end; the caller then reads it with [`read_digits`].
#[inline(always)]
pub fn read_short_decimal(text: &[u8]) -> Option<ShortDecimal> {
    let word = u64::from_le_bytes(*text.first_chunk::<WORD_SIZE_BYTES>()?);
    let integer_digits = leading_digit_count(word);
    let point_at_bits = (BYTE_BITS as usize * integer_digits) as u32;
    let after_integer = word.checked_shr(point_at_bits)? as u8;
    if after_integer != b'.' {
        if integer_digits == WORD_SIZE_BYTES {
            return None;
        }
        let unused_bits = (BYTE_BITS as usize * (WORD_SIZE_BYTES - integer_digits)) as u32;
        let digits = (word & LOW_NIBBLES).checked_shl(unused_bits).unwrap_or(0);
        return Some(ShortDecimal {
            length: integer_digits,
            mantissa: eight_digits_value(digits),
            integer_digits,
            fraction_digits: 0,
            next: after_integer,
        });
    }
    // The fraction starts after the point; bytes shifted in from the top are NULs.
    let fraction_at_bits = point_at_bits + BYTE_BITS;
    let fraction_word = word.checked_shr(fraction_at_bits)?;
    let fraction_digits = leading_digit_count(fraction_word);
    let length = integer_digits + 1 + fraction_digits;
    if length >= WORD_SIZE_BYTES {
        return None;
    }
    let integer_bytes = word & ((1u64 << point_at_bits) - 1);
    let length_bits = (BYTE_BITS as usize * length) as u32;
    let fraction_bytes = (fraction_word << fraction_at_bits) & ((1u64 << length_bits) - 1);
    // Digits now fill bytes 0..length, byte 0 being a leading zero.
    let squeezed = (integer_bytes << BYTE_BITS) | fraction_bytes;
    let unused_bits = u64::BITS - length_bits;
    Some(ShortDecimal {
        length,
        mantissa: eight_digits_value((squeezed & LOW_NIBBLES) << unused_bits),
        integer_digits,
        fraction_digits,
        next: (word >> length_bits) as u8,
    })
}

/// What [`read_short_decimal`] found.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ShortDecimal {
    /// bytes of the number, point included
    pub length: usize,
    /// all its digits as one integer (at most 7 digits)
    pub mantissa: u64,
    /// digits before the point
    pub integer_digits: usize,
    /// digits after the point (0 without a point)
    pub fraction_digits: usize,
    /// the byte after the number
    pub next: u8,
}

/// How many digits of the number `text` (`digits[.digits]`, no sign) come before its first
/// non-zero digit: they add nothing to the mantissa, so they do not count towards
/// [`U64_DIGITS_MAX`].
pub fn leading_zero_digits(text: &[u8]) -> usize {
    text.iter()
        .take_while(|&&byte| byte == b'0' || byte == b'.')
        .filter(|&&byte| byte == b'0')
        .count()
}

/// The f64 nearest to `mantissa / 10^fraction_digits` (ties to even), as `str::parse` gives
/// it; `None` when neither exact method applies (the caller then uses `str::parse`).
#[inline(always)]
pub fn decimal_to_f64(mantissa: u64, fraction_digits: usize) -> Option<f64> {
    if mantissa <= EXACT_MANTISSA_MAX {
        if let Some(divisor) = EXACT_POWERS_OF_TEN.get(fraction_digits) {
            return Some(mantissa as f64 / divisor);
        }
    }
    long_division_to_f64(mantissa, fraction_digits)
}

/// `mantissa / 10^fraction_digits` by one 128-by-64-bit division (see the module doc).
#[inline(never)]
fn long_division_to_f64(mantissa: u64, fraction_digits: usize) -> Option<f64> {
    if mantissa == 0 {
        return Some(0.0);
    }
    let divisor = *POWERS_OF_FIVE.get(fraction_digits)?;
    let normalise_shift = mantissa.leading_zeros();
    // numerator = mantissa * 2^(normalise_shift + 64), top bit set
    let numerator = u128::from(mantissa << normalise_shift) << u64::BITS;
    let quotient = numerator / u128::from(divisor);
    let inexact = numerator != quotient * u128::from(divisor);
    // divisor < 2^63, so quotient >= 2^64: at least 65 significant bits.
    let quotient_bits = u128::BITS - quotient.leading_zeros();
    let dropped_bits = quotient_bits
        .checked_sub(MANTISSA_BITS)
        .filter(|&bits| bits > 0)?;
    let mut rounded = (quotient >> dropped_bits) as u64;
    let below = quotient & ((1u128 << dropped_bits) - 1);
    let half = 1u128 << (dropped_bits - 1);
    let round_up = below > half || (below == half && (inexact || rounded & 1 == 1));
    let mut exponent = dropped_bits as i32
        - normalise_shift as i32
        - u64::BITS as i32
        - i32::try_from(fraction_digits).ok()?;
    if round_up {
        rounded += 1;
        if rounded == 1 << MANTISSA_BITS {
            rounded >>= 1;
            exponent += 1;
        }
    }
    // rounded <= 2^53 converts exactly; the power of two is built from its bits.
    if !(EXPONENT_MIN..=EXPONENT_MAX).contains(&exponent) {
        return None;
    }
    let scale = f64::from_bits(((exponent + EXPONENT_BIAS) as u64) << EXPONENT_SHIFT);
    Some(rounded as f64 * scale)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// What the fast path must equal: std's correctly rounded parse.
    fn std_value(text: &str) -> f64 {
        text.parse::<f64>().unwrap()
    }

    /// Parses `digits[.digits]` the way the scanner does; `None` when the number has more
    /// than 19 significant digits (the scanner then uses `str::parse`).
    fn fast_value(text: &str) -> Option<f64> {
        let bytes = text.as_bytes();
        let mut mantissa = 0u64;
        let integer_digits = read_digits(bytes, &mut mantissa);
        let rest = bytes.get(integer_digits..).unwrap_or_default();
        let fraction_digits = match rest.split_first() {
            Some((b'.', fraction)) => read_digits(fraction, &mut mantissa),
            _ => 0,
        };
        let significant = text
            .trim_start_matches(['0', '.'])
            .bytes()
            .filter(u8::is_ascii_digit)
            .count();
        if significant > U64_DIGITS_MAX {
            return None;
        }
        decimal_to_f64(mantissa, fraction_digits)
    }

    fn check(text: &str) -> Result<(), TestCaseError> {
        if let Some(value) = fast_value(text) {
            prop_assert_eq!(value.to_bits(), std_value(text).to_bits(), "{}", text);
        }
        Ok(())
    }

    #[test]
    fn digit_runs_match_a_plain_parse() {
        let digits = b"9081726354019283746556473829101";
        for length in 0..digits.len() {
            for stop in 0..=length {
                for stopper in [b'.', b' ', b'/', b':', b'i', 0xFF, 0x00, 0xFA, 0x39 + 0x80] {
                    let mut text = digits[..length].to_vec();
                    if stop < length {
                        text[stop] = stopper;
                    }
                    let run = text.iter().take_while(|byte| byte.is_ascii_digit()).count();
                    let mut expected = 0u64;
                    for &byte in &text[..run] {
                        expected = expected
                            .wrapping_mul(10)
                            .wrapping_add(u64::from(byte - b'0'));
                    }
                    let mut value = 0;
                    assert_eq!(read_digits(&text, &mut value), run, "{text:?}");
                    assert_eq!(value, expected, "{text:?}");
                }
            }
        }
    }

    #[test]
    fn fixed_digits_match_a_plain_parse() {
        let digits = b"9081726354019283746556473829101";
        for length in 0..=U64_DIGITS_MAX {
            for bad_at in 0..=length {
                for bad in [b'.', b' ', b'/', b':', 0x00, 0xFA, 0x39 + 0x80] {
                    // Text after the digits (and a bad byte inside) must be judged exactly.
                    let mut body = b"x".to_vec();
                    body.extend_from_slice(&digits[..length]);
                    body.extend_from_slice(b"y.z");
                    if bad_at < length {
                        body[1 + bad_at] = bad;
                    }
                    let text = &body[1..1 + length];
                    let expected = if text.iter().all(u8::is_ascii_digit) {
                        Some(
                            text.iter()
                                .fold(0u64, |value, &byte| value * 10 + u64::from(byte - b'0')),
                        )
                    } else {
                        None
                    };
                    assert_eq!(fixed_digits(&body, 1, length), expected, "{body:?}");
                    // Also when the digits end the body.
                    assert_eq!(fixed_digits(&body[..1 + length], 1, length), expected);
                }
            }
        }
    }

    #[test]
    fn short_decimals_match_the_digit_runs() {
        let alphabet = b"0123456789.,i -e";
        // Every string of up to 9 bytes over a small alphabet, in a deterministic sample.
        let mut state = 0x9E37_79B9_7F4A_7C15u64;
        for _ in 0..200_000 {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            let length = (state % 10) as usize;
            let text: Vec<u8> = (0..length)
                .map(|at| alphabet[((state >> (4 + 4 * at)) % alphabet.len() as u64) as usize])
                .collect();
            let Some(found) = read_short_decimal(&text) else {
                continue;
            };
            let mut mantissa = 0u64;
            let integer_digits = read_digits(&text, &mut mantissa);
            let mut length = integer_digits;
            let mut fraction_digits = 0;
            if text.get(integer_digits) == Some(&b'.') {
                fraction_digits = read_digits(&text[integer_digits + 1..], &mut mantissa);
                length += 1 + fraction_digits;
            }
            let expected = ShortDecimal {
                length,
                mantissa,
                integer_digits,
                fraction_digits,
                next: text[length],
            };
            assert_eq!(found, expected, "{:?}", String::from_utf8_lossy(&text));
        }
    }

    #[test]
    fn edge_values_convert_exactly() {
        for text in [
            "0",
            "0.0",
            "9007199254740992",
            "9007199254740993",
            "9007199254740995",
            "18446744073709551615",
            "9999999999999999999",
            "1.8446744073709551615",
            "0.000000000000000000000000001",
            "0.0000000000000000000000000012345678901234567",
            "4.1133333333333335",
            "87.66000000000001",
            "0.30000000000000004",
            "2.2250738585072014",
            "1.7976931348623157",
            "123456789012345678.9",
            "9.007199254740993",
            "0.1",
            "0.2",
            "0.3",
        ] {
            check(text).unwrap();
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(20_000))]

        #[test]
        fn random_digit_strings_convert_exactly(
            integer in "[0-9]{0,20}",
            fraction in prop::option::of("[0-9]{0,28}"),
        ) {
            let text = match fraction {
                Some(fraction) => format!("{integer}.{fraction}"),
                None => integer,
            };
            if text.bytes().any(|byte| byte.is_ascii_digit()) {
                check(&text)?;
            }
        }

        #[test]
        fn random_mantissas_convert_exactly(mantissa in any::<u64>(), fraction_digits in 0usize..30) {
            let digits = mantissa.to_string();
            let text = if fraction_digits >= digits.len() {
                format!("0.{}{digits}", "0".repeat(fraction_digits - digits.len()))
            } else {
                let (integer, fraction) = digits.split_at(digits.len() - fraction_digits);
                format!("{integer}.{fraction}")
            };
            check(&text)?;
        }

        #[test]
        fn halfway_cases_convert_exactly(
            mantissa in (1u64 << 52)..(1u64 << 53),
            shift in 0u32..11,
            nudge in -1i64..=1,
            fraction_digits in 0usize..20,
        ) {
            // A 53-bit mantissa followed by exactly half an ulp (a tie), or one off it.
            let tie = (mantissa << (shift + 1)) | (1u64 << shift);
            let value = tie.wrapping_add_signed(nudge);
            let digits = value.to_string();
            if fraction_digits < digits.len() {
                let (integer, fraction) = digits.split_at(digits.len() - fraction_digits);
                check(&format!("{integer}.{fraction}"))?;
            }
            check(&digits)?;
        }
    }
}
