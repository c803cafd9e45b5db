//! InfluxQL expressions: the syntax tree of field, condition and dimension expressions, and
//! its canonical printed form.
//!
//! Owns [`Expr`] and its parts ([`Literal`], [`BinaryOp`], [`VarRef`], [`Call`]), the
//! precedence table, and walking helpers. It knows nothing of statements.
//!
//! # Printed form
//!
//! `Display` prints what InfluxDB 1.6.7's `String()` prints: binary operators with one space
//! each side and no added parentheses (the tree keeps the parentheses the text had as
//! [`Expr::Paren`]), numbers with three decimals, strings single-quoted, identifiers quoted
//! only when needed. Two deliberate differences keep `parse(print(expr)) == expr` exact:
//! a float whose three-decimal form would not read back the same value is printed in its
//! shortest exact form instead (InfluxDB rounds it), and names that would not read back
//! (a function or `DISTINCT` argument that needs quotes) are quoted, and a unary sign on
//! the right of `*`, `/`, `%` or `&` prints as the sign (`a / -x`) where InfluxDB's
//! `a / -1 * x` would read back regrouped.
//!
//! Invariant for trees the parser builds: the left child of a binary node never has a
//! lower precedence and the right child always has a higher one (unless parenthesised), so
//! printing without parentheses reads back the same tree. [`Expr::binary`] builds such
//! trees from arbitrary parts by adding parentheses where needed.

use std::fmt;

use super::ast::quote_ident;
use super::lexer::TokenKind;
use super::parser::format_duration_ns;

/// A binary operator, in InfluxQL's precedence classes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum BinaryOp {
    /// `+`
    Add,
    /// `-`
    Sub,
    /// `*`
    Mul,
    /// `/`
    Div,
    /// `%`
    Mod,
    /// `&`
    BitwiseAnd,
    /// `|`
    BitwiseOr,
    /// `^`
    BitwiseXor,
    /// `AND`
    And,
    /// `OR`
    Or,
    /// `=`
    Eq,
    /// `!=` (also written `<>`)
    Neq,
    /// `=~` (right-hand side is a regex)
    EqRegex,
    /// `!~` (right-hand side is a regex)
    NeqRegex,
    /// `<`
    Lt,
    /// `<=`
    Lte,
    /// `>`
    Gt,
    /// `>=`
    Gte,
}

/// Every binary operator, for generators and tests.
pub const BINARY_OPS: &[BinaryOp] = &[
    BinaryOp::Add,
    BinaryOp::Sub,
    BinaryOp::Mul,
    BinaryOp::Div,
    BinaryOp::Mod,
    BinaryOp::BitwiseAnd,
    BinaryOp::BitwiseOr,
    BinaryOp::BitwiseXor,
    BinaryOp::And,
    BinaryOp::Or,
    BinaryOp::Eq,
    BinaryOp::Neq,
    BinaryOp::EqRegex,
    BinaryOp::NeqRegex,
    BinaryOp::Lt,
    BinaryOp::Lte,
    BinaryOp::Gt,
    BinaryOp::Gte,
];

impl BinaryOp {
    /// The operator a token stands for, if it is one.
    pub fn from_token(kind: TokenKind) -> Option<BinaryOp> {
        use super::lexer::Keyword;
        Some(match kind {
            TokenKind::Add => BinaryOp::Add,
            TokenKind::Sub => BinaryOp::Sub,
            TokenKind::Mul => BinaryOp::Mul,
            TokenKind::Div => BinaryOp::Div,
            TokenKind::Mod => BinaryOp::Mod,
            TokenKind::BitwiseAnd => BinaryOp::BitwiseAnd,
            TokenKind::BitwiseOr => BinaryOp::BitwiseOr,
            TokenKind::BitwiseXor => BinaryOp::BitwiseXor,
            TokenKind::Keyword(Keyword::And) => BinaryOp::And,
            TokenKind::Keyword(Keyword::Or) => BinaryOp::Or,
            TokenKind::Eq => BinaryOp::Eq,
            TokenKind::Neq => BinaryOp::Neq,
            TokenKind::EqRegex => BinaryOp::EqRegex,
            TokenKind::NeqRegex => BinaryOp::NeqRegex,
            TokenKind::Lt => BinaryOp::Lt,
            TokenKind::Lte => BinaryOp::Lte,
            TokenKind::Gt => BinaryOp::Gt,
            TokenKind::Gte => BinaryOp::Gte,
            _ => return None,
        })
    }

