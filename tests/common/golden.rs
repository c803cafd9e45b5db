//! Replaying recorded InfluxDB answers (tests/golden): the exact bytes of a recorded
//! request, and the comparison of an answer with the recorded one.

use serde_json::Value;

/// Headers whose value changes per run or per build: only their presence is compared.
pub const VOLATILE_HEADERS: &[&str] = &[
    "Date",
    "Request-Id",
    "X-Request-Id",
    "X-Influxdb-Version",
    "X-Influxdb-Build",
];
/// Framing headers a client cannot tell apart (Go streams some bodies chunked).
pub const FRAMING_HEADERS: &[&str] = &["Content-Length", "Transfer-Encoding"];

pub fn base64_decode(text: &str) -> Vec<u8> {
    let mut out = Vec::new();
    let mut buffer = 0u32;
    let mut bits = 0;
    for byte in text.bytes() {
        let value = match byte {
            b'A'..=b'Z' => byte - b'A',
            b'a'..=b'z' => byte - b'a' + 26,
            b'0'..=b'9' => byte - b'0' + 52,
            b'+' => 62,
            b'/' => 63,
            _ => continue,
        };
        buffer = (buffer << 6) | u32::from(value);
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push((buffer >> bits) as u8);
        }
    }
    out
}

/// `[[text, count]]` or `[[text, count, width]]` (each "{n}" becomes the zero-padded index),
/// as tools/record_golden.py builds them.
fn parts_body(parts: &Value) -> Vec<u8> {
    let mut body = Vec::new();
    for part in parts.as_array().into_iter().flatten() {
        let text = part[0].as_str().unwrap_or("");
        let width = part[2].as_u64().map(|w| w as usize);
        for index in 0..part[1].as_u64().unwrap_or(0) {
            match width {
                Some(width) => body
                    .extend_from_slice(text.replace("{n}", &format!("{index:0width$}")).as_bytes()),
                None => body.extend_from_slice(text.as_bytes()),
            }
        }
    }
    body
}

/// A large recorded text (`{"len", "sha256", ...}`) matches `actual`.
fn digest_matches(digest: &Value, actual: &[u8]) -> bool {
    use sha2::Digest;
    let hash: String = sha2::Sha256::digest(actual)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    digest["len"].as_u64() == Some(actual.len() as u64)
        && digest["sha256"].as_str() == Some(hash.as_str())
}

/// The exact bytes of a recorded request.
pub fn request_bytes(request: &Value) -> Vec<u8> {
    if let Some(raw) = request["raw"].as_str() {
        return raw.as_bytes().to_vec();
    }
    let version = request["version"].as_str().unwrap_or("HTTP/1.1");
    let mut out = format!("{} ", request["method"].as_str().unwrap_or("GET")).into_bytes();
    match request["target"].as_str() {
        Some(target) => out.extend_from_slice(target.as_bytes()),
        None => out.extend_from_slice(&parts_body(&request["target_parts"])),
    }
    out.extend_from_slice(format!(" {version}\r\n").as_bytes());
    for header in request["headers"].as_array().into_iter().flatten() {
        out.extend_from_slice(
            format!(
                "{}: {}\r\n",
                header[0].as_str().unwrap_or(""),
                header[1].as_str().unwrap_or("")
            )
            .as_bytes(),
        );
    }
    for header in request["repeat_headers"].as_array().into_iter().flatten() {
        let line = format!(
            "{}: {}\r\n",
            header[0].as_str().unwrap_or(""),
            header[1].as_str().unwrap_or("")
        );
        for _ in 0..header[2].as_u64().unwrap_or(0) {
            out.extend_from_slice(line.as_bytes());
        }
    }
    out.extend_from_slice(b"\r\n");
    if let Some(sent) = request["sent_base64"].as_str() {
        out.extend_from_slice(&base64_decode(sent));
    } else if let Some(body) = request["body"].as_str() {
        out.extend_from_slice(body.as_bytes());
    } else if let Some(body) = request["body_base64"].as_str() {
        out.extend_from_slice(&base64_decode(body));
    } else if request["body_parts"].is_array() {
        out.extend_from_slice(&parts_body(&request["body_parts"]));
    } else if let Some(chunks) = request["chunks"].as_array() {
        for chunk in chunks {
            let bytes = match chunk.as_str() {
                Some(text) => text.as_bytes().to_vec(),
                None => parts_body(chunk),
            };
            out.extend_from_slice(format!("{:x}\r\n", bytes.len()).as_bytes());
            out.extend_from_slice(&bytes);
            out.extend_from_slice(b"\r\n");
        }
        out.extend_from_slice(b"0\r\n\r\n");
    }
    out
}

pub fn compare(case: &Value, response: &super::Response) -> Vec<String> {
    let mut problems = Vec::new();
    let expected = &case["response"];
    let status = expected["status"].as_u64().unwrap_or(0) as u16;
    if response.status != status {
        problems.push(format!("status {} != {}", response.status, status));
    }
    if expected["body_digest"].is_object() {
        if !digest_matches(&expected["body_digest"], &response.body) {
            problems.push(format!(
                "body of {} bytes starting {:?} != recorded {}",
                response.body.len(),
                String::from_utf8_lossy(response.body.get(..200).unwrap_or(&response.body)),
                expected["body_digest"]
            ));
        }
        return compare_headers(expected, response, problems);
    }
    let expected_body = expected["body"]
        .as_str()
        .map(|b| b.as_bytes().to_vec())
        .or_else(|| expected["body_base64"].as_str().map(base64_decode))
        .unwrap_or_default();
    if response.body != expected_body {
        problems.push(format!(
            "body {:?} != {:?}",
            response.text(),
            String::from_utf8_lossy(&expected_body)
        ));
    }
    compare_headers(expected, response, problems)
}

fn compare_headers(
    expected: &Value,
    response: &super::Response,
    mut problems: Vec<String>,
) -> Vec<String> {
    let empty = serde_json::Map::new();
    let expected_headers = expected["headers"].as_object().unwrap_or(&empty);
    for (name, value) in expected_headers {
        if FRAMING_HEADERS.contains(&name.as_str()) {
            continue;
        }
        match response.header(name) {
            None => problems.push(format!("missing header {name}")),
            Some(_) if VOLATILE_HEADERS.contains(&name.as_str()) => {}
            Some(actual) if value.is_object() => {
                if !digest_matches(value, actual.as_bytes()) {
                    problems.push(format!(
                        "header {name} of {} bytes != recorded {value}",
                        actual.len()
                    ));
                }
            }
            Some(actual) if name == "Allow" => {
                let mut a: Vec<&str> = actual.split(", ").collect();
                let mut b: Vec<&str> = value.as_str().unwrap_or("").split(", ").collect();
                a.sort();
                b.sort();
                if a != b {
                    problems.push(format!("header Allow {actual:?} != {value}"));
                }
            }
            Some(actual) if Some(actual) != value.as_str() => {
                problems.push(format!("header {name}: {actual:?} != {value}"))
            }
            Some(_) => {}
        }
    }
    for (name, _) in &response.headers {
        let known = expected_headers
            .keys()
            .any(|k| k.eq_ignore_ascii_case(name));
        if !known && !FRAMING_HEADERS.contains(&name.as_str()) && !name.starts_with("X-Sluice") {
            problems.push(format!("extra header {name}"));
        }
    }
    problems
}
