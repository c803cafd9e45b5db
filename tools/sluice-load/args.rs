//! Command-line flags of `sluice-load`.
//!
//! Owns: the [`Options`] record, its defaults, and the hand-written parser that fills it.
//! Flags are `--name value` or `--name=value`; boolean flags take no value. A flag given twice
//! keeps its last value. Parsing never panics: bad input is an [`ArgsError`].
//!
//! Invariants of a parsed [`Options`] (checked by [`Options::validate`]): `series >= 1`,
//! `fields >= 1`, `batch_lines >= 1`, `connections >= 1`, the interval is a whole, non-zero
//! number of precision units (of seconds for Graphite), more than one series needs at least one
//! tag to tell them apart, and a UDP datagram limit lies in
//! `[DATAGRAM_BYTES_MIN, DATAGRAM_BYTES_MAX]`.

use crate::json::Json;
use std::fmt;
use std::time::Duration;

/// Help text printed by `--help`.
pub const USAGE: &str = "\
sluice-load: load generator for InfluxDB 1.x compatible servers

Write mode (default):
  --protocol P              http|graphite-tcp|udp      [http]
  --url URL                 server base URL (http or https, unverified) [http://127.0.0.1:8086]
  --address HOST:PORT       graphite-tcp / udp target  [127.0.0.1:2003 / 127.0.0.1:8089]
  --datagram-bytes N        udp: most bytes a datagram [1400, up to 65000]
  --db NAME                 database                   [bench]
  --rp NAME                 retention policy           [server default]
  --precision P             ns|u|ms|s|m|h              [ns]
  --series N                distinct series            [5000]
  --fields N                float fields per line      [10]
  --batch-lines N           lines per request          [5000]
  --connections N           concurrent connections     [4]
  --duration D              run time, e.g. 20s, 500ms  [20s]
  --batches N               http: stop after N batches (a fixed data set;
                            --duration still caps the run)
  --min-batches N           http: keep going past --duration until N batches
                            were sent (e.g. one round of --series, so every
                            series is written at least once)
  --rate N                  total lines/s, 0 = max     [0]
                            (graphite-tcp: rows of --fields values per second)
  --timestamps MODE         explicit|server            [explicit]
  --interval D              step per series per round  [10s]
  --gzip                    gzip request bodies
  --create-db               CREATE DATABASE first
  --username U --password P send u=U&p=P with every request (a server with auth on)
  --json PATH               write a JSON summary
  --measurement NAME        measurement                [m]
  --tags-per-series N       tags per series (>= 1)     [2]
  --float-values MODE       random-walk|random|constant [random-walk]
  --seed N                  random seed                [1]
  --timeout D               per-request timeout        [60s]
  --allow-errors            exit 0 even if requests failed
  --quiet                   no progress lines on stderr

Protocols:
  http          POST line protocol to /write; counts lines the server accepted (204).
  graphite-tcp  each connection streams `<measurement>.host<n>.f<k> <value> <unix s>` lines,
                one per value, --batch-lines rows per write; counts lines written to the
                socket (TCP back-pressure is the server's push-back).
  udp           line protocol (same series and fields as http) in datagrams of at most
                --datagram-bytes, one socket per connection; counts lines sent (UDP may drop).

Dataset mode (writes a fixed data set once; see tools/bench_storage.sh):
  --dataset KIND            hosts|series
                            hosts: --series hosts x --fields random walks, one point per
                            --interval for --span; series: --series series, one point each
  --span D                  hosts: time covered, e.g. 24h   [24h]
  --decimals N|full         hosts: round values to N decimals [full]
  --start-ns N              time of the first point (ns)  [1700000000000000000]
  --verify FILE             instead of writing, check a dump of the hosts data set
                            (- = stdin) value by value, bit-exact
  --verify-format F         lp (sluice export, influx_inspect export) |
                            vm-csv (VictoriaMetrics /api/v1/export/csv with
                            format=__name__,host,__value__,__timestamp__:unix_ns)  [lp]
  (uses --url --db --rp --create-db --series --fields --interval --batch-lines
   --connections --measurement --seed --timeout --json --allow-errors)

Query mode:
  --queries FILE            one InfluxQL query per line (empty and # lines skipped)
  --repeat N                run the query list N times in total (else until --duration)
  (uses --url --db --rp --connections --duration --json --timeout --allow-errors)
";

/// How points travel to the server.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Protocol {
    /// Line protocol POSTed to `/write`.
    Http,
    /// Graphite plaintext over TCP.
    GraphiteTcp,
    /// Line protocol in UDP datagrams.
    Udp,
}

impl Protocol {
    /// The flag spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            Protocol::Http => "http",
            Protocol::GraphiteTcp => "graphite-tcp",
            Protocol::Udp => "udp",
        }
    }

    /// Where graphite-tcp and udp send when `--address` is not given (InfluxDB's ports).
    pub fn default_address(self) -> &'static str {
        match self {
            Protocol::Http | Protocol::GraphiteTcp => "127.0.0.1:2003",
            Protocol::Udp => "127.0.0.1:8089",
        }
    }
}

