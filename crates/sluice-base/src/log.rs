//! Logging to stderr in one stable, greppable logfmt line per event:
//!
//! ```text
//! ts=2026-11-26T06:38:54.123456Z lvl=info service=wal msg="replayed partition" partition=0
//! ```
//!
//! Owns the global level. Each line is formatted into one buffer and written with a single
//! `write` so lines from different threads never interleave.

use std::io::Write;
use std::sync::atomic::{AtomicU8, Ordering};

/// Severity of a log line.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
#[repr(u8)]
pub enum Level {
    /// per-request detail
    Debug = 0,
    /// normal operation
    Info = 1,
    /// something was wrong but handled
    Warn = 2,
    /// an operation failed
    Error = 3,
}

impl Level {
    /// Parses `debug`, `info`, `warn`, `error`.
    pub fn parse(text: &str) -> Option<Level> {
        match text {
            "debug" => Some(Level::Debug),
            "info" => Some(Level::Info),
            "warn" => Some(Level::Warn),
            "error" => Some(Level::Error),
            _ => None,
        }
    }

    fn name(self) -> &'static str {
        match self {
            Level::Debug => "debug",
            Level::Info => "info",
            Level::Warn => "warn",
            Level::Error => "error",
        }
    }
}

static LEVEL: AtomicU8 = AtomicU8::new(Level::Info as u8);

/// Sets the lowest level that is written.
pub fn set_level(level: Level) {
    LEVEL.store(level as u8, Ordering::Relaxed);
}

/// Whether a line at `level` would be written.
pub fn enabled(level: Level) -> bool {
    level as u8 >= LEVEL.load(Ordering::Relaxed)
}

/// Writes one line; use the `log_*!` macros instead.
pub fn write_line(
    level: Level,
    service: &str,
    message: std::fmt::Arguments<'_>,
    pairs: &[(&str, &dyn std::fmt::Display)],
) {
    if !enabled(level) {
        return;
    }
    let mut line = String::with_capacity(160);
    line.push_str("ts=");
    line.push_str(&sluice_model::time::rfc3339_micros(
        sluice_model::time::now_ns(),
    ));
    line.push_str(" lvl=");
    line.push_str(level.name());
    line.push_str(" service=");
    line.push_str(service);
    line.push_str(" msg=");
    push_quoted(&mut line, &message.to_string());
    for (key, value) in pairs {
        line.push(' ');
        line.push_str(key);
        line.push('=');
        let text = value.to_string();
        if text.is_empty() || text.contains([' ', '"', '=', '\n']) {
            push_quoted(&mut line, &text);
        } else {
            line.push_str(&text);
        }
    }
    line.push('\n');
    // A failed write to stderr has nowhere to be reported.
    let _ = std::io::stderr().lock().write_all(line.as_bytes());
}

fn push_quoted(line: &mut String, text: &str) {
    line.push('"');
    for character in text.chars() {
        match character {
            '"' => line.push_str("\\\""),
            '\\' => line.push_str("\\\\"),
            '\n' => line.push_str("\\n"),
            other => line.push(other),
        }
    }
    line.push('"');
}

/// `log_at!(Level::Info, "service", "message {}", arg; key = value, ...)`
#[macro_export]
macro_rules! log_at {
    ($level:expr, $service:expr, $($fmt:expr),+ $(; $($key:ident = $value:expr),* )?) => {
        if $crate::log::enabled($level) {
            $crate::log::write_line(
                $level,
                $service,
                format_args!($($fmt),+),
                &[$($((stringify!($key), &$value as &dyn std::fmt::Display)),*)?],
            )
        }
    };
}

/// Info-level line.
#[macro_export]
macro_rules! log_info {
    ($($arg:tt)+) => { $crate::log_at!($crate::log::Level::Info, $($arg)+) };
}

/// Warn-level line.
#[macro_export]
macro_rules! log_warn {
    ($($arg:tt)+) => { $crate::log_at!($crate::log::Level::Warn, $($arg)+) };
}

/// Error-level line.
#[macro_export]
macro_rules! log_error {
    ($($arg:tt)+) => { $crate::log_at!($crate::log::Level::Error, $($arg)+) };
}

/// Debug-level line.
#[macro_export]
macro_rules! log_debug {
    ($($arg:tt)+) => { $crate::log_at!($crate::log::Level::Debug, $($arg)+) };
}
