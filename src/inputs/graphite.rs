//! The Graphite plaintext decoder: one `metric.path value [timestamp]` line in, one line of
//! line protocol out, exactly as InfluxDB 1.6.7's `[[graphite]]` service turns it into a point.
//!
//! Owns: the `[[graphite]]` `separator`, `templates` and `tags` settings (validation with
//! InfluxDB's error texts, compilation into a filter tree), the line grammar, and the rendering
//! of the point as line protocol. It does not own sockets, line splitting, batching or writing
//! (the service layer does: see "What the caller does" below), nor Go's number rules: the value
//! and the timestamp are read by [`super::gocompat`].
//!
//! # Invariants
//! - `parse_line` appends exactly one line (ending in `\n`) to `out` on success and nothing on
//!   error (`out` is truncated back). The line parses with `line_protocol::Parser` (nanosecond
//!   precision) to the point InfluxDB 1.6.7 stores: same measurement, tags, field key, float
//!   value and nanosecond time.
//! - No allocation per line: templates are compiled at [`GraphiteParser::new`]; a line is
//!   split into at most [`TEMPLATE_PARTS_MAX`] path parts kept on the stack, and every name is
//!   escaped straight into `out`. Only building an error message allocates.
//!
//! # Algorithm
//! 1. Split the line into fields on Unicode whitespace (Go's `strings.Fields`: ASCII `\t \n \v
//!    \f \r` and space, U+0085, U+00A0, U+1680, U+2000..U+200A, U+2028, U+2029, U+202F, U+205F,
//!    U+3000; invalid UTF-8 is not whitespace). Two or three fields, else rejected.
//! 2. Pick the template: walk the filter tree with the name's `.`-separated parts; at each node
//!    take the child equal to the part, else the `*` child, else stop with that node's template
//!    (no backtracking: if the exact child leads nowhere the `*` sibling is not tried). The
//!    tree's answer, if any, else the template without a filter, else the built-in
//!    `measurement*` (which always joins with `.`, whatever `separator` says).
//! 3. Apply it: template part `i` takes name part `i` (extra name parts are ignored, missing
//!    ones skipped): `measurement` parts are joined with the separator, `measurement*` takes
//!    the rest of the name (joined with the separator) and stops, `field` sets the field key
//!    (a second `field` with the first non-empty is an error), `field*` replaces the field key
//!    with the rest and stops, an empty part is skipped, anything else is a tag key. A tag key
//!    gets the template's own default value first, then its parts, joined with the separator.
//!    An empty measurement means "use the whole name"; an empty field key means `value`.
//!    A template with both `measurement*` and `field*` fails every line it matches.
//! 4. Global `tags` are added when the template did not set that key (even to "").
//! 5. Value: Go `ParseFloat` ([`parse_float`]: decimal with `_` separators, hex with a `p`
//!    exponent, `inf`, `infinity`, `nan`); NaN is dropped silently by InfluxDB, ±Inf is an
//!    error.
//! 6. Timestamp: Go `ParseFloat` seconds; `-1` means now; else seconds = truncation toward
//!    zero, nanoseconds = `(t - floor(t)) * 1e9` truncated (so `-1.5` is -0.5 s), normalised;
//!    must lie in 1901-12-13T00:00:00Z ..= 2038-01-19T00:00:00Z. Missing: now.
//! 7. Write `measurement,tags field=value time`, escaping each name; tags with empty values
//!    are left out (InfluxDB leaves them out of the series key).
//!
//! # Facts established against InfluxDB 1.6.7 (see `tests/golden/graphite/`)
//! - `1_000`, `0x1p4`, `0x_1p0`, `1e-400` (0), `.5`, `5.`, `+7`, `00012` are accepted values;
//!   `0x10`, `1_`, `_1`, `1__0`, `1._5`, `-nan`, `+NaN`, `infin`, `1e`, `1.5e+` are syntax
//!   errors; `1e400` and `1.7976931348623159e308` are "value out of range".
//! - `NaN`/`nan` values: no point, nothing logged. `Inf`, `+inf`, `infinity`, `INF`, `-Inf`:
//!   `field "<name>" value: "+Inf" is unsupported` (`"-Inf"` for negative).
//! - Timestamps: `1_500_000_000`, `0x1p30`, `+1600000000`, `1.5e9` accepted; `-1`, `-1.0`,
//!   `-1e0` mean now; `-1.00000000001` is -1 ns (sic); `NaN`, `Inf`, `1500000000000` (ms),
//!   `2147472001`, `-2147558401` give `timestamp out of range`.
//! - Template tags `time` and field key `time` pass the parser and are dropped at the shard
//!   (`partial write: invalid tag key|invalid field name ...`); this decoder rejects them.
//! - Keys: series key (escaped) + 4 + field key longer than 65535 bytes: `max key length
//!   exceeded: <size> > 65535`.
//! - Measurement names are stored with `\,` `\"` `\=` unescaped (`q\,x` is stored `q,x`) but
//!   tag values and field keys keep their backslashes (`h\,1` stays `h\,1`).
//!
//! # What the caller does (InfluxDB's service layer)
//! - TCP: reads up to `\n`, trims Unicode whitespace at both ends, skips the line if then
//!   empty; a last line without `\n` at EOF is dropped. UDP: splits a datagram on `\n`, skips
//!   only empty lines (a whitespace-only line is logged as "doesn't have required fields"),
//!   and a last line without `\n` counts.
//! - Errors are logged as `Unable to parse line` with `line=` and `error=`
//!   ([`GraphiteParser::error_message`]) and counted, except [`GraphiteErrorKind::NanValue`],
//!   which is counted as a NaN failure and not logged. The connection stays open.
//!
//! # Known divergences (lines InfluxDB stores that line protocol cannot carry)
//! Names that line protocol cannot express are rejected with
//! [`GraphiteErrorKind::Inexpressible`]: a measurement starting with `#`, NUL or tab, or ending
//! in `\`, or mixing `\\` with an escape; a tag key or value ending in `\`; a field key ending
//! in `\` (InfluxDB fails that batch too) or with `\` before `,`, `=` or space; any name with
//! `\n` (only reachable through `separator`).

use std::collections::HashMap;
use std::fmt;
use std::sync::Arc;

use super::gocompat::{float_to_i64, parse_float, ParseFloat};
use crate::line_protocol::{append_float, escape_into, is_expressible, EscapeKind};

/// The separator when the setting is empty (InfluxDB's default).
pub const DEFAULT_SEPARATOR: &str = ".";
/// Template parts beyond this many are refused at configuration time (InfluxDB has no limit;
/// real templates have a handful). Bounds the per-line stack array of part boundaries.
pub const TEMPLATE_PARTS_MAX: usize = 64;
/// Longest series key InfluxDB accepts (`measurement,tags` + `#!~#` + field key).
pub const SERIES_KEY_SIZE_MAX_BYTES: usize = 65_535;
/// What InfluxDB adds between the series key and the field key when checking the size.
const FIELD_KEY_SEPARATOR_SIZE_BYTES: usize = 4;
/// Field key when the template gives none.
const DEFAULT_FIELD_KEY: &[u8] = b"value";
/// The timestamp meaning "now" (carbon's convention).
const NOW_TIMESTAMP: f64 = -1.0;
/// Earliest accepted time: 1901-12-13T00:00:00Z, in seconds since the epoch.
const TIME_MIN_SECONDS: i64 = -2_147_558_400;
/// Latest accepted time: 2038-01-19T00:00:00Z, in seconds since the epoch.
const TIME_MAX_SECONDS: i64 = 2_147_472_000;
const NANOS_PER_SECOND: i64 = 1_000_000_000;
/// Go's `float64(time.Second)`.
const NANOS_PER_SECOND_FLOAT: f64 = 1e9;

/// Why a Graphite line was rejected. [`GraphiteParser::error_message`] renders InfluxDB's text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GraphiteError {
    /// the rule broken
    pub kind: GraphiteErrorKind,
}

/// The rules a Graphite line can break.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum GraphiteErrorKind {
    /// no fields at all (empty or whitespace-only line); InfluxDB's TCP reader skips these
    /// silently, its UDP reader logs them like [`GraphiteErrorKind::FieldCount`]
    Blank,
    /// not two or three whitespace-separated fields
    FieldCount,
    /// the matching template has both `measurement*` and `field*`; the template text joined
    /// with the separator, as InfluxDB quotes it
    GreedyConflict(Arc<str>),
    /// the matching template has `field` twice and the name fills both
    FieldTwice,
    /// the value is not a Go float
    ValueSyntax,
    /// the value overflows f64
    ValueRange,
    /// the value is NaN: InfluxDB drops the line without logging
    NanValue,
    /// the value is ±Inf (`true` when negative)
    InfiniteValue(bool),
    /// the timestamp is not a Go float
    TimeSyntax,
    /// the timestamp overflows f64
    TimeRange,
    /// the time is outside 1901-12-13 ..= 2038-01-19
    TimeOutOfRange,
    /// series key plus field key longer than [`SERIES_KEY_SIZE_MAX_BYTES`]: the size
    KeyTooLong(usize),
    /// a non-empty tag `time` (InfluxDB drops the point at the shard)
    TimeTagKey,
    /// field key `time` (InfluxDB drops the point at the shard)
    TimeFieldKey,
    /// a name line protocol cannot carry (see the module doc)
    Inexpressible,
}

