//! Go's number conversions, as the InfluxDB 1.6.7 input services (built with Go 1.19) run
//! them: one place for every decoder that must read or convert a number exactly as Go does.
//!
//! Owns two emulations, and nothing else (no I/O, no allocation unless a number has `_`
//! separators):
//!
//! - [`parse_float`]: `strconv.ParseFloat(text, 64)`. Graphite values and timestamps,
//!   OpenTSDB telnet values and collectd `types.db` bounds all go through it.
//! - [`float_to_i64`] and [`float_to_u64`]: the conversions `int64(f)` and `uint64(f)` as
//!   Go compiles them on amd64 (graphite timestamps, collectd gauge → derive/counter).
//!
//! What an outcome means to a protocol stays with its decoder: Graphite tells a syntax error
//! from a range error and refuses ±Inf and NaN values, OpenTSDB drops all of them, a
//! `types.db` bound only needs "no error".
//!
//! # `strconv.ParseFloat(text, 64)`
//! 1. Specials first (`special`): `inf` and `infinity` with an optional sign, `nan` without
//!    one, any case. A signed `nan` is a syntax error, as in Go.
//! 2. Syntax (`readFloat`, which must consume the whole text): optional sign; a `0x`/`0X`
//!    prefix (only when more text follows it) for hexadecimal; digits with at most one `.`
//!    and at least one digit; an exponent `e` (decimal, optional) or `p` (hexadecimal,
//!    required) with an optional sign and at least one decimal digit. `_` may appear among
//!    digits (and after the base prefix) when Go's `underscoreOK` allows it: each `_` between
//!    two digits.
//! 3. Value: correctly rounded to nearest, ties to even. Decimal text is rounded by Rust's
//!    parser (also correctly rounded, so the bits are Go's); hexadecimal text by
//!    `round_to_f64` below. Underflow gives ±0 or a subnormal with no error; overflow is
//!    Go's `ErrRange` with ±Inf as the value.
//!
//! Invariants: [`parse_float`] never panics and never returns [`ParseFloat::Value`] of an
//! infinity or NaN unless the text spelled it; every finite `f64` printed by Rust (`{}` or
//! `{:e}`) parses back to itself.
//!
//! Known divergence: Go stops accumulating an exponent once it reaches 10,000 (so
//! `1` followed by 20,000 zeros and `e-123456` overflows in Go). The hexadecimal path copies
//! that rule; the decimal path does not (only texts of thousands of digits can tell).

/// What Go's `strconv.ParseFloat(text, 64)` returns.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum ParseFloat {
    /// No error. Infinite or NaN only when the text spells `inf`, `infinity` or `nan`; ±0 or
    /// a subnormal when a nonzero number underflows (Go reports no error then either).
    Value(f64),
    /// `ErrSyntax`: not a Go float literal (Go's value is 0).
    Syntax,
    /// `ErrRange`: a finite literal too large for a float64; Go's value, ±Inf, is kept.
    Range(f64),
}

/// Go's `strconv.ParseFloat(text, 64)` (module documentation: the rules).
pub fn parse_float(text: &[u8]) -> ParseFloat {
    if let Some(value) = special(text) {
        return ParseFloat::Value(value);
    }
    let Some(shape) = float_shape(text) else {
        return ParseFloat::Syntax;
    };
    if shape.underscores && !underscores_ok(text) {
        return ParseFloat::Syntax;
    }
    let value = if shape.hex {
        hex_value(text)
    } else if shape.underscores {
        let digits: Vec<u8> = text.iter().copied().filter(|&byte| byte != b'_').collect();
        decimal_value(&digits)
    } else {
        decimal_value(text)
    };
    match value {
        Some(value) if value.is_infinite() => ParseFloat::Range(value),
        Some(value) => ParseFloat::Value(value),
        None => ParseFloat::Syntax,
    }
}

/// 2^63 as a float: the first value past the `i64` range.
const TWO_POW_63: f64 = 9_223_372_036_854_775_808.0;

