//! The bounds of every value that enters the system (domain.md §5).
//!
//! Each bound is a constant here, checked here, and used by every caller
//! that takes the value from outside: the server's routes, `ldctl sign`,
//! the desktop app. An out-of-range value is refused with a code that
//! names the field (`MESSAGES_PER_DAY_OUT_OF_RANGE`, `PRODUCT_KEY_INVALID`,
//! …) and a message that states the range, so nothing stored can later fail
//! to be read back or to be computed with.

use chrono::{DateTime, Datelike, Utc};

use crate::error::Coded;
use crate::validity::Validity;

/// A value outside its bound (its params: `field`, `expected`, `got`).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error, serde::Serialize)]
#[error("{field} must be {expected} (got {got}): {hint}")]
pub struct BoundsError {
    /// The field's name as the API spells it (`messages_per_day`).
    pub field: &'static str,
    /// The stable code naming the field.
    #[serde(skip)]
    pub code: &'static str,
    /// The allowed range, in words (`0 to 10000000`).
    pub expected: String,
    /// What was given, shortened to at most 40 characters.
    pub got: String,
    /// What to do.
    #[serde(skip)]
    pub hint: &'static str,
}

impl Coded for BoundsError {
    fn params(&self) -> crate::error::Params {
        crate::error::params_of(self)
    }

    fn code(&self) -> &'static str {
        self.code
    }
}

/// An inclusive integer range of one field.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IntBound {
    pub field: &'static str,
    pub code: &'static str,
    pub min: u64,
    pub max: u64,
}

impl IntBound {
    /// `v` when `min <= v <= max`.
    pub fn check(&self, v: u64) -> Result<u64, BoundsError> {
        if (self.min..=self.max).contains(&v) {
            Ok(v)
        } else {
            Err(self.error(v.to_string()))
        }
    }

    /// [`IntBound::check`] for a value that arrived signed.
    pub fn check_i64(&self, v: i64) -> Result<u64, BoundsError> {
        u64::try_from(v)
            .map_err(|_| self.error(v.to_string()))
            .and_then(|v| self.check(v))
    }

    /// [`IntBound::check`] for a `u32` field (every bound fits in one).
    pub fn check_u32(&self, v: u32) -> Result<u32, BoundsError> {
        self.check(u64::from(v)).map(|_| v)
    }

    fn error(&self, got: String) -> BoundsError {
        BoundsError {
            field: self.field,
            code: self.code,
            expected: format!("{} to {}", self.min, self.max),
            got,
            hint: "give a value in the range",
        }
    }
}

const fn int(field: &'static str, code: &'static str, min: u64, max: u64) -> IntBound {
    IntBound {
        field,
        code,
        min,
        max,
    }
}

/// Messages per day per device (a package term; 0: top-ups or overage only).
pub const MESSAGES_PER_DAY: IntBound = int(
    "messages_per_day",
    "MESSAGES_PER_DAY_OUT_OF_RANGE",
    0,
    10_000_000,
);
/// OTA upgrade attempts per month per device (a package term).
pub const OTA_PER_MONTH: IntBound = int("ota_per_month", "OTA_PER_MONTH_OUT_OF_RANGE", 0, 1_000);
/// Size cap of one OTA attempt, in MB (a package term).
pub const OTA_CAP_MB: IntBound = int("ota_cap_mb", "OTA_CAP_OUT_OF_RANGE", 1, 10_240);
/// Days a device's log is kept (a package term).
pub const STORAGE_DAYS: IntBound = int("storage_days", "STORAGE_DAYS_OUT_OF_RANGE", 1, 3_650);
/// Codes in a purchased batch.
pub const BATCH_COUNT: IntBound = int("count", "BATCH_COUNT_INVALID", 1, 1_000_000);
/// Unassigned codes assigned to a product at once.
pub const ASSIGN_COUNT: IntBound = int("count", "ASSIGN_COUNT_INVALID", 1, 1_000_000);
/// Prepaid units of one top-up (each of OTA attempts and messages; at
/// least one of them non-zero).
pub const TOPUP: IntBound = int("ota_attempts/messages", "TOPUP_OUT_OF_RANGE", 0, 1_000_000);
/// Licenses of a gateway order.
pub const ORDER_QUANTITY: IntBound = int("quantity", "ORDER_QUANTITY_OUT_OF_RANGE", 1, 1_000_000);
/// A gateway license's connections and data tags.
pub const LICENSE_LIMIT: IntBound = int(
    "max_connections/max_tags",
    "LICENSE_LIMIT_OUT_OF_RANGE",
    1,
    1_000_000,
);
/// Days a gateway order's licenses are valid (30 years at most).
pub const LICENSE_VALIDITY_DAYS: IntBound = int(
    "validity_days",
    "LICENSE_VALIDITY_OUT_OF_RANGE",
    1,
    MAX_VALIDITY_DAYS,
);
/// Plugins a gateway license enables.
pub const PLUGIN_COUNT: IntBound = int("plugins", "PLUGINS_OUT_OF_RANGE", 0, 64);
/// Messages in one usage report.
pub const MESSAGE_REPORT: IntBound = int("count", "USAGE_INVALID", 1, 1_000_000);