impl fmt::Display for GraphiteError {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(formatter, "graphite line rejected: {:?}", self.kind)
    }
}

impl std::error::Error for GraphiteError {}

impl GraphiteError {
    fn new(kind: GraphiteErrorKind) -> GraphiteError {
        GraphiteError { kind }
    }

    /// Whether InfluxDB drops such a line without logging it (NaN values).
    pub fn is_silent(&self) -> bool {
        self.kind == GraphiteErrorKind::NanValue
    }
}

/// A global tag: raw key and value.
type GlobalTag = (Box<[u8]>, Box<[u8]>);

/// What one template position does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Part {
    /// empty part: ignored
    Skip,
    /// `measurement`
    Measurement,
    /// `measurement*`: the rest of the name, then stop
    MeasurementRest,
    /// `field`
    Field,
    /// `field*`: the rest of the name, then stop
    FieldRest,
    /// a tag: index into [`Template::tags`]
    Tag(usize),
}

/// One distinct tag key of a template.
#[derive(Debug, Clone)]
struct TemplateTag {
    key: Box<[u8]>,
    /// value from the template's own `k=v` list, which comes first
    default_value: Option<Box<[u8]>>,
    /// template positions naming this key, ascending
    positions: Vec<usize>,
}

impl TemplateTag {
    /// Whether the template sets this tag (possibly to "") for a name filling `used`
    /// positions.
    fn is_present(&self, used: usize) -> bool {
        self.default_value.is_some() || self.positions.first().is_some_and(|&first| first < used)
    }
}

/// A compiled template.
#[derive(Debug, Clone)]
struct Template {
    parts: Vec<Part>,
    tags: Vec<TemplateTag>,
    /// for each global tag: the index of the template tag with the same key
    global_shadowed_by: Vec<Option<usize>>,
    /// set when the template has both `measurement*` and `field*`
    greedy_conflict: Option<Arc<str>>,
    /// joins measurement, field and tag parts
    separator: Box<[u8]>,
}

/// A node of the filter tree.
#[derive(Debug, Clone, Default)]
struct FilterNode {
    /// exact-part children
    children: HashMap<Box<[u8]>, FilterNode>,
    /// the `*` child
    wildcard: Option<Box<FilterNode>>,
    /// template of a filter ending here: index into [`GraphiteParser::templates`]
    template: Option<usize>,
}

/// A Graphite line parser configured with separator, templates and extra tags.
#[derive(Debug, Clone)]
pub struct GraphiteParser {
    templates: Vec<Template>,
    filters: FilterNode,
    /// the template without a filter (or the built-in `measurement*`)
    default_template: usize,
    /// global tags, later duplicates replacing earlier ones
    global_tags: Vec<GlobalTag>,
}

/// The name's `.`-separated parts as byte ranges, the first [`TEMPLATE_PARTS_MAX`] of them.
struct NameParts {
    /// start and end of each recorded part
    bounds: [(usize, usize); TEMPLATE_PARTS_MAX],
    /// parts recorded (all of the name's parts when `complete`)
    count: usize,
    /// whether the name has no more parts than `count`
    complete: bool,
}

impl NameParts {
    fn split(name: &[u8]) -> NameParts {
        let mut parts = NameParts {
            bounds: [(0, 0); TEMPLATE_PARTS_MAX],
            count: 0,
            complete: false,
        };
        let mut start = 0;
        loop {
            let end = memchr::memchr(b'.', name.get(start..).unwrap_or_default())
                .map_or(name.len(), |offset| start + offset);
            let Some(slot) = parts.bounds.get_mut(parts.count) else {
                return parts;
            };
            *slot = (start, end);
            parts.count += 1;
            if end >= name.len() {
                parts.complete = true;
                return parts;
            }
            start = end + 1;
        }
    }

    /// Whether part `index` exists.
    fn has(&self, index: usize) -> bool {
        index < self.count
    }

    fn get<'a>(&self, name: &'a [u8], index: usize) -> &'a [u8] {
        match self.bounds.get(index) {
            Some(&(start, end)) if index < self.count => name.get(start..end).unwrap_or_default(),
            _ => b"",
        }
    }

    /// The name from part `index` on.
    fn rest<'a>(&self, name: &'a [u8], index: usize) -> &'a [u8] {
        match self.bounds.get(index) {
            Some(&(start, _)) if index < self.count => name.get(start..).unwrap_or_default(),
            _ => b"",
        }
    }
}

/// Splits `text` on Go's `strings.Fields` whitespace; returns `(key, value)` pairs of a
/// `k=v` string, used for config validation.
fn go_fields(text: &str) -> Vec<&str> {
    let mut fields = Vec::new();
    let bytes = text.as_bytes();
    let mut index = 0;
    while index < bytes.len() {
        index = skip_spaces(bytes, index);
        let start = index;
        index = skip_non_spaces(bytes, index);
        if index > start {
            if let Some(field) = text.get(start..index) {
                fields.push(field);
            }
        }
    }
    fields
}

/// Length of the Unicode whitespace character (Go's `unicode.IsSpace`) at `index`, or 0.
fn space_size_at(bytes: &[u8], index: usize) -> usize {
    let Some(&first) = bytes.get(index) else {
        return 0;
    };
    if first < 0x80 {
        return usize::from(matches!(first, b'\t' | b'\n' | 0x0b | 0x0c | b'\r' | b' '));
    }
    let second = bytes.get(index + 1).copied().unwrap_or(0);
    let third = bytes.get(index + 2).copied().unwrap_or(0);
    match (first, second, third) {
        (0xc2, 0x85 | 0xa0, _) => 2,
        (0xe1, 0x9a, 0x80) => 3,
        (0xe2, 0x80, 0x80..=0x8a | 0xa8 | 0xa9 | 0xaf) => 3,
        (0xe2, 0x81, 0x9f) => 3,
        (0xe3, 0x80, 0x80) => 3,
        _ => 0,
    }
}

fn skip_spaces(bytes: &[u8], mut index: usize) -> usize {
    loop {
        let size = space_size_at(bytes, index);
        if size == 0 {
            return index;
        }
        index += size;
    }
}

fn skip_non_spaces(bytes: &[u8], mut index: usize) -> usize {
    while index < bytes.len() && space_size_at(bytes, index) == 0 {
        index += 1;
    }
    index
}

/// Go's `strings.TrimSpace`: the line without Unicode whitespace at either end (what
/// InfluxDB's TCP reader does to each line before parsing).
pub fn trim_space(line: &[u8]) -> &[u8] {
    let start = skip_spaces(line, 0);
    let mut end = line.len();
    'trim: while end > start {
        for size in 1..=3 {
            if end >= start + size && space_size_at(line, end - size) == size {
                end -= size;
                continue 'trim;
            }
        }
        break;
    }
    line.get(start..end).unwrap_or_default()
}

/// Up to three fields of a line; `count` is the number found (4 means "more than three").
struct LineFields<'a> {
    fields: [&'a [u8]; 3],
    count: usize,
}

fn split_line(line: &[u8]) -> LineFields<'_> {
    let mut fields: [&[u8]; 3] = [b""; 3];
    let mut count = 0;
    let mut index = 0;
    loop {
        index = skip_spaces(line, index);
        if index >= line.len() {
            break;
        }
        let start = index;
        index = skip_non_spaces(line, index);
        match fields.get_mut(count) {
            Some(slot) => *slot = line.get(start..index).unwrap_or_default(),
            None => {
                count += 1;
                break;
            }
        }
        count += 1;
    }
    LineFields { fields, count }
}

/// Why a template or tag setting is invalid: InfluxDB's text (it prefixes `invalid graphite
/// config: `).
fn validate_tag(key_value: &str) -> Result<(&str, &str), String> {
    let mut pieces = key_value.split('=');
    let (Some(key), Some(value), None) = (pieces.next(), pieces.next(), pieces.next()) else {
        return Err(format!("invalid template tags: '{key_value}'"));
    };
    if key.is_empty() || value.is_empty() {
        return Err(format!("invalid template tags: {key_value}'"));
    }
    Ok((key, value))
}

/// A template setting split into filter, template and tags, validated as InfluxDB does.
struct TemplateSetting<'a> {
    filter: &'a str,
    pattern: &'a str,
    tags: Vec<(&'a str, &'a str)>,
}

