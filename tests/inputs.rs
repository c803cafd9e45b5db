//! Inputs beside HTTP, end to end: the real binary with inputs enabled, fed over real
//! sockets, checked point by point with `sluice export`.

#![allow(clippy::unwrap_used)]

mod common;

use std::net::UdpSocket;

use common::Server;

fn point_lines(export: &str) -> Vec<&str> {
    export
        .lines()
        .filter(|l| !l.starts_with('#') && !l.starts_with("CREATE") && !l.is_empty())
        .collect()
}

#[test]
fn udp_line_protocol_is_written_to_its_database() {
    let server = Server::start_with(&[
        ("SLUICE_UDP_0_ENABLED", "true"),
        ("SLUICE_UDP_0_BIND_ADDRESS", "127.0.0.1:0"),
        ("SLUICE_UDP_0_DATABASE", "udpdb"),
        ("SLUICE_UDP_0_BATCH_TIMEOUT", "50ms"),
        ("SLUICE_UDP_0_PRECISION", "s"),
    ]);
    let address = server.input_address("udp", 0);
    let socket = UdpSocket::bind("127.0.0.1:0").unwrap();
    socket
        .send_to(b"cpu,host=a value=1 10\ncpu,host=b count=2i 20", address)
        .unwrap();
    socket
        .send_to(b"mem free=3u 30\nnot valid line\n", address)
        .unwrap();
    let export = server.wait_for_export("udpdb", |e| point_lines(e).len() >= 3);
    let lines = point_lines(&export);
    for expected in [
        "cpu,host=a value=1 10000000000",
        "cpu,host=b count=2i 20000000000",
        "mem free=3u 30000000000",
    ] {
        assert!(lines.contains(&expected), "{expected} missing: {lines:?}");
    }
    let (_, databases) = server.query("SHOW DATABASES");
    assert!(
        databases.contains("udpdb"),
        "the input's database is created on start: {databases}"
    );
    let vars = common::request(server.address, "GET", "/debug/vars", &[], b"").text();
    assert!(vars.contains("\"input\":\"udp\""), "{vars}");
}

#[test]
fn python_client_over_udp() {
    let python = "/usr/bin/python3";
    if !common::tool_available(python, &["-c", "import influxdb"]) {
        return;
    }
    let server = Server::start_with(&[
        ("SLUICE_UDP_0_ENABLED", "true"),
        ("SLUICE_UDP_0_BIND_ADDRESS", "127.0.0.1:0"),
        ("SLUICE_UDP_0_BATCH_TIMEOUT", "50ms"),
    ]);
    let address = server.input_address("udp", 0);
    let script = format!(
        r#"
from influxdb import InfluxDBClient
c = InfluxDBClient("127.0.0.1", {http}, use_udp=True, udp_port={udp})
c.send_packet({{"points": [{{"measurement": "py", "tags": {{"t": "u"}}, "fields": {{"v": 4.5}}, "time": 1500000000000000000}}]}})
"#,
        http = server.address.port(),
        udp = address.port()
    );
    let output = std::process::Command::new(python)
        .arg("-c")
        .arg(&script)
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let export = server.wait_for_export("udp", |e| e.contains("py,t=u v=4.5 1500000000000000000"));
    assert!(export.contains("py,t=u v=4.5"));
}

fn send_tcp(address: std::net::SocketAddr, bytes: &[u8]) {
    use std::io::Write;
    let mut stream = std::net::TcpStream::connect(address).unwrap();
    stream.write_all(bytes).unwrap();
}

#[test]
fn graphite_over_tcp_and_udp_with_templates() {
    let server = Server::start_with(&[
        ("SLUICE_GRAPHITE_0_ENABLED", "true"),
        ("SLUICE_GRAPHITE_0_BIND_ADDRESS", "127.0.0.1:0"),
        ("SLUICE_GRAPHITE_0_BATCH_TIMEOUT", "50ms"),
        (
            "SLUICE_GRAPHITE_0_TEMPLATES",
            "servers.* .host.measurement*",
        ),
        ("SLUICE_GRAPHITE_0_TAGS", "dc=east"),
        ("SLUICE_GRAPHITE_1_ENABLED", "true"),
        ("SLUICE_GRAPHITE_1_PROTOCOL", "udp"),
        ("SLUICE_GRAPHITE_1_BIND_ADDRESS", "127.0.0.1:0"),
        ("SLUICE_GRAPHITE_1_DATABASE", "graphite_udp"),
        ("SLUICE_GRAPHITE_1_BATCH_TIMEOUT", "50ms"),
    ]);
    let tcp = server.input_address("graphite", 0);
    let udp = server.input_address("graphite", 1);
    // A bad line in the middle is dropped; the stream goes on.
    send_tcp(tcp, b"servers.web01.cpu.load 0.5 1500000000\nthis is not graphite\nservers.web02.cpu.load 1.25 1500000010\nplain.metric 7 1500000020\nunterminated.last 1 1500000030");
    UdpSocket::bind("127.0.0.1:0")
        .unwrap()
        .send_to(b"udp.metric 3.5 1500000030\n", udp)
        .unwrap();
    let export = server.wait_for_export("graphite", |e| point_lines(e).len() >= 3);
    let lines = point_lines(&export);
    for expected in [
        "cpu.load,dc=east,host=web01 value=0.5 1500000000000000000",
        "cpu.load,dc=east,host=web02 value=1.25 1500000010000000000",
        "plain.metric,dc=east value=7 1500000020000000000",
    ] {
        assert!(lines.contains(&expected), "{expected} missing: {lines:?}");
    }
    assert!(
        !export.contains("unterminated"),
        "a last line without newline is dropped, as InfluxDB does"
    );
    let export = server.wait_for_export("graphite_udp", |e| !point_lines(e).is_empty());
    assert!(
        point_lines(&export).contains(&"udp.metric value=3.5 1500000030000000000"),
        "{export}"
    );
    let vars = common::request(server.address, "GET", "/debug/vars", &[], b"").text();
    assert!(
        vars.contains("\"failed\":1"),
        "the bad line is counted: {vars}"
    );
}