/// A top-up: 0 to 1,000,000 OTA attempts and 0 to 1,000,000 messages, not
/// both 0.
pub fn topup(ota_attempts: u32, messages: u32) -> Result<(), BoundsError> {
    let each = |v: u32| TOPUP.check_u32(v);
    each(ota_attempts)?;
    each(messages)?;
    if ota_attempts == 0 && messages == 0 {
        return Err(BoundsError {
            field: TOPUP.field,
            code: TOPUP.code,
            expected: "1 to 1000000 of either".into(),
            got: "0 and 0".into(),
            hint: "top up at least one OTA attempt or one message",
        });
    }
    Ok(())
}

/// A gateway license's terms: 1 to 1,000,000 connections and data tags, at
/// most 64 plugins, each named like a key (1 to 64 characters of
/// `A-Z a-z 0-9 - _ . :`).
pub fn license_terms(
    max_connections: u32,
    max_tags: u32,
    plugins: &[String],
) -> Result<(), BoundsError> {
    LICENSE_LIMIT.check_u32(max_connections)?;
    LICENSE_LIMIT.check_u32(max_tags)?;
    PLUGIN_COUNT.check(plugins.len() as u64)?;
    for p in plugins {
        PLUGIN.check(p)?;
    }
    Ok(())
}

/// A license payload about to be signed (`ldctl sign`): its id and
/// customer, its times within the years a store reads back, its terms
/// ([`license_terms`]) and its order number.
pub fn license_payload(p: &crate::license::LicensePayload) -> Result<(), BoundsError> {
    LICENSE_ID.named("license_id").check(&p.license_id)?;
    NAME.named("customer").check(&p.customer)?;
    instant("issued_at", p.issued_at)?;
    instant("expire_at", p.expire_at)?;
    license_terms(p.max_connections, p.max_tags, &p.plugins)?;
    if let Some(o) = &p.order {
        ORDER_NUMBER.check(o)?;
    }
    Ok(())
}

/// The longest validity in days: 30 years of 365.25 days, rounded down.
pub const MAX_VALIDITY_DAYS: u64 = 10_957;

/// Every integer bound, for documentation and tests.
pub const INT_BOUNDS: &[IntBound] = &[
    MESSAGES_PER_DAY,
    OTA_PER_MONTH,
    OTA_CAP_MB,
    STORAGE_DAYS,
    BATCH_COUNT,
    ASSIGN_COUNT,
    TOPUP,
    ORDER_QUANTITY,
    LICENSE_LIMIT,
    LICENSE_VALIDITY_DAYS,
    PLUGIN_COUNT,
    MESSAGE_REPORT,
];

/// A package's validity period: at least 1 day and at most 30 years.
///
/// Months and days are compared on one scale, a month being 365.25 / 12 =
/// 30.4375 days: `months × 30.4375 + days ≤ 10,957.5` (30 years of 365.25
/// days). So `30 y`, `360 mo`, `29 y 11 mo 30 d` and `10957 d` are within
/// it, `30 y 1 d` and `10958 d` are not. Computed in sixteenths of a day,
/// exactly.
pub fn validity(v: &Validity) -> Result<Validity, BoundsError> {
    let sixteenths = v.total_months() * 487 + u64::from(v.days) * 16;
    if v.is_empty() || sixteenths > 360 * 487 {
        Err(BoundsError {
            field: "validity",
            code: "VALIDITY_OUT_OF_RANGE",
            expected: "1 day to 30 years".into(),
            got: v.to_string(),
            hint: "give the package a validity period in the range",
        })
    } else {
        Ok(*v)
    }
}

/// Which characters a text field takes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Charset {
    /// `A–Z a–z 0–9 - _ . :` (keys and order numbers: safe in a path, a
    /// file name, a URL, a log line).
    Key,
    /// Any character but control characters (names).
    Printable,
}

/// A text field's length (in characters) and character set.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TextBound {
    pub field: &'static str,
    pub code: &'static str,
    pub max_chars: usize,
    pub charset: Charset,
}

