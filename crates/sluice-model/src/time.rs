//! Wall-clock time and its text forms: RFC 3339 for logs, RFC 1123 for the HTTP `Date` header.
//!
//! Civil-date conversion is the days-from-civil algorithm (proleptic Gregorian, UTC), so no
//! time-zone database is needed.

use std::time::{SystemTime, UNIX_EPOCH};

/// Nanoseconds since the Unix epoch now; a clock before 1970 reads as 0.
pub fn now_ns() -> i64 {
    match SystemTime::now().duration_since(UNIX_EPOCH) {
        Ok(elapsed) => i64::try_from(elapsed.as_nanos()).unwrap_or(i64::MAX),
        Err(_) => 0,
    }
}

/// A UTC date and time broken into fields.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CivilTime {
    /// year, e.g. 2026
    pub year: i64,
    /// 1..=12
    pub month: u32,
    /// 1..=31
    pub day: u32,
    /// 0..=23
    pub hour: u32,
    /// 0..=59
    pub minute: u32,
    /// 0..=59
    pub second: u32,
    /// 0..=999_999_999
    pub nanosecond: u32,
    /// 0 = Thursday (1970-01-01) ... use `weekday_name`
    days_since_epoch: i64,
}

impl CivilTime {
    /// Breaks nanoseconds since the epoch into UTC fields.
    pub fn from_unix_ns(ns: i64) -> CivilTime {
        let seconds = ns.div_euclid(1_000_000_000);
        let nanosecond = ns.rem_euclid(1_000_000_000) as u32;
        let days = seconds.div_euclid(86_400);
        let second_of_day = seconds.rem_euclid(86_400) as u32;
        let (year, month, day) = civil_from_days(days);
        CivilTime {
            year,
            month,
            day,
            hour: second_of_day / 3600,
            minute: second_of_day / 60 % 60,
            second: second_of_day % 60,
            nanosecond,
            days_since_epoch: days,
        }
    }

    /// Three-letter English weekday name.
    pub fn weekday_name(&self) -> &'static str {
        const NAMES: [&str; 7] = ["Thu", "Fri", "Sat", "Sun", "Mon", "Tue", "Wed"];
        NAMES[self.days_since_epoch.rem_euclid(7) as usize]
    }

    /// Three-letter English month name.
    pub fn month_name(&self) -> &'static str {
        const NAMES: [&str; 12] = [
            "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
        ];
        NAMES[(self.month.clamp(1, 12) - 1) as usize]
    }
}

/// (year, month, day) of a day count since 1970-01-01.
fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let day_of_era = z.rem_euclid(146_097);
    let year_of_era =
        (day_of_era - day_of_era / 1460 + day_of_era / 36_524 - day_of_era / 146_096) / 365;
    let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
    let month_index = (5 * day_of_year + 2) / 153;
    let day = (day_of_year - (153 * month_index + 2) / 5 + 1) as u32;
    let month = if month_index < 10 {
        month_index + 3
    } else {
        month_index - 9
    } as u32;
    let year = year_of_era + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

/// `Thu, 26 Nov 2026 06:38:54 GMT`, the HTTP `Date` header form.
pub fn http_date(ns: i64) -> String {
    let t = CivilTime::from_unix_ns(ns);
    format!(
        "{}, {:02} {} {:04} {:02}:{:02}:{:02} GMT",
        t.weekday_name(),
        t.day,
        t.month_name(),
        t.year,
        t.hour,
        t.minute,
        t.second
    )
}

/// `2026-11-26T06:38:54.123456Z`, the log timestamp form (microseconds).
pub fn rfc3339_micros(ns: i64) -> String {
    let t = CivilTime::from_unix_ns(ns);
    format!(
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:06}Z",
        t.year,
        t.month,
        t.day,
        t.hour,
        t.minute,
        t.second,
        t.nanosecond / 1000
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_dates() {
        assert_eq!(http_date(0), "Thu, 01 Jan 1970 00:00:00 GMT");
        assert_eq!(
            http_date(1_795_675_134_000_000_000),
            "Thu, 26 Nov 2026 06:38:54 GMT"
        );
        assert_eq!(
            rfc3339_micros(951_782_400_000_001_000),
            "2000-02-29T00:00:00.000001Z"
        );
        assert_eq!(rfc3339_micros(-1_000), "1969-12-31T23:59:59.999999Z");
    }
}
