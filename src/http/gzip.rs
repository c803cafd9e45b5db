//! Bounded gunzip for request bodies sent with `Content-Encoding: gzip`.
//!
//! Owns: decoding one or more concatenated gzip members (RFC 1952) into a caller's buffer
//! without ever growing it past a bound, so a gzip bomb costs at most the bound. The
//! DEFLATE stream itself is inflated by `flate2`; the member header and trailer are read
//! here so that each failure maps onto the error InfluxDB 1.x (Go's `compress/gzip`)
//! reports.
//!
//! Algorithm, per member: read the 10-byte header (magic `1f 8b`, method 8, flags) and the
//! optional FEXTRA / FNAME / FCOMMENT / FHCRC fields; inflate the raw DEFLATE data in
//! fixed-size steps into a stack scratch buffer, handing each step on only while the running
//! total stays within `max_output_bytes`; read the 8-byte trailer and check CRC-32 and
//! ISIZE. When input remains, the next member starts; an empty remainder ends the body.
//!
//! Three ways to use it, one algorithm ([`GunzipStream`]): the whole body into a buffer
//! ([`gunzip_limited_detailed`]); the whole body checked and measured without keeping any
//! of it ([`verify`]: a large `/write` is verified before any of its points is written, so
//! a gzip error is answered as InfluxDB answers it, with nothing stored); or a bounded
//! piece at a time ([`GunzipStream::read_into`]: a large `/write` is then planned piece by
//! piece, so its memory follows the piece size, not the inflated size).
//!
//! What influxd 1.6.7 answers on `POST /write` (all `400` with a JSON body
//! `{"error":"<message>"}\n` and the same text in `X-Influxdb-Error`; the connection stays
//! open), and the [`GzipFailure`] that maps onto each ([`gunzip_limited_detailed`]):
//! - empty body: `EOF` ([`GzipFailure::Empty`]);
//! - wrong magic / method / flags: `gzip: invalid header` ([`GzipFailure::InvalidHeader`]);
//! - body ends inside a header, the DEFLATE data or the trailer, or fewer than 10 bytes of
//!   trailing garbage after a member: `unexpected EOF` ([`GzipFailure::UnexpectedEof`]);
//! - 10 or more bytes of trailing garbage: `gzip: invalid header`;
//! - CRC-32 or ISIZE mismatch: `gzip: invalid checksum` ([`GzipFailure::InvalidChecksum`]);
//! - bad DEFLATE data: `flate: corrupt input before offset N`
//!   ([`GzipFailure::CorruptDeflate`]; `N` here is flate2's count of consumed input bytes
//!   within the member's DEFLATE data, which can differ from Go's by a few bytes).
//! - `Content-Encoding` must be exactly `gzip` (case-sensitive): `GZIP` is not decoded and
//!   the compressed bytes reach the line-protocol parser.
//! - influxd applies `max-body-size` to the *compressed* bytes and does not bound the
//!   inflated size at all (a 1200-byte inflated body passes `max-body-size = 1000` when it
//!   compresses below 1000). [`GzipFailure::TooLarge`] is Sluice's own guard; answer it like
//!   an oversized body (413 `Request Entity Too Large`).

use flate2::{Crc, Decompress, FlushDecompress, Status};

/// Size of the stack buffer each inflate step writes into.
const INFLATE_STEP_BYTES: usize = 32 * 1024;
/// Length of the fixed part of a gzip member header.
const HEADER_FIXED_BYTES: usize = 10;
/// Length of a gzip member trailer (CRC-32 then ISIZE, little-endian).
const TRAILER_BYTES: usize = 8;
const MAGIC: [u8; 2] = [0x1f, 0x8b];
const METHOD_DEFLATE: u8 = 8;
const FLAG_HEADER_CRC: u8 = 0x02;
const FLAG_EXTRA: u8 = 0x04;
const FLAG_NAME: u8 = 0x08;
const FLAG_COMMENT: u8 = 0x10;
const FLAGS_RESERVED: u8 = 0xe0;

