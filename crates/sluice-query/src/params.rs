//! Bound parameters (`$name` in the query, values in the `params` JSON object).
//!
//! Owns turning `params` into InfluxQL literals. The parser rejects any `$name` left in the
//! text (`missing parameter: name`), so substitution happens on the text, token by token:
//! the query is scanned with the InfluxQL lexer and every bound-parameter token whose name
//! is in `params` is replaced by the literal of its value (a JSON string becomes a quoted
//! string, a number an integer or a decimal, a boolean `true`/`false`), exactly the literal
//! InfluxDB's parser puts in its place. Everything else is copied byte for byte, so
//! positions in parse errors only move after a substituted parameter.
//!
//! Invariant: a parameter always stands for a value, never for a name (`SELECT $f` with
//! `f = "usage"` selects the string `'usage'`, as in InfluxDB).

use std::collections::HashMap;

use sluice_influxql::lexer::{Scanner, TokenKind};

/// One parameter's value as InfluxQL literal text.
pub type ParamLiterals = HashMap<String, String>;

/// Parses the `params` JSON object. `Err` carries InfluxDB's message (the caller answers 400
/// `error parsing query parameters: <message>`).
pub fn parse_params(json: &str) -> Result<ParamLiterals, String> {
    let object: serde_json::Map<String, serde_json::Value> =
        serde_json::from_str(json.trim()).map_err(|error| go_json_error(&error))?;
    let mut literals = ParamLiterals::new();
    for (name, value) in object {
        let literal = match value {
            serde_json::Value::String(text) => quote_string(&text),
            serde_json::Value::Bool(flag) => flag.to_string(),
            serde_json::Value::Number(number) => number_literal(&number)?,
            // A null or structured value binds to nothing: the parser then reports the
            // parameter as missing, as InfluxDB does for values it cannot bind.
            _ => continue,
        };
        literals.insert(name, literal);
    }
    Ok(literals)
}

/// The literal of a JSON number: an integer when written without a fraction or exponent.
fn number_literal(number: &serde_json::Number) -> Result<String, String> {
    if let Some(integer) = number.as_i64() {
        return Ok(integer.to_string());
    }
    let text = number.to_string();
    if !text.contains(['.', 'e', 'E']) {
        // An integer outside i64: Go's strconv error, as InfluxDB reports it.
        return Err(format!(
            "strconv.ParseInt: parsing \"{text}\": value out of range"
        ));
    }
    match number.as_f64() {
        Some(float) if float.is_finite() => {
            let mut literal = format!("{float}");
            if !literal.contains('.') {
                literal.push_str(".0");
            }
            Ok(literal)
        }
        _ => Err(format!(
            "strconv.ParseFloat: parsing \"{text}\": value out of range"
        )),
    }
}

/// A single-quoted InfluxQL string literal.
fn quote_string(text: &str) -> String {
    let mut quoted = String::with_capacity(text.len() + 2);
    quoted.push('\'');
    for ch in text.chars() {
        match ch {
            '\'' => quoted.push_str("\\'"),
            '\\' => quoted.push_str("\\\\"),
            '\n' => quoted.push_str("\\n"),
            other => quoted.push(other),
        }
    }
    quoted.push('\'');
    quoted
}

/// Go's `encoding/json` wording for the common failures.
fn go_json_error(error: &serde_json::Error) -> String {
    use serde_json::error::Category;
    match error.classify() {
        Category::Eof => "unexpected EOF".to_string(),
        Category::Data => {
            "json: cannot unmarshal into Go value of type map[string]interface {}".to_string()
        }
        Category::Syntax | Category::Io => format!("invalid character: {error}"),
    }
}

/// `text` with each `$name` in `params` replaced by its literal.
pub fn substitute(text: &str, params: &ParamLiterals) -> String {
    if params.is_empty() || !text.contains('$') {
        return text.to_string();
    }
    let mut out = String::with_capacity(text.len());
    let mut copied_to = 0;
    let mut scanner = Scanner::new(text);
    loop {
        let token = scanner.scan();
        if token.kind == TokenKind::Eof {
            break;
        }
        if token.kind != TokenKind::BoundParam {
            continue;
        }
        let name = token.literal.trim_start_matches('$');
        let (Some(literal), Some(before)) = (params.get(name), text.get(copied_to..token.start))
        else {
            continue;
        };
        out.push_str(before);
        out.push_str(literal);
        copied_to = token.end;
    }
    out.push_str(text.get(copied_to..).unwrap_or_default());
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn substitutes_values_not_names() {
        let params = parse_params(r#"{"host":"b","n":2,"min":18.5,"b":true,"q":"it's"}"#).unwrap();
        assert_eq!(
            substitute(
                "SELECT x FROM m WHERE host = $host AND $b LIMIT $n",
                &params
            ),
            "SELECT x FROM m WHERE host = 'b' AND true LIMIT 2"
        );
        assert_eq!(
            substitute("SELECT $min, $q, $other", &params),
            "SELECT 18.5, 'it\\'s', $other"
        );
        assert_eq!(substitute("SELECT '$host'", &params), "SELECT '$host'");
    }

    #[test]
    fn float_params_stay_floats() {
        let params = parse_params(r#"{"f":18.0}"#).unwrap();
        assert_eq!(params.get("f").map(String::as_str), Some("18.0"));
    }

    #[test]
    fn truncated_json_is_unexpected_eof() {
        assert_eq!(
            parse_params(r#"{"host":"#),
            Err("unexpected EOF".to_string())
        );
    }
}
