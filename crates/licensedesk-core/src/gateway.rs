//! Gateway licenses of edge software (domain.md §2).

use serde::{Deserialize, Serialize};

/// How a gateway license came to be. Serialised in lower case
/// (`"trial"`, `"file"`, `"activation"`, `"floating"`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LicenseKind {
    Trial,
    File,
    Activation,
    Floating,
}
