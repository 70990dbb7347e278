//! `Idempotency-Key` on POST: the first response for a (caller, key) is
//! stored; the same key with the same request replays it byte for byte (its
//! status, body and `Content-Type`), the
//! same key with another request is refused with 422. The caller is its
//! `Authorization` header (hashed) or, without one, its address as rate
//! limiting sees it ([`crate::auth::client_addr`]).
//!
//! Atomicity: the request's database write records the key (status 0, the
//! write's result) in the same write (one transaction, rolled back
//! together) as the mutation (the store's writes, given the key in their
//! [`crate::store::Ctx`]); the final response then replaces that row. If
//! the server dies between the two, a retry finds status 0 and re-runs the
//! handler in replay mode: its write returns the recorded result without
//! mutating again, so the mutation happens exactly once.
//!
//! A keyed request runs to its end even if the client hangs up (its own
//! task), holding the key's in-flight lock until its response is recorded:
//! a retry racing it waits and replays instead of mutating again.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use axum::body::{Body, to_bytes};
use axum::extract::{Request, State};
use axum::http::{HeaderValue, Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use sha2::{Digest, Sha256};

use crate::AppState;
use crate::api::extract::Unrouted;
use crate::auth::{client_addr, hash_token};
use crate::error::{ApiError, ReplayRecorded};
use crate::store::idempotency::{Keyed, Recorded};

/// Largest request or response body the middleware buffers.
const MAX_BODY: usize = 4 * 1024 * 1024;
/// Records older than this are forgotten by the maintenance sweep.
pub const RETENTION_HOURS: i64 = 24;

tokio::task_local! {
    static CTX: Keyed;
}

/// The current request's idempotency record, if it carries a key (the API
/// hands it to the store's writes in their [`crate::store::Ctx`]).
pub fn current() -> Option<Keyed> {
    CTX.try_with(Clone::clone).ok()
}

/// Serialises requests that share a key, so a retry racing the original
/// waits for it and then replays its response.
#[derive(Default)]
pub struct InFlight {
    locks: Mutex<HashMap<String, Arc<tokio::sync::Mutex<()>>>>,
}

impl InFlight {
    fn lock_for(&self, id: &str) -> Arc<tokio::sync::Mutex<()>> {
        let mut m = self.locks.lock().unwrap_or_else(|e| e.into_inner());
        m.entry(id.to_owned()).or_default().clone()
    }

    fn release(&self, id: &str, lock: Arc<tokio::sync::Mutex<()>>) {
        let mut m = self.locks.lock().unwrap_or_else(|e| e.into_inner());
        // Ours and the map's: nobody else is waiting.
        if Arc::strong_count(&lock) <= 2 {
            m.remove(id);
        }
    }
}

pub async fn middleware(State(state): State<AppState>, req: Request, next: Next) -> Response {
    if req.method() != Method::POST {
        return next.run(req).await;
    }
    let Some(key) = req
        .headers()
        .get("idempotency-key")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned)
    else {
        return next.run(req).await;
    };
    if key.is_empty() || key.len() > 255 {
        return ApiError::invalid(
            "IDEMPOTENCY_KEY_INVALID",
            "Idempotency-Key must be 1 to 255 visible ASCII characters",
        )
        .into_response();
    }
    // In a task of its own: a client that hangs up must not cancel the
    // request half-way (its write would still commit, but the key's lock and
    // final response would be dropped, and a retry racing it would run the
    // mutation a second time). The retry waits for the lock and replays.
    let task = tokio::spawn(async move {
        match handle(state, key, req, next).await {
            Ok(r) | Err(r) => r,
        }
    });
    task.await.unwrap_or_else(|e| {
        ApiError::Internal(format!("the request's task failed: {e}")).into_response()
    })
}