/// Go's `int64(f)` on amd64 (`CVTTSD2SQ`): truncation toward zero; NaN and values outside
/// `[-2^63, 2^63)` give `i64::MIN` (the instruction's "integer indefinite"), where Rust's
/// `as` would saturate.
pub fn float_to_i64(value: f64) -> i64 {
    if value.is_nan() || !(-TWO_POW_63..TWO_POW_63).contains(&value) {
        i64::MIN
    } else {
        value as i64
    }
}

/// Go's `uint64(f)` on amd64: below 2^63 (negative values included) the bits of
/// `int64(f)`; from 2^63 on (and NaN) `int64(f - 2^63) | 1 << 63`.
pub fn float_to_u64(value: f64) -> u64 {
    if value < TWO_POW_63 {
        float_to_i64(value) as u64
    } else {
        (float_to_i64(value - TWO_POW_63) as u64) | (1 << 63)
    }
}

/// Go's `special`: `inf`/`infinity` (optionally signed) and unsigned `nan`, any case, as the
/// whole text.
fn special(text: &[u8]) -> Option<f64> {
    let (negative, unsigned) = match text.split_first() {
        Some((b'+', rest)) => (false, rest),
        Some((b'-', rest)) => (true, rest),
        _ => (false, text),
    };
    if unsigned.eq_ignore_ascii_case(b"inf") || unsigned.eq_ignore_ascii_case(b"infinity") {
        return Some(if negative {
            f64::NEG_INFINITY
        } else {
            f64::INFINITY
        });
    }
    let signed = unsigned.len() != text.len();
    (!signed && text.eq_ignore_ascii_case(b"nan")).then_some(f64::NAN)
}

/// What [`float_shape`] learned about a syntactically valid number.
struct FloatShape {
    /// `0x` prefix: hexadecimal mantissa, binary `p` exponent
    hex: bool,
    /// at least one `_` (still to be checked by [`underscores_ok`])
    underscores: bool,
}

/// Go's `readFloat` syntax check, requiring the whole text to be consumed.
fn float_shape(text: &[u8]) -> Option<FloatShape> {
    let mut index = usize::from(matches!(text.first(), Some(b'+' | b'-')));
    let hex = text.get(index) == Some(&b'0')
        && matches!(text.get(index + 1), Some(b'x' | b'X'))
        && index + 2 < text.len();
    if hex {
        index += 2;
    }
    let mut underscores = false;
    let mut saw_dot = false;
    let mut saw_digits = false;
    while let Some(&byte) = text.get(index) {
        match byte {
            b'_' => underscores = true,
            b'.' if !saw_dot => saw_dot = true,
            b'0'..=b'9' => saw_digits = true,
            b'a'..=b'f' | b'A'..=b'F' if hex => saw_digits = true,
            _ => break,
        }
        index += 1;
    }
    if !saw_digits {
        return None;
    }
    let exponent_marker = if hex { b'p' } else { b'e' };
    match text.get(index) {
        Some(&byte) if byte.to_ascii_lowercase() == exponent_marker => {
            index = exponent_end(text, index + 1, &mut underscores)?;
        }
        _ if hex => return None,
        _ => {}
    }
    (index == text.len()).then_some(FloatShape { hex, underscores })
}

/// The end of an exponent's `[+-]digits` starting at `index` (`_` allowed after the first
/// digit); `None` without a digit.
fn exponent_end(text: &[u8], mut index: usize, underscores: &mut bool) -> Option<usize> {
    if matches!(text.get(index), Some(b'+' | b'-')) {
        index += 1;
    }
    if !text.get(index).is_some_and(u8::is_ascii_digit) {
        return None;
    }
    while let Some(&byte) = text.get(index) {
        match byte {
            b'_' => *underscores = true,
            b'0'..=b'9' => {}
            _ => break,
        }
        index += 1;
    }
    Some(index)
}

