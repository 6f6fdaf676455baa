//! Comparisons over Parquet files, without a data directory: the same key
//! figure SQL, grouping and statistics as the service, for benchmarks and
//! for checking the numbers against another engine (`benches/duckdb_compare`).

use std::collections::{BTreeMap, HashMap};
use std::path::Path;
use std::sync::Arc;

use arrow::array::{Array, AsArray, RecordBatch};
use arrow::compute::cast;
use arrow::datatypes::{DataType, Float64Type};
use vergleichsring_catalog::{Catalog, MemberKind};
use vergleichsring_store::Member;

use crate::disclose::disclosure::{Audience, Policy};
use crate::error::EngineError;
use crate::out::compare::{self, CompareInput, Comparison, Dimension, GroupBy};
use crate::read::snapshot::{Snapshot, StoredRow};
use crate::sandbox::session::{new_context, on_pool};

/// Reads a Parquet file into batches on the DataFusion pool.
pub async fn read_parquet(path: &Path) -> Result<Vec<RecordBatch>, EngineError> {
    let path = path
        .to_str()
        .ok_or_else(|| EngineError::BadRequest(format!("{} is not UTF-8", path.display())))?
        .to_string();
    on_pool(async move {
        let ctx = new_context();
        let df = ctx
            .read_parquet(path, datafusion::prelude::ParquetReadOptions::default())
            .await?;
        Ok(df.collect().await?)
    })
    .await
}

/// Members from batches with `member_id`, `name` and `kind` (as written by
/// `generate`).
pub fn members_from(batches: &[RecordBatch]) -> Result<BTreeMap<String, Member>, EngineError> {
    let mut out = BTreeMap::new();
    for b in batches {
        let text = |name: &str| -> Result<Vec<String>, EngineError> {
            let c = b
                .column_by_name(name)
                .ok_or_else(|| EngineError::BadRequest(format!("members have no column {name}")))?;
            let c = cast(c, &DataType::Utf8)?;
            let a = c.as_string::<i32>();
            Ok((0..a.len()).map(|i| a.value(i).to_string()).collect())
        };
        let (ids, names, kinds) = (text("member_id")?, text("name")?, text("kind")?);
        for ((id, name), kind) in ids.into_iter().zip(names).zip(kinds) {
            let kind = MemberKind::parse(&kind)
                .ok_or_else(|| EngineError::BadRequest(format!("unknown kind {kind}")))?;
            out.insert(
                id.clone(),
                Member {
                    member_id: id,
                    name,
                    kind,
                    structure: None,
                },
            );
        }
    }
    Ok(out)
}

/// A one-year snapshot from batches of basic figures (`member_id` and one
/// column per basic figure), with key figures computed by the domain's SQL.
pub async fn snapshot_of(
    catalog: &Catalog,
    domain: &str,
    year: i32,
    batches: &[RecordBatch],
) -> Result<Snapshot, EngineError> {
    snapshot_with_noise(catalog, domain, year, batches, None).await
}

/// [`snapshot_of`] with the year's perturbed twin (rule 14) when `noise`
/// is given, for measuring what the perturbation does to the statistics
/// (`examples/noise_utility.rs`).
pub async fn snapshot_with_noise(
    catalog: &Catalog,
    domain: &str,
    year: i32,
    batches: &[RecordBatch],
    noise: Option<&crate::disclose::noise::Noise>,
) -> Result<Snapshot, EngineError> {
    let d = catalog
        .domain(domain)
        .ok_or_else(|| EngineError::UnknownDomain(domain.to_string()))?;
    let meta = Arc::new(crate::read::snapshot::SubmissionMeta {
        version: 0,
        submission_id: String::new(),
        submitted_at: String::new(),
        submitted_by: String::new(),
        upload_sha256: None,
        upload_format: None,
    });
    let mut rows = Vec::new();
    for b in batches {
        let ids = cast(
            b.column_by_name("member_id")
                .ok_or_else(|| EngineError::BadRequest("no member_id column".into()))?,
            &DataType::Utf8,
        )?;
        let ids = ids.as_string::<i32>();
        let mut figures: Vec<Vec<Option<f64>>> = Vec::new();
        for f in &d.basic_figures {
            figures.push(match b.column_by_name(&f.id) {
                Some(c) => {
                    let c = cast(c, &DataType::Float64)?;
                    let a = c.as_primitive::<Float64Type>();
                    (0..a.len())
                        .map(|i| (!a.is_null(i)).then(|| a.value(i)))
                        .collect()
                }
                None => vec![None; b.num_rows()],
            });
        }
        for i in 0..b.num_rows() {
            rows.push(StoredRow {
                meta: meta.clone(),
                row: u32::try_from(rows.len() + 1).unwrap_or(u32::MAX),
                member_id: ids.value(i).to_string(),
                year,
                warnings: serde_json::Value::Null,
                basic: figures.iter().map(|c| c[i]).collect(),
            });
        }
    }
    let data =
        crate::read::load::year_of_rows(d, rows.into_iter().map(Arc::new).collect(), noise).await?;
    Ok(Snapshot::of_years(Some(0), BTreeMap::from([(year, data)])))
}

/// What `compare` needs for a domain of a one-year snapshot made here.
fn offline_input<'a>(
    catalog: &'a Catalog,
    domain: &str,
    snapshot: &'a Snapshot,
    members: &'a BTreeMap<String, Member>,
    policy: &'a Policy,
    noise: Option<&'a crate::disclose::noise::Noise>,
) -> Result<CompareInput<'a>, EngineError> {
    let d = catalog
        .domain(domain)
        .ok_or_else(|| EngineError::UnknownDomain(domain.to_string()))?;
    Ok(CompareInput {
        catalog,
        domain: d,
        snapshot,
        members,
        policy,
        members_generation: 0,
        noise,
        neighbours: crate::disclose::neighbours::NeighbourSettings::shared_default(),
    })
}

