//! Unit tests: every value type, escape, error text and edge case found against InfluxDB
//! 1.6.7, plus a print-and-reparse property test.

use super::*;

const NOW_NS: i64 = 1_700_000_000_123_456_789;

/// Parses `body` and renders each result as text: `OK <point>` or `ERR <line>: <message>`.
fn parse_all_with(body: &[u8], precision: Precision) -> Vec<String> {
    let mut parser = Parser::new(body, precision, NOW_NS);
    let mut scratch = Scratch::default();
    let mut results = Vec::new();
    while let Some(result) = parser.next_point(&mut scratch) {
        results.push(match result {
            Ok(point) => render(&point),
            Err(error) => format!("ERR {}", error.influx_text()),
        });
    }
    results
}

fn parse_all(body: &[u8]) -> Vec<String> {
    parse_all_with(body, Precision::Nanosecond)
}

fn parse_one(line: &str) -> String {
    let mut results = parse_all(line.as_bytes());
    assert_eq!(results.len(), 1, "{line:?} gave {results:?}");
    results.remove(0)
}

fn render(point: &Point<'_, '_>) -> String {
    let mut text = String::from_utf8_lossy(point.measurement).into_owned();
    for tag in point.tags {
        text += &format!(
            ",{}={}",
            String::from_utf8_lossy(tag.key),
            String::from_utf8_lossy(tag.value)
        );
    }
    text.push(' ');
    for (index, field) in point.fields.iter().enumerate() {
        if index > 0 {
            text.push(',');
        }
        text += &String::from_utf8_lossy(field.key);
        text.push('=');
        text += &match field.value {
            FieldValue::Float(value) => format!("{value:?}"),
            FieldValue::Integer(value) => format!("{value}i"),
            FieldValue::Unsigned(value) => format!("{value}u"),
            FieldValue::Boolean(value) => format!("{value}"),
            FieldValue::String(value) => format!("<{}>", String::from_utf8_lossy(value)),
        };
    }
    format!("OK {text} {}", point.timestamp_ns)
}

fn assert_error(line: &str, message: &str) {
    assert_eq!(
        parse_one(line),
        format!("ERR unable to parse '{line}': {message}"),
        "line {line:?}"
    );
}

#[test]
fn value_types() {
    assert_eq!(parse_one("cpu v=1.5 10"), "OK cpu v=1.5 10");
    assert_eq!(parse_one("cpu v=-3i 10"), "OK cpu v=-3i 10");
    assert_eq!(parse_one("cpu v=\"hi\" 10"), "OK cpu v=<hi> 10");
    assert_eq!(parse_one("cpu v=\"\" 10"), "OK cpu v=<> 10");
    for text in ["t", "T", "true", "True", "TRUE"] {
        assert_eq!(parse_one(&format!("cpu v={text} 1")), "OK cpu v=true 1");
    }
    for text in ["f", "F", "false", "False", "FALSE"] {
        assert_eq!(parse_one(&format!("cpu v={text} 1")), "OK cpu v=false 1");
    }
    assert_eq!(
        parse_one("cpu a=1,b=2i,c=\"x\",d=t 5"),
        "OK cpu a=1.0,b=2i,c=<x>,d=true 5"
    );
}

