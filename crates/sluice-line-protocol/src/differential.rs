//! Differential tests: the fast scanner against [`super::reference`], the original one.
//!
//! Three sources of input: a proptest grammar of line pieces rich in the bytes the grammar
//! cares about, a randomized mutation of realistic lines (deterministic xorshift, so failures
//! reproduce), and hand-picked edge cases around the fast paths (15/16-digit numbers,
//! 19/20-digit timestamps, chunk boundaries of the 16-byte search).

use super::reference::differences;
use proptest::prelude::*;

fn assert_same(body: &[u8]) {
    if let Some(difference) = differences(body) {
        panic!("BUG: fast and reference parsers differ: {difference}");
    }
}

/// Lines shaped like real writes, used as mutation seeds.
const SEED_LINES: &[&str] = &[
    concat!(
        "cpu,cpu=cpu3,host=server003,region=us-west-2 usage_user=12.34,",
        "usage_system=4.1133333333333335,usage_idle=87.66000000000001,",
        "usage_iowait=0.0501,usage_irq=0,usage_softirq=0.1,usage_steal=0,",
        "usage_guest=0 1700000000000000000",
    ),
    concat!(
        "mem,host=server002,region=us-west-2 active=8192i,available=16384i,",
        "available_percent=55.02,buffered=1234567i,cached=200i,free=666i,",
        "total=17179869184i,used=1554i,used_percent=27.51 1700000020000000000",
    ),
    concat!(
        "disk,device=nvme0n1p1,fstype=ext4,host=server003,mode=rw,",
        "path=/data free=3000009i,inodes_free=3000000i,used_percent=1.5,",
        "label=\"disk \\\"3\\\"\" 1700000030000000000",
    ),
    "weather,location=us\\ midwest,season=summer temperature=82,humidity=71.5 1465839830100400200",
    concat!(
        "c\\,p\\ u,t\\=k=v\\ al\\,ue s=\"a\\\\b\\\"c\",b=t,B=FALSE,",
        "u=18446744073709551615u,i=-9223372036854775808i",
    ),
    "cpu v=1e5,w=-1.5E-3,x=.5,y=-.5,z=1.,n=-0 -1",
    "cpu v=\"multi\nline\" 12",
    "  # comment\n\ncpu v=1 1 \r\ncpu v=2\r\n",
    "m,b=2,a=1,c=3 f=123456789012345678,g=1234567890123456i,h=0.000000000000000000001",
];

/// Bytes mutations insert: the grammar's special bytes, digits and a few letters.
const MUTATION_BYTES: &[u8] = b" ,=\\\"\n\r\t\0#-.+eEiIuNntTfF0123456789a";

/// xorshift64: deterministic and dependency-free.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    fn below(&mut self, bound: usize) -> usize {
        (self.next() % bound.max(1) as u64) as usize
    }
}

fn mutate(rng: &mut Rng, line: &mut Vec<u8>) {
    let mutations = 1 + rng.below(4);
    for _ in 0..mutations {
        let at = rng.below(line.len() + 1);
        let byte = MUTATION_BYTES[rng.below(MUTATION_BYTES.len())];
        match rng.below(5) {
            0 => line.insert(at, byte),
            1 if at < line.len() => {
                line.remove(at);
            }
            2 if at < line.len() => line[at] = byte,
            3 if at < line.len() => {
                // duplicate a span: repeats tags, fields, digits
                let end = (at + 1 + rng.below(12)).min(line.len());
                let span = line[at..end].to_vec();
                line.splice(at..at, span);
            }
            _ => line.push(byte),
        }
    }
}

#[test]
fn mutated_realistic_lines_parse_the_same() {
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
    for _ in 0..20_000 {
        let mut body = Vec::new();
        for _ in 0..1 + rng.below(3) {
            let mut line = SEED_LINES[rng.below(SEED_LINES.len())].as_bytes().to_vec();
            mutate(&mut rng, &mut line);
            body.extend_from_slice(&line);
            body.push(b'\n');
        }
        if rng.below(2) == 0 {
            body.pop();
        }
        assert_same(&body);
    }
}

#[test]
fn seed_lines_parse_the_same() {
    for line in SEED_LINES {
        assert_same(line.as_bytes());
    }
    assert_same(SEED_LINES.join("\n").as_bytes());
}

