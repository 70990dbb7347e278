//! Data centers and their time zones (domain.md §1: "a day" and "a month"
//! are the data center's local calendar day and month).

use chrono_tz::Tz;

use crate::error::Coded;

/// The data centers LicenseDesk knows, with their IANA time zones.
pub const DATA_CENTERS: &[(&str, Tz)] = &[
    ("cn-east", Tz::Asia__Shanghai),
    ("cn-north", Tz::Asia__Shanghai),
    ("cn-south", Tz::Asia__Shanghai),
    ("eu-central", Tz::Europe__Berlin),
    ("eu-west", Tz::Europe__London),
    ("us-west", Tz::America__Los_Angeles),
    ("us-east", Tz::America__New_York),
    ("ap-southeast", Tz::Asia__Singapore),
];

/// An unknown data center id.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error, serde::Serialize)]
#[error("unknown data center {id:?}: use one of {}", known())]
pub struct DataCenterError {
    pub id: String,
}

impl Coded for DataCenterError {
    fn params(&self) -> crate::error::Params {
        crate::error::params_of(self)
    }

    fn code(&self) -> &'static str {
        "DATA_CENTER_UNKNOWN"
    }
}

fn known() -> String {
    DATA_CENTERS
        .iter()
        .map(|(id, _)| *id)
        .collect::<Vec<_>>()
        .join(", ")
}

/// The time zone of data center `id` (e.g. `cn-east` → Asia/Shanghai).
pub fn time_zone(id: &str) -> Result<Tz, DataCenterError> {
    DATA_CENTERS
        .iter()
        .find(|(known, _)| *known == id)
        .map(|(_, tz)| *tz)
        .ok_or_else(|| DataCenterError {
            id: id.chars().take(64).collect(),
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_data_centers_map_to_their_zones() {
        let cases = [
            ("cn-east", Some(Tz::Asia__Shanghai)),
            ("eu-central", Some(Tz::Europe__Berlin)),
            ("us-west", Some(Tz::America__Los_Angeles)),
            ("mars-1", None),
            ("", None),
            ("CN-EAST", None),
        ];
        for (id, want) in cases {
            assert_eq!(time_zone(id).ok(), want, "{id}");
        }
        let err = time_zone("mars-1").unwrap_err();
        assert_eq!(err.code(), "DATA_CENTER_UNKNOWN");
        assert!(err.to_string().contains("eu-central"));
    }
}
