//! `licensedesk-server`: see `licensedesk_server::config::Cli` for the options.

use std::io::Write as _;
use std::sync::Arc;

use anyhow::Context;
use clap::Parser;
use licensedesk_server::clock::SystemClock;
use licensedesk_server::config::{Cli, Command, ServeArgs, Settings};
use licensedesk_server::{AppState, backup, build_app, demo, keystore, maintenance, serve};
use tokio::net::TcpListener;

fn main() -> anyhow::Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into()),
        )
        .with_writer(std::io::stderr)
        .init();
    let cli = Cli::parse();
    match cli.command {
        Some(Command::RotateKey { data_dir }) => {
            let kid = keystore::rotate(&data_dir.join("keys"), chrono::Utc::now())?;
            println!("new current signing key: {kid}");
            println!("restart the server to sign with it; older keys stay published");
            Ok(())
        }
        Some(Command::Backup { data_dir, to }) => {
            let b = backup::backup(&data_dir, &to)?;
            println!(
                "wrote {} ({} bytes; schema version {}, instance {})",
                b.path.display(),
                b.bytes,
                b.info.version,
                b.info.instance.as_deref().unwrap_or("none")
            );
            println!(
                "the signing keys are not in it: copy {} separately (private keys, keep them 0600)",
                data_dir.join("keys").display()
            );
            Ok(())
        }
        Some(Command::Restore { data_dir, from }) => {
            let r = backup::restore(&data_dir, &from, chrono::Utc::now())?;
            println!(
                "restored {} to {} (schema version {})",
                from.display(),
                r.database.display(),
                r.version
            );
            match &r.previous {
                Some((kept, instance)) => println!(
                    "old instance id: {} (the replaced database, kept as {})",
                    instance.as_deref().unwrap_or("unknown"),
                    kept.display()
                ),
                None => println!("old instance id: none (there was no database)"),
            }
            println!(
                "backup's instance id: {}",
                r.from.instance.as_deref().unwrap_or("none")
            );
            println!("new instance id: {}", r.instance);
            println!("clients' sync cursors are now refused: they sync again from the start");
            Ok(())
        }
        Some(Command::Serve(args)) => run(args),
        None => run(cli.serve),
    }
}

fn run(args: ServeArgs) -> anyhow::Result<()> {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    rt.block_on(async move {
        backup::create_data_dir(&args.data_dir)?;
        // Held until the server stops (or the process dies).
        let _lock = backup::lock_data_dir(&args.data_dir, "starting another one")?;
        let admin_token = match (&args.admin_token, args.demo) {
            (Some(t), _) => t.clone(),
            (None, true) => demo::DEMO_ADMIN_TOKEN.to_owned(),
            (None, false) => keystore::admin_token(&args.data_dir)?,
        };
        let state = AppState::open(
            &args.data_dir,
            Arc::new(SystemClock),
            Settings::from(&args),
            &admin_token,
        )?;
        let summary = if args.demo {
            let summary = demo::seed(&state)?;
            demo::write_tokens(&args.data_dir, &summary, &admin_token)?;
            Some(summary)
        } else {
            None
        };
        let listener = TcpListener::bind(args.listen)
            .await
            .with_context(|| format!("binding {}", args.listen))?;
        let addr = listener.local_addr()?;
        // Machine-readable first line: tests and scripts read the port here
        // (and may close the pipe then: stdout's errors never stop the server).
        let _ = writeln!(std::io::stdout(), "listening on http://{addr}");
        match &summary {
            Some(s) => demo::print(s, &admin_token, &args.data_dir, addr),
            None if args.admin_token.is_none() => {
                let _ = writeln!(
                    std::io::stdout(),
                    "admin token: in {}",
                    args.data_dir.join(keystore::ADMIN_TOKEN_FILE).display()
                );
            }
            None => {}
        }
        maintenance::spawn(state.clone());
        serve(listener, build_app(state), shutdown_signal()).await?;
        Ok(())
    })
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        if let Ok(mut s) = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
        {
            s.recv().await;
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = term => {},
    }
}
