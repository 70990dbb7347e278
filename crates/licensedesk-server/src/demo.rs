//! `--demo`: a realistic data set, seeded once (a second start with
//! `--demo` adds nothing). Data is drawn from a seeded xorshift generator,
//! so two seedings at the same clock instant are identical; times are
//! relative to "now" (consumption spread over the last two years).

use std::net::SocketAddr;
use std::path::Path;

use chrono::{DateTime, Datelike, Duration, Utc};
use licensedesk_core::package::Package;
use licensedesk_core::package::quota::OveragePolicy;
use licensedesk_core::validity::Validity;
use licensedesk_protocol::feed::{CodeUpdate, DeviceChange};
use licensedesk_protocol::instant;
use serde::Serialize;
use serde_json::json;

use crate::AppState;
use crate::auth::hash_token;
use crate::db::Conn;
use crate::error::{ApiError, Result};
use crate::signing::Signer;
use crate::store::changes::{self, Record};
use crate::store::floating::{self, NewPool};
use crate::store::gateways::{self, NewOrder};
use crate::store::products::CreditBatch;
use crate::store::{Ctx, accounts, codes, products, usage, write};
use crate::time::stored;

pub const DEMO_ADMIN_TOKEN: &str = "ld_demo_admin_0000000000000000";
pub const DEMO_ENTERPRISE_TOKEN: &str = "ld_demo_enterprise_cn_east_0000";
pub const DEMO_INDIVIDUAL_TOKEN: &str = "ld_demo_individual_eu_central_00";
pub const TOKENS_FILE: &str = "demo-tokens.json";
/// The demo pool `edge-fleet`'s token (its gateways claim leases with it).
pub const DEMO_POOL_TOKEN: &str = "ld_pool_demo_edge_fleet_00000000";
pub const DEMO_POOL: &str = "edge-fleet";

#[derive(Debug, Clone, Serialize)]
pub struct DemoAccount {
    pub name: String,
    pub kind: String,
    pub data_center: String,
    pub token: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct Summary {
    /// `false` when the data set was already there.
    pub seeded_now: bool,
    pub accounts: Vec<DemoAccount>,
}

/// xorshift64*: tiny, deterministic, good enough for demo data.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.0 = x;
        x.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }
    fn entropy(&mut self) -> [u8; 16] {
        let mut b = [0u8; 16];
        b[..8].copy_from_slice(&self.next().to_le_bytes());
        b[8..].copy_from_slice(&self.next().to_le_bytes());
        b
    }
}

fn accounts_list() -> Vec<DemoAccount> {
    vec![
        DemoAccount {
            name: "Hangzhou Smart Meters Co.".into(),
            kind: "enterprise".into(),
            data_center: "cn-east".into(),
            token: DEMO_ENTERPRISE_TOKEN.into(),
        },
        DemoAccount {
            name: "Lena Vogel".into(),
            kind: "individual".into(),
            data_center: "eu-central".into(),
            token: DEMO_INDIVIDUAL_TOKEN.into(),
        },
    ]
}

fn package(years: u32, msgs: u32, ota: u32, cap: u32, days: u32) -> Package {
    Package {
        validity: Validity::years(years),
        messages_per_day: msgs,
        ota_per_month: ota,
        ota_cap_mb: cap,
        storage_days: days,
    }
}

/// Seeds the demo data set unless it is already there, in one write on
/// either engine (nodes started together with `--demo` seed it once).
pub async fn seed(state: &AppState) -> anyhow::Result<Summary> {
    let now = state.now();
    let signer = state.keys.signer.clone();
    let ctx = Ctx::at(now);
    let seeded_now = write!(state.store, &ctx, [signer], |c| seed_once(c, &signer, now))
        .await
        .map_err(|e| anyhow::anyhow!("seeding the demo: {e}"))?;
    Ok(Summary {
        seeded_now,
        accounts: accounts_list(),
    })
}

async fn seed_once(c: &impl Conn, signer: &Signer, now: DateTime<Utc>) -> Result<bool> {
    let done = c
        .opt(
            "SELECT value FROM meta WHERE key = 'demo_seeded'",
            &[],
            |r| r.string(0),
        )
        .await?;
    if done.is_some() {
        return Ok(false);
    }
    seed_all(c, signer, now).await?;
    c.exec(
        "INSERT INTO meta (key, value) VALUES ('demo_seeded', $1)",
        &[&stored(now)],
    )
    .await?;
    Ok(true)
}

struct ProductSpec {
    pk: &'static str,
    name: &'static str,
    package: Package,
    policy: OveragePolicy,
    codes: u64,
    devices: u64,
    /// Activations spread over this many past days.
    spread_days: i64,
}

