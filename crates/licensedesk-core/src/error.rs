//! Stable error codes shared by every error type of the core.

/// An error with a stable, SCREAMING_SNAKE_CASE code that callers (the CLI,
/// the HTTP API, the desktop UI) branch on. Codes never change meaning once
/// published; the human message (`Display`) may be reworded.
pub trait Coded {
    fn code(&self) -> &'static str;
}