/// One comparison of a key figure (by index) by a built-in dimension, for
/// an audience and the member whose position it shows, with the ring's
/// multipliers (`noise`) as the service would use them: admin gets true
/// statistics with `perturbed` beside them, everyone else perturbed ones.
/// The default disclosure policy applies.
#[allow(clippy::too_many_arguments)]
pub fn compare_one(
    catalog: &Catalog,
    domain: &str,
    year: i32,
    snapshot: &Snapshot,
    members: &BTreeMap<String, Member>,
    noise: Option<&crate::disclose::noise::Noise>,
    figure: usize,
    dimension: Dimension,
    audience: Audience,
    own: Option<&str>,
) -> Result<Comparison, EngineError> {
    let policy = Policy::default();
    let input = offline_input(catalog, domain, snapshot, members, &policy, noise)?;
    Ok(compare::compare(
        &input,
        year,
        figure,
        &GroupBy::Dimension(dimension),
        audience,
        own,
    ))
}

/// Every comparison of a (domain, year): each key figure by each built-in
/// dimension, with the operator's view (all statistics, no thresholds).
pub fn all_comparisons(
    catalog: &Catalog,
    domain: &str,
    year: i32,
    snapshot: &Snapshot,
    members: &BTreeMap<String, Member>,
) -> Result<Vec<Comparison>, EngineError> {
    let policy = Policy::default();
    let input = offline_input(catalog, domain, snapshot, members, &policy, None)?;
    let d = input.domain;
    let dims = [
        Dimension::All,
        Dimension::SizeClass,
        Dimension::Land,
        Dimension::Kind,
    ];
    let one = |figure: usize| -> Vec<Comparison> {
        dims.iter()
            .map(|dim| {
                compare::compare(
                    &input,
                    year,
                    figure,
                    &GroupBy::Dimension(*dim),
                    Audience::Admin,
                    None,
                )
            })
            .collect()
    };
    // Key figures are independent: spread them over the cores, as a query
    // engine would. Every thread materialises its own figures; the group
    // assignments are shared through the year's cache.
    let threads = std::thread::available_parallelism()
        .map_or(1, |n| n.get())
        .min(d.key_figures.len().max(1));
    let mut parts: Vec<Vec<(usize, Vec<Comparison>)>> = Vec::new();
    std::thread::scope(|scope| {
        let handles: Vec<_> = (0..threads)
            .map(|t| {
                let one = &one;
                scope.spawn(move || {
                    (t..d.key_figures.len())
                        .step_by(threads)
                        .map(|f| (f, one(f)))
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        for h in handles {
            match h.join() {
                Ok(p) => parts.push(p),
                Err(_) => parts.push(Vec::new()),
            }
        }
    });
    let mut by_figure: Vec<(usize, Vec<Comparison>)> = parts.into_iter().flatten().collect();
    if by_figure.len() != d.key_figures.len() {
        return Err(EngineError::Internal(
            "a comparison thread failed".to_string(),
        ));
    }
    by_figure.sort_by_key(|(f, _)| *f);
    Ok(by_figure.into_iter().flat_map(|(_, c)| c).collect())
}

/// Timings of one full computation, in seconds.
#[derive(Debug, Clone, Copy, Default, serde::Serialize)]
pub struct Timings {
    /// Reading the Parquet file.
    pub read: f64,
    /// Key figures by DataFusion.
    pub key_figures: f64,
    /// Grouping and statistics.
    pub statistics: f64,
    /// All of it.
    pub total: f64,
}

/// Reads `file`, computes key figures and every comparison of the year.
pub async fn full_comparison(
    catalog: &Catalog,
    domain: &str,
    year: i32,
    file: &Path,
    members: &BTreeMap<String, Member>,
) -> Result<(Vec<Comparison>, Timings), EngineError> {
    let start = std::time::Instant::now();
    let batches = read_parquet(file).await?;
    let read = start.elapsed().as_secs_f64();
    let snapshot = snapshot_of(catalog, domain, year, &batches).await?;
    let keyed = start.elapsed().as_secs_f64();
    let comparisons = all_comparisons(catalog, domain, year, &snapshot, members)?;
    let total = start.elapsed().as_secs_f64();
    Ok((
        comparisons,
        Timings {
            read,
            key_figures: keyed - read,
            statistics: total - keyed,
            total,
        },
    ))
}

/// The comparisons as flat rows (figure, group_by, group, n and the
/// statistics), for comparing with another engine.
pub fn flat_rows(comparisons: &[Comparison]) -> Vec<HashMap<&'static str, serde_json::Value>> {
    let mut out = Vec::new();
    for c in comparisons {
        for g in &c.groups {
            let s = g.stats.clone().unwrap_or_default();
            let mut row: HashMap<&'static str, serde_json::Value> = HashMap::new();
            row.insert("figure", c.figure.clone().into());
            row.insert("group_by", c.group_by.clone().into());
            row.insert("group", g.group.clone().into());
            row.insert("n", g.n.into());
            for (k, v) in [
                ("mean", s.mean),
                ("median", s.median),
                ("p25", s.p25),
                ("p75", s.p75),
                ("p10", s.p10),
                ("p90", s.p90),
                ("std_dev", s.std_dev),
                ("weighted", s.weighted),
            ] {
                row.insert(k, v.into());
            }
            out.push(row);
        }
    }
    out
}