fn parse_template_setting(setting: &str, position: usize) -> Result<TemplateSetting<'_>, String> {
    let parts = go_fields(setting);
    if parts.is_empty() {
        return Err(format!("missing template at position: {position}"));
    }
    if parts.len() > 3 {
        return Err(format!("invalid template format: '{setting}'"));
    }
    let first = parts.first().copied().unwrap_or_default();
    let (filter, pattern, mut tags_text) = match parts.get(1) {
        Some(second) if second.contains('=') => ("", first, *second),
        Some(second) => (first, *second, ""),
        None => ("", setting, ""),
    };
    if let Some(third) = parts.get(2) {
        tags_text = third;
    }
    if !pattern
        .split('.')
        .any(|part| part == "measurement" || part == "measurement*")
    {
        return Err(format!("no measurement in template `{pattern}`"));
    }
    if !filter.is_empty() {
        for part in filter.split('.') {
            if part.is_empty() {
                return Err(format!("filter contains blank section: {filter}"));
            }
            if part.contains('*') && part != "*" {
                return Err(format!("invalid filter wildcard section: {filter}"));
            }
        }
    }
    let mut tags = Vec::new();
    if !tags_text.is_empty() {
        for tag in tags_text.split(',') {
            tags.push(validate_tag(tag)?);
        }
    }
    // InfluxDB's parser takes the template's tags from the last part only if it has an `=`.
    if !parts.last().is_some_and(|last| last.contains('=')) {
        tags.clear();
    }
    Ok(TemplateSetting {
        filter,
        pattern,
        tags,
    })
}

impl Template {
    fn compile(
        pattern: &str,
        default_tags: &[(&str, &str)],
        separator: &str,
        global_tags: &[GlobalTag],
    ) -> Result<Template, String> {
        let words: Vec<&str> = pattern.split('.').collect();
        if words.len() > TEMPLATE_PARTS_MAX {
            return Err(format!(
                "template `{pattern}` has more than {TEMPLATE_PARTS_MAX} parts"
            ));
        }
        let mut tags: Vec<TemplateTag> = Vec::new();
        for (key, value) in default_tags {
            let value: Box<[u8]> = value.as_bytes().into();
            match tags.iter_mut().find(|tag| &*tag.key == key.as_bytes()) {
                Some(tag) => tag.default_value = Some(value),
                None => tags.push(TemplateTag {
                    key: key.as_bytes().into(),
                    default_value: Some(value),
                    positions: Vec::new(),
                }),
            }
        }
        let mut parts = Vec::with_capacity(words.len());
        for (position, word) in words.iter().enumerate() {
            parts.push(match *word {
                "" => Part::Skip,
                "measurement" => Part::Measurement,
                "measurement*" => Part::MeasurementRest,
                "field" => Part::Field,
                "field*" => Part::FieldRest,
                key => {
                    let index = match tags.iter().position(|tag| &*tag.key == key.as_bytes()) {
                        Some(index) => index,
                        None => {
                            tags.push(TemplateTag {
                                key: key.as_bytes().into(),
                                default_value: None,
                                positions: Vec::new(),
                            });
                            tags.len() - 1
                        }
                    };
                    if let Some(tag) = tags.get_mut(index) {
                        tag.positions.push(position);
                    }
                    Part::Tag(index)
                }
            });
        }
        let greedy_conflict = (words.contains(&"measurement*") && words.contains(&"field*"))
            .then(|| Arc::from(words.join(separator)));
        let global_shadowed_by = global_tags
            .iter()
            .map(|(key, _)| tags.iter().position(|tag| tag.key == *key))
            .collect();
        Ok(Template {
            parts,
            tags,
            global_shadowed_by,
            greedy_conflict,
            separator: separator.as_bytes().into(),
        })
    }

    /// How many template positions take part for a name with `name_parts`: up to the first
    /// greedy part (inclusive) or the name's end.
    fn used_positions(&self, name_parts: &NameParts) -> usize {
        let mut used = 0;
        for (position, part) in self.parts.iter().enumerate() {
            if !name_parts.has(position) {
                break;
            }
            used = position + 1;
            if matches!(part, Part::MeasurementRest | Part::FieldRest) {
                break;
            }
        }
        used
    }
}

/// Appends `raw` with `.` replaced by `separator`, escaped as `kind`.
fn append_joined_rest(raw: &[u8], separator: &[u8], kind: EscapeKind, out: &mut Vec<u8>) {
    let mut first = true;
    for piece in raw.split(|&byte| byte == b'.') {
        if !first {
            escape_into(separator, kind, out);
        }
        first = false;
        escape_into(piece, kind, out);
    }
}

impl GraphiteParser {
    /// Builds a parser from the `[[graphite]]` settings. Errors are InfluxDB's texts (which it
    /// prints after `invalid graphite config: `).
    pub fn new(
        separator: &str,
        templates: &[String],
        tags: &[String],
    ) -> Result<GraphiteParser, String> {
        let separator = if separator.is_empty() {
            DEFAULT_SEPARATOR
        } else {
            separator
        };
        let mut settings = Vec::with_capacity(templates.len());
        let mut filters_seen: Vec<&str> = Vec::new();
        for (position, template) in templates.iter().enumerate() {
            let setting = parse_template_setting(template, position)?;
            if filters_seen.contains(&setting.filter) {
                return Err(format!(
                    "duplicate filter '{}' found at position: {position}",
                    setting.filter
                ));
            }
            filters_seen.push(setting.filter);
            settings.push(setting);
        }
        let mut global_tags: Vec<GlobalTag> = Vec::new();
        for tag in tags {
            let (key, value) = validate_tag(tag)?;
            global_tags.retain(|(existing, _)| &**existing != key.as_bytes());
            global_tags.push((key.as_bytes().into(), value.as_bytes().into()));
        }
        let builtin = Template::compile("measurement*", &[], DEFAULT_SEPARATOR, &global_tags)?;
        let mut parser = GraphiteParser {
            templates: vec![builtin],
            filters: FilterNode::default(),
            default_template: 0,
            global_tags: Vec::new(),
        };
        for setting in settings {
            let template =
                Template::compile(setting.pattern, &setting.tags, separator, &global_tags)?;
            parser.templates.push(template);
            let index = parser.templates.len() - 1;
            if setting.filter.is_empty() {
                parser.default_template = index;
                continue;
            }
            let mut node = &mut parser.filters;
            for part in setting.filter.split('.') {
                node = if part == "*" {
                    node.wildcard.get_or_insert_with(Box::default)
                } else {
                    node.children.entry(part.as_bytes().into()).or_default()
                };
            }
            node.template = Some(index);
        }
        parser.global_tags = global_tags;
        Ok(parser)
    }

    /// The template for `name`.
    fn match_template(&self, name: &[u8]) -> &Template {
        let mut node = &self.filters;
        let found;
        let mut parts = name.split(|&byte| byte == b'.');
        loop {
            let is_leaf = node.children.is_empty() && node.wildcard.is_none();
            let next = if is_leaf { None } else { parts.next() };
            let Some(part) = next else {
                found = node.template;
                break;
            };
            match node.children.get(part).or(node.wildcard.as_deref()) {
                Some(child) => node = child,
                None => {
                    found = node.template;
                    break;
                }
            }
        }
        let index = found.unwrap_or(self.default_template);
        match self.templates.get(index) {
            Some(template) => template,
            None => panic!("BUG: template index {index} out of range"),
        }
    }

    /// Parses one line (without its `\n`), appending one line-protocol line (with `\n`) to
    /// `out`; `now_ns` is the time for lines without a timestamp (or with `-1`). On error
    /// `out` is left as it was.
    pub fn parse_line(
        &self,
        line: &[u8],
        now_ns: i64,
        out: &mut Vec<u8>,
    ) -> Result<(), GraphiteError> {
        let start = out.len();
        let result = self.write_point(line, now_ns, true, out);
        if result.is_err() {
            out.truncate(start);
        }
        result
    }

