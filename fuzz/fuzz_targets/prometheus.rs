//! Fuzz target for the Prometheus remote storage decoders (`src/http/prometheus.rs`).
//!
//! The first byte picks whether the rest is sent as the body as is (the snappy decoder sees
//! garbage) or snappy-compressed first (the protobuf readers see it). The same body is
//! decoded as a remote-write `WriteRequest` and as a remote-read `ReadRequest`; neither may
//! panic. Write: on success every line parses with Sluice's line protocol parser at
//! millisecond precision, one point per line with the one float field `value` (or is refused
//! for a time outside the nanosecond range, as documented); on error the
//! text is one of the documented refusals. Read: on success the InfluxQL parses with
//! `influxql::parse_query`, or fails only on a matcher's regex (as Go would refuse it);
//! on error the text is one of the documented refusals.
#![no_main]

use libfuzzer_sys::fuzz_target;
use sluice::http::prometheus::{
    decode_write_request_for_fuzzing, read_request_to_influxql_for_fuzzing,
};
use sluice::line_protocol::{FieldValue, ParseErrorKind, Parser, Precision, Scratch};

/// Inflated bytes allowed (the server's `max-inflated-body-size` stands here).
const MAX_INFLATED: usize = 1 << 20;

const WRITE_REFUSALS: &[&str] = &[
    "+/-Inf is an unsupported value for field value",
    "snappy: corrupt input",
    "unexpected EOF",
    "proto: integer overflow",
    "proto: illegal wireType",
    "Prometheus write: a label holds a control character or ends in a backslash",
];

const READ_REFUSALS: &[&str] = &[
    "Prometheus read endpoint currently only supports one query at a time",
    "Prometheus read: only = and =~ are supported for __name__",
    "Prometheus read: unknown label matcher type",
    "Prometheus read: a label matcher holds a control character",
    "snappy: corrupt input",
    "unexpected EOF",
    "proto: integer overflow",
    "proto: illegal wireType",
];

fn check_write(body: &[u8]) {
    let lines = match decode_write_request_for_fuzzing(body, MAX_INFLATED) {
        Ok(lines) => lines,
        Err(message) => {
            assert!(WRITE_REFUSALS.contains(&message), "undocumented: {message}");
            return;
        }
    };
    let expected = lines.iter().filter(|&&byte| byte == b'\n').count();
    let mut parser = Parser::new(&lines, Precision::Millisecond, 0);
    let mut parsed = 0;
    loop {
        let mut scratch = Scratch::default();
        match parser.next_point(&mut scratch) {
            None => break,
            Some(Ok(point)) => {
                assert_eq!(point.fields.len(), 1, "one field: {lines:?}");
                assert_eq!(point.fields[0].key, b"value");
                assert!(matches!(point.fields[0].value, FieldValue::Float(_)));
                parsed += 1;
            }
            // A sample's millisecond time past the nanosecond range: refused by the write
            // planner like a /write line (documented in src/http/prometheus.rs).
            Some(Err(error)) if error.kind == ParseErrorKind::TimeOutOfRange => {
                let time: &[u8] = error.line.rsplit(|&byte| byte == b' ').next().unwrap();
                let ms: i64 = std::str::from_utf8(time).unwrap().parse().unwrap();
                assert!(
                    ms.checked_mul(1_000_000)
                        .map_or(true, |ns| ns.unsigned_abs() > 9_223_372_036_854_775_806),
                    "{error:?}"
                );
                parsed += 1;
            }
            Some(Err(error)) => panic!(
                "line does not parse: {error:?}\n{}",
                String::from_utf8_lossy(&lines)
            ),
        }
    }
    assert_eq!(parsed, expected, "{}", String::from_utf8_lossy(&lines));
}

fn check_read(body: &[u8], database: &str, retention_policy: &str) {
    match read_request_to_influxql_for_fuzzing(body, database, retention_policy, MAX_INFLATED) {
        Ok(text) => {
            if let Err(error) = sluice::influxql::parse_query(&text) {
                assert!(
                    error.message.starts_with("error parsing regexp: "),
                    "translation does not parse: {error:?}\n{text}"
                );
            }
        }
        Err(message) => assert!(READ_REFUSALS.contains(&message), "undocumented: {message}"),
    }
}

fuzz_target!(|data: &[u8]| {
    let Some((&mode, rest)) = data.split_first() else {
        return;
    };
    let body = if mode & 1 == 0 {
        rest.to_vec()
    } else {
        match snap::raw::Encoder::new().compress_vec(rest) {
            Ok(body) => body,
            Err(_) => return,
        }
    };
    check_write(&body);
    let (database, retention_policy) = match mode >> 1 & 3 {
        0 => ("db", ""),
        1 => ("db", "rp"),
        2 => ("d\"b\\", "r'p\"\\"),
        _ => ("my db", "a.b"),
    };
    check_read(&body, database, retention_policy);
});
