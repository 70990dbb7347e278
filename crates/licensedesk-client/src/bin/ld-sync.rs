//! `ld-sync SERVER_URL TOKEN CACHE_FILE [PAGE_SIZE]`: one sync of a cache
//! (outbox, then the change feed), printing progress. Used by the crash
//! tests (killed with SIGKILL at random points) and handy for debugging.

use std::sync::Arc;

use licensedesk_client::{ApiToken, Cache, CancelToken, Session, SystemClock};

fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().collect();
    let [_, url, token, cache, rest @ ..] = args.as_slice() else {
        anyhow::bail!("usage: ld-sync SERVER_URL TOKEN CACHE_FILE [PAGE_SIZE]");
    };
    let page: u32 = rest.first().map(|p| p.parse()).transpose()?.unwrap_or(1000);
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    rt.block_on(async {
        let cache = Cache::open(std::path::Path::new(cache))?;
        let s = Session::new(
            cache,
            url,
            ApiToken::new(token.as_str()),
            Arc::new(SystemClock),
        )?;
        let engine = s.engine().with_page_size(page);
        let report = s
            .sync_with(engine, &|p| eprintln!("{p:?}"), &CancelToken::new())
            .await?;
        let hwm = std::fs::read_to_string("/proc/self/status")
            .ok()
            .and_then(|s| {
                s.lines().find(|l| l.starts_with("VmHWM:")).and_then(|l| {
                    l.split_whitespace()
                        .nth(1)
                        .and_then(|n| n.parse::<u64>().ok())
                })
            });
        println!(
            "{}",
            serde_json::json!({"report": report, "vm_hwm_kb": hwm})
        );
        Ok(())
    })
}
