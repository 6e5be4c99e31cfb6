//! Timestamps in the formats the providers use, computed from sandbox time (no date crate:
//! the calendar arithmetic is two dozen lines), and read back from what clients send.
//!
//! Providers choose their form (offset, precision, which written variants they accept) and
//! call in here for the arithmetic.

const DAY_MS: i64 = 86_400_000;

/// Days since 1970-01-01 → (year, month, day), proleptic Gregorian (Howard Hinnant's
/// days-to-civil algorithm).
fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (if m <= 2 { y + 1 } else { y }, m, d)
}

/// 9000-01-01T00:00:00Z: how far the sandbox clock may be moved. Every timestamp answered
/// must keep a four-digit year, and answers add lifetimes to now (a card token's TTL, a
/// card's expiry years): a thousand years leaves room for all of them.
pub const CLOCK_LIMIT_MS: i64 = 221_845_392_000_000;

/// Days in a month of the proleptic Gregorian calendar; 0 for a month that is not 1–12.
pub fn days_in_month(year: i64, month: i64) -> i64 {
    let leap = year % 4 == 0 && (year % 100 != 0 || year % 400 == 0);
    match month {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        2 if leap => 29,
        2 => 28,
        _ => 0,
    }
}

/// (year, month, day) → days since 1970-01-01, the inverse of [`civil_from_days`].
fn days_from_civil(year: i64, month: u32, day: u32) -> i64 {
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y.rem_euclid(400);
    let m = i64::from(month);
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + i64::from(day) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// Broken-down time of `ms` since the epoch shifted by `offset_minutes`.
pub fn parts(ms: i64, offset_minutes: i64) -> (i64, u32, u32, u32, u32, u32, u32) {
    let local = ms + offset_minutes * 60_000;
    let days = local.div_euclid(DAY_MS);
    let rem = local.rem_euclid(DAY_MS);
    let (y, mo, d) = civil_from_days(days);
    let secs = rem / 1000;
    (
        y,
        mo,
        d,
        (secs / 3600) as u32,
        ((secs / 60) % 60) as u32,
        (secs % 60) as u32,
        (rem % 1000) as u32,
    )
}

fn with_millis(ms: i64, offset_minutes: i64) -> String {
    let (y, mo, d, h, mi, s, milli) = parts(ms, offset_minutes);
    format!("{y:04}-{mo:02}-{d:02}T{h:02}:{mi:02}:{s:02}.{milli:03}")
}

/// `2026-11-22T18:40:25.123Z`
pub fn rfc3339_ms(ms: i64) -> String {
    format!("{}Z", with_millis(ms, 0))
}

/// `2019-07-03T17:15:35.000-04:00`: the local time at a fixed offset, and that offset.
pub fn rfc3339_ms_at(ms: i64, offset_minutes: i64) -> String {
    let sign = if offset_minutes < 0 { '-' } else { '+' };
    let off = offset_minutes.abs();
    format!(
        "{}{sign}{:02}:{:02}",
        with_millis(ms, offset_minutes),
        off / 60,
        off % 60
    )
}

/// `2026-11-22T18:40:25Z`
pub fn rfc3339(ms: i64) -> String {
    let (y, mo, d, h, mi, s, _) = parts(ms, 0);
    format!("{y:04}-{mo:02}-{d:02}T{h:02}:{mi:02}:{s:02}Z")
}

/// The current calendar year and month at `ms` (UTC), for expiry checks.
pub fn year_month(ms: i64) -> (i64, u32) {
    let (y, mo, ..) = parts(ms, 0);
    (y, mo)
}

/// A timestamp as it was written, so that each provider can decide which written forms it
/// takes: a date (`2024-05-22`) or a date-time (`2024-05-22T10:03:28.653-04:00`) with an
/// optional fraction (read to the millisecond) and an optional zone.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Stamp {
    /// The instant, in milliseconds since the epoch; a time without a zone is read as UTC.
    pub ms: i64,
    /// What stood between date and time (`T`, `t` or a space); `None` for a bare date.
    pub separator: Option<char>,
    pub zone: Zone,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Zone {
    /// No zone written.
    Absent,
    /// `Z` or `z`.
    Utc,
    /// `±HH:MM` (`colon`) or `±HHMM`.
    Offset { minutes: i64, colon: bool },
}

/// Reads a date or date-time in the ISO 8601 forms [`Stamp`] describes; `None` for anything
/// else, including out-of-range months, days, hours, minutes and seconds.
pub fn read_stamp(text: &str) -> Option<Stamp> {
    let b = text.as_bytes();
    let num = |from: usize, len: usize| -> Option<i64> {
        let part = text.get(from..from + len)?;
        part.bytes()
            .all(|c| c.is_ascii_digit())
            .then(|| part.parse().ok())?
    };
    if b.len() < 10 || b[4] != b'-' || b[7] != b'-' {
        return None;
    }
    let (y, mo, d) = (num(0, 4)?, num(5, 2)?, num(8, 2)?);
    if !(1..=days_in_month(y, mo)).contains(&d) {
        return None;
    }
    let mut ms = days_from_civil(y, mo as u32, d as u32) * DAY_MS;
    if b.len() == 10 {
        return Some(Stamp {
            ms,
            separator: None,
            zone: Zone::Absent,
        });
    }
    if b.len() < 19 || !matches!(b[10], b'T' | b't' | b' ') || b[13] != b':' || b[16] != b':' {
        return None;
    }
    let (h, mi, sec) = (num(11, 2)?, num(14, 2)?, num(17, 2)?);
    if h > 23 || mi > 59 || sec > 60 {
        return None;
    }
    ms += (h * 3600 + mi * 60 + sec) * 1000;
    let mut i = 19;
    if b.get(i) == Some(&b'.') {
        let start = i + 1;
        i = start;
        while b.get(i).is_some_and(u8::is_ascii_digit) {
            i += 1;
        }
        if i == start {
            return None;
        }
        let frac = text.get(start..i.min(start + 3))?;
        ms += format!("{frac:0<3}").parse::<i64>().ok()?;
    }
    let zone = match text.get(i..)? {
        "" => Zone::Absent,
        "Z" | "z" => Zone::Utc,
        zone => {
            let sign = match zone.as_bytes()[0] {
                b'+' => 1,
                b'-' => -1,
                _ => return None,
            };
            let (hours, minutes, colon) = match zone.len() {
                6 if zone.as_bytes()[3] == b':' => (num(i + 1, 2)?, num(i + 4, 2)?, true),
                5 => (num(i + 1, 2)?, num(i + 3, 2)?, false),
                _ => return None,
            };
            // RFC 3339's time-numoffset: hours 00–23, minutes 00–59.
            if hours > 23 || minutes > 59 {
                return None;
            }
            Zone::Offset {
                minutes: sign * (hours * 60 + minutes),
                colon,
            }
        }
    };
    if let Zone::Offset { minutes, .. } = zone {
        ms -= minutes * 60_000;
    }
    Some(Stamp {
        ms,
        separator: Some(char::from(b[10])),
        zone,
    })
}

/// Parses an RFC 3339 date-time, `YYYY-MM-DDTHH:MM:SS[.fff](Z|±HH:MM)`, into Unix
/// milliseconds; `None` when it is not that (a bare date, no zone, `±HHMM`).
pub fn parse_rfc3339(text: &str) -> Option<i64> {
    read_stamp(text)
        .filter(|s| {
            s.separator.is_some() && matches!(s.zone, Zone::Utc | Zone::Offset { colon: true, .. })
        })
        .map(|s| s.ms)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_instants_format_correctly() {
        assert_eq!(rfc3339_ms(0), "1970-01-01T00:00:00.000Z");
        assert_eq!(rfc3339_ms(1_562_188_535_000), "2019-07-03T21:15:35.000Z");
        assert_eq!(rfc3339(951_782_400_000), "2000-02-29T00:00:00Z");
        assert_eq!(year_month(1_562_188_535_000), (2019, 7));
    }

    #[test]
    fn formats_at_a_fixed_offset() {
        assert_eq!(
            rfc3339_ms_at(1_562_188_535_000, -4 * 60),
            "2019-07-03T17:15:35.000-04:00"
        );
        assert_eq!(
            rfc3339_ms_at(1_458_764_514_859, 5 * 60 + 30),
            "2016-03-24T01:51:54.859+05:30"
        );
    }

    #[test]
    fn formats_with_milliseconds_like_square() {
        assert_eq!(rfc3339_ms(0), "1970-01-01T00:00:00.000Z");
        assert_eq!(rfc3339_ms(1_458_764_514_859), "2016-03-23T20:21:54.859Z");
        assert_eq!(year_month(1_458_764_514_859), (2016, 3));
    }

    #[test]
    fn year_month_turns_at_month_ends() {
        assert_eq!(year_month(0), (1970, 1));
        // 2024-02-29T23:59:59Z
        assert_eq!(year_month(1_709_251_199_000), (2024, 2));
        // 2024-03-01T00:00:00Z
        assert_eq!(year_month(1_709_251_200_000), (2024, 3));
        // 2030-12-31T23:59:59.999Z and the next millisecond
        assert_eq!(year_month(1_924_991_999_999), (2030, 12));
        assert_eq!(year_month(1_924_992_000_000), (2031, 1));
    }

    #[test]
    fn days_and_dates_convert_both_ways() {
        for days in [-719_468, -1, 0, 1, 11_016, 19_782, 2_932_896] {
            let (y, m, d) = civil_from_days(days);
            assert_eq!(days_from_civil(y, m, d), days, "{y}-{m}-{d}");
        }
        assert_eq!(days_from_civil(2000, 2, 29), 11_016);
    }

    #[test]
    fn parses_what_it_formats_and_offsets() {
        assert_eq!(
            parse_rfc3339("2016-03-23T20:21:54.859Z"),
            Some(1_458_764_514_859)
        );
        assert_eq!(
            parse_rfc3339("2018-02-01T00:00:00-00:00"),
            parse_rfc3339("2018-02-01T00:00:00Z")
        );
        assert_eq!(
            parse_rfc3339("2018-02-01T01:00:00+01:00"),
            parse_rfc3339("2018-02-01T00:00:00Z")
        );
        assert_eq!(parse_rfc3339("yesterday"), None);
        assert_eq!(parse_rfc3339("2018-02-01"), None);
    }

    #[test]
    fn rfc3339_wants_a_time_and_a_zone_with_a_colon() {
        let ms = Some(1_517_443_200_000);
        assert_eq!(parse_rfc3339("2018-02-01t00:00:00z"), ms);
        assert_eq!(parse_rfc3339("2018-02-01 00:00:00Z"), ms);
        assert_eq!(parse_rfc3339("2018-02-01T00:00:00"), None);
        assert_eq!(parse_rfc3339("2018-02-01T00:00:00+0000"), None);
        assert_eq!(parse_rfc3339("2018-02-01T00:00:00+-1:00"), None);
        assert_eq!(parse_rfc3339("2018-02-01T00:00:00."), None);
        for offset in ["+99:99", "+23:60", "+00:99", "-24:00"] {
            assert_eq!(parse_rfc3339(&format!("2018-02-01T00:00:00{offset}")), None);
        }
        assert!(parse_rfc3339("2018-02-01T00:00:00-23:59").is_some());
    }

    #[test]
    fn stamps_say_how_they_were_written() {
        assert_eq!(
            read_stamp("2024-05-22"),
            Some(Stamp {
                ms: 1_716_336_000_000,
                separator: None,
                zone: Zone::Absent
            })
        );
        assert_eq!(
            read_stamp("2024-05-22T10:03:28.6-0400"),
            Some(Stamp {
                ms: 1_716_386_608_600,
                separator: Some('T'),
                zone: Zone::Offset {
                    minutes: -240,
                    colon: false
                }
            })
        );
        assert_eq!(read_stamp("2024-05-22Z"), None);
        assert_eq!(read_stamp("2024-05-22T10:03:28+4"), None);
    }
}
