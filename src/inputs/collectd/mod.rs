//! The collectd binary network protocol (InfluxDB 1.x `[[collectd]]`): one datagram in, line
//! protocol out.
//!
//! Owns decoding a datagram into the points InfluxDB 1.6.7 stores for it; sockets, batching
//! and writing belong to the input service (`super`). Nothing here does I/O.
//!
//! # Algorithm
//!
//! The datagram (cut to [`DATAGRAM_BYTES_MAX`], influxd's receive buffer) is read part by part
//! ([`parts`]) while an identity (host, plugin, plugin instance, type, type instance, time) is
//! carried along. Each values part becomes one *value list* with the current identity:
//!
//! 1. Its type is looked up in `types.db` ([`types_db`]); an unknown type, or a value count
//!    different from the type's data-source count, skips the value list (not an error).
//! 2. Each wire value is cast to its data source's kind as Go converts numbers (a gauge `3.7`
//!    sent for a DERIVE source is `3`; `-5` DERIVE for a COUNTER source is `2^64 - 5`), then
//!    to float64. Every stored field is a float.
//! 3. Value lists with no time part, or a time outside InfluxDB's range, store nothing; a
//!    point whose field is NaN or ±Inf is dropped (in `join` mode the whole point).
//! 4. Points are written with explicit nanosecond timestamps:
//!    - split (`parse-multivalue-plugin = "split"`): one point per data source, measurement
//!      `<plugin>_<dsname>`, field `value`;
//!    - join: one point per value list, measurement `<plugin>`, one field per data source
//!      named after it (a repeated name keeps its last value; a source named `time` is not
//!      stored, as influxd drops that field key);
//!    - tags in both modes: `host`, `instance` (plugin instance), `type`, `type_instance`,
//!      each only when non-empty.
//!
//! A signature part (0x0200) is checked (HMAC-SHA-256 over the rest of the datagram with the
//! user's password from the auth file) and the rest is parsed again as *signed*, with a fresh
//! identity; then reading goes on after the signature part as before (so at security level
//! `none` a signed datagram yields its points twice, identical ones, as influxd does). An
//! encryption part (0x0210) is decrypted ([`crypto`]) and its plaintext parsed as
//! *encrypted*, with a fresh identity. A value list is kept only if its section's level is at
//! least the configured [`SecurityLevel`]. Messages, severities and unknown parts are skipped.
//!
//! Any malformed part, failed signature, failed decryption or unknown user rejects the whole
//! datagram: `decode_packet` returns an error and leaves `out` as it was.
//!
//! # Differences from influxd (deliberate)
//!
//! - Points that line protocol cannot express (a name or tag value with a newline, a tag
//!   value ending in a backslash, an empty `join` measurement) are skipped; influxd stores
//!   them.
//! - Signature/encryption parts nested deeper than [`NESTING_DEPTH_MAX`] reject the datagram
//!   (influxd re-parses the rest once per signature and can be made to work exponentially).
//! - A 1-byte encryption part is an error here; it crashes influxd.
//!
//! # Invariants
//!
//! Nothing is allocated per value: names, tags and values are escaped straight into `out`
//! (only decryption allocates, once per encrypted part). Every line appended parses with
//! `line_protocol::Parser` back to the point described above.

pub mod crypto;
pub mod parts;
pub mod types_db;

#[cfg(test)]
mod tests;

use super::gocompat::{float_to_i64, float_to_u64};
use crate::line_protocol::format::append_i64;
use crate::line_protocol::{append_float, escape_into, is_expressible, EscapeKind};
use crypto::AuthFile;
use parts::{Values, WireValue};
use types_db::{DataSourceKind, TypesDb};

/// Bytes of a datagram that are read; influxd's receive buffer holds 1452 bytes (collectd's
/// default packet size) and the kernel drops the rest of a longer datagram.
pub const DATAGRAM_BYTES_MAX: usize = 1452;
/// Most signature/encryption parts inside each other that a datagram may hold.
pub const NESTING_DEPTH_MAX: usize = 8;
/// Earliest timestamp InfluxDB stores (`models.MinNanoTime`).
const TIME_NS_MIN: i128 = i64::MIN as i128 + 2;
/// Latest timestamp InfluxDB stores (`models.MaxNanoTime`).
const TIME_NS_MAX: i128 = i64::MAX as i128 - 1;
/// Nanoseconds per second.
const NANOS_PER_SECOND: i128 = 1_000_000_000;
/// collectd's high-resolution times are in units of 2^-30 s.
const TIME_HR_FRACTION_BITS: u32 = 30;
/// A field InfluxDB never stores (join mode only; split mode's field is `value`).
const TIME_FIELD_KEY: &[u8] = b"time";
/// Stack room for a split-mode measurement name; longer ones go to the heap.
const MEASUREMENT_STACK_BYTES: usize = 256;

