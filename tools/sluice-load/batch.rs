//! Line-protocol and Graphite batch generation.
//!
//! Owns: the series space, the field values, the timestamp schedule and the rendering of one
//! request body (or Graphite write) per batch index.
//!
//! The schedule: line `g = batch_index * batch_lines + i` of the whole run belongs to series
//! `g % series` and to round `g / series`; with explicit timestamps its timestamp is
//! `BASE_TIME + round * interval`. So each batch covers a contiguous (wrapping) slice of the
//! series space, every series gets a new timestamp each time it comes round, and since every
//! `g` is used once (batch indexes are handed out once by the runner) no two lines of a run
//! share series and timestamp: nothing is overwritten and every accepted line must be stored.
//!
//! Speed: series keys are rendered once, and the field text of each series is rendered for
//! [`ROUNDS_MAX`] rounds at most (within [`FIELD_TABLE_BYTES_MAX`]) and reused cyclically, so a
//! batch is built by copying slices plus one integer-to-text per round change. The values of a
//! random walk therefore jump back to their start every `rounds` rounds; that is a property of
//! the workload, identical for every server it is pointed at.
//!
//! Graphite (`render_graphite`) follows the same schedule row by row, but writes one plaintext
//! line per field: `<measurement>.host<s>.f<k> <value> <unix seconds>`, with the round's
//! timestamp in whole seconds (`BASE_TIME_NS / 1e9 + round * interval_s`). Since the metric path
//! names series and field, no two Graphite lines of a run share path and timestamp either.

use crate::args::{FloatValues, Options, Protocol, TimestampMode};

/// First explicit timestamp of a run: 2020-09-13T12:26:40Z, in nanoseconds.
pub const BASE_TIME_NS: u64 = 1_600_000_000_000_000_000;
/// Most rounds of field text rendered per series.
pub const ROUNDS_MAX: u64 = 16;
/// Memory budget for the pre-rendered field text of all series and rounds.
pub const FIELD_TABLE_BYTES_MAX: usize = 64 * 1024 * 1024;
/// Distinct values of the `region` tag.
pub const REGION_COUNT: u64 = 16;
/// Distinct values of each extra tag `t2`, `t3`, ...
pub const EXTRA_TAG_VALUE_COUNT: u64 = 64;
/// Largest step of a random walk per round, either way.
const RANDOM_WALK_STEP_MAX: f64 = 1.0;
/// Random values and random-walk starting points lie in `[0, VALUE_SPAN)`.
const VALUE_SPAN: f64 = 100.0;
/// Nanoseconds in a second (Graphite timestamps are whole seconds).
const NANOS_PER_SECOND: u64 = 1_000_000_000;

/// A small, fast, seedable generator (SplitMix64); quality is ample for test data.
#[derive(Clone, Debug)]
pub struct SplitMix64 {
    state: u64,
}

impl SplitMix64 {
    /// A generator for `seed`.
    pub fn new(seed: u64) -> SplitMix64 {
        SplitMix64 { state: seed }
    }

    /// The next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        self.state = self.state.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.state;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in `[0, 1)`.
    pub fn next_unit(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }
}

/// Renders request bodies for batch indexes; shared read-only by all connection threads.
pub struct BatchGenerator {
    series: u64,
    batch_lines: u64,
    rounds: u64,
    /// Explicit timestamps: (base, interval), both in precision units.
    timestamp_schedule: Option<(u64, u64)>,
    /// All series keys back to back; key `s` is `keys[key_ends[s-1]..key_ends[s]]`.
    keys: Vec<u8>,
    key_ends: Vec<usize>,
    /// Field text of series `s` in round `r` is entry `s * rounds + r`.
    field_texts: Vec<u8>,
    field_text_ends: Vec<usize>,
    /// Graphite only: `<measurement>.host<s>.` of every series, back to back.
    graphite_prefixes: Vec<u8>,
    graphite_prefix_ends: Vec<usize>,
    /// Graphite explicit timestamps: (base, interval) in seconds.
    graphite_schedule: Option<(u64, u64)>,
}

