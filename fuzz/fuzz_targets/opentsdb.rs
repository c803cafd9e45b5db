//! Fuzz target for the OpenTSDB decoders.
//!
//! Feeds arbitrary bytes to `parse_telnet_line` and to `parse_http_put`; neither may panic,
//! an error must leave the output untouched, and every line they produce must parse with
//! Sluice's line protocol parser into one point with one float field `value`.
#![no_main]

use libfuzzer_sys::fuzz_target;
use sluice::inputs::opentsdb::{parse_http_put, parse_telnet_line, TelnetCommand};
use sluice::line_protocol::{FieldValue, Parser, Precision, Scratch};

/// Parses `lines` and returns how many points they hold; panics on any parse error.
fn check_output(lines: &[u8]) -> usize {
    let mut parser = Parser::new(lines, Precision::Nanosecond, 0);
    let mut points = 0;
    loop {
        let mut scratch = Scratch::default();
        match parser.next_point(&mut scratch) {
            None => return points,
            Some(Ok(point)) => {
                assert_eq!(point.fields.len(), 1, "one field: {lines:?}");
                let field = point.fields[0];
                assert_eq!(field.key, b"value");
                assert!(matches!(field.value, FieldValue::Float(_)), "{lines:?}");
                points += 1;
            }
            Some(Err(error)) => panic!("decoder output does not parse: {error:?}: {lines:?}"),
        }
    }
}

fuzz_target!(|data: &[u8]| {
    let mut out = b"x value=1 0\n".to_vec();
    match parse_telnet_line(data, &mut out) {
        Ok(TelnetCommand::Put) => assert_eq!(check_output(&out), 2),
        Ok(_) | Err(_) => assert_eq!(out, b"x value=1 0\n"),
    }
    let mut out = Vec::new();
    match parse_http_put(data, &mut out) {
        Ok(count) => assert_eq!(check_output(&out), count),
        Err(_) => assert!(out.is_empty()),
    }
});