#[test]
fn float_syntax_matches_go() {
    for (text, value) in [
        ("1.", 1.0),
        (".5", 0.5),
        ("-.5", -0.5),
        ("1e5", 1e5),
        ("1E+5", 1e5),
        ("1.e5", 1e5),
        ("-1e-5", -1e-5),
        ("01", 1.0),
        ("1e-400", 0.0),
        ("123456789012345678", 123456789012345678.0),
        ("0.1", 0.1),
        ("3.25000000000001", 3.25000000000001),
        ("100000000000000000000000", 1e23),
    ] {
        assert_eq!(
            parse_one(&format!("cpu v={text} 1")),
            format!("OK cpu v={value:?} 1")
        );
    }
    assert_eq!(parse_one("cpu v=-0 1"), "OK cpu v=-0.0 1");
    for text in [
        "1x",
        "1.5i",
        "1i5",
        "1ii",
        "0x10",
        "1_000",
        ".",
        "-",
        "--1",
        "1.5.5",
        "NaN",
        "nan",
        "n",
        "None",
        "-Inf",
        "1-2",
        "1e+-5",
        "-i",
        "1.i",
        "1E5i",
        "1e5i",
        "1u",
        "-1u",
        "1u2",
        "18446744073709551615u",
    ] {
        assert_error(&format!("cpu v={text} 1"), "invalid number");
    }
    for text in ["1e", "1e5e5", "1e5.5", "1e400", ".e5", "-e5"] {
        assert_error(&format!("cpu v={text} 1"), "invalid float");
    }
    for text in [
        "Inf", "inf", "+Inf", "Infinity", "+1", "+1i", "i", "=1", "tRUE", "truex", "fa",
    ] {
        assert_error(&format!("cpu v={text} 1"), "invalid boolean");
    }
}

#[test]
fn integers() {
    assert_eq!(
        parse_one("cpu v=9223372036854775807i 1"),
        "OK cpu v=9223372036854775807i 1"
    );
    assert_eq!(
        parse_one("cpu v=-9223372036854775808i 1"),
        "OK cpu v=-9223372036854775808i 1"
    );
    assert_error(
        "cpu v=9223372036854775808i",
        "unable to parse integer 9223372036854775808: strconv.ParseInt: parsing \
         \"9223372036854775808\": value out of range",
    );
    assert_error(
        "cpu v=-9223372036854775809i",
        "unable to parse integer -9223372036854775809: strconv.ParseInt: parsing \
         \"-9223372036854775809\": value out of range",
    );
}

#[test]
fn unsigned_when_enabled() {
    let body = b"cpu v=18446744073709551615u 1";
    let mut parser = Parser::new(body, Precision::Nanosecond, 0).accept_unsigned(true);
    let mut scratch = Scratch::default();
    let point = parser
        .next_point(&mut scratch)
        .and_then(Result::ok)
        .map(|point| render(&point));
    assert_eq!(point.as_deref(), Some("OK cpu v=18446744073709551615u 1"));
}

#[test]
fn structural_errors() {
    assert_error("cpu", "missing fields");
    assert_error("cpu,host=a", "missing fields");
    assert_error("cpu\\", "missing fields");
    assert_error("cpu\\ v=1", "missing fields");
    assert_error("cpu\tv=1", "missing fields");
    assert_error("cpu,t=a\\", "missing fields");
    assert_error("cpu ", "invalid field format");
    assert_error("cpu,host=a ", "invalid field format");
    assert_error("cpu v", "invalid field format");
    assert_error("cpu v=1,", "invalid field format");
    assert_error("cpu v=1,w", "invalid field format");
    assert_error("cpu v=1, w=2 1", "invalid field format");
    assert_error("cpu\\\\ v=1 1", "invalid field format");
    assert_error(",host=a v=1", "missing measurement");
    assert_error("cpu,host v=1", "missing tag value");
    assert_error("cpu,host", "missing tag value");
    assert_error("cpu,host= v=1", "missing tag value");
    assert_error("cpu,t\\\\=a v=1 1", "missing tag value");
    assert_error("cpu,=a v=1", "missing tag key");
    assert_error("cpu, v=1", "missing tag key");
    assert_error("cpu,host=a, v=1", "missing tag key");
    assert_error("cpu,host=a=b v=1", "invalid tag format");
    assert_error("cpu,t=a\\\\ v=1 1", "invalid tag format");
    assert_error("cpu,t=a\\ v=1 1", "invalid tag format");
    assert_error("cpu,host=a,host=b v=1", "duplicate tags");
    assert_error("cpu,b=1,a=2,b=3 v=1", "duplicate tags");
    assert_error("cpu =1", "missing field key");
    assert_error("cpu v=1,=2", "missing field key");
    assert_error("cpu v=", "missing field value");
    assert_error("cpu v=,w=1", "missing field value");
    assert_error("cpu v=\"abc", "unbalanced quotes");
    assert_error("cpu v=\"a\\\"", "unbalanced quotes");
    assert_error("cpu v=\"a\\\\\"b\" 1", "unbalanced quotes");
    assert_error("cpu v=\"\\\" 1", "unbalanced quotes");
}

