//! `backup`, `restore` and the data dir's lock, through the real binary.

use std::collections::BTreeMap;
use std::ffi::OsStr;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use licensedesk_server::config::Settings;
use reqwest::StatusCode;
use serde_json::json;

use crate::support::{ServerProc, TestServer, at, get_json, package, post_json, server_bin};

struct Out {
    ok: bool,
    stdout: String,
    stderr: String,
}

fn run(args: &[&OsStr]) -> Out {
    let o = server_bin()
        .args(args)
        .env("RUST_LOG", "warn")
        .env("RUST_BACKTRACE", "0")
        .output()
        .expect("run licensedesk-server");
    Out {
        ok: o.status.success(),
        stdout: String::from_utf8_lossy(&o.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&o.stderr).into_owned(),
    }
}

fn backup(data_dir: &Path, to: &Path) -> Out {
    run(&[
        "backup".as_ref(),
        "--data-dir".as_ref(),
        data_dir.as_os_str(),
        "--to".as_ref(),
        to.as_os_str(),
    ])
}

fn restore(data_dir: &Path, from: &Path) -> Out {
    run(&[
        "restore".as_ref(),
        "--data-dir".as_ref(),
        data_dir.as_os_str(),
        "--from".as_ref(),
        from.as_os_str(),
    ])
}

/// The value printed after `label` on a line of `out`.
fn printed<'a>(out: &'a str, label: &str) -> &'a str {
    out.lines()
        .find_map(|l| l.strip_prefix(label))
        .and_then(|rest| rest.split_whitespace().next())
        .unwrap_or_else(|| panic!("no {label:?} in {out}"))
}

fn db(path: &Path) -> rusqlite::Connection {
    rusqlite::Connection::open_with_flags(path, rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY)
        .expect("open")
}

fn count(path: &Path, table: &str) -> i64 {
    db(path)
        .query_row(&format!("SELECT COUNT(*) FROM {table}"), [], |r| r.get(0))
        .expect("count")
}

fn instance_of(path: &Path) -> String {
    db(path)
        .query_row("SELECT value FROM meta WHERE key = 'instance'", [], |r| {
            r.get(0)
        })
        .expect("instance")
}

/// Every file under `dir` with its bytes.
fn files(dir: &Path) -> BTreeMap<PathBuf, Vec<u8>> {
    let mut all = BTreeMap::new();
    for e in std::fs::read_dir(dir).expect("read dir") {
        let path = e.expect("entry").path();
        if path.is_dir() {
            all.extend(files(&path));
        } else {
            let bytes = std::fs::read(&path).expect("read");
            all.insert(path, bytes);
        }
    }
    all
}

fn kept_backups(dir: &Path) -> Vec<PathBuf> {
    files(dir)
        .into_keys()
        .filter(|p| p.extension().is_some_and(|e| e == "bak"))
        .collect()
}

/// The feed's cursor once `token`'s whole feed is read.
async fn feed_end(s: &TestServer, token: &str) -> String {
    let mut cursor = String::new();
    loop {
        let page = s
            .get_ok(&format!("/v1/changes?limit=1000&since={cursor}"), token)
            .await;
        cursor = page["next"].as_str().expect("next").to_owned();
        if page["has_more"] != true {
            return cursor;
        }
    }
}

