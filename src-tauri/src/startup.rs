//! `LICENSEDESK_BENCH_STARTUP=1` (used by `cargo xtask bench startup`):
//! when the main page has finished loading (≈ first paint), print the RSS
//! of the app and its WebKit child processes and exit.

use std::fs;

/// VmRSS of `pid` in kB.
fn rss_kb(pid: u32) -> u64 {
    field_kb(&format!("/proc/{pid}/status"), "VmRSS:")
}

/// Proportional set size of `pid` in kB (shared pages split between the
/// processes that map them, so the sum over processes is not inflated).
fn pss_kb(pid: u32) -> u64 {
    field_kb(&format!("/proc/{pid}/smaps_rollup"), "Pss:")
}

fn field_kb(path: &str, field: &str) -> u64 {
    fs::read_to_string(path)
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with(field))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|n| n.parse().ok())
        })
        .unwrap_or(0)
}

/// Direct children of `pid` (WebKit's web and network processes).
fn children(pid: u32) -> Vec<u32> {
    let Ok(dir) = fs::read_dir("/proc") else {
        return Vec::new();
    };
    dir.filter_map(|e| e.ok()?.file_name().to_str()?.parse::<u32>().ok())
        .filter(|p| {
            fs::read_to_string(format!("/proc/{p}/stat"))
                .ok()
                .and_then(|s| {
                    let after = s.rsplit_once(')')?.1.to_owned();
                    after.split_whitespace().nth(1)?.parse::<u32>().ok()
                })
                == Some(pid)
        })
        .collect()
}

pub fn enabled() -> bool {
    std::env::var_os("LICENSEDESK_BENCH_STARTUP").is_some()
}

/// Prints `startup: rss_mb=… pss_mb=… main_rss_mb=… processes=…` and exits.
pub fn report_and_exit() -> ! {
    let me = std::process::id();
    let mut pids = vec![me];
    pids.extend(children(me));
    let total: u64 = pids.iter().map(|&p| rss_kb(p)).sum();
    let pss: u64 = pids.iter().map(|&p| pss_kb(p)).sum();
    println!(
        "startup: page loaded; rss_mb={:.0} pss_mb={:.0} main_rss_mb={:.0} processes={}",
        total as f64 / 1024.0,
        pss as f64 / 1024.0,
        rss_kb(me) as f64 / 1024.0,
        pids.len()
    );
    std::process::exit(0);
}