/// A product key (PK).
pub const PRODUCT_KEY: TextBound = key("pk", "PRODUCT_KEY_INVALID", 64);
/// A device key (DK).
pub const DEVICE_KEY: TextBound = key("dk", "DEVICE_KEY_INVALID", 128);
/// A device's hardware identifier (IMEI, MAC, serial number).
pub const HARDWARE_ID: TextBound = key("hardware_id", "HARDWARE_ID_INVALID", 128);
/// A gateway order number.
pub const ORDER_NUMBER: TextBound = key("order_no", "ORDER_NUMBER_INVALID", 64);
/// A plugin a gateway license enables.
pub const PLUGIN: TextBound = key("plugins", "PLUGIN_NAME_INVALID", 64);
/// A name: of an account, a product, an order's customer.
pub const NAME: TextBound = TextBound {
    field: "name",
    code: "NAME_INVALID",
    max_chars: 200,
    charset: Charset::Printable,
};
/// A gateway license's id, as an install report names it.
pub const LICENSE_ID: TextBound = TextBound {
    field: "license_id",
    code: "INSTALL_INVALID",
    max_chars: 200,
    charset: Charset::Printable,
};
/// A purchase reference (order number, invoice…).
pub const REFERENCE: TextBound = TextBound {
    field: "reference",
    code: "REFERENCE_INVALID",
    max_chars: 200,
    charset: Charset::Printable,
};

const fn key(field: &'static str, code: &'static str, max_chars: usize) -> TextBound {
    TextBound {
        field,
        code,
        max_chars,
        charset: Charset::Key,
    }
}

/// Every text bound, for documentation and tests.
pub const TEXT_BOUNDS: &[TextBound] = &[
    PRODUCT_KEY,
    DEVICE_KEY,
    HARDWARE_ID,
    ORDER_NUMBER,
    PLUGIN,
    NAME,
    LICENSE_ID,
    REFERENCE,
];

impl TextBound {
    /// The same bound reported under another field name (an order's
    /// `customer` is a name).
    pub const fn named(self, field: &'static str) -> Self {
        Self { field, ..self }
    }

    /// The text, trimmed of surrounding whitespace (names only: a key has
    /// none to trim), when it has 1 to `max_chars` characters of the set.
    pub fn check<'a>(&self, s: &'a str) -> Result<&'a str, BoundsError> {
        let s = match self.charset {
            Charset::Key => s,
            Charset::Printable => s.trim(),
        };
        let len = s.chars().take(self.max_chars + 1).count();
        let ok_chars = match self.charset {
            Charset::Key => s
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.' | ':')),
            Charset::Printable => !s.chars().any(char::is_control),
        };
        if (1..=self.max_chars).contains(&len) && ok_chars {
            Ok(s)
        } else {
            Err(BoundsError {
                field: self.field,
                code: self.code,
                expected: self.expected(),
                got: shorten(s),
                hint: match self.charset {
                    Charset::Key => "use only letters, digits and - _ . :",
                    Charset::Printable => "give a name without control characters",
                },
            })
        }
    }

    fn expected(&self) -> String {
        match self.charset {
            Charset::Key => format!("1 to {} characters of A-Z a-z 0-9 - _ . :", self.max_chars),
            Charset::Printable => format!("1 to {} printable characters", self.max_chars),
        }
    }
}

/// A value as an error shows it: at most 40 characters, control
/// characters escaped.
fn shorten(s: &str) -> String {
    let mut out: String = s.chars().take(40).flat_map(char::escape_debug).collect();
    if s.chars().nth(40).is_some() {
        out.push('…');
    }
    format!("\"{out}\"")
}

/// An e-mail address: 3 to 254 printable characters with an `@` between
/// two non-empty parts and no whitespace.
pub fn email(s: &str) -> Result<&str, BoundsError> {
    let s = s.trim();
    let ok = (3..=254).contains(&s.chars().count())
        && !s.chars().any(|c| c.is_control() || c.is_whitespace())
        && s.split_once('@')
            .is_some_and(|(a, b)| !a.is_empty() && !b.is_empty());
    if ok {
        Ok(s)
    } else {
        Err(BoundsError {
            field: "email",
            code: "EMAIL_INVALID",
            expected: "an e-mail address of at most 254 characters".into(),
            got: shorten(s),
            hint: "give the address the order was placed with",
        })
    }
}

/// An instant a client reports (an install's time, a query's `at`): in the
/// years 1970 to 9999, which every store reads back.
pub fn instant(field: &'static str, t: DateTime<Utc>) -> Result<DateTime<Utc>, BoundsError> {
    if (1970..=9999).contains(&t.year()) {
        Ok(t)
    } else {
        Err(BoundsError {
            field,
            code: "TIME_OUT_OF_RANGE",
            expected: "an instant of the years 1970 to 9999".into(),
            got: t.to_rfc3339(),
            hint: "give a realistic time",
        })
    }
}

#[cfg(test)]
mod tests;
