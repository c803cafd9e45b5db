//! Prometheus remote write against the binary; every expected answer was recorded from
//! influxd 1.6.7 given the same requests (see src/http/prometheus.rs for the one deliberate
//! difference: an empty `__name__`).

#![allow(clippy::unwrap_used)]

mod common;

use common::{request, Server};
use sluice::query::prometheus_read::{bytes_field, varint};

/// One `TimeSeries` of a `WriteRequest`, as a field of the request.
fn series(labels: &[(&str, &str)], samples: &[(f64, i64)]) -> Vec<u8> {
    let mut body = Vec::new();
    for (name, value) in labels {
        let mut label = Vec::new();
        bytes_field(1, name.as_bytes(), &mut label);
        bytes_field(2, value.as_bytes(), &mut label);
        bytes_field(1, &label, &mut body);
    }
    for (value, time) in samples {
        let mut sample = vec![1 << 3 | 1];
        sample.extend_from_slice(&value.to_bits().to_le_bytes());
        varint(2 << 3, &mut sample);
        varint(*time as u64, &mut sample);
        bytes_field(2, &sample, &mut body);
    }
    let mut request = Vec::new();
    bytes_field(1, &body, &mut request);
    request
}

fn remote_write(server: &Server, params: &str, protobuf: &[u8]) -> (u16, String) {
    let body = snap::raw::Encoder::new().compress_vec(protobuf).unwrap();
    raw_write(server, params, &body)
}

fn raw_write(server: &Server, params: &str, body: &[u8]) -> (u16, String) {
    let response = request(
        server.address,
        "POST",
        &format!("/api/v1/prom/write?{params}"),
        &[
            ("Content-Type", "application/x-protobuf"),
            ("Content-Encoding", "snappy"),
        ],
        body,
    );
    (response.status, response.text())
}

#[test]
fn remote_write_maps_samples_as_influxdb_does() {
    let server = Server::start();
    server.query("CREATE DATABASE prom");
    let mut body = series(
        &[("__name__", "cpu_usage"), ("host", "a"), ("job", "node")],
        &[(1.5, 1000), (2.5, 2000)],
    );
    body.extend(series(
        &[("__name__", "up"), ("instance", "x:9100")],
        &[(1.0, 1500)],
    ));
    assert_eq!(
        remote_write(&server, "db=prom", &body),
        (204, String::new())
    );
    let (_, answer) = server.query("SELECT * FROM prom..cpu_usage");
    assert_eq!(
        answer,
        "{\"results\":[{\"statement_id\":0,\"series\":[{\"name\":\"cpu_usage\",\"columns\":[\"time\",\"__name__\",\"host\",\"job\",\"value\"],\"values\":[[\"1970-01-01T00:00:01Z\",\"cpu_usage\",\"a\",\"node\",1.5],[\"1970-01-01T00:00:02Z\",\"cpu_usage\",\"a\",\"node\",2.5]]}]}]}\n"
    );
    let (_, answer) = server.query("SELECT * FROM prom..up");
    assert_eq!(
        answer,
        "{\"results\":[{\"statement_id\":0,\"series\":[{\"name\":\"up\",\"columns\":[\"time\",\"__name__\",\"instance\",\"value\"],\"values\":[[\"1970-01-01T00:00:01.5Z\",\"up\",\"x:9100\",1]]}]}]}\n"
    );
    // NaN: skipped without a word. No __name__: prom_metric_not_specified.
    let nan = series(&[("__name__", "n"), ("a", "b")], &[(f64::NAN, 1000)]);
    assert_eq!(remote_write(&server, "db=prom", &nan).0, 204);
    let unnamed = series(&[("host", "a")], &[(1.0, 1000)]);
    assert_eq!(remote_write(&server, "db=prom", &unnamed).0, 204);
    let (_, answer) = server.query("SHOW MEASUREMENTS ON prom");
    assert_eq!(
        answer,
        "{\"results\":[{\"statement_id\":0,\"series\":[{\"name\":\"measurements\",\"columns\":[\"name\"],\"values\":[[\"cpu_usage\"],[\"prom_metric_not_specified\"],[\"up\"]]}]}]}\n"
    );
    // An infinite sample refuses the whole request.
    let mixed = series(
        &[("__name__", "mixed")],
        &[(1.0, 1000), (f64::INFINITY, 2000), (3.0, 3000)],
    );
    assert_eq!(
        remote_write(&server, "db=prom", &mixed),
        (
            400,
            "{\"error\":\"+/-Inf is an unsupported value for field value\"}\n".to_string()
        )
    );
    let (_, answer) = server.query("SELECT * FROM prom..mixed");
    assert_eq!(answer, "{\"results\":[{\"statement_id\":0}]}\n");
}

