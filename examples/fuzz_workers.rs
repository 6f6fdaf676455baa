//! Fuzzing the decoders through the worker boundary: mutations of the good
//! upload fixtures of one format (bit flips, byte changes, inserted and
//! deleted runs, truncations, duplicated chunks), each decoded by a worker
//! process as the server does it, for a given time. Counts the outcomes and
//! keeps every input that crashed a worker or ran out of time.
//!
//!   cargo build --release
//!   cargo run --release --example fuzz_workers -- csv|xlsx|parquet SECONDS OUT_DIR [SEED]
//!
//! Not coverage-guided (that is `fuzz/`, cargo-fuzz on the decoders in
//! process); this one exercises what only the boundary adds: kills,
//! crashes, memory and CPU limits, and the pool starting new workers.

use std::time::{Duration, Instant};

use vergleichsring_engine::worker::{Pool, WorkerConfig};
use vergleichsring_ingest::{Format, IngestError, Limits};

/// xorshift64*: enough randomness for mutations, with a seed to replay.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % (n.max(1) as u64)) as usize
    }
}

fn mutate(rng: &mut Rng, input: &[u8]) -> Vec<u8> {
    let mut out = input.to_vec();
    for _ in 0..=rng.below(4) {
        let len = out.len();
        match rng.below(6) {
            0 if len > 0 => {
                let i = rng.below(len);
                out[i] ^= 1 << rng.below(8);
            }
            1 if len > 0 => {
                let i = rng.below(len);
                out[i] = [0, 0xff, b'0', b'9', b';', b'"', b'\n', 0x7f][rng.below(8)];
            }
            2 => {
                let i = rng.below(len + 1);
                let run: Vec<u8> = (0..rng.below(64)).map(|_| rng.next() as u8).collect();
                out.splice(i..i, run);
            }
            3 if len > 0 => {
                let i = rng.below(len);
                let j = (i + rng.below(256)).min(len);
                out.drain(i..j);
            }
            4 if len > 0 => out.truncate(rng.below(len)),
            5 if len > 0 => {
                let i = rng.below(len);
                let j = (i + rng.below(4096)).min(len);
                let chunk = out[i..j].to_vec();
                let at = rng.below(out.len() + 1);
                out.splice(at..at, chunk);
            }
            _ => {}
        }
    }
    out
}

fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let usage = "usage: cargo run --release --example fuzz_workers -- csv|xlsx|parquet SECONDS OUT_DIR [SEED]";
    let (Some(kind), Some(seconds), Some(out)) = (args.first(), args.get(1), args.get(2)) else {
        anyhow::bail!(usage);
    };
    let (format, extension) = match kind.as_str() {
        "csv" => (Format::Csv, "csv"),
        "xlsx" => (Format::Xlsx, "xlsx"),
        "parquet" => (Format::Parquet, "parquet"),
        _ => anyhow::bail!(usage),
    };
    let seconds: u64 = seconds.parse()?;
    let seed: u64 = args.get(3).map_or(Ok(0x5eed_1234), |s| s.parse())?;
    let out = std::path::PathBuf::from(out);
    std::fs::create_dir_all(&out)?;
    let seeds: Vec<Vec<u8>> = std::fs::read_dir("fixtures/uploads/good")?
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == extension))
        .map(std::fs::read)
        .collect::<Result<_, _>>()?;
    anyhow::ensure!(
        !seeds.is_empty(),
        "no {extension} fixtures in fixtures/uploads/good"
    );
    let target = std::env::var("CARGO_TARGET_DIR").unwrap_or_else(|_| "target".into());
    let pool = Pool::new(WorkerConfig {
        program: std::path::PathBuf::from(target).join("release/vergleichsring"),
        size: 2,
        memory_mib: 2048,
        jobs_per_worker: 100,
        job_seconds: 10,
    });
    let limits = Limits::default();
    let time_limit = Duration::from_secs(10);
    let mut rng = Rng(seed | 1);
    let rt = tokio::runtime::Runtime::new()?;
    let (mut runs, mut decoded, mut refused, mut lost) = (0u64, 0u64, 0u64, 0u64);
    let mut slowest = Duration::ZERO;
    let started = Instant::now();
    while started.elapsed() < Duration::from_secs(seconds) {
        let pick = rng.below(seeds.len());
        let input = mutate(&mut rng, &seeds[pick]);
        let t = Instant::now();
        let outcome = rt.block_on(pool.decode(format, &input, &limits, time_limit));
        slowest = slowest.max(t.elapsed());
        runs += 1;
        match outcome {
            Ok(_) => decoded += 1,
            Err(IngestError::Rejected(errors))
                if errors
                    .iter()
                    .any(|e| e.rule == "too_slow" || e.message.contains("the decoder stopped")) =>
            {
                lost += 1;
                let name = out.join(format!("{kind}-{runs}.{extension}"));
                std::fs::write(&name, &input)?;
                println!("kept {} ({})", name.display(), errors[0].message);
            }
            Err(_) => refused += 1,
        }
    }
    println!(
        "{kind}: {runs} runs in {} s (seed {seed}): {decoded} decoded, {refused} refused, {lost} crashed or timed out; slowest {:.0} ms",
        seconds,
        slowest.as_secs_f64() * 1000.0
    );
    Ok(())
}
