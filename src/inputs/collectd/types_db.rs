//! collectd's `types.db`: which data sources (names and kinds) each value-list type has.
//!
//! Owns parsing the text of one or more `types.db(5)` files into a lookup table, the way
//! InfluxDB 1.6.7's collectd service (go-collectd's `api.NewTypesDB`) reads them:
//!
//! - Lines are split on `\n` (a trailing `\r` is dropped). Empty lines and lines whose first
//!   byte is `#` are skipped; a `#` after leading blanks is *not* a comment.
//! - A line is split into words on Unicode white space. The first word is the type name, each
//!   further word is one data source `name:KIND:min:max` with at most one trailing `,` removed.
//!   `KIND` is exactly `GAUGE`, `DERIVE` or `COUNTER` (so every `ABSOLUTE` type is dropped);
//!   `min` and `max` are `U` or a float Go's `strconv.ParseFloat` reads without error
//!   ([`crate::inputs::gocompat::parse_float`]: `0x1p3` and `1_0` are bounds, `+nan` and
//!   `1e400` are not). A line with any bad data source is skipped whole.
//! - A line with only a name is a type with no data sources; a blank-only line defines the
//!   type `""` with no data sources (go-collectd does the same).
//! - A later definition of a name replaces an earlier one, so concatenated files merge with the
//!   later file winning, as InfluxDB merges a `typesdb` directory in file-name order.
//!
//! Invariant: every stored [`DataSet`] has only sources that parsed completely.

use std::collections::HashMap;

use crate::inputs::gocompat::{parse_float, ParseFloat};

/// The standard `types.db` shipped by Debian's `collectd-core` 5.12 (data, not code).
pub const BUNDLED_TYPES_DB: &str = include_str!("types.db");

/// How a data source's value is interpreted (`types.db` second column).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DataSourceKind {
    /// `GAUGE`: a float64 sample
    Gauge,
    /// `DERIVE`: a signed 64-bit counter
    Derive,
    /// `COUNTER`: an unsigned 64-bit counter
    Counter,
}

/// One data source of a type.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DataSource {
    /// data source name (becomes a measurement suffix or a field key)
    pub name: String,
    /// kind the wire value is converted to
    pub kind: DataSourceKind,
}

/// The data sources of one type, in `types.db` order.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct DataSet {
    /// data sources in order; a value list of this type has exactly this many values
    pub sources: Vec<DataSource>,
}

/// A parsed set of `types.db` definitions.
#[derive(Debug, Clone, Default)]
pub struct TypesDb {
    sets: HashMap<String, DataSet>,
}

impl TypesDb {
    /// Parses `text` (one or more concatenated `types.db` files); never fails, bad lines are
    /// skipped as InfluxDB skips them.
    pub fn parse(text: &str) -> TypesDb {
        let mut db = TypesDb::default();
        db.merge_text(text);
        db
    }

    /// Adds the definitions in `text`, replacing same-named earlier ones.
    pub fn merge_text(&mut self, text: &str) {
        for raw_line in text.split('\n') {
            let line = raw_line.strip_suffix('\r').unwrap_or(raw_line);
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            if let Some((name, set)) = parse_line(line) {
                self.sets.insert(name.to_owned(), set);
            }
        }
    }

    /// The data set of type `name`, if defined.
    pub fn data_set(&self, name: &[u8]) -> Option<&DataSet> {
        let name = std::str::from_utf8(name).ok()?;
        self.sets.get(name)
    }

    /// Number of defined types.
    pub fn len(&self) -> usize {
        self.sets.len()
    }

    /// Whether no type is defined.
    pub fn is_empty(&self) -> bool {
        self.sets.is_empty()
    }
}

/// One non-comment line: `name source...`; `None` when any source is bad.
fn parse_line(line: &str) -> Option<(&str, DataSet)> {
    let mut words = line.split_whitespace();
    let name = words.next().unwrap_or("");
    let mut set = DataSet::default();
    for word in words {
        set.sources.push(parse_source(word)?);
    }
    Some((name, set))
}

/// Number of `:`-separated columns of a data source.
const SOURCE_COLUMNS: usize = 4;