/// A backup taken while activations are being written is one consistent
/// state; restored into a fresh data dir it serves the same accounts and
/// devices under a new instance id, which refuses the old cursors.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_backup_of_a_running_server_restores_under_a_new_instance() {
    let a = TestServer::start().await;
    let (x, tx) = a.account("enterprise", "cn-east").await;
    let (y, ty) = a.account("individual", "eu-central").await;
    a.product(x, "pbak", package(1, 0, 0), "block", 300).await;
    a.product(y, "qbak", package(2, 0, 0), "block", 20).await;
    let mut seeded = Vec::new();
    for (token, pk, n) in [(&tx, "pbak", 10), (&ty, "qbak", 5)] {
        for i in 0..n {
            let (s, v) = a.connect(token, pk, &format!("d{i}")).await;
            assert_eq!(s, StatusCode::OK, "{v}");
            seeded.push((token.clone(), format!("/v1/devices/{pk}/d{i}")));
        }
    }
    let cursor = feed_end(&a, &tx).await;

    // Activations keep coming while the backup runs.
    let stop = Arc::new(AtomicBool::new(false));
    let (acked, mut acks) = tokio::sync::mpsc::unbounded_channel();
    let writer = {
        let (client, base, token, stop) =
            (a.http.clone(), a.base.clone(), tx.clone(), stop.clone());
        tokio::spawn(async move {
            let mut i = 0;
            while !stop.load(Ordering::Relaxed) && i < 250 {
                post_json(
                    &client,
                    format!("{base}/v1/devices/connect"),
                    &token,
                    json!({"pk": "pbak", "dk": format!("late-{i}")}),
                )
                .await;
                let _ = acked.send(());
                i += 1;
            }
        })
    };
    for _ in 0..3 {
        acks.recv().await.expect("the load runs");
    }
    let saved = tempfile::tempdir().expect("tempdir");
    let file = saved.path().join("licensedesk-backup.sqlite3");
    let (data_dir, to) = (a.dir.path().to_owned(), file.clone());
    let out = tokio::task::spawn_blocking(move || backup(&data_dir, &to))
        .await
        .expect("backup");
    stop.store(true, Ordering::Relaxed);
    writer.await.expect("writer");
    assert!(out.ok, "{}", out.stderr);
    let size = std::fs::metadata(&file).expect("backup file").len();
    assert!(
        out.stdout
            .contains(&format!("wrote {} ({size} bytes", file.display())),
        "{}",
        out.stdout
    );
    assert!(out.stdout.contains("keys"), "{}", out.stdout);
    assert_eq!(instance_of(&file), a.state.instance);
    let (consumed, active): (i64, i64) = db(&file)
        .query_row(
            "SELECT (SELECT COUNT(*) FROM codes WHERE consumed_at IS NOT NULL),
                    (SELECT COUNT(*) FROM devices WHERE status = 'active')",
            [],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .expect("counts");
    assert_eq!(consumed, active, "the backup is not one consistent state");

    let fresh = tempfile::tempdir().expect("tempdir");
    let out = restore(fresh.path(), &file);
    assert!(out.ok, "{}", out.stderr);
    let new_instance = printed(&out.stdout, "new instance id: ").to_owned();
    assert_eq!(
        printed(&out.stdout, "backup's instance id: "),
        a.state.instance
    );
    assert_ne!(new_instance, a.state.instance);
    let restored = fresh.path().join(licensedesk_server::db::FILE_NAME);
    assert_eq!(instance_of(&restored), new_instance);
    for table in ["accounts", "products", "codes", "devices", "changes"] {
        assert_eq!(count(&restored, table), count(&file, table), "{table}");
    }
    assert!(count(&restored, "devices") >= 15);

    let b = TestServer::start_in(fresh, Settings::default(), at("2026-03-31T10:00:00Z")).await;
    assert_eq!(b.state.instance, new_instance);
    for (token, path) in &seeded {
        assert_eq!(
            b.get_ok(path, token).await,
            a.get_ok(path, token).await,
            "{path}"
        );
    }
    assert_eq!(
        b.get_ok("/v1/products/qbak", &ty).await,
        a.get_ok("/v1/products/qbak", &ty).await
    );
    let (before, after) = (
        b.get_ok("/v1/products/pbak", &tx).await,
        a.get_ok("/v1/products/pbak", &tx).await,
    );
    let used = before["used"].as_i64().expect("used");
    assert_eq!(used + before["remaining"].as_i64().expect("remaining"), 300);
    assert!((10..=after["used"].as_i64().expect("used")).contains(&used));

    // The cursor read before the backup is still the original's, and the
    // restored server refuses it: its client starts over.
    a.get_ok(&format!("/v1/changes?since={cursor}"), &tx).await;
    let (s, v) = b.get(&format!("/v1/changes?since={cursor}"), &tx).await;
    assert_eq!(
        (s, v["code"].as_str()),
        (StatusCode::BAD_REQUEST, Some("CURSOR_INVALID")),
        "{v}"
    );
}