/// Go's `underscoreOK`: every `_` sits between two digits, a base prefix counting as one.
fn underscores_ok(text: &[u8]) -> bool {
    #[derive(PartialEq)]
    enum Last {
        Start,
        Digit,
        Underscore,
        Other,
    }
    let unsigned = match text.split_first() {
        Some((b'+' | b'-', rest)) => rest,
        _ => text,
    };
    let (hex, body, mut last) = match unsigned {
        [b'0', base, rest @ ..] if matches!(base.to_ascii_lowercase(), b'b' | b'o' | b'x') => {
            (base.eq_ignore_ascii_case(&b'x'), rest, Last::Digit)
        }
        _ => (false, unsigned, Last::Start),
    };
    for &byte in body {
        if byte.is_ascii_digit() || (hex && byte.is_ascii_hexdigit()) {
            last = Last::Digit;
        } else if byte == b'_' {
            if last != Last::Digit {
                return false;
            }
            last = Last::Underscore;
        } else if last == Last::Underscore {
            return false;
        } else {
            last = Last::Other;
        }
    }
    last != Last::Underscore
}

/// A decimal literal already checked by [`float_shape`] (sign included, no `_`), correctly
/// rounded; infinite when it overflows.
fn decimal_value(text: &[u8]) -> Option<f64> {
    std::str::from_utf8(text).ok()?.parse::<f64>().ok()
}

/// Hex digits gathered into the mantissa before the rest only counts as "nonzero below".
const HEX_MANTISSA_BITS_MAX: u32 = 60;
/// Go stops accumulating an exponent once it reaches this (`readFloat`'s `e < 10000`).
const EXPONENT_ACCUMULATION_MAX: i64 = 10_000;
/// Significand bits of an f64, the implicit leading one included.
const F64_SIGNIFICAND_BITS: i64 = 53;
/// Exponent of the smallest normal f64 (value = 1.x * 2^exponent).
const F64_EXPONENT_MIN: i64 = -1022;
/// Exponent of the largest finite f64.
const F64_EXPONENT_MAX: i64 = 1023;

/// A hexadecimal literal already checked by [`float_shape`], correctly rounded (infinite
/// when it overflows).
fn hex_value(text: &[u8]) -> Option<f64> {
    let (negative, unsigned) = match text.split_first() {
        Some((b'-', rest)) => (true, rest),
        Some((b'+', rest)) => (false, rest),
        _ => (false, text),
    };
    let digits_and_exponent = unsigned.get(2..)?; // after `0x`
    let marker = digits_and_exponent
        .iter()
        .position(|byte| byte.eq_ignore_ascii_case(&b'p'))?;
    let (digits, exponent_text) = digits_and_exponent.split_at(marker);
    let (mantissa, sticky, digits_exponent) = hex_mantissa(digits)?;
    let exponent = digits_exponent + binary_exponent(exponent_text.get(1..)?);
    let magnitude = round_to_f64(mantissa, sticky, exponent);
    Some(if negative { -magnitude } else { magnitude })
}

/// `(mantissa, sticky, exponent)` with `digits` (hex digits, `.`, `_`) equal to
/// `(mantissa + a nonzero fraction below it when sticky) * 2^exponent`.
fn hex_mantissa(digits: &[u8]) -> Option<(u64, bool, i64)> {
    let mut mantissa: u64 = 0;
    let mut sticky = false;
    let mut exponent: i64 = 0;
    let mut saw_dot = false;
    for &byte in digits {
        let digit = match byte {
            b'_' => continue,
            b'.' => {
                saw_dot = true;
                continue;
            }
            other => u64::from(char::from(other).to_digit(16)?),
        };
        if mantissa >> HEX_MANTISSA_BITS_MAX == 0 {
            mantissa = mantissa << 4 | digit;
            exponent -= if saw_dot { 4 } else { 0 };
        } else {
            sticky |= digit != 0;
            exponent += if saw_dot { 0 } else { 4 };
        }
    }
    Some((mantissa, sticky, exponent))
}

/// The value of a `p` exponent's `[+-]digits[_digits]`, accumulated as Go does.
fn binary_exponent(text: &[u8]) -> i64 {
    let (negative, digits) = match text.split_first() {
        Some((b'-', rest)) => (true, rest),
        Some((b'+', rest)) => (false, rest),
        _ => (false, text),
    };
    let mut value: i64 = 0;
    for &byte in digits.iter().filter(|byte| byte.is_ascii_digit()) {
        if value < EXPONENT_ACCUMULATION_MAX {
            value = value * 10 + i64::from(byte - b'0');
        }
    }
    if negative {
        -value
    } else {
        value
    }
}