/// Where timestamps come from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TimestampMode {
    /// Each line carries a timestamp; every series advances by `--interval` per round.
    Explicit,
    /// Lines carry no timestamp; the server stamps them.
    Server,
}

/// How field values are chosen.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FloatValues {
    /// Each series/field walks by a small random step per round (2 decimals).
    RandomWalk,
    /// Uniform random in [0, 100) with full precision.
    Random,
    /// Every value is the same constant.
    Constant,
}

/// Which fixed data set dataset mode writes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Dataset {
    /// Hosts × fields random walks over a time span.
    Hosts,
    /// Many distinct series, one point each.
    Series,
}

/// The format of the dump `--verify` reads.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum VerifyFormat {
    /// Line protocol (`sluice export`, `influx_inspect export`).
    LineProtocol,
    /// VictoriaMetrics' CSV export `name,host,value,time_ns`.
    VmCsv,
}

/// Timestamp precision of the write endpoint, as in `?precision=`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Precision {
    /// Nanoseconds (`ns`, also `n`).
    Nanoseconds,
    /// Microseconds (`u`, also `us`).
    Microseconds,
    /// Milliseconds (`ms`).
    Milliseconds,
    /// Seconds (`s`).
    Seconds,
    /// Minutes (`m`).
    Minutes,
    /// Hours (`h`).
    Hours,
}

impl Precision {
    /// Nanoseconds in one unit of this precision.
    pub fn unit_ns(self) -> u64 {
        match self {
            Precision::Nanoseconds => 1,
            Precision::Microseconds => 1_000,
            Precision::Milliseconds => 1_000_000,
            Precision::Seconds => 1_000_000_000,
            Precision::Minutes => 60_000_000_000,
            Precision::Hours => 3_600_000_000_000,
        }
    }

    /// The query-string spelling of this precision.
    pub fn as_str(self) -> &'static str {
        match self {
            Precision::Nanoseconds => "ns",
            Precision::Microseconds => "u",
            Precision::Milliseconds => "ms",
            Precision::Seconds => "s",
            Precision::Minutes => "m",
            Precision::Hours => "h",
        }
    }
}