/// A text file, an empty file, another SQLite database, a damaged backup,
/// one from a newer server, a missing file: each is refused with its
/// reason, and the data dir (database, WAL, keys, lock file) is left byte
/// for byte as it was.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn restore_refuses_what_is_not_a_sound_licensedesk_database() {
    let dir = tempfile::tempdir().expect("tempdir");
    let client = reqwest::Client::new();
    let mut p = ServerProc::healthy(dir.path(), &client).await;
    p.account(&client, "kept").await;
    p.kill(); // its -wal and -shm stay

    let saved = tempfile::tempdir().expect("tempdir");
    let good = saved.path().join("good.sqlite3");
    let out = backup(dir.path(), &good);
    assert!(out.ok, "{}", out.stderr);
    let write = |name: &str, bytes: &[u8]| {
        let path = saved.path().join(name);
        std::fs::write(&path, bytes).expect("write");
        path
    };
    let text = write("notes.txt", b"this is not a database\n");
    let empty = write("empty.sqlite3", b"");
    let foreign = saved.path().join("foreign.sqlite3");
    rusqlite::Connection::open(&foreign)
        .expect("open")
        .execute_batch(
            "CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
             INSERT INTO meta VALUES ('instance', 'feedfeedfeedfeed');
             PRAGMA user_version = 8;",
        )
        .expect("foreign db");
    let mut bytes = std::fs::read(&good).expect("read");
    assert!(bytes.len() > 6 * 4096);
    bytes[2 * 4096..5 * 4096].fill(0x5a);
    let damaged = write("damaged.sqlite3", &bytes);
    let newer = write("newer.sqlite3", &std::fs::read(&good).expect("read"));
    rusqlite::Connection::open(&newer)
        .expect("open")
        .pragma_update(None, "user_version", 99)
        .expect("version");
    let missing = saved.path().join("missing.sqlite3");

    let before = files(dir.path());
    assert!(
        before.contains_key(
            &dir.path()
                .join(format!("{}-wal", licensedesk_server::db::FILE_NAME))
        )
    );
    for (file, reason) in [
        (&text, "is not a LicenseDesk database"),
        (&empty, "is not a LicenseDesk database"),
        (&foreign, "is not a LicenseDesk database"),
        (&damaged, "is damaged"),
        (&newer, "newer than this server"),
        (&missing, "does not exist"),
    ] {
        let out = restore(dir.path(), file);
        assert!(!out.ok, "{} was restored", file.display());
        assert!(
            out.stderr.contains(reason),
            "{}: {}",
            file.display(),
            out.stderr
        );
        assert!(out.stderr.contains("nothing in"), "{}", out.stderr);
        assert_eq!(
            files(dir.path()),
            before,
            "{} changed the data dir",
            file.display()
        );
    }
    let absent = saved.path().join("no-such-dir");
    assert!(!restore(&absent, &text).ok);
    assert!(!absent.exists(), "a refused restore created the data dir");

    // The same data dir takes the sound backup.
    assert!(restore(dir.path(), &good).ok);
    assert_eq!(kept_backups(dir.path()).len(), 1);
}

