//! Line protocol: parsing request bodies into borrowed points, and formatting points back.
//!
//! STUB: the real parser replaces this file. The public API below is the contract.

/// Timestamp precision of a write (`precision=` on /write).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Precision {
    /// nanoseconds (`n`, `ns`, or absent)
    Nanosecond,
    /// microseconds (`u`, `µ`)
    Microsecond,
    /// milliseconds (`ms`)
    Millisecond,
    /// seconds (`s`)
    Second,
    /// minutes (`m`)
    Minute,
    /// hours (`h`)
    Hour,
}

impl Precision {
    /// Parses the `precision` query parameter as InfluxDB 1.x accepts it.
    pub fn from_param(text: &str) -> Option<Precision> {
        match text {
            "" | "n" | "ns" => Some(Precision::Nanosecond),
            "u" | "µ" | "us" => Some(Precision::Microsecond),
            "ms" => Some(Precision::Millisecond),
            "s" => Some(Precision::Second),
            "m" => Some(Precision::Minute),
            "h" => Some(Precision::Hour),
            _ => None,
        }
    }

    /// Nanoseconds per unit.
    pub fn nanos_per_unit(self) -> i64 {
        match self {
            Precision::Nanosecond => 1,
            Precision::Microsecond => 1_000,
            Precision::Millisecond => 1_000_000,
            Precision::Second => 1_000_000_000,
            Precision::Minute => 60_000_000_000,
            Precision::Hour => 3_600_000_000_000,
        }
    }
}

/// A field value as written; strings stay escaped slices of the input.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum FieldValue<'a> {
    /// 64-bit float (no suffix)
    Float(f64),
    /// signed integer (`i` suffix)
    Integer(i64),
    /// unsigned integer (`u` suffix)
    Unsigned(u64),
    /// boolean
    Boolean(bool),
    /// string contents between the quotes, still escaped (`\"`, `\\`)
    String(&'a [u8]),
}

/// One tag, both parts escaped exactly as in the input.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Tag<'a> {
    /// escaped key
    pub key: &'a [u8],
    /// escaped value
    pub value: &'a [u8],
}

/// One field; key escaped as in the input.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Field<'a> {
    /// escaped key
    pub key: &'a [u8],
    /// value
    pub value: FieldValue<'a>,
}

/// Reusable per-request scratch space.
#[derive(Default, Debug)]
pub struct Scratch<'a> {
    /// tags of the current point, sorted by unescaped key
    pub tags: Vec<Tag<'a>>,
    /// fields of the current point, input order
    pub fields: Vec<Field<'a>>,
}

/// One parsed point, borrowing the body and the scratch.
#[derive(Debug)]
pub struct Point<'a, 's> {
    /// escaped measurement
    pub measurement: &'a [u8],
    /// tags sorted by unescaped key
    pub tags: &'s [Tag<'a>],
    /// fields in input order
    pub fields: &'s [Field<'a>],
    /// nanoseconds since epoch (scaled, or the default time)
    pub timestamp_ns: i64,
}

/// What is wrong with one line.
#[derive(Debug, Clone, PartialEq)]
pub struct ParseError {
    /// 1-based line number in the body
    pub line_number: usize,
    /// byte offset of the line start in the body
    pub line_offset: usize,
    /// the line itself (without the line ending)
    pub line: Vec<u8>,
    /// InfluxDB's message for it, e.g. "missing fields"
    pub message: String,
}

/// Iterates the points of a body.
pub struct Parser<'a> {
    body: &'a [u8],
    position: usize,
    line_number: usize,
    precision: Precision,
    default_time_ns: i64,
}

impl<'a> Parser<'a> {
    /// A parser over `body`; points without a timestamp get `default_time_ns`.
    pub fn new(body: &'a [u8], precision: Precision, default_time_ns: i64) -> Parser<'a> {
        Parser { body, position: 0, line_number: 0, precision, default_time_ns }
    }

    /// The next point or error, skipping blank lines and comments; `None` at the end.
    pub fn next_point<'s>(
        &mut self,
        scratch: &'s mut Scratch<'a>,
    ) -> Option<Result<Point<'a, 's>, ParseError>> {
        let _ = (self.body, self.position, self.line_number, self.precision, self.default_time_ns);
        let _ = scratch;
        None
    }
}

/// Which escaping rules apply to a piece of a line.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum EscapeKind {
    /// measurement name: `,` and space
    Measurement,
    /// tag key: `,` `=` space
    TagKey,
    /// tag value: `,` `=` space
    TagValue,
    /// field key: `,` `=` space
    FieldKey,
    /// string field value: `"` and `\`
    StringFieldValue,
}

/// STUB: removes escapes.
pub fn unescape_into(escaped: &[u8], kind: EscapeKind, out: &mut Vec<u8>) {
    let _ = kind;
    out.extend_from_slice(escaped);
}

/// STUB: adds escapes.
pub fn escape_into(raw: &[u8], kind: EscapeKind, out: &mut Vec<u8>) {
    let _ = kind;
    out.extend_from_slice(raw);
}

/// STUB: canonical series key.
pub fn append_series_key(measurement: &[u8], tags: &[Tag<'_>], out: &mut Vec<u8>) {
    out.extend_from_slice(measurement);
    for tag in tags {
        out.push(b',');
        out.extend_from_slice(tag.key);
        out.push(b'=');
        out.extend_from_slice(tag.value);
    }
}