/// `name:KIND:min:max` with an optional trailing comma.
fn parse_source(word: &str) -> Option<DataSource> {
    let word = word.strip_suffix(',').unwrap_or(word);
    let columns: Vec<&str> = word.split(':').collect();
    let [name, kind, min, max] = <[&str; SOURCE_COLUMNS]>::try_from(columns).ok()?;
    let kind = match kind {
        "GAUGE" => DataSourceKind::Gauge,
        "DERIVE" => DataSourceKind::Derive,
        "COUNTER" => DataSourceKind::Counter,
        _ => return None,
    };
    if !is_bound(min) || !is_bound(max) {
        return None;
    }
    Some(DataSource {
        name: name.to_owned(),
        kind,
    })
}

/// Whether a min/max column is `U` or a float Go's `strconv.ParseFloat` accepts without error
/// (`inf` and `0x1p3` are bounds; an overflowing `1e400` or a signed `+nan` is not).
fn is_bound(text: &str) -> bool {
    text == "U" || matches!(parse_float(text.as_bytes()), ParseFloat::Value(_))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(db: &TypesDb, name: &str) -> Option<Vec<(String, DataSourceKind)>> {
        db.data_set(name.as_bytes()).map(|set| {
            set.sources
                .iter()
                .map(|s| (s.name.clone(), s.kind))
                .collect()
        })
    }

    #[test]
    fn bundled_has_standard_types() {
        let db = TypesDb::parse(BUNDLED_TYPES_DB);
        assert!(db.len() > 300);
        assert_eq!(
            names(&db, "if_octets"),
            Some(vec![
                ("rx".to_owned(), DataSourceKind::Derive),
                ("tx".to_owned(), DataSourceKind::Derive)
            ])
        );
        assert_eq!(
            names(&db, "memory"),
            Some(vec![("value".to_owned(), DataSourceKind::Gauge)])
        );
        assert_eq!(
            names(&db, "absolute"),
            None,
            "ABSOLUTE sources are rejected"
        );
        assert_eq!(names(&db, "load").map(|n| n.len()), Some(3));
    }

    #[test]
    fn line_rules() {
        let text = "# comment x:GAUGE:U:U\n\
            timey time:GAUGE:U:U, v:GAUGE:U:U\r\n\
            dup a:GAUGE:U:U b:GAUGE:U:U a:COUNTER:U:U\n  \
            # not a comment x:GAUGE:U:U\n\
            bigmin x:GAUGE:1e400:U\n\
            infmin x:GAUGE:-inf:+Inf\n\
            gosyntax x:GAUGE:0x1p3:1_000\n\
            signednan x:GAUGE:+nan:U\n\
            lower x:gauge:U:U\n\
            trail x:DERIVE:0:U,\n\
            spacey  a:GAUGE:U:U ,  b:GAUGE:U:U\n\
            glued x:GAUGE:U:U,y:GAUGE:U:U\n\
            empty\n\
            five x:GAUGE:U:U:U\n";
        let db = TypesDb::parse(text);
        assert_eq!(names(&db, "#"), None);
        assert_eq!(names(&db, "timey").map(|n| n.len()), Some(2));
        assert_eq!(names(&db, "dup").map(|n| n.len()), Some(3));
        assert_eq!(names(&db, "bigmin"), None);
        assert_eq!(names(&db, "infmin").map(|n| n.len()), Some(1));
        assert_eq!(names(&db, "gosyntax").map(|n| n.len()), Some(1));
        assert_eq!(names(&db, "signednan"), None);
        assert_eq!(names(&db, "lower"), None);
        assert_eq!(names(&db, "trail").map(|n| n.len()), Some(1));
        assert_eq!(names(&db, "spacey"), None, "a lone `,` is a bad source");
        assert_eq!(names(&db, "glued"), None);
        assert_eq!(names(&db, "empty"), Some(vec![]));
        assert_eq!(names(&db, "five"), None);
    }

    #[test]
    fn later_definition_wins() {
        let db = TypesDb::parse("load one:GAUGE:0:U\nload a:GAUGE:U:U b:DERIVE:U:U\n");
        assert_eq!(names(&db, "load").map(|n| n.len()), Some(2));
    }
}