async fn handle(
    state: AppState,
    key: String,
    req: Request,
    next: Next,
) -> Result<Response, Response> {
    // A caller's keys are its own: those of a token are scoped by the
    // token, those of a caller without one by its address (as rate
    // limiting sees it), so unrelated clients never share a key.
    let scope = match req
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
    {
        Some(authorization) => hash_token(authorization),
        None => format!(
            "addr:{}",
            client_addr(
                req.headers(),
                req.extensions(),
                state.settings.trust_forwarded_for
            )
        ),
    };
    let (parts, body) = req.into_parts();
    let bytes = to_bytes(body, MAX_BODY)
        .await
        .map_err(|_| crate::api::extract::body_too_large().into_response())?;
    let mut h = Sha256::new();
    h.update(parts.method.as_str());
    h.update(b"\n");
    h.update(parts.uri.to_string());
    h.update(b"\n");
    h.update(&bytes);
    let request_hash = hex::encode(h.finalize());

    let id = format!("{scope}\n{key}");
    let lock = state.inflight.lock_for(&id);
    let guard = lock.lock().await;

    let stored = state
        .store
        .idempotent(scope.clone(), key.clone())
        .await
        .map_err(IntoResponse::into_response)?;

    let out = if let Some(recorded) = stored.clone().filter(|s| s.status != 0) {
        replay(recorded, &request_hash)
    } else if stored
        .as_ref()
        .is_some_and(|s| s.request_hash != request_hash)
    {
        ApiError::IdempotencyKeyReused.into_response()
    } else {
        let keyed = Keyed {
            scope: scope.clone(),
            key: key.clone(),
            request_hash: request_hash.clone(),
            replay: stored.map(|s| String::from_utf8_lossy(&s.body).into_owned()),
        };
        let resp = CTX
            .scope(
                keyed.clone(),
                next.run(Request::from_parts(parts, Body::from(bytes))),
            )
            .await;
        if resp.extensions().get::<ReplayRecorded>().is_some() {
            // Another node answered this key meanwhile (PostgreSQL): its
            // response is recorded, and is this one's.
            let recorded = state
                .store
                .idempotent(scope.clone(), key.clone())
                .await
                .map_err(IntoResponse::into_response)?
                .filter(|r| r.status != 0)
                .ok_or_else(|| {
                    ApiError::Internal("a replayed key without its response".into()).into_response()
                })?;
            drop(guard);
            state.inflight.release(&id, lock);
            return Ok(replay(recorded, &request_hash));
        }
        let status = resp.status();
        let (rparts, rbody) = resp.into_parts();
        let rbytes = to_bytes(rbody, MAX_BODY)
            .await
            .map_err(|e| ApiError::Internal(format!("response body: {e}")).into_response())?;
        // Server errors and rate limiting are transient: a retry runs anew.
        // A request no route took changed nothing and is not recorded (its
        // replay would lose the 405's `Allow` header).
        if !status.is_server_error()
            && status != StatusCode::TOO_MANY_REQUESTS
            && rparts.extensions.get::<Unrouted>().is_none()
        {
            let content_type = rparts
                .headers
                .get(header::CONTENT_TYPE)
                .and_then(|v| v.to_str().ok())
                .map(str::to_owned);
            let recorded = Recorded {
                request_hash,
                status: status.as_u16(),
                body: rbytes.to_vec(),
                content_type,
            };
            state
                .store
                .finish_idempotent(keyed, recorded, state.clock.now())
                .await
                .map_err(IntoResponse::into_response)?;
        }
        Response::from_parts(rparts, Body::from(rbytes))
    };
    drop(guard);
    state.inflight.release(&id, lock);
    Ok(out)
}

/// The recorded response of a key, for a request with `request_hash`: the
/// same response again, or 422 when the key was used for another request.
fn replay(recorded: Recorded, request_hash: &str) -> Response {
    if recorded.request_hash != request_hash {
        return ApiError::IdempotencyKeyReused.into_response();
    }
    let mut resp = Response::new(Body::from(recorded.body));
    *resp.status_mut() = StatusCode::from_u16(recorded.status).unwrap_or(StatusCode::OK);
    let h = resp.headers_mut();
    // A row recorded before the type was kept is a JSON answer.
    let content_type = recorded
        .content_type
        .and_then(|t| HeaderValue::from_str(&t).ok())
        .unwrap_or(HeaderValue::from_static("application/json"));
    h.insert(header::CONTENT_TYPE, content_type);
    h.insert("idempotent-replayed", HeaderValue::from_static("true"));
    resp
}