/// All settings of one run.
#[derive(Clone, Debug, PartialEq)]
pub struct Options {
    /// Transport and format of the writes.
    pub protocol: Protocol,
    /// Server base URL, `http://host:port` (no path).
    pub url: String,
    /// graphite-tcp / udp target `host:port`; `None` means the protocol's default.
    pub address: Option<String>,
    /// udp: most bytes in one datagram.
    pub datagram_bytes: usize,
    /// Target database.
    pub db: String,
    /// Retention policy, if given.
    pub rp: Option<String>,
    /// Write precision.
    pub precision: Precision,
    /// Distinct series written.
    pub series: u64,
    /// Float fields per line.
    pub fields: u32,
    /// Lines per request.
    pub batch_lines: u64,
    /// Concurrent connections (one thread each).
    pub connections: u32,
    /// How long to keep issuing requests.
    pub duration: Duration,
    /// Write mode over http: send at most this many batches (indexes `0..N`), then stop.
    pub batches: Option<u64>,
    /// Write mode over http: `--duration` does not end the run before batches `0..N` were
    /// handed out (0: the duration alone decides).
    pub min_batches: u64,
    /// Total lines per second over all connections; 0 means as fast as possible.
    pub rate_lines_per_s: u64,
    /// Timestamp source.
    pub timestamps: TimestampMode,
    /// How far a series' timestamp advances each time it comes round.
    pub interval: Duration,
    /// Gzip request bodies.
    pub gzip: bool,
    /// Issue `CREATE DATABASE` before the run.
    pub create_db: bool,
    /// `--username`: sent as `u` (with `p`) on every request, for servers with auth on.
    pub username: Option<String>,
    /// `--password`: sent as `p`.
    pub password: Option<String>,
    /// Path of the JSON summary, if wanted.
    pub json_path: Option<String>,
    /// Measurement name.
    pub measurement: String,
    /// Tags per series (`host`, `region`, then `t2`, `t3`, ...).
    pub tags_per_series: u32,
    /// How field values are chosen.
    pub float_values: FloatValues,
    /// Random seed.
    pub seed: u64,
    /// Per-request socket timeout.
    pub timeout: Duration,
    /// Exit 0 even when requests failed.
    pub allow_errors: bool,
    /// Suppress the progress lines.
    pub quiet: bool,
    /// Query mode: file with one query per line.
    pub queries_path: Option<String>,
    /// Query mode: run the list this many times in total instead of for `duration`.
    pub repeat: Option<u64>,
    /// Dataset mode: which data set, if any.
    pub dataset: Option<Dataset>,
    /// Dataset mode: time covered by the hosts data set.
    pub span: Duration,
    /// Dataset mode: decimals values are rounded to; `None` is full precision.
    pub decimals: Option<u32>,
    /// Dataset mode: time of the first point, ns.
    pub start_ns: u64,
    /// Dataset mode: check this dump instead of writing.
    pub verify_path: Option<String>,
    /// Dataset mode: format of the dump.
    pub verify_format: VerifyFormat,
    /// `--help` was given.
    pub help: bool,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            protocol: Protocol::Http,
            url: "http://127.0.0.1:8086".to_string(),
            address: None,
            datagram_bytes: DATAGRAM_BYTES_DEFAULT,
            db: "bench".to_string(),
            rp: None,
            precision: Precision::Nanoseconds,
            series: 5000,
            fields: 10,
            batch_lines: 5000,
            connections: 4,
            duration: Duration::from_secs(20),
            batches: None,
            min_batches: 0,
            rate_lines_per_s: 0,
            timestamps: TimestampMode::Explicit,
            interval: Duration::from_secs(10),
            gzip: false,
            create_db: false,
            username: None,
            password: None,
            json_path: None,
            measurement: "m".to_string(),
            tags_per_series: 2,
            float_values: FloatValues::RandomWalk,
            seed: 1,
            timeout: Duration::from_secs(60),
            allow_errors: false,
            quiet: false,
            queries_path: None,
            repeat: None,
            dataset: None,
            span: Duration::from_secs(SECONDS_PER_DAY),
            decimals: None,
            start_ns: START_NS_DEFAULT,
            verify_path: None,
            verify_format: VerifyFormat::LineProtocol,
            help: false,
        }
    }
}

/// Why the command line was rejected.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ArgsError {
    /// A flag this tool does not know.
    UnknownFlag(String),
    /// A flag that needs a value came last.
    MissingValue(String),
    /// A boolean flag was given `=value`.
    UnexpectedValue(String),
    /// A positional argument (everything must be a flag).
    Positional(String),
    /// The value did not parse; carries flag, value and what was expected.
    BadValue {
        /// The flag.
        flag: String,
        /// The rejected value.
        value: String,
        /// What would have been accepted.
        expected: &'static str,
    },
    /// The flags parse but do not make sense together.
    Invalid(String),
}

impl fmt::Display for ArgsError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ArgsError::UnknownFlag(flag) => write!(f, "unknown flag {flag}"),
            ArgsError::MissingValue(flag) => write!(f, "flag {flag} needs a value"),
            ArgsError::UnexpectedValue(flag) => write!(f, "flag {flag} takes no value"),
            ArgsError::Positional(arg) => write!(f, "unexpected argument {arg:?}"),
            ArgsError::BadValue {
                flag,
                value,
                expected,
            } => {
                write!(f, "bad value {value:?} for {flag}: expected {expected}")
            }
            ArgsError::Invalid(why) => write!(f, "{why}"),
        }
    }
}

/// Most series a run may use (keys and field text are held in memory).
pub const SERIES_MAX: u64 = 10_000_000;
/// Most fields per line.
pub const FIELDS_MAX: u32 = 1_000;
/// Most lines per request.
pub const BATCH_LINES_MAX: u64 = 10_000_000;
/// Most connections (one thread each).
pub const CONNECTIONS_MAX: u32 = 1_024;
/// Most tags per series.
pub const TAGS_PER_SERIES_MAX: u32 = 64;

/// Seconds in a day (the default `--span`).
const SECONDS_PER_DAY: u64 = 86_400;
/// Default `--start-ns`: 2023-11-14T22:13:20Z.
pub const START_NS_DEFAULT: u64 = 1_700_000_000_000_000_000;

/// Default UDP datagram size limit: fits a 1500-byte Ethernet MTU with headers to spare.
pub const DATAGRAM_BYTES_DEFAULT: usize = 1400;
/// Smallest datagram limit accepted.
pub const DATAGRAM_BYTES_MIN: usize = 64;
/// Largest datagram limit accepted (InfluxDB's UDP input reads at most 64 KiB).
pub const DATAGRAM_BYTES_MAX: usize = 65_000;