#[test]
fn remote_write_errors_are_influxdbs() {
    let server = Server::start();
    server.query("CREATE DATABASE prom");
    let body = series(&[("__name__", "m")], &[(1.0, 1)]);
    let cases: [(&str, Vec<u8>, bool, u16, &str); 6] = [
        (
            "",
            body.clone(),
            true,
            400,
            "{\"error\":\"database is required\"}\n",
        ),
        (
            "db=nope",
            body.clone(),
            true,
            404,
            "{\"error\":\"database not found: \\\"nope\\\"\"}\n",
        ),
        (
            "db=prom&rp=nope",
            body.clone(),
            true,
            500,
            "{\"error\":\"retention policy not found: nope\"}\n",
        ),
        (
            "db=prom",
            b"garbage".to_vec(),
            false,
            400,
            "{\"error\":\"snappy: corrupt input\"}\n",
        ),
        (
            "db=prom",
            vec![0xff, 0xff, 0xff],
            true,
            400,
            "{\"error\":\"unexpected EOF\"}\n",
        ),
        ("db=prom", Vec::new(), false, 204, ""),
    ];
    for (params, payload, compress, status, text) in cases {
        let answer = if compress {
            remote_write(&server, params, &payload)
        } else {
            raw_write(&server, params, &payload)
        };
        assert_eq!(answer, (status, text.to_string()), "{params}");
    }
    let response = request(
        server.address,
        "GET",
        "/api/v1/prom/write?db=prom",
        &[],
        b"",
    );
    assert_eq!(response.status, 405);
    assert_eq!(response.header("Allow"), Some("POST"));
}

/// `/metrics`: the `/debug/vars` counters in Prometheus' text format, every line a valid
/// sample.
#[test]
fn metrics_are_prometheus_text() {
    let server = Server::start();
    server.query("CREATE DATABASE db");
    assert_eq!(server.write("db=db", "m v=1 1\nm v=2 2").status, 204);
    let response = request(server.address, "GET", "/metrics", &[], b"");
    assert_eq!(response.status, 200);
    assert_eq!(
        response.header("Content-Type"),
        Some("text/plain; version=0.0.4; charset=utf-8")
    );
    let text = response.text();
    for line in text.lines() {
        let (name_and_labels, value) = line.rsplit_once(' ').unwrap();
        assert!(value.parse::<f64>().is_ok(), "{line}");
        let name = name_and_labels.split('{').next().unwrap();
        assert!(
            name.starts_with("sluice_")
                && name
                    .chars()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_'),
            "{line}"
        );
    }
    assert!(text.contains("sluice_build_info{version=\""), "{text}");
    let points: f64 = text
        .lines()
        .filter(|line| line.starts_with("sluice_partitions_points{"))
        .filter_map(|line| line.rsplit_once(' ')?.1.parse::<f64>().ok())
        .sum();
    assert_eq!(points, 2.0, "{text}");
}

/// A `ReadRequest` with one query (times in ms; matchers as (type, name, value)).
fn read_request(start_ms: i64, end_ms: i64, matchers: &[(u64, &str, &str)]) -> Vec<u8> {
    let mut query = Vec::new();
    varint(1 << 3, &mut query);
    varint(start_ms as u64, &mut query);
    varint(2 << 3, &mut query);
    varint(end_ms as u64, &mut query);
    for (kind, name, value) in matchers {
        let mut matcher = Vec::new();
        varint(1 << 3, &mut matcher);
        varint(*kind, &mut matcher);
        bytes_field(2, name.as_bytes(), &mut matcher);
        bytes_field(3, value.as_bytes(), &mut matcher);
        bytes_field(3, &matcher, &mut query);
    }
    let mut request = Vec::new();
    bytes_field(1, &query, &mut request);
    request
}

