//! What a statement returns, before it is encoded (JSON, CSV, chunked): the model every
//! executor (SELECT, SHOW, meta statements) produces and every encoder consumes.
//!
//! Mirrors InfluxDB 1.x's result shape: per statement, series (name, tags, columns, rows),
//! messages, an error, and `partial` flags for chunked answers. Times are kept as nanoseconds
//! ([`Value::Time`]) so the encoder applies `epoch` (RFC3339 when absent).

/// One cell of a row.
#[derive(Clone, Debug, PartialEq)]
pub enum Value {
    /// JSON `null` (an empty cell in CSV)
    Null,
    /// a float (InfluxDB prints it with Go's shortest formatting; NaN/±Inf cannot be JSON)
    Float(f64),
    /// a signed integer
    Integer(i64),
    /// an unsigned integer
    Unsigned(u64),
    /// a string
    String(String),
    /// a boolean
    Boolean(bool),
    /// a time in nanoseconds since the epoch, formatted by the encoder per `epoch`
    Time(i64),
    /// a time of a `tz()` query: nanoseconds since the epoch and the zone's UTC offset at
    /// that instant, which RFC 3339 output prints (`2026-11-01T01:00:00+01:00`); as
    /// integers (`epoch`, CSV) it is the same as [`Value::Time`]
    ZonedTime {
        /// nanoseconds since the epoch
        time_ns: i64,
        /// the zone's offset from UTC at `time_ns`, seconds east
        offset_seconds: i32,
    },
}

/// One series of a statement's result.
#[derive(Clone, Debug, PartialEq, Default)]
pub struct Series {
    /// measurement or result name (`None`: no `name` key, as some SHOW results)
    pub name: Option<String>,
    /// tags of the group, in key order (empty: no `tags` key)
    pub tags: Vec<(String, String)>,
    /// column names
    pub columns: Vec<String>,
    /// rows, each as long as `columns` (empty: no `values` key)
    pub values: Vec<Vec<Value>>,
    /// more rows of this series follow in a later chunk
    pub partial: bool,
}

/// A message attached to a statement's result (InfluxDB's `messages`).
#[derive(Clone, Debug, PartialEq)]
pub struct Message {
    /// `warning` or `info`
    pub level: String,
    /// the text
    pub text: String,
}

/// One statement's result.
#[derive(Clone, Debug, PartialEq, Default)]
pub struct StatementResult {
    /// position of the statement in the query, from 0
    pub statement_id: usize,
    /// series, in InfluxDB's order
    pub series: Vec<Series>,
    /// messages
    pub messages: Vec<Message>,
    /// the statement failed with this message (`series` then empty)
    pub error: Option<String>,
    /// more of this statement's result follows in a later chunk
    pub partial: bool,
}

impl StatementResult {
    /// A failed statement.
    pub fn error(statement_id: usize, message: impl Into<String>) -> StatementResult {
        StatementResult {
            statement_id,
            error: Some(message.into()),
            ..StatementResult::default()
        }
    }
}