/// Why a gzip body could not be decoded, in the two classes the write handler answers
/// differently (400 or 413). [`gunzip_limited_detailed`] tells the exact failure.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum GzipError {
    /// Not a valid gzip body (400; see [`GzipFailure`] for the message).
    Corrupt,
    /// The inflated body would exceed the bound (413).
    TooLarge,
}

impl From<GzipFailure> for GzipError {
    fn from(failure: GzipFailure) -> Self {
        match failure {
            GzipFailure::TooLarge => GzipError::TooLarge,
            _ => GzipError::Corrupt,
        }
    }
}

/// Why a gzip body could not be decoded, precisely enough to give InfluxDB's message.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum GzipFailure {
    /// The body is empty (Go: `EOF`).
    Empty,
    /// Bad magic, method, reserved flags or header CRC (Go: `gzip: invalid header`).
    InvalidHeader,
    /// The body ends inside a member (Go: `unexpected EOF`).
    UnexpectedEof,
    /// CRC-32 or length in a member trailer does not match (Go: `gzip: invalid checksum`).
    InvalidChecksum,
    /// The DEFLATE data is corrupt (Go: `flate: corrupt input before offset N`).
    CorruptDeflate {
        /// Input bytes of the member's DEFLATE data consumed before the error was seen.
        offset: u64,
    },
    /// The inflated body would exceed `max_output_bytes`.
    TooLarge,
}

impl GzipFailure {
    /// The message InfluxDB 1.x puts in `{"error": ...}` for this failure (for
    /// [`GzipFailure::TooLarge`], the 413 text).
    pub fn influx_message(&self) -> String {
        match self {
            GzipFailure::Empty => "EOF".to_string(),
            GzipFailure::InvalidHeader => "gzip: invalid header".to_string(),
            GzipFailure::UnexpectedEof => "unexpected EOF".to_string(),
            GzipFailure::InvalidChecksum => "gzip: invalid checksum".to_string(),
            GzipFailure::CorruptDeflate { offset } => {
                format!("flate: corrupt input before offset {offset}")
            }
            GzipFailure::TooLarge => "Request Entity Too Large".to_string(),
        }
    }

    /// The HTTP status InfluxDB answers with: 413 for [`GzipFailure::TooLarge`], else 400.
    pub fn status(&self) -> u16 {
        match self {
            GzipFailure::TooLarge => 413,
            _ => 400,
        }
    }
}

/// Inflates the gzip members in `input`, appending the result to `out`. Fails with
/// [`GzipError::TooLarge`] once the output of this call would pass `max_output_bytes`;
/// `out` never grows by more than `max_output_bytes`. On error `out` holds a partial result.
pub fn gunzip_limited(
    input: &[u8],
    max_output_bytes: usize,
    out: &mut Vec<u8>,
) -> Result<(), GzipError> {
    gunzip_limited_detailed(input, max_output_bytes, out).map_err(GzipError::from)
}

/// [`gunzip_limited`] with the exact failure, for InfluxDB's error message
/// ([`GzipFailure::influx_message`]).
pub fn gunzip_limited_detailed(
    input: &[u8],
    max_output_bytes: usize,
    out: &mut Vec<u8>,
) -> Result<(), GzipFailure> {
    let mut stream = GunzipStream::new(input, max_output_bytes);
    while !stream.read_into(out, usize::MAX)? {}
    Ok(())
}

/// Inflates all of `input` without keeping the output: checks every header, the DEFLATE
/// data, every trailer's CRC-32 and length, and the `max_output_bytes` bound, holding only
/// one inflate step at a time. Returns the inflated length.
pub fn verify(input: &[u8], max_output_bytes: usize) -> Result<usize, GzipFailure> {
    let mut stream = GunzipStream::new(input, max_output_bytes);
    while !stream.inflate(usize::MAX, |_| {})? {}
    Ok(stream.produced_bytes)
}

