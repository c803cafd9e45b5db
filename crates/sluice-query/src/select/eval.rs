//! Evaluating InfluxQL expressions on one row: arithmetic, casts, math functions and
//! conditions, with InfluxDB 1.6.7's typing rules.
//!
//! Arithmetic: integer `+ - * %` and bitwise operators stay integers (wrapping); `/` is
//! always a float division; a division or modulo by zero gives 0; integer and float mix as
//! floats; a null operand makes the result null. Comparisons between numbers of either
//! kind compare their values; comparisons between mismatched kinds are false; a null is
//! false. Math functions of a value outside their domain give null (NaN); infinities are
//! kept (the encoder decides what to do with them).

use crate::result::Value;
use sluice_influxql::ast::{BinaryOp, DataType, Expr, Literal};

use super::go_math;
use super::regex::Regex;

/// Where a row's named values come from.
pub trait Row {
    /// The value of the variable `name` (with its cast), or `Null`.
    fn lookup(&self, name: &str, data_type: Option<DataType>) -> Value;
    /// The value computed for the call `call` (aggregate queries), or `Null`.
    fn call_value(&self, _call: &sluice_influxql::ast::Call) -> Value {
        Value::Null
    }
}

/// Compiled regexes of an expression, by pattern text.
#[derive(Default)]
pub struct RegexCache {
    compiled: Vec<(String, Option<Regex>)>,
}

impl RegexCache {
    /// Whether `pattern` matches `text` (a pattern that does not compile matches nothing).
    pub fn is_match(&mut self, pattern: &str, text: &str) -> bool {
        if let Some((_, regex)) = self.compiled.iter().find(|(p, _)| p == pattern) {
            return regex.as_ref().is_some_and(|r| r.is_match(text));
        }
        let regex = Regex::new(pattern).ok();
        let result = regex.as_ref().is_some_and(|r| r.is_match(text));
        self.compiled.push((pattern.to_string(), regex));
        result
    }
}

/// The value of a literal.
pub fn literal_value(literal: &Literal) -> Value {
    match literal {
        Literal::Integer(v) => Value::Integer(*v),
        Literal::Unsigned(v) => Value::Unsigned(*v),
        Literal::Number(v) => Value::Float(*v),
        Literal::String(s) => Value::String(s.clone()),
        Literal::Boolean(b) => Value::Boolean(*b),
        Literal::Duration(d) => Value::Integer(*d),
        Literal::Regex(_) => Value::Null,
    }
}

/// Evaluates `expr` on `row`.
pub fn eval(expr: &Expr, row: &dyn Row, regexes: &mut RegexCache) -> Value {
    match expr {
        Expr::Literal(literal) => literal_value(literal),
        Expr::VarRef(var) => row.lookup(&var.name, var.data_type),
        Expr::Paren(inner) => eval(inner, row, regexes),
        Expr::Call(call) => {
            if is_math_function(&call.name) {
                let args: Vec<Value> = call.args.iter().map(|a| eval(a, row, regexes)).collect();
                math_function(&call.name, &args)
            } else {
                row.call_value(call)
            }
        }
        Expr::Binary(binary) => match binary.op {
            BinaryOp::And => Value::Boolean(
                truthy(&eval(&binary.lhs, row, regexes))
                    && truthy(&eval(&binary.rhs, row, regexes)),
            ),
            BinaryOp::Or => Value::Boolean(
                truthy(&eval(&binary.lhs, row, regexes))
                    || truthy(&eval(&binary.rhs, row, regexes)),
            ),
            BinaryOp::EqRegex | BinaryOp::NeqRegex => {
                let lhs = eval(&binary.lhs, row, regexes);
                let Expr::Literal(Literal::Regex(pattern)) = binary.rhs.unparenthesised() else {
                    return Value::Boolean(false);
                };
                match lhs {
                    Value::String(text) => {
                        let matched = regexes.is_match(pattern, &text);
                        Value::Boolean(matched == (binary.op == BinaryOp::EqRegex))
                    }
                    _ => Value::Boolean(false),
                }
            }
            op => {
                let lhs = eval(&binary.lhs, row, regexes);
                let rhs = eval(&binary.rhs, row, regexes);
                binary_op(op, &lhs, &rhs)
            }
        },
        Expr::Distinct(_) | Expr::Wildcard(_) => Value::Null,
    }
}

