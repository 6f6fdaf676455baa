//! What the noise of rule 14 does to the statistics on the national demo
//! ring (11,000 members, seed 1, year 2024, as `benches/engine.rs` builds
//! it): a measurement, not a test; nothing is asserted.
//!
//!   cargo run --release --example noise_utility [-- --stride K] [DOMAIN...]
//!
//! For each domain (default: all three) and each of four fixed secrets:
//!
//! - every group of every key figure by `all`, `size_class`, `land` and
//!   `kind`, and the Land × size-class groups as custom groups (the
//!   built-in dimensions hardly have groups of 5–19 members at national
//!   scale); admin's view, which has the true statistics beside the
//!   perturbed ones an analyst gets (standard deviation corrected). The
//!   relative error |perturbed − true| / |true| of the mean, weighted
//!   ratio, median, p25 and p75, and standard deviation, by group size;
//!   the median and 90th percentile over groups. Key figures released as
//!   means only count for the mean alone.
//! - every K-th member (by id; default K = 10, about 1,100 members), every
//!   key figure released in full, by size class: the member's quintile as
//!   a member sees it (from perturbed values) against the true one (from
//!   admin's rank).
//!
//! Prints Markdown tables (BENCHMARKS.md, issue 25).

use std::collections::BTreeMap;
use std::time::Instant;

use anyhow::{Context, anyhow};
use arrow::array::{Array, AsArray, RecordBatch};
use arrow::datatypes::Float64Type;
use vergleichsring_catalog::{Catalog, LAENDER, Release};
use vergleichsring_engine::compare::{self, CompareInput, Comparison, Dimension, GroupBy};
use vergleichsring_engine::disclosure::{Audience, DisclosedStats, Policy};
use vergleichsring_engine::noise::{Noise, quintile};
use vergleichsring_engine::offline;
use vergleichsring_engine::snapshot::Snapshot;
use vergleichsring_store::{CustomGroup, Member};

const MEMBERS: usize = 11_000;
const YEAR: i32 = 2024;
const SEED: u64 = 1;
const NOISE_MIN: f64 = 0.05;
const NOISE_MAX: f64 = 0.10;

/// The fixed secret (first) and three more for the spread.
const SECRETS: [&[u8; 32]; 4] = [
    b"noise-utility-fixed-secret-00001",
    b"noise-utility-fixed-secret-00002",
    b"noise-utility-fixed-secret-00003",
    b"noise-utility-fixed-secret-00004",
];

const DIMENSIONS: [Dimension; 4] = [
    Dimension::All,
    Dimension::SizeClass,
    Dimension::Land,
    Dimension::Kind,
];

/// The statistics measured, in table order. The last is the perturbed
/// standard deviation before the correction for the noise variance
/// (recovered from the corrected one), for comparison.
const STATS: [&str; 6] = [
    "mean",
    "weighted",
    "median",
    "p25/p75",
    "std_dev (corrected)",
    "std_dev before correction",
];

/// Group sizes: 5–19, 20–99, 100 and more.
const BUCKETS: [&str; 3] = ["5–19", "20–99", "100+"];

fn bucket(n: usize) -> Option<usize> {
    match n {
        0..5 => None,
        5..20 => Some(0),
        20..100 => Some(1),
        _ => Some(2),
    }
}

/// Type-7 quantile of unsorted values.
fn quantile(values: &[f64], p: f64) -> Option<f64> {
    let mut v = values.to_vec();
    v.sort_by(f64::total_cmp);
    vergleichsring_engine::summary::quantile_type7(&v, p)
}

/// Reads one statistic.
type Getter = fn(&DisclosedStats) -> Option<f64>;

/// What one key figure gave.
#[derive(Default)]
struct FigureRow {
    id: String,
    full: bool,
    /// The noise's standard deviation on a member's value, `√σ²`.
    noise_sd: f64,
    /// The true coefficient of variation over all members.
    cv: Option<f64>,
    /// The signed relative error of the mean and of the weighted ratio
    /// over all members (about 11,000: what is left is bias, not noise).
    all_mean: Option<f64>,
    all_weighted: Option<f64>,
    /// Relative errors of the mean in groups of 20 and more.
    mean_20: Vec<f64>,
    /// Member pairs with both quintiles, those that differ, by two or more.
    pairs: usize,
    moved: usize,
    moved_two: usize,
}