    /// Binding strength: higher binds tighter. `OR` 1, `AND` 2, comparisons 4, `+ - | ^`
    /// 5, `* / % &` 6 (InfluxDB's table).
    pub fn precedence(self) -> u8 {
        match self {
            BinaryOp::Or => 1,
            BinaryOp::And => 2,
            BinaryOp::Eq
            | BinaryOp::Neq
            | BinaryOp::EqRegex
            | BinaryOp::NeqRegex
            | BinaryOp::Lt
            | BinaryOp::Lte
            | BinaryOp::Gt
            | BinaryOp::Gte => 4,
            BinaryOp::Add | BinaryOp::Sub | BinaryOp::BitwiseOr | BinaryOp::BitwiseXor => 5,
            BinaryOp::Mul | BinaryOp::Div | BinaryOp::Mod | BinaryOp::BitwiseAnd => 6,
        }
    }

    /// Whether the right-hand side must be a regex literal.
    pub fn is_regex(self) -> bool {
        matches!(self, BinaryOp::EqRegex | BinaryOp::NeqRegex)
    }

    /// Whether the operator yields a boolean (comparison or logic): not allowed in SELECT
    /// fields.
    pub fn is_boolean(self) -> bool {
        self.precedence() <= 4
    }

    /// How InfluxQL writes the operator.
    pub fn as_str(self) -> &'static str {
        match self {
            BinaryOp::Add => "+",
            BinaryOp::Sub => "-",
            BinaryOp::Mul => "*",
            BinaryOp::Div => "/",
            BinaryOp::Mod => "%",
            BinaryOp::BitwiseAnd => "&",
            BinaryOp::BitwiseOr => "|",
            BinaryOp::BitwiseXor => "^",
            BinaryOp::And => "AND",
            BinaryOp::Or => "OR",
            BinaryOp::Eq => "=",
            BinaryOp::Neq => "!=",
            BinaryOp::EqRegex => "=~",
            BinaryOp::NeqRegex => "!~",
            BinaryOp::Lt => "<",
            BinaryOp::Lte => "<=",
            BinaryOp::Gt => ">",
            BinaryOp::Gte => ">=",
        }
    }
}

impl fmt::Display for BinaryOp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The type cast written after `::` on a field reference.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DataType {
    /// `::float`
    Float,
    /// `::integer`
    Integer,
    /// `::unsigned`
    Unsigned,
    /// `::string`
    String,
    /// `::boolean`
    Boolean,
    /// `::field`: any field type.
    Field,
    /// `::tag`
    Tag,
}

/// Every cast, for generators and tests.
pub const DATA_TYPES: &[DataType] = &[
    DataType::Float,
    DataType::Integer,
    DataType::Unsigned,
    DataType::String,
    DataType::Boolean,
    DataType::Field,
    DataType::Tag,
];

impl DataType {
    /// The lower-case name InfluxQL writes after `::`.
    pub fn as_str(self) -> &'static str {
        match self {
            DataType::Float => "float",
            DataType::Integer => "integer",
            DataType::Unsigned => "unsigned",
            DataType::String => "string",
            DataType::Boolean => "boolean",
            DataType::Field => "field",
            DataType::Tag => "tag",
        }
    }
}

