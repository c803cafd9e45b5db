//! Evaluating InfluxQL expressions on one row: arithmetic, casts, math functions and
//! conditions, with InfluxDB 1.6.7's typing rules.
//!
//! Arithmetic: integer `+ - * %` and bitwise operators stay integers (wrapping); `/` is
//! always a float division; a division or modulo by zero gives 0; integer and float mix as
//! floats; a null operand makes the result null. Comparisons between numbers of either
//! kind compare their values; comparisons between mismatched kinds are false; a null is
//! false. Math functions of a value outside their domain give null (NaN); infinities are
//! kept (the encoder decides what to do with them).

use crate::influxql::ast::{BinaryOp, DataType, Expr, Literal};
use crate::query::result::Value;

use super::regex::Regex;

/// Where a row's named values come from.
pub trait Row {
    /// The value of the variable `name` (with its cast), or `Null`.
    fn lookup(&self, name: &str, data_type: Option<DataType>) -> Value;
    /// The value computed for the call `call` (aggregate queries), or `Null`.
    fn call_value(&self, _call: &crate::influxql::ast::Call) -> Value {
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
                Mod => Value::Float(if b == 0.0 { 0.0 } else { a % b }),
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
        "exp" => float_result(x.exp()),
        "ln" => float_result(x.ln()),
        "log2" => float_result(go_log2(x)),
        "log10" => float_result(x.ln() * (1.0 / std::f64::consts::LN_10)),
        "sin" => float_result(x.sin()),
        "cos" => float_result(x.cos()),
        "tan" => float_result(x.tan()),
        "asin" => float_result(x.asin()),
        "acos" => float_result(x.acos()),
        "atan" => float_result(x.atan()),
        "pow" => second.map_or(Value::Null, |y| float_result(x.powf(y))),
        "log" => second.map_or(Value::Null, |base| float_result(x.ln() / base.ln())),
        "atan2" => second.map_or(Value::Null, |y| float_result(x.atan2(y))),
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
    fraction.ln() * (1.0 / std::f64::consts::LN_2) + f64::from(exponent)
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
