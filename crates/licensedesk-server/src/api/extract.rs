//! The API's own `Json`, `Bytes`, `Query` and `Path` extractors and its fallbacks:
//! a request axum refuses before a handler runs (a body that is not JSON or
//! not the expected shape, a wrong `Content-Type`, a bad query string or
//! path, an unknown route, a wrong method) is answered with the API's
//! `{code, message}` like every other error, never with axum's text/plain
//! or empty rejection. axum's own extractors are disallowed elsewhere
//! (`clippy.toml`).
//!
//! Codes: `BODY_INVALID` (400, like all malformed input: the body is not
//! JSON, or JSON of the wrong shape), `CONTENT_TYPE_UNSUPPORTED` (415), `BODY_TOO_LARGE`
//! (413), `QUERY_INVALID` (400), `PATH_INVALID` (400), `NOT_FOUND` (404),
//! `METHOD_NOT_ALLOWED` (405, with axum's `Allow` header). Text holding a
//! NUL (U+0000) is refused by the same codes on every route.
#![allow(clippy::disallowed_types)]

use axum::extract::rejection::{BytesRejection, JsonRejection, PathRejection, QueryRejection};
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::request::Parts;
use axum::http::{HeaderValue, Method, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::error::{ApiError, ErrorBody, ReplayRecorded};

/// A JSON request body (refused as `{code, message}`) or a JSON response.
#[derive(Debug, Clone, Copy, Default)]
pub struct Json<T>(pub T);

impl<T, S> FromRequest<S> for Json<T>
where
    T: DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, ApiError> {
        // The body is read once (under the body limit), looked at for a
        // NUL, then parsed by axum with the request's headers.
        let headers = req.headers().clone();
        let bytes = axum::body::Bytes::from_request(req, state).await?;
        if has_nul_escape(&bytes) {
            return Err(nul(StatusCode::BAD_REQUEST, "BODY_INVALID", "the body"));
        }
        let mut req = Request::new(axum::body::Body::from(bytes));
        *req.headers_mut() = headers;
        match axum::Json::<T>::from_request(req, state).await {
            Ok(axum::Json(v)) => Ok(Self(v)),
            Err(e) => Err(e.into()),
        }
    }
}

/// Whether a JSON text holds the escape `\u0000` (a raw NUL byte is no
/// JSON: serde refuses it). No field takes a NUL: PostgreSQL cannot store
/// one in text, and SQLite's C strings end at it, so both engines get the
/// same refusal before any work.
fn has_nul_escape(json: &[u8]) -> bool {
    let mut i = 0;
    while i < json.len() {
        if json[i] == b'\\' {
            if json.get(i + 1) == Some(&b'u') && json.get(i + 2..i + 6) == Some(b"0000") {
                return true;
            }
            i += 2; // the escaped character, whatever it is
        } else {
            i += 1;
        }
    }
    false
}

/// A NUL (`%00`) in a path or a query string.
fn has_nul_percent(s: &str) -> bool {
    s.contains("%00")
}

fn nul(status: StatusCode, code: &'static str, what: &str) -> ApiError {
    rejected(
        status,
        code,
        format!(
            "{what} holds the NUL character (U+0000), which no field accepts; remove it and send again"
        ),
    )
}

/// The body is written into a `Vec` (`serde_json::to_vec`), not through
/// axum's `BytesMut` writer: serde_json writes a body in many small pieces
/// (a key, a quote, a value), and each piece through that writer also
/// checks and reserves room. A snapshot page (a megabyte) spent more of
/// the server's time there than in reading its rows (perf).
impl<T: Serialize> IntoResponse for Json<T> {
    fn into_response(self) -> Response {
        match serde_json::to_vec(&self.0) {
            Ok(body) => (
                [(
                    header::CONTENT_TYPE,
                    HeaderValue::from_static("application/json"),
                )],
                body,
            )
                .into_response(),
            Err(e) => ApiError::Internal(format!("answer not serializable: {e}")).into_response(),
        }
    }
}