async fn seed_all(c: &impl Conn, signer: &Signer, now: DateTime<Utc>) -> Result<()> {
    let mut rng = Rng(0x1d_e5c0_de5e_ed00);
    let mut ids = Vec::new();
    for a in accounts_list() {
        let id = accounts::create(
            c,
            &a.name,
            &a.kind,
            &a.data_center,
            &hash_token(&a.token),
            now,
            &mut || Ok(rng.entropy()),
        )
        .await?;
        ids.push(id);
    }
    let (ent, ind) = (ids[0], ids[1]);
    let specs = [
        (
            ent,
            ProductSpec {
                pk: "pwm0001",
                name: "Smart Water Meter",
                package: package(5, 1500, 1, 5, 7),
                policy: OveragePolicy::Block,
                codes: 1500,
                devices: 1200,
                spread_days: 730,
            },
        ),
        (
            ent,
            ProductSpec {
                pk: "pcc0002",
                name: "Cold Chain Tracker",
                package: package(2, 3000, 2, 10, 30),
                policy: OveragePolicy::Bill,
                codes: 1000,
                devices: 900,
                spread_days: 730,
            },
        ),
        (
            ent,
            ProductSpec {
                pk: "psl0003",
                name: "Street Light Controller",
                package: package(1, 500, 1, 5, 7),
                policy: OveragePolicy::Block,
                codes: 400,
                devices: 420,
                spread_days: 365,
            },
        ),
        (
            ind,
            ProductSpec {
                pk: "pgs0004",
                name: "Garden Sensor",
                package: package(3, 1000, 1, 5, 7),
                policy: OveragePolicy::Block,
                codes: 300,
                devices: 250,
                spread_days: 700,
            },
        ),
    ];
    for (account, spec) in &specs {
        seed_product(c, *account, spec, now, &mut rng).await?;
    }
    // A product without a package yet: its devices need assigned codes.
    products::create(
        c,
        ind,
        "Beehive Scale",
        Some("pbs0005"),
        None,
        OveragePolicy::default(),
        now,
    )
    .await?;
    // Part of the enterprise free codes assigned to the water meter.
    let wm = products::by_pk(c, ent, "pwm0001").await?;
    codes::assign(c, ent, wm.id, 5, now).await?;
    products::credit_topup(c, ent, "pwm0001", 10, 0, now).await?;
    seed_overage(c, ent, now).await?;
    seed_gateways(c, signer, ent, ind, now, &mut rng).await
}

async fn seed_product(
    c: &impl Conn,
    account: i64,
    s: &ProductSpec,
    now: DateTime<Utc>,
    rng: &mut Rng,
) -> Result<()> {
    let created = now - Duration::days(s.spread_days + 5);
    products::create(c, account, s.name, Some(s.pk), None, s.policy, created).await?;
    let batch = CreditBatch {
        account_id: account,
        pk: s.pk.into(),
        count: s.codes,
        package: s.package.clone(),
        reference: Some(format!("PO-{}", s.pk.to_uppercase())),
    };
    products::credit_batch(c, &batch, created, &mut || Ok(rng.entropy())).await?;
    let p = products::by_pk(c, account, s.pk).await?;
    // Activation instants, oldest first, so codes are consumed in order.
    let mut at: Vec<i64> = (0..s.devices)
        .map(|_| rng.below(s.spread_days as u64 * 86_400) as i64)
        .collect();
    at.sort_unstable_by(|a, b| b.cmp(a));
    for (i, secs) in at.into_iter().enumerate() {
        let dk = format!("{}-{:05}", &s.pk[..3].to_uppercase(), i + 1);
        let t = now - Duration::seconds(secs);
        let hw = format!("IMEI86{:09}", rng.below(1_000_000_000));
        let id = c
            .one(
                "INSERT INTO devices (account_id, product_id, dk, hardware_id, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $5) RETURNING id",
                &[&account, &p.id, &dk, &hw, &stored(t)],
                |r| r.i64(0),
            )
            .await?;
        let expiry = s.package.validity.expiry_from(t).map_err(ApiError::core)?;
        let consumed = codes::consume_one(c, p.id, id, t, expiry).await?;
        let (status, online, reason, act, exp) = match &consumed {
            Some(_) => (
                "active",
                rng.below(10) < 8,
                None,
                Some(stored(t)),
                Some(stored(expiry)),
            ),
            None => ("inactive", false, Some("no_codes"), None, None),
        };
        let seen = stored(now - Duration::minutes(rng.below(600) as i64));
        c.exec(
            "UPDATE devices SET status = $2, online = $3, offline_reason = $4, activated_at = $5, expires_at = $6, last_seen_at = $7 WHERE id = $1",
            &[&id, &status, &online, &reason, &act, &exp, &seen],
        )
        .await?;
        changes::record(
            c,
            account,
            t,
            &Record::DeviceCreated(DeviceChange {
                activated_at: act.map(Into::into),
                dk: dk.as_str().into(),
                expires_at: exp.map(Into::into),
                hardware_id: Some(hw.as_str().into()),
                id,
                offline_reason: reason.map(Into::into),
                online,
                pk: s.pk.into(),
                status: status.into(),
            }),
        )
        .await?;
        if let Some((code_id, code)) = consumed {
            changes::record(
                c,
                account,
                t,
                &Record::CodeUpdated(CodeUpdate {
                    code: Some(code.as_str().into()),
                    consumed_at: Some(instant(t)),
                    device_id: Some(id),
                    dk: Some(dk.as_str().into()),
                    expires_at: Some(instant(expiry)),
                    id: code_id,
                    pk: Some(s.pk.into()),
                    product_id: None,
                }),
            )
            .await?;
        }
    }
    Ok(())
}