/// A literal value.
#[derive(Debug, Clone, PartialEq)]
pub enum Literal {
    /// An integer that fits in `i64` (negative after a unary minus).
    Integer(i64),
    /// An integer literal above `i64::MAX`.
    Unsigned(u64),
    /// A decimal number (`1.5`, `.5`); always finite.
    Number(f64),
    /// A single-quoted string, unescaped.
    String(String),
    /// `true` / `false`.
    Boolean(bool),
    /// A duration literal in nanoseconds (`10s`; negative after a unary minus).
    Duration(i64),
    /// A `/regex/`, holding the pattern text with `\/` already turned into `/`. The text
    /// never ends in a lone `\` and has no `\r` or NUL.
    Regex(String),
}

/// A reference to a field or tag, possibly with a cast: `host`, `"a b"::tag`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VarRef {
    /// The name; dotted segments (`a.b`) are joined with `.`.
    pub name: String,
    /// The `::type` cast, if written.
    pub data_type: Option<DataType>,
}

/// A function call: `mean(value)`, `time(10m)`, `now()`.
#[derive(Debug, Clone, PartialEq)]
pub struct Call {
    /// The function name, lower-cased.
    pub name: String,
    /// The arguments in order.
    pub args: Vec<Expr>,
}

/// A binary operation.
#[derive(Debug, Clone, PartialEq)]
pub struct BinaryExpr {
    /// The operator.
    pub op: BinaryOp,
    /// Left operand.
    pub lhs: Expr,
    /// Right operand (a regex literal for `=~` and `!~`).
    pub rhs: Expr,
}

/// Which keys a `*` wildcard selects.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum WildcardType {
    /// `*`: fields and tags.
    All,
    /// `*::field`
    Field,
    /// `*::tag`
    Tag,
}

/// An InfluxQL expression.
#[derive(Debug, Clone, PartialEq)]
pub enum Expr {
    /// A literal value.
    Literal(Literal),
    /// A field or tag reference.
    VarRef(VarRef),
    /// A function call.
    Call(Call),
    /// `DISTINCT name` (the keyword form, not the `distinct(...)` call).
    Distinct(String),
    /// A binary operation.
    Binary(Box<BinaryExpr>),
    /// A parenthesised expression, kept so printing reproduces the grouping.
    Paren(Box<Expr>),
    /// `*`, `*::field` or `*::tag`.
    Wildcard(WildcardType),
}

impl Expr {
    /// A binary node whose children are parenthesised where the printed form would
    /// otherwise regroup them, so the result always prints and reads back unchanged.
    pub fn binary(op: BinaryOp, lhs: Expr, rhs: Expr) -> Expr {
        let needs_parens = |child: &Expr, strictly_higher: bool| match child {
            Expr::Binary(inner) => {
                let (inner_rank, rank) = (inner.op.precedence(), op.precedence());
                if strictly_higher {
                    inner_rank <= rank
                } else {
                    inner_rank < rank
                }
            }
            // A negative number on the right of an operator reads back the same, but a
            // leading `-` on the left would too; literals never need parentheses.
            _ => false,
        };
        let lhs = if needs_parens(&lhs, false) {
            Expr::Paren(Box::new(lhs))
        } else {
            lhs
        };
        let rhs = if needs_parens(&rhs, true) {
            Expr::Paren(Box::new(rhs))
        } else {
            rhs
        };
        Expr::Binary(Box::new(BinaryExpr { op, lhs, rhs }))
    }

    /// A field reference without a cast.
    pub fn var_ref(name: impl Into<String>) -> Expr {
        Expr::VarRef(VarRef {
            name: name.into(),
            data_type: None,
        })
    }

    /// Calls `visit` on this expression and every expression inside it, parents first.
    pub fn walk<'e>(&'e self, visit: &mut dyn FnMut(&'e Expr)) {
        visit(self);
        match self {
            Expr::Call(call) => call.args.iter().for_each(|arg| arg.walk(visit)),
            Expr::Binary(binary) => {
                binary.lhs.walk(visit);
                binary.rhs.walk(visit);
            }
            Expr::Paren(inner) => inner.walk(visit),
            Expr::Literal(_) | Expr::VarRef(_) | Expr::Distinct(_) | Expr::Wildcard(_) => {}
        }
    }

