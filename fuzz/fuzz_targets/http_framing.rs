//! Fuzz target for `http::framing` and `http::gzip`.
//!
//! Input layout: byte 0 is a count `n` (0..=7) of split sizes; bytes 1..=n are the sizes
//! (0 means 1) used cyclically to cut the rest of the input into pieces, which are fed to a
//! `RequestReader` the way the event loop does. Checks: no panic; `NeedMore` consumes all
//! input; the outcomes (requests and errors, ignoring `SendContinue`) equal those of feeding
//! the whole stream at once. The same bytes are also given to `gunzip_limited` with a small
//! bound, which must never grow its output past the bound.
#![no_main]

use libfuzzer_sys::fuzz_target;
use sluice::http::framing::{FramingLimits, Progress, RequestReader};
use sluice::http::gzip::gunzip_limited;

/// Most split sizes taken from the input.
const SPLIT_SIZES_MAX: usize = 7;
/// Output bound for the gunzip check: small, so bombs hit it quickly.
const GUNZIP_MAX_OUTPUT_BYTES: usize = 4096;

/// Small limits so that every limit is reachable by short inputs.
fn limits() -> FramingLimits {
    FramingLimits {
        max_head_bytes: 512,
        max_headers: 40,
        max_body_bytes: 256,
        max_chunk_line_bytes: 32,
        max_pending_head_bytes: sluice::limits::NET_PENDING_HEAD_BYTES_MAX,
    }
}

/// Feeds `pieces` in order; returns the debug form of each request or error.
fn drive(pieces: &[&[u8]]) -> Vec<String> {
    let mut reader = RequestReader::new(limits());
    let mut pending: Vec<u8> = Vec::new();
    let mut outcomes = Vec::new();
    for piece in pieces {
        pending.extend_from_slice(piece);
        loop {
            let (consumed, progress) = reader.advance(&pending);
            assert!(consumed <= pending.len(), "BUG: consumed past the input");
            pending.drain(..consumed);
            match progress {
                Progress::NeedMore => {
                    assert!(pending.is_empty(), "BUG: NeedMore left input unconsumed");
                    break;
                }
                Progress::SendContinue => {}
                Progress::Request(request) => outcomes.push(format!("{request:?}")),
                Progress::Error(error) => {
                    outcomes.push(format!("{error:?}"));
                    if !reader.connection_reusable_after_error() {
                        return outcomes;
                    }
                }
            }
        }
    }
    outcomes
}

fn check(data: &[u8]) {
    let count = usize::from(data.first().copied().unwrap_or(0)) % (SPLIT_SIZES_MAX + 1);
    let sizes: Vec<usize> = data
        .iter()
        .skip(1)
        .take(count)
        .map(|&size| usize::from(size).max(1))
        .collect();
    let stream = data.get(1 + sizes.len()..).unwrap_or_default();
    let mut pieces: Vec<&[u8]> = Vec::new();
    let mut rest = stream;
    let mut index = 0;
    while !rest.is_empty() {
        let take = sizes
            .get(index % sizes.len().max(1))
            .copied()
            .unwrap_or(rest.len());
        let (piece, tail) = rest.split_at(take.min(rest.len()));
        pieces.push(piece);
        rest = tail;
        index += 1;
    }
    assert_eq!(
        drive(&pieces),
        drive(&[stream]),
        "split feed differs from whole feed"
    );

    let mut out = Vec::new();
    let _ = gunzip_limited(stream, GUNZIP_MAX_OUTPUT_BYTES, &mut out);
    assert!(
        out.len() <= GUNZIP_MAX_OUTPUT_BYTES,
        "BUG: gunzip passed its bound"
    );
}

fuzz_target!(|data: &[u8]| check(data));