#[test]
fn opentsdb_telnet_and_http_on_one_port() {
    let server = Server::start_with(&[
        ("SLUICE_OPENTSDB_0_ENABLED", "true"),
        ("SLUICE_OPENTSDB_0_BIND_ADDRESS", "127.0.0.1:0"),
        ("SLUICE_OPENTSDB_0_BATCH_TIMEOUT", "50ms"),
    ]);
    let address = server.input_address("opentsdb", 0);
    send_tcp(address, b"put sys.cpu.user 1500000000 42.5 host=web01 cpu=0\nput sys.cpu.nice 1500000001 7 host=web01\n");
    let body =
        br#"[{"metric":"sys.mem","timestamp":1500000002,"value":12.5,"tags":{"host":"web02"}}]"#;
    let response = common::request(
        address,
        "POST",
        "/api/put",
        &[("Content-Type", "application/json")],
        body,
    );
    assert_eq!(response.status, 204, "{}", response.text());
    let export = server.wait_for_export("opentsdb", |e| point_lines(e).len() >= 3);
    let lines = point_lines(&export);
    assert!(
        lines.contains(&"sys.cpu.user,cpu=0,host=web01 value=42.5 1500000000000000000"),
        "{lines:?}"
    );
    assert!(
        lines
            .iter()
            .any(|l| l.starts_with("sys.cpu.nice,host=web01 value=7")),
        "{lines:?}"
    );
    assert!(
        lines.contains(&"sys.mem,host=web02 value=12.5 1500000002000000000"),
        "{lines:?}"
    );
    let bad = common::request(address, "POST", "/api/put", &[], b"{not json");
    assert_eq!(bad.status, 400);
}

#[test]
fn collectd_daemon_values_arrive() {
    let collectd = "/usr/sbin/collectd";
    if !common::tool_available(collectd, &["-h"]) {
        return;
    }
    let server = Server::start_with(&[
        ("SLUICE_COLLECTD_0_ENABLED", "true"),
        ("SLUICE_COLLECTD_0_BIND_ADDRESS", "127.0.0.1:0"),
        ("SLUICE_COLLECTD_0_BATCH_TIMEOUT", "50ms"),
    ]);
    let address = server.input_address("collectd", 0);
    let dir = common::fresh_dir("collectd");
    let config = format!(
        "Interval 1\nBaseDir \"{dir}\"\nPIDFile \"{dir}/collectd.pid\"\nTypesDB \"/usr/share/collectd/types.db\"\n\
         LoadPlugin load\nLoadPlugin memory\nLoadPlugin network\n\
         <Plugin network>\n  Server \"127.0.0.1\" \"{port}\"\n</Plugin>\n",
        dir = dir.display(),
        port = address.port()
    );
    let config_path = dir.join("collectd.conf");
    std::fs::write(&config_path, config).unwrap();
    let mut daemon = std::process::Command::new(collectd)
        .arg("-f")
        .arg("-C")
        .arg(&config_path)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let export = server.wait_for_export("collectd", |e| {
        e.contains("load_shortterm") && e.contains("memory_value")
    });
    let _ = daemon.kill();
    let _ = daemon.wait();
    let _ = std::fs::remove_dir_all(&dir);
    let load = point_lines(&export)
        .into_iter()
        .find(|l| l.starts_with("load_shortterm,"))
        .unwrap();
    assert!(load.contains("type=load"), "{load}");
    assert!(load.contains(" value="), "{load}");
    let memory = point_lines(&export)
        .into_iter()
        .find(|l| l.starts_with("memory_value,"))
        .unwrap();
    assert!(memory.contains("type_instance="), "{memory}");
}