    fn write_point(
        &self,
        line: &[u8],
        now_ns: i64,
        check_time_keys: bool,
        out: &mut Vec<u8>,
    ) -> Result<(), GraphiteError> {
        let fields = split_line(line);
        let [name, value_text, time_text] = fields.fields;
        match fields.count {
            0 => return Err(GraphiteError::new(GraphiteErrorKind::Blank)),
            2 | 3 => {}
            _ => return Err(GraphiteError::new(GraphiteErrorKind::FieldCount)),
        }
        let template = self.match_template(name);
        if let Some(text) = &template.greedy_conflict {
            return Err(GraphiteError::new(GraphiteErrorKind::GreedyConflict(
                text.clone(),
            )));
        }
        let name_parts = NameParts::split(name);
        let used = template.used_positions(&name_parts);
        let field_key = field_key(template, name, &name_parts, used)?;

        let value = match parse_float(value_text) {
            ParseFloat::Value(value) if value.is_nan() => {
                return Err(GraphiteError::new(GraphiteErrorKind::NanValue))
            }
            ParseFloat::Value(value) if value.is_infinite() => {
                return Err(GraphiteError::new(GraphiteErrorKind::InfiniteValue(
                    value < 0.0,
                )))
            }
            ParseFloat::Value(value) => value,
            ParseFloat::Syntax => return Err(GraphiteError::new(GraphiteErrorKind::ValueSyntax)),
            ParseFloat::Range(_) => return Err(GraphiteError::new(GraphiteErrorKind::ValueRange)),
        };
        let timestamp_ns = if fields.count == 3 {
            timestamp_ns(time_text, now_ns)?
        } else {
            now_ns
        };

        let key_start = out.len();
        self.write_measurement(template, name, &name_parts, used, out)?;
        self.write_tags(template, name, &name_parts, used, check_time_keys, out)?;
        let key_size = out.len() - key_start;
        let field_key = match &field_key {
            FieldKey::Default => DEFAULT_FIELD_KEY,
            FieldKey::Part(part) => *part,
            FieldKey::Rest(rest) => *rest,
        };
        let field_key_size = field_key_joined_size(field_key, template, used);
        let total_size = key_size + FIELD_KEY_SEPARATOR_SIZE_BYTES + field_key_size;
        if total_size > SERIES_KEY_SIZE_MAX_BYTES {
            return Err(GraphiteError::new(GraphiteErrorKind::KeyTooLong(
                total_size,
            )));
        }
        out.push(b' ');
        let field_start = out.len();
        if matches!(
            template.parts.get(used.wrapping_sub(1)),
            Some(Part::FieldRest)
        ) {
            append_joined_rest(field_key, &template.separator, EscapeKind::FieldKey, out);
        } else {
            escape_into(field_key, EscapeKind::FieldKey, out);
        }
        let written_field = out.get(field_start..).unwrap_or_default();
        if check_time_keys && written_field == b"time" {
            return Err(GraphiteError::new(GraphiteErrorKind::TimeFieldKey));
        }
        if !field_is_expressible(field_key, template, used) {
            return Err(GraphiteError::new(GraphiteErrorKind::Inexpressible));
        }
        out.push(b'=');
        append_float(value, out);
        out.push(b' ');
        crate::line_protocol::format::append_i64(timestamp_ns, out);
        out.push(b'\n');
        Ok(())
    }

    fn write_measurement(
        &self,
        template: &Template,
        name: &[u8],
        name_parts: &NameParts,
        used: usize,
        out: &mut Vec<u8>,
    ) -> Result<(), GraphiteError> {
        // The raw measurement is the join of the measurement parts; InfluxDB stores it with
        // `\,` `\"` `\=` `\ ` unescaped. Build it escaped straight into `out` when no
        // backslash is involved (the common case); otherwise go through a temporary.
        let mut pieces = 0usize;
        let mut has_backslash = false;
        let mut empty = true;
        for (position, part) in template.parts.iter().take(used).enumerate() {
            let text = match part {
                Part::Measurement => name_parts.get(name, position),
                Part::MeasurementRest => name_parts.rest(name, position),
                _ => continue,
            };
            pieces += 1;
            has_backslash |= memchr::memchr(b'\\', text).is_some();
            empty &= text.is_empty();
        }
        let use_whole_name = pieces == 0 || (pieces == 1 && empty);
        let separator_has_backslash = memchr::memchr(b'\\', &template.separator).is_some();
        if use_whole_name {
            has_backslash = memchr::memchr(b'\\', name).is_some();
        }
        if has_backslash || (separator_has_backslash && pieces > 1) {
            let mut raw = Vec::new();
            if use_whole_name {
                raw.extend_from_slice(name);
            } else {
                self.join_measurement(template, name, name_parts, used, &mut raw);
            }
            return write_stored_measurement(&raw, out);
        }
        let start = out.len();
        if use_whole_name {
            escape_into(name, EscapeKind::Measurement, out);
        } else {
            let mut first = true;
            for (position, part) in template.parts.iter().take(used).enumerate() {
                if !matches!(part, Part::Measurement | Part::MeasurementRest) {
                    continue;
                }
                if !first {
                    escape_into(&template.separator, EscapeKind::Measurement, out);
                }
                first = false;
                if *part == Part::Measurement {
                    escape_into(name_parts.get(name, position), EscapeKind::Measurement, out);
                } else {
                    let rest = name_parts.rest(name, position);
                    append_joined_rest(rest, &template.separator, EscapeKind::Measurement, out);
                }
            }
        }
        let written = out.get(start..).unwrap_or_default();
        if matches!(written.first(), None | Some(b'#' | b'\t' | 0))
            || memchr::memchr(b'\n', written).is_some()
        {
            return Err(GraphiteError::new(GraphiteErrorKind::Inexpressible));
        }
        Ok(())
    }

    fn join_measurement(
        &self,
        template: &Template,
        name: &[u8],
        name_parts: &NameParts,
        used: usize,
        raw: &mut Vec<u8>,
    ) {
        let mut first = true;
        for (position, part) in template.parts.iter().take(used).enumerate() {
            let text = match part {
                Part::Measurement => name_parts.get(name, position),
                Part::MeasurementRest => name_parts.rest(name, position),
                _ => continue,
            };
            if !first {
                raw.extend_from_slice(&template.separator);
            }
            first = false;
            if *part == Part::MeasurementRest {
                for (index, piece) in text.split(|&byte| byte == b'.').enumerate() {
                    if index > 0 {
                        raw.extend_from_slice(&template.separator);
                    }
                    raw.extend_from_slice(piece);
                }
            } else {
                raw.extend_from_slice(text);
            }
        }
    }

    fn write_tags(
        &self,
        template: &Template,
        name: &[u8],
        name_parts: &NameParts,
        used: usize,
        check_time_keys: bool,
        out: &mut Vec<u8>,
    ) -> Result<(), GraphiteError> {
        for tag in &template.tags {
            let used_positions = tag
                .positions
                .iter()
                .take_while(|&&position| position < used);
            let path_count = used_positions.clone().count();
            if !tag.is_present(used) {
                continue;
            }
            // a join is empty only when it is one empty part (default values are not empty)
            let single_empty = tag.default_value.is_none()
                && path_count == 1
                && used_positions
                    .clone()
                    .all(|&position| name_parts.get(name, position).is_empty());
            if single_empty {
                continue;
            }
            out.push(b',');
            escape_into(&tag.key, EscapeKind::TagKey, out);
            out.push(b'=');
            let value_start = out.len();
            let mut first = true;
            if let Some(value) = &tag.default_value {
                escape_into(value, EscapeKind::TagValue, out);
                first = false;
            }
            for &position in used_positions {
                if !first {
                    escape_into(&template.separator, EscapeKind::TagValue, out);
                }
                first = false;
                escape_into(name_parts.get(name, position), EscapeKind::TagValue, out);
            }
            if check_time_keys && &*tag.key == b"time" {
                return Err(GraphiteError::new(GraphiteErrorKind::TimeTagKey));
            }
            let value_written = out.get(value_start..).unwrap_or_default();
            if !tag_is_expressible(&tag.key) || !escaped_tag_value_is_expressible(value_written) {
                return Err(GraphiteError::new(GraphiteErrorKind::Inexpressible));
            }
        }
        for ((key, value), shadow) in self.global_tags.iter().zip(&template.global_shadowed_by) {
            let shadowed = shadow
                .and_then(|index| template.tags.get(index))
                .is_some_and(|tag| tag.is_present(used));
            if shadowed {
                continue;
            }
            if check_time_keys && &**key == b"time" {
                return Err(GraphiteError::new(GraphiteErrorKind::TimeTagKey));
            }
            if !tag_is_expressible(key) || !tag_is_expressible(value) {
                return Err(GraphiteError::new(GraphiteErrorKind::Inexpressible));
            }
            out.push(b',');
            escape_into(key, EscapeKind::TagKey, out);
            out.push(b'=');
            escape_into(value, EscapeKind::TagValue, out);
        }
        Ok(())
    }

