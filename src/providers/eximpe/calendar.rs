//! Sandbox time as a calendar month (UTC), for card expiry.

/// (year, month 1–12) of a Unix time in milliseconds.
pub fn year_month(ms: i64) -> (i64, u32) {
    let days = ms.div_euclid(86_400_000);
    // Howard Hinnant's days-to-civil algorithm.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    (year, month as u32)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_dates() {
        assert_eq!(year_month(0), (1970, 1));
        // 2024-02-29T23:59:59Z
        assert_eq!(year_month(1_709_251_199_000), (2024, 2));
        // 2024-03-01T00:00:00Z
        assert_eq!(year_month(1_709_251_200_000), (2024, 3));
        // 2030-12-31T23:59:59.999Z and the next millisecond
        assert_eq!(year_month(1_924_991_999_999), (2030, 12));
        assert_eq!(year_month(1_924_992_000_000), (2031, 1));
    }
}
