//! Expression grammar: operators with precedence, unary minus, literals, calls, field
//! references with casts, wildcards, `DISTINCT`.
//!
//! ```text
//! expr       = unary { binary_op ( unary | regex ) }     (regex after =~ and !~)
//! unary      = "(" expr ")" | ident "(" args ")" | var_ref | DISTINCT ( "(" args ")" | ident )
//!            | string | number | integer | duration | TRUE | FALSE | "*" [ "::" (FIELD|TAG) ]
//!            | ("+"|"-") ( number | integer | duration | "(" ... | ident ... )
//! var_ref    = segmented_idents [ "::" type ]
//! ```
//!
//! # Algorithm
//!
//! Precedence climbing as InfluxDB does it: the tree is built left to right; each new
//! operator descends the right spine of the tree while the nodes there bind looser than
//! it, and takes the place of the first node that binds at least as tightly (which
//! becomes its left operand). This makes every operator left-associative.
//!
//! A sign before a number, integer or duration folds into the literal; before anything
//! else it becomes `-1 * x` (or `1 * x`). An integer literal above `i64::MAX` is an
//! unsigned literal, and `-9223372036854775808` folds back into an integer.
//!
//! Recursion (parentheses, call arguments) is bounded by [`super::MAX_NESTING_DEPTH`].

use super::expr::{BinaryExpr, BinaryOp, Call, DataType, Expr, Literal, VarRef, WildcardType};
use super::lexer::{Keyword, TokenKind};
use super::parser::{parse_duration_literal_ns, ParseError, Parser, EXPRESSION_NESTING_COST};

/// The casts InfluxDB lists after `::` when the word is not one of them.
const CAST_EXPECTED: &[&str] = &[
    "float", "integer", "unsigned", "string", "boolean", "field", "tag",
];
/// The casts InfluxDB lists after `::` when a non-word follows (it omits "unsigned").
const CAST_EXPECTED_NOT_WORD: &[&str] = &["float", "integer", "string", "boolean", "field", "tag"];
/// What may start a value.
const VALUE_EXPECTED: &[&str] = &["identifier", "string", "number", "bool"];
/// What may follow a sign.
const SIGNED_EXPECTED: &[&str] = &["identifier", "number", "duration", "("];

/// Magnitude of `i64::MIN`, which reads as an unsigned literal before its sign is applied.
const I64_MIN_MAGNITUDE: u64 = 1 << 63;