/// Flags that take no value.
const BOOLEAN_FLAGS: &[&str] = &["gzip", "create-db", "allow-errors", "quiet", "help"];

/// Parses the arguments after the program name into validated [`Options`].
pub fn parse_args<I, S>(args: I) -> Result<Options, ArgsError>
where
    I: IntoIterator<Item = S>,
    S: Into<String>,
{
    let mut options = Options::default();
    let mut args = args.into_iter().map(Into::into);
    while let Some(arg) = args.next() {
        let Some(flag_body) = arg.strip_prefix("--") else {
            if arg == "-h" {
                options.help = true;
                continue;
            }
            return Err(ArgsError::Positional(arg));
        };
        let (name, inline_value) = match flag_body.split_once('=') {
            Some((name, value)) => (name.to_string(), Some(value.to_string())),
            None => (flag_body.to_string(), None),
        };
        if BOOLEAN_FLAGS.contains(&name.as_str()) {
            if inline_value.is_some() {
                return Err(ArgsError::UnexpectedValue(arg));
            }
            set_boolean(&mut options, &name);
            continue;
        }
        let value = match inline_value {
            Some(value) => value,
            None => args
                .next()
                .ok_or_else(|| ArgsError::MissingValue(arg.clone()))?,
        };
        set_valued(&mut options, &name, value)?;
    }
    if !options.help {
        options.validate()?;
    }
    Ok(options)
}

fn set_boolean(options: &mut Options, name: &str) {
    match name {
        "gzip" => options.gzip = true,
        "create-db" => options.create_db = true,
        "allow-errors" => options.allow_errors = true,
        "quiet" => options.quiet = true,
        "help" => options.help = true,
        _ => unreachable!("BUG: {name} is listed in BOOLEAN_FLAGS but not handled"),
    }
}

fn set_valued(options: &mut Options, name: &str, value: String) -> Result<(), ArgsError> {
    let flag = format!("--{name}");
    match name {
        "username" => options.username = Some(value),
        "password" => options.password = Some(value),
        "protocol" => {
            options.protocol = match value.as_str() {
                "http" => Protocol::Http,
                "graphite-tcp" => Protocol::GraphiteTcp,
                "udp" => Protocol::Udp,
                _ => return Err(bad(&flag, value, "http, graphite-tcp or udp")),
            }
        }
        "url" => options.url = value.trim_end_matches('/').to_string(),
        "address" => options.address = Some(value),
        "datagram-bytes" => {
            options.datagram_bytes = usize::try_from(parse_u64(&flag, &value)?)
                .map_err(|_| bad(&flag, value, "an integer"))?
        }
        "db" => options.db = value,
        "rp" => options.rp = Some(value),
        "precision" => options.precision = parse_precision(&flag, &value)?,
        "series" => options.series = parse_u64(&flag, &value)?,
        "fields" => options.fields = parse_u32(&flag, &value)?,
        "batch-lines" => options.batch_lines = parse_u64(&flag, &value)?,
        "connections" => options.connections = parse_u32(&flag, &value)?,
        "duration" => options.duration = parse_duration(&flag, &value)?,
        "batches" => options.batches = Some(parse_u64(&flag, &value)?),
        "min-batches" => options.min_batches = parse_u64(&flag, &value)?,
        "rate" => options.rate_lines_per_s = parse_u64(&flag, &value)?,
        "timestamps" => {
            options.timestamps = match value.as_str() {
                "explicit" => TimestampMode::Explicit,
                "server" => TimestampMode::Server,
                _ => return Err(bad(&flag, value, "explicit or server")),
            }
        }
        "interval" => options.interval = parse_duration(&flag, &value)?,
        "json" => options.json_path = Some(value),
        "measurement" => options.measurement = value,
        "tags-per-series" => options.tags_per_series = parse_u32(&flag, &value)?,
        "float-values" => {
            options.float_values = match value.as_str() {
                "random-walk" => FloatValues::RandomWalk,
                "random" => FloatValues::Random,
                "constant" => FloatValues::Constant,
                _ => return Err(bad(&flag, value, "random-walk, random or constant")),
            }
        }
        "seed" => options.seed = parse_u64(&flag, &value)?,
        "timeout" => options.timeout = parse_duration(&flag, &value)?,
        "queries" => options.queries_path = Some(value),
        "repeat" => options.repeat = Some(parse_u64(&flag, &value)?),
        "dataset" => {
            options.dataset = Some(match value.as_str() {
                "hosts" => Dataset::Hosts,
                "series" => Dataset::Series,
                _ => return Err(bad(&flag, value, "hosts or series")),
            })
        }
        "span" => options.span = parse_duration(&flag, &value)?,
        "decimals" => {
            options.decimals = match value.as_str() {
                "full" => None,
                _ => Some(parse_u32(&flag, &value)?),
            }
        }
        "start-ns" => options.start_ns = parse_u64(&flag, &value)?,
        "verify" => options.verify_path = Some(value),
        "verify-format" => {
            options.verify_format = match value.as_str() {
                "lp" => VerifyFormat::LineProtocol,
                "vm-csv" => VerifyFormat::VmCsv,
                _ => return Err(bad(&flag, value, "lp or vm-csv")),
            }
        }
        _ => return Err(ArgsError::UnknownFlag(flag)),
    }
    Ok(())
}