/// Whether a condition value counts as true.
pub fn truthy(value: &Value) -> bool {
    matches!(value, Value::Boolean(true))
}

fn as_f64(value: &Value) -> Option<f64> {
    match value {
        Value::Float(v) => Some(*v),
        Value::Integer(v) => Some(*v as f64),
        Value::Unsigned(v) => Some(*v as f64),
        _ => None,
    }
}

/// Applies a binary operator (not AND/OR/regex) to two values.
pub fn binary_op(op: BinaryOp, lhs: &Value, rhs: &Value) -> Value {
    use BinaryOp::*;
    match op {
        Eq | Neq | Lt | Lte | Gt | Gte => Value::Boolean(compare(op, lhs, rhs)),
        _ => arithmetic(op, lhs, rhs),
    }
}

fn compare(op: BinaryOp, lhs: &Value, rhs: &Value) -> bool {
    use std::cmp::Ordering;
    let ordering = match (lhs, rhs) {
        (Value::Integer(a), Value::Integer(b)) => a.cmp(b),
        (Value::Unsigned(a), Value::Unsigned(b)) => a.cmp(b),
        (Value::String(a), Value::String(b)) => a.cmp(b),
        (Value::Boolean(a), Value::Boolean(b)) => {
            return match op {
                BinaryOp::Eq => a == b,
                BinaryOp::Neq => a != b,
                _ => false,
            }
        }
        _ => match (as_f64(lhs), as_f64(rhs)) {
            (Some(a), Some(b)) => match a.partial_cmp(&b) {
                Some(ordering) => ordering,
                None => return op == BinaryOp::Neq,
            },
            _ => return false,
        },
    };
    match op {
        BinaryOp::Eq => ordering == Ordering::Equal,
        BinaryOp::Neq => ordering != Ordering::Equal,
        BinaryOp::Lt => ordering == Ordering::Less,
        BinaryOp::Lte => ordering != Ordering::Greater,
        BinaryOp::Gt => ordering == Ordering::Greater,
        BinaryOp::Gte => ordering != Ordering::Less,
        _ => false,
    }
}

fn arithmetic(op: BinaryOp, lhs: &Value, rhs: &Value) -> Value {
    use BinaryOp::*;
    match (lhs, rhs) {
        (Value::Integer(a), Value::Integer(b)) => {
            let (a, b) = (*a, *b);
            match op {
                Add => Value::Integer(a.wrapping_add(b)),
                Sub => Value::Integer(a.wrapping_sub(b)),
                Mul => Value::Integer(a.wrapping_mul(b)),
                Div => Value::Float(if b == 0 { 0.0 } else { a as f64 / b as f64 }),
                Mod => Value::Integer(if b == 0 { 0 } else { a.wrapping_rem(b) }),
                BitwiseAnd => Value::Integer(a & b),
                BitwiseOr => Value::Integer(a | b),
                BitwiseXor => Value::Integer(a ^ b),
                _ => Value::Null,
            }
        }
        (Value::Unsigned(a), Value::Unsigned(b)) => {
            let (a, b) = (*a, *b);
            match op {
                Add => Value::Unsigned(a.wrapping_add(b)),
                Sub => Value::Unsigned(a.wrapping_sub(b)),
                Mul => Value::Unsigned(a.wrapping_mul(b)),
                Div => Value::Float(if b == 0 { 0.0 } else { a as f64 / b as f64 }),
                Mod => Value::Unsigned(if b == 0 { 0 } else { a % b }),
                BitwiseAnd => Value::Unsigned(a & b),
                BitwiseOr => Value::Unsigned(a | b),
                BitwiseXor => Value::Unsigned(a ^ b),
                _ => Value::Null,
            }
        }
        (Value::Boolean(a), Value::Boolean(b)) => match op {
            BitwiseAnd => Value::Boolean(a & b),
            BitwiseOr => Value::Boolean(a | b),
            BitwiseXor => Value::Boolean(a ^ b),
            _ => Value::Null,
        },
        _ => match (as_f64(lhs), as_f64(rhs)) {
            (Some(a), Some(b)) => match op {
                Add => Value::Float(a + b),
                Sub => Value::Float(a - b),
                Mul => Value::Float(a * b),
                Div => Value::Float(if b == 0.0 { 0.0 } else { a / b }),
                // Go's math.Mod by zero is NaN, which 1.6.7 answers as null.
                Mod if b == 0.0 => Value::Null,
                Mod => Value::Float(a % b),
                _ => Value::Null,
            },
            _ => Value::Null,
        },
    }
}