impl Parser<'_> {
    /// Parses an expression.
    pub fn parse_expr(&mut self) -> Result<Expr, ParseError> {
        let first = self.scan_ignore_whitespace();
        self.unscan();
        self.enter_nesting(first.pos, EXPRESSION_NESTING_COST)?;
        let result = self.parse_expr_nested();
        self.leave_nesting(EXPRESSION_NESTING_COST);
        result
    }

    fn parse_expr_nested(&mut self) -> Result<Expr, ParseError> {
        let mut operators = 0;
        let result = self.parse_operator_chain(&mut operators);
        self.leave_operators(operators);
        result
    }

    /// Parses `unary (op unary)*`, counting in `operators` the tree levels taken.
    fn parse_operator_chain(&mut self, operators: &mut usize) -> Result<Expr, ParseError> {
        let mut root = self.parse_unary_expr()?;
        loop {
            let token = self.scan_ignore_whitespace();
            let Some(op) = BinaryOp::from_token(token.kind) else {
                self.unscan();
                return Ok(root);
            };
            // An operator that becomes the new root deepens the tree by one level (chains
            // grow to the left); one inserted on the right spine adds at most the few
            // precedence classes, which the limit's margin covers.
            let becomes_root = !matches!(
                &root,
                Expr::Binary(node) if node.op.precedence() < op.precedence()
            );
            if becomes_root {
                self.enter_operator(token.pos)?;
                *operators += 1;
            }
            let rhs = if op.is_regex() {
                match self.parse_regex()? {
                    Some(pattern) => Expr::Literal(Literal::Regex(pattern)),
                    None => {
                        let token = self.scan_ignore_whitespace();
                        return Err(ParseError::unexpected(&token, &["regex"]));
                    }
                }
            } else {
                self.parse_unary_expr()?
            };
            root = insert_operator(root, op, rhs);
        }
    }

    /// Parses an expression that is not a binary operation.
    fn parse_unary_expr(&mut self) -> Result<Expr, ParseError> {
        let token = self.scan_ignore_whitespace();
        if token.kind == TokenKind::LParen {
            let inner = self.parse_expr()?;
            let close = self.scan_ignore_whitespace();
            if close.kind != TokenKind::RParen {
                return Err(ParseError::unexpected(&close, &[")"]));
            }
            return Ok(Expr::Paren(Box::new(inner)));
        }
        match token.kind {
            TokenKind::Ident => {
                if self.scan().kind == TokenKind::LParen {
                    return self.parse_call(&token.literal).map(Expr::Call);
                }
                self.unscan();
                self.unscan();
                self.parse_var_ref().map(Expr::VarRef)
            }
            TokenKind::Keyword(Keyword::Distinct) => {
                let next = self.scan();
                match next.kind {
                    TokenKind::LParen => self.parse_call("distinct").map(Expr::Call),
                    TokenKind::Whitespace => {
                        let name = self.scan_ignore_whitespace();
                        if name.kind != TokenKind::Ident {
                            return Err(ParseError::unexpected(&name, &["identifier"]));
                        }
                        Ok(Expr::Distinct(name.literal))
                    }
                    _ => Err(ParseError::unexpected(&next, &["(", "identifier"])),
                }
            }
            TokenKind::String => Ok(Expr::Literal(Literal::String(token.literal))),
            TokenKind::Number => match token.literal.parse::<f64>() {
                Ok(value) if value.is_finite() => Ok(Expr::Literal(Literal::Number(value))),
                _ => Err(ParseError::new("unable to parse number", token.pos)),
            },
            TokenKind::Integer => parse_integer_literal(&token.literal)
                .ok_or_else(|| ParseError::new("unable to parse integer", token.pos)),
            TokenKind::Keyword(Keyword::True) => Ok(Expr::Literal(Literal::Boolean(true))),
            TokenKind::Keyword(Keyword::False) => Ok(Expr::Literal(Literal::Boolean(false))),
            TokenKind::Duration => parse_duration_literal_ns(&token.literal)
                .map(|duration_ns| Expr::Literal(Literal::Duration(duration_ns)))
                .map_err(ParseError::bare),
            TokenKind::Mul => self.parse_wildcard_rest(),
            TokenKind::BoundParam => {
                let name = token.literal.trim_start_matches('$');
                if name.is_empty() {
                    Err(ParseError::bare("empty bound parameter"))
                } else {
                    Err(ParseError::bare(format!("missing parameter: {name}")))
                }
            }
            TokenKind::Add | TokenKind::Sub => self.parse_signed(token.kind == TokenKind::Sub),
            _ => Err(ParseError::unexpected(&token, VALUE_EXPECTED)),
        }
    }

    /// Parses what follows `*`: nothing, `::field` or `::tag`.
    fn parse_wildcard_rest(&mut self) -> Result<Expr, ParseError> {
        if self.scan().kind != TokenKind::DoubleColon {
            self.unscan();
            return Ok(Expr::Wildcard(WildcardType::All));
        }
        let token = self.scan();
        match token.kind {
            TokenKind::Keyword(Keyword::Field) => Ok(Expr::Wildcard(WildcardType::Field)),
            TokenKind::Keyword(Keyword::Tag) => Ok(Expr::Wildcard(WildcardType::Tag)),
            _ => Err(ParseError::unexpected(&token, &["field", "tag"])),
        }
    }

    /// Parses the operand of a unary `+` or `-` and applies the sign.
    fn parse_signed(&mut self, negative: bool) -> Result<Expr, ParseError> {
        let next = self.scan_ignore_whitespace();
        let allowed = matches!(
            next.kind,
            TokenKind::Number
                | TokenKind::Integer
                | TokenKind::Duration
                | TokenKind::LParen
                | TokenKind::Ident
        );
        if !allowed {
            return Err(ParseError::unexpected(&next, SIGNED_EXPECTED));
        }
        self.unscan();
        let operand = self.parse_unary_expr()?;
        let sign: i64 = if negative { -1 } else { 1 };
        Ok(match operand {
            Expr::Literal(Literal::Number(value)) => {
                Expr::Literal(Literal::Number(if negative { -value } else { value }))
            }
            Expr::Literal(Literal::Integer(value)) => {
                Expr::Literal(Literal::Integer(value.wrapping_mul(sign)))
            }
            Expr::Literal(Literal::Unsigned(value)) if negative => {
                if value == I64_MIN_MAGNITUDE {
                    Expr::Literal(Literal::Integer(i64::MIN))
                } else {
                    let message = format!("constant -{value} underflows int64");
                    return Err(ParseError::bare(message));
                }
            }
            Expr::Literal(Literal::Duration(duration_ns)) => {
                Expr::Literal(Literal::Duration(duration_ns.wrapping_mul(sign)))
            }
            literal @ Expr::Literal(_) => literal,
            other => Expr::Binary(Box::new(BinaryExpr {
                op: BinaryOp::Mul,
                lhs: Expr::Literal(Literal::Integer(sign)),
                rhs: other,
            })),
        })
    }

    /// Parses a field reference: dotted segments and an optional `::type`.
    pub fn parse_var_ref(&mut self) -> Result<VarRef, ParseError> {
        let segments = self.parse_segmented_idents()?;
        let mut data_type = None;
        if self.scan().kind == TokenKind::DoubleColon {
            let token = self.scan();
            data_type = Some(match token.kind {
                TokenKind::Ident => match token.literal.to_lowercase().as_str() {
                    "float" => DataType::Float,
                    "integer" => DataType::Integer,
                    "unsigned" => DataType::Unsigned,
                    "string" => DataType::String,
                    "boolean" => DataType::Boolean,
                    _ => return Err(ParseError::unexpected(&token, CAST_EXPECTED)),
                },
                TokenKind::Keyword(Keyword::Field) => DataType::Field,
                TokenKind::Keyword(Keyword::Tag) => DataType::Tag,
                _ => return Err(ParseError::unexpected(&token, CAST_EXPECTED_NOT_WORD)),
            });
        } else {
            self.unscan();
        }
        Ok(VarRef {
            name: segments.join("."),
            data_type,
        })
    }

    /// Parses a call's arguments; the name and `(` have been consumed.
    fn parse_call(&mut self, name: &str) -> Result<Call, ParseError> {
        let name = name.to_lowercase();
        let mut args = Vec::new();
        if let Some(pattern) = self.parse_regex()? {
            args.push(Expr::Literal(Literal::Regex(pattern)));
        } else {
            if self.scan().kind == TokenKind::RParen {
                return Ok(Call { name, args });
            }
            self.unscan();
            args.push(self.parse_expr()?);
        }
        loop {
            if self.scan_ignore_whitespace().kind != TokenKind::Comma {
                self.unscan();
                break;
            }
            match self.parse_regex()? {
                Some(pattern) => args.push(Expr::Literal(Literal::Regex(pattern))),
                None => args.push(self.parse_expr()?),
            }
        }
        let close = self.scan();
        if close.kind != TokenKind::RParen {
            return Err(ParseError::unexpected(&close, &[")"]));
        }
        Ok(Call { name, args })
    }
}

