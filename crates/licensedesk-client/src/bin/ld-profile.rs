//! `ld-profile DATA_DIR SERVER_URL` (API token on stdin): adds a profile to
//! a data directory the way the app does — the token goes to the OS keyring
//! when one answers, else to a 0600 file — then runs its first sync with the
//! token read back from that store. Prints `{store, profile_id, report}`
//! (never the token). Used by the token-store tests; handy for checking
//! which store a machine gets.

use std::io::Read;

use licensedesk_client::{ApiToken, CancelToken, Client, NewProfile};

fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().collect();
    let [_, dir, url] = args.as_slice() else {
        anyhow::bail!("usage: ld-profile DATA_DIR SERVER_URL  (API token on stdin)");
    };
    let mut token = String::new();
    std::io::stdin().read_to_string(&mut token)?;
    let client = Client::open(std::path::Path::new(dir))?;
    let profile = client.add_profile(
        NewProfile {
            name: "ld-profile".into(),
            server_url: url.clone(),
            account_label: "ld-profile".into(),
        },
        &ApiToken::new(token.trim()),
    )?;
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    let report = rt.block_on(async {
        let s = client.session(&profile.id)?;
        s.sync(&|_| {}, &CancelToken::new()).await
    })?;
    println!(
        "{}",
        serde_json::json!({
            "store": client.token_store(),
            "profile_id": profile.id,
            "report": report,
        })
    );
    Ok(())
}