/// `(mantissa + sticky fraction) * 2^exponent` rounded to the nearest f64, ties to even
/// (the sticky fraction is below the mantissa's last bit and breaks ties upward).
fn round_to_f64(mantissa: u64, sticky: bool, exponent: i64) -> f64 {
    if mantissa == 0 {
        return 0.0;
    }
    let leading = i64::from(mantissa.leading_zeros());
    // value = normalized * 2^(exponent - leading - 64), top bit of normalized at 127
    let normalized = u128::from(mantissa << leading) << 64 | u128::from(sticky);
    let top_exponent = exponent - leading + 63;
    if top_exponent > F64_EXPONENT_MAX {
        return f64::INFINITY;
    }
    let kept_bits = if top_exponent >= F64_EXPONENT_MIN {
        F64_SIGNIFICAND_BITS
    } else {
        F64_SIGNIFICAND_BITS - (F64_EXPONENT_MIN - top_exponent)
    };
    if kept_bits < 0 {
        return 0.0;
    }
    let dropped_bits = 128 - kept_bits; // 75..=128
    let (kept, remainder, half) = if dropped_bits >= 128 {
        (0u128, normalized, 1u128 << 127)
    } else {
        let mask = (1u128 << dropped_bits) - 1;
        (
            normalized >> dropped_bits,
            normalized & mask,
            1u128 << (dropped_bits - 1),
        )
    };
    let round_up = remainder > half || (remainder == half && kept & 1 == 1);
    let kept = kept + u128::from(round_up);
    // at most 2^53: exact as a float; the scaling is exact until it overflows
    scale_by_power_of_two(kept as f64, top_exponent - kept_bits + 1)
}

/// `value * 2^power`, exact whenever the result is representable.
fn scale_by_power_of_two(mut value: f64, mut power: i64) -> f64 {
    // steps small enough that every factor is a normal f64
    const STEP: i64 = 1000;
    while power > STEP {
        value *= power_of_two(STEP);
        power -= STEP;
    }
    while power < -STEP {
        value *= power_of_two(-STEP);
        power += STEP;
    }
    value * power_of_two(power)
}