    /// Whether a function call appears anywhere in the expression.
    pub fn has_call(&self) -> bool {
        let mut found = false;
        self.walk(&mut |expr| found |= matches!(expr, Expr::Call(_)));
        found
    }

    /// The expression without any enclosing parentheses.
    pub fn unparenthesised(&self) -> &Expr {
        let mut expr = self;
        while let Expr::Paren(inner) = expr {
            expr = inner;
        }
        expr
    }
}

/// Writes a float as InfluxDB does (three decimals) when that reads back exactly, else in
/// its shortest exact decimal form (always with a `.`, so it reads back as a number).
pub fn format_number(value: f64) -> String {
    let fixed = format!("{value:.3}");
    if fixed.parse::<f64>() == Ok(value) {
        return fixed;
    }
    let shortest = format!("{value}");
    if shortest.contains('.') {
        shortest
    } else {
        format!("{shortest}.0")
    }
}

/// Writes `text` as a single-quoted InfluxQL string (`\n`, `\` and `'` escaped).
pub fn quote_string(text: &str) -> String {
    let mut quoted = String::with_capacity(text.len() + 2);
    quoted.push('\'');
    for ch in text.chars() {
        match ch {
            '\n' => quoted.push_str("\\n"),
            '\\' => quoted.push_str("\\\\"),
            '\'' => quoted.push_str("\\'"),
            other => quoted.push(other),
        }
    }
    quoted.push('\'');
    quoted
}

/// Writes a regex pattern between slashes, escaping `/`.
pub fn quote_regex(pattern: &str) -> String {
    format!("/{}/", pattern.replace('/', "\\/"))
}

impl fmt::Display for Literal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Literal::Integer(value) => write!(f, "{value}"),
            Literal::Unsigned(value) => write!(f, "{value}"),
            Literal::Number(value) => f.write_str(&format_number(*value)),
            Literal::String(text) => f.write_str(&quote_string(text)),
            Literal::Boolean(value) => write!(f, "{value}"),
            Literal::Duration(duration_ns) => f.write_str(&format_duration_ns(*duration_ns)),
            Literal::Regex(pattern) => f.write_str(&quote_regex(pattern)),
        }
    }
}

impl fmt::Display for VarRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&quote_ident(&self.name))?;
        if let Some(data_type) = self.data_type {
            write!(f, "::{}", data_type.as_str())?;
        }
        Ok(())
    }
}

impl fmt::Display for Call {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // `distinct(...)` is written with the keyword, which reads back as this call.
        if self.name == "distinct" {
            f.write_str("distinct")?;
        } else {
            f.write_str(&quote_ident(&self.name))?;
        }
        f.write_str("(")?;
        for (index, arg) in self.args.iter().enumerate() {
            if index > 0 {
                f.write_str(", ")?;
            }
            write!(f, "{arg}")?;
        }
        f.write_str(")")
    }
}

/// Precedence of `*`, the operator a unary sign turns into.
const SIGN_PRECEDENCE: u8 = 6;

/// Writes the right operand of `op`. A sign applied to a name, call or parenthesis parses
/// as `±1 * operand` in one operand slot; written out as `-1 * x` on the right of an
/// operator as tight as `*` it would regroup (`a / -1 * x` is `(a / -1) * x`), so there it
/// is written back as the sign it came from (`a / -x`). Everywhere else it prints as
/// InfluxDB prints it.
fn fmt_right_operand(f: &mut fmt::Formatter<'_>, op: BinaryOp, rhs: &Expr) -> fmt::Result {
    if op.precedence() >= SIGN_PRECEDENCE {
        if let Some((negative, operand)) = signed_operand(rhs) {
            f.write_str(if negative { "-" } else { "+" })?;
            return fmt::Display::fmt(operand, f);
        }
    }
    fmt::Display::fmt(rhs, f)
}