impl BatchGenerator {
    /// Builds the series keys and field tables for `options` (already validated).
    pub fn new(options: &Options) -> BatchGenerator {
        let series = options.series;
        let (keys, key_ends) = render_keys(options);
        let mut random = SplitMix64::new(options.seed);
        let mut walk: Vec<f64> = (0..u64::from(options.fields) * series)
            .map(|_| random.next_unit() * VALUE_SPAN)
            .collect();
        let mut rounds_text: Vec<(Vec<u8>, Vec<usize>)> = Vec::new();
        let mut round_bytes_total = 0usize;
        let rounds_wanted = match options.float_values {
            FloatValues::Constant => 1,
            FloatValues::Random | FloatValues::RandomWalk => ROUNDS_MAX,
        };
        while (rounds_text.len() as u64) < rounds_wanted {
            let round = render_round(options, &mut random, &mut walk);
            round_bytes_total += round.0.len();
            rounds_text.push(round);
            let per_round = round_bytes_total / rounds_text.len();
            if round_bytes_total + per_round > FIELD_TABLE_BYTES_MAX {
                break;
            }
        }
        let rounds = rounds_text.len() as u64;
        // Interleave to series-major order so one series' rounds sit together.
        let mut field_texts = Vec::with_capacity(round_bytes_total);
        let mut field_text_ends = Vec::with_capacity((series * rounds) as usize);
        for series_index in 0..series as usize {
            for (text, ends) in &rounds_text {
                let start = if series_index == 0 {
                    0
                } else {
                    ends[series_index - 1]
                };
                field_texts.extend_from_slice(&text[start..ends[series_index]]);
                field_text_ends.push(field_texts.len());
            }
        }
        let timestamp_schedule = match options.timestamps {
            TimestampMode::Server => None,
            TimestampMode::Explicit => {
                let unit_ns = options.precision.unit_ns();
                let interval_ns = u64::try_from(options.interval.as_nanos()).unwrap_or(u64::MAX);
                Some((BASE_TIME_NS / unit_ns, (interval_ns / unit_ns).max(1)))
            }
        };
        let (graphite_prefixes, graphite_prefix_ends) = match options.protocol {
            Protocol::GraphiteTcp => render_graphite_prefixes(options),
            Protocol::Http | Protocol::Udp => (Vec::new(), Vec::new()),
        };
        let graphite_schedule = match options.timestamps {
            TimestampMode::Server => None,
            TimestampMode::Explicit => {
                let interval_ns = u64::try_from(options.interval.as_nanos()).unwrap_or(u64::MAX);
                Some((
                    BASE_TIME_NS / NANOS_PER_SECOND,
                    (interval_ns / NANOS_PER_SECOND).max(1),
                ))
            }
        };
        BatchGenerator {
            series,
            batch_lines: options.batch_lines,
            rounds,
            timestamp_schedule,
            keys,
            key_ends,
            field_texts,
            field_text_ends,
            graphite_prefixes,
            graphite_prefix_ends,
            graphite_schedule,
        }
    }

    /// Lines in every batch.
    pub fn batch_lines(&self) -> u64 {
        self.batch_lines
    }

    /// Rounds of field text kept per series.
    pub fn rounds(&self) -> u64 {
        self.rounds
    }

