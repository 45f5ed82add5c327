//! Dates in the site's time zone: editors type and read local times; the database keeps UTC.

use chrono::{NaiveDate, NaiveDateTime, TimeZone};
use chrono_tz::Tz;

/// The value of a `datetime-local` input for a UTC time (`2026-11-24T14:05`).
pub fn to_input(utc: NaiveDateTime, tz: Tz) -> String {
    tz.from_utc_datetime(&utc)
        .format("%Y-%m-%dT%H:%M")
        .to_string()
}

/// A readable local time: `24 Nov 2026, 14:05`.
pub fn display(utc: NaiveDateTime, tz: Tz) -> String {
    tz.from_utc_datetime(&utc)
        .format("%-d %b %Y, %H:%M")
        .to_string()
}

/// Parses a `datetime-local` value typed in the site's zone into UTC. A time that does not
/// exist (skipped by a daylight-saving change) is an error; an ambiguous one takes the earlier.
pub fn from_input(s: &str, tz: Tz) -> Result<NaiveDateTime, String> {
    let s = s.trim();
    let local = NaiveDateTime::parse_from_str(s, "%Y-%m-%dT%H:%M")
        .or_else(|_| NaiveDateTime::parse_from_str(s, "%Y-%m-%dT%H:%M:%S"))
        .map_err(|_| format!("'{s}' is not a date and time like 2026-08-03T09:00"))?;
    tz.from_local_datetime(&local)
        .earliest()
        .map(|t| t.naive_utc())
        .ok_or_else(|| format!("{s} does not exist in {tz} (the clocks change then)"))
}

/// Parses a date input (`2023-08-03`).
pub fn date_from_input(s: &str) -> Result<NaiveDate, String> {
    NaiveDate::parse_from_str(s.trim(), "%Y-%m-%d")
        .map_err(|_| format!("'{}' is not a date like 2023-08-03", s.trim()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_through_a_zone() {
        let tz: Tz = "Europe/London".parse().expect("zone");
        let utc = from_input("2026-07-01T10:00", tz).expect("valid");
        assert_eq!(utc.format("%H:%M").to_string(), "09:00");
        assert_eq!(to_input(utc, tz), "2026-07-01T10:00");
        assert!(
            from_input("2026-03-29T01:30", tz).is_err(),
            "skipped by the spring change"
        );
        assert!(from_input("tomorrow", tz).is_err());
    }
}