/// The Cold Chain Tracker bills its overage: 30,000 prepaid messages; the
/// last two local months had overage (their usage written as history, the
/// server's first maintenance pass closes them and uses the top-ups up);
/// three devices are over today's allowance (reported as devices report).
async fn seed_overage(c: &impl Conn, account: i64, now: DateTime<Utc>) -> Result<()> {
    let pk = "pcc0002";
    products::credit_topup(c, account, pk, 0, 30_000, now).await?;
    let p = products::by_pk(c, account, pk).await?;
    let tz = accounts::get(c, account).await?.tz()?;
    let dks: Vec<(i64, String)> = c
        .query(
            "SELECT id, dk FROM devices WHERE product_id = $1 AND status = 'active' AND expires_at > $2
             ORDER BY id DESC LIMIT 3",
            &[&p.id, &stored(now)],
            |r| Ok((r.i64(0)?, r.string(1)?)),
        )
        .await?;
    // Two earlier months: 10 days each of the three devices 400 over.
    for months_back in [1, 2] {
        let this = licensedesk_core::package::statement::Month::containing(now, tz)
            .map_err(ApiError::core)?;
        let mut first = this.first;
        for _ in 0..months_back {
            first = first
                .pred_opt()
                .and_then(|d| d.with_day(1))
                .unwrap_or(first);
        }
        for day in 0..10 {
            let Some(start) = first
                .checked_add_days(chrono::Days::new(day))
                .and_then(|d| licensedesk_core::package::quota::local_day_start(d, tz))
            else {
                continue;
            };
            for (id, _) in &dks {
                c.exec(
                    "INSERT INTO usage_days (device_id, day, messages, overage) VALUES ($1, $2, 3400, 400)
                     ON CONFLICT (device_id, day) DO NOTHING",
                    &[id, &stored(start)],
                )
                .await?;
            }
        }
    }
    for (i, (_, dk)) in dks.iter().enumerate() {
        usage::report_messages(c, account, pk, dk, 3_000 + 150 * (i as u64 + 1), "up", now).await?;
    }
    Ok(())
}

/// A demo gateway order.
struct DemoOrder {
    account: i64,
    no: &'static str,
    product: &'static str,
    quantity: u32,
    /// Connections, data tags.
    limits: (u32, u32),
    plugins: &'static [&'static str],
    /// Gateways activated online from it.
    activated: u32,
    age_days: i64,
}

/// A fingerprint for a demo gateway, computed by core from a fake machine id.
pub fn demo_fingerprint(n: u32) -> String {
    licensedesk_core::fingerprint::fingerprint(
        format!("demo-gateway-{n}").as_bytes(),
        "licensedesk-demo",
    )
}