/// Why a collectd packet was rejected.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CollectdError(pub String);

impl std::fmt::Display for CollectdError {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter.write_str(&self.0)
    }
}

/// `security-level`: the least protection a value list needs to be kept. Ordered
/// `None < Sign < Encrypt`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum SecurityLevel {
    /// accept unsigned, unencrypted packets
    None,
    /// require signed (or encrypted) packets
    Sign,
    /// require encrypted packets
    Encrypt,
}

/// Decodes collectd packets into line protocol.
#[derive(Debug, Clone)]
pub struct CollectdDecoder {
    types_db: TypesDb,
    security: SecurityLevel,
    /// `None`: no auth file, so every signed or encrypted part is rejected
    auth: Option<AuthFile>,
    split_multivalue: bool,
}

/// The identity and time carried from part to part; slices borrow the datagram (or a
/// decrypted plaintext).
#[derive(Debug, Clone, Copy, Default)]
struct Identity<'a> {
    host: &'a [u8],
    plugin: &'a [u8],
    plugin_instance: &'a [u8],
    type_name: &'a [u8],
    type_instance: &'a [u8],
    /// `None` until a time part is seen (Go's zero time, which influxd cannot store)
    time_ns: Option<i128>,
}

impl CollectdDecoder {
    /// Builds a decoder: `types_db` is the text of one or more types.db files (`None` = the
    /// bundled standard one); `auth_file` is the text of the auth file (user: password lines).
    pub fn new(
        types_db: Option<&str>,
        security: SecurityLevel,
        auth_file: Option<&str>,
        split_multivalue: bool,
    ) -> Result<CollectdDecoder, String> {
        let types_db = TypesDb::parse(types_db.unwrap_or(types_db::BUNDLED_TYPES_DB));
        Ok(CollectdDecoder {
            types_db,
            security,
            auth: auth_file.map(AuthFile::parse),
            split_multivalue,
        })
    }

    /// Decodes one datagram, appending line protocol to `out`; returns the number of points.
    /// On error `out` is left as it was. `now_ns` is unused: a value list without a time part
    /// is not stored (as in influxd).
    pub fn decode_packet(
        &self,
        datagram: &[u8],
        now_ns: i64,
        out: &mut Vec<u8>,
    ) -> Result<usize, CollectdError> {
        let _ = now_ns;
        let mark = out.len();
        let datagram = datagram.get(..DATAGRAM_BYTES_MAX).unwrap_or(datagram);
        let mut points = 0;
        match self.parse(datagram, SecurityLevel::None, 0, out, &mut points) {
            Ok(()) => Ok(points),
            Err(error) => {
                out.truncate(mark);
                Err(error)
            }
        }
    }

    /// Reads every part of `bytes`, a section protected at `level`.
    fn parse(
        &self,
        mut bytes: &[u8],
        level: SecurityLevel,
        depth: usize,
        out: &mut Vec<u8>,
        points: &mut usize,
    ) -> Result<(), CollectdError> {
        let mut identity = Identity::default();
        while !bytes.is_empty() {
            let part = parts::next_part(bytes)?;
            bytes = part.rest;
            match part.kind {
                parts::PART_HOST => identity.host = parts::string_payload(part.payload)?,
                parts::PART_PLUGIN => identity.plugin = parts::string_payload(part.payload)?,
                parts::PART_PLUGIN_INSTANCE => {
                    identity.plugin_instance = parts::string_payload(part.payload)?
                }
                parts::PART_TYPE => identity.type_name = parts::string_payload(part.payload)?,
                parts::PART_TYPE_INSTANCE => {
                    identity.type_instance = parts::string_payload(part.payload)?
                }
                parts::PART_TIME => {
                    let seconds = parts::number_payload(part.payload)? as i64;
                    identity.time_ns = Some(i128::from(seconds) * NANOS_PER_SECOND);
                }
                parts::PART_TIME_HR => {
                    identity.time_ns = Some(time_hr_ns(parts::number_payload(part.payload)?));
                }
                parts::PART_INTERVAL | parts::PART_INTERVAL_HR => {
                    parts::number_payload(part.payload)?;
                }
                parts::PART_VALUES => {
                    let values = Values::parse(part.payload)?;
                    if level >= self.security {
                        *points += self.append_value_list(&identity, values, out);
                    }
                }
                parts::PART_SIGN_SHA256 => {
                    let depth = nested(depth)?;
                    crypto::verify_signature(part.payload, part.rest, self.auth.as_ref())?;
                    self.parse(part.rest, SecurityLevel::Sign, depth, out, points)?;
                }
                parts::PART_ENCRYPT_AES256 => {
                    let depth = nested(depth)?;
                    let plaintext = crypto::decrypt(part.payload, self.auth.as_ref())?;
                    self.parse(&plaintext, SecurityLevel::Encrypt, depth, out, points)?;
                }
                _ => {}
            }
        }
        Ok(())
    }

