//! Stable error codes shared by every error type of the core, and the
//! values each message is made of.

use serde::Serialize;
use serde_json::{Map, Value};

/// The values an error's message is made of, by name (`{"len": 70000}`):
/// a caller that words the message itself, in the user's language (the
/// desktop UI), renders the code's text from them.
pub type Params = Map<String, Value>;

/// An error with a stable, SCREAMING_SNAKE_CASE code that callers (the CLI,
/// the HTTP API, the desktop UI) branch on. Codes never change meaning once
/// published; the human message (`Display`) may be reworded.
pub trait Coded {
    fn code(&self) -> &'static str;

    /// The values the message is made of ([`Params`]); none by default.
    fn params(&self) -> Params {
        Params::new()
    }
}

/// The [`Params`] of an error that serialises as its fields (an untagged
/// enum): its fields by name, those of an error it wraps merged in (the
/// outer one's win), a bare value as `detail`, nothing for a unit variant.
pub fn params_of<E: Serialize + ?Sized>(e: &E) -> Params {
    let mut out = Params::new();
    match serde_json::to_value(e) {
        Ok(Value::Object(m)) => flatten_into(&mut out, m),
        Ok(Value::Null) | Err(_) => {}
        Ok(v) => {
            out.insert("detail".into(), v);
        }
    }
    out
}

fn flatten_into(out: &mut Params, m: Map<String, Value>) {
    let mut nested = Vec::new();
    for (k, v) in m {
        match v {
            Value::Object(inner) => nested.push(inner),
            v => {
                out.insert(k, v);
            }
        }
    }
    for inner in nested {
        let mut flat = Params::new();
        flatten_into(&mut flat, inner);
        for (k, v) in flat {
            out.entry(k).or_insert(v);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fingerprint::FingerprintError;
    use crate::license::LicenseError;
    use crate::offline::OfflineError;

    #[test]
    fn params_are_the_fields_with_wrapped_errors_merged() {
        let e = OfflineError::Fingerprint {
            gateway: 2,
            source: FingerprintError::WrongLength { found: 12 },
        };
        assert_eq!(
            Value::Object(e.params()),
            serde_json::json!({"gateway": 2, "found": 12})
        );
        assert!(LicenseError::Base64.params().is_empty());
        let e = LicenseError::HardwareMismatch {
            bound: "A".into(),
            actual: "B".into(),
        };
        assert_eq!(e.params()["bound"], "A");
        assert_eq!(e.params()["actual"], "B");
        assert_eq!(params_of("just text")["detail"], "just text");
    }
}
