//! What a flood of sign-ins costs the next start (issue 26): signs in and
//! out N times with one token through the store (two state-log changes
//! each), then opens the data directory again in a fresh process and
//! prints how long opening the state took, what it read (the checkpoint and
//! the changes after it) and the process's resident memory.
//!
//!   cargo run --release --example state_flood -- DIR flood N
//!   cargo run --release --example state_flood -- DIR open
//!
//! DIR is created if missing. With `VERGLEICHSRING_LAKE_URL` (and the
//! `AWS_*` variables object_store reads) the lake is on S3.

use std::path::Path;
use std::time::Instant;

use vergleichsring_store::{LakeLocation, NewToken, Role, Store};

fn lake() -> anyhow::Result<LakeLocation> {
    let url = match std::env::var("VERGLEICHSRING_LAKE_URL") {
        Ok(u) => Some(url::Url::parse(&u)?),
        Err(_) => None,
    };
    Ok(LakeLocation {
        url,
        ..LakeLocation::default()
    })
}

fn resident_mib() -> f64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmRSS:"))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|kb| kb.parse::<f64>().ok())
        })
        .map_or(0.0, |kb| kb / 1024.0)
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().collect();
    let (Some(dir), Some(what)) = (args.get(1), args.get(2)) else {
        anyhow::bail!("usage: state_flood DIR flood N | DIR open");
    };
    let dir = Path::new(dir);
    if !dir.join("catalog").exists() {
        Store::init(dir)?;
    }
    match what.as_str() {
        "flood" => {
            let n: usize = args.get(3).map_or(Ok(1000), |s| s.parse())?;
            let store = Store::open_with_lake(dir, lake()?).await?;
            let (_, record) = store
                .issue_token(
                    "state_flood",
                    NewToken {
                        role: Role::Analyst,
                        member_id: None,
                        consultant_id: None,
                        grants: Vec::new(),
                        label: None,
                        expires_at: None,
                    },
                )
                .await?;
            let started = Instant::now();
            for _ in 0..n {
                let id = store.start_session(&record.token_id).await?;
                store.end_session(&id).await?;
            }
            let took = started.elapsed().as_secs_f64();
            println!(
                "{n} sign-ins and sign-outs in {took:.1} s ({:.2} ms per sign-in and sign-out)",
                took * 1000.0 / n as f64
            );
        }
        "open" => {
            let before = resident_mib();
            let started = Instant::now();
            let store = Store::open_with_lake(dir, lake()?).await?;
            let took = started.elapsed().as_secs_f64() * 1000.0;
            let loaded = store.state_loaded();
            println!(
                "opened in {took:.0} ms: checkpoint {:?}, {} changes after it, {} live sessions; resident {:.0} MiB (before opening {before:.0} MiB)",
                loaded.checkpoint,
                loaded.changes,
                store.live_sessions(),
                resident_mib()
            );
        }
        other => anyhow::bail!("unknown step {other}: flood or open"),
    }
    Ok(())
}
