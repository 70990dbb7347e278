//! What a gateway uses (connections, data tags) over time, as its software
//! reports it (`ldctl usage set`), and the usage file that carries those
//! samples to LicenseDesk (`ldctl usage export`, imported by the app like
//! a request file). Unsigned: it says what the gateway runs, it grants
//! nothing.
//!
//! Format: `{"format":"licensedesk-usage","v":1,"fingerprint":FP,
//! "samples":[{"at":RFC 3339,"connections":N,"tags":N}, …]}`, samples
//! oldest first, at most [`MAX_SAMPLES`], each amount at most
//! [`MAX_AMOUNT`].

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::InUse;
use crate::error::Coded;
use crate::fingerprint::normalize_fingerprint;

/// The `format` field of a usage file.
pub const FORMAT: &str = "licensedesk-usage";
/// The only version.
pub const VERSION: u32 = 1;
/// A usage file larger than this is refused before it is parsed.
pub const MAX_USAGE_FILE_LEN: usize = 1024 * 1024;
/// Most samples a usage file (or a gateway's history) keeps.
pub const MAX_SAMPLES: usize = 5000;
/// The largest amount of connections or data tags a gateway may report.
pub const MAX_AMOUNT: u32 = 10_000_000;

/// One reading of what a gateway uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UsageSample {
    pub at: DateTime<Utc>,
    pub connections: u32,
    pub tags: u32,
}

impl UsageSample {
    pub const fn in_use(&self) -> InUse {
        InUse {
            connections: self.connections,
            tags: self.tags,
        }
    }
}

/// Why usage was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error, Serialize)]
#[serde(untagged)]
pub enum UsageError {
    #[error(
        "the usage file is too large ({len} bytes; at most {MAX_USAGE_FILE_LEN}): check that the right file was chosen"
    )]
    TooLarge { len: usize },
    #[error(
        "this is not a LicenseDesk usage file ({detail}): choose the file `ldctl usage export` wrote"
    )]
    Malformed { detail: String },
    #[error("usage file version {v} is not supported (expected 1): update LicenseDesk")]
    VersionUnsupported { v: u32 },
    #[error("the usage file has no samples: run `ldctl usage set` on the gateway first")]
    Empty,
    #[error("the usage file has {count} samples; at most {MAX_SAMPLES}")]
    TooManySamples { count: usize },
    #[error("{what} must be between 0 and {MAX_AMOUNT} (got {value})")]
    OutOfRange { what: &'static str, value: u64 },
    #[error(
        "the usage file's samples are out of order (sample {index} is older than the one before): it was edited; export it again"
    )]
    OutOfOrder { index: usize },
    #[error("the usage file's gateway fingerprint is invalid: {detail}")]
    Fingerprint { detail: String },
}

impl Coded for UsageError {
    fn params(&self) -> crate::error::Params {
        crate::error::params_of(self)
    }

    fn code(&self) -> &'static str {
        match self {
            Self::TooLarge { .. } => "USAGE_FILE_TOO_LARGE",
            Self::Malformed { .. } | Self::Fingerprint { .. } => "USAGE_FILE_MALFORMED",
            Self::VersionUnsupported { .. } => "USAGE_FILE_VERSION",
            Self::Empty => "USAGE_FILE_EMPTY",
            Self::TooManySamples { .. } => "USAGE_FILE_TOO_MANY_SAMPLES",
            Self::OutOfRange { .. } => "USAGE_OUT_OF_RANGE",
            Self::OutOfOrder { .. } => "USAGE_FILE_OUT_OF_ORDER",
        }
    }
}

/// Checks a reported amount (connections, data tags).
pub fn check_amount(what: &'static str, value: u64) -> Result<u32, UsageError> {
    u32::try_from(value)
        .ok()
        .filter(|v| *v <= MAX_AMOUNT)
        .ok_or(UsageError::OutOfRange { what, value })
}

/// A gateway's usage samples, oldest first.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UsageFile {
    pub format: String,
    pub v: u32,
    /// The gateway's canonical hardware fingerprint.
    pub fingerprint: String,
    pub samples: Vec<UsageSample>,
}

impl UsageFile {
    /// A usage file of `fingerprint` (canonicalised) with `samples`, checked.
    pub fn new(fingerprint: &str, samples: Vec<UsageSample>) -> Result<Self, UsageError> {
        let file = Self {
            format: FORMAT.into(),
            v: VERSION,
            fingerprint: normalize_fingerprint(fingerprint).map_err(|e| {
                UsageError::Fingerprint {
                    detail: e.to_string(),
                }
            })?,
            samples,
        };
        file.check()?;
        Ok(file)
    }

    fn check(&self) -> Result<(), UsageError> {
        if self.format != FORMAT {
            return Err(UsageError::Malformed {
                detail: format!(
                    "format {:?}",
                    self.format.chars().take(40).collect::<String>()
                ),
            });
        }
        if self.v != VERSION {
            return Err(UsageError::VersionUnsupported { v: self.v });
        }
        if self.samples.is_empty() {
            return Err(UsageError::Empty);
        }
        if self.samples.len() > MAX_SAMPLES {
            return Err(UsageError::TooManySamples {
                count: self.samples.len(),
            });
        }
        for (i, s) in self.samples.iter().enumerate() {
            check_amount("connections", u64::from(s.connections))?;
            check_amount("tags", u64::from(s.tags))?;
            if i > 0 && s.at < self.samples[i - 1].at {
                return Err(UsageError::OutOfOrder { index: i + 1 });
            }
        }
        Ok(())
    }