/// What one (domain, secret) gave.
#[derive(Default)]
struct Measurement {
    /// Per key figure.
    figures: Vec<FigureRow>,
    /// Relative errors by (statistic, bucket).
    errors: BTreeMap<(usize, usize), Vec<f64>>,
    /// Signed relative errors of the corrected standard deviation, by
    /// bucket, and before the correction.
    sd_signed: [Vec<f64>; 3],
    sd_raw_signed: [Vec<f64>; 3],
    /// Groups that gave a relative error, by (statistic, bucket).
    groups: BTreeMap<(usize, usize), usize>,
    /// Statistics left out because the true value is zero.
    zero_truth: usize,
    /// Groups measured, built-in and custom.
    builtin_groups: usize,
    custom_groups: usize,
    /// Built-in groups with a mean measured, by bucket (per key figure).
    builtin_by_bucket: [usize; 3],
    /// (member, key figure) pairs with both quintiles, by bucket, and how
    /// many of them differ, and by two or more fifths.
    positions: [usize; 3],
    moved: [usize; 3],
    moved_two: [usize; 3],
    /// Members sampled, and pairs without a quintile for a member.
    sampled: usize,
    no_quintile: usize,
    seconds: f64,
    seconds_groups: f64,
}

impl Measurement {
    /// Records |perturbed − true| / |true|; returns the signed relative
    /// error, `None` when there is none (or the truth is 0).
    fn add(
        &mut self,
        stat: usize,
        b: usize,
        truth: Option<f64>,
        perturbed: Option<f64>,
    ) -> Option<f64> {
        let (t, p) = (truth?, perturbed?);
        if t == 0.0 || !t.is_finite() || !p.is_finite() {
            self.zero_truth += 1;
            return None;
        }
        let e = (p - t) / t.abs();
        self.errors.entry((stat, b)).or_default().push(e.abs());
        Some(e)
    }

    /// The true and perturbed statistics of every disclosed group;
    /// `sigma2` is the noise variance of the key figure
    /// ([`Noise::variance`]), to undo the correction of the standard
    /// deviation.
    fn groups_of(&mut self, c: &Comparison, full: bool, sigma2: f64, builtin: bool) -> usize {
        let mut counted = 0;
        for g in &c.groups {
            let Some(b) = bucket(g.n) else { continue };
            let (Some(t), Some(p)) = (
                g.stats.as_ref(),
                g.perturbed.as_ref().and_then(|p| p.stats.as_ref()),
            ) else {
                continue;
            };
            counted += 1;
            let pairs: [(usize, Getter); 6] = [
                (0, |s| s.mean),
                (1, |s| s.weighted),
                (2, |s| s.median),
                (3, |s| s.p25),
                (3, |s| s.p75),
                (4, |s| s.std_dev),
            ];
            let mut seen = [false; STATS.len()];
            for (stat, get) in pairs {
                if stat > 0 && !full {
                    continue;
                }
                let e = self.add(stat, b, get(t), get(p));
                if let (0, Some(e), 1.., Some(f)) = (stat, e, b, self.figures.last_mut()) {
                    f.mean_20.push(e.abs());
                }
                if stat == 4
                    && let Some(e) = e
                {
                    self.sd_signed[b].push(e);
                }
                seen[stat] |= e.is_some();
            }
            // The perturbed standard deviation before the correction:
            // sd² = corrected²·(1 + σ²) + σ²·mean² (`corrected_std_dev`
            // inverted; exact unless the correction floored it at 0).
            if full && let (Some(sd), Some(mean)) = (p.std_dev, p.mean) {
                let raw = (sd * sd * (1.0 + sigma2) + sigma2 * mean * mean).sqrt();
                if let Some(e) = self.add(5, b, t.std_dev, Some(raw)) {
                    self.sd_raw_signed[b].push(e);
                    seen[5] = true;
                }
            }
            if builtin && seen[0] {
                self.builtin_by_bucket[b] += 1;
            }
            for (stat, s) in seen.iter().enumerate() {
                if *s {
                    *self.groups.entry((stat, b)).or_default() += 1;
                }
            }
        }
        counted
    }
}

/// The ring's members as the engine wants them.
fn members_of(g: &vergleichsring_synth::Generated) -> BTreeMap<String, Member> {
    g.members
        .iter()
        .map(|m| {
            (
                m.member_id.clone(),
                Member {
                    member_id: m.member_id.clone(),
                    name: m.name.clone(),
                    kind: m.kind,
                    structure: None,
                },
            )
        })
        .collect()
}