    /// InfluxDB's text for `error` on `line`: what it logs after `Unable to parse line` as
    /// `error=` (or, for the `time` key cases, what the batch write reports).
    pub fn error_message(&self, line: &[u8], error: &GraphiteError) -> String {
        let fields = split_line(line);
        let [name, value_text, time_text] = fields.fields;
        let name = String::from_utf8_lossy(name);
        let parse_float = |text: &[u8], what: &str| {
            format!("strconv.ParseFloat: parsing {}: {what}", go_quote(text))
        };
        match &error.kind {
            GraphiteErrorKind::Blank | GraphiteErrorKind::FieldCount => format!(
                "received {} which doesn't have required fields",
                go_quote(line)
            ),
            GraphiteErrorKind::GreedyConflict(template) => format!(
                "either 'field*' or 'measurement*' can be used in each template (but not both \
                 together): {}",
                go_quote(template.as_bytes())
            ),
            GraphiteErrorKind::FieldTwice => format!(
                "'field' can only be used once in each template: {}",
                go_quote(name.as_bytes())
            ),
            GraphiteErrorKind::ValueSyntax => format!(
                "field \"{name}\" value: {}",
                parse_float(value_text, "invalid syntax")
            ),
            GraphiteErrorKind::ValueRange => format!(
                "field \"{name}\" value: {}",
                parse_float(value_text, "value out of range")
            ),
            GraphiteErrorKind::NanValue => {
                format!("field \"{name}\" value: \"NaN\" is unsupported")
            }
            GraphiteErrorKind::InfiniteValue(negative) => format!(
                "field \"{name}\" value: \"{}Inf\" is unsupported",
                if *negative { "-" } else { "+" }
            ),
            GraphiteErrorKind::TimeSyntax => format!(
                "field \"{name}\" time: {}",
                parse_float(time_text, "invalid syntax")
            ),
            GraphiteErrorKind::TimeRange => format!(
                "field \"{name}\" time: {}",
                parse_float(time_text, "value out of range")
            ),
            GraphiteErrorKind::TimeOutOfRange => "timestamp out of range".to_string(),
            GraphiteErrorKind::KeyTooLong(size) => {
                format!("max key length exceeded: {size} > {SERIES_KEY_SIZE_MAX_BYTES}")
            }
            GraphiteErrorKind::TimeTagKey | GraphiteErrorKind::TimeFieldKey => {
                let measurement = self.measurement_of(line);
                if error.kind == GraphiteErrorKind::TimeTagKey {
                    format!(
                        "partial write: invalid tag key: input tag \"time\" on measurement \
                         \"{measurement}\" is invalid dropped=1"
                    )
                } else {
                    format!(
                        "partial write: invalid field name: input field \"time\" on measurement \
                         \"{measurement}\" is invalid dropped=1"
                    )
                }
            }
            GraphiteErrorKind::Inexpressible => {
                "name cannot be expressed in line protocol".to_string()
            }
        }
    }

    /// The stored measurement of `line` (for messages), ignoring the `time` key checks.
    fn measurement_of(&self, line: &[u8]) -> String {
        let mut out = Vec::new();
        if self.write_point(line, 0, false, &mut out).is_err() {
            return String::new();
        }
        let mut scratch = crate::line_protocol::Scratch::default();
        let mut parser =
            crate::line_protocol::Parser::new(&out, crate::line_protocol::Precision::Nanosecond, 0);
        match parser.next_point(&mut scratch) {
            Some(Ok(point)) => {
                let mut raw = Vec::new();
                crate::line_protocol::unescape_into(
                    point.measurement,
                    EscapeKind::Measurement,
                    &mut raw,
                );
                String::from_utf8_lossy(&raw).into_owned()
            }
            _ => String::new(),
        }
    }
}

/// The field key a template gives a name.
enum FieldKey<'a> {
    /// no `field` part applied, or it was empty: `value`
    Default,
    /// one name part
    Part(&'a [u8]),
    /// the name from a `field*` on (dots to be replaced by the separator)
    Rest(&'a [u8]),
}

fn field_key<'a>(
    template: &Template,
    name: &'a [u8],
    name_parts: &NameParts,
    used: usize,
) -> Result<FieldKey<'a>, GraphiteError> {
    let mut key = FieldKey::Default;
    let mut current: &[u8] = b"";
    for (position, part) in template.parts.iter().take(used).enumerate() {
        match part {
            Part::Field => {
                if !current.is_empty() {
                    return Err(GraphiteError::new(GraphiteErrorKind::FieldTwice));
                }
                current = name_parts.get(name, position);
                key = FieldKey::Part(current);
            }
            Part::FieldRest => {
                current = name_parts.rest(name, position);
                key = FieldKey::Rest(current);
            }
            _ => {}
        }
    }
    Ok(if current.is_empty() {
        FieldKey::Default
    } else {
        key
    })
}

/// Size of the raw field key once `.` in a `field*` rest is replaced by the separator.
fn field_key_joined_size(field_key: &[u8], template: &Template, used: usize) -> usize {
    if matches!(
        template.parts.get(used.wrapping_sub(1)),
        Some(Part::FieldRest)
    ) {
        let dots = memchr::memchr_iter(b'.', field_key).count();
        field_key.len() - dots + dots * template.separator.len()
    } else {
        field_key.len()
    }
}

/// Whether the raw field key (a `field*` rest joined with the separator) reads back from line
/// protocol: not empty, not starting with tab or NUL, no newline, and no odd run of
/// backslashes before `,`, `=`, space or the end (the field section is scanned in pairs).
fn field_is_expressible(field_key: &[u8], template: &Template, used: usize) -> bool {
    let joined = matches!(
        template.parts.get(used.wrapping_sub(1)),
        Some(Part::FieldRest)
    );
    let mut odd_run = false;
    let mut first = true;
    let mut bad = false;
    let mut visit = |byte: u8| {
        if first && matches!(byte, b'\t' | 0) {
            bad = true;
        }
        first = false;
        if byte == b'\n' {
            bad = true;
        }
        if byte == b'\\' {
            odd_run = !odd_run;
            return;
        }
        if odd_run && matches!(byte, b',' | b'=' | b' ') {
            bad = true;
        }
        odd_run = false;
    };
    for (index, piece) in field_key.split(|&byte| joined && byte == b'.').enumerate() {
        if index > 0 {
            template.separator.iter().for_each(|&byte| visit(byte));
        }
        piece.iter().for_each(|&byte| visit(byte));
    }
    !field_key.is_empty() && !bad && !odd_run
}

fn tag_is_expressible(raw: &[u8]) -> bool {
    is_expressible(raw, EscapeKind::TagKey)
}

/// Whether an escaped tag value (as written) reads back: it must not end in an unpaired
/// backslash or contain a newline.
fn escaped_tag_value_is_expressible(escaped: &[u8]) -> bool {
    escaped.last() != Some(&b'\\') && memchr::memchr(b'\n', escaped).is_none()
}

/// Writes a raw measurement that contains a backslash, as InfluxDB stores it: with `\,`,
/// `\"`, `\=` and `\ ` unescaped. Names mixing `\\` with those escapes are stored
/// unpredictably by InfluxDB (some vanish) and are refused.
fn write_stored_measurement(raw: &[u8], out: &mut Vec<u8>) -> Result<(), GraphiteError> {
    let inexpressible = || GraphiteError::new(GraphiteErrorKind::Inexpressible);
    let escapes = raw
        .windows(2)
        .any(|pair| matches!(pair, [b'\\', b',' | b'"' | b'=' | b' ']));
    let stored: std::borrow::Cow<'_, [u8]> = if escapes {
        if raw.windows(2).any(|pair| pair == b"\\\\") {
            return Err(inexpressible());
        }
        let mut stored = Vec::with_capacity(raw.len());
        crate::line_protocol::unescape_into(raw, EscapeKind::Measurement, &mut stored);
        stored.into()
    } else {
        raw.into()
    };
    if !is_expressible(&stored, EscapeKind::Measurement) {
        return Err(inexpressible());
    }
    escape_into(&stored, EscapeKind::Measurement, out);
    Ok(())
}

/// The point's time from the timestamp field, as InfluxDB 1.6.7 computes it.
fn timestamp_ns(text: &[u8], now_ns: i64) -> Result<i64, GraphiteError> {
    let seconds = match parse_float(text) {
        ParseFloat::Value(seconds) => seconds,
        ParseFloat::Syntax => return Err(GraphiteError::new(GraphiteErrorKind::TimeSyntax)),
        ParseFloat::Range(_) => return Err(GraphiteError::new(GraphiteErrorKind::TimeRange)),
    };
    if seconds == NOW_TIMESTAMP {
        return Ok(now_ns);
    }
    let whole = float_to_i64(seconds);
    let nanos = float_to_i64((seconds - seconds.floor()) * NANOS_PER_SECOND_FLOAT);
    // time.Unix normalises the nanoseconds into 0..1e9
    let mut whole = i128::from(whole);
    let mut nanos = i128::from(nanos);
    let per_second = i128::from(NANOS_PER_SECOND);
    if !(0..per_second).contains(&nanos) {
        whole += nanos.div_euclid(per_second);
        nanos = nanos.rem_euclid(per_second);
    }
    let after_max = whole > i128::from(TIME_MAX_SECONDS)
        || (whole == i128::from(TIME_MAX_SECONDS) && nanos > 0);
    if whole < i128::from(TIME_MIN_SECONDS) || after_max {
        return Err(GraphiteError::new(GraphiteErrorKind::TimeOutOfRange));
    }
    i64::try_from(whole * per_second + nanos)
        .map_err(|_| GraphiteError::new(GraphiteErrorKind::TimeOutOfRange))
}

