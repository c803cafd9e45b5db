//! Fuzz target for the line protocol parser.
//!
//! Parses arbitrary bytes with every precision and must never panic, and must give exactly
//! what the reference (original) scanner gives: every point and every error. Every point
//! that parses and whose names line protocol can express is formatted (the `influx_inspect
//! export` way) and parsed again; the second parse must give the same unescaped point.
#![no_main]

use libfuzzer_sys::fuzz_target;
use sluice_line_protocol::{
    append_line, escape_into, is_expressible, reference, unescape_into, EscapeKind, FieldValue,
    FormatField, FormatValue, Parser, Point, Precision, Scratch,
};

/// A point with every name and string unescaped.
#[derive(Debug, PartialEq)]
struct RawPoint {
    measurement: Vec<u8>,
    tags: Vec<(Vec<u8>, Vec<u8>)>,
    fields: Vec<(Vec<u8>, RawValue)>,
    timestamp_ns: i64,
}

#[derive(Debug, PartialEq)]
enum RawValue {
    /// compared by bits so -0 and 0 differ
    Float(u64),
    Integer(i64),
    Unsigned(u64),
    Boolean(bool),
    String(Vec<u8>),
}

fn unescaped(escaped: &[u8], kind: EscapeKind) -> Vec<u8> {
    let mut out = Vec::new();
    unescape_into(escaped, kind, &mut out);
    out
}

fn raw_point(point: &Point<'_, '_>) -> RawPoint {
    RawPoint {
        measurement: unescaped(point.measurement, EscapeKind::Measurement),
        tags: point
            .tags
            .iter()
            .map(|tag| {
                (unescaped(tag.key, EscapeKind::TagKey), unescaped(tag.value, EscapeKind::TagValue))
            })
            .collect(),
        fields: point
            .fields
            .iter()
            .map(|field| {
                let value = match field.value {
                    FieldValue::Float(value) => RawValue::Float(value.to_bits()),
                    FieldValue::Integer(value) => RawValue::Integer(value),
                    FieldValue::Unsigned(value) => RawValue::Unsigned(value),
                    FieldValue::Boolean(value) => RawValue::Boolean(value),
                    FieldValue::String(escaped) => {
                        RawValue::String(unescaped(escaped, EscapeKind::StringFieldValue))
                    }
                };
                (unescaped(field.key, EscapeKind::FieldKey), value)
            })
            .collect(),
        timestamp_ns: point.timestamp_ns,
    }
}

fn expressible(point: &RawPoint) -> bool {
    is_expressible(&point.measurement, EscapeKind::Measurement)
        && point.tags.iter().all(|(key, value)| {
            is_expressible(key, EscapeKind::TagKey) && is_expressible(value, EscapeKind::TagValue)
        })
        && point.fields.iter().all(|(key, _)| is_expressible(key, EscapeKind::FieldKey))
}

fn format(point: &RawPoint) -> Vec<u8> {
    let mut key = Vec::new();
    escape_into(&point.measurement, EscapeKind::Measurement, &mut key);
    for (tag_key, tag_value) in &point.tags {
        key.push(b',');
        escape_into(tag_key, EscapeKind::TagKey, &mut key);
        key.push(b'=');
        escape_into(tag_value, EscapeKind::TagValue, &mut key);
    }
    let fields: Vec<FormatField<'_>> = point
        .fields
        .iter()
        .map(|(key, value)| FormatField {
            key,
            value: match value {
                RawValue::Float(bits) => FormatValue::Float(f64::from_bits(*bits)),
                RawValue::Integer(value) => FormatValue::Integer(*value),
                RawValue::Unsigned(value) => FormatValue::Unsigned(*value),
                RawValue::Boolean(value) => FormatValue::Boolean(*value),
                RawValue::String(value) => FormatValue::String(value),
            },
        })
        .collect();
    let mut line = Vec::new();
    append_line(&key, &fields, point.timestamp_ns, &mut line);
    line
}

fuzz_target!(|data: &[u8]| {
    // The fast scanner must agree with the reference one on every point and every error.
    if let Some(difference) = reference::differences(data) {
        panic!("BUG: fast and reference parsers differ: {difference}");
    }
    for precision in Precision::ALL {
        for accept_unsigned in [false, true] {
            let mut parser = Parser::new(data, precision, 0).accept_unsigned(accept_unsigned);
            let mut scratch = Scratch::default();
            while let Some(result) = parser.next_point(&mut scratch) {
                let Ok(point) = result else { continue };
                let original = raw_point(&point);
                if !expressible(&original) {
                    continue;
                }
                let line = format(&original);
                let mut reparser =
                    Parser::new(&line, Precision::Nanosecond, 0).accept_unsigned(true);
                let mut rescratch = Scratch::default();
                match reparser.next_point(&mut rescratch) {
                    Some(Ok(again)) => {
                        let again = raw_point(&again);
                        if again != original {
                            panic!(
                                "BUG: round trip changed the point\n line: {:?}\n {:?}\n {:?}",
                                String::from_utf8_lossy(&line),
                                original,
                                again
                            );
                        }
                    }
                    other => panic!(
                        "BUG: formatted point does not parse: {:?} -> {:?}",
                        String::from_utf8_lossy(&line),
                        other
                    ),
                }
                if reparser.next_point(&mut rescratch).is_some() {
                    panic!("BUG: formatted point became two: {:?}", String::from_utf8_lossy(&line));
                }
            }
        }
    }
});
