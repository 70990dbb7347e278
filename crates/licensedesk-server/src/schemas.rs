//! The OpenAPI faces of core's types that cross the API (core knows no
//! utoipa): a package and its validity, an overage policy. Their bounds are
//! core's (`licensedesk_core::bounds`); a test holds the two together.

use utoipa::ToSchema;

/// A package allowance: validity of a consumed code, messages per day per
/// device, OTA upgrades per month per device with a size cap, storage days.
#[derive(ToSchema)]
#[schema(as = Package)]
#[allow(dead_code)] // a schema only
pub struct PackageSchema {
    /// 1 day to 30 years.
    pub validity: ValiditySchema,
    #[schema(minimum = 0, maximum = 10_000_000)]
    pub messages_per_day: u32,
    #[schema(minimum = 0, maximum = 1_000)]
    pub ota_per_month: u32,
    #[schema(minimum = 1, maximum = 10_240)]
    pub ota_cap_mb: u32,
    #[schema(minimum = 1, maximum = 3_650)]
    pub storage_days: u32,
}

/// A calendar period; absent terms are 0.
#[derive(ToSchema)]
#[schema(as = Validity)]
#[allow(dead_code)] // a schema only
pub struct ValiditySchema {
    #[schema(minimum = 0, maximum = 30)]
    pub years: Option<u32>,
    #[schema(minimum = 0, maximum = 360)]
    pub months: Option<u32>,
    #[schema(minimum = 0, maximum = 10_957)]
    pub days: Option<u32>,
}

/// What happens beyond the allowance: `block` refuses, `bill` records
/// overage, billed at the month's close after the top-ups.
#[derive(ToSchema)]
#[schema(as = OveragePolicy)]
#[allow(dead_code)] // a schema only
pub enum OveragePolicySchema {
    #[schema(rename = "block")]
    Block,
    #[schema(rename = "bill")]
    Bill,
}

#[cfg(test)]
mod tests {
    use licensedesk_core::bounds;
    use utoipa::PartialSchema;

    /// The schema's ranges are core's bounds.
    #[test]
    fn the_package_schema_states_cores_bounds() {
        let v = serde_json::to_value(super::PackageSchema::schema()).expect("json");
        for b in [
            bounds::MESSAGES_PER_DAY,
            bounds::OTA_PER_MONTH,
            bounds::OTA_CAP_MB,
            bounds::STORAGE_DAYS,
        ] {
            let p = &v["properties"][b.field];
            assert_eq!(
                (p["minimum"].as_u64(), p["maximum"].as_u64()),
                (Some(b.min), Some(b.max)),
                "{}",
                b.field
            );
        }
    }
}
