//! The retry policy against the real server, its router wrapped so that a
//! chosen route answers `503 DATABASE_BUSY` (with the server's own error
//! and `Retry-After: 1`) the first time it is called, as a PostgreSQL
//! fleet does when a write keeps conflicting.

use std::collections::HashSet;
use std::sync::{Arc, Mutex};

use axum::response::IntoResponse;
use licensedesk_http::{ATTEMPTS, Client};
use licensedesk_server::config::Settings;
use licensedesk_server::error::ApiError;
use licensedesk_testkit::{Server, dead_url, t0};
use serde_json::{Value, json};

/// The routes armed to answer busy once, and every request seen.
#[derive(Default)]
struct Busy {
    armed: Mutex<HashSet<String>>,
    seen: Mutex<Vec<String>>,
}

impl Busy {
    fn arm(&self, route: &str) {
        self.armed.lock().expect("lock").insert(route.to_owned());
    }

    fn seen(&self, route: &str) -> usize {
        let seen = self.seen.lock().expect("lock");
        seen.iter().filter(|r| *r == route).count()
    }
}

struct Fixture {
    server: Server,
    busy: Arc<Busy>,
    token: String,
    _dir: tempfile::TempDir,
}

async fn start() -> Fixture {
    let dir = tempfile::tempdir().expect("tempdir");
    let busy = Arc::new(Busy::default());
    let b = busy.clone();
    let server = Server::start_with(dir.path(), Settings::default(), t0(), move |app| {
        app.layer(axum::middleware::from_fn(
            move |req: axum::extract::Request, next: axum::middleware::Next| {
                let b = b.clone();
                async move {
                    let route = format!("{} {}", req.method(), req.uri().path());
                    b.seen.lock().expect("lock").push(route.clone());
                    if route == "GET /proxy-page" {
                        return (
                            axum::http::StatusCode::BAD_GATEWAY,
                            "<html><h1>502 Bad Gateway</h1></html>",
                        )
                            .into_response();
                    }
                    if b.armed.lock().expect("lock").remove(&route) {
                        return ApiError::Retry("armed by the test".into()).into_response();
                    }
                    next.run(req).await
                }
            },
        ))
    })
    .await;
    let (_, token) = server.account("enterprise", "cn-east").await;
    Fixture {
        server,
        busy,
        token,
        _dir: dir,
    }
}

async fn product_names(f: &Fixture) -> Vec<String> {
    let cards: Value = f.server.get_json("/v1/products", &f.token).await;
    cards
        .as_array()
        .expect("cards")
        .iter()
        .map(|c| c["name"].as_str().expect("name").to_owned())
        .collect()
}

#[tokio::test]
async fn a_get_survives_one_database_busy() {
    let f = start().await;
    let api = Client::new(&f.server.base).expect("client");
    f.busy.arm("GET /v1/products");
    let cards: Value = api
        .get("/v1/products")
        .bearer(Some(&f.token))
        .json()
        .await
        .expect("answered after one retry");
    assert!(cards.is_array());
    assert_eq!(f.busy.seen("GET /v1/products"), 2);
}

#[tokio::test]
async fn a_post_with_an_idempotency_key_survives_one_database_busy_and_acts_once() {
    let f = start().await;
    let api = Client::new(&f.server.base).expect("client");
    f.busy.arm("POST /v1/products");
    let card: Value = api
        .post_json("/v1/products", &json!({"name": "Retried"}))
        .bearer(Some(&f.token))
        .idempotency_key("it-retry-1")
        .json()
        .await
        .expect("answered after one retry");
    assert_eq!(card["name"], "Retried");
    assert_eq!(f.busy.seen("POST /v1/products"), 2);
    assert_eq!(product_names(&f).await, ["Retried"]);
}

#[tokio::test]
async fn a_post_without_a_key_is_sent_once_and_gets_the_servers_error() {
    let f = start().await;
    let api = Client::new(&f.server.base).expect("client");
    f.busy.arm("POST /v1/products");
    let e = api
        .post_json("/v1/products", &json!({"name": "Once"}))
        .bearer(Some(&f.token))
        .json::<Value>()
        .await
        .expect_err("not retried");
    assert_eq!(e.code(), "DATABASE_BUSY");
    assert_eq!(e.status(), Some(503));
    assert!(!e.is_unreachable());
    assert_eq!(f.busy.seen("POST /v1/products"), 1);
    assert!(product_names(&f).await.is_empty());
}

#[tokio::test]
async fn a_proxys_page_is_retried_then_named_for_what_it_is() {
    let f = start().await;
    let api = Client::new(&f.server.base).expect("client");
    let e = api.get("/proxy-page").send().await.expect_err("a 502 page");
    assert_eq!(e.code(), "SERVER_REPLY_INVALID");
    assert_eq!(e.status(), Some(502));
    assert!(e.to_string().contains("502 Bad Gateway"), "{e}");
    assert_eq!(f.busy.seen("GET /proxy-page"), ATTEMPTS as usize);
}

#[tokio::test]
async fn the_servers_refusal_keeps_its_code_and_params() {
    let f = start().await;
    let api = Client::new(&f.server.base).expect("client");
    let e = api
        .get("/v1/products/NOPE")
        .bearer(Some(&f.token))
        .send()
        .await
        .expect_err("unknown product");
    assert_eq!(e.code(), "NOT_FOUND");
    assert_eq!(e.params()["status"], 404);
    // Refusals are final: sent once.
    assert_eq!(f.busy.seen("GET /v1/products/NOPE"), 1);
}

#[tokio::test]
async fn a_dead_server_is_unreachable_with_what_to_do() {
    let api = Client::new(&dead_url()).expect("client");
    let e = api
        .get("/v1/keys")
        .send()
        .await
        .expect_err("nobody listens");
    assert_eq!(e.code(), "SERVER_UNREACHABLE");
    assert!(e.is_unreachable());
    assert!(e.to_string().contains("check the server address"), "{e}");
}