/// Fields of one protobuf message: (number, varint or fixed64 bits, bytes).
fn message_fields(bytes: &[u8]) -> Vec<(u64, u64, Vec<u8>)> {
    let mut fields = Vec::new();
    let mut at = 0;
    let read_varint = |at: &mut usize| {
        let (mut value, mut shift) = (0u64, 0);
        loop {
            let byte = bytes[*at];
            *at += 1;
            value |= u64::from(byte & 0x7f) << shift;
            shift += 7;
            if byte & 0x80 == 0 {
                return value;
            }
        }
    };
    while at < bytes.len() {
        let key = read_varint(&mut at);
        match key & 7 {
            0 => fields.push((key >> 3, read_varint(&mut at), Vec::new())),
            1 => {
                let word = u64::from_le_bytes(bytes[at..at + 8].try_into().unwrap());
                at += 8;
                fields.push((key >> 3, word, Vec::new()));
            }
            _ => {
                let length = read_varint(&mut at) as usize;
                fields.push((key >> 3, 0, bytes[at..at + length].to_vec()));
                at += length;
            }
        }
    }
    fields
}

type ReadSeries = (Vec<(String, String)>, Vec<(f64, i64)>);
/// A read case: matchers (type, name, value), start and end (ms), the series expected.
type ReadCase<'a> = (Vec<(u64, &'a str, &'a str)>, i64, i64, Vec<ReadSeries>);

/// POST a remote read; (status, the series of its one result) or (status, error text).
fn remote_read(
    server: &Server,
    params: &str,
    request_body: &[u8],
) -> (u16, Result<Vec<ReadSeries>, String>) {
    let body = snap::raw::Encoder::new()
        .compress_vec(request_body)
        .unwrap();
    let response = request(
        server.address,
        "POST",
        &format!("/api/v1/prom/read?{params}"),
        &[
            ("Content-Type", "application/x-protobuf"),
            ("Content-Encoding", "snappy"),
        ],
        &body,
    );
    if response.status != 200 {
        return (response.status, Err(response.text()));
    }
    assert_eq!(response.header("Content-Encoding"), Some("snappy"));
    let decoded = snap::raw::Decoder::new()
        .decompress_vec(&response.body)
        .unwrap();
    let mut series = Vec::new();
    for (_, _, result) in message_fields(&decoded) {
        for (_, _, time_series) in message_fields(&result) {
            let (mut labels, mut samples) = (Vec::new(), Vec::new());
            for (number, _, bytes) in message_fields(&time_series) {
                let fields = message_fields(&bytes);
                if number == 1 {
                    let text = |n: u64| {
                        fields
                            .iter()
                            .find(|f| f.0 == n)
                            .map(|f| String::from_utf8(f.2.clone()).unwrap())
                            .unwrap_or_default()
                    };
                    labels.push((text(1), text(2)));
                } else {
                    let number_of = |n: u64| fields.iter().find(|f| f.0 == n).map_or(0, |f| f.1);
                    samples.push((f64::from_bits(number_of(1)), number_of(2) as i64));
                }
            }
            series.push((labels, samples));
        }
    }
    (200, Ok(series))
}

