//! Fuzz target for the Graphite plaintext decoder.
//!
//! Feeds arbitrary bytes as one line to parsers with a few fixed template sets; must never
//! panic, must leave `out` untouched on error, and every line it writes must parse with
//! Sluice's line protocol parser as exactly one point with one float field.
#![no_main]

use libfuzzer_sys::fuzz_target;
use sluice::inputs::graphite::GraphiteParser;
use sluice::line_protocol::{FieldValue, Parser, Precision, Scratch};
use std::sync::OnceLock;

const NOW_NS: i64 = 1_700_000_000_000_000_000;

fn parsers() -> &'static [GraphiteParser] {
    static PARSERS: OnceLock<Vec<GraphiteParser>> = OnceLock::new();
    PARSERS.get_or_init(|| {
        let configs: [(&str, &[&str], &[&str]); 4] = [
            (".", &[], &[]),
            (
                "_",
                &[
                    "servers.* .host.measurement*",
                    "stats.* .host.measurement.field region=us,zone=1a",
                    "a.*.c measurement.field*",
                    "*.x ..measurement.host.host",
                    "both.* measurement*.field*",
                    "measurement.host env=prod",
                ],
                &["dc=east", "host=global"],
            ),
            (",", &["measurement.measurement.field.field"], &["k=v"]),
            (" ", &["measurement*.host"], &[]),
        ];
        configs
            .iter()
            .map(|(separator, templates, tags)| {
                let templates: Vec<String> = templates.iter().map(|t| t.to_string()).collect();
                let tags: Vec<String> = tags.iter().map(|t| t.to_string()).collect();
                match GraphiteParser::new(separator, &templates, &tags) {
                    Ok(parser) => parser,
                    Err(error) => panic!("BUG: fixed config refused: {error}"),
                }
            })
            .collect()
    })
}

fuzz_target!(|data: &[u8]| {
    for parser in parsers() {
        let mut out = b"x".to_vec();
        match parser.parse_line(data, NOW_NS, &mut out) {
            Err(error) => {
                assert_eq!(out, b"x", "BUG: output left behind on error");
                let _ = parser.error_message(data, &error);
            }
            Ok(()) => {
                let written = out.get(1..).unwrap_or_default();
                let mut reader = Parser::new(written, Precision::Nanosecond, 0);
                let mut scratch = Scratch::default();
                match reader.next_point(&mut scratch) {
                    Some(Ok(point)) => {
                        assert_eq!(
                            point.fields.len(),
                            1,
                            "BUG: {:?}",
                            String::from_utf8_lossy(written)
                        );
                        let is_float = matches!(
                            point.fields.first().map(|field| field.value),
                            Some(FieldValue::Float(_))
                        );
                        assert!(
                            is_float,
                            "BUG: not a float: {:?}",
                            String::from_utf8_lossy(written)
                        );
                    }
                    other => panic!(
                        "BUG: output does not parse: {:?} from {:?}: {other:?}",
                        String::from_utf8_lossy(written),
                        String::from_utf8_lossy(data)
                    ),
                }
                assert!(
                    reader.next_point(&mut scratch).is_none(),
                    "BUG: output is two points: {:?}",
                    String::from_utf8_lossy(written)
                );
            }
        }
    }
});