/// While a server runs on a data dir, a second one stops at once naming
/// the lock file, and a restore is refused; once it is gone (killed), the
/// restore goes through, keeping the replaced database with every write
/// it had (its WAL checkpointed into it), and the restarted server
/// refuses the cursors of before.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_server_per_data_dir_and_no_restore_under_it() {
    let dir = tempfile::tempdir().expect("tempdir");
    let client = reqwest::Client::new();
    let mut p = ServerProc::healthy(dir.path(), &client).await;
    let account = |name: &'static str| p.account(&client, name);
    let token = account("first").await["token"]
        .as_str()
        .expect("token")
        .to_owned();
    let cursor = get_json(&client, format!("{}/v1/changes", p.base), &token).await["next"]
        .as_str()
        .expect("next")
        .to_owned();
    let saved = tempfile::tempdir().expect("tempdir");
    let file = saved.path().join("before.sqlite3");
    let out = backup(dir.path(), &file);
    assert!(out.ok, "{}", out.stderr);

    let mut second = ServerProc::command(dir.path())
        .env("RUST_BACKTRACE", "0")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn");
    let mut line = String::new();
    BufReader::new(second.stdout.take().expect("stdout"))
        .read_line(&mut line)
        .expect("read");
    if !line.is_empty() {
        let _ = second.kill();
        let _ = second.wait();
        panic!("a second server started on the same data dir: {line}");
    }
    let out = second.wait_with_output().expect("wait");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(
        stderr.contains("another licensedesk-server is running"),
        "{stderr}"
    );
    let lock = dir.path().join("server.lock");
    assert!(stderr.contains(&lock.display().to_string()), "{stderr}");

    let out = restore(dir.path(), &file);
    assert!(!out.ok, "restored under a running server");
    assert!(
        out.stderr.contains("stop it before restoring"),
        "{}",
        out.stderr
    );
    assert!(kept_backups(dir.path()).is_empty());

    account("after the backup").await;
    p.kill();
    let live = dir.path().join(licensedesk_server::db::FILE_NAME);
    assert!(PathBuf::from(format!("{}-wal", live.display())).exists());
    let out = restore(dir.path(), &file);
    assert!(out.ok, "{}", out.stderr);
    let kept = kept_backups(dir.path());
    assert_eq!(kept.len(), 1, "{kept:?}");
    // Its WAL was checkpointed into it (none beside it; read before the
    // checks below open it, which makes SQLite create them).
    for side in ["-wal", "-shm"] {
        for path in [&kept[0], &live] {
            let sidecar = PathBuf::from(format!("{}{side}", path.display()));
            assert!(!sidecar.exists(), "{}", sidecar.display());
        }
    }
    let old_instance = cursor.rsplit_once('@').expect("instance").1;
    assert_eq!(printed(&out.stdout, "old instance id: "), old_instance);
    assert_eq!(instance_of(&kept[0]), old_instance);
    assert_eq!(
        count(&kept[0], "accounts"),
        2,
        "the replaced database lost a write"
    );
    assert_eq!(count(&live, "accounts"), 1);
    let new_instance = printed(&out.stdout, "new instance id: ");
    assert_eq!(instance_of(&live), new_instance);

    let p2 = ServerProc::healthy(dir.path(), &client).await;
    let r = client
        .get(format!("{}/v1/changes?since={cursor}", p2.base))
        .bearer_auth(&token)
        .send()
        .await
        .expect("send");
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    let v: serde_json::Value = r.json().await.expect("json");
    assert_eq!(v["code"], "CURSOR_INVALID", "{v}");
    let next = get_json(&client, format!("{}/v1/changes", p2.base), &token).await["next"]
        .as_str()
        .expect("next")
        .to_owned();
    assert!(next.ends_with(&format!("@{new_instance}")), "{next}");
}

/// An existing target is never overwritten (nor a temporary file left
/// beside it); a directory without a database is no backup source.
#[tokio::test]
async fn backup_never_overwrites_a_file() {
    let s = TestServer::start().await;
    s.account("enterprise", "cn-east").await;
    let saved = tempfile::tempdir().expect("tempdir");
    let target = saved.path().join("exists.sqlite3");
    std::fs::write(&target, b"keep me").expect("write");
    let out = backup(s.dir.path(), &target);
    assert!(!out.ok, "overwrote {}", target.display());
    assert!(out.stderr.contains("already exists"), "{}", out.stderr);
    assert_eq!(std::fs::read(&target).expect("read"), b"keep me");
    assert_eq!(files(saved.path()).len(), 1);

    let empty = tempfile::tempdir().expect("tempdir");
    let out = backup(empty.path(), &saved.path().join("new.sqlite3"));
    assert!(!out.ok);
    assert!(out.stderr.contains("no database"), "{}", out.stderr);
    assert_eq!(files(saved.path()).len(), 1);

    let fine = saved.path().join("new.sqlite3");
    assert!(backup(s.dir.path(), &fine).ok);
    assert_eq!(count(&fine, "accounts"), 1);
}