/// The inflated size the last member of `input` declares in its trailer (ISIZE: the size
/// modulo 2^32), when `input` is long enough to have one. Only a hint: nothing is checked,
/// and the members before the last add to it. An event loop uses it to send a body that
/// says it is large to a large-write thread without inflating any of it.
pub fn declared_last_member_size(input: &[u8]) -> Option<u32> {
    if input.len() < HEADER_FIXED_BYTES + TRAILER_BYTES {
        return None;
    }
    let size = input.last_chunk::<4>()?;
    Some(u32::from_le_bytes(*size))
}

/// A gzip body inflated a bounded amount at a time: each call to [`GunzipStream::read_into`]
/// appends at most the bytes asked for, so the caller holds one piece of the inflated body
/// at a time, never all of it. Failures are those of [`gunzip_limited_detailed`], found when
/// the inflating reaches them (a bad trailer only once its member's data is all out).
pub struct GunzipStream<'a> {
    input: &'a [u8],
    /// index in `input` of the next member's header (meaningful between members)
    next_member: usize,
    /// the member being inflated: where its DEFLATE data starts, and the CRC-32 of its
    /// output so far; `None` between members
    member: Option<(usize, Crc)>,
    inflater: Decompress,
    max_output_bytes: usize,
    /// inflated bytes handed out so far; never more than `max_output_bytes`
    produced_bytes: usize,
    finished: bool,
}