/// Applies a `::type` cast to a stored value: numbers convert between float, integer and
/// unsigned; any other mismatch is null.
pub fn cast(value: Value, data_type: Option<DataType>) -> Value {
    match (data_type, value) {
        (None | Some(DataType::Field) | Some(DataType::Tag), value) => value,
        (Some(DataType::Float), Value::Float(v)) => Value::Float(v),
        (Some(DataType::Float), Value::Integer(v)) => Value::Float(v as f64),
        (Some(DataType::Float), Value::Unsigned(v)) => Value::Float(v as f64),
        (Some(DataType::Integer), Value::Integer(v)) => Value::Integer(v),
        (Some(DataType::Integer), Value::Float(v)) => Value::Integer(v as i64),
        (Some(DataType::Integer), Value::Unsigned(v)) => Value::Integer(v as i64),
        (Some(DataType::Unsigned), Value::Unsigned(v)) => Value::Unsigned(v),
        (Some(DataType::Unsigned), Value::Integer(v)) => Value::Unsigned(v as u64),
        (Some(DataType::Unsigned), Value::Float(v)) => Value::Unsigned(v as u64),
        (Some(DataType::String), Value::String(v)) => Value::String(v),
        (Some(DataType::Boolean), Value::Boolean(v)) => Value::Boolean(v),
        _ => Value::Null,
    }
}

/// Whether `name` is one of InfluxQL's per-row math functions.
pub fn is_math_function(name: &str) -> bool {
    matches!(
        name,
        "abs"
            | "ceil"
            | "floor"
            | "round"
            | "sqrt"
            | "pow"
            | "exp"
            | "ln"
            | "log"
            | "log2"
            | "log10"
            | "sin"
            | "cos"
            | "tan"
            | "asin"
            | "acos"
            | "atan"
            | "atan2"
    )
}

/// How many arguments a math function takes.
pub fn math_arity(name: &str) -> usize {
    match name {
        "pow" | "log" | "atan2" => 2,
        _ => 1,
    }
}

fn float_result(value: f64) -> Value {
    if value.is_nan() {
        Value::Null
    } else {
        Value::Float(value)
    }
}

/// Applies a math function to its argument values.
pub fn math_function(name: &str, args: &[Value]) -> Value {
    let Some(first) = args.first() else {
        return Value::Null;
    };
    // Integer-preserving functions.
    match (name, first) {
        // 1.6.7 returns integers unchanged from all four, even abs() of a negative one.
        ("abs" | "ceil" | "floor" | "round", Value::Integer(v)) => return Value::Integer(*v),
        ("abs" | "ceil" | "floor" | "round", Value::Unsigned(v)) => return Value::Unsigned(*v),
        _ => {}
    }
    let Some(x) = as_f64(first) else {
        return Value::Null;
    };
    let second = args.get(1).and_then(as_f64);
    match name {
        "abs" => float_result(x.abs()),
        "ceil" => float_result(x.ceil()),
        "floor" => float_result(x.floor()),
        "round" => float_result(go_round(x)),
        "sqrt" => float_result(x.sqrt()),
        "exp" => float_result(go_math::exp(x)),
        "ln" => float_result(go_log(x)),
        "log2" => float_result(go_log2(x)),
        "log10" => float_result(go_log(x) * std::f64::consts::LOG10_E),
        "sin" => float_result(go_math::sin(x)),
        "cos" => float_result(go_math::cos(x)),
        "tan" => float_result(go_math::tan(x)),
        "asin" => float_result(go_asin(x)),
        "acos" => float_result(std::f64::consts::FRAC_PI_2 - go_asin(x)),
        "atan" => float_result(go_atan(x)),
        "pow" => second.map_or(Value::Null, |y| float_result(x.powf(y))),
        "log" => second.map_or(Value::Null, |base| float_result(go_log(x) / go_log(base))),
        "atan2" => second.map_or(Value::Null, |y| float_result(go_atan2(x, y))),
        _ => Value::Null,
    }
}

/// Go's `math.Log2`: exact for powers of two, else `ln(frac) / ln 2 + exp`.
fn go_log2(x: f64) -> f64 {
    if !x.is_finite() || x <= 0.0 {
        return x.log2();
    }
    let (fraction, exponent) = frexp(x);
    if fraction == 0.5 {
        return f64::from(exponent - 1);
    }
    go_log(fraction) * std::f64::consts::LOG2_E + f64::from(exponent)
}