    fn slice<'a>(bytes: &'a [u8], ends: &[usize], index: usize) -> &'a [u8] {
        let start = if index == 0 { 0 } else { ends[index - 1] };
        &bytes[start..ends[index]]
    }

    /// Replaces `out` with the body of batch `batch_index`.
    pub fn render(&self, batch_index: u64, out: &mut Vec<u8>) {
        out.clear();
        let first_line = batch_index.saturating_mul(self.batch_lines);
        let mut series_index = first_line % self.series;
        let mut round = first_line / self.series;
        let mut timestamp_text = TimestampText::default();
        if let Some((base, interval)) = self.timestamp_schedule {
            timestamp_text.set(base.saturating_add(round.saturating_mul(interval)));
        }
        for _ in 0..self.batch_lines {
            let series_slot = series_index as usize;
            out.extend_from_slice(Self::slice(&self.keys, &self.key_ends, series_slot));
            out.push(b' ');
            let field_slot = series_slot * self.rounds as usize + (round % self.rounds) as usize;
            out.extend_from_slice(Self::slice(
                &self.field_texts,
                &self.field_text_ends,
                field_slot,
            ));
            if self.timestamp_schedule.is_some() {
                out.push(b' ');
                out.extend_from_slice(timestamp_text.as_bytes());
            }
            out.push(b'\n');
            series_index += 1;
            if series_index == self.series {
                series_index = 0;
                round += 1;
                if let Some((base, interval)) = self.timestamp_schedule {
                    timestamp_text.set(base.saturating_add(round.saturating_mul(interval)));
                }
            }
        }
    }
}

impl BatchGenerator {
    /// Replaces `out` with batch `batch_index` as Graphite plaintext: one line per value.
    /// Needs a generator built for `--protocol graphite-tcp` (else `out` stays empty).
    pub fn render_graphite(&self, batch_index: u64, out: &mut Vec<u8>) {
        out.clear();
        if self.graphite_prefix_ends.len() as u64 != self.series {
            return;
        }
        let first_line = batch_index.saturating_mul(self.batch_lines);
        let mut series_index = first_line % self.series;
        let mut round = first_line / self.series;
        let mut timestamp_text = TimestampText::default();
        if let Some((base, interval)) = self.graphite_schedule {
            timestamp_text.set(base.saturating_add(round.saturating_mul(interval)));
        }
        for _ in 0..self.batch_lines {
            let series_slot = series_index as usize;
            let prefix = Self::slice(
                &self.graphite_prefixes,
                &self.graphite_prefix_ends,
                series_slot,
            );
            let field_slot = series_slot * self.rounds as usize + (round % self.rounds) as usize;
            let fields = Self::slice(&self.field_texts, &self.field_text_ends, field_slot);
            // Field text is `f0=v0,f1=v1,...`; names and values hold neither ',' nor '='.
            for field in fields.split(|&byte| byte == b',') {
                let split_at = field.iter().position(|&byte| byte == b'=');
                let (name, value) = match split_at {
                    Some(at) => (&field[..at], &field[at + 1..]),
                    None => continue,
                };
                out.extend_from_slice(prefix);
                out.extend_from_slice(name);
                out.push(b' ');
                out.extend_from_slice(value);
                if self.graphite_schedule.is_some() {
                    out.push(b' ');
                    out.extend_from_slice(timestamp_text.as_bytes());
                }
                out.push(b'\n');
            }
            series_index += 1;
            if series_index == self.series {
                series_index = 0;
                round += 1;
                if let Some((base, interval)) = self.graphite_schedule {
                    timestamp_text.set(base.saturating_add(round.saturating_mul(interval)));
                }
            }
        }
    }
}

/// Graphite metric path prefixes `<measurement>.host<s>.`, one per series.
fn render_graphite_prefixes(options: &Options) -> (Vec<u8>, Vec<usize>) {
    // A Graphite path ends at the first space; keep the measurement free of them.
    let measurement = options.measurement.replace(' ', "_");
    let mut prefixes = Vec::new();
    let mut ends = Vec::with_capacity(options.series as usize);
    for series_index in 0..options.series {
        prefixes.extend_from_slice(format!("{measurement}.host{series_index}.").as_bytes());
        ends.push(prefixes.len());
    }
    (prefixes, ends)
}

/// Decimal text of a timestamp, rendered without allocating.
#[derive(Default)]
struct TimestampText {
    digits: [u8; 20],
    start: usize,
}

impl TimestampText {
    fn set(&mut self, mut value: u64) {
        let mut position = self.digits.len();
        loop {
            position -= 1;
            self.digits[position] = b'0' + (value % 10) as u8;
            value /= 10;
            if value == 0 {
                break;
            }
        }
        self.start = position;
    }