fn labels(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

/// Remote read, answers recorded from influxd 1.6.7 on the same writes.
#[test]
fn remote_read_answers_as_influxdb_does() {
    let server = Server::start();
    server.query("CREATE DATABASE prom");
    let mut body = series(
        &[("__name__", "cpu_usage"), ("host", "a"), ("job", "node")],
        &[(1.5, 1000), (2.5, 2000)],
    );
    body.extend(series(
        &[("__name__", "up"), ("instance", "x:9100")],
        &[(1.0, 1500)],
    ));
    body.extend(series(&[("host", "a")], &[(1.0, 1000)]));
    assert_eq!(remote_write(&server, "db=prom", &body).0, 204);
    let lines = "lp,host=b,dc=x value=3i 5000000000\nlp,host=a value=7i 6000000000";
    assert_eq!(server.write("db=prom", lines).status, 204);
    let cpu = (
        labels(&[("__name__", "cpu_usage"), ("host", "a"), ("job", "node")]),
        vec![(1.5, 1000), (2.5, 2000)],
    );
    let unnamed = (labels(&[("host", "a")]), vec![(1.0, 1000)]);
    let cases: Vec<ReadCase<'_>> = vec![
        (
            vec![(0, "__name__", "cpu_usage")],
            0,
            10_000,
            vec![cpu.clone()],
        ),
        (
            vec![(0, "__name__", "cpu_usage"), (0, "host", "a")],
            0,
            10_000,
            vec![cpu.clone()],
        ),
        (
            vec![(0, "__name__", "cpu_usage")],
            1500,
            2000,
            vec![(cpu.0.clone(), vec![(2.5, 2000)])],
        ),
        // InfluxQL's regexes, unanchored, as 1.6.7 runs them.
        (vec![(2, "__name__", "pu.*")], 0, 10_000, vec![cpu.clone()]),
        (
            vec![(0, "__name__", "cpu_usage"), (1, "host", "a")],
            0,
            10_000,
            vec![],
        ),
        (
            vec![(0, "__name__", "cpu_usage"), (3, "host", "b")],
            0,
            10_000,
            vec![cpu.clone()],
        ),
        (
            vec![(0, "host", "a")],
            0,
            10_000,
            vec![cpu.clone(), unnamed],
        ),
        (vec![(0, "__name__", "nosuch")], 0, 10_000, vec![]),
        // Integer values are not samples.
        (vec![(0, "__name__", "lp")], 0, 100_000, vec![]),
    ];
    for (matchers, start, end, expected) in cases {
        let answer = remote_read(&server, "db=prom", &read_request(start, end, &matchers));
        assert_eq!(answer, (200, Ok(expected)), "{matchers:?}");
    }
    let mut two = read_request(0, 1, &[(0, "__name__", "up")]);
    two.extend(read_request(0, 1, &[(0, "__name__", "up")]));
    let one_only =
        "{\"error\":\"Prometheus read endpoint currently only supports one query at a time\"}\n";
    assert_eq!(
        remote_read(&server, "db=prom", &two),
        (400, Err(one_only.to_string()))
    );
    let no_database = "{\"error\":\"no database\"}\n".to_string();
    let up = read_request(0, 1, &[(0, "__name__", "up")]);
    assert_eq!(
        remote_read(&server, "", &up),
        (400, Err(no_database.clone()))
    );
    assert_eq!(
        remote_read(&server, "db=nope", &up),
        (400, Err(no_database))
    );
    let bad_regex = read_request(0, 1, &[(2, "host", "(")]);
    assert_eq!(
        remote_read(&server, "db=prom", &bad_regex),
        (
            400,
            Err("{\"error\":\"error parsing regexp: missing closing ): `(`\"}\n".to_string())
        )
    );
}

/// A free loopback port (bound, then released for the process that will listen on it).
fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// A real Prometheus process (Debian's `prometheus`), killed when dropped.
struct Prometheus {
    child: std::process::Child,
    address: std::net::SocketAddr,
}

impl Prometheus {
    fn start(dir: &std::path::Path, config: &str) -> Prometheus {
        std::fs::create_dir_all(dir).unwrap();
        let config_path = dir.join("prometheus.yml");
        std::fs::write(&config_path, config).unwrap();
        let address: std::net::SocketAddr = format!("127.0.0.1:{}", free_port()).parse().unwrap();
        let log = std::fs::File::create(dir.join("prometheus.log")).unwrap();
        let child = std::process::Command::new("prometheus")
            .arg(format!("--config.file={}", config_path.display()))
            .arg(format!(
                "--storage.tsdb.path={}",
                dir.join("tsdb").display()
            ))
            .arg(format!("--web.listen-address={address}"))
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            .spawn()
            .unwrap();
        Prometheus { child, address }
    }

    /// `GET /api/v1/query?query=…` (status, body).
    fn query(&self, promql: &str) -> (u16, String) {
        let target = format!("/api/v1/query?query={}", common::urlencode(promql));
        let response = request(self.address, "GET", &target, &[], b"");
        (response.status, response.text())
    }
}