    /// Parses a usage file (size-capped); never panics.
    pub fn parse(bytes: &[u8]) -> Result<Self, UsageError> {
        if bytes.len() > MAX_USAGE_FILE_LEN {
            return Err(UsageError::TooLarge { len: bytes.len() });
        }
        let file: Self = serde_json::from_slice(bytes).map_err(|e| UsageError::Malformed {
            detail: e.to_string(),
        })?;
        let fp = normalize_fingerprint(&file.fingerprint).map_err(|e| UsageError::Fingerprint {
            detail: e.to_string(),
        })?;
        let file = Self {
            fingerprint: fp,
            ..file
        };
        file.check()?;
        Ok(file)
    }

    /// Pretty JSON.
    pub fn to_json(&self) -> String {
        serde_json::to_string_pretty(self).unwrap_or_default()
    }

    /// The newest sample.
    pub fn latest(&self) -> Option<&UsageSample> {
        self.samples.last()
    }
}

/// `history` with `new` merged in: ordered by time, one sample per
/// instant (a later report of the same instant wins), the newest
/// [`MAX_SAMPLES`] kept.
pub fn merge_samples(history: &[UsageSample], new: &[UsageSample]) -> Vec<UsageSample> {
    let mut all: Vec<UsageSample> = history.iter().chain(new).copied().collect();
    // Stable: of two samples of one instant the one merged later stays last.
    all.sort_by_key(|s| s.at);
    let mut out: Vec<UsageSample> = Vec::with_capacity(all.len());
    for s in all {
        match out.last_mut() {
            Some(last) if last.at == s.at => *last = s,
            _ => out.push(s),
        }
    }
    let excess = out.len().saturating_sub(MAX_SAMPLES);
    out.drain(..excess);
    out
}

#[cfg(test)]
mod tests {
    use chrono::TimeZone;

    use super::*;
    use crate::fingerprint::fingerprint;

    fn t(m: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 5, 1, 12, m, 0)
            .single()
            .expect("valid")
    }

    fn s(m: u32, c: u32, tags: u32) -> UsageSample {
        UsageSample {
            at: t(m),
            connections: c,
            tags,
        }
    }

    #[test]
    fn round_trip_and_refusals() {
        let fp = fingerprint(b"gw", "licensedesk-edge");
        let file = UsageFile::new(&fp, vec![s(0, 1, 2), s(1, 3, 40)]).expect("file");
        let back = UsageFile::parse(file.to_json().as_bytes()).expect("parse");
        assert_eq!(back, file);
        assert_eq!(back.latest().map(|s| s.tags), Some(40));
        let code = |json: &str| UsageFile::parse(json.as_bytes()).err().map(|e| e.code());
        let body = |samples: &str| {
            format!(
                r#"{{"format":"licensedesk-usage","v":1,"fingerprint":"{fp}","samples":{samples}}}"#
            )
        };
        assert_eq!(code("{"), Some("USAGE_FILE_MALFORMED"));
        assert_eq!(code(&body("[]")), Some("USAGE_FILE_EMPTY"));
        assert_eq!(
            code(&body(
                r#"[{"at":"2026-05-01T00:00:00Z","connections":10000001,"tags":0}]"#
            )),
            Some("USAGE_OUT_OF_RANGE")
        );
        assert_eq!(
            code(&body(
                r#"[{"at":"2026-05-02T00:00:00Z","connections":1,"tags":0},{"at":"2026-05-01T00:00:00Z","connections":1,"tags":0}]"#
            )),
            Some("USAGE_FILE_OUT_OF_ORDER")
        );
        assert_eq!(
            code(&body(
                r#"[{"at":"2026-05-01T00:00:00Z","connections":-1,"tags":0}]"#
            )),
            Some("USAGE_FILE_MALFORMED")
        );
        let other = body("[]").replace("licensedesk-usage", "something-else");
        assert_eq!(code(&other), Some("USAGE_FILE_MALFORMED"));
        let v2 = body(r#"[{"at":"2026-05-01T00:00:00Z","connections":1,"tags":0}]"#)
            .replace(r#""v":1"#, r#""v":2"#);
        assert_eq!(code(&v2), Some("USAGE_FILE_VERSION"));
        let big = vec![b' '; MAX_USAGE_FILE_LEN + 1];
        assert_eq!(
            UsageFile::parse(&big).err().map(|e| e.code()),
            Some("USAGE_FILE_TOO_LARGE")
        );
        assert_eq!(
            check_amount("tags", u64::from(MAX_AMOUNT) + 1).map_err(|e| e.code()),
            Err("USAGE_OUT_OF_RANGE")
        );
    }

    #[test]
    fn merging_orders_dedupes_and_caps() {
        let merged = merge_samples(&[s(2, 1, 1), s(0, 1, 1)], &[s(1, 2, 2), s(2, 9, 9)]);
        assert_eq!(merged, [s(0, 1, 1), s(1, 2, 2), s(2, 9, 9)]);
        let many: Vec<UsageSample> = (0..MAX_SAMPLES as i64 + 10)
            .map(|i| UsageSample {
                at: t(0) + chrono::TimeDelta::seconds(i),
                connections: 0,
                tags: 0,
            })
            .collect();
        let kept = merge_samples(&[], &many);
        assert_eq!(kept.len(), MAX_SAMPLES);
        assert_eq!(kept[0].at, many[10].at);
    }

    proptest::proptest! {
        #[test]
        fn parsing_never_panics(bytes in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..512)) {
            let _ = UsageFile::parse(&bytes);
        }
    }
}