    /// Appends the points of one value list; returns how many.
    fn append_value_list(
        &self,
        identity: &Identity<'_>,
        values: Values<'_>,
        out: &mut Vec<u8>,
    ) -> usize {
        let Some(data_set) = self.types_db.data_set(identity.type_name) else {
            return 0;
        };
        if data_set.sources.len() != values.len() {
            return 0;
        }
        let Some(time_ns) = identity
            .time_ns
            .filter(|t| (TIME_NS_MIN..=TIME_NS_MAX).contains(t))
        else {
            return 0;
        };
        let time_ns = time_ns as i64;
        if !tags_expressible(identity) {
            return 0;
        }
        let fields = data_set
            .sources
            .iter()
            .zip(values.iter())
            .map(|(source, value)| (source.name.as_bytes(), to_float(value, source.kind)));
        if self.split_multivalue {
            let mut points = 0;
            for (name, value) in fields {
                if value.is_finite() && append_split_point(identity, name, value, time_ns, out) {
                    points += 1;
                }
            }
            points
        } else {
            usize::from(append_joined_point(identity, fields, time_ns, out))
        }
    }
}

/// One more level of signature/encryption nesting, or an error past the limit.
fn nested(depth: usize) -> Result<usize, CollectdError> {
    if depth >= NESTING_DEPTH_MAX {
        return Err(CollectdError(format!(
            "signature/encryption parts nested deeper than {NESTING_DEPTH_MAX}"
        )));
    }
    Ok(depth + 1)
}

/// A 2^-30 s time in nanoseconds, rounded half up as collectd's `cdtime` does.
fn time_hr_ns(time_hr: u64) -> i128 {
    let seconds = i128::from(time_hr >> TIME_HR_FRACTION_BITS);
    let fraction = i128::from(time_hr & ((1 << TIME_HR_FRACTION_BITS) - 1));
    let half_unit = 1i128 << (TIME_HR_FRACTION_BITS - 1);
    let nanos = (fraction * NANOS_PER_SECOND + half_unit) >> TIME_HR_FRACTION_BITS;
    seconds * NANOS_PER_SECOND + nanos
}

/// A wire value cast to its data source's kind (as go-collectd's reflect conversion does),
/// then to float64 (as the InfluxDB service does).
fn to_float(value: WireValue, kind: DataSourceKind) -> f64 {
    match (value, kind) {
        (WireValue::Gauge(gauge), DataSourceKind::Gauge) => gauge,
        (WireValue::Gauge(gauge), DataSourceKind::Derive) => float_to_i64(gauge) as f64,
        (WireValue::Gauge(gauge), DataSourceKind::Counter) => float_to_u64(gauge) as f64,
        (WireValue::Derive(derive), DataSourceKind::Counter) => derive as u64 as f64,
        (WireValue::Derive(derive), _) => derive as f64,
        (WireValue::Counter(counter), DataSourceKind::Derive) => counter as i64 as f64,
        (WireValue::Counter(counter), _) => counter as f64,
    }
}

/// The tags of a point, in InfluxDB's (sorted) order, empty ones left out.
fn tags<'a>(identity: &Identity<'a>) -> [(&'static [u8], &'a [u8]); 4] {
    [
        (b"host", identity.host),
        (b"instance", identity.plugin_instance),
        (b"type", identity.type_name),
        (b"type_instance", identity.type_instance),
    ]
}