#[test]
fn timestamps() {
    assert_error("cpu v=1 abc", "bad timestamp");
    assert_error("cpu v=1 +1", "bad timestamp");
    assert_error("cpu v=1 1#", "bad timestamp");
    assert_error("cpu v=1 #c", "bad timestamp");
    assert_error("cpu v=1 1\t", "bad timestamp");
    assert_error("cpu v=1 ,w=2", "bad timestamp");
    assert_error("cpu v=\"a\" \"b\" 1", "bad timestamp");
    assert_error("cpu v=1 1 2", "point is invalid");
    assert_error("cpu v=2 2 # x", "point is invalid");
    assert_error(
        "cpu v=1 -",
        "strconv.ParseInt: parsing \"-\": invalid syntax",
    );
    assert_error(
        "cpu v=1 99999999999999999999",
        "strconv.ParseInt: parsing \"99999999999999999999\": value out of range",
    );
    let range = "time outside range -9223372036854775806 - 9223372036854775806";
    assert_error("cpu v=1 9223372036854775807", range);
    assert_error("cpu v=1 -9223372036854775808", range);
    assert_error("cpu v=1 -9223372036854775807", range);
    assert_eq!(parse_one("cpu v=1 -1"), "OK cpu v=1.0 -1");
    assert_eq!(parse_one("cpu v=1 0"), "OK cpu v=1.0 0");
    assert_eq!(
        parse_one("cpu v=1 9223372036854775806"),
        "OK cpu v=1.0 9223372036854775806"
    );
    assert_eq!(
        parse_one("cpu v=1 -9223372036854775806"),
        "OK cpu v=1.0 -9223372036854775806"
    );
    assert_eq!(parse_one("cpu v=1 1 "), "OK cpu v=1.0 1");
    assert_eq!(parse_one("cpu v=1  1"), "OK cpu v=1.0 1");
    assert_eq!(parse_one("cpu v=1 \t1"), "OK cpu v=1.0 1");
    assert_eq!(parse_one("cpu v=1 "), format!("OK cpu v=1.0 {NOW_NS}"));
}

#[test]
fn precision_scaling_and_default_time() {
    let second = parse_all_with(b"cpu v=1 1", Precision::Second);
    assert_eq!(second, ["OK cpu v=1.0 1000000000"]);
    let minute = parse_all_with(b"cpu v=1 1", Precision::Minute);
    assert_eq!(minute, ["OK cpu v=1.0 60000000000"]);
    let micro = parse_all_with(b"cpu v=1 1", Precision::Microsecond);
    assert_eq!(micro, ["OK cpu v=1.0 1000"]);
    assert_eq!(
        parse_all_with(b"cpu v=1 9223372036", Precision::Second),
        ["OK cpu v=1.0 9223372036000000000"]
    );
    assert_eq!(
        parse_all_with(b"cpu v=1 9223372037", Precision::Second),
        [
            "ERR unable to parse 'cpu v=1 9223372037': time outside range \
          -9223372036854775806 - 9223372036854775806"
        ]
    );
    // Points without a timestamp get "now" truncated to the unit.
    assert_eq!(
        parse_all_with(b"cpu v=1", Precision::Second),
        ["OK cpu v=1.0 1700000000000000000"]
    );
    assert_eq!(
        parse_all_with(b"cpu v=1", Precision::Hour),
        [format!(
            "OK cpu v=1.0 {}",
            NOW_NS - NOW_NS % 3_600_000_000_000
        )]
    );
    assert_eq!(Precision::from_param("us"), Some(Precision::Nanosecond));
    assert_eq!(Precision::from_param("xyz"), Some(Precision::Nanosecond));
    assert_eq!(Precision::from_param("u"), Some(Precision::Microsecond));
    assert_eq!(Precision::from_param("ms"), Some(Precision::Millisecond));
}