/// Land × size class as custom groups, from the year's (public)
/// population; groups of fewer than 5 members are left out.
fn land_size_groups(
    catalog: &Catalog,
    batch: &RecordBatch,
    members: &BTreeMap<String, Member>,
) -> anyhow::Result<Vec<CustomGroup>> {
    let ids = batch
        .column_by_name("member_id")
        .context("no member_id column")?
        .as_string_opt::<i32>()
        .context("member_id is not text")?;
    let population = batch
        .column_by_name("population")
        .context("no population column")?
        .as_primitive_opt::<Float64Type>()
        .context("population is not Float64")?;
    let mut by: BTreeMap<(String, String), Vec<String>> = BTreeMap::new();
    for i in 0..batch.num_rows() {
        let id = ids.value(i);
        let (Some(member), false) = (members.get(id), population.is_null(i)) else {
            continue;
        };
        let Some(class) = catalog.size_class(member.kind, population.value(i)) else {
            continue;
        };
        let land = id.get(0..2).unwrap_or_default().to_string();
        by.entry((land, class.id.clone()))
            .or_default()
            .push(id.to_string());
    }
    Ok(by
        .into_iter()
        .filter(|(_, ids)| ids.len() >= 5)
        .map(|((land, class), mut ids)| {
            ids.sort();
            let name = LAENDER
                .iter()
                .find(|(c, _)| *c == land)
                .map_or(land.as_str(), |(_, n)| n);
            CustomGroup {
                id: format!("{land}-{class}"),
                name: format!("{name}, {class}"),
                member_ids: ids,
            }
        })
        .collect())
}

struct Ring<'a> {
    catalog: &'a Catalog,
    domain: &'a str,
    batch: &'a RecordBatch,
    members: &'a BTreeMap<String, Member>,
    custom: &'a [CustomGroup],
    stride: usize,
}

