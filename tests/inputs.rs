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
    let available = std::process::Command::new(python)
        .args(["-c", "import influxdb"])
        .output()
        .is_ok_and(|o| o.status.success());
    if !available {
        assert!(
            std::env::var("SLUICE_REQUIRE_CLIENTS").is_err(),
            "python3-influxdb is required"
        );
        eprintln!("skipping: python3-influxdb is not installed");
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