#[test]
fn lines_comments_and_whitespace() {
    assert_eq!(parse_all(b"# hi\ncpu v=1 1"), ["OK cpu v=1.0 1"]);
    assert_eq!(parse_all(b"  # hi\ncpu v=1 1"), ["OK cpu v=1.0 1"]);
    assert_eq!(parse_all(b"\n\n \t\ncpu v=1 1\n\n"), ["OK cpu v=1.0 1"]);
    assert_eq!(parse_all(b" cpu v=1 1"), ["OK cpu v=1.0 1"]);
    assert_eq!(parse_all(b"\tcpu v=1 1"), ["OK cpu v=1.0 1"]);
    assert_eq!(parse_all(b"\0cpu v=1 1"), ["OK cpu v=1.0 1"]);
    assert_eq!(parse_all(b"cpu  v=1 1"), ["OK cpu v=1.0 1"]);
    assert_eq!(parse_all(b"cpu,host=a  v=1 1"), ["OK cpu,host=a v=1.0 1"]);
    assert_eq!(parse_all(b"cpu \tv=1 1"), ["OK cpu v=1.0 1"]);
    // CRLF is not supported: the \r stays in the line.
    assert_eq!(
        parse_all(b"cpu v=1\r\n"),
        ["ERR unable to parse 'cpu v=1\r': invalid number"]
    );
    assert_eq!(
        parse_all(b"cpu v=1 1\r\n"),
        ["ERR unable to parse 'cpu v=1 1\r': bad timestamp"]
    );
    assert_eq!(
        parse_all(b"cpu v=t\r\n"),
        ["ERR unable to parse 'cpu v=t\r': invalid boolean"]
    );
    assert_eq!(
        parse_all(b"cpu v=\"a\"\r\n1"),
        [
            "OK cpu v=<a\"> 1700000000123456789",
            "ERR unable to parse '1': missing fields"
        ]
    );
    // The line in the error has leading whitespace removed, trailing kept.
    assert_eq!(
        parse_all(b"  cpu v=x  "),
        ["ERR unable to parse 'cpu v=x  ': invalid boolean"]
    );
}

#[test]
fn error_positions() {
    let body = b"cpu v=1 1\n\n  cpu v=bad\ncpu v=\"a\nb\" 2\nx\n";
    let mut parser = Parser::new(body, Precision::Nanosecond, 0);
    let mut scratch = Scratch::default();
    let mut found = Vec::new();
    while let Some(result) = parser.next_point(&mut scratch) {
        found.push(match result {
            Ok(point) => (point.timestamp_ns as usize, 0, String::new()),
            Err(error) => (error.line_number, error.line_offset, error.message),
        });
    }
    assert_eq!(
        found,
        [
            (1, 0, String::new()),
            (3, 13, "invalid boolean".to_string()),
            (2, 0, String::new()),
            (6, 37, "missing fields".to_string()),
        ]
    );
}

#[test]
fn strings() {
    assert_eq!(parse_one("cpu v=\"a\"x 1"), "OK cpu v=<a\"> 1");
    assert_eq!(parse_one("cpu v=\"a\"\"b\" 1"), "OK cpu v=<a\"\"b> 1");
    assert_eq!(parse_one("cpu v=\"a\"x\"b c\" 1"), "OK cpu v=<a\"x\"b c> 1");
    assert_eq!(
        parse_one("cpu v=\"a b\",w=\"c,d=e\" 1"),
        "OK cpu v=<a b>,w=<c,d=e> 1"
    );
    assert_eq!(parse_one("cpu v=\"a\\\"b\" 1"), "OK cpu v=<a\\\"b> 1");
    assert_eq!(parse_one("cpu v=\"a\\\\\" 1"), "OK cpu v=<a\\\\> 1");
    // A quoted value spans lines.
    assert_eq!(
        parse_all(b"cpu v=\"line1\nline2\" 1\ncpu v=\"x\" 2"),
        ["OK cpu v=<line1\nline2> 1", "OK cpu v=<x> 2"]
    );
    let mut raw = Vec::new();
    unescape_into(b"a\\\"b\\\\c\\nd", EscapeKind::StringFieldValue, &mut raw);
    assert_eq!(raw, b"a\"b\\c\\nd");
}