fn measure(
    ring: &Ring<'_>,
    rt: &tokio::runtime::Runtime,
    secret: &[u8; 32],
) -> anyhow::Result<Measurement> {
    let started = Instant::now();
    let Ring {
        catalog,
        domain,
        batch,
        members,
        custom,
        stride,
    } = *ring;
    let noise = Noise::new(*secret, NOISE_MIN, NOISE_MAX);
    let d = catalog
        .domain(domain)
        .ok_or_else(|| anyhow!("no domain {domain}"))?;
    let snapshot: Snapshot = rt.block_on(offline::snapshot_with_noise(
        catalog,
        domain,
        YEAR,
        std::slice::from_ref(batch),
        Some(&noise),
    ))?;
    let mut m = Measurement::default();
    let policy = Policy::default();
    let input = CompareInput {
        catalog,
        domain: d,
        snapshot: &snapshot,
        members,
        policy: &policy,
        members_generation: 0,
        noise: Some(&noise),
        neighbours: vergleichsring_engine::structure::NeighbourSettings::shared_default(),
    };
    for (figure, k) in d.key_figures.iter().enumerate() {
        let full = k.release != Release::MeanOnly;
        let sigma2 = noise.variance(d, figure);
        m.figures.push(FigureRow {
            id: k.id.clone(),
            full,
            noise_sd: sigma2.sqrt(),
            ..FigureRow::default()
        });
        for dim in DIMENSIONS {
            let c = offline::compare_one(
                catalog,
                domain,
                YEAR,
                &snapshot,
                members,
                Some(&noise),
                figure,
                dim,
                Audience::Admin,
                None,
            )?;
            if dim == Dimension::All
                && let Some(f) = m.figures.last_mut()
            {
                let g = c.groups.first();
                let t = g.and_then(|g| g.stats.as_ref());
                let p = g.and_then(|g| g.perturbed.as_ref()?.stats.as_ref());
                f.cv = t.and_then(|s| Some(s.std_dev? / s.mean?.abs()));
                let signed = |get: Getter| {
                    let (t, p) = (get(t?)?, get(p?)?);
                    (t != 0.0).then(|| (p - t) / t.abs())
                };
                f.all_mean = signed(|s| s.mean);
                f.all_weighted = signed(|s| s.weighted);
            }
            m.builtin_groups += m.groups_of(&c, full, sigma2, true);
        }
        for group in custom {
            let c = compare::compare(
                &input,
                YEAR,
                figure,
                &GroupBy::Custom(group.clone()),
                Audience::Admin,
                None,
            );
            m.custom_groups += m.groups_of(&c, full, sigma2, false);
        }
    }
    m.seconds_groups = started.elapsed().as_secs_f64();
    // Quintiles: every `stride`-th member with a row this year.
    let ids = batch
        .column_by_name("member_id")
        .context("no member_id column")?
        .as_string_opt::<i32>()
        .context("member_id is not text")?;
    let mut rows: Vec<&str> = (0..ids.len()).map(|i| ids.value(i)).collect();
    rows.sort_unstable();
    let sample: Vec<&str> = rows.into_iter().step_by(stride.max(1)).collect();
    m.sampled = sample.len();
    let full: Vec<usize> = d
        .key_figures
        .iter()
        .enumerate()
        .filter(|(_, k)| k.release != Release::MeanOnly)
        .map(|(i, _)| i)
        .collect();
    // (key figure, bucket, moved, by two or more) per pair, or None
    // without a quintile.
    type Pair = Option<(usize, usize, bool, bool)>;
    let one = |member: &str, figure: usize| -> anyhow::Result<Pair> {
        let at = |audience| {
            offline::compare_one(
                catalog,
                domain,
                YEAR,
                &snapshot,
                members,
                Some(&noise),
                figure,
                Dimension::SizeClass,
                audience,
                Some(member),
            )
        };
        let (admin, seen) = (at(Audience::Admin)?, at(Audience::Member)?);
        let truth = admin.groups.iter().find_map(|g| {
            let rank = g.own.as_ref()?.rank?;
            Some((quintile(rank, g.n)?, g.n))
        });
        let released = seen.groups.iter().find_map(|g| g.own.as_ref()?.quintile);
        Ok(match (truth, released) {
            (Some((t, n)), Some(p)) => bucket(n).map(|b| (figure, b, t != p, t.abs_diff(p) >= 2)),
            _ => None,
        })
    };
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
    let results: Vec<anyhow::Result<Vec<Pair>>> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..threads)
            .map(|t| {
                let (one, sample, full) = (&one, &sample, &full);
                s.spawn(move || {
                    let mut out = Vec::new();
                    for member in sample.iter().skip(t).step_by(threads) {
                        for &figure in full {
                            out.push(one(member, figure)?);
                        }
                    }
                    Ok(out)
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().map_err(|_| anyhow!("a thread panicked"))?)
            .collect()
    });
    for part in results {
        for pair in part? {
            match pair {
                Some((figure, b, moved, two)) => {
                    m.positions[b] += 1;
                    m.moved[b] += usize::from(moved);
                    m.moved_two[b] += usize::from(two);
                    if let Some(f) = m.figures.get_mut(figure) {
                        f.pairs += 1;
                        f.moved += usize::from(moved);
                        f.moved_two += usize::from(two);
                    }
                }
                None => m.no_quintile += 1,
            }
        }
    }
    m.seconds = started.elapsed().as_secs_f64();
    Ok(m)
}

fn pct(x: f64) -> String {
    format!("{:.2} %", 100.0 * x)
}

