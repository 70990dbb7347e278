//! The contract from outside: every POST operation of the OpenAPI document
//! with boundary values in every field, its path and the whole body, as the
//! customer and as the vendor; then every GET of the account, with boundary
//! query values too, and a maintenance pass. No answer is a 5xx, and what
//! was accepted reads back.

use reqwest::{Method, StatusCode};
use serde_json::{Map, Value, json};

use crate::support::{ADMIN, TestServer, doc_package, fingerprint};

/// Strings at the edges: empty, NUL, right-to-left, emoji, year-9999 and
/// year-10000 timestamps, a lone surrogate's replacement, 100 KB.
fn strings() -> Vec<Value> {
    [
        "",
        "\u{0}",
        "a\u{0}b",
        "\u{202E}txet lanoitceridib",
        "مرحبا بالعالم",
        "\u{1F600}\u{1F41D}",
        "9999-12-31T23:59:59Z",
        "+10000-01-01T00:00:00Z",
        "-0001-01-01T00:00:00Z",
        "0000-00-00",
        "../../etc/passwd",
        "\u{FFFD}",
    ]
    .iter()
    .map(|s| json!(s))
    .chain([json!("x".repeat(100 * 1024))])
    .collect()
}

/// Numbers at the edges of every integer type a field may have.
fn numbers() -> Vec<Value> {
    vec![
        json!(0),
        json!(-1),
        json!(1),
        // Where calendars end: 10,000 years or days from now is past 9999.
        json!(10_000),
        json!(3_000_000),
        json!(i32::MAX),
        json!(u32::MAX),
        json!(i64::MAX),
        json!(i64::MIN),
        json!(u64::MAX),
        json!(1.5),
        json!(1e300),
    ]
}

fn others() -> Vec<Value> {
    vec![
        json!(null),
        json!(true),
        json!([]),
        json!({}),
        json!([null]),
    ]
}

fn edges() -> Vec<Value> {
    let mut v = strings();
    v.extend(numbers());
    v.extend(others());
    v
}

/// `schema` with its `$ref` followed.
fn resolve<'a>(doc: &'a Value, schema: &'a Value) -> &'a Value {
    match schema["$ref"].as_str() {
        Some(r) => {
            let name = r.rsplit('/').next().unwrap_or_default();
            &doc["components"]["schemas"][name]
        }
        None => schema,
    }
}

struct Fixture {
    account: i64,
    pk: String,
    dk: String,
    code: String,
}

/// A plausible value for a field, so that one bad field at a time reaches
/// the check it is meant for.
fn plausible(doc: &Value, f: &Fixture, name: &str, schema: &Value) -> Value {
    if let Some(first) = resolve(doc, schema)["enum"].get(0) {
        return first.clone();
    }
    match name {
        "account_id" => json!(f.account),
        "pk" => json!(f.pk),
        "dk" => json!(f.dk),
        "package" => doc_package(),
        "fingerprint" => json!(fingerprint(7)),
        "code" => json!(f.code),
        "kind" => json!("enterprise"),
        "data_center" | "via" => json!("cn-east"),
        "email" => json!("sweep@example.com"),
        "installed_at" => json!("2026-03-31T10:00:00Z"),
        "source" => json!("file"),
        "order_no" => json!("ORD-SWEEP"),
        "count" | "quantity" | "points" | "max_connections" | "max_tags" | "validity_days"
        | "days" | "bytes" | "messages" | "ota_attempts" => json!(1),
        _ => {
            let s = resolve(doc, schema);
            let ty = match &s["type"] {
                Value::Array(types) => types
                    .iter()
                    .find(|t| *t != "null")
                    .cloned()
                    .unwrap_or(json!("null")),
                t => t.clone(),
            };
            match ty.as_str() {
                Some("integer" | "number") => json!(1),
                Some("boolean") => json!(true),
                Some("array") => json!([]),
                Some("object") => json!({}),
                Some("string") => json!("sweep"),
                _ => Value::Null,
            }
        }
    }
}