fn tags_expressible(identity: &Identity<'_>) -> bool {
    tags(identity)
        .iter()
        .all(|(_, value)| value.is_empty() || survives_escaping(value, EscapeKind::TagValue))
}

/// Whether `raw` escaped as `kind` parses back to `raw`: [`is_expressible`], and no odd run
/// of backslashes right before a byte that escaping prefixes (`a\ b` escapes to `a\\ b`,
/// which the parser reads as `a\\` ending at the space).
fn survives_escaping(raw: &[u8], kind: EscapeKind) -> bool {
    if !is_expressible(raw, kind) {
        return false;
    }
    let mut odd_run = false;
    for &byte in raw {
        if byte == b'\\' {
            odd_run = !odd_run;
            continue;
        }
        if odd_run && kind.escapes(byte) {
            return false;
        }
        odd_run = false;
    }
    true
}

fn append_tags(identity: &Identity<'_>, out: &mut Vec<u8>) {
    for (key, value) in tags(identity) {
        if !value.is_empty() {
            out.push(b',');
            out.extend_from_slice(key);
            out.push(b'=');
            escape_into(value, EscapeKind::TagValue, out);
        }
    }
}

/// Appends ` <time>\n`.
fn append_timestamp(time_ns: i64, out: &mut Vec<u8>) {
    out.push(b' ');
    append_i64(time_ns, out);
    out.push(b'\n');
}

/// Split mode: `<plugin>_<dsname>,tags value=<v> <t>`; false when not expressible.
fn append_split_point(
    identity: &Identity<'_>,
    source_name: &[u8],
    value: f64,
    time_ns: i64,
    out: &mut Vec<u8>,
) -> bool {
    let length = identity.plugin.len() + 1 + source_name.len();
    let mut stack = [0u8; MEASUREMENT_STACK_BYTES];
    let mut heap = Vec::new();
    let name: &mut [u8] = match stack.get_mut(..length) {
        Some(room) => room,
        None => {
            heap.resize(length, 0);
            &mut heap
        }
    };
    let (plugin_room, rest) = name.split_at_mut(identity.plugin.len());
    plugin_room.copy_from_slice(identity.plugin);
    if let Some((underscore, source_room)) = rest.split_first_mut() {
        *underscore = b'_';
        source_room.copy_from_slice(source_name);
    }
    if !survives_escaping(name, EscapeKind::Measurement) {
        return false;
    }
    escape_into(name, EscapeKind::Measurement, out);
    append_tags(identity, out);
    out.extend_from_slice(b" value=");
    append_float(value, out);
    append_timestamp(time_ns, out);
    true
}

/// Join mode: `<plugin>,tags ds1=<v1>,ds2=<v2> <t>`; false when dropped (a non-finite field,
/// no fields, or not expressible).
fn append_joined_point<'a>(
    identity: &Identity<'_>,
    fields: impl Iterator<Item = (&'a [u8], f64)> + Clone,
    time_ns: i64,
    out: &mut Vec<u8>,
) -> bool {
    // A repeated data-source name keeps its last value, as Go's field map does.
    let is_last = |index: usize, name: &[u8]| {
        !fields
            .clone()
            .skip(index + 1)
            .any(|(later, _)| later == name)
    };
    // influxd rejects the whole point for a non-finite value, then drops a field named
    // `time` when storing it, and the point if nothing is left.
    let kept = |index: usize, name: &[u8]| is_last(index, name) && name != TIME_FIELD_KEY;
    let mut any = false;
    for (index, (name, value)) in fields.clone().enumerate() {
        if is_last(index, name) && !value.is_finite() {
            return false;
        }
        if kept(index, name) {
            if !survives_escaping(name, EscapeKind::FieldKey) {
                return false;
            }
            any = true;
        }
    }
    if !any || !survives_escaping(identity.plugin, EscapeKind::Measurement) {
        return false;
    }
    escape_into(identity.plugin, EscapeKind::Measurement, out);
    append_tags(identity, out);
    let mut separator = b' ';
    for (index, (name, value)) in fields.clone().enumerate() {
        if kept(index, name) {
            out.push(separator);
            separator = b',';
            escape_into(name, EscapeKind::FieldKey, out);
            out.push(b'=');
            append_float(value, out);
        }
    }
    append_timestamp(time_ns, out);
    true
}