/// A raw request body, for the routes that verify signed bytes before
/// they parse them (refused as `BODY_TOO_LARGE` over the body limit).
#[derive(Debug, Clone, Default)]
pub struct Bytes(pub axum::body::Bytes);

impl<S> FromRequest<S> for Bytes
where
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, ApiError> {
        match axum::body::Bytes::from_request(req, state).await {
            Ok(b) => Ok(Self(b)),
            Err(e) => Err(e.into()),
        }
    }
}

/// A query string (refused as `QUERY_INVALID`).
#[derive(Debug, Clone, Copy, Default)]
pub struct Query<T>(pub T);

impl<T, S> FromRequestParts<S> for Query<T>
where
    T: DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, ApiError> {
        if parts.uri.query().is_some_and(has_nul_percent) {
            return Err(nul(
                StatusCode::BAD_REQUEST,
                "QUERY_INVALID",
                "the query string",
            ));
        }
        match axum::extract::Query::<T>::from_request_parts(parts, state).await {
            Ok(axum::extract::Query(v)) => Ok(Self(v)),
            Err(e) => Err(e.into()),
        }
    }
}

/// Path parameters (refused as `PATH_INVALID`).
#[derive(Debug, Clone, Copy, Default)]
pub struct Path<T>(pub T);

impl<T, S> FromRequestParts<S> for Path<T>
where
    T: DeserializeOwned + Send,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, ApiError> {
        if has_nul_percent(parts.uri.path()) {
            return Err(nul(StatusCode::BAD_REQUEST, "PATH_INVALID", "the path"));
        }
        match axum::extract::Path::<T>::from_request_parts(parts, state).await {
            Ok(axum::extract::Path(v)) => Ok(Self(v)),
            Err(e) => Err(e.into()),
        }
    }
}

/// An [`ApiError`] as its answer: the status, the `{code, message, params}`
/// body, and `Retry-After` where a retry is the way out.
impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let status = self.status();
        let body = ErrorBody {
            code: self.code().to_owned(),
            message: self.to_string(),
            params: self.params(),
        };
        let replay = matches!(self, ApiError::Replay);
        let mut resp = (status, Json(body)).into_response();
        if replay {
            resp.extensions_mut().insert(ReplayRecorded);
        }
        if let ApiError::RateLimited { retry_after } = self
            && let Ok(v) = HeaderValue::from_str(&retry_after.to_string())
        {
            resp.headers_mut().insert(header::RETRY_AFTER, v);
        }
        if let ApiError::Retry(_) = self {
            resp.headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from_static("1"));
        }
        resp
    }
}

/// What went wrong inside a rejection (serde's words: the field, what it
/// expected, where), without axum's own preamble.
fn detail(e: &dyn std::error::Error) -> String {
    e.source()
        .map_or_else(|| e.to_string(), ToString::to_string)
}

fn rejected(status: StatusCode, code: &'static str, message: String) -> ApiError {
    ApiError::Coded {
        status,
        code,
        message,
    }
}

impl From<JsonRejection> for ApiError {
    fn from(e: JsonRejection) -> Self {
        match e {
            JsonRejection::JsonDataError(e) => rejected(
                StatusCode::BAD_REQUEST,
                "BODY_INVALID",
                format!(
                    "the body is JSON but not what this request takes: {}; send the fields and types /openapi.json lists for it",
                    detail(&e)
                ),
            ),
            JsonRejection::JsonSyntaxError(e) => rejected(
                StatusCode::BAD_REQUEST,
                "BODY_INVALID",
                format!("the body must be JSON: {}; send a JSON object", detail(&e)),
            ),
            JsonRejection::MissingJsonContentType(_) => rejected(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "CONTENT_TYPE_UNSUPPORTED",
                "the body must be JSON sent with the header `Content-Type: application/json`"
                    .into(),
            ),
            JsonRejection::BytesRejection(e) => e.into(),
            _ => body_unreadable(),
        }
    }
}