/// The main table of one domain under the fixed secret.
fn print_table(domain: &str, m: &Measurement) {
    println!("\n#### `{domain}`, fixed secret\n");
    let head: Vec<String> = BUCKETS
        .iter()
        .map(|b| format!("n {b}: groups | median | p90"))
        .collect();
    println!("| statistic | {} |", head.join(" | "));
    println!("|---|{}", "---:|".repeat(3 * BUCKETS.len()));
    for (s, name) in STATS.iter().enumerate() {
        let cells: Vec<String> = (0..BUCKETS.len())
            .map(|b| {
                let e = m.errors.get(&(s, b)).map_or(&[][..], Vec::as_slice);
                let groups = m.groups.get(&(s, b)).copied().unwrap_or(0);
                match (quantile(e, 0.5), quantile(e, 0.9)) {
                    (Some(q50), Some(q90)) => format!("{groups} | {} | {}", pct(q50), pct(q90)),
                    _ => format!("{groups} | – | –"),
                }
            })
            .collect();
        println!("| {name} | {} |", cells.join(" | "));
    }
    let cells: Vec<String> = (0..BUCKETS.len())
        .map(|b| {
            let n = m.positions[b];
            if n == 0 {
                "0 | – | –".to_string()
            } else {
                format!(
                    "{n} | {} | ≥ 2 fifths: {}",
                    pct(m.moved[b] as f64 / n as f64),
                    pct(m.moved_two[b] as f64 / n as f64)
                )
            }
        })
        .collect();
    println!(
        "| quintile differs (cells: member × figure pairs, share, share by ≥ 2 fifths) | {} |",
        cells.join(" | ")
    );
    let signed = |v: &[Vec<f64>; 3]| -> String {
        v.iter()
            .zip(BUCKETS)
            .map(|(e, b)| {
                quantile(e, 0.5)
                    .map_or(format!("{b}: –"), |q| format!("{b}: {:+.2} %", 100.0 * q))
            })
            .collect::<Vec<_>>()
            .join(", ")
    };
    println!(
        "\nSigned median error of the standard deviation (bias), corrected: {}; before correction: {}.",
        signed(&m.sd_signed),
        signed(&m.sd_raw_signed)
    );
    let (pairs, moved): (usize, usize) = (m.positions.iter().sum(), m.moved.iter().sum());
    println!(
        "\n{} built-in (of them with n {}: {}, {}, {} per bucket) and {} custom (Land × size class) groups measured, summed over key figures; {} statistics left out for a true value of 0. Quintiles: {} members sampled, {pairs} pairs with both quintiles, {} differ ({}), {} differ by two fifths or more; {} pairs without a member quintile. {:.1} s ({:.1} s groups, {:.1} s quintiles).",
        m.builtin_groups,
        BUCKETS.join(" / "),
        m.builtin_by_bucket[0],
        m.builtin_by_bucket[1],
        m.builtin_by_bucket[2],
        m.custom_groups,
        m.zero_truth,
        m.sampled,
        moved,
        pct(moved as f64 / pairs.max(1) as f64),
        m.moved_two.iter().sum::<usize>(),
        m.no_quintile,
        m.seconds,
        m.seconds_groups,
        m.seconds - m.seconds_groups
    );
    println!(
        "\nPer key figure (fixed secret): the noise on one member's value against the true spread, the mean's error in groups of 20 and more, and the quintiles by size class.\n"
    );
    println!(
        "| key figure | release | noise sd of a value | true CV, all members | mean: median error, n ≥ 20 | mean, all members: signed error | weighted, all members: signed error | quintile differs | by ≥ 2 fifths |"
    );
    println!("|---|---|---:|---:|---:|---:|---:|---:|---:|");
    for f in &m.figures {
        let share = |k: usize| {
            if f.full && f.pairs > 0 {
                pct(k as f64 / f.pairs as f64)
            } else {
                "–".to_string()
            }
        };
        let signed =
            |e: Option<f64>| e.map_or("–".to_string(), |e| format!("{:+.2} %", 100.0 * e));
        println!(
            "| {} | {} | {} | {} | {} | {} | {} | {} | {} |",
            f.id,
            if f.full { "full" } else { "mean only" },
            pct(f.noise_sd),
            f.cv.map_or("–".to_string(), |c| format!("{c:.2}")),
            quantile(&f.mean_20, 0.5).map_or("–".to_string(), pct),
            signed(f.all_mean),
            signed(f.all_weighted),
            share(f.moved),
            share(f.moved_two)
        );
    }
}

/// The expectations (medians; not asserted): the fixed secret,
/// then min–max over all secrets.
fn print_expectations(all: &BTreeMap<String, Vec<Measurement>>) {
    println!(
        "\n#### Against the issue's expectations (median over groups; fixed secret, and min–max over the {} secrets)\n",
        SECRETS.len()
    );
    println!(
        "| domain | mean, n 5–19 (≤ 4 %) | mean, n ≥ 20 (≤ 1.5 %) | weighted, n ≥ 20 (≤ 3 %) |"
    );
    println!("|---|---:|---:|---:|");
    let pooled = |m: &Measurement, stat: usize, buckets: &[usize]| -> Option<f64> {
        let v: Vec<f64> = buckets
            .iter()
            .filter_map(|b| m.errors.get(&(stat, *b)))
            .flatten()
            .copied()
            .collect();
        quantile(&v, 0.5)
    };
    for (domain, ms) in all {
        let cell = |stat: usize, buckets: &[usize]| -> String {
            let v: Vec<f64> = ms.iter().filter_map(|m| pooled(m, stat, buckets)).collect();
            let lo = v.iter().copied().fold(f64::INFINITY, f64::min);
            let hi = v.iter().copied().fold(f64::NEG_INFINITY, f64::max);
            match v.first() {
                Some(first) => format!("{} ({:.2}–{:.2} %)", pct(*first), 100.0 * lo, 100.0 * hi),
                None => "–".to_string(),
            }
        };
        println!(
            "| {domain} | {} | {} | {} |",
            cell(0, &[0]),
            cell(0, &[1, 2]),
            cell(1, &[1, 2])
        );
    }
}

