//! The data dir's lock, through the real binary.

use std::io::{BufRead, BufReader};
use std::process::Stdio;

use crate::support::{ADMIN, ServerProc, server_bin, wait_healthy};

/// While a server runs on a data dir, a second one stops at once naming
/// the lock file; once the first is gone (killed), a server starts there.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_server_per_data_dir() {
    let dir = tempfile::tempdir().expect("tempdir");
    let client = reqwest::Client::new();
    let mut p = ServerProc::start(dir.path());
    wait_healthy(&client, &p.base).await;

    let mut second = server_bin()
        .args([
            "--listen",
            "127.0.0.1:0",
            "--admin-token",
            ADMIN,
            "--data-dir",
        ])
        .arg(dir.path())
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

    p.kill();
    let p2 = ServerProc::start(dir.path());
    wait_healthy(&client, &p2.base).await;
}