impl Drop for Prometheus {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Polls `check` every 200 ms until it gives a value, or fails after `limit`.
fn wait_for<T>(limit: std::time::Duration, what: &str, mut check: impl FnMut() -> Option<T>) -> T {
    let deadline = std::time::Instant::now() + limit;
    loop {
        if let Some(found) = check() {
            return found;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "{what} within {limit:?}"
        );
        std::thread::sleep(std::time::Duration::from_millis(200));
    }
}

/// End to end with a real Prometheus (2.42, Debian's): it scrapes Sluice's own `/metrics`
/// every second and sends what it scraped to Sluice by `remote_write`; Sluice stores it as
/// InfluxDB 1.x does (`up` with its `job` and `instance` tags, field `value`). A second
/// Prometheus with no scrape and only `remote_read` from Sluice then answers PromQL from
/// what Sluice holds.
#[test]
fn a_real_prometheus_writes_to_sluice_and_reads_back_through_it() {
    if !common::tool_available("prometheus", &["--version"]) {
        return;
    }
    let server = Server::start();
    let (status, _) = server.query("CREATE DATABASE prom");
    assert_eq!(status, 200);
    let sluice = server.address;
    let dir = common::fresh_dir("prometheus-real");
    let writer = Prometheus::start(
        &dir.join("writer"),
        &format!(
            "global:\n  scrape_interval: 1s\n  evaluation_interval: 1s\n\
             scrape_configs:\n  - job_name: sluice\n    metrics_path: /metrics\n    \
             static_configs:\n      - targets: ['{sluice}']\n\
             remote_write:\n  - url: http://{sluice}/api/v1/prom/write?db=prom\n    \
             queue_config:\n      batch_send_deadline: 1s\n"
        ),
    );
    let up_count = wait_for(
        std::time::Duration::from_secs(90),
        "Prometheus' scrapes of Sluice arrive by remote_write",
        || {
            let (_, body) = server.query("SELECT count(value) FROM prom..up WHERE job = 'sluice'");
            const BEFORE_COUNT: &str = "\"count\"],\"values\":[[\"1970-01-01T00:00:00Z\",";
            let rest = &body[body.find(BEFORE_COUNT)? + BEFORE_COUNT.len()..];
            rest[..rest.find(']')?]
                .parse::<u64>()
                .ok()
                .filter(|n| *n >= 3)
        },
    );
    // Sluice's own counters came back through Prometheus, with the scrape's labels as tags.
    let (_, tags) = server.query("SHOW TAG VALUES ON prom FROM up WITH KEY = instance");
    assert!(tags.contains(&format!("\"{sluice}\"")), "{tags}");
    let (_, measurements) =
        server.query("SHOW MEASUREMENTS ON prom WITH MEASUREMENT =~ /^sluice_/");
    assert!(measurements.contains("\"sluice_"), "{measurements}");
    drop(writer);
    let reader = Prometheus::start(
        &dir.join("reader"),
        &format!(
            "global:\n  scrape_interval: 1m\n\
             remote_read:\n  - url: http://{sluice}/api/v1/prom/read?db=prom\n    \
             read_recent: true\n"
        ),
    );
    let answer = wait_for(
        std::time::Duration::from_secs(30),
        "the reading Prometheus answers from Sluice",
        || {
            // Until it listens, a connection is refused.
            std::net::TcpStream::connect(reader.address).ok()?;
            let (status, body) = reader.query("count_over_time(up{job=\"sluice\"}[10m])");
            (status == 200 && body.contains("\"result\":[{")).then_some(body)
        },
    );
    // Every `up` sample Sluice held then (more may have arrived since) is read back, each 1.
    let read_back: u64 = answer
        .rsplit("\"value\":[")
        .next()
        .and_then(|value| value.split('"').nth(1))
        .and_then(|count| count.parse().ok())
        .unwrap_or(0);
    eprintln!("Sluice held {up_count} `up` samples; the reading Prometheus counted {read_back}");
    assert!(read_back >= up_count, "{read_back} < {up_count}: {answer}");
    let (_, ones) = reader.query("min_over_time(up{job=\"sluice\"}[10m])");
    assert!(ones.contains("\"1\"]"), "{ones}");
}