/// The request bodies to send to one operation: a plausible one, then each
/// field set to each edge value (one level into nested objects), then the
/// whole body as each edge value.
fn bodies(doc: &Value, f: &Fixture, op: &Value) -> Vec<Value> {
    let Some(schema) = op["requestBody"]["content"]["application/json"]["schema"].as_object()
    else {
        return vec![json!({})];
    };
    let schema = resolve(doc, &Value::Object(schema.clone())).clone();
    let props = schema["properties"]
        .as_object()
        .cloned()
        .unwrap_or_default();
    let base: Map<String, Value> = props
        .iter()
        .map(|(k, s)| (k.clone(), plausible(doc, f, k, s)))
        .collect();
    let mut out = vec![Value::Object(base.clone())];
    for (field, sub) in &props {
        for edge in edges() {
            let mut b = base.clone();
            b.insert(field.clone(), edge);
            out.push(Value::Object(b));
        }
        // Down into nested objects (a package, its validity).
        if let Some(inner) = base.get(field) {
            for nested in variants(inner, 2) {
                let mut b = base.clone();
                b.insert(field.clone(), nested);
                out.push(Value::Object(b));
            }
        }
        let _ = sub;
        let mut without = base.clone();
        without.remove(field);
        out.push(Value::Object(without));
    }
    out.extend(edges());
    out
}

/// `v` with each of its fields (and theirs, `depth` levels down) set to
/// each edge value in turn.
fn variants(v: &Value, depth: usize) -> Vec<Value> {
    let Value::Object(map) = v else {
        return Vec::new();
    };
    let mut out = Vec::new();
    for (key, inner) in map {
        let mut set = |x: Value| {
            let mut m = map.clone();
            m.insert(key.clone(), x);
            out.push(Value::Object(m));
        };
        for edge in edges() {
            set(edge);
        }
        if depth > 1 {
            for nested in variants(inner, depth - 1) {
                set(nested);
            }
        }
    }
    out
}

/// A path with its parameters filled by `value(name)`.
fn fill(path: &str, value: impl Fn(&str) -> String) -> String {
    let mut out = String::new();
    let mut rest = path;
    while let Some(open) = rest.find('{') {
        out.push_str(&rest[..open]);
        let close = rest[open..].find('}').map_or(rest.len(), |c| open + c);
        out.push_str(&value(&rest[open + 1..close]));
        rest = &rest[(close + 1).min(rest.len())..];
    }
    out.push_str(rest);
    out
}

fn path_edges() -> Vec<String> {
    [
        "%00",
        "-1",
        "0",
        "9223372036854775808",
        "%E2%80%AEtxet",
        "%F0%9F%98%80",
        "..%2F..%2Fetc",
        "%20",
    ]
    .iter()
    .map(|s| (*s).to_owned())
    .chain(["p".repeat(10_000)])
    .collect()
}

async fn send(
    s: &TestServer,
    method: &Method,
    path: &str,
    token: &str,
    body: Option<&Value>,
) -> StatusCode {
    let mut req = s
        .http
        .request(method.clone(), format!("{}{path}", s.base))
        .bearer_auth(token);
    if let Some(b) = body {
        req = req.json(b);
    }
    let shown = || {
        body.map(|b| b.to_string().chars().take(300).collect::<String>())
            .unwrap_or_default()
    };
    let (status, text) = match req.send().await {
        Ok(resp) => (resp.status(), resp.text().await.unwrap_or_default()),
        // A request refused before its body was read (another role's
        // token on a large body): the server answered and closed while
        // the client still wrote. Read that answer over a plain socket.
        Err(e) if e.is_request() => raw(s, method, path, token, body).await,
        Err(e) => panic!("{method} {path}: {e}"),
    };
    assert!(
        !status.is_server_error(),
        "{method} {path} {}: {status} {text}",
        shown()
    );
    status
}

