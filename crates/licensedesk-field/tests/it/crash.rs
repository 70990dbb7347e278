//! `kill -9` of the issuing process: aborted between ledger commit and file
//! write, between file write and the next gateway, or SIGKILLed right after
//! it reported a file — across seeded random cycles. After every restart:
//! every license file on disk is in the ledger, one record per gateway, the
//! chain and the signed export verify; at the end every gateway is issued
//! exactly once.

use std::collections::HashSet;
use std::io::{BufRead as _, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use chrono::Duration;
use licensedesk_core::delegate::sha256_hex;
use licensedesk_core::ledger::verify_export;
use licensedesk_field::{Kit, checkout};

use crate::support::{ORDER, Server, by_order, fingerprint, request_file, s, t0};

const GATEWAYS: u32 = 24;
const CYCLES: u32 = 24;

/// xorshift64*: a seeded, reproducible sequence.
struct Rng(u64);

impl Rng {
    fn below(&mut self, n: u64) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D) % n
    }
}

fn issuer(
    kit: &Path,
    id: &str,
    out: &Path,
    requests: &[PathBuf],
    crash: Option<String>,
) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_ld-field-issue"));
    let now = (t0() + Duration::hours(1)).to_rfc3339();
    cmd.args([s(kit), id, s(out), &now])
        .args(requests)
        .stdout(Stdio::piped())
        .stderr(Stdio::null());
    match crash {
        Some(c) => cmd.env("LD_FIELD_CRASH_AT", c),
        None => cmd.env_remove("LD_FIELD_CRASH_AT"),
    };
    cmd
}

/// The invariants after a crash, from a freshly opened kit.
/// Returns (records, license files).
fn check(kit_dir: &Path, id: &str, out: &Path) -> (usize, usize) {
    let kit = Kit::open(kit_dir).expect("reopen");
    let ledger = kit.ledger(id).expect("ledger");
    let summary = kit.verify_ledger(id).expect("chain verifies");
    assert_eq!(summary.records as usize, ledger.len());
    let keys = kit.server_keys(id).expect("keys");
    let export = kit.export(id).expect("export");
    verify_export(export.as_bytes(), &keys).expect("signed export verifies");
    let fps: HashSet<&str> = ledger
        .iter()
        .map(|e| e.record.fingerprint.as_str())
        .collect();
    assert_eq!(fps.len(), ledger.len(), "one record per gateway");
    let mut files = 0;
    for entry in std::fs::read_dir(out).expect("out") {
        let path = entry.expect("entry").path();
        let name = path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        assert!(!name.ends_with(".tmp") || name.starts_with('.'), "{name}");
        if name.starts_with('.') {
            continue; // a temporary file a crash left behind
        }
        let bytes = std::fs::read(&path).expect("license");
        let hash = sha256_hex(&bytes);
        assert!(
            ledger.iter().any(|e| e.record.license_hash == hash
                && name == format!("license-{}.lic", e.record.fingerprint)),
            "{name} is not in the ledger"
        );
        files += 1;
    }
    (ledger.len(), files)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kill_dash_nine_at_random_points_loses_nothing_and_issues_nothing_twice() {
    let tmp = tempfile::tempdir().expect("tmp");
    let server = Server::start(&tmp.path().join("server"), t0()).await;
    let token = server.account_with_order(GATEWAYS).await;
    let kit_dir = tmp.path().join("kit");
    let mut kit = Kit::open(&kit_dir).expect("kit");
    let id = checkout(
        &mut kit,
        &server.base,
        &token,
        &by_order(),
        GATEWAYS,
        7,
        t0(),
    )
    .await
    .expect("checkout")
    .allotment_id;
    server.stop().await;
    drop(kit);
    let out = tmp.path().join("out");
    std::fs::create_dir_all(&out).expect("out");
    let mut requests: Vec<PathBuf> = (1..=GATEWAYS)
        .map(|n| request_file(tmp.path(), &format!("r{n}.json"), &[n], ORDER))
        .collect();

    let mut rng = Rng(0x5EED_F1E1_D0C5_2026);
    let (mut seen, mut unwritten) = (0, 0);
    for cycle in 0..CYCLES {
        // A random handful of gateways in a random order each cycle, so new
        // and re-issued gateways alternate at the crash points.
        for i in (1..requests.len()).rev() {
            requests.swap(i, rng.below(i as u64 + 1) as usize);
        }
        let batch = &requests[..1 + rng.below(4) as usize];
        let index = rng.below(batch.len() as u64);
        match rng.below(3) {
            0 | 1 => {
                let stage = if rng.below(2) == 0 {
                    "after_ledger"
                } else {
                    "after_file"
                };
                let status = issuer(
                    &kit_dir,
                    &id,
                    &out,
                    &requests,
                    Some(format!("{stage}:{index}")),
                )
                .status()
                .expect("run issuer");
                assert!(!status.success(), "cycle {cycle}: the issuer must abort");
            }
            _ => {
                let mut child = issuer(&kit_dir, &id, &out, batch, None)
                    .spawn()
                    .expect("spawn issuer");
                let stdout = child.stdout.take().expect("stdout");
                let marker = format!("issued {index}");
                let mut reached = false;
                for line in BufReader::new(stdout).lines() {
                    if line.expect("line") == marker {
                        reached = true;
                        break;
                    }
                }
                assert!(reached, "cycle {cycle}: no marker line");
                child.kill().expect("SIGKILL");
                child.wait().expect("wait");
            }
        }
        let (count, files) = check(&kit_dir, &id, &out);
        if files < count {
            unwritten += 1; // a crash between the ledger commit and the file
        }
        assert!(count >= seen, "cycle {cycle}: the ledger shrank");
        seen = count;
    }
    assert!(unwritten > 0, "no cycle crashed between ledger and file");
    let status = issuer(&kit_dir, &id, &out, &requests, None)
        .status()
        .expect("final run");
    assert!(status.success());
    let n = GATEWAYS as usize;
    assert_eq!(check(&kit_dir, &id, &out), (n, n));
    let kit = Kit::open(&kit_dir).expect("kit");
    let slots: HashSet<u32> = kit
        .ledger(&id)
        .expect("ledger")
        .iter()
        .map(|e| e.record.slot)
        .collect();
    assert_eq!(slots, (1..=GATEWAYS).collect::<HashSet<_>>());
    for n in 1..=GATEWAYS {
        assert!(
            out.join(format!("license-{}.lic", fingerprint(n))).exists(),
            "gateway {n}"
        );
    }
}
