//! The body of every error answer of the server.

use serde::{Deserialize, Serialize};

/// Body of every error response.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "utoipa", derive(utoipa::ToSchema))]
pub struct ErrorBody {
    /// Stable SCREAMING_SNAKE_CASE code clients branch on.
    pub code: String,
    /// Human-readable explanation; may be reworded.
    pub message: String,
    /// The values the message is made of, by name, for a client that words
    /// it in its user's language; only some codes send it (e.g.
    /// `NO_CODES_AVAILABLE`: `pk`, `unassigned`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "utoipa", schema(value_type = Option<Object>))]
    pub params: Option<serde_json::Map<String, serde_json::Value>>,
}