#[test]
fn names_and_escapes() {
    assert_eq!(
        parse_one("c\\ pu,t\\ k=v\\ v f\\ k=1 1"),
        "OK c\\ pu,t\\ k=v\\ v f\\ k=1.0 1"
    );
    assert_eq!(parse_one("c=pu v=1 1"), "OK c=pu v=1.0 1");
    assert_eq!(parse_one("\"cpu\" \"v\"=1 1"), "OK \"cpu\" \"v\"=1.0 1");
    assert_eq!(parse_one("cpu,t==a v=1 1"), "OK cpu,t==a v=1.0 1");
    assert_eq!(parse_one("cpu v\\=x=1 1"), "OK cpu v\\=x=1.0 1");
    assert_eq!(
        parse_one("cpu v\\,x=1,v\\ y=2 1"),
        "OK cpu v\\,x=1.0,v\\ y=2.0 1"
    );
    assert_eq!(parse_one("cpu v=1,v=2 1"), "OK cpu v=1.0,v=2.0 1");
    assert_eq!(parse_one("cpu time=1 1"), "OK cpu time=1.0 1");
    assert_eq!(parse_one("cpu,b=1,a=2 v=1 1"), "OK cpu,a=2,b=1 v=1.0 1");
    // Sorted by escaped key, like InfluxDB: a < a- < a\,b.
    assert_eq!(
        parse_one("cpu,a\\,b=1,a=2,a-=3 v=1 1"),
        "OK cpu,a=2,a-=3,a\\,b=1 v=1.0 1"
    );
    let cases: [(&[u8], EscapeKind, &[u8]); 8] = [
        (
            b"c\\,p\\ u\\=x\\\"y\\z",
            EscapeKind::Measurement,
            b"c,p u=x\"y\\z",
        ),
        (b"t\\,k\\=\\ \\\"", EscapeKind::TagKey, b"t,k= \\\""),
        (b"v\\,v\\=\\ ", EscapeKind::TagValue, b"v,v= "),
        (b"f\\,\\=\\ \\\"", EscapeKind::FieldKey, b"f,= \""),
        (b"a\\\\,b", EscapeKind::TagValue, b"a\\,b"),
        (b"s\\\\\\\"", EscapeKind::StringFieldValue, b"s\\\""),
        (b"x\\", EscapeKind::TagKey, b"x\\"),
        (b"", EscapeKind::Measurement, b""),
    ];
    for (escaped, kind, raw) in cases {
        let mut out = Vec::new();
        unescape_into(escaped, kind, &mut out);
        assert_eq!(out, raw, "{kind:?} {escaped:?}");
    }
    let mut out = Vec::new();
    escape_into(b"a, b=\"c\\", EscapeKind::Measurement, &mut out);
    assert_eq!(out, b"a\\,\\ b=\"c\\");
    out.clear();
    escape_into(b"a, b=\"c\\", EscapeKind::TagValue, &mut out);
    assert_eq!(out, b"a\\,\\ b\\=\"c\\");
    out.clear();
    escape_into(b"a, b=\"c\\", EscapeKind::FieldKey, &mut out);
    assert_eq!(out, b"a\\,\\ b\\=\\\"c\\");
    out.clear();
    escape_into(b"a, b=\"c\\", EscapeKind::StringFieldValue, &mut out);
    assert_eq!(out, b"a, b=\\\"c\\\\");
}