/// An integer literal: `i64` if it fits, else `u64`, else `None`.
fn parse_integer_literal(digits: &str) -> Option<Expr> {
    if let Ok(value) = digits.parse::<i64>() {
        return Some(Expr::Literal(Literal::Integer(value)));
    }
    digits
        .parse::<u64>()
        .ok()
        .map(|value| Expr::Literal(Literal::Unsigned(value)))
}

/// Adds `op rhs` to the tree `root` (see the module doc): descends the right spine past
/// nodes that bind looser than `op`.
fn insert_operator(root: Expr, op: BinaryOp, rhs: Expr) -> Expr {
    match root {
        Expr::Binary(mut node) if node.op.precedence() < op.precedence() => {
            let spine = std::mem::replace(&mut node.rhs, Expr::Wildcard(WildcardType::All));
            node.rhs = insert_operator(spine, op, rhs);
            Expr::Binary(node)
        }
        other => Expr::Binary(Box::new(BinaryExpr {
            op,
            lhs: other,
            rhs,
        })),
    }
}

#[cfg(test)]
mod tests {
    use super::super::parser::Parser;
    use super::*;

    fn parse(text: &str) -> Result<Expr, String> {
        Parser::new(text)
            .parse_expr()
            .map_err(|error| error.to_string())
    }

    #[test]
    fn precedence_and_associativity() {
        let printed = |text| parse(text).map(|expr| format!("{expr:?}"));
        let add_mul = parse("a + b * c").map(|expr| expr.to_string());
        assert_eq!(add_mul, Ok("a + b * c".to_string()));
        let Ok(Expr::Binary(top)) = parse("a + b * c") else {
            panic!("not binary");
        };
        assert_eq!(top.op, BinaryOp::Add);
        let Ok(Expr::Binary(top)) = parse("a - b - c") else {
            panic!("not binary");
        };
        assert_eq!(top.op, BinaryOp::Sub);
        assert!(matches!(top.lhs, Expr::Binary(_)));
        let Ok(Expr::Binary(top)) = parse("a = 1 OR b = 2 AND c = 3") else {
            panic!("not binary");
        };
        assert_eq!(top.op, BinaryOp::Or);
        assert!(printed("x =~ /a/").is_ok());
    }

    #[test]
    fn signs_fold_into_literals() {
        assert_eq!(parse("-5"), Ok(Expr::Literal(Literal::Integer(-5))));
        assert_eq!(
            parse("-9223372036854775808"),
            Ok(Expr::Literal(Literal::Integer(i64::MIN)))
        );
        assert_eq!(
            parse("18446744073709551615"),
            Ok(Expr::Literal(Literal::Unsigned(u64::MAX)))
        );
        assert_eq!(
            parse("-18446744073709551615"),
            Err("constant -18446744073709551615 underflows int64".to_string())
        );
        assert_eq!(
            parse("-x").map(|expr| expr.to_string()),
            Ok("-1 * x".to_string())
        );
        assert_eq!(
            parse("-1s").map(|expr| expr.to_string()),
            Ok("-1s".to_string())
        );
    }

    #[test]
    fn casts_and_wildcards() {
        assert_eq!(
            parse("\"a b\"::TAG").map(|expr| expr.to_string()),
            Ok("\"a b\"::tag".to_string())
        );
        assert_eq!(
            parse("*::field").map(|e| e.to_string()),
            Ok("*::field".to_string())
        );
        assert_eq!(
            parse("a::foo"),
            Err(
                "found foo, expected float, integer, unsigned, string, boolean, field, tag \
                 at line 1, char 4"
                    .to_string()
            )
        );
    }

    #[test]
    fn deep_nesting_is_an_error_not_a_crash() {
        let text = "(".repeat(100_000);
        let error = parse(&text).expect_err("must fail");
        assert!(
            error.starts_with("expression nested deeper than"),
            "{error}"
        );
    }
}
