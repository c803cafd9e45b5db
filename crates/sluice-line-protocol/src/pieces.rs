//! Tests of [`crate::scan::complete_lines_end`]: a body that arrives in pieces (an inflating
//! gzip stream), each piece's whole lines parsed as a body of their own and the rest carried
//! in front of the next bytes, gives exactly the points and errors of the whole body parsed
//! at once, line numbers and offsets included, wherever the pieces are cut.

use proptest::prelude::*;

use super::differential::{piece, shaped_line};
use super::scan::complete_lines_end;
use super::{FieldValue, Parser, Precision, Scratch};

/// One parse result, owned, with its line number and offset in the whole body.
#[derive(Debug, PartialEq)]
enum Parsed {
    Point {
        measurement: Vec<u8>,
        tags: Vec<(Vec<u8>, Vec<u8>)>,
        fields: Vec<(Vec<u8>, String)>,
        timestamp_ns: i64,
    },
    Error {
        line_number: usize,
        line_offset: usize,
        line: Vec<u8>,
        message: String,
    },
}

const DEFAULT_TIME_NS: i64 = 1_700_000_000_123_456_789;

fn value_text(value: &FieldValue<'_>) -> String {
    match value {
        // Bits, so that -0.0 and 0.0 differ.
        FieldValue::Float(v) => format!("f{:x}", v.to_bits()),
        other => format!("{other:?}"),
    }
}

/// Parses `body` as a body of its own that starts on line `lines_before + 1` at byte
/// `offset_before` of the whole body.
fn parse(body: &[u8], lines_before: usize, offset_before: usize, out: &mut Vec<Parsed>) {
    let mut parser = Parser::new(body, Precision::Nanosecond, DEFAULT_TIME_NS)
        .accept_unsigned(true)
        .accept_crlf(true);
    let mut scratch = Scratch::default();
    while let Some(result) = parser.next_point(&mut scratch) {
        out.push(match result {
            Ok(point) => Parsed::Point {
                measurement: point.measurement.to_vec(),
                tags: point
                    .tags
                    .iter()
                    .map(|tag| (tag.key.to_vec(), tag.value.to_vec()))
                    .collect(),
                fields: point
                    .fields
                    .iter()
                    .map(|field| (field.key.to_vec(), value_text(&field.value)))
                    .collect(),
                timestamp_ns: point.timestamp_ns,
            },
            Err(error) => Parsed::Error {
                line_number: lines_before + error.line_number,
                line_offset: offset_before + error.line_offset,
                line: error.line,
                message: error.message,
            },
        });
    }
}

/// Parses `body` as it arrives: the bytes up to each of `arrivals` (ascending), then the rest.
fn parse_arriving(body: &[u8], arrivals: &[usize]) -> Vec<Parsed> {
    let mut out = Vec::new();
    let mut taken = 0; // bytes of `body` already parsed
    let mut lines_before = 0;
    let ends = arrivals.iter().copied().chain(std::iter::once(body.len()));
    for arrived in ends {
        let arrived = arrived.clamp(taken, body.len());
        let buffered = &body[taken..arrived];
        let complete = complete_lines_end(buffered, arrived < body.len());
        let whole_lines = &buffered[..complete];
        parse(whole_lines, lines_before, taken, &mut out);
        lines_before += memchr::memchr_iter(b'\n', whole_lines).count();
        taken += complete;
    }
    assert_eq!(taken, body.len(), "BUG: the last piece takes the rest");
    out
}

fn whole(body: &[u8]) -> Vec<Parsed> {
    let mut out = Vec::new();
    parse(body, 0, 0, &mut out);
    out
}

/// Every single cut of `body`, then every pair of cuts around its middle third.
fn assert_pieces_parse_as_whole(body: &[u8]) {
    let expected = whole(body);
    for cut in 0..=body.len() {
        assert_eq!(
            parse_arriving(body, &[cut]),
            expected,
            "cut at {cut} of {:?}",
            String::from_utf8_lossy(body)
        );
    }
    let third = body.len() / 3;
    for first in third..=(2 * third) {
        for second in [first + 1, first + 2, first + 7] {
            assert_eq!(
                parse_arriving(body, &[first, second]),
                expected,
                "cuts at {first} and {second} of {:?}",
                String::from_utf8_lossy(body)
            );
        }
    }
}

#[test]
fn hand_picked_bodies_parse_the_same_in_pieces() {
    let bodies: &[&[u8]] = &[
        b"",
        b"\n",
        b"cpu v=1 1\ncpu v=2 2\n",
        b"cpu v=1 1\ncpu v=2 2",
        b"cpu,host=a v=1i,s=\"x\" 5\r\nbad line\nm v=2\n",
        b"c s=\"multi\nline\" 1\nd v=1\n",
        b"c s=\"a\\\nb\" 1\nd v=1\n",
        b"c v=1 1\\\nd v=2\n",
        b"c v=1 1\\\\\nd v=2\n",
        b"c s=\"a\\\"\nd v=2\"\ne v=3\n",
        b"# comment\n  # indented\n\n\t\nc v=1\n#last",
        b"c v=\"unbalanced\nd v=1\ne v=2\n",
        b"c\\ x,t\\=a=v\\,w f\\ k=1 2\n\\\n\\\\\n",
        b"c v=1\r\n\r\nd v=2\r",
    ];
    for body in bodies {
        assert_pieces_parse_as_whole(body);
    }
}

#[test]
fn a_line_longer_than_every_piece_is_carried_until_it_ends() {
    let mut body = b"first v=1 1\n".to_vec();
    body.extend_from_slice(b"long,");
    for tag in 0..300 {
        body.extend_from_slice(format!("t{tag:03}=v,").as_bytes());
    }
    body.extend_from_slice(b"z=v s=\"");
    body.extend_from_slice(&[b'x'; 2000]);
    body.extend_from_slice(b"\" 7\nlast v=2 3\n");
    let expected = whole(&body);
    // Pieces of 64 bytes: the long line spans about 70 of them.
    let arrivals: Vec<usize> = (1..body.len() / 64).map(|n| n * 64).collect();
    assert_eq!(parse_arriving(&body, &arrivals), expected);
    assert_eq!(expected.len(), 3);
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(128))]

    #[test]
    fn generated_bodies_parse_the_same_at_every_cut(
        pieces in prop::collection::vec(piece(), 0..24)
    ) {
        assert_pieces_parse_as_whole(pieces.concat().as_bytes());
    }

    #[test]
    fn generated_points_parse_the_same_at_every_cut(
        lines in prop::collection::vec(shaped_line(), 1..4),
        crlf in any::<bool>(),
    ) {
        let body = lines.join(if crlf { "\r\n" } else { "\n" });
        assert_pieces_parse_as_whole(body.as_bytes());
    }

    #[test]
    fn arbitrary_bytes_parse_the_same_in_random_pieces(
        body in prop::collection::vec(any::<u8>(), 0..160),
        mut arrivals in prop::collection::vec(0usize..160, 0..8),
    ) {
        arrivals.sort_unstable();
        prop_assert_eq!(parse_arriving(&body, &arrivals), whole(&body));
    }
}