/// `Some((negative, operand))` for the tree a unary sign builds: `±1 * operand` with a
/// name, call or parenthesis as operand.
fn signed_operand(expr: &Expr) -> Option<(bool, &Expr)> {
    let Expr::Binary(binary) = expr else {
        return None;
    };
    let negative = match (&binary.op, &binary.lhs) {
        (BinaryOp::Mul, Expr::Literal(Literal::Integer(-1))) => true,
        (BinaryOp::Mul, Expr::Literal(Literal::Integer(1))) => false,
        _ => return None,
    };
    match &binary.rhs {
        operand @ (Expr::VarRef(_) | Expr::Call(_) | Expr::Paren(_)) => Some((negative, operand)),
        _ => None,
    }
}

impl fmt::Display for Expr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Expr::Literal(literal) => literal.fmt(f),
            Expr::VarRef(var_ref) => var_ref.fmt(f),
            Expr::Call(call) => call.fmt(f),
            Expr::Distinct(name) => write!(f, "DISTINCT {}", quote_ident(name)),
            Expr::Binary(binary) => {
                write!(f, "{} {} ", binary.lhs, binary.op)?;
                fmt_right_operand(f, binary.op, &binary.rhs)
            }
            Expr::Paren(inner) => write!(f, "({inner})"),
            Expr::Wildcard(WildcardType::All) => f.write_str("*"),
            Expr::Wildcard(WildcardType::Field) => f.write_str("*::field"),
            Expr::Wildcard(WildcardType::Tag) => f.write_str("*::tag"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_print_like_influxdb_when_exact() {
        assert_eq!(format_number(1.5), "1.500");
        assert_eq!(format_number(0.1), "0.100");
        assert_eq!(format_number(-2.0), "-2.000");
        assert_eq!(format_number(1.23456), "1.23456");
        assert_eq!(format_number(1e-7), "0.0000001");
    }

    #[test]
    fn binary_adds_parentheses_only_where_needed() {
        let a = || Expr::var_ref("a");
        let sum = Expr::binary(BinaryOp::Add, a(), a());
        let product = Expr::binary(BinaryOp::Mul, sum.clone(), a());
        assert_eq!(product.to_string(), "(a + a) * a");
        let left_sum = Expr::binary(BinaryOp::Sub, sum.clone(), a());
        assert_eq!(left_sum.to_string(), "a + a - a");
        let right_sum = Expr::binary(BinaryOp::Sub, a(), sum);
        assert_eq!(right_sum.to_string(), "a - (a + a)");
    }

    #[test]
    fn signs_on_the_right_of_tight_operators_print_as_signs() {
        let signed = |sign: i64| {
            Expr::Binary(Box::new(BinaryExpr {
                op: BinaryOp::Mul,
                lhs: Expr::Literal(Literal::Integer(sign)),
                rhs: Expr::var_ref("x"),
            }))
        };
        let divide = |rhs| {
            Expr::Binary(Box::new(BinaryExpr {
                op: BinaryOp::Div,
                lhs: Expr::var_ref("a"),
                rhs,
            }))
        };
        assert_eq!(divide(signed(-1)).to_string(), "a / -x");
        assert_eq!(divide(signed(1)).to_string(), "a / +x");
        assert_eq!(signed(-1).to_string(), "-1 * x");
        let add = Expr::Binary(Box::new(BinaryExpr {
            op: BinaryOp::Add,
            lhs: Expr::var_ref("a"),
            rhs: signed(-1),
        }));
        assert_eq!(add.to_string(), "a + -1 * x");
    }

    #[test]
    fn strings_and_regexes_escape() {
        assert_eq!(quote_string("it's\n\\"), r"'it\'s\n\\'");
        assert_eq!(quote_regex("a/b"), r"/a\/b/");
    }
}
