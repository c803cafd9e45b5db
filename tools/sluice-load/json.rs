//! A tiny JSON value and writer for the machine-readable summary (no parsing).
//!
//! Invariant: the output is valid JSON — strings are escaped per RFC 8259, and non-finite
//! numbers (which JSON cannot express) are written as `null`.

use std::fmt::Write;

/// A JSON value; objects keep insertion order.
#[derive(Debug, Clone, PartialEq)]
pub enum Json {
    /// `null`.
    Null,
    /// `true` / `false`.
    Bool(bool),
    /// An unsigned integer, written exactly.
    UInt(u64),
    /// A float; non-finite values become `null`.
    Float(f64),
    /// A string.
    Str(String),
    /// An array.
    Array(Vec<Json>),
    /// An object with keys in the given order.
    Object(Vec<(String, Json)>),
}

impl Json {
    /// Builds an object from `(key, value)` pairs.
    pub fn object<K: Into<String>>(pairs: impl IntoIterator<Item = (K, Json)>) -> Json {
        Json::Object(
            pairs
                .into_iter()
                .map(|(key, value)| (key.into(), value))
                .collect(),
        )
    }

    /// A string value.
    pub fn str(text: impl Into<String>) -> Json {
        Json::Str(text.into())
    }

    /// Renders with two-space indentation.
    pub fn render(&self) -> String {
        let mut out = String::new();
        self.render_into(&mut out, 0);
        out.push('\n');
        out
    }

    fn render_into(&self, out: &mut String, depth: usize) {
        const INDENT: &str = "  ";
        match self {
            Json::Null => out.push_str("null"),
            Json::Bool(value) => out.push_str(if *value { "true" } else { "false" }),
            Json::UInt(value) => {
                let _ = write!(out, "{value}");
            }
            Json::Float(value) if value.is_finite() => {
                let _ = write!(out, "{value}");
            }
            Json::Float(_) => out.push_str("null"),
            Json::Str(text) => escape_into(out, text),
            Json::Array(items) if items.is_empty() => out.push_str("[]"),
            Json::Object(pairs) if pairs.is_empty() => out.push_str("{}"),
            Json::Array(items) => {
                out.push('[');
                for (index, item) in items.iter().enumerate() {
                    out.push_str(if index == 0 { "\n" } else { ",\n" });
                    out.push_str(&INDENT.repeat(depth + 1));
                    item.render_into(out, depth + 1);
                }
                out.push('\n');
                out.push_str(&INDENT.repeat(depth));
                out.push(']');
            }
            Json::Object(pairs) => {
                out.push('{');
                for (index, (key, value)) in pairs.iter().enumerate() {
                    out.push_str(if index == 0 { "\n" } else { ",\n" });
                    out.push_str(&INDENT.repeat(depth + 1));
                    escape_into(out, key);
                    out.push_str(": ");
                    value.render_into(out, depth + 1);
                }
                out.push('\n');
                out.push_str(&INDENT.repeat(depth));
                out.push('}');
            }
        }
    }
}

fn escape_into(out: &mut String, text: &str) {
    out.push('"');
    for c in text.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if u32::from(c) < 0x20 => {
                let _ = write!(out, "\\u{:04x}", u32::from(c));
            }
            c => out.push(c),
        }
    }
    out.push('"');
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_valid_json() {
        let value = Json::object([
            ("a", Json::UInt(1)),
            ("b", Json::Float(1.5)),
            ("c", Json::Float(f64::NAN)),
            ("d", Json::str("q\"\\\n\u{1}")),
            ("e", Json::Array(vec![Json::Bool(true), Json::Null])),
            ("f", Json::Array(vec![])),
            ("g", Json::object(Vec::<(String, Json)>::new())),
        ]);
        let expected = "{\n  \"a\": 1,\n  \"b\": 1.5,\n  \"c\": null,\n  \
            \"d\": \"q\\\"\\\\\\n\\u0001\",\n  \"e\": [\n    true,\n    null\n  ],\n  \
            \"f\": [],\n  \"g\": {}\n}\n";
        assert_eq!(value.render(), expected);
    }
}
