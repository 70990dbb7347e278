//! Package allowance of a product (domain.md §1, "Package allowance"):
//! validity, messages per day, OTA upgrades per month with a size cap, and
//! storage duration. Quota windows and overage decisions are in [`quota`].

pub mod quota;
pub mod statement;

use chrono::{DateTime, TimeDelta, Utc};
use serde::{Deserialize, Serialize};

use crate::bounds::{self, BoundsError};
use crate::error::Coded;
use crate::validity::Validity;

/// 1 MB = 1,048,576 bytes (domain.md §1, OTA cost, **Decision**).
pub const BYTES_PER_MB: u64 = 1_048_576;

/// Errors of package rules.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error, serde::Serialize)]
#[serde(untagged)]
pub enum PackageError {
    /// A firmware image must have at least one byte.
    #[error(
        "the firmware image size must be at least 1 byte (got {got}): choose a non-empty image"
    )]
    OtaSizeInvalid { got: String },
    /// The OTA cap per upgrade must be at least 1 MB.
    #[error(
        "the OTA cap per upgrade must be at least 1 MB (got {cap_mb} MB): fix the product's package"
    )]
    OtaCapInvalid { cap_mb: u32 },
    /// The image is so large that its cost does not fit the counters.
    #[error(
        "a firmware image of {bytes} bytes with a {cap_mb} MB cap costs more OTA attempts than can be counted: use a smaller image"
    )]
    OtaSizeTooLarge { bytes: u64, cap_mb: u32 },
    /// A package term is out of its range (domain.md §5); the code names
    /// the term (`VALIDITY_OUT_OF_RANGE`, `OTA_CAP_OUT_OF_RANGE`, …).
    #[error("invalid package: {0}")]
    OutOfBounds(#[from] BoundsError),
}

impl Coded for PackageError {
    fn params(&self) -> crate::error::Params {
        crate::error::params_of(self)
    }

    fn code(&self) -> &'static str {
        match self {
            Self::OtaSizeInvalid { .. } => "OTA_SIZE_INVALID",
            Self::OtaCapInvalid { .. } => "OTA_CAP_INVALID",
            Self::OtaSizeTooLarge { .. } => "OTA_SIZE_TOO_LARGE",
            Self::OutOfBounds(e) => e.code(),
        }
    }
}

/// The package allowance of a product; its devices always use their
/// product's current package (domain.md §1: one package per product, an
/// upgrade applies to every device at once).
///
/// Example from the reference documents: 5 years, 1500 messages/day/device,
/// 1 OTA upgrade/month/device with a 5 MB cap, 7-day storage.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Package {
    /// Validity of a consumed code, counted from its consumption instant.
    pub validity: Validity,
    /// Messages per day per device, uplink and downlink together.
    pub messages_per_day: u32,
    /// OTA upgrade attempts per month per device.
    pub ota_per_month: u32,
    /// Size cap of one OTA attempt, in MB of 1,048,576 bytes.
    pub ota_cap_mb: u32,
    /// Days a device's raw uplink/downlink log is kept.
    pub storage_days: u32,
}

impl Package {
    /// One-line summary shown on product cards and in errors, e.g.
    /// `5 y · 1500 msg/day · 1 OTA/mo ≤ 5 MB · 7 d`.
    pub fn summary(&self) -> String {
        format!(
            "{} · {} msg/day · {} OTA/mo ≤ {} MB · {} d",
            self.validity,
            self.messages_per_day,
            self.ota_per_month,
            self.ota_cap_mb,
            self.storage_days
        )
    }

    /// Checks every term against its bound (domain.md §5, [`crate::bounds`]):
    /// a validity of 1 day to 30 years (a code must not expire as it is
    /// consumed, nor beyond what a calendar stores), an OTA cap of 1 to
    /// 10,240 MB, a storage of 1 to 3,650 days, at most 10,000,000
    /// messages a day and 1,000 OTA attempts a month. Zero messages or zero
    /// OTA per month are allowed (top-ups or billed overage only).
    pub fn validate(&self) -> Result<(), PackageError> {
        bounds::validity(&self.validity)?;
        bounds::MESSAGES_PER_DAY.check_u32(self.messages_per_day)?;
        bounds::OTA_PER_MONTH.check_u32(self.ota_per_month)?;
        bounds::OTA_CAP_MB.check_u32(self.ota_cap_mb)?;
        bounds::STORAGE_DAYS.check_u32(self.storage_days)?;
        Ok(())
    }

    /// `true` when both packages grant the same allowance; validity compared
    /// by meaning (`1 y` = `12 mo`). This is the "package differs" test of
    /// domain.md §1.
    pub fn same_allowance(&self, other: &Self) -> bool {
        self.validity.same_period(&other.validity)
            && self.messages_per_day == other.messages_per_day
            && self.ota_per_month == other.ota_per_month
            && self.ota_cap_mb == other.ota_cap_mb
            && self.storage_days == other.storage_days
    }

    /// OTA cost of an image under this package's cap; see [`ota_cost`].
    pub fn ota_cost(&self, bytes: u64) -> Result<u32, PackageError> {
        ota_cost(bytes, self.ota_cap_mb)
    }
}

