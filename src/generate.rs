//! `generate` and `offline-compare`: synthetic rings for demos and
//! benchmarks, and the comparison computation from Parquet files.

use std::path::Path;

use anyhow::{Context, bail};
use vergleichsring_store::Store;

use crate::{demo, runtime};

/// `generate`: a synthetic ring written as Parquet files and/or imported
/// into a data directory, with a progress bar and a summary.
pub(crate) fn generate(
    members: usize,
    years: &str,
    seed: u64,
    out: Option<&std::path::Path>,
    data_dir: Option<&std::path::Path>,
) -> anyhow::Result<()> {
    let range = parse_years(years)?;
    let started = std::time::Instant::now();
    let spinner = indicatif::ProgressBar::new_spinner();
    spinner.set_message(format!(
        "generating {members} members, {}–{}",
        range.start(),
        range.end()
    ));
    spinner.enable_steady_tick(std::time::Duration::from_millis(120));
    let g = vergleichsring_synth::generate(members, range.clone(), seed)?;
    spinner.finish_and_clear();
    let generated_in = started.elapsed();
    let rows: usize = g.figures.iter().map(|f| f.batch.num_rows()).sum();
    let domains = g
        .figures
        .iter()
        .map(|f| f.domain.as_str())
        .collect::<std::collections::BTreeSet<_>>()
        .len();
    println!(
        "generated {} members and {rows} rows of figures ({domains} domains × {} years) in {:.1} s",
        g.members.len(),
        range.end() - range.start() + 1,
        generated_in.as_secs_f64()
    );
    if let Some(out) = out {
        let t = std::time::Instant::now();
        let written = vergleichsring_synth::write_parquet_dir(&g, out)?;
        println!(
            "wrote {} files to {} in {:.1} s",
            written.len(),
            out.display(),
            t.elapsed().as_secs_f64()
        );
    }
    if let Some(dir) = data_dir {
        runtime()?.block_on(async {
            Store::init(dir)?;
            let store = std::sync::Arc::new(Store::open(dir).await?);
            let bar = indicatif::ProgressBar::new(g.figures.len() as u64);
            if let Ok(style) = indicatif::ProgressStyle::with_template(
                "importing {bar:30} {pos}/{len} submissions ({msg}) {elapsed}",
            ) {
                bar.set_style(style);
            }
            let t = std::time::Instant::now();
            let summary = demo::import_ring(store, &g, Some(&bar)).await?;
            bar.finish_and_clear();
            let secs = t.elapsed().as_secs_f64();
            println!(
                "imported {} submissions with {} rows into {} in {secs:.1} s ({:.0} rows/s; {} plausibility warnings)",
                summary.submissions,
                summary.rows,
                dir.display(),
                summary.rows as f64 / secs.max(1e-9),
                summary.warnings
            );
            anyhow::Ok(())
        })?;
    }
    Ok(())
}

/// `offline-compare`: the full comparison computation of one (domain, year)
/// from Parquet files, best of `repeat` runs.
pub(crate) async fn offline_compare(
    dir: &Path,
    domain: &str,
    year: i32,
    repeat: usize,
    json: Option<&Path>,
) -> anyhow::Result<()> {
    use vergleichsring_engine::offline;
    let catalog = vergleichsring_catalog::Catalog::bundled()?;
    let members =
        offline::members_from(&offline::read_parquet(&dir.join("members.parquet")).await?)?;
    let file = dir.join(format!("{domain}_{year}.parquet"));
    let mut best: Option<offline::Timings> = None;
    let mut result = Vec::new();
    for _ in 0..repeat.max(1) {
        let (comparisons, t) =
            offline::full_comparison(&catalog, domain, year, &file, &members).await?;
        if best.is_none_or(|b| t.total < b.total) {
            best = Some(t);
        }
        result = comparisons;
    }
    let best = best.unwrap_or_default();
    let groups: usize = result.iter().map(|c| c.groups.len()).sum();
    println!(
        "{{\"engine\": \"vergleichsring\", \"comparisons\": {}, \"groups\": {groups}, \"best_seconds\": {:.6}, \"read\": {:.6}, \"key_figures\": {:.6}, \"statistics\": {:.6}}}",
        result.len(),
        best.total,
        best.read,
        best.key_figures,
        best.statistics
    );
    if let Some(path) = json {
        std::fs::write(path, serde_json::to_vec(&offline::flat_rows(&result))?)
            .with_context(|| format!("writing {}", path.display()))?;
    }
    Ok(())
}

fn parse_years(s: &str) -> anyhow::Result<std::ops::RangeInclusive<i32>> {
    let (a, b) = s
        .split_once('-')
        .with_context(|| format!("years '{s}' must look like 2020-2024"))?;
    let (a, b): (i32, i32) = (a.trim().parse()?, b.trim().parse()?);
    let years = vergleichsring_engine::YEARS;
    if a > b || !years.contains(&a) || !years.contains(&b) {
        bail!(
            "years '{s}' must be an ascending range within {}-{}",
            years.start(),
            years.end()
        );
    }
    Ok(a..=b)
}
