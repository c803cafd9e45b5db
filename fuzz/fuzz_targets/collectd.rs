//! Fuzz target for the collectd binary-protocol decoder.
//!
//! Decodes arbitrary datagrams at every security level, split and join, and must never panic.
//! The first byte picks whether the rest is sent as is, wrapped in a valid signature, or
//! wrapped in a valid encryption (so the fuzzer reaches the parts inside them). On success the
//! output must parse with Sluice's line protocol parser, one point per line as counted; on
//! error the output must be left untouched.
#![no_main]

use libfuzzer_sys::fuzz_target;
use sluice::inputs::collectd::{crypto, CollectdDecoder, SecurityLevel};
use sluice::line_protocol::{Parser, Precision, Scratch};
use std::sync::OnceLock;

const AUTH_FILE: &str = "alice: w0nderl4nd\n";
const PREFIX: &[u8] = b"keep value=1 1\n";

fn check(decoder: &CollectdDecoder, datagram: &[u8]) {
    let mut out = PREFIX.to_vec();
    match decoder.decode_packet(datagram, 0, &mut out) {
        Ok(points) => {
            let body = out.get(PREFIX.len()..).unwrap_or_default();
            let lines = body.iter().filter(|&&byte| byte == b'\n').count();
            assert_eq!(points, lines, "point count differs from lines");
            let mut parser = Parser::new(body, Precision::Nanosecond, 0);
            let mut scratch = Scratch::default();
            let mut parsed = 0;
            while let Some(point) = parser.next_point(&mut scratch) {
                if let Err(error) = point {
                    panic!(
                        "output does not parse: {error:?}\n{}",
                        String::from_utf8_lossy(body)
                    );
                }
                parsed += 1;
            }
            assert_eq!(parsed, points, "parsed points differ from the count");
        }
        Err(_) => assert_eq!(out, PREFIX, "output changed on error"),
    }
}

fuzz_target!(|data: &[u8]| {
    let Some((&mode, rest)) = data.split_first() else {
        return;
    };
    let datagram = match mode % 3 {
        0 => rest.to_vec(),
        1 => crypto::sign_for_test(rest, b"alice", b"w0nderl4nd"),
        _ => crypto::encrypt_for_test(rest, b"alice", b"w0nderl4nd", [mode; 16]),
    };
    for decoder in decoders() {
        check(decoder, &datagram);
    }
});

/// One decoder per security level and multi-value mode, built once.
fn decoders() -> &'static [CollectdDecoder] {
    static DECODERS: OnceLock<Vec<CollectdDecoder>> = OnceLock::new();
    DECODERS.get_or_init(|| {
        let mut decoders = Vec::new();
        for security in [
            SecurityLevel::None,
            SecurityLevel::Sign,
            SecurityLevel::Encrypt,
        ] {
            for split in [true, false] {
                match CollectdDecoder::new(None, security, Some(AUTH_FILE), split) {
                    Ok(decoder) => decoders.push(decoder),
                    Err(error) => panic!("BUG: decoder: {error}"),
                }
            }
        }
        decoders
    })
}
