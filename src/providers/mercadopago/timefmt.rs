//! Mercado Pago's timestamp forms, without a date-time dependency.
//!
//! Customers, cards and card tokens carry `2019-07-03T17:15:35.000-04:00`: the sandbox
//! always renders them at the fixed offset -04:00 (the offset of the seed examples and of
//! the live API's Brazilian/Argentine accounts), so answers are stable whatever the host's
//! time zone. Payment profiles use the documented UTC form `2024-05-22T14:03:28.653Z`.

const OFFSET_MINUTES: i64 = -4 * 60;

/// `2019-07-03T17:15:35.000-04:00` for a Unix time in milliseconds.
pub fn offset(ms: i64) -> String {
    let local = ms + OFFSET_MINUTES * 60_000;
    let sign = if OFFSET_MINUTES < 0 { '-' } else { '+' };
    let off = OFFSET_MINUTES.abs();
    format!("{}{sign}{:02}:{:02}", civil(local), off / 60, off % 60)
}

/// `2024-05-22T14:03:28.653Z` for a Unix time in milliseconds.
pub fn utc(ms: i64) -> String {
    format!("{}Z", civil(ms))
}

fn civil(ms: i64) -> String {
    let days = ms.div_euclid(86_400_000);
    let rem = ms.rem_euclid(86_400_000);
    let (y, m, d) = civil_from_days(days);
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}.{:03}",
        rem / 3_600_000,
        rem / 60_000 % 60,
        rem / 1000 % 60,
        rem % 1000
    )
}

/// Howard Hinnant's days-to-civil algorithm (proleptic Gregorian).
fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
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

fn days_from_civil(y: i64, m: u32, d: u32) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y.rem_euclid(400);
    let m = m as i64;
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + d as i64 - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// The calendar year and month (1–12) of a Unix time, at the sandbox's offset.
pub fn year_month(ms: i64) -> (i64, u32) {
    let (y, m, _) = civil_from_days((ms + OFFSET_MINUTES * 60_000).div_euclid(86_400_000));
    (y, m)
}

/// Reads an ISO 8601 date (`2024-05-22`) or date-time (`2024-05-22T10:03:28.653-04:00`,
/// `...Z`, or without zone, read as UTC) into Unix milliseconds.
pub fn parse(s: &str) -> Option<i64> {
    let b = s.as_bytes();
    let num = |from: usize, len: usize| -> Option<i64> {
        let part = s.get(from..from + len)?;
        part.bytes()
            .all(|c| c.is_ascii_digit())
            .then(|| part.parse().ok())?
    };
    if b.len() < 10 || b[4] != b'-' || b[7] != b'-' {
        return None;
    }
    let (y, mo, d) = (num(0, 4)?, num(5, 2)?, num(8, 2)?);
    if !(1..=12).contains(&mo) || !(1..=31).contains(&d) {
        return None;
    }
    let mut ms = days_from_civil(y, mo as u32, d as u32) * 86_400_000;
    if b.len() == 10 {
        return Some(ms);
    }
    if b.len() < 19 || (b[10] != b'T' && b[10] != b' ') || b[13] != b':' || b[16] != b':' {
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
        let frac = &s[start..i.min(start + 3)];
        let scale = 10_i64.pow(3 - frac.len() as u32);
        ms += frac.parse::<i64>().ok()? * scale;
    }
    match &s[i..] {
        "" | "Z" | "z" => Some(ms),
        zone => {
            let sign = match zone.as_bytes()[0] {
                b'+' => 1,
                b'-' => -1,
                _ => return None,
            };
            let digits: String = zone[1..].chars().filter(|c| *c != ':').collect();
            if digits.len() != 4 || !digits.bytes().all(|c| c.is_ascii_digit()) {
                return None;
            }
            let zh: i64 = digits[..2].parse().ok()?;
            let zm: i64 = digits[2..].parse().ok()?;
            Some(ms - sign * (zh * 60 + zm) * 60_000)
        }
    }
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
