//! Timestamps in the formats the providers use, computed from sandbox time (no date crate:
//! civil-from-days arithmetic is a dozen lines).

/// Days since 1970-01-01 → (year, month, day), proleptic Gregorian.
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

/// Broken-down time of `ms` since the epoch shifted by `offset_minutes`.
pub fn parts(ms: i64, offset_minutes: i64) -> (i64, u32, u32, u32, u32, u32, u32) {
    let local = ms + offset_minutes * 60_000;
    let days = local.div_euclid(86_400_000);
    let rem = local.rem_euclid(86_400_000);
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

/// `2026-11-22T18:40:25.123Z`
pub fn rfc3339_ms(ms: i64) -> String {
    let (y, mo, d, h, mi, s, milli) = parts(ms, 0);
    format!("{y:04}-{mo:02}-{d:02}T{h:02}:{mi:02}:{s:02}.{milli:03}Z")
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
}