/// Go's `math.Log` (FreeBSD's `e_log.c` algorithm), so results match 1.6.7 bit for bit
/// where the platform's `ln` rounds differently.
// The published fdlibm/Cephes constants, kept digit for digit.
#[allow(clippy::excessive_precision)]
fn go_log(x: f64) -> f64 {
    const LN2_HI: f64 = 6.931_471_803_691_238_164_90e-01;
    const LN2_LO: f64 = 1.908_214_929_270_587_700_02e-10;
    const L1: f64 = 6.666_666_666_666_735_130e-01;
    const L2: f64 = 3.999_999_999_940_941_908e-01;
    const L3: f64 = 2.857_142_874_366_239_149e-01;
    const L4: f64 = 2.222_219_843_214_978_396e-01;
    const L5: f64 = 1.818_357_216_161_805_012e-01;
    const L6: f64 = 1.531_383_769_920_937_332e-01;
    const L7: f64 = 1.479_819_860_511_658_591e-01;
    if x.is_nan() || x == f64::INFINITY {
        return x;
    }
    if x < 0.0 {
        return f64::NAN;
    }
    if x == 0.0 {
        return f64::NEG_INFINITY;
    }
    // Go's amd64 assembly takes the fraction and exponent straight from the bits, without
    // normalising a subnormal first (ln(5e-324) is -709.0895657128241 there).
    let bits = x.to_bits();
    let mut ki = ((bits >> 52) & 0x7ff) as i32 - 1022;
    let mut f1 = f64::from_bits((bits & ((1u64 << 52) - 1)) | (0x3fe_u64 << 52));
    if f1 < std::f64::consts::SQRT_2 / 2.0 {
        f1 *= 2.0;
        ki -= 1;
    }
    let f = f1 - 1.0;
    let k = f64::from(ki);
    let s = f / (2.0 + f);
    let s2 = s * s;
    let s4 = s2 * s2;
    let t1 = s2 * (L1 + s4 * (L3 + s4 * (L5 + s4 * L7)));
    let t2 = s4 * (L2 + s4 * (L4 + s4 * L6));
    let r = t1 + t2;
    let hfsq = 0.5 * f * f;
    k * LN2_HI - ((hfsq - (s * (hfsq + r) + k * LN2_LO)) - f)
}

/// `x = fraction · 2^exponent` with `fraction` in [0.5, 1) (finite, positive `x`).
fn frexp(x: f64) -> (f64, i32) {
    const MANTISSA_BITS: u32 = 52;
    const EXPONENT_BIAS: i32 = 1022;
    let (x, adjust) = if x < f64::MIN_POSITIVE {
        (x * (1u64 << MANTISSA_BITS) as f64, -(MANTISSA_BITS as i32))
    } else {
        (x, 0)
    };
    let bits = x.to_bits();
    let exponent = ((bits >> MANTISSA_BITS) & 0x7ff) as i32 - EXPONENT_BIAS + adjust;
    let fraction = f64::from_bits((bits & !(0x7ff << MANTISSA_BITS)) | (1022u64 << MANTISSA_BITS));
    (fraction, exponent)
}

/// Go's `xatan` (Cephes): arctangent on [0, 0.66].
// The published fdlibm/Cephes constants, kept digit for digit.
#[allow(clippy::excessive_precision)]
fn go_xatan(x: f64) -> f64 {
    const P0: f64 = -8.750_608_600_031_904_122_785e-01;
    const P1: f64 = -1.615_753_718_733_365_076_637e+01;
    const P2: f64 = -7.500_855_792_314_704_667_340e+01;
    const P3: f64 = -1.228_866_684_490_136_173_410e+02;
    const P4: f64 = -6.485_021_904_942_025_371_773e+01;
    const Q0: f64 = 2.485_846_490_142_306_297_962e+01;
    const Q1: f64 = 1.650_270_098_316_988_542_046e+02;
    const Q2: f64 = 4.328_810_604_912_902_668_951e+02;
    const Q3: f64 = 4.853_903_996_359_136_964_868e+02;
    const Q4: f64 = 1.945_506_571_482_613_964_425e+02;
    let z = x * x;
    let z = z * ((((P0 * z + P1) * z + P2) * z + P3) * z + P4)
        / (((((z + Q0) * z + Q1) * z + Q2) * z + Q3) * z + Q4);
    x * z + x
}