fn bad(flag: &str, value: String, expected: &'static str) -> ArgsError {
    ArgsError::BadValue {
        flag: flag.to_string(),
        value,
        expected,
    }
}

fn parse_u64(flag: &str, value: &str) -> Result<u64, ArgsError> {
    value
        .replace('_', "")
        .parse()
        .map_err(|_| bad(flag, value.to_string(), "an integer"))
}

fn parse_u32(flag: &str, value: &str) -> Result<u32, ArgsError> {
    value
        .replace('_', "")
        .parse()
        .map_err(|_| bad(flag, value.to_string(), "an integer"))
}

fn parse_precision(flag: &str, value: &str) -> Result<Precision, ArgsError> {
    Ok(match value {
        "ns" | "n" => Precision::Nanoseconds,
        "u" | "us" | "µ" => Precision::Microseconds,
        "ms" => Precision::Milliseconds,
        "s" => Precision::Seconds,
        "m" => Precision::Minutes,
        "h" => Precision::Hours,
        _ => return Err(bad(flag, value.to_string(), "ns, u, ms, s, m or h")),
    })
}

/// Nanoseconds in a second (Graphite timestamps are whole seconds).
const NANOS_PER_SECOND: u128 = 1_000_000_000;

/// Parses `20s`, `500ms`, `1.5m`, `2h`, `10us`, `100ns`; a bare number means seconds.
pub fn parse_duration(flag: &str, value: &str) -> Result<Duration, ArgsError> {
    const EXPECTED: &str = "a duration such as 20s, 500ms, 2m";
    let split_at = value
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(value.len());
    let (number, unit) = value.split_at(split_at);
    let unit_ns: f64 = match unit {
        "" | "s" => 1e9,
        "ns" => 1.0,
        "us" | "u" | "µs" => 1e3,
        "ms" => 1e6,
        "m" => 60e9,
        "h" => 3600e9,
        _ => return Err(bad(flag, value.to_string(), EXPECTED)),
    };
    let number: f64 = number
        .parse()
        .map_err(|_| bad(flag, value.to_string(), EXPECTED))?;
    let total_ns = number * unit_ns;
    if !total_ns.is_finite() || total_ns < 0.0 || total_ns > u64::MAX as f64 {
        return Err(bad(flag, value.to_string(), EXPECTED));
    }
    Ok(Duration::from_nanos(total_ns.round() as u64))
}

impl Options {
    /// Checks the invariants listed in the module doc.
    pub fn validate(&self) -> Result<(), ArgsError> {
        let invalid = |why: &str| Err(ArgsError::Invalid(why.to_string()));
        if !self.url.starts_with("http://") && !self.url.starts_with("https://") {
            return invalid("--url must start with http:// or https://");
        }
        if self.series == 0 || self.fields == 0 || self.batch_lines == 0 {
            return invalid("--series, --fields and --batch-lines must be at least 1");
        }
        if self.connections == 0 {
            return invalid("--connections must be at least 1");
        }
        if self.series > SERIES_MAX
            || self.fields > FIELDS_MAX
            || self.batch_lines > BATCH_LINES_MAX
            || self.connections > CONNECTIONS_MAX
            || self.tags_per_series > TAGS_PER_SERIES_MAX
        {
            return Err(ArgsError::Invalid(format!(
                "limits: --series <= {SERIES_MAX}, --fields <= {FIELDS_MAX}, --batch-lines <= \
                 {BATCH_LINES_MAX}, --connections <= {CONNECTIONS_MAX}, --tags-per-series <= \
                 {TAGS_PER_SERIES_MAX}"
            )));
        }
        if self.series > 1 && self.tags_per_series == 0 {
            return invalid("more than one series needs --tags-per-series >= 1");
        }
        if self.measurement.is_empty() || self.db.is_empty() {
            return invalid("--measurement and --db must not be empty");
        }
        if self.timestamps == TimestampMode::Explicit {
            let interval_ns = self.interval.as_nanos();
            let unit_ns = u128::from(self.precision.unit_ns());
            if interval_ns == 0 || interval_ns % unit_ns != 0 {
                return invalid("--interval must be a non-zero whole number of --precision units");
            }
        }
        if self.repeat == Some(0) {
            return invalid("--repeat must be at least 1");
        }
        if self.batches == Some(0) {
            return invalid("--batches must be at least 1");
        }
        self.validate_dataset()?;
        self.validate_protocol()
    }

