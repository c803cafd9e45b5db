//! The parts of a collectd binary-protocol datagram, read without copying.
//!
//! Owns the wire layout only; what the parts mean is [`super`]'s business.
//!
//! ```text
//! datagram := part*
//! part     := type: u16 BE | length: u16 BE (header included, >= 5) | payload[length - 4]
//! string   := bytes NUL                         (host, plugin, instances, type)
//! number   := u64 BE                            (time, time-hr, interval, interval-hr)
//! values   := count: u16 BE | kind[count] | value[count] (8 bytes each)
//! value    := COUNTER 0: u64 BE | GAUGE 1: f64 LE | DERIVE 2: i64 BE
//! ```
//!
//! go-collectd (InfluxDB 1.6.7) rejects ABSOLUTE (3) and every other kind byte, a string
//! without its final NUL, a number part that is not 8 bytes, and a values part whose length
//! is not `2 + 9 * count`. Any such error drops the whole datagram.

use super::CollectdError;

/// Part type: host name (string).
pub const PART_HOST: u16 = 0x0000;
/// Part type: time in seconds (number).
pub const PART_TIME: u16 = 0x0001;
/// Part type: plugin (string).
pub const PART_PLUGIN: u16 = 0x0002;
/// Part type: plugin instance (string).
pub const PART_PLUGIN_INSTANCE: u16 = 0x0003;
/// Part type: type (string).
pub const PART_TYPE: u16 = 0x0004;
/// Part type: type instance (string).
pub const PART_TYPE_INSTANCE: u16 = 0x0005;
/// Part type: values.
pub const PART_VALUES: u16 = 0x0006;
/// Part type: interval in seconds (number).
pub const PART_INTERVAL: u16 = 0x0007;
/// Part type: time in 2^-30 s units (number).
pub const PART_TIME_HR: u16 = 0x0008;
/// Part type: interval in 2^-30 s units (number).
pub const PART_INTERVAL_HR: u16 = 0x0009;
/// Part type: notification message (ignored, like every unknown part).
pub const PART_MESSAGE: u16 = 0x0100;
/// Part type: notification severity (ignored).
pub const PART_SEVERITY: u16 = 0x0101;
/// Part type: HMAC-SHA-256 signature of the rest of the datagram.
pub const PART_SIGN_SHA256: u16 = 0x0200;
/// Part type: AES-256-OFB encrypted datagram.
pub const PART_ENCRYPT_AES256: u16 = 0x0210;

/// Bytes of a part header (type and length).
pub const PART_HEADER_BYTES: usize = 4;
/// Smallest valid part length, header included.
const PART_LENGTH_MIN: usize = 5;
/// Bytes of a number part's payload.
pub const NUMBER_BYTES: usize = 8;
/// Bytes of the value count in a values part.
const VALUE_COUNT_BYTES: usize = 2;
/// Bytes of one value on the wire.
pub const VALUE_BYTES: usize = 8;

/// Wire kind byte: COUNTER.
pub const KIND_COUNTER: u8 = 0;
/// Wire kind byte: GAUGE.
pub const KIND_GAUGE: u8 = 1;
/// Wire kind byte: DERIVE.
pub const KIND_DERIVE: u8 = 2;
/// Wire kind byte: ABSOLUTE (rejected by InfluxDB 1.6.7).
pub const KIND_ABSOLUTE: u8 = 3;

/// One value as sent.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum WireValue {
    /// unsigned counter
    Counter(u64),
    /// float sample
    Gauge(f64),
    /// signed counter
    Derive(i64),
}

/// The error go-collectd reports for most malformed data.
pub fn invalid_data() -> CollectdError {
    CollectdError("invalid data".into())
}

/// One part: its type, payload, and the bytes after it.
#[derive(Debug, Clone, Copy)]
pub struct Part<'a> {
    /// part type
    pub kind: u16,
    /// payload (header removed)
    pub payload: &'a [u8],
    /// every byte after this part (what a signature covers)
    pub rest: &'a [u8],
}

/// Splits the first part off `bytes` (which must not be empty).
pub fn next_part(bytes: &[u8]) -> Result<Part<'_>, CollectdError> {
    let (Some(kind), Some(length)) = (read_u16(bytes, 0), read_u16(bytes, 2)) else {
        return Err(invalid_data());
    };
    let length = usize::from(length);
    let after_header = bytes.get(PART_HEADER_BYTES..).unwrap_or_default();
    if length < PART_LENGTH_MIN || length - PART_HEADER_BYTES > after_header.len() {
        return Err(CollectdError(format!("invalid length {length}")));
    }
    let (payload, rest) = after_header.split_at(length - PART_HEADER_BYTES);
    Ok(Part {
        kind,
        payload,
        rest,
    })
}

fn read_u16(bytes: &[u8], at: usize) -> Option<u16> {
    let pair = bytes.get(at..at + 2)?;
    Some(u16::from_be_bytes([*pair.first()?, *pair.get(1)?]))
}

/// A string part's text (without its NUL).
pub fn string_payload(payload: &[u8]) -> Result<&[u8], CollectdError> {
    match payload.split_last() {
        Some((0, text)) => Ok(text),
        _ => Err(invalid_data()),
    }
}

/// A number part's value.
pub fn number_payload(payload: &[u8]) -> Result<u64, CollectdError> {
    let bytes = <[u8; NUMBER_BYTES]>::try_from(payload).map_err(|_| invalid_data())?;
    Ok(u64::from_be_bytes(bytes))
}

/// A checked values part: the kinds and the values, iterated without allocating.
#[derive(Debug, Clone, Copy)]
pub struct Values<'a> {
    kinds: &'a [u8],
    data: &'a [u8],
}

impl<'a> Values<'a> {
    /// Checks a values part's payload.
    pub fn parse(payload: &'a [u8]) -> Result<Values<'a>, CollectdError> {
        let Some(count) = read_u16(payload, 0) else {
            return Err(CollectdError("unexpected EOF".into()));
        };
        let count = usize::from(count);
        let body = payload.get(VALUE_COUNT_BYTES..).unwrap_or_default();
        if count * (1 + VALUE_BYTES) != body.len() {
            return Err(invalid_data());
        }
        let (kinds, data) = body.split_at(count);
        if kinds
            .iter()
            .any(|&kind| !matches!(kind, KIND_COUNTER | KIND_GAUGE | KIND_DERIVE))
        {
            return Err(invalid_data());
        }
        Ok(Values { kinds, data })
    }

    /// Number of values.
    pub fn len(&self) -> usize {
        self.kinds.len()
    }

    /// Whether there are no values.
    pub fn is_empty(&self) -> bool {
        self.kinds.is_empty()
    }

    /// The values in order.
    pub fn iter(&self) -> impl Iterator<Item = WireValue> + Clone + 'a {
        self.kinds
            .iter()
            .zip(self.data.chunks_exact(VALUE_BYTES))
            .map(|(&kind, chunk)| {
                let mut bytes = [0u8; VALUE_BYTES];
                bytes.copy_from_slice(chunk);
                match kind {
                    KIND_GAUGE => WireValue::Gauge(f64::from_le_bytes(bytes)),
                    KIND_DERIVE => WireValue::Derive(i64::from_be_bytes(bytes)),
                    _ => WireValue::Counter(u64::from_be_bytes(bytes)),
                }
            })
    }
}