/// Go's `satan`: arctangent of a positive argument, reduced to [0, 0.66].
// The published fdlibm/Cephes constants, kept digit for digit.
#[allow(clippy::excessive_precision)]
fn go_satan(x: f64) -> f64 {
    const MORE_BITS: f64 = 6.123_233_995_736_765_886_130e-17;
    const TAN_3PI_8: f64 = 2.414_213_562_373_095_048_80;
    use std::f64::consts::{FRAC_PI_2, FRAC_PI_4};
    if x <= 0.66 {
        return go_xatan(x);
    }
    if x > TAN_3PI_8 {
        return FRAC_PI_2 - go_xatan(1.0 / x) + MORE_BITS;
    }
    FRAC_PI_4 + go_xatan((x - 1.0) / (x + 1.0)) + 0.5 * MORE_BITS
}

/// Go's `math.Atan`.
fn go_atan(x: f64) -> f64 {
    if x == 0.0 || x.is_nan() {
        return x;
    }
    if x > 0.0 {
        go_satan(x)
    } else {
        -go_satan(-x)
    }
}

/// Go's `math.Asin`.
fn go_asin(x: f64) -> f64 {
    if x == 0.0 || x.is_nan() {
        return x;
    }
    let negative = x < 0.0;
    let x = x.abs();
    if x > 1.0 {
        return f64::NAN;
    }
    let root = (1.0 - x * x).sqrt();
    let result = if x > 0.7 {
        std::f64::consts::FRAC_PI_2 - go_satan(root / x)
    } else {
        go_satan(x / root)
    };
    if negative {
        -result
    } else {
        result
    }
}

/// Go's `math.Atan2(y, x)` for finite arguments (the platform's otherwise).
fn go_atan2(y: f64, x: f64) -> f64 {
    use std::f64::consts::PI;
    if !y.is_finite() || !x.is_finite() || y == 0.0 || x == 0.0 {
        return y.atan2(x);
    }
    let q = go_atan(y / x);
    if x < 0.0 {
        if q <= 0.0 {
            return q + PI;
        }
        return q - PI;
    }
    q
}

/// Go's `math.Round`: half away from zero.
fn go_round(x: f64) -> f64 {
    x.round()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn integer_arithmetic_rules() {
        let i = Value::Integer;
        assert_eq!(binary_op(BinaryOp::Div, &i(9), &i(2)), Value::Float(4.5));
        assert_eq!(binary_op(BinaryOp::Div, &i(9), &i(0)), Value::Float(0.0));
        assert_eq!(binary_op(BinaryOp::Mod, &i(10), &i(3)), i(1));
        assert_eq!(binary_op(BinaryOp::BitwiseXor, &i(10), &i(5)), i(15));
        assert_eq!(
            binary_op(BinaryOp::Add, &i(1), &Value::Float(0.5)),
            Value::Float(1.5)
        );
        assert_eq!(binary_op(BinaryOp::Add, &i(1), &Value::Null), Value::Null);
    }

    #[test]
    fn comparisons() {
        assert!(compare(
            BinaryOp::Gt,
            &Value::Float(2.5),
            &Value::Integer(2)
        ));
        assert!(!compare(
            BinaryOp::Gt,
            &Value::String("a".into()),
            &Value::Integer(2)
        ));
        assert!(!compare(BinaryOp::Eq, &Value::Null, &Value::Null));
        assert!(compare(
            BinaryOp::Eq,
            &Value::String(String::new()),
            &Value::String(String::new())
        ));
    }

    #[test]
    fn casts_and_math() {
        assert_eq!(
            cast(Value::Float(11.25), Some(DataType::Integer)),
            Value::Integer(11)
        );
        assert_eq!(
            cast(Value::String("x".into()), Some(DataType::Float)),
            Value::Null
        );
        assert_eq!(math_function("sqrt", &[Value::Float(-1.0)]), Value::Null);
        assert_eq!(
            math_function("abs", &[Value::Integer(-2)]),
            Value::Integer(-2)
        );
        assert_eq!(
            math_function("round", &[Value::Float(-0.5)]),
            Value::Float(-1.0)
        );
        assert_eq!(
            math_function("ceil", &[Value::Float(-0.5)]),
            Value::Float(-0.0)
        );
    }
}
