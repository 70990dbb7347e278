//! `ld-sync SERVER_URL TOKEN CACHE_FILE [PAGE_SIZE [SNAPSHOT_PAGE_SIZE]]`:
//! one sync of a cache (outbox, then a fresh cache's snapshot, then the
//! change feed), printing progress (one line per page: seconds since the
//! start, resident memory, the progress) to stderr and the report and the
//! peak memory to stdout. Used by the crash tests (killed with SIGKILL at random
//! points) and the sync benchmark, and handy for debugging.

use std::sync::Arc;

use licensedesk_client::{ApiToken, Cache, CancelToken, Session, SystemClock};

fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().collect();
    let [_, url, token, cache, rest @ ..] = args.as_slice() else {
        anyhow::bail!(
            "usage: ld-sync SERVER_URL TOKEN CACHE_FILE [PAGE_SIZE [SNAPSHOT_PAGE_SIZE]]"
        );
    };
    let page: u32 = rest.first().map(|p| p.parse()).transpose()?.unwrap_or(1000);
    let snapshot_page: Option<u32> = rest.get(1).map(|p| p.parse()).transpose()?;
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    let started = std::time::Instant::now();
    rt.block_on(async {
        let cache = Cache::open(std::path::Path::new(cache))?;
        let s = Session::new(
            cache,
            url,
            ApiToken::new(token.as_str()),
            Arc::new(SystemClock),
        )?;
        let mut engine = s.engine().with_page_size(page);
        if let Some(n) = snapshot_page {
            engine = engine.with_snapshot_page_size(n);
        }
        let report = s
            .sync_with(
                engine,
                &|p| {
                    let rss = status_kib("VmRSS:").unwrap_or(0);
                    eprintln!("{:.3}s rss={rss}KiB {p:?}", started.elapsed().as_secs_f64());
                },
                &CancelToken::new(),
            )
            .await?;
        let hwm = status_kib("VmHWM:");
        println!(
            "{}",
            serde_json::json!({"report": report, "vm_hwm_kb": hwm})
        );
        Ok(())
    })
}

/// A memory figure of this process (`/proc/self/status`), in KiB.
fn status_kib(key: &str) -> Option<u64> {
    std::fs::read_to_string("/proc/self/status")
        .ok()?
        .lines()
        .find_map(|l| l.strip_prefix(key))?
        .split_whitespace()
        .next()?
        .parse()
        .ok()
}