#[test]
fn number_and_timestamp_edges_parse_the_same() {
    let values = [
        "123456789012345",
        "1234567890123456",
        "12345678901234567890",
        "0.00000000000000012",
        "99999999999999999999999",
        "123456789012345i",
        "1234567890123456i",
        "9223372036854775807i",
        "9223372036854775808i",
        "-9223372036854775808i",
        "1.7976931348623157",
        "4.9e-324",
        "0.1234567890123456789",
        "-0.0",
        "1.5.5",
        "1..",
        "-",
        "-.",
        "1-",
        "12a",
    ];
    let timestamps = [
        "",
        "0",
        "1",
        "-1",
        "12345678",
        "1234567890123456789",
        "9223372036854775806",
        "9223372036854775807",
        "9223372036854775808",
        "12345678901234567890",
        "-9223372036854775808",
        "1234567a",
        "12345678a",
        "123456789012345678 ",
        "1 2",
        "12:",
        "1234567/",
        "00000000000000000001",
    ];
    // 1.7976931348623157e308 written out, and ten times that (out of range).
    let largest = format!("17976931348623157{}", "0".repeat(292));
    let too_large = format!("{largest}0");
    let values = values
        .iter()
        .map(|value| value.to_string())
        .chain([largest, too_large]);
    for value in values {
        for timestamp in timestamps {
            assert_same(format!("cpu v={value} {timestamp}").as_bytes());
            assert_same(format!("cpu v={value},w={value}i {timestamp}").as_bytes());
        }
    }
}

#[test]
fn every_chunk_boundary_parses_the_same() {
    for padding in 0..40 {
        let name = "m".repeat(padding);
        for template in [
            "{n},t{n}=v{n} f{n}=1,g=\"{n}\\\"\" 5",
            "{n}\\ x,t=v\\,{n} f=\"a\n{n}\",g=2i",
            "{n} f=\"{n}",
            "{n} f=1,{n}=2 3",
        ] {
            assert_same(template.replace("{n}", &name).as_bytes());
        }
    }
}

#[test]
fn quoted_and_escaped_edges_parse_the_same() {
    let lines = [
        "\\ a=0",
        "\" a=0",
        "c\\ a=0",
        "c,t=\\ a=0",
        "c,t=\"v a=0",
        "c,\\t=v a=0",
        "c s=\"\"",
        "c s=\"a\"x",
        "c s=\"a\"\"b\"",
        "c s=\"a\\\"",
        "c s=\"a\\",
        "c s=\"a\\\\\"",
        "c s=\"a\nb\"",
        "c s=\"a\\\nb\"",
        "c s=\"a,b c=d\",t=1i 5",
        "c s=\"a\" 5 ",
        " c s=\"a\"",
        "\tc s=\"a\"",
        "# c s=\"a\nb\"\nc v=1",
        "c s=\"a\\\r\nb\"",
        "c s=\"a\"\r\nc v=1",
        "c v\\=1,s=\"a\"",
        "c \"v\"=1",
        "c v=\"a\",w",
        "c v=\"a\" x",
        "c v=1,s=\"=\",w=\",\"",
        "c s=\"a\\\"b\",n=1 1\nd s=\"x\"\n",
        "c s=\"\\\\\" 1",
    ];
    for line in lines {
        assert_same(line.as_bytes());
        assert_same(format!("{line}\n").as_bytes());
        assert_same(format!("{line}\nm v=2\n").as_bytes());
    }
}

/// One piece of a generated line.
pub(crate) fn piece() -> impl Strategy<Value = String> {
    prop_oneof![
        4 => "[a-z]{1,6}",
        3 => Just(" ".to_string()),
        3 => Just(",".to_string()),
        3 => Just("=".to_string()),
        2 => Just("\"".to_string()),
        2 => Just("\\".to_string()),
        1 => Just("\n".to_string()),
        1 => Just("\r".to_string()),
        1 => Just("\t".to_string()),
        1 => Just("#".to_string()),
        3 => "-?[0-9]{1,20}(\\.[0-9]{0,20})?([eE][-+]?[0-9]{1,3})?[iu]?",
        1 => "(t|T|true|True|TRUE|f|F|false|False|FALSE)",
    ]
}

/// A line with the shape of a point, its parts drawn from pieces.
pub(crate) fn shaped_line() -> impl Strategy<Value = String> {
    (
        prop::collection::vec(piece(), 1..4),
        prop::collection::vec((piece(), piece()), 0..4),
        prop::collection::vec((piece(), piece()), 1..5),
        prop::option::of("-?[0-9]{1,21}"),
    )
        .prop_map(|(measurement, tags, fields, timestamp)| {
            let mut line = measurement.concat();
            for (key, value) in tags {
                line += &format!(",{key}={value}");
            }
            line.push(' ');
            let fields: Vec<String> = fields
                .into_iter()
                .map(|(key, value)| format!("{key}={value}"))
                .collect();
            line += &fields.join(",");
            if let Some(timestamp) = timestamp {
                line += &format!(" {timestamp}");
            }
            line
        })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(3000))]

    #[test]
    fn generated_pieces_parse_the_same(pieces in prop::collection::vec(piece(), 0..40)) {
        let body = pieces.concat();
        prop_assert_eq!(differences(body.as_bytes()), None);
    }

    #[test]
    fn generated_point_shapes_parse_the_same(
        lines in prop::collection::vec(shaped_line(), 1..4)
    ) {
        let body = lines.join("\n");
        prop_assert_eq!(differences(body.as_bytes()), None);
    }

    #[test]
    fn arbitrary_bytes_parse_the_same(body in prop::collection::vec(any::<u8>(), 0..200)) {
        prop_assert_eq!(differences(&body), None);
    }
}