/// OTA attempts consumed by an upgrade with an image of `bytes` bytes
/// (domain.md §1, OTA cost): `max(1, ceil(bytes / (cap_mb × 1,048,576)))`.
/// With a 5 MB cap: 5 MB → 1, 6 MB → 2, 10 MB → 2, 10 MB + 1 byte → 3.
///
/// A zero-byte image ([`PackageError::OtaSizeInvalid`]) or a zero cap
/// ([`PackageError::OtaCapInvalid`]) is refused.
pub fn ota_cost(bytes: u64, cap_mb: u32) -> Result<u32, PackageError> {
    if bytes == 0 {
        return Err(PackageError::OtaSizeInvalid {
            got: "0 bytes".to_owned(),
        });
    }
    if cap_mb == 0 {
        return Err(PackageError::OtaCapInvalid { cap_mb });
    }
    // cap_mb ≤ u32::MAX, so the product fits in u64 (< 2^52).
    let cap_bytes = u64::from(cap_mb) * BYTES_PER_MB;
    let attempts = bytes.div_ceil(cap_bytes).max(1);
    u32::try_from(attempts).map_err(|_| PackageError::OtaSizeTooLarge { bytes, cap_mb })
}

/// Accepts an image size that arrived signed (a JSON number, an SQLite
/// integer) and refuses zero and negatives with [`PackageError::OtaSizeInvalid`].
pub fn image_size_from_i64(bytes: i64) -> Result<u64, PackageError> {
    match u64::try_from(bytes) {
        Ok(b) if b > 0 => Ok(b),
        _ => Err(PackageError::OtaSizeInvalid {
            got: format!("{bytes} bytes"),
        }),
    }
}

/// Storage retention (domain.md §1, package term 4): log entries recorded
/// strictly before the returned instant are purged. The cut-off is
/// `now − storage_days × 24 h`; if that is before the calendar's start,
/// nothing is purged (the earliest instant is returned).
pub fn retention_cutoff(now: DateTime<Utc>, storage_days: u32) -> DateTime<Utc> {
    TimeDelta::try_days(i64::from(storage_days))
        .and_then(|d| now.checked_sub_signed(d))
        .unwrap_or(DateTime::<Utc>::MIN_UTC)
}

#[cfg(test)]
mod tests {
    use super::*;

    const MB: u64 = BYTES_PER_MB;

    /// The reference documents' example package.
    fn reference_package() -> Package {
        Package {
            validity: Validity::years(5),
            messages_per_day: 1500,
            ota_per_month: 1,
            ota_cap_mb: 5,
            storage_days: 7,
        }
    }

    #[test]
    fn summary_table() {
        let mut custom = reference_package();
        custom.validity = Validity::new(1, 6, 0);
        custom.messages_per_day = 20_000;
        custom.ota_per_month = 3;
        custom.ota_cap_mb = 50;
        custom.storage_days = 30;
        let cases = [
            (
                reference_package(),
                "5 y · 1500 msg/day · 1 OTA/mo ≤ 5 MB · 7 d",
            ),
            (custom, "1 y 6 mo · 20000 msg/day · 3 OTA/mo ≤ 50 MB · 30 d"),
        ];
        for (package, text) in cases {
            assert_eq!(package.summary(), text);
        }
    }

    #[test]
    fn ota_cost_table() {
        #[track_caller]
        fn check(bytes: u64, cap_mb: u32, expected: Result<u32, &str>) {
            let got = ota_cost(bytes, cap_mb).map_err(|e| e.code());
            assert_eq!(got, expected, "{bytes} bytes, cap {cap_mb} MB");
        }
        // domain.md §1 examples with a 5 MB cap.
        check(5 * MB, 5, Ok(1));
        check(6 * MB, 5, Ok(2));
        check(10 * MB, 5, Ok(2));
        check(10 * MB + 1, 5, Ok(3));
        // Small images still cost one attempt.
        check(1, 5, Ok(1));
        check(5 * MB - 1, 5, Ok(1));
        check(5 * MB + 1, 5, Ok(2));
        // 1 MB is 1,048,576 bytes, not 1,000,000.
        check(5_000_000, 5, Ok(1));
        check(5_300_000, 5, Ok(2));
        check(u64::MAX, u32::MAX, Ok(4_097));
        // Invalid input.
        check(0, 5, Err("OTA_SIZE_INVALID"));
        check(1, 0, Err("OTA_CAP_INVALID"));
        check(0, 0, Err("OTA_SIZE_INVALID"));
        check(u64::MAX, 1, Err("OTA_SIZE_TOO_LARGE"));
    }

    #[test]
    fn image_size_from_i64_table() {
        let cases: [(i64, Result<u64, &str>); 5] = [
            (1, Ok(1)),
            (6 * MB as i64, Ok(6 * MB)),
            (0, Err("OTA_SIZE_INVALID")),
            (-1, Err("OTA_SIZE_INVALID")),
            (i64::MIN, Err("OTA_SIZE_INVALID")),
        ];
        for (input, expected) in cases {
            assert_eq!(image_size_from_i64(input).map_err(|e| e.code()), expected);
        }
        let err = image_size_from_i64(-5).expect_err("negative");
        assert!(err.to_string().contains("-5 bytes"), "{err}");
    }