    fn as_bytes(&self) -> &[u8] {
        &self.digits[self.start..]
    }
}

/// Escapes a measurement name for line protocol (commas and spaces).
fn escape_measurement(name: &str) -> String {
    name.replace(',', "\\,").replace(' ', "\\ ")
}

fn render_keys(options: &Options) -> (Vec<u8>, Vec<usize>) {
    let measurement = escape_measurement(&options.measurement);
    let mut keys = Vec::new();
    let mut key_ends = Vec::with_capacity(options.series as usize);
    for series_index in 0..options.series {
        keys.extend_from_slice(measurement.as_bytes());
        for tag in 0..options.tags_per_series {
            let tag_text = match tag {
                0 => format!(",host=host{series_index}"),
                1 => format!(",region=r{}", series_index % REGION_COUNT),
                _ => format!(",t{tag}=v{}", series_index % EXTRA_TAG_VALUE_COUNT),
            };
            keys.extend_from_slice(tag_text.as_bytes());
        }
        key_ends.push(keys.len());
    }
    (keys, key_ends)
}

/// Renders one round of field text for every series, advancing random walks.
fn render_round(
    options: &Options,
    random: &mut SplitMix64,
    walk: &mut [f64],
) -> (Vec<u8>, Vec<usize>) {
    use std::io::Write;
    let mut text = Vec::new();
    let mut ends = Vec::with_capacity(options.series as usize);
    let fields = options.fields as usize;
    for series_walk in walk.chunks_mut(fields.max(1)) {
        for (field, value) in series_walk.iter_mut().enumerate() {
            if field > 0 {
                text.push(b',');
            }
            // Writing to a Vec cannot fail.
            let _ = match options.float_values {
                FloatValues::Constant => write!(text, "f{field}=1"),
                FloatValues::Random => write!(text, "f{field}={}", random.next_unit() * VALUE_SPAN),
                FloatValues::RandomWalk => {
                    let current = *value;
                    *value += (random.next_unit() * 2.0 - 1.0) * RANDOM_WALK_STEP_MAX;
                    write!(text, "f{field}={current:.2}")
                }
            };
        }
        ends.push(text.len());
    }
    (text, ends)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::args::{parse_args, Precision};
    use std::collections::{HashMap, HashSet};

    fn options(extra: &[&str]) -> Options {
        parse_args(extra.iter().copied()).unwrap()
    }

    /// Splits a body into (series key, field text, timestamp) triples.
    fn lines(body: &[u8]) -> Vec<(String, String, Option<u64>)> {
        let text = std::str::from_utf8(body).unwrap();
        assert!(text.ends_with('\n'));
        text.lines()
            .map(|line| {
                let mut parts = line.split(' ');
                let key = parts.next().unwrap().to_string();
                let fields = parts.next().unwrap().to_string();
                let timestamp = parts.next().map(|t| t.parse().unwrap());
                assert!(parts.next().is_none());
                (key, fields, timestamp)
            })
            .collect()
    }

    #[test]
    fn no_two_lines_share_series_and_timestamp_and_each_round_advances() {
        // Batches that do not divide the series count, smaller and larger than it.
        for (series, batch) in [(7u64, 3u64), (5, 12), (10, 10), (1, 4)] {
            let opts = options(&[
                "--series",
                &series.to_string(),
                "--batch-lines",
                &batch.to_string(),
                "--interval",
                "10s",
                "--precision",
                "s",
            ]);
            let generator = BatchGenerator::new(&opts);
            let mut seen = HashSet::new();
            let mut per_series: HashMap<String, Vec<u64>> = HashMap::new();
            let mut body = Vec::new();
            for batch_index in 0..20 {
                generator.render(batch_index, &mut body);
                let batch_lines = lines(&body);
                assert_eq!(batch_lines.len() as u64, batch);
                for (key, _, timestamp) in batch_lines {
                    let timestamp = timestamp.unwrap();
                    assert!(
                        seen.insert((key.clone(), timestamp)),
                        "duplicate {key} {timestamp}"
                    );
                    per_series.entry(key).or_default().push(timestamp);
                }
            }
            assert_eq!(per_series.len() as u64, series.min(20 * batch));
            for timestamps in per_series.values() {
                assert_eq!(timestamps[0], BASE_TIME_NS / 1_000_000_000);
                for pair in timestamps.windows(2) {
                    assert_eq!(pair[1], pair[0] + 10, "each round advances by the interval");
                }
            }
        }
    }

    #[test]
    fn a_batch_is_a_contiguous_slice_of_the_series_space() {
        let generator = BatchGenerator::new(&options(&["--series", "10", "--batch-lines", "4"]));
        let mut body = Vec::new();
        generator.render(2, &mut body); // lines 8..12: series 8, 9, 0, 1
        let keys: Vec<String> = lines(&body).into_iter().map(|l| l.0).collect();
        assert_eq!(
            keys,
            [
                "m,host=host8,region=r8",
                "m,host=host9,region=r9",
                "m,host=host0,region=r0",
                "m,host=host1,region=r1"
            ]
        );
        let timestamps: Vec<u64> = lines(&body).into_iter().map(|l| l.2.unwrap()).collect();
        let round = 10_000_000_000;
        assert_eq!(
            timestamps,
            [
                BASE_TIME_NS,
                BASE_TIME_NS,
                BASE_TIME_NS + round,
                BASE_TIME_NS + round
            ]
        );
    }

    #[test]
    fn line_shape_tags_fields_and_server_timestamps() {
        let opts = options(&[
            "--series",
            "3",
            "--fields",
            "3",
            "--tags-per-series",
            "3",
            "--measurement",
            "a b",
            "--timestamps",
            "server",
            "--float-values",
            "constant",
        ]);
        let generator = BatchGenerator::new(&opts);
        assert_eq!(generator.rounds(), 1);
        let mut body = Vec::new();
        generator.render(0, &mut body);
        let text = String::from_utf8(body).unwrap();
        assert!(
            text.starts_with("a\\ b,host=host0,region=r0,t2=v0 f0=1,f1=1,f2=1\n"),
            "{text}"
        );
    }

    #[test]
    fn values_are_floats_and_walks_are_seeded() {
        let opts = options(&["--series", "2", "--fields", "2", "--batch-lines", "2"]);
        let (a, b) = (BatchGenerator::new(&opts), BatchGenerator::new(&opts));
        let (mut body_a, mut body_b) = (Vec::new(), Vec::new());
        for batch_index in 0..40 {
            a.render(batch_index, &mut body_a);
            b.render(batch_index, &mut body_b);
            assert_eq!(body_a, body_b, "same seed, same data");
            for (_, fields, _) in lines(&body_a) {
                for field in fields.split(',') {
                    let value: f64 = field.split_once('=').unwrap().1.parse().unwrap();
                    assert!(value.is_finite());
                }
            }
        }
        let other =
            BatchGenerator::new(&options(&["--series", "2", "--fields", "2", "--seed", "9"]));
        other.render(0, &mut body_b);
        a.render(0, &mut body_a);
        assert_ne!(body_a, body_b);
    }

    #[test]
    fn precision_scales_base_and_interval() {
        let mut opts = options(&["--series", "1", "--batch-lines", "2", "--interval", "1s"]);
        opts.precision = Precision::Milliseconds;
        let generator = BatchGenerator::new(&opts);
        let mut body = Vec::new();
        generator.render(0, &mut body);
        let timestamps: Vec<u64> = lines(&body).into_iter().map(|l| l.2.unwrap()).collect();
        assert_eq!(
            timestamps,
            [BASE_TIME_NS / 1_000_000, BASE_TIME_NS / 1_000_000 + 1000]
        );
    }

    #[test]
    fn graphite_lines_are_unique_per_path_and_time_and_match_the_line_protocol_values() {
        for (series, batch) in [(7u64, 3u64), (5, 12), (10, 10), (1, 4)] {
            let (series_text, batch_text) = (series.to_string(), batch.to_string());
            let args = [
                "--series",
                series_text.as_str(),
                "--batch-lines",
                batch_text.as_str(),
                "--fields",
                "3",
                "--interval",
                "10s",
            ];
            let http = BatchGenerator::new(&options(&args));
            let mut graphite_args = args.to_vec();
            graphite_args.extend(["--protocol", "graphite-tcp"]);
            let graphite = BatchGenerator::new(&options(&graphite_args));
            let (mut seen, mut body, mut lp_body) = (HashSet::new(), Vec::new(), Vec::new());
            let mut per_path: HashMap<String, Vec<u64>> = HashMap::new();
            for batch_index in 0..20 {
                graphite.render_graphite(batch_index, &mut body);
                http.render(batch_index, &mut lp_body);
                let text = String::from_utf8(body.clone()).unwrap();
                assert!(text.ends_with('\n'));
                let graphite_lines: Vec<&str> = text.lines().collect();
                assert_eq!(graphite_lines.len() as u64, batch * 3);
                // The same values as the line-protocol body, in the same order.
                let lp_values: Vec<String> = lines(&lp_body)
                    .into_iter()
                    .flat_map(|(_, fields, _)| {
                        let pairs: Vec<String> = fields
                            .split(',')
                            .map(|f| f.split_once('=').unwrap().1.to_string())
                            .collect();
                        pairs
                    })
                    .collect();
                for (line, lp_value) in graphite_lines.iter().zip(&lp_values) {
                    let parts: Vec<&str> = line.split(' ').collect();
                    assert_eq!(parts.len(), 3, "{line}");
                    assert!(parts[0].starts_with("m.host"), "{line}");
                    assert_eq!(parts[1], lp_value);
                    let timestamp: u64 = parts[2].parse().unwrap();
                    assert!(seen.insert((parts[0].to_string(), timestamp)), "dup {line}");
                    per_path
                        .entry(parts[0].to_string())
                        .or_default()
                        .push(timestamp);
                }
            }
            assert_eq!(per_path.len() as u64, series.min(20 * batch) * 3);
            for timestamps in per_path.values() {
                assert_eq!(timestamps[0], BASE_TIME_NS / 1_000_000_000);
                for pair in timestamps.windows(2) {
                    assert_eq!(pair[1], pair[0] + 10, "each round advances by the interval");
                }
            }
        }
    }

    #[test]
    fn graphite_shape_and_server_timestamps() {
        let opts = options(&[
            "--protocol",
            "graphite-tcp",
            "--series",
            "2",
            "--fields",
            "2",
            "--batch-lines",
            "3",
            "--float-values",
            "constant",
            "--measurement",
            "a b",
        ]);
        let mut body = Vec::new();
        BatchGenerator::new(&opts).render_graphite(0, &mut body);
        assert_eq!(
            String::from_utf8(body).unwrap(),
            "a_b.host0.f0 1 1600000000\na_b.host0.f1 1 1600000000\n\
             a_b.host1.f0 1 1600000000\na_b.host1.f1 1 1600000000\n\
             a_b.host0.f0 1 1600000010\na_b.host0.f1 1 1600000010\n"
        );
        let mut opts = opts;
        opts.timestamps = TimestampMode::Server;
        let mut body = Vec::new();
        BatchGenerator::new(&opts).render_graphite(0, &mut body);
        assert!(String::from_utf8(body)
            .unwrap()
            .starts_with("a_b.host0.f0 1\na_b.host0.f1 1\n"));
        // A generator built for http renders no Graphite.
        opts.protocol = Protocol::Http;
        let mut body = b"stale".to_vec();
        BatchGenerator::new(&opts).render_graphite(0, &mut body);
        assert!(body.is_empty());
    }

    #[test]
    fn timestamp_text() {
        let mut text = TimestampText::default();
        for value in [0, 7, 10, 1_600_000_000_000_000_000, u64::MAX] {
            text.set(value);
            assert_eq!(text.as_bytes(), value.to_string().as_bytes());
        }
    }
}