/// 2^power for `power` in `-1000..=1000` (a normal f64).
fn power_of_two(power: i64) -> f64 {
    let biased = (power + F64_EXPONENT_MAX) as u64;
    f64::from_bits(biased << 52)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn value(text: &str) -> f64 {
        match parse_float(text.as_bytes()) {
            ParseFloat::Value(value) => value,
            other => panic!("{text}: {other:?}"),
        }
    }

    #[test]
    fn decimal_syntax() {
        for (text, expected) in [
            ("42", 42.0),
            ("+7", 7.0),
            ("-0", -0.0),
            ("00012", 12.0),
            (".5", 0.5),
            ("5.", 5.0),
            ("1E3", 1000.0),
            ("1e+3", 1000.0),
            ("2.5e-3", 0.0025),
            ("1_000", 1000.0),
            ("1_0.5_0", 10.5),
            ("0.1e1_0", 1e9),
            ("1e-400", 0.0),
            ("1.7976931348623157e308", f64::MAX),
            ("4.9e-324", 5e-324),
        ] {
            assert_eq!(value(text).to_bits(), expected.to_bits(), "{text}");
        }
        assert_eq!(value("-1e-400").to_bits(), (-0.0f64).to_bits());
    }

    #[test]
    fn hexadecimal_syntax_and_rounding() {
        for (text, expected) in [
            ("0x1p4", 16.0),
            ("0X1P-2", 0.25),
            ("-0x1.8p1", -3.0),
            ("0x.8p1", 1.0),
            ("0x_1p0", 1.0),
            ("0x1p1_0", 1024.0),
            ("0x1p-1074", f64::from_bits(1)),
            ("0x1p-1075", 0.0),                      // a tie: to even (zero)
            ("0x1.000001p-1075", f64::from_bits(1)), // above the tie
            ("0x1.fffffffffffff8p0", 2.0),
            ("0x1.fffffffffffff7p0", 1.9999999999999998),
            (
                "0x1.fffffffffffff7ffffp0",
                f64::from_bits(0x3fff_ffff_ffff_ffff),
            ),
            ("0x1.fffffffffffffp1023", f64::MAX),
            ("0x0p99999999", 0.0),
            ("0x1p-99999999", 0.0),
        ] {
            assert_eq!(value(text).to_bits(), expected.to_bits(), "{text}");
        }
        let wide = 0x0012_3456_789a_bcde_f123_u128 as f64 / 256.0;
        assert_eq!(value("0x123456789abcdef123p-8"), wide);
    }

    #[test]
    fn specials() {
        assert_eq!(value("inf"), f64::INFINITY);
        assert_eq!(value("+Infinity"), f64::INFINITY);
        assert_eq!(value("-INF"), f64::NEG_INFINITY);
        assert!(value("NaN").is_nan());
        for signed_nan in ["+nan", "-NaN"] {
            assert_eq!(parse_float(signed_nan.as_bytes()), ParseFloat::Syntax);
        }
    }

    #[test]
    fn syntax_errors() {
        for text in [
            "",
            "+",
            "-",
            ".",
            "e5",
            "1e",
            "1.5e+",
            "1e_5",
            "1..5",
            "1.5.",
            "0x",
            "0x1",
            "0x10",
            "0x1p",
            "0xp1",
            "0x.p1",
            "1p3",
            "1_",
            "_1",
            "1__0",
            "1._5",
            "1_.5",
            "1_e5",
            "0x1p_1",
            "infin",
            "infinityy",
            "nan1",
            " 1",
            "1 ",
            "1f",
            "0b101",
            "١",
        ] {
            assert_eq!(parse_float(text.as_bytes()), ParseFloat::Syntax, "{text:?}");
        }
        assert_eq!(parse_float(b"1\xff"), ParseFloat::Syntax);
    }

    #[test]
    fn overflow_is_a_range_error_with_infinity() {
        for (text, infinity) in [
            ("1e400", f64::INFINITY),
            ("-1e400", f64::NEG_INFINITY),
            ("1.7976931348623159e308", f64::INFINITY),
            ("0x1p1024", f64::INFINITY),
            ("-0x1.fffffffffffff8p1023", f64::NEG_INFINITY),
            ("1e99999999999999999999", f64::INFINITY),
        ] {
            assert_eq!(
                parse_float(text.as_bytes()),
                ParseFloat::Range(infinity),
                "{text}"
            );
        }
    }

    #[test]
    fn float_to_integer_conversions_match_amd64() {
        assert_eq!(float_to_i64(-1.9), -1);
        assert_eq!(float_to_i64(1.9), 1);
        assert_eq!(float_to_i64(-TWO_POW_63), i64::MIN);
        assert_eq!(
            float_to_i64(9_223_372_036_854_774_784.0),
            9_223_372_036_854_774_784
        );
        for out_of_range in [TWO_POW_63, 1e300, -1e300, f64::INFINITY, f64::NAN] {
            assert_eq!(float_to_i64(out_of_range), i64::MIN, "{out_of_range}");
        }
        assert_eq!(float_to_u64(-1.0), u64::MAX);
        assert_eq!(float_to_u64(TWO_POW_63), 1 << 63);
        assert_eq!(float_to_u64(1.5 * TWO_POW_63), 3 << 62);
        assert_eq!(float_to_u64(1e20), 1 << 63);
        assert_eq!(float_to_u64(f64::NAN), 1 << 63);
    }

    /// The bits of a successfully parsed value (so that -0 and 0 differ).
    fn value_bits(text: &str) -> Option<u64> {
        match parse_float(text.as_bytes()) {
            ParseFloat::Value(value) => Some(value.to_bits()),
            _ => None,
        }
    }

    /// Any f64 bit pattern that is a finite number.
    fn finite_f64() -> impl Strategy<Value = f64> {
        any::<u64>()
            .prop_map(f64::from_bits)
            .prop_filter("finite", |value| value.is_finite())
    }

    proptest! {
        #[test]
        fn rust_printed_floats_parse_back(value in finite_f64()) {
            for text in [format!("{value}"), format!("{value:e}"), format!("{value:?}")] {
                prop_assert_eq!(value_bits(&text), Some(value.to_bits()), "{}", text);
            }
        }

        #[test]
        fn hex_printed_floats_parse_back(value in finite_f64()) {
            prop_assert_eq!(value_bits(&hex_text(value)), Some(value.to_bits()));
        }

        #[test]
        fn hex_rounding_agrees_with_decimal_rounding(mantissa: u64, shift in -1100i64..1100) {
            // mantissa * 2^shift written in hex and in exact decimal must round alike
            let hex = format!("0x{mantissa:x}p{shift}");
            let decimal = exact_decimal(mantissa, shift);
            prop_assert_eq!(parse_float(hex.as_bytes()), parse_float(decimal.as_bytes()));
        }

        #[test]
        fn underscores_between_digits_change_nothing(value in finite_f64(), every in 1usize..4) {
            let plain = format!("{:e}", value.abs());
            let (mantissa, exponent) = plain.split_once('e').unwrap_or((&plain, "0"));
            let separated = separate_digits(mantissa, every);
            let text = format!("{separated}e{exponent}");
            prop_assert_eq!(value_bits(&text), Some(value.abs().to_bits()));
        }

        #[test]
        fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..40)) {
            let _ = parse_float(&bytes);
        }

        #[test]
        fn float_to_i64_truncates_in_range(value in -9.2e18f64..9.2e18) {
            prop_assert_eq!(float_to_i64(value), value.trunc() as i64);
        }
    }

    /// `value` as Go's `%x` would print it: `[-]0x1.<hex>p<exp>` (subnormals as `0x0.<hex>`).
    fn hex_text(value: f64) -> String {
        let bits = value.to_bits();
        let sign = if bits >> 63 == 1 { "-" } else { "" };
        let biased = ((bits >> 52) & 0x7ff) as i64;
        let fraction = bits & ((1 << 52) - 1);
        let (lead, exponent) = if biased == 0 {
            (0, -1022)
        } else {
            (1, biased - 1023)
        };
        format!("{sign}0x{lead}.{fraction:013x}p{exponent}")
    }

    /// The exact decimal text of `mantissa * 2^shift`: `digits e0` or, for a negative shift,
    /// `mantissa * 5^-shift` digits `e<shift>` (as 2^-k = 5^k / 10^k).
    fn exact_decimal(mantissa: u64, shift: i64) -> String {
        if shift >= 0 {
            format!("{}e0", times_power(mantissa, 2, shift))
        } else {
            format!("{}e{shift}", times_power(mantissa, 5, -shift))
        }
    }

    /// Decimal digits of `mantissa * base^power`.
    fn times_power(mantissa: u64, base: u32, power: i64) -> String {
        let mut digits: Vec<u32> = mantissa
            .to_string()
            .bytes()
            .rev()
            .map(|byte| u32::from(byte - b'0'))
            .collect();
        for _ in 0..power {
            let mut carry = 0;
            for digit in digits.iter_mut() {
                let product = *digit * base + carry;
                *digit = product % 10;
                carry = product / 10;
            }
            while carry > 0 {
                digits.push(carry % 10);
                carry /= 10;
            }
        }
        digits
            .iter()
            .rev()
            .map(|digit| char::from_digit(*digit, 10).unwrap_or('0'))
            .collect()
    }

    /// `digits` (with an optional `.`) with `_` after every `every` digits of each run.
    fn separate_digits(digits: &str, every: usize) -> String {
        let mut out = String::new();
        let mut run = 0;
        for character in digits.chars() {
            if character.is_ascii_digit() {
                if run > 0 && run % every == 0 {
                    out.push('_');
                }
                run += 1;
            } else {
                run = 0;
            }
            out.push(character);
        }
        out
    }
}