impl<'a> GunzipStream<'a> {
    /// A stream over the gzip members of `input`, failing with [`GzipFailure::TooLarge`]
    /// once more than `max_output_bytes` would come out.
    pub fn new(input: &'a [u8], max_output_bytes: usize) -> GunzipStream<'a> {
        GunzipStream {
            input,
            next_member: 0,
            member: None,
            inflater: Decompress::new(false),
            max_output_bytes,
            produced_bytes: 0,
            finished: false,
        }
    }

    /// Appends at most `limit_bytes` more inflated bytes to `out`; `Ok(true)` once the whole
    /// body is inflated and checked (nothing more will come), `Ok(false)` when more remains.
    pub fn read_into(
        &mut self,
        out: &mut Vec<u8>,
        limit_bytes: usize,
    ) -> Result<bool, GzipFailure> {
        self.inflate(limit_bytes, |bytes| out.extend_from_slice(bytes))
    }

    /// Inflated bytes handed out so far.
    pub fn produced_bytes(&self) -> usize {
        self.produced_bytes
    }

    /// Inflates at most `limit_bytes`, giving them to `consume` one step at a time.
    fn inflate(
        &mut self,
        limit_bytes: usize,
        mut consume: impl FnMut(&[u8]),
    ) -> Result<bool, GzipFailure> {
        if self.input.is_empty() {
            return Err(GzipFailure::Empty);
        }
        let mut scratch = [0u8; INFLATE_STEP_BYTES];
        let mut left_bytes = limit_bytes;
        loop {
            if self.finished {
                return Ok(true);
            }
            let Some((data_start, crc)) = &mut self.member else {
                if self.next_member == self.input.len() {
                    self.finished = true;
                    return Ok(true);
                }
                let member = self.input.get(self.next_member..).unwrap_or_default();
                let data_start = self.next_member + header_length(member)?;
                self.inflater.reset(false);
                self.member = Some((data_start, Crc::new()));
                continue;
            };
            if left_bytes == 0 {
                return Ok(false);
            }
            let data = self
                .input
                .get(*data_start..)
                .ok_or(GzipFailure::UnexpectedEof)?;
            let step = scratch
                .get_mut(..left_bytes.min(INFLATE_STEP_BYTES))
                .unwrap_or_default();
            let (produced, ended) = inflate_step(&mut self.inflater, data, step)?;
            if produced > self.max_output_bytes - self.produced_bytes {
                return Err(GzipFailure::TooLarge);
            }
            let fresh = step.get(..produced).unwrap_or_default();
            crc.update(fresh);
            consume(fresh);
            self.produced_bytes += produced;
            left_bytes -= produced;
            if ended {
                let trailer_start = *data_start + self.inflater.total_in() as usize;
                let trailer = self
                    .input
                    .get(trailer_start..trailer_start + TRAILER_BYTES)
                    .ok_or(GzipFailure::UnexpectedEof)?;
                check_trailer(trailer, crc)?;
                self.next_member = trailer_start + TRAILER_BYTES;
                self.member = None;
            }
        }
    }
}

/// Validates a member header at the start of `member` and returns its length in bytes.
fn header_length(member: &[u8]) -> Result<usize, GzipFailure> {
    let fixed = member
        .get(..HEADER_FIXED_BYTES)
        .ok_or(GzipFailure::UnexpectedEof)?;
    let (magic, method, flags) = (&fixed[..2], fixed[2], fixed[3]);
    if magic != MAGIC || method != METHOD_DEFLATE || flags & FLAGS_RESERVED != 0 {
        return Err(GzipFailure::InvalidHeader);
    }
    let mut position = HEADER_FIXED_BYTES;
    if flags & FLAG_EXTRA != 0 {
        let length_bytes = member
            .get(position..position + 2)
            .ok_or(GzipFailure::UnexpectedEof)?;
        let extra_bytes = usize::from(u16::from_le_bytes([length_bytes[0], length_bytes[1]]));
        position += 2 + extra_bytes;
    }
    for flag in [FLAG_NAME, FLAG_COMMENT] {
        if flags & flag != 0 {
            let field = member.get(position..).ok_or(GzipFailure::UnexpectedEof)?;
            let nul = memchr::memchr(0, field).ok_or(GzipFailure::UnexpectedEof)?;
            position += nul + 1;
        }
    }
    if flags & FLAG_HEADER_CRC != 0 {
        let stored = member
            .get(position..position + 2)
            .ok_or(GzipFailure::UnexpectedEof)?;
        let mut crc = Crc::new();
        crc.update(member.get(..position).ok_or(GzipFailure::UnexpectedEof)?);
        if crc.sum() & 0xffff != u32::from(u16::from_le_bytes([stored[0], stored[1]])) {
            return Err(GzipFailure::InvalidHeader);
        }
        position += 2;
    }
    if position > member.len() {
        return Err(GzipFailure::UnexpectedEof);
    }
    Ok(position)
}

/// One inflate call over a member's DEFLATE `data` (from the start; the inflater knows how
/// much it took) into `out`; returns the bytes produced and whether the member's data ended.
fn inflate_step(
    inflater: &mut Decompress,
    data: &[u8],
    out: &mut [u8],
) -> Result<(usize, bool), GzipFailure> {
    let consumed_before = inflater.total_in();
    let produced_before = inflater.total_out();
    let pending = data.get(consumed_before as usize..).unwrap_or_default();
    let status = inflater
        .decompress(pending, out, FlushDecompress::None)
        .map_err(|_| GzipFailure::CorruptDeflate {
            offset: inflater.total_in(),
        })?;
    let produced = (inflater.total_out() - produced_before) as usize;
    match status {
        Status::StreamEnd => Ok((produced, true)),
        Status::Ok | Status::BufError => {
            if produced == 0 && inflater.total_in() == consumed_before {
                // No progress: the DEFLATE data stops before its final block.
                return Err(GzipFailure::UnexpectedEof);
            }
            Ok((produced, false))
        }
    }
}

fn check_trailer(trailer: &[u8], crc: &Crc) -> Result<(), GzipFailure> {
    let word = |at: usize| -> Option<u32> {
        let bytes = trailer.get(at..at + 4)?;
        Some(u32::from_le_bytes([bytes[0], bytes[1], bytes[2], bytes[3]]))
    };
    match (word(0), word(4)) {
        (Some(stored_crc), Some(stored_size)) => {
            if stored_crc != crc.sum() || stored_size != crc.amount() {
                Err(GzipFailure::InvalidChecksum)
            } else {
                Ok(())
            }
        }
        _ => Err(GzipFailure::UnexpectedEof),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use flate2::write::GzEncoder;
    use flate2::{Compression, GzBuilder};
    use std::io::Write;

    fn gzip(data: &[u8]) -> Vec<u8> {
        let mut encoder = GzEncoder::new(Vec::new(), Compression::default());
        encoder.write_all(data).expect("BUG: in-memory write");
        encoder.finish().expect("BUG: in-memory finish")
    }

    fn gunzip(input: &[u8], max: usize) -> Result<Vec<u8>, GzipFailure> {
        let mut out = Vec::new();
        gunzip_limited_detailed(input, max, &mut out).map(|()| out)
    }

    #[test]
    fn round_trip_and_concatenated_members() {
        assert_eq!(gunzip(&gzip(b"m v=1\n"), 100), Ok(b"m v=1\n".to_vec()));
        let mut two = gzip(b"a v=1\n");
        two.extend(gzip(b"b v=2\n"));
        assert_eq!(gunzip(&two, 100), Ok(b"a v=1\nb v=2\n".to_vec()));
        assert_eq!(gunzip(&gzip(b""), 0), Ok(Vec::new()));
    }

    #[test]
    fn optional_header_fields() {
        let mut encoder = GzBuilder::new()
            .filename("f.txt")
            .comment("c")
            .extra(vec![1, 2, 3])
            .write(Vec::new(), Compression::fast());
        encoder.write_all(b"hello").expect("BUG: in-memory write");
        let body = encoder.finish().expect("BUG: in-memory finish");
        assert_eq!(gunzip(&body, 5), Ok(b"hello".to_vec()));
    }

    #[test]
    fn header_crc_is_checked() {
        // FHCRC member built by hand: header, CRC16 of the header, stored block.
        let mut member = vec![0x1f, 0x8b, 8, FLAG_HEADER_CRC, 0, 0, 0, 0, 0, 255];
        let mut crc = Crc::new();
        crc.update(&member);
        let crc16 = (crc.sum() & 0xffff) as u16;
        member.extend(crc16.to_le_bytes());
        let deflate = &gzip(b"abc")[10..];
        member.extend_from_slice(deflate);
        assert_eq!(gunzip(&member, 10), Ok(b"abc".to_vec()));
        member[10] ^= 1;
        assert_eq!(gunzip(&member, 10), Err(GzipFailure::InvalidHeader));
    }

    #[test]
    fn limit_is_exact_and_bomb_is_refused() {
        let data = vec![b'x'; 10_000];
        assert_eq!(gunzip(&gzip(&data), 10_000).map(|v| v.len()), Ok(10_000));
        assert_eq!(gunzip(&gzip(&data), 9_999), Err(GzipFailure::TooLarge));
        let bomb = gzip(&vec![0u8; 4 * 1024 * 1024]);
        let mut out = Vec::new();
        assert_eq!(
            gunzip_limited(&bomb, 1024, &mut out),
            Err(GzipError::TooLarge)
        );
        assert!(out.len() <= 1024);
        assert!(out.capacity() <= 64 * 1024);
    }

    #[test]
    fn errors_match_influxdb() {
        let good = gzip(&b"m v=1\n".repeat(100));
        assert_eq!(gunzip(b"", 100), Err(GzipFailure::Empty));
        assert_eq!(
            gunzip(b"notgzip at all", 100),
            Err(GzipFailure::InvalidHeader)
        );
        assert_eq!(gunzip(&good[..5], 1000), Err(GzipFailure::UnexpectedEof));
        assert_eq!(gunzip(&good[..10], 1000), Err(GzipFailure::UnexpectedEof));
        assert_eq!(
            gunzip(&good[..good.len() - 3], 1000),
            Err(GzipFailure::UnexpectedEof)
        );
        let mut bad_crc = good.clone();
        let crc_at = bad_crc.len() - 6;
        bad_crc[crc_at] ^= 0xff;
        assert_eq!(gunzip(&bad_crc, 1000), Err(GzipFailure::InvalidChecksum));
        let mut bad_size = good.clone();
        let size_at = bad_size.len() - 2;
        bad_size[size_at] ^= 0xff;
        assert_eq!(gunzip(&bad_size, 1000), Err(GzipFailure::InvalidChecksum));
        let mut trailing = good.clone();
        trailing.extend_from_slice(b"xyz");
        assert_eq!(gunzip(&trailing, 1000), Err(GzipFailure::UnexpectedEof));
        trailing.extend_from_slice(b"0123456789");
        assert_eq!(gunzip(&trailing, 1000), Err(GzipFailure::InvalidHeader));
        let corrupt = b"\x1f\x8b\x08\x00garbagegarbage";
        assert!(matches!(
            gunzip(corrupt, 1000),
            Err(GzipFailure::CorruptDeflate { .. })
        ));
    }

    #[test]
    fn a_stream_read_in_small_pieces_gives_the_whole_body() {
        let data: Vec<u8> = (0..200_000u32).flat_map(|n| n.to_le_bytes()).collect();
        let mut body = gzip(&data[..300_000]);
        body.extend(gzip(&data[300_000..]));
        for limit in [1, 7, 4096, 65_536, 1 << 20] {
            let mut stream = GunzipStream::new(&body, data.len());
            let mut out = Vec::new();
            let mut calls = 0;
            loop {
                let before = out.len();
                let finished = stream.read_into(&mut out, limit).unwrap();
                assert!(out.len() - before <= limit, "a read gave more than asked");
                calls += 1;
                if finished {
                    break;
                }
            }
            assert_eq!(out, data, "limit {limit}");
            assert_eq!(stream.produced_bytes(), data.len());
            assert!(calls >= data.len() / limit);
        }
        assert_eq!(verify(&body, data.len()), Ok(data.len()));
        assert_eq!(verify(&body, data.len() - 1), Err(GzipFailure::TooLarge));
    }

    #[test]
    fn a_stream_meets_a_bad_trailer_only_at_its_member_end() {
        let data = vec![b'x'; 100_000];
        let mut body = gzip(&data);
        let crc_at = body.len() - 6;
        body[crc_at] ^= 0xff;
        let mut stream = GunzipStream::new(&body, usize::MAX);
        let mut out = Vec::new();
        assert_eq!(stream.read_into(&mut out, 50_000), Ok(false));
        assert_eq!(out.len(), 50_000);
        assert_eq!(
            stream.read_into(&mut out, usize::MAX),
            Err(GzipFailure::InvalidChecksum)
        );
        assert_eq!(verify(&body, usize::MAX), Err(GzipFailure::InvalidChecksum));
        assert_eq!(verify(b"", 10), Err(GzipFailure::Empty));
    }

    #[test]
    fn the_declared_size_is_the_last_members() {
        assert_eq!(
            declared_last_member_size(&gzip(&[7u8; 70_000])),
            Some(70_000)
        );
        let mut two = gzip(&[1u8; 5]);
        two.extend(gzip(&[2u8; 9]));
        assert_eq!(declared_last_member_size(&two), Some(9));
        assert_eq!(declared_last_member_size(b"\x1f\x8b\x08"), None);
    }

    #[test]
    fn messages_and_statuses() {
        assert_eq!(GzipFailure::Empty.influx_message(), "EOF");
        assert_eq!(
            GzipFailure::CorruptDeflate { offset: 8 }.influx_message(),
            "flate: corrupt input before offset 8"
        );
        assert_eq!(GzipFailure::TooLarge.status(), 413);
        assert_eq!(GzipFailure::InvalidChecksum.status(), 400);
        assert_eq!(GzipError::from(GzipFailure::Empty), GzipError::Corrupt);
    }
}