impl From<BytesRejection> for ApiError {
    fn from(e: BytesRejection) -> Self {
        if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
            body_too_large()
        } else {
            body_unreadable()
        }
    }
}

fn body_unreadable() -> ApiError {
    rejected(
        StatusCode::BAD_REQUEST,
        "BODY_INVALID",
        "the body could not be read to its end; send the request again".into(),
    )
}

/// A request body over the server's limit.
pub fn body_too_large() -> ApiError {
    rejected(
        StatusCode::PAYLOAD_TOO_LARGE,
        "BODY_TOO_LARGE",
        "the body is larger than this server accepts; send a smaller one".into(),
    )
}

impl From<QueryRejection> for ApiError {
    fn from(e: QueryRejection) -> Self {
        let detail = match &e {
            QueryRejection::FailedToDeserializeQueryString(e) => detail(e),
            other => other.to_string(),
        };
        rejected(
            StatusCode::BAD_REQUEST,
            "QUERY_INVALID",
            format!(
                "the query string is not valid: {detail}; fix that parameter (/openapi.json lists each one)"
            ),
        )
    }
}

impl From<PathRejection> for ApiError {
    fn from(e: PathRejection) -> Self {
        match e {
            PathRejection::FailedToDeserializePathParams(e)
                if e.status() == StatusCode::BAD_REQUEST =>
            {
                rejected(
                    StatusCode::BAD_REQUEST,
                    "PATH_INVALID",
                    format!(
                        "the path is not valid: {}; fix it (/openapi.json lists the paths)",
                        e.kind()
                    ),
                )
            }
            other => ApiError::Internal(format!("path parameters: {other}")),
        }
    }
}

/// Marks a response that no route produced (unknown path, wrong method):
/// the idempotency middleware does not record it under the request's key.
#[derive(Debug, Clone, Copy)]
pub struct Unrouted;

fn unrouted(e: ApiError) -> Response {
    let mut resp = e.into_response();
    resp.extensions_mut().insert(Unrouted);
    resp
}

/// The router's fallback: no route has this path.
pub async fn not_found(method: Method, uri: Uri) -> Response {
    unrouted(rejected(
        StatusCode::NOT_FOUND,
        "NOT_FOUND",
        format!(
            "no route {method} {}: check the path (/openapi.json lists the API's paths)",
            uri.path()
        ),
    ))
}

/// Every route's fallback for a method it does not take; axum adds the
/// route's `Allow` header.
pub async fn method_not_allowed(method: Method, uri: Uri) -> Response {
    unrouted(rejected(
        StatusCode::METHOD_NOT_ALLOWED,
        "METHOD_NOT_ALLOWED",
        format!(
            "{} does not take {method}: use a method its Allow header lists",
            uri.path()
        ),
    ))
}

#[cfg(test)]
mod tests {
    use super::has_nul_escape;

    #[test]
    fn a_nul_escape_is_found_and_an_escaped_backslash_before_u0000_is_not() {
        assert!(has_nul_escape(br#"{"pk":"\u0000"}"#));
        assert!(has_nul_escape(br#"{"a":"x","pk":"ab\u0000cd"}"#));
        assert!(has_nul_escape(br#"{"pk":"\\\u0000"}"#));
        // `\\` is one backslash: "\u0000" here is six characters of text.
        assert!(!has_nul_escape(br#"{"pk":"\\u0000"}"#));
        assert!(has_nul_escape(br#"{"pk":"\u0001 \u00000"}"#));
        assert!(!has_nul_escape(br#"{"pk":"\u0100"}"#));
        assert!(!has_nul_escape(br#"{"pk":"u0000"}"#));
        assert!(!has_nul_escape(br#"{"pk":"\"#));
    }
}