    /// Checks the flags of dataset mode.
    fn validate_dataset(&self) -> Result<(), ArgsError> {
        let invalid = |why: &str| Err(ArgsError::Invalid(why.to_string()));
        if self.dataset.is_none() {
            if self.verify_path.is_some() {
                return invalid("--verify needs --dataset hosts");
            }
            return Ok(());
        }
        if self
            .decimals
            .is_some_and(|d| d > crate::dataset_mode::DECIMALS_MAX)
        {
            return Err(ArgsError::Invalid(format!(
                "--decimals must be at most {}",
                crate::dataset_mode::DECIMALS_MAX
            )));
        }
        if self.dataset == Some(Dataset::Hosts) && self.span < self.interval {
            return invalid("--dataset hosts needs --span of at least one --interval");
        }
        if self.dataset == Some(Dataset::Series) && self.verify_path.is_some() {
            return invalid("--verify checks the hosts data set only");
        }
        if self.protocol != Protocol::Http || self.queries_path.is_some() {
            return invalid("--dataset writes over http, without --queries");
        }
        Ok(())
    }

    /// Checks the flags of the graphite-tcp and udp protocols.
    fn validate_protocol(&self) -> Result<(), ArgsError> {
        let invalid = |why: &str| Err(ArgsError::Invalid(why.to_string()));
        if !(DATAGRAM_BYTES_MIN..=DATAGRAM_BYTES_MAX).contains(&self.datagram_bytes) {
            return Err(ArgsError::Invalid(format!(
                "--datagram-bytes must lie in {DATAGRAM_BYTES_MIN}..={DATAGRAM_BYTES_MAX}"
            )));
        }
        if let Some(address) = &self.address {
            if address.rsplit_once(':').is_none() {
                return invalid("--address must be HOST:PORT");
            }
        }
        if self.protocol == Protocol::GraphiteTcp && self.timestamps == TimestampMode::Explicit {
            let interval_ns = self.interval.as_nanos();
            if interval_ns == 0 || interval_ns % NANOS_PER_SECOND != 0 {
                return invalid("graphite-tcp: --interval must be a whole number of seconds");
            }
        }
        if self.protocol != Protocol::Http && self.queries_path.is_some() {
            return invalid("--queries runs over http only");
        }
        if self.protocol != Protocol::Http && self.batches.is_some() {
            return invalid("--batches applies to --protocol http only");
        }
        if self.protocol != Protocol::Http && self.min_batches > 0 {
            return invalid("--min-batches applies to --protocol http only");
        }
        if self.min_batches > 0 && self.rate_lines_per_s > 0 {
            // Batches past the deadline would go unpaced; a fixed rate and a floor on the
            // work disagree about what ends the run.
            return invalid("--min-batches and --rate do not go together");
        }
        Ok(())
    }

    /// The graphite-tcp / udp target: `--address` or the protocol's default.
    pub fn target_address(&self) -> &str {
        self.address
            .as_deref()
            .unwrap_or_else(|| self.protocol.default_address())
    }
}

