//! Strings that borrow from the JSON they are read from.

use std::borrow::Cow;
use std::fmt;

use chrono::{DateTime, SecondsFormat, Utc};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// A JSON string, borrowed from the input when it has no escapes (a
/// first sync reads a million codes and devices: their strings are not
/// copied), owned when written or unescaped. Serializes as the string.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
pub struct Text<'a>(pub Cow<'a, str>);

impl Text<'_> {
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The same text, owned.
    pub fn into_owned(self) -> Text<'static> {
        Text(Cow::Owned(self.0.into_owned()))
    }
}

impl<'a> From<&'a str> for Text<'a> {
    fn from(s: &'a str) -> Self {
        Self(Cow::Borrowed(s))
    }
}

impl From<String> for Text<'static> {
    fn from(s: String) -> Self {
        Self(Cow::Owned(s))
    }
}

impl From<DateTime<Utc>> for Text<'static> {
    /// The instant as `chrono` serializes it ([`instant`]).
    fn from(t: DateTime<Utc>) -> Self {
        instant(t)
    }
}

/// An instant as `chrono`'s serde writes a `DateTime<Utc>` (RFC 3339, `Z`,
/// as many fraction digits as it needs: none, 3, 6 or 9): the form feed
/// payloads had when the server wrote the `DateTime` itself.
pub fn instant(t: DateTime<Utc>) -> Text<'static> {
    Text(Cow::Owned(t.to_rfc3339_opts(SecondsFormat::AutoSi, true)))
}

impl fmt::Display for Text<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl Serialize for Text<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.0)
    }
}

impl<'de: 'a, 'a> Deserialize<'de> for Text<'a> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> serde::de::Visitor<'de> for V {
            type Value = Text<'de>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a string")
            }
            fn visit_borrowed_str<E>(self, s: &'de str) -> Result<Self::Value, E> {
                Ok(Text(Cow::Borrowed(s)))
            }
            fn visit_str<E>(self, s: &str) -> Result<Self::Value, E> {
                Ok(Text(Cow::Owned(s.to_owned())))
            }
            fn visit_string<E>(self, s: String) -> Result<Self::Value, E> {
                Ok(Text(Cow::Owned(s)))
            }
        }
        d.deserialize_str(V)
    }
}