/// Go's `%q` of a byte string (close enough for log messages: ASCII escapes, `\u` for a few
/// invisible code points, `\x` for invalid UTF-8).
fn go_quote(text: &[u8]) -> String {
    let mut quoted = String::from("\"");
    for chunk in text.utf8_chunks() {
        for character in chunk.valid().chars() {
            match character {
                '"' => quoted.push_str("\\\""),
                '\\' => quoted.push_str("\\\\"),
                '\u{07}' => quoted.push_str("\\a"),
                '\u{08}' => quoted.push_str("\\b"),
                '\u{0c}' => quoted.push_str("\\f"),
                '\n' => quoted.push_str("\\n"),
                '\r' => quoted.push_str("\\r"),
                '\t' => quoted.push_str("\\t"),
                '\u{0b}' => quoted.push_str("\\v"),
                c if (c as u32) < 0x20 || c as u32 == 0x7f => {
                    quoted.push_str(&format!("\\x{:02x}", c as u32));
                }
                c if c.is_whitespace() && c != ' ' || c.is_control() || c == '\u{feff}' => {
                    quoted.push_str(&format!("\\u{:04x}", c as u32));
                }
                c => quoted.push(c),
            }
        }
        for byte in chunk.invalid() {
            quoted.push_str(&format!("\\x{byte:02x}"));
        }
    }
    quoted.push('"');
    quoted
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::line_protocol::{unescape_into, FieldValue, Parser, Precision, Scratch};
    use proptest::prelude::*;
    use std::collections::BTreeMap;

    const NOW_NS: i64 = 1_700_000_000_123_456_789;

    /// A point as stored: names unescaped, tags sorted.
    #[derive(Debug, PartialEq)]
    struct Stored {
        measurement: Vec<u8>,
        tags: BTreeMap<Vec<u8>, Vec<u8>>,
        field: Vec<u8>,
        value: f64,
        time_ns: i64,
    }

    fn unescaped(escaped: &[u8], kind: EscapeKind) -> Vec<u8> {
        let mut out = Vec::new();
        unescape_into(escaped, kind, &mut out);
        out
    }

    /// Reads the line protocol written by `parse_line` back with Sluice's parser.
    fn read_back(out: &[u8]) -> Stored {
        assert_eq!(
            out.last(),
            Some(&b'\n'),
            "output {:?}",
            String::from_utf8_lossy(out)
        );
        assert_eq!(memchr::memchr_iter(b'\n', out).count(), 1);
        let mut parser = Parser::new(out, Precision::Nanosecond, 0);
        let mut scratch = Scratch::default();
        let point = match parser.next_point(&mut scratch) {
            Some(Ok(point)) => point,
            other => panic!(
                "{:?} did not parse: {other:?}",
                String::from_utf8_lossy(out)
            ),
        };
        assert_eq!(point.fields.len(), 1);
        let field = point.fields.first().map(|field| (field.key, field.value));
        let Some((key, FieldValue::Float(value))) = field else {
            panic!("not one float field: {:?}", String::from_utf8_lossy(out));
        };
        Stored {
            measurement: unescaped(point.measurement, EscapeKind::Measurement),
            tags: point
                .tags
                .iter()
                .map(|tag| {
                    (
                        unescaped(tag.key, EscapeKind::TagKey),
                        unescaped(tag.value, EscapeKind::TagValue),
                    )
                })
                .collect(),
            field: unescaped(key, EscapeKind::FieldKey),
            value,
            time_ns: point.timestamp_ns,
        }
    }

    fn parser(separator: &str, templates: &[&str], tags: &[&str]) -> GraphiteParser {
        let templates: Vec<String> = templates.iter().map(|t| t.to_string()).collect();
        let tags: Vec<String> = tags.iter().map(|t| t.to_string()).collect();
        match GraphiteParser::new(separator, &templates, &tags) {
            Ok(parser) => parser,
            Err(error) => panic!("config refused: {error}"),
        }
    }

    fn parse(parser: &GraphiteParser, line: &str) -> Result<Stored, GraphiteErrorKind> {
        let mut out = b"previous\n".to_vec();
        match parser.parse_line(line.as_bytes(), NOW_NS, &mut out) {
            Ok(()) => Ok(read_back(
                out.get(b"previous\n".len()..).unwrap_or_default(),
            )),
            Err(error) => {
                assert_eq!(out, b"previous\n", "output left behind on error");
                Err(error.kind)
            }
        }
    }

    /// `measurement,tag=v,... field=value@time` of the stored point, for compact asserts.
    fn render(stored: &Stored) -> String {
        let mut text = String::from_utf8_lossy(&stored.measurement).into_owned();
        for (key, value) in &stored.tags {
            text += &format!(
                ",{}={}",
                String::from_utf8_lossy(key),
                String::from_utf8_lossy(value)
            );
        }
        format!(
            "{text} {}={}@{}",
            String::from_utf8_lossy(&stored.field),
            stored.value,
            stored.time_ns
        )
    }

    fn ok(parser: &GraphiteParser, line: &str) -> String {
        match parse(parser, line) {
            Ok(stored) => render(&stored),
            Err(kind) => panic!("{line:?} rejected: {kind:?}"),
        }
    }

    fn err(parser: &GraphiteParser, line: &str) -> GraphiteErrorKind {
        match parse(parser, line) {
            Ok(stored) => panic!("{line:?} accepted: {}", render(&stored)),
            Err(kind) => kind,
        }
    }

    /// Cases where InfluxDB stores a point that line protocol cannot carry.
    const KNOWN_INEXPRESSIBLE: [&str; 7] = [
        "#comment 1 1500000108",
        "end\\ 1 1500000116",
        "servers.h\\.m 34 1500001032",
        "\u{0}nul 1 1700000005",
        "stats.h.m.f\\,g 1 1700000013",
        "servers.h.#m 1 1700000017",
        "stats.h.#m.f 1 1700000018",
    ];

    #[test]
    fn golden_corpus_matches_influxdb() {
        let text = include_str!("../../tests/golden/graphite/cases.json");
        let corpus: serde_json::Value = match serde_json::from_str(text) {
            Ok(corpus) => corpus,
            Err(error) => panic!("cases.json: {error}"),
        };
        let strings = |value: &serde_json::Value| -> Vec<String> {
            value
                .as_array()
                .map(|items| {
                    items
                        .iter()
                        .filter_map(|item| item.as_str().map(str::to_string))
                        .collect()
                })
                .unwrap_or_default()
        };
        let mut parsers = BTreeMap::new();
        if let Some(configs) = corpus["configs"].as_object() {
            for (name, config) in configs {
                let built = GraphiteParser::new(
                    config["separator"].as_str().unwrap_or_default(),
                    &strings(&config["templates"]),
                    &strings(&config["tags"]),
                );
                match built {
                    Ok(built) => parsers.insert(name.clone(), built),
                    Err(error) => panic!("config {name}: {error}"),
                };
            }
        }
        let cases = corpus["cases"].as_array().cloned().unwrap_or_default();
        assert!(cases.len() >= 60, "only {} cases", cases.len());
        let mut divergences = Vec::new();
        for case in &cases {
            let config = case["config"].as_str().unwrap_or_default();
            let line = case["line"].as_str().unwrap_or_default();
            let Some(parser) = parsers.get(config) else {
                panic!("unknown config {config}");
            };
            let mut out = Vec::new();
            let result = parser.parse_line(line.as_bytes(), NOW_NS, &mut out);
            let expected_points = case["points"].as_array();
            match (expected_points, result) {
                (Some(points), Ok(())) => {
                    assert_eq!(points.len(), 1, "{line:?}");
                    let expected = &points[0];
                    let stored = read_back(&out);
                    let tags: BTreeMap<Vec<u8>, Vec<u8>> = expected["tags"]
                        .as_object()
                        .map(|tags| {
                            tags.iter()
                                .map(|(key, value)| {
                                    let value = value.as_str().unwrap_or_default();
                                    (key.as_bytes().to_vec(), value.as_bytes().to_vec())
                                })
                                .collect()
                        })
                        .unwrap_or_default();
                    let time_ns = match &expected["time_ns"] {
                        serde_json::Value::String(now) if now == "now" => NOW_NS,
                        other => other.as_i64().unwrap_or(i64::MIN),
                    };
                    let wanted = Stored {
                        measurement: expected["measurement"]
                            .as_str()
                            .unwrap_or_default()
                            .as_bytes()
                            .to_vec(),
                        tags,
                        field: expected["field"]
                            .as_str()
                            .unwrap_or_default()
                            .as_bytes()
                            .to_vec(),
                        value: expected["value"].as_f64().unwrap_or(f64::NAN),
                        time_ns,
                    };
                    assert_eq!(stored, wanted, "line {line:?} config {config}");
                }
                (Some(_), Err(error)) => {
                    assert_eq!(error.kind, GraphiteErrorKind::Inexpressible, "{line:?}");
                    divergences.push(line.to_string());
                }
                (None, Ok(())) => {
                    panic!(
                        "{line:?} ({config}) accepted: {:?}",
                        String::from_utf8_lossy(&out)
                    )
                }
                (None, Err(error)) => match case["error"].as_str() {
                    Some(message) if !message.starts_with("engine:") => {
                        assert_eq!(parser.error_message(line.as_bytes(), &error), message)
                    }
                    Some(_) => assert_eq!(error.kind, GraphiteErrorKind::Inexpressible),
                    None => assert!(
                        error.is_silent() || error.kind == GraphiteErrorKind::Inexpressible,
                        "{line:?}: {error:?}"
                    ),
                },
            }
        }
        assert_eq!(divergences, KNOWN_INEXPRESSIBLE, "divergences changed");
    }

    #[test]
    fn default_template_joins_whole_path_with_dot() {
        let default = parser("", &[], &[]);
        assert_eq!(
            ok(&default, "cpu.load 1.5 1500000000"),
            "cpu.load value=1.5@1500000000000000000"
        );
        let underscore = parser("_", &[], &[]);
        assert_eq!(ok(&underscore, "a.b.c 2 0"), "a.b.c value=2@0");
        assert_eq!(ok(&default, "x 3"), format!("x value=3@{NOW_NS}"));
        assert_eq!(ok(&default, "x 3 -1"), format!("x value=3@{NOW_NS}"));
    }

    #[test]
    fn template_parts_build_measurement_tags_and_field() {
        let p = parser(
            "_",
            &[
                "servers.* .host.measurement*",
                "stats.* .host.measurement.field",
                "greedy.* .measurement.field*",
                "skip.* ..measurement",
                "multi.* .host.host.measurement",
                "region.* .region.measurement region=us,zone=1a",
            ],
            &[],
        );
        assert_eq!(
            ok(&p, "servers.h1.cpu.load 1 0"),
            "cpu_load,host=h1 value=1@0"
        );
        assert_eq!(ok(&p, "servers.h1 1 0"), "servers.h1,host=h1 value=1@0");
        assert_eq!(ok(&p, "stats.h.req.count 1 0"), "req,host=h count=1@0");
        assert_eq!(ok(&p, "stats.h.req 1 0"), "req,host=h value=1@0");
        assert_eq!(ok(&p, "stats.h.req. 1 0"), "req,host=h value=1@0");
        assert_eq!(ok(&p, "greedy.mem.used.bytes 1 0"), "mem used_bytes=1@0");
        assert_eq!(ok(&p, "skip.x.disk 1 0"), "disk value=1@0");
        assert_eq!(ok(&p, "multi.a.b.mem 1 0"), "mem,host=a_b value=1@0");
        assert_eq!(
            ok(&p, "region.eu.disk 1 0"),
            "disk,region=us_eu,zone=1a value=1@0"
        );
        assert_eq!(
            ok(&p, "region..disk 1 0"),
            "disk,region=us_,zone=1a value=1@0"
        );
    }

    #[test]
    fn filters_pick_the_most_specific_without_backtracking() {
        let p = parser(
            ".",
            &[
                "a.b.c .measurement.host",
                "a .host.measurement",
                "cpu.*.idle measurement.host.measurement",
                "cpu.* measurement.measurement.host",
                "*.x.* ..host.measurement",
                "measurement.host env=prod",
            ],
            &["host=global"],
        );
        assert_eq!(ok(&p, "a.b.c.d 1 0"), "b,host=c value=1@0");
        // exact child "b" leads nowhere: no fallback to "a", the default template applies
        assert_eq!(ok(&p, "a.b.x 1 0"), "a,env=prod,host=b value=1@0");
        assert_eq!(ok(&p, "a.z.y 1 0"), "y,host=z value=1@0");
        assert_eq!(ok(&p, "a 1 0"), "a,host=global value=1@0");
        assert_eq!(ok(&p, "cpu.s1.idle 1 0"), "cpu.idle,host=s1 value=1@0");
        assert_eq!(ok(&p, "cpu.s1.user 1 0"), "cpu.s1,host=user value=1@0");
        assert_eq!(ok(&p, "q.x.m.n 1 0"), "n,host=m value=1@0");
        assert_eq!(
            ok(&p, "other.thing.extra 1 0"),
            "other,env=prod,host=thing value=1@0"
        );
    }

    #[test]
    fn global_tags_fill_only_unset_keys() {
        let p = parser(
            "_",
            &["dc.* .dc.measurement", "empty.* .host.measurement dc=tmpl"],
            &["dc=east", "host=g", "k=1", "k=2"],
        );
        assert_eq!(ok(&p, "dc.west.m 1 0"), "m,dc=west,host=g,k=2 value=1@0");
        // host set to "" by the path: not stored, and the global host is not applied
        assert_eq!(ok(&p, "empty..m 1 0"), "m,dc=tmpl,k=2 value=1@0");
        assert_eq!(ok(&p, "other 1 0"), "other,dc=east,host=g,k=2 value=1@0");
    }

    #[test]
    fn template_errors_per_line() {
        let p = parser(
            ".",
            &[
                "both.* .measurement*.field*",
                "mf.* .measurement.field.measurement.field",
            ],
            &[],
        );
        let conflict = err(&p, "both.a.b 1 0");
        assert!(matches!(conflict, GraphiteErrorKind::GreedyConflict(_)));
        let error = GraphiteError { kind: conflict };
        assert_eq!(
            p.error_message(b"both.a.b 1 0", &error),
            "either 'field*' or 'measurement*' can be used in each template (but not both \
             together): \".measurement*.field*\""
        );
        assert_eq!(err(&p, "mf.a.b.c.d 1 0"), GraphiteErrorKind::FieldTwice);
        // the first field is empty: no error, the second wins
        assert_eq!(ok(&p, "mf.a..c.d 1 0"), "a.c d=1@0");
        assert_eq!(ok(&p, "mf.a.b 1 0"), "a b=1@0");
    }

    #[test]
    fn config_errors_have_influxdb_texts() {
        let refused = |templates: &[&str], tags: &[&str]| {
            let templates: Vec<String> = templates.iter().map(|t| t.to_string()).collect();
            let tags: Vec<String> = tags.iter().map(|t| t.to_string()).collect();
            match GraphiteParser::new(".", &templates, &tags) {
                Ok(_) => panic!("{templates:?} {tags:?} accepted"),
                Err(error) => error,
            }
        };
        assert_eq!(
            refused(&["host.field"], &[]),
            "no measurement in template `host.field`"
        );
        assert_eq!(refused(&[""], &[]), "missing template at position: 0");
        assert_eq!(
            refused(&["a b c d"], &[]),
            "invalid template format: 'a b c d'"
        );
        assert_eq!(
            refused(&["a.* measurement", "a.* .measurement"], &[]),
            "duplicate filter 'a.*' found at position: 1"
        );
        assert_eq!(
            refused(&["measurement", "host.measurement"], &[]),
            "duplicate filter '' found at position: 1"
        );
        assert_eq!(
            refused(&["a..b measurement"], &[]),
            "filter contains blank section: a..b"
        );
        assert_eq!(
            refused(&["a* measurement"], &[]),
            "invalid filter wildcard section: a*"
        );
        assert_eq!(
            refused(&["measurement a=b,c"], &[]),
            "invalid template tags: 'c'"
        );
        assert_eq!(
            refused(&["measurement a="], &[]),
            "invalid template tags: a='"
        );
        assert_eq!(
            refused(&["measurementx"], &[]),
            "no measurement in template `measurementx`"
        );
        assert_eq!(refused(&[], &["bad"]), "invalid template tags: 'bad'");
        assert_eq!(refused(&[], &["a=b=c"]), "invalid template tags: 'a=b=c'");
        assert_eq!(refused(&[], &["=b"]), "invalid template tags: =b'");
        let accepted = [
            "measurement a=b,c=d e=f",
            "measurement.*",
            "*.b measurement",
        ];
        for template in accepted {
            parser(".", &[template], &[]);
        }
        parser(
            ".",
            &["measurement*.measurement*", "x measurement.field.field"],
            &["k=1", "k=2"],
        );
        // the tags of a three-part setting are its last part
        let p = parser(".", &["measurement a=b,c=d e=f"], &[]);
        assert_eq!(ok(&p, "m 1 0"), "m,e=f value=1@0");
    }

    #[test]
    fn values_follow_go_parse_float() {
        let p = parser(".", &[], &[]);
        for (text, value) in [
            ("42", 42.0),
            ("1_000", 1000.0),
            ("0x1p4", 16.0),
            ("0x_1p0", 1.0),
            ("0x1.8p1", 3.0),
            ("0X1P-2", 0.25),
            ("0x.8p1", 1.0),
            ("1e-400", 0.0),
            (".5", 0.5),
            ("5.", 5.0),
            ("+7", 7.0),
            ("00012", 12.0),
            ("1_0.5_0", 10.5),
            ("0.1e1_0", 1e9),
            ("0x1p-1074", 5e-324),
            ("0x1p-1075", 0.0),
            ("0x1.fffffffffffff8p0", 2.0),
            ("0x1.fffffffffffff7p0", 1.9999999999999998),
        ] {
            let stored = parse(&p, &format!("v {text} 0"));
            assert_eq!(stored.map(|s| s.value), Ok(value), "{text}");
        }
        for text in [
            "0x10", "1_", "_1", "1__0", "1._5", "-nan", "+NaN", "infin", "1e", "1.5e+", "0x1p",
        ] {
            assert_eq!(
                err(&p, &format!("v {text} 0")),
                GraphiteErrorKind::ValueSyntax,
                "{text}"
            );
        }
        for text in ["1e400", "-1e400", "1.7976931348623159e308", "0x1p1024"] {
            assert_eq!(
                err(&p, &format!("v {text} 0")),
                GraphiteErrorKind::ValueRange,
                "{text}"
            );
        }
        assert_eq!(err(&p, "v NaN 0"), GraphiteErrorKind::NanValue);
        assert_eq!(err(&p, "v nan abc"), GraphiteErrorKind::NanValue);
        assert_eq!(
            err(&p, "v Infinity 0"),
            GraphiteErrorKind::InfiniteValue(false)
        );
        assert_eq!(err(&p, "v -inf 0"), GraphiteErrorKind::InfiniteValue(true));
    }

    #[test]
    fn timestamps_follow_influxdb() {
        let p = parser(".", &[], &[]);
        let time = |text: &str| parse(&p, &format!("t 1 {text}")).map(|stored| stored.time_ns);
        assert_eq!(time("1500000000.5"), Ok(1_500_000_000_500_000_000));
        assert_eq!(time("1500000000.123"), Ok(1_500_000_000_122_999_906));
        assert_eq!(time("-1.5"), Ok(-500_000_000));
        assert_eq!(time("-0.25"), Ok(750_000_000));
        assert_eq!(time("-1.00000000001"), Ok(-1));
        assert_eq!(time("-1e0"), Ok(NOW_NS));
        assert_eq!(time("1_500_000_000"), Ok(1_500_000_000_000_000_000));
        assert_eq!(time("0x1p30"), Ok(1_073_741_824_000_000_000));
        assert_eq!(time("2147472000"), Ok(2_147_472_000_000_000_000));
        assert_eq!(time("-2147558400"), Ok(-2_147_558_400_000_000_000));
        assert_eq!(time("-2147558400.5"), Ok(-2_147_558_399_500_000_000));
        for text in [
            "2147472001",
            "2147472000.5",
            "-2147558401",
            "NaN",
            "Inf",
            "9.3e18",
            "-9.2e18",
        ] {
            assert_eq!(time(text), Err(GraphiteErrorKind::TimeOutOfRange), "{text}");
        }
        assert_eq!(time("abc"), Err(GraphiteErrorKind::TimeSyntax));
        assert_eq!(time("1e400"), Err(GraphiteErrorKind::TimeRange));
    }

    #[test]
    fn fields_split_on_unicode_whitespace() {
        let p = parser(".", &[], &[]);
        assert_eq!(ok(&p, "tab\t1\t0"), "tab value=1@0");
        assert_eq!(ok(&p, "\u{a0}lead 1 0\r"), "lead value=1@0");
        assert_eq!(err(&p, "x\u{2003}y 1 0"), GraphiteErrorKind::FieldCount);
        assert_eq!(err(&p, "x\u{85}y 1 0"), GraphiteErrorKind::FieldCount);
        assert_eq!(err(&p, "only"), GraphiteErrorKind::FieldCount);
        assert_eq!(err(&p, "   "), GraphiteErrorKind::Blank);
        assert_eq!(err(&p, ""), GraphiteErrorKind::Blank);
        assert_eq!(ok(&p, "b\u{ff}d 1 0"), "b\u{ff}d value=1@0");
        assert_eq!(trim_space(b" \t\xc2\xa0x y\r\n\xe3\x80\x80"), b"x y");
        let error = GraphiteError {
            kind: GraphiteErrorKind::FieldCount,
        };
        assert_eq!(
            p.error_message(b"tab\tname\t3\t1", &error),
            "received \"tab\\tname\\t3\\t1\" which doesn't have required fields"
        );
    }

    #[test]
    fn escapes_and_limits() {
        let p = parser(
            "_",
            &["stats.* .host.measurement.field", "t.* .measurement.time"],
            &[],
        );
        assert_eq!(ok(&p, "a,b=c 1 0"), "a,b=c value=1@0");
        assert_eq!(ok(&p, "q\\,x 1 0"), "q,x value=1@0");
        assert_eq!(ok(&p, "q\\\"x 1 0"), "q\"x value=1@0");
        assert_eq!(ok(&p, "stats.h,1.m.f=x 1 0"), "m,host=h,1 f=x=1@0");
        assert_eq!(ok(&p, "stats.h\\,1.m.f\"g 1 0"), "m,host=h\\,1 f\"g=1@0");
        assert_eq!(err(&p, "t.m.x 1 0"), GraphiteErrorKind::TimeTagKey);
        assert_eq!(
            err(&p, "stats.h.m.time 1 0"),
            GraphiteErrorKind::TimeFieldKey
        );
        assert_eq!(ok(&p, "t.m. 1 0"), "m value=1@0");
        let long = format!("{} 1 0", "x".repeat(65_600));
        assert_eq!(err(&p, &long), GraphiteErrorKind::KeyTooLong(65_609));
        let error = GraphiteError {
            kind: GraphiteErrorKind::TimeTagKey,
        };
        assert_eq!(
            p.error_message(b"t.m.x 1 0", &error),
            "partial write: invalid tag key: input tag \"time\" on measurement \"m\" is \
             invalid dropped=1"
        );
    }

    fn name_part() -> impl Strategy<Value = String> {
        proptest::string::string_regex("[a-zA-Z0-9_,=\"\\\\#-]{0,6}")
            .unwrap_or_else(|_| panic!("BUG: bad regex"))
    }

    proptest! {
        #[test]
        fn generated_lines_round_trip(
            parts in proptest::collection::vec(name_part(), 1..6),
            value in proptest::num::f64::NORMAL | proptest::num::f64::SUBNORMAL
                | proptest::num::f64::ZERO,
            seconds in TIME_MIN_SECONDS..=TIME_MAX_SECONDS,
            template in 0usize..4,
        ) {
            let templates = [
                "measurement*",
                ".host.measurement.field",
                "measurement.measurement.field*",
                "host..measurement* dc=x",
            ];
            let p = parser("_", &[templates[template]], &["g=1"]);
            let name = parts.join(".");
            prop_assume!(!name.is_empty());
            let line = format!("{name} {value:e} {seconds}");
            let mut out = Vec::new();
            match p.parse_line(line.as_bytes(), NOW_NS, &mut out) {
                Ok(()) => {
                    let stored = read_back(&out);
                    prop_assert_eq!(stored.value.to_bits(), value.to_bits());
                    prop_assert_eq!(stored.time_ns, seconds * NANOS_PER_SECOND);
                    if template == 0 && !name.contains('\\') {
                        // a configured `measurement*` joins with the separator
                        prop_assert_eq!(&stored.measurement, &name.replace('.', "_").into_bytes());
                        prop_assert_eq!(&stored.field, &b"value".to_vec());
                    }
                    if template == 1 && parts.len() >= 4 && !parts[2].contains('\\') {
                        let field: &[u8] =
                            if parts[3].is_empty() { b"value" } else { parts[3].as_bytes() };
                        prop_assert_eq!(&stored.field, &field.to_vec());
                        if !parts[2].is_empty() {
                            prop_assert_eq!(&stored.measurement, &parts[2].as_bytes().to_vec());
                        }
                        if !parts[1].is_empty() {
                            prop_assert_eq!(
                                stored.tags.get(b"host".as_slice()),
                                Some(&parts[1].as_bytes().to_vec())
                            );
                        }
                    }
                }
                Err(error) => {
                    prop_assert!(
                        matches!(
                            error.kind,
                            GraphiteErrorKind::Inexpressible
                                | GraphiteErrorKind::FieldCount
                                | GraphiteErrorKind::Blank
                        ),
                        "{line:?}: {error:?}"
                    );
                    prop_assert!(out.is_empty());
                }
            }
        }

        #[test]
        fn arbitrary_bytes_never_panic_and_output_parses(bytes in proptest::collection::vec(
            proptest::sample::select(b"ab.*= ,\\\"#\t1e-_xp0\xc2\xa0".to_vec()), 0..40)) {
            let p = parser("_", &["a.* .host.measurement.field*", "measurement.field"], &["g=1"]);
            let mut out = Vec::new();
            if p.parse_line(&bytes, NOW_NS, &mut out).is_ok() {
                read_back(&out);
            }
        }
    }
}