impl Options {
    /// Every setting, for the JSON summary.
    pub fn to_json(&self) -> Json {
        let optional = |value: &Option<String>| value.clone().map_or(Json::Null, Json::Str);
        Json::object([
            ("protocol", Json::str(self.protocol.as_str())),
            ("url", Json::str(self.url.clone())),
            ("address", Json::str(self.target_address())),
            ("datagram_bytes", Json::UInt(self.datagram_bytes as u64)),
            ("db", Json::str(self.db.clone())),
            ("rp", optional(&self.rp)),
            ("precision", Json::str(self.precision.as_str())),
            ("series", Json::UInt(self.series)),
            ("fields", Json::UInt(u64::from(self.fields))),
            ("batch_lines", Json::UInt(self.batch_lines)),
            ("connections", Json::UInt(u64::from(self.connections))),
            ("duration_s", Json::Float(self.duration.as_secs_f64())),
            ("batches", self.batches.map_or(Json::Null, Json::UInt)),
            ("min_batches", Json::UInt(self.min_batches)),
            ("rate_lines_per_s", Json::UInt(self.rate_lines_per_s)),
            (
                "timestamps",
                Json::str(match self.timestamps {
                    TimestampMode::Explicit => "explicit",
                    TimestampMode::Server => "server",
                }),
            ),
            ("interval_s", Json::Float(self.interval.as_secs_f64())),
            ("gzip", Json::Bool(self.gzip)),
            ("create_db", Json::Bool(self.create_db)),
            ("json", optional(&self.json_path)),
            ("measurement", Json::str(self.measurement.clone())),
            (
                "tags_per_series",
                Json::UInt(u64::from(self.tags_per_series)),
            ),
            (
                "float_values",
                Json::str(match self.float_values {
                    FloatValues::RandomWalk => "random-walk",
                    FloatValues::Random => "random",
                    FloatValues::Constant => "constant",
                }),
            ),
            ("seed", Json::UInt(self.seed)),
            ("timeout_s", Json::Float(self.timeout.as_secs_f64())),
            ("allow_errors", Json::Bool(self.allow_errors)),
            ("queries", optional(&self.queries_path)),
            ("repeat", self.repeat.map_or(Json::Null, Json::UInt)),
        ])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(args: &[&str]) -> Result<Options, ArgsError> {
        parse_args(args.iter().copied())
    }

    #[test]
    fn defaults_match_the_documented_benchmark() {
        let options = parse(&[]).unwrap();
        assert_eq!(options, Options::default());
        assert_eq!(options.series, 5000);
        assert_eq!(options.fields, 10);
        assert_eq!(options.batch_lines, 5000);
        assert_eq!(options.connections, 4);
        assert_eq!(options.duration, Duration::from_secs(20));
        assert_eq!(options.interval, Duration::from_secs(10));
    }

    #[test]
    fn parses_every_flag_in_both_spellings() {
        let options = parse(&[
            "--url=http://127.0.0.1:18586/",
            "--db",
            "x",
            "--rp",
            "autogen",
            "--precision",
            "s",
            "--series=10",
            "--fields",
            "3",
            "--batch-lines",
            "7",
            "--connections",
            "2",
            "--duration",
            "1.5s",
            "--rate",
            "1_000",
            "--timestamps",
            "server",
            "--interval",
            "1m",
            "--gzip",
            "--create-db",
            "--json",
            "out.json",
            "--measurement",
            "cpu",
            "--tags-per-series",
            "3",
            "--float-values",
            "constant",
            "--seed",
            "42",
            "--timeout",
            "500ms",
            "--allow-errors",
            "--quiet",
        ])
        .unwrap();
        assert_eq!(options.url, "http://127.0.0.1:18586");
        assert_eq!(options.db, "x");
        assert_eq!(options.rp.as_deref(), Some("autogen"));
        assert_eq!(options.precision, Precision::Seconds);
        assert_eq!(options.series, 10);
        assert_eq!(options.fields, 3);
        assert_eq!(options.batch_lines, 7);
        assert_eq!(options.connections, 2);
        assert_eq!(options.duration, Duration::from_millis(1500));
        assert_eq!(options.rate_lines_per_s, 1000);
        assert_eq!(options.timestamps, TimestampMode::Server);
        assert_eq!(options.interval, Duration::from_secs(60));
        assert!(options.gzip && options.create_db && options.allow_errors && options.quiet);
        assert_eq!(options.json_path.as_deref(), Some("out.json"));
        assert_eq!(options.measurement, "cpu");
        assert_eq!(options.tags_per_series, 3);
        assert_eq!(options.float_values, FloatValues::Constant);
        assert_eq!(options.seed, 42);
        assert_eq!(options.timeout, Duration::from_millis(500));
    }

    #[test]
    fn protocol_flags() {
        let options = parse(&["--protocol", "udp", "--datagram-bytes", "65000"]).unwrap();
        assert_eq!(options.protocol, Protocol::Udp);
        assert_eq!(options.datagram_bytes, 65_000);
        assert_eq!(options.target_address(), "127.0.0.1:8089");
        let options = parse(&["--protocol=graphite-tcp", "--address", "127.0.0.1:1"]).unwrap();
        assert_eq!(options.protocol, Protocol::GraphiteTcp);
        assert_eq!(options.target_address(), "127.0.0.1:1");
        assert_eq!(parse(&[]).unwrap().datagram_bytes, 1400);
        for bad_args in [
            &["--datagram-bytes", "65001"][..],
            &["--datagram-bytes", "10"],
            &["--address", "nohost"],
            &["--protocol", "graphite-tcp", "--interval", "1500ms"],
            &["--protocol", "udp", "--queries", "q.txt"],
        ] {
            assert!(
                matches!(parse(bad_args), Err(ArgsError::Invalid(_))),
                "{bad_args:?}"
            );
        }
        assert!(matches!(
            parse(&["--protocol", "smtp"]),
            Err(ArgsError::BadValue { .. })
        ));
    }

    #[test]
    fn query_mode_flags() {
        let options = parse(&["--queries", "q.txt", "--repeat", "3"]).unwrap();
        assert_eq!(options.queries_path.as_deref(), Some("q.txt"));
        assert_eq!(options.repeat, Some(3));
        assert!(matches!(
            parse(&["--repeat", "0"]),
            Err(ArgsError::Invalid(_))
        ));
    }

    #[test]
    fn batches_flag() {
        let options = parse(&["--batches", "180"]).unwrap();
        assert_eq!(options.batches, Some(180));
        assert!(matches!(
            parse(&["--batches", "0"]),
            Err(ArgsError::Invalid(_))
        ));
        assert!(matches!(
            parse(&["--batches", "3", "--protocol", "udp"]),
            Err(ArgsError::Invalid(_))
        ));
    }

    #[test]
    fn min_batches_flag() {
        assert_eq!(parse(&[]).unwrap().min_batches, 0);
        assert_eq!(parse(&["--min-batches", "200"]).unwrap().min_batches, 200);
        assert!(matches!(
            parse(&["--min-batches", "2", "--protocol", "udp"]),
            Err(ArgsError::Invalid(_))
        ));
        assert!(matches!(
            parse(&["--min-batches", "2", "--rate", "1000"]),
            Err(ArgsError::Invalid(_))
        ));
    }

    #[test]
    fn help_skips_validation() {
        assert!(parse(&["--series", "0", "--help"]).unwrap().help);
        assert!(parse(&["-h"]).unwrap().help);
    }

    #[test]
    fn rejects_bad_input_with_typed_errors() {
        assert_eq!(
            parse(&["--nope", "1"]),
            Err(ArgsError::UnknownFlag("--nope".into()))
        );
        assert_eq!(
            parse(&["--series"]),
            Err(ArgsError::MissingValue("--series".into()))
        );
        assert_eq!(
            parse(&["--gzip=yes"]),
            Err(ArgsError::UnexpectedValue("--gzip=yes".into()))
        );
        assert_eq!(
            parse(&["stray"]),
            Err(ArgsError::Positional("stray".into()))
        );
        assert!(matches!(
            parse(&["--series", "ten"]),
            Err(ArgsError::BadValue { .. })
        ));
        assert!(matches!(
            parse(&["--duration", "5 parsecs"]),
            Err(ArgsError::BadValue { .. })
        ));
        assert!(matches!(
            parse(&["--precision", "fs"]),
            Err(ArgsError::BadValue { .. })
        ));
        assert!(matches!(
            parse(&["--timestamps", "x"]),
            Err(ArgsError::BadValue { .. })
        ));
        assert!(matches!(
            parse(&["--series", "0"]),
            Err(ArgsError::Invalid(_))
        ));
        assert!(matches!(
            parse(&["--connections", "0"]),
            Err(ArgsError::Invalid(_))
        ));
        assert!(matches!(
            parse(&["--url", "ftp://x"]),
            Err(ArgsError::Invalid(_))
        ));
        assert!(matches!(
            parse(&["--tags-per-series", "0"]),
            Err(ArgsError::Invalid(_))
        ));
    }

    #[test]
    fn interval_must_be_whole_precision_units() {
        let bad = parse(&["--precision", "s", "--interval", "1500ms"]);
        assert!(matches!(bad, Err(ArgsError::Invalid(_))));
        assert!(parse(&["--precision", "s", "--interval", "2s"]).is_ok());
        // Server timestamps ignore the interval.
        assert!(parse(&[
            "--precision",
            "h",
            "--interval",
            "1s",
            "--timestamps",
            "server"
        ])
        .is_ok());
    }

    #[test]
    fn durations() {
        let d = |s| parse_duration("--d", s);
        assert_eq!(d("20s"), Ok(Duration::from_secs(20)));
        assert_eq!(d("20"), Ok(Duration::from_secs(20)));
        assert_eq!(d("250ms"), Ok(Duration::from_millis(250)));
        assert_eq!(d("10us"), Ok(Duration::from_micros(10)));
        assert_eq!(d("7ns"), Ok(Duration::from_nanos(7)));
        assert_eq!(d("2m"), Ok(Duration::from_secs(120)));
        assert_eq!(d("1h"), Ok(Duration::from_secs(3600)));
        assert!(d("").is_err());
        assert!(d("s").is_err());
        assert!(d("1.2.3s").is_err());
        assert!(d("-1s").is_err());
    }
}