    #[test]
    fn validate_table() {
        let ok = reference_package();
        let mut empty_validity = ok.clone();
        empty_validity.validity = Validity::default();
        let mut zero_cap = ok.clone();
        zero_cap.ota_cap_mb = 0;
        let mut zero_storage = ok.clone();
        zero_storage.storage_days = 0;
        let mut zero_counts = ok.clone();
        zero_counts.messages_per_day = 0;
        zero_counts.ota_per_month = 0;
        let mut long = ok.clone();
        long.validity = Validity::years(10_000);
        let mut chatty = ok.clone();
        chatty.messages_per_day = 10_000_001;
        let mut ota = ok.clone();
        ota.ota_per_month = 1_001;
        let mut cap = ok.clone();
        cap.ota_cap_mb = 10_241;
        let mut storage = ok.clone();
        storage.storage_days = 3_651;
        let cases = [
            (ok, None),
            (zero_counts, None),
            (empty_validity, Some("VALIDITY_OUT_OF_RANGE")),
            (long, Some("VALIDITY_OUT_OF_RANGE")),
            (zero_cap, Some("OTA_CAP_OUT_OF_RANGE")),
            (cap, Some("OTA_CAP_OUT_OF_RANGE")),
            (zero_storage, Some("STORAGE_DAYS_OUT_OF_RANGE")),
            (storage, Some("STORAGE_DAYS_OUT_OF_RANGE")),
            (chatty, Some("MESSAGES_PER_DAY_OUT_OF_RANGE")),
            (ota, Some("OTA_PER_MONTH_OUT_OF_RANGE")),
        ];
        for (package, problem) in cases {
            match (package.validate(), problem) {
                (Ok(()), None) => {}
                (Err(e), Some(code)) => {
                    assert_eq!(e.code(), code);
                    assert!(e.to_string().contains(" to "), "{e}");
                }
                (got, want) => panic!("{}: got {got:?}, want {want:?}", package.summary()),
            }
        }
    }

    #[test]
    fn same_allowance_compares_validity_by_meaning() {
        let a = reference_package();
        let mut b = a.clone();
        b.validity = Validity::months(60);
        assert!(a.same_allowance(&b));
        assert_ne!(a, b);
        let mut c = a.clone();
        c.storage_days = 30;
        assert!(!a.same_allowance(&c));
        let mut d = a.clone();
        d.ota_cap_mb = 10;
        assert!(!a.same_allowance(&d));
    }

    #[test]
    fn serde_round_trip() {
        let p = reference_package();
        let json = serde_json::to_value(&p).expect("serialise");
        assert_eq!(
            json,
            serde_json::json!({
                "validity": {"years": 5, "months": 0, "days": 0},
                "messages_per_day": 1500,
                "ota_per_month": 1,
                "ota_cap_mb": 5,
                "storage_days": 7
            })
        );
        let back: Package = serde_json::from_value(json).expect("deserialise");
        assert_eq!(back, p);
    }

    #[test]
    fn retention_cutoff_table() {
        let t = |s: &str| {
            DateTime::parse_from_rfc3339(s)
                .expect("test instant")
                .with_timezone(&Utc)
        };
        let cases = [
            ("2026-03-31T10:00:00Z", 7, t("2026-03-24T10:00:00Z")),
            ("2026-03-01T00:00:00Z", 1, t("2026-02-28T00:00:00Z")),
            ("2026-03-01T00:00:00Z", 0, t("2026-03-01T00:00:00Z")),
            ("2026-03-01T00:00:00Z", u32::MAX, DateTime::<Utc>::MIN_UTC),
        ];
        for (now, days, expected) in cases {
            assert_eq!(retention_cutoff(t(now), days), expected, "{now} - {days} d");
        }
    }

    proptest::proptest! {
        #[test]
        fn ota_cost_is_monotone_in_size(a in 1u64..=u64::MAX / 2, b in 1u64..=u64::MAX / 2, cap in 1u32..200) {
            let (small, large) = if a <= b { (a, b) } else { (b, a) };
            let (cs, cl) = (ota_cost(small, cap), ota_cost(large, cap));
            match (cs, cl) {
                (Ok(cs), Ok(cl)) => proptest::prop_assert!(cs <= cl && cs >= 1),
                // Once too large, every larger image is too large too.
                (_, Err(e)) => proptest::prop_assert_eq!(e.code(), "OTA_SIZE_TOO_LARGE"),
                (Err(e), Ok(_)) => proptest::prop_assert!(false, "smaller image refused: {e}"),
            }
        }

        #[test]
        fn ota_cost_covers_the_image(bytes in 1u64..1 << 40, cap in 1u32..200) {
            let cost = u64::from(ota_cost(bytes, cap).expect("fits"));
            let cap_bytes = u64::from(cap) * BYTES_PER_MB;
            proptest::prop_assert!(cost * cap_bytes >= bytes);
            proptest::prop_assert!(cost == 1 || (cost - 1) * cap_bytes < bytes);
        }
    }
}