fn series_key_of(line: &str) -> String {
    let mut parser = Parser::new(line.as_bytes(), Precision::Nanosecond, 0);
    let mut scratch = Scratch::default();
    let mut out = Vec::new();
    if let Some(Ok(point)) = parser.next_point(&mut scratch) {
        append_series_key(point.measurement, point.tags, &mut out);
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[test]
fn canonical_series_keys() {
    // Each expected key is what SHOW SERIES printed in InfluxDB 1.6.7.
    assert_eq!(series_key_of("cpu,b=1,a=2 v=1"), "cpu,a=2,b=1");
    assert_eq!(series_key_of("cpu,t==a v=1"), "cpu,t=\\=a");
    assert_eq!(series_key_of("cpu,t=\\=a v=1"), "cpu,t=\\=a");
    assert_eq!(series_key_of("c\\=pu v=1"), "c=pu");
    assert_eq!(series_key_of("c\\\"pu v=1"), "c\"pu");
    assert_eq!(series_key_of("cpu,t=a\\\"b v=1"), "cpu,t=a\\\"b");
    assert_eq!(series_key_of("c\\pu,t\\ag=v\\al v=1"), "c\\pu,t\\ag=v\\al");
    assert_eq!(series_key_of("cpu,a\\ b=1,a=2 v=1"), "cpu,a=2,a\\ b=1");
    assert_eq!(
        series_key_of("c\\,pu,t\\,k=v\\,v f=1"),
        "c\\,pu,t\\,k=v\\,v"
    );
}

#[test]
fn key_length_limit() {
    let long = "m".repeat(scan::SERIES_KEY_SIZE_MAX_BYTES);
    assert!(parse_one(&format!("{long} v=1 1")).starts_with("ERR"));
    let at_limit = "m".repeat(scan::SERIES_KEY_SIZE_MAX_BYTES - 5);
    assert!(parse_one(&format!("{at_limit} v=1 1")).starts_with("OK"));
    let over = "m".repeat(scan::SERIES_KEY_SIZE_MAX_BYTES + 1);
    assert_error(
        &format!("{over} v=1 1"),
        "max key length exceeded: 65536 > 65535",
    );
    let near = "m".repeat(scan::SERIES_KEY_SIZE_MAX_BYTES - 4);
    assert_error(
        &format!("{near} vv=1 1"),
        "max key length exceeded: 65537 > 65535",
    );
}

#[test]
fn float_formatting_matches_go() {
    for (value, text) in [
        (1.5, "1.5"),
        (1e6, "1e+06"),
        (123456.0, "123456"),
        (1234567.0, "1.234567e+06"),
        (1e21, "1e+21"),
        (1e-7, "1e-07"),
        (0.0001, "0.0001"),
        (0.00001, "1e-05"),
        (-0.0, "-0"),
        (0.0, "0"),
        (100.0, "100"),
        (0.1, "0.1"),
        (-2.5e-300, "-2.5e-300"),
        (1.7976931348623157e308, "1.7976931348623157e+308"),
        (5e-324, "5e-324"),
        (f64::NAN, "NaN"),
        (f64::INFINITY, "+Inf"),
    ] {
        let mut out = Vec::new();
        append_float(value, &mut out);
        assert_eq!(String::from_utf8_lossy(&out), text);
    }
}

#[test]
fn append_line_formats_every_type() {
    let mut out = Vec::new();
    let fields = [
        FormatField {
            key: b"f k",
            value: FormatValue::Float(2.0),
        },
        FormatField {
            key: b"i",
            value: FormatValue::Integer(-5),
        },
        FormatField {
            key: b"u",
            value: FormatValue::Unsigned(u64::MAX),
        },
        FormatField {
            key: b"b",
            value: FormatValue::Boolean(false),
        },
        FormatField {
            key: b"s",
            value: FormatValue::String(b"a\"b\\c\nd"),
        },
    ];
    append_line(b"cpu,host=a", &fields, -7, &mut out);
    assert_eq!(
        String::from_utf8_lossy(&out),
        "cpu,host=a f\\ k=2,i=-5i,u=18446744073709551615u,b=false,s=\"a\\\"b\\\\c\nd\" -7\n"
    );
}

#[test]
fn no_allocation_after_warmup() {
    // Scratch vectors are reused: after the first pass their capacity does not change.
    let body = b"cpu,host=a,region=b usage=1.5,idle=2i,s=\"x\" 1\nmem,host=a free=3i 2\n";
    let mut scratch = Scratch::default();
    let mut parser = Parser::new(body, Precision::Nanosecond, 0);
    while let Some(result) = parser.next_point(&mut scratch) {
        assert!(result.is_ok());
    }
    let capacities = (scratch.tags.capacity(), scratch.fields.capacity());
    let mut parser = Parser::new(body, Precision::Nanosecond, 0);
    while parser.next_point(&mut scratch).is_some() {}
    assert_eq!(
        capacities,
        (scratch.tags.capacity(), scratch.fields.capacity())
    );
}

mod round_trip {
    use super::super::*;
    use proptest::prelude::*;

    /// A raw (unescaped) point, as storage would hold it.
    #[derive(Debug, Clone)]
    pub struct RawPoint {
        pub measurement: Vec<u8>,
        pub tags: Vec<(Vec<u8>, Vec<u8>)>,
        pub fields: Vec<(Vec<u8>, RawValue)>,
        pub timestamp_ns: i64,
    }

    #[derive(Debug, Clone, PartialEq)]
    pub enum RawValue {
        Float(f64),
        Integer(i64),
        Unsigned(u64),
        Boolean(bool),
        String(Vec<u8>),
    }

    /// Names: any bytes except `\n`, not ending in a backslash; the first byte also avoids
    /// what line protocol cannot express at a line or field start (whitespace, NUL, `#`).
    fn name() -> impl Strategy<Value = Vec<u8>> {
        let byte = prop_oneof![
            4 => prop::sample::select(b"abcxyz019_-.".to_vec()),
            2 => prop::sample::select(b" ,=\"\\#\t\r\0'".to_vec()),
            1 => any::<u8>().prop_filter("no newline", |byte| *byte != b'\n'),
        ];
        (
            prop::sample::select(b"abcXYZ_\"=,\\ ".to_vec()),
            prop::collection::vec(byte, 0..8),
        )
            .prop_map(|(first, rest)| {
                let mut name = vec![first];
                name.extend(rest);
                if name.last() == Some(&b'\\') {
                    name.push(b'x');
                }
                name
            })
    }

    /// Field keys are scanned with backslash pairs, so InfluxDB cannot express a key with a
    /// backslash right before `,`, `=` or a space (`a\\ ` ends the field section).
    fn field_key() -> impl Strategy<Value = Vec<u8>> {
        name().prop_map(|mut key| {
            for index in 1..key.len() {
                if key[index - 1] == b'\\' && matches!(key[index], b',' | b'=' | b' ') {
                    key[index - 1] = b'x';
                }
            }
            key
        })
    }

    /// A measurement is escaped for `,` and space only but unescapes `\\=` and `\\"` too, so
    /// (in InfluxDB as here) a raw measurement with a backslash before `=` or `"` is lost.
    fn measurement() -> impl Strategy<Value = Vec<u8>> {
        name().prop_map(|mut key| {
            for index in 1..key.len() {
                if key[index - 1] == b'\\' && matches!(key[index], b'=' | b'"') {
                    key[index - 1] = b'x';
                }
            }
            key
        })
    }

    fn value() -> impl Strategy<Value = RawValue> {
        prop_oneof![
            any::<f64>()
                .prop_filter("finite", |v| v.is_finite())
                .prop_map(RawValue::Float),
            any::<i64>().prop_map(RawValue::Integer),
            any::<u64>().prop_map(RawValue::Unsigned),
            any::<bool>().prop_map(RawValue::Boolean),
            prop::collection::vec(any::<u8>(), 0..12).prop_map(RawValue::String),
            ".*".prop_map(|text: String| RawValue::String(text.into_bytes())),
        ]
    }

    fn point() -> impl Strategy<Value = RawPoint> {
        (
            measurement(),
            // Tag keys and values have the same gap as field keys (a backslash right before
            // `,`, `=` or a space is read back as an escaped backslash plus a separator).
            prop::collection::btree_map(field_key(), field_key(), 0..4),
            prop::collection::vec((field_key(), value()), 1..5),
            scan::TIME_MIN_NS..=scan::TIME_MAX_NS,
        )
            .prop_map(|(measurement, tags, fields, timestamp_ns)| RawPoint {
                measurement,
                tags: tags.into_iter().collect(),
                fields,
                timestamp_ns,
            })
    }

    fn raw_value(value: FieldValue<'_>) -> RawValue {
        match value {
            FieldValue::Float(value) => RawValue::Float(value),
            FieldValue::Integer(value) => RawValue::Integer(value),
            FieldValue::Unsigned(value) => RawValue::Unsigned(value),
            FieldValue::Boolean(value) => RawValue::Boolean(value),
            FieldValue::String(escaped) => {
                let mut raw = Vec::new();
                unescape_into(escaped, EscapeKind::StringFieldValue, &mut raw);
                RawValue::String(raw)
            }
        }
    }

    /// Formats a raw point as line protocol (tags in any order: the parser sorts).
    pub fn format(point: &RawPoint, out: &mut Vec<u8>) {
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
                    RawValue::Float(value) => FormatValue::Float(*value),
                    RawValue::Integer(value) => FormatValue::Integer(*value),
                    RawValue::Unsigned(value) => FormatValue::Unsigned(*value),
                    RawValue::Boolean(value) => FormatValue::Boolean(*value),
                    RawValue::String(value) => FormatValue::String(value),
                },
            })
            .collect();
        append_line(&key, &fields, point.timestamp_ns, out);
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(2000))]
        #[test]
        fn format_then_parse_gives_the_same_point(point in point()) {
            let mut line = Vec::new();
            format(&point, &mut line);
            let mut parser =
                Parser::new(&line, Precision::Nanosecond, 0).accept_unsigned(true);
            let mut scratch = Scratch::default();
            let parsed = parser.next_point(&mut scratch);
            let parsed = match parsed {
                Some(Ok(parsed)) => parsed,
                other => {
                    return Err(TestCaseError::fail(format!(
                        "{:?} gave {:?}", String::from_utf8_lossy(&line), other
                    )))
                }
            };
            let mut measurement = Vec::new();
            unescape_into(parsed.measurement, EscapeKind::Measurement, &mut measurement);
            prop_assert_eq!(&measurement, &point.measurement);
            let tags: Vec<(Vec<u8>, Vec<u8>)> = parsed
                .tags
                .iter()
                .map(|tag| {
                    let (mut key, mut value) = (Vec::new(), Vec::new());
                    unescape_into(tag.key, EscapeKind::TagKey, &mut key);
                    unescape_into(tag.value, EscapeKind::TagValue, &mut value);
                    (key, value)
                })
                .collect();
            let mut expected_tags = point.tags.clone();
            expected_tags.sort_by(|left, right| {
                let (mut a, mut b) = (Vec::new(), Vec::new());
                escape_into(&left.0, EscapeKind::TagKey, &mut a);
                escape_into(&right.0, EscapeKind::TagKey, &mut b);
                a.cmp(&b)
            });
            prop_assert_eq!(tags, expected_tags);
            let fields: Vec<(Vec<u8>, RawValue)> = parsed
                .fields
                .iter()
                .map(|field| {
                    let mut key = Vec::new();
                    unescape_into(field.key, EscapeKind::FieldKey, &mut key);
                    (key, raw_value(field.value))
                })
                .collect();
            prop_assert_eq!(fields, point.fields.clone());
            prop_assert_eq!(parsed.timestamp_ns, point.timestamp_ns);
            prop_assert!(parser.next_point(&mut scratch).is_none());
        }
    }
}