/// The request over a plain socket, every write error ignored, then the
/// answer's status line and the rest.
async fn raw(
    s: &TestServer,
    method: &Method,
    path: &str,
    token: &str,
    body: Option<&Value>,
) -> (StatusCode, String) {
    use std::io::{Read, Write};
    let addr = s.base.trim_start_matches("http://").to_owned();
    let body = body.map(Value::to_string).unwrap_or_default();
    let head = format!(
        "{method} {path} HTTP/1.1\r\nhost: {addr}\r\nauthorization: Bearer {token}\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n",
        body.len()
    );
    let answer = tokio::task::spawn_blocking(move || {
        let mut sock = std::net::TcpStream::connect(&addr).expect("connect");
        let _ = sock.write_all(head.as_bytes());
        let _ = sock.write_all(body.as_bytes());
        let mut answer = Vec::new();
        let _ = sock.read_to_end(&mut answer);
        answer
    })
    .await
    .expect("raw request");
    let text = String::from_utf8_lossy(&answer).into_owned();
    let code = text
        .split_whitespace()
        .nth(1)
        .and_then(|c| c.parse::<u16>().ok())
        .unwrap_or_else(|| panic!("{method} {path}: no answer: {text:?}"));
    (StatusCode::from_u16(code).expect("status"), text)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_post_with_boundary_values_then_every_get_and_maintenance_answer_without_a_5xx() {
    let s = TestServer::start().await;
    let (account, t) = s.account("enterprise", "cn-east").await;
    s.product(account, "psweep", doc_package(), "bill", 5).await;
    s.connect(&t, "psweep", "d1").await;
    let order = s
        .post_ok(
            "/v1/admin/gateway-orders",
            ADMIN,
            json!({"account_id": account, "order_no": "ORD-S0", "email": "sweep@example.com",
                   "customer": "Sweep", "quantity": 2, "max_connections": 10, "max_tags": 10,
                   "validity_days": 30}),
        )
        .await;
    s.pool(account, "pool", 10, None).await;
    let f = Fixture {
        account,
        pk: "psweep".into(),
        dk: "d1".into(),
        code: order["activation_code"].as_str().expect("code").to_owned(),
    };
    let doc = s.call("GET", "/openapi.json", None, None).await.1;
    let real = |name: &str| match name {
        "pk" => "psweep".to_owned(),
        "dk" => "d1".to_owned(),
        "name" => "pool".to_owned(),
        "id" => account.to_string(),
        other => other.to_owned(),
    };
    let mut sent = 0;
    let paths = doc["paths"].as_object().expect("paths");
    for (path, item) in paths {
        let Some(op) = item.get("post") else { continue };
        for token in [t.as_str(), ADMIN] {
            for body in bodies(&doc, &f, op) {
                send(&s, &Method::POST, &fill(path, real), token, Some(&body)).await;
                sent += 1;
            }
            if path.contains('{') {
                for edge in path_edges() {
                    let p = fill(path, |_| edge.clone());
                    send(&s, &Method::POST, &p, token, Some(&json!({}))).await;
                    sent += 1;
                }
            }
        }
    }
    // Every GET of the account, plain and with each query parameter at
    // each edge; the plain ones must answer 200 with what was stored.
    for (path, item) in paths {
        let Some(op) = item.get("get") else { continue };
        let plain = fill(path, real);
        let st = send(&s, &Method::GET, &plain, &t, None).await;
        if !path.contains("allotments") {
            assert_eq!(st, StatusCode::OK, "GET {plain}");
        }
        for p in op["parameters"].as_array().into_iter().flatten() {
            if p["in"] != "query" {
                continue;
            }
            let name = p["name"].as_str().expect("name");
            for edge in strings().into_iter().chain(numbers()).take(12) {
                let v = match edge {
                    Value::String(s) => s,
                    other => other.to_string(),
                };
                let q: String = url_encode(&v);
                send(&s, &Method::GET, &format!("{plain}?{name}={q}"), &t, None).await;
                sent += 1;
            }
        }
    }
    let r = s.maintenance().await;
    assert_eq!(r["failures"], json!([]), "{r}");
    assert!(sent > 3_000, "only {sent} requests");
}

fn url_encode(s: &str) -> String {
    s.bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b"-_.~".contains(&b) {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}