async fn seed_gateways(
    c: &impl Conn,
    signer: &Signer,
    ent: i64,
    ind: i64,
    now: DateTime<Utc>,
    rng: &mut Rng,
) -> Result<()> {
    // Two orders of the enterprise's "edge-gateway-pro" (a field allotment
    // by product draws from ORD-2025-0001 first, then ORD-2025-0004), one
    // of "edge-gateway-lite" each.
    let orders = [
        DemoOrder {
            account: ent,
            no: "ORD-2025-0001",
            product: "edge-gateway-pro",
            quantity: 10,
            limits: (200, 2000),
            plugins: &["modbus-tcp", "opcua", "mqtt"],
            activated: 3,
            age_days: 40,
        },
        DemoOrder {
            account: ent,
            no: "ORD-2025-0002",
            product: "edge-gateway-lite",
            quantity: 5,
            limits: (100, 1000),
            plugins: &["modbus-rtu"],
            activated: 5,
            age_days: 40,
        },
        DemoOrder {
            account: ind,
            no: "ORD-2025-0103",
            product: "edge-gateway-lite",
            quantity: 2,
            limits: (50, 300),
            plugins: &["mqtt"],
            activated: 1,
            age_days: 40,
        },
        DemoOrder {
            account: ent,
            no: "ORD-2025-0004",
            product: "edge-gateway-pro",
            quantity: 5,
            limits: (200, 2000),
            plugins: &["modbus-tcp", "mqtt"],
            activated: 0,
            age_days: 10,
        },
    ];
    let mut n = 0;
    for d in orders {
        let (email, customer) = if d.account == ent {
            ("ops@hzmeters.example", "Hangzhou Smart Meters Co.")
        } else {
            ("lena@vogel.example", "Lena Vogel")
        };
        let o = NewOrder {
            account_id: d.account,
            order_no: d.no.into(),
            email: email.into(),
            customer: customer.into(),
            quantity: d.quantity,
            max_connections: d.limits.0,
            max_tags: d.limits.1,
            plugins: d.plugins.iter().map(|p| (*p).to_owned()).collect(),
            validity_days: 365,
            product: Some(d.product.into()),
        };
        let code = codes::code_from_entropy(rng.entropy());
        gateways::insert_order(c, &o, &code, now - Duration::days(d.age_days)).await?;
        for _ in 0..d.activated {
            n += 1;
            gateways::activate(
                c,
                signer,
                &code,
                &demo_fingerprint(n),
                now - Duration::days(30 - i64::from(n)),
            )
            .await?;
        }
    }
    let req = NewPool {
        account_id: ent,
        name: DEMO_POOL.into(),
        points: 200,
        ttl_seconds: Some(300),
        plugins: vec!["modbus-tcp".into(), "mqtt".into()],
    };
    floating::insert_pool(c, ent, &req, DEMO_POOL_TOKEN, now).await?;
    for (i, points) in [(100u32, 60u32), (101, 40)] {
        floating::seed_lease(
            c,
            ent,
            DEMO_POOL,
            &demo_fingerprint(i),
            points,
            now + Duration::seconds(300),
            now,
        )
        .await?;
    }
    Ok(())
}

/// Writes `DATA_DIR/demo-tokens.json` (0600) for the desktop app's tests.
pub fn write_tokens(dir: &Path, s: &Summary, admin: &str) -> anyhow::Result<()> {
    let path = dir.join(TOKENS_FILE);
    let body = serde_json::to_string_pretty(&json!({
        "admin_token": admin,
        "accounts": s.accounts,
        "pools": [{"name": DEMO_POOL, "token": DEMO_POOL_TOKEN}],
        "keyset": dir.join("keys").join(crate::keystore::KEYSET_FILE),
    }))?;
    let _ = std::fs::remove_file(&path);
    crate::keystore::write_private(&path, body.as_bytes())
}

/// Prints the demo's tokens and where things are. A stdout nobody reads any
/// more (a script that took the `listening on` line and closed the pipe)
/// is no reason to stop serving: write errors are ignored.
pub fn print(s: &Summary, admin: &str, dir: &Path, addr: SocketAddr) {
    use std::fmt::Write as _;
    let mut out = String::new();
    let seeded = if s.seeded_now {
        "seeded"
    } else {
        "already present (nothing added)"
    };
    let _ = writeln!(out, "demo data {seeded}");
    for a in &s.accounts {
        let _ = writeln!(
            out,
            "  {} account {:?} ({}): token {}",
            a.kind, a.name, a.data_center, a.token
        );
    }
    let _ = writeln!(out, "  admin token: {admin}");
    let _ = writeln!(
        out,
        "  floating pool {DEMO_POOL:?}: pool token {DEMO_POOL_TOKEN} (for `ldctl lease claim`)"
    );
    let _ = writeln!(
        out,
        "  public key set: http://{addr}/v1/keys (file {})",
        dir.join("keys")
            .join(crate::keystore::KEYSET_FILE)
            .display()
    );
    let _ = writeln!(
        out,
        "  tokens written to {}",
        dir.join(TOKENS_FILE).display()
    );
    let mut stdout = std::io::stdout().lock();
    let _ = std::io::Write::write_all(&mut stdout, out.as_bytes());
    let _ = std::io::Write::flush(&mut stdout);
}