/// Min–max over the secrets of the median (and of the p90).
fn print_spread(all: &BTreeMap<String, Vec<Measurement>>) {
    println!(
        "\n#### Spread over the {} secrets: min–max of the median (of the p90)\n",
        SECRETS.len()
    );
    println!(
        "| domain | statistic | {} |",
        BUCKETS.map(|b| format!("n {b}")).join(" | ")
    );
    println!("|---|---|{}", "---|".repeat(BUCKETS.len()));
    let range = |v: &[f64]| -> String {
        let lo = v.iter().copied().fold(f64::INFINITY, f64::min);
        let hi = v.iter().copied().fold(f64::NEG_INFINITY, f64::max);
        if lo.is_finite() {
            format!("{:.2}–{:.2} %", 100.0 * lo, 100.0 * hi)
        } else {
            "–".to_string()
        }
    };
    for (domain, ms) in all {
        for (s, name) in STATS.iter().enumerate() {
            let cells: Vec<String> = (0..BUCKETS.len())
                .map(|b| {
                    let at = |p: f64| -> Vec<f64> {
                        ms.iter()
                            .filter_map(|m| quantile(m.errors.get(&(s, b))?, p))
                            .collect()
                    };
                    format!("{} ({})", range(&at(0.5)), range(&at(0.9)))
                })
                .collect();
            println!("| {domain} | {name} | {} |", cells.join(" | "));
        }
        let cells: Vec<String> = (0..BUCKETS.len())
            .map(|b| {
                let shares: Vec<f64> = ms
                    .iter()
                    .filter(|m| m.positions[b] > 0)
                    .map(|m| m.moved[b] as f64 / m.positions[b] as f64)
                    .collect();
                range(&shares)
            })
            .collect();
        println!(
            "| {domain} | quintile differs (share) | {} |",
            cells.join(" | ")
        );
    }
}

fn main() -> anyhow::Result<()> {
    let mut stride = 10usize;
    let mut domains: Vec<String> = Vec::new();
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        if a == "--stride" {
            stride = args
                .next()
                .context("--stride needs a number")?
                .parse()
                .context("--stride needs a number")?;
        } else {
            domains.push(a);
        }
    }
    if domains.is_empty() {
        domains = vergleichsring_synth::DOMAIN_IDS.map(String::from).to_vec();
    }
    let started = Instant::now();
    let rt = tokio::runtime::Runtime::new()?;
    let catalog = Catalog::bundled()?;
    let g = vergleichsring_synth::generate(MEMBERS, YEAR..=YEAR, SEED)?;
    let members = members_of(&g);
    println!(
        "national demo ring: {} members, seed {SEED}, year {YEAR}; noise u in [{NOISE_MIN}, {NOISE_MAX}]; quintile sample every {stride}th member",
        members.len()
    );
    for s in SECRETS {
        println!(
            "secret fingerprint {}",
            Noise::new(*s, NOISE_MIN, NOISE_MAX).fingerprint()
        );
    }
    let mut all: BTreeMap<String, Vec<Measurement>> = BTreeMap::new();
    for domain in &domains {
        let fy = g
            .figures
            .iter()
            .find(|f| f.domain == *domain)
            .ok_or_else(|| anyhow!("no figures for {domain}"))?;
        let custom = land_size_groups(&catalog, &fy.batch, &members)?;
        let ring = Ring {
            catalog: &catalog,
            domain,
            batch: &fy.batch,
            members: &members,
            custom: &custom,
            stride,
        };
        for (i, secret) in SECRETS.iter().enumerate() {
            let m = measure(&ring, &rt, secret)?;
            eprintln!("{domain}, secret {}: {:.1} s", i + 1, m.seconds);
            if i == 0 {
                print_table(domain, &m);
            }
            all.entry(domain.clone()).or_default().push(m);
        }
    }
    print_expectations(&all);
    print_spread(&all);
    println!("\ntotal {:.1} s", started.elapsed().as_secs_f64());
    Ok(())
}
