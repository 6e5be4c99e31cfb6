//! Mercado Pago's timestamp forms.
//!
//! Customers, cards and card tokens carry `2019-07-03T17:15:35.000-04:00`: the sandbox
//! always renders them at the fixed offset -04:00 (the offset of the seed examples and of
//! the live API's Brazilian/Argentine accounts), so answers are stable whatever the host's
//! time zone. Payment profiles use the documented UTC form `2024-05-22T14:03:28.653Z`.

use crate::time;

const OFFSET_MINUTES: i64 = -4 * 60;

/// `2019-07-03T17:15:35.000-04:00` for a Unix time in milliseconds.
pub fn offset(ms: i64) -> String {
    time::rfc3339_ms_at(ms, OFFSET_MINUTES)
}

/// `2024-05-22T14:03:28.653Z` for a Unix time in milliseconds.
pub fn utc(ms: i64) -> String {
    time::rfc3339_ms(ms)
}

/// The calendar year and month (1–12) of a Unix time, at the sandbox's offset.
pub fn year_month(ms: i64) -> (i64, u32) {
    let (y, m, ..) = time::parts(ms, OFFSET_MINUTES);
    (y, m)
}

/// Reads an ISO 8601 date (`2024-05-22`) or date-time (`2024-05-22T10:03:28.653-04:00`,
/// `...Z`, or without zone, read as UTC; `T` or a space before the time) into Unix
/// milliseconds.
pub fn parse(s: &str) -> Option<i64> {
    time::read_stamp(s)
        .filter(|stamp| stamp.separator != Some('t'))
        .map(|stamp| stamp.ms)
}

/// A date or date-time a client sent (any form [`parse`] reads) as Mercado Pago answers
/// it, `2021-10-20T07:37:30.000-04:00`; `None` when it is not one, or lies outside the
/// years a timestamp can show (1900 to the sandbox clock's limit).
pub fn normalize(s: &str) -> Option<String> {
    const YEAR_1900_MS: i64 = -2_208_988_800_000;
    parse(s)
        .filter(|ms| (YEAR_1900_MS..time::CLOCK_LIMIT_MS).contains(ms))
        .map(offset)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_at_minus_four_and_in_utc() {
        // 2019-07-03T21:15:35Z
        let ms = 1_562_188_535_000;
        assert_eq!(offset(ms), "2019-07-03T17:15:35.000-04:00");
        assert_eq!(utc(ms + 653), "2019-07-03T21:15:35.653Z");
        assert_eq!(offset(0), "1969-12-31T20:00:00.000-04:00");
    }

    #[test]
    fn parses_what_it_renders_and_the_usual_iso_forms() {
        let ms = 1_716_386_608_653;
        assert_eq!(parse(&offset(ms)), Some(ms));
        assert_eq!(parse(&utc(ms)), Some(ms));
        assert_eq!(parse("2024-05-22"), Some(1_716_336_000_000));
        assert_eq!(parse("2024-05-22T14:03:28"), Some(1_716_386_608_000));
        assert_eq!(parse("2024-05-22T10:03:28.6-0400"), Some(1_716_386_608_600));
        for bad in [
            "",
            "yesterday",
            "2024-13-01",
            "2021-02-30T00:00:00Z",
            "2023-02-29",
            "2024-04-31",
            "2024-05-22T25:00:00",
            "2024-05-22T10:00:00+4",
        ] {
            assert_eq!(parse(bad), None, "{bad}");
        }
    }

    #[test]
    fn year_and_month_follow_the_offset() {
        // 2030-12-01T02:00Z is still November at -04:00.
        assert_eq!(year_month(1_922_320_800_000), (2030, 11));
    }
}
