//! `X-API-Version`: `1.x.x` serves v1, `2.x.x` and `3.x.x` serve v2, a missing header the
//! account default. Eximpe's reference names `'1.X.X', '2.X.X', or '3.X.X'` and gives
//! `3.0.0` as its example, but documents no v3 difference for saved cards: v3 answers as
//! the latest documented shape, v2's.

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum ApiVersion {
    V1,
    V2,
}

pub const HEADER: &str = "X-API-Version";
/// [`HEADER`], parsed once for lookups.
pub const HEADER_NAME: hyper::header::HeaderName =
    hyper::header::HeaderName::from_static("x-api-version");

impl ApiVersion {
    /// Reads a version string such as `2.0.0`; majors 1, 2 and 3 exist.
    pub fn parse(value: &str) -> Option<ApiVersion> {
        // Three runs of digits joined by dots, read in one pass: every request asks this.
        let (mut dots, mut digits, mut major_end) = (0, 0, 0);
        for (i, b) in value.bytes().enumerate() {
            match b {
                b'0'..=b'9' => digits += 1,
                b'.' if digits > 0 && dots < 2 => {
                    if dots == 0 {
                        major_end = i;
                    }
                    dots += 1;
                    digits = 0;
                }
                _ => return None,
            }
        }
        if dots != 2 || digits == 0 {
            return None;
        }
        match value[..major_end].trim_start_matches('0') {
            "1" => Some(ApiVersion::V1),
            "2" | "3" => Some(ApiVersion::V2),
            _ => None,
        }
    }

    /// The version a request is served in: its header, else the account default. `Err` holds
    /// the unsupported value that was sent.
    pub fn resolve(header: Option<&str>, default: ApiVersion) -> Result<ApiVersion, String> {
        match header.map(str::trim) {
            None => Ok(default),
            Some(v) => ApiVersion::parse(v).ok_or_else(|| v.to_string()),
        }
    }

    /// The validation message for an unsupported version.
    pub fn unsupported(sent: &str) -> String {
        format!("Unsupported API version \"{sent}\". Use 1.x.x, 2.x.x or 3.x.x.")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn majors_pick_the_version() {
        assert_eq!(ApiVersion::parse("1.0.0"), Some(ApiVersion::V1));
        assert_eq!(ApiVersion::parse("1.4.12"), Some(ApiVersion::V1));
        assert_eq!(ApiVersion::parse("2.0.0"), Some(ApiVersion::V2));
        assert_eq!(ApiVersion::parse("3.0.0"), Some(ApiVersion::V2));
        assert_eq!(ApiVersion::parse("4.0.0"), None);
        assert_eq!(ApiVersion::parse("0.0.0"), None);
        assert_eq!(ApiVersion::parse("2.0"), None);
        assert_eq!(ApiVersion::parse("v2.0.0"), None);
        assert_eq!(ApiVersion::parse(""), None);
        assert_eq!(ApiVersion::parse("02.0.0"), Some(ApiVersion::V2));
        for malformed in [
            "2..0", ".2.0.0", "2.0.0.", "2.0.0.0", "2.0.", "2.0.x", "2.0.0 ", "2.0.٣",
        ] {
            assert_eq!(ApiVersion::parse(malformed), None, "{malformed}");
        }
    }

    #[test]
    fn a_missing_header_means_the_default() {
        assert_eq!(
            ApiVersion::resolve(None, ApiVersion::V1),
            Ok(ApiVersion::V1)
        );
        assert_eq!(
            ApiVersion::resolve(Some("2.1.0"), ApiVersion::V1),
            Ok(ApiVersion::V2)
        );
        assert_eq!(
            ApiVersion::resolve(Some("garbage"), ApiVersion::V2),
            Err("garbage".to_string())
        );
    }
}
