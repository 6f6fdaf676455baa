//! What the worker boundary adds to an upload and to an analyst's query:
//! the same requests through an engine without workers (decoding and SQL in
//! this process) and through one with workers (the release binary), p50
//! and p99 of each.
//!
//!   cargo build --release
//!   cargo run --release --example worker_overhead -- DATA_DIR [N]
//!
//! DATA_DIR is a scratch copy of a data directory from `generate
//! --data-dir` (the uploads are stored in it).

use std::sync::Arc;
use std::time::{Duration, Instant};

use vergleichsring_engine::disclosure::Policy;
use vergleichsring_engine::export::TableFormat;
use vergleichsring_engine::worker::WorkerConfig;
use vergleichsring_engine::{Engine, SubmitRequest};
use vergleichsring_store::Store;

fn percentiles(mut d: Vec<Duration>) -> (f64, f64) {
    d.sort();
    let at = |q: f64| d[((d.len() - 1) as f64 * q).round() as usize].as_secs_f64() * 1000.0;
    (at(0.5), at(0.99))
}

async fn upload(engine: &Engine, csv: &str) -> anyhow::Result<Duration> {
    let t = Instant::now();
    engine
        .submit(SubmitRequest {
            domain: "library".into(),
            year: 2024,
            content_type: "text/csv".into(),
            body: csv.to_string().into(),
            token_id: "bench".into(),
            own_member: None,
        })
        .await?;
    Ok(t.elapsed())
}

async fn query(engine: &Engine) -> anyhow::Result<Duration> {
    let t = Instant::now();
    engine
        .query(
            "SELECT figure, count(*) FROM comparisons WHERE year = 2024 GROUP BY figure",
            TableFormat::Json,
        )
        .await?;
    Ok(t.elapsed())
}

/// Both engines in turn, so that both see the same growing table.
async fn measure(
    engines: [&Engine; 2],
    member: &str,
    n: usize,
) -> anyhow::Result<[[(f64, f64); 2]; 2]> {
    let csv = format!(
        "member_id,population,service_points,opening_hours,visits,stock,loans,staff_fte,expenditure_total\n{member},60000,2,2500,150000,120000,300000,20,2000000\n"
    );
    let mut times = [[Vec::new(), Vec::new()], [Vec::new(), Vec::new()]];
    for _ in 0..n {
        for (i, engine) in engines.iter().enumerate() {
            times[i][0].push(upload(engine, &csv).await?);
            times[i][1].push(query(engine).await?);
        }
    }
    let [[a, b], [c, d]] = times;
    Ok([
        [percentiles(a), percentiles(b)],
        [percentiles(c), percentiles(d)],
    ])
}

fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let dir = std::path::PathBuf::from(args.first().ok_or_else(|| {
        anyhow::anyhow!("usage: cargo run --release --example worker_overhead -- DATA_DIR [N]")
    })?);
    let n: usize = args.get(1).map_or(Ok(100), |s| s.parse())?;
    let target = std::env::var("CARGO_TARGET_DIR").unwrap_or_else(|_| "target".into());
    let program = std::path::PathBuf::from(target).join("release/vergleichsring");
    let rt = tokio::runtime::Runtime::new()?;
    rt.block_on(async {
        let store = Arc::new(Store::open(&dir).await?);
        let member = store
            .members_map()
            .keys()
            .next()
            .cloned()
            .ok_or_else(|| anyhow::anyhow!("no members in {}", dir.display()))?;
        // Without automatic publications, so that both runs do the same work.
        let policy = Policy {
            auto_publish: false,
            ..Policy::default()
        };
        let here = Engine::new(store.clone(), policy).await?;
        let there = Engine::new(store.clone(), policy).await?.with_workers(WorkerConfig {
            program,
            size: 2,
            memory_mib: 2048,
            jobs_per_worker: 100_000,
            job_seconds: 60,
        });
        // Warm both (snapshots, the published table, a started worker).
        measure([&here, &there], &member, 3).await?;
        let [a, b] = measure([&here, &there], &member, n).await?;
        // The boundary alone: the same file decoded by a worker, again and again.
        let pool = there.workers().ok_or_else(|| anyhow::anyhow!("no workers"))?;
        let body = b"member_id,population\n05315000,60000\n".to_vec();
        let mut decodes = Vec::new();
        for _ in 0..n {
            let t = Instant::now();
            pool.decode(
                vergleichsring_ingest::Format::Csv,
                &body,
                &vergleichsring_ingest::Limits::default(),
                Duration::from_secs(60),
            )
            .await
            .map_err(|e| anyhow::anyhow!("{e}"))?;
            decodes.push(t.elapsed());
        }
        let d = percentiles(decodes);
        println!("{n} requests each, p50 / p99 in ms");
        println!("a worker's round trip (decode a two-line CSV): {:.2} / {:.2}", d.0, d.1);
        println!(
            "upload (one-row CSV): in process {:.2} / {:.2}; worker {:.2} / {:.2}; added at p50 {:.2}",
            a[0].0, a[0].1, b[0].0, b[0].1, b[0].0 - a[0].0
        );
        println!(
            "query (GROUP BY over comparisons): in process {:.2} / {:.2}; worker {:.2} / {:.2}; added at p50 {:.2}",
            a[1].0, a[1].1, b[1].0, b[1].1, b[1].0 - a[1].0
        );
        anyhow::Ok(())
    })
}
