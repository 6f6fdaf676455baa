//! Synthetic but plausible members and figures for demos, tests and benchmarks.
//!
//! [`generate`] first draws the members of a ring (official regional keys, kinds,
//! names and populations), then for every member and domain a set of per-capita
//! rates around the typical ranges of the ring's key figures, and finally the
//! basic figures of every year from those rates. Basic and key figures therefore
//! agree, every hard plausibility rule of the catalogue holds, and about one row
//! in a hundred trips a warning rule, as real returns do. Everything is
//! deterministic for a seed.

mod draw;
mod figures;
mod members;
mod services;
mod structure;

use std::ops::RangeInclusive;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use arrow::array::{ArrayRef, Float64Array, RecordBatch, StringArray};
use arrow::datatypes::{DataType, Field, Schema};
use arrow::error::ArrowError;
use bytes::Bytes;
use parquet::arrow::ArrowWriter;
use parquet::basic::Compression;
use parquet::errors::ParquetError;
use parquet::file::properties::WriterProperties;
use rand::RngExt;
use vergleichsring_catalog::MemberKind;

use crate::draw::stream;
use crate::figures::{BASE_YEAR, DOMAINS, DomainSpec, RowCtx};

/// The domains [`generate`] produces figures for, in the order of
/// [`Generated::figures`].
pub const DOMAIN_IDS: [&str; 5] = [
    "library",
    "museum",
    "music_school",
    "adult_education",
    "theatre",
];

/// The largest ring [`generate`] accepts (ten times the German
/// municipalities and then some, for benchmarks at scale).
pub const MAX_MEMBERS: usize = 200_000;

/// A generated member of the ring.
#[derive(Debug, Clone, PartialEq)]
pub struct MemberSpec {
    /// The official regional key: 8 digits for municipalities, 5 for Landkreise.
    pub member_id: String,
    /// A unique, German-sounding name such as "Stadt Rosenheim".
    pub name: String,
    /// The kind of the member.
    pub kind: MemberKind,
    /// Area in km², from its twin in the municipality register
    /// (`structure.rs`): synthetic members are in no register, so a ring
    /// registers them with this structure.
    pub area_km2: f64,
    /// Degree of urbanisation, 1 (dense) to 3 (thin), from its twin.
    pub degurba: f64,
}

/// The basic figures of one domain and year, one row per member.
#[derive(Debug, Clone, PartialEq)]
pub struct DomainYear {
    /// The catalogue id of the domain.
    pub domain: String,
    /// The reporting year.
    pub year: i32,
    /// Column `member_id`, then one nullable Float64 column per basic figure in
    /// catalogue order.
    pub batch: RecordBatch,
}

/// A generated ring: its members and their figures.
#[derive(Debug, Clone, PartialEq)]
pub struct Generated {
    /// The members, the first three of them large cities.
    pub members: Vec<MemberSpec>,
    /// One entry per domain and year, domains in the order of [`DOMAIN_IDS`].
    pub figures: Vec<DomainYear>,
}

/// Why generating or writing synthetic data failed.
#[derive(Debug, thiserror::Error)]
pub enum SynthError {
    /// More members were asked for than official keys can be invented for.
    #[error("at most {MAX_MEMBERS} members can be generated, {0} were asked for")]
    TooManyMembers(usize),
    /// Building a record batch failed.
    #[error("arrow: {0}")]
    Arrow(#[from] ArrowError),
    /// Encoding Parquet failed.
    #[error("parquet: {0}")]
    Parquet(#[from] ParquetError),
    /// Creating the directory or writing a file failed.
    #[error("{path}: {source}")]
    Io {
        /// The directory or file that could not be written.
        path: PathBuf,
        /// The underlying error.
        source: std::io::Error,
    },
}

/// Generates `members` members and figures for every domain of
/// [`DOMAIN_IDS`] and every year in years (inclusive range). Every member
/// runs a library, a museum and a music school; a Volkshochschule or a
/// theatre only some, by kind and size, each decided once per member.
pub fn generate(
    members: usize,
    years: RangeInclusive<i32>,
    seed: u64,
) -> Result<Generated, SynthError> {
    if members > MAX_MEMBERS {
        return Err(SynthError::TooManyMembers(members));
    }
    let ring = members::generate(members, seed);
    let mut figures = Vec::new();
    for (d, domain) in DOMAINS.iter().enumerate() {
        let running: Vec<(usize, &members::Member)> = ring
            .iter()
            .enumerate()
            .filter(|(m, member)| {
                let chance = (domain.runs)(member.spec.kind, member.population);
                chance >= 1.0 || stream(seed, &[6, *m as u64, d as u64]).random_bool(chance)
            })
            .collect();
        for year in years.clone() {
            let rows: Vec<Vec<Option<f64>>> = running
                .iter()
                .map(|(m, member)| row(seed, *m, d, domain, member.population, year))
                .collect();
            let ids = running.iter().map(|(_, m)| m.spec.member_id.as_str());
            figures.push(DomainYear {
                domain: domain.id.to_string(),
                year,
                batch: figure_batch(domain, ids, &rows)?,
            });
        }
    }
    Ok(Generated {
        members: ring.into_iter().map(|m| m.spec).collect(),
        figures,
    })
}

/// The values of one member, domain and year, with unreported figures as `None`.
fn row(
    seed: u64,
    member: usize,
    d: usize,
    domain: &DomainSpec,
    base_population: f64,
    year: i32,
) -> Vec<Option<f64>> {
    let (m, d64, y) = (member as u64, d as u64, i64::from(year) as u64);
    // Population moves by about ±0.5 % a year; its stream is shared by all
    // domains so every domain reports the same inhabitants.
    let mut pop_rng = stream(seed, &[1, m]);
    let growth = 0.005 * draw::normal(&mut pop_rng);
    let noise = 0.002 * draw::normal(&mut stream(seed, &[2, m, y]));
    let t = f64::from(year - BASE_YEAR);
    let ctx = RowCtx {
        base_population,
        population: (base_population * (growth * t + noise).exp())
            .round()
            .max(1.0),
        year,
    };
    let values = (domain.model)(
        &mut stream(seed, &[3, m, d64]),
        &mut stream(seed, &[4, m, d64, y]),
        &ctx,
    );
    // Whether a member reports an optional figure is a habit, so it is decided
    // once per member and domain rather than per year.
    let mut nulls = stream(seed, &[5, m, d64]);
    let mut omitted: Vec<bool> = domain
        .figures
        .iter()
        .enumerate()
        .map(|(i, id)| {
            let rate = 0.05 + 0.01 * ((i * 7) % 16) as f64;
            let u: f64 = nulls.random();
            !domain.required.contains(id) && u < rate
        })
        .collect();
    // Paying and free visits are reported together or not at all, so the rule
    // that they add up to the visits can always be checked.
    let position = |id: &str| domain.figures.iter().position(|f| *f == id);
    if let (Some(paying), Some(free)) = (position("visits_paying"), position("visits_free")) {
        omitted[free] = omitted[paying];
    }
    // A model writes NaN for a figure not asked that year.
    values
        .into_iter()
        .zip(omitted)
        .map(|(v, omit)| (!omit && !v.is_nan()).then_some(v))
        .collect()
}

/// The schema and columns of one domain and year.
fn figure_batch<'a>(
    domain: &DomainSpec,
    ids: impl Iterator<Item = &'a str>,
    rows: &[Vec<Option<f64>>],
) -> Result<RecordBatch, SynthError> {
    let mut fields = vec![Field::new("member_id", DataType::Utf8, false)];
    let mut columns: Vec<ArrayRef> = vec![Arc::new(ids.map(Some).collect::<StringArray>())];
    for (i, id) in domain.figures.iter().enumerate() {
        fields.push(Field::new(*id, DataType::Float64, true));
        columns.push(Arc::new(
            rows.iter().map(|r| r[i]).collect::<Float64Array>(),
        ));
    }
    Ok(RecordBatch::try_new(
        Arc::new(Schema::new(fields)),
        columns,
    )?)
}

/// The members as a batch with columns member_id, name and kind.
fn members_batch(members: &[MemberSpec]) -> Result<RecordBatch, SynthError> {
    let schema = Schema::new(vec![
        Field::new("member_id", DataType::Utf8, false),
        Field::new("name", DataType::Utf8, false),
        Field::new("kind", DataType::Utf8, false),
    ]);
    let column = |f: fn(&MemberSpec) -> &str| -> ArrayRef {
        Arc::new(members.iter().map(|m| Some(f(m))).collect::<StringArray>())
    };
    Ok(RecordBatch::try_new(
        Arc::new(schema),
        vec![
            column(|m| &m.member_id),
            column(|m| &m.name),
            column(|m| m.kind.as_str()),
        ],
    )?)
}

/// Writes members.parquet (columns member_id Utf8, name Utf8, kind Utf8) and
/// `<domain>_<year>.parquet` files into dir (created if missing); returns the
/// list of written paths.
pub fn write_parquet_dir(g: &Generated, dir: &Path) -> Result<Vec<PathBuf>, SynthError> {
    std::fs::create_dir_all(dir).map_err(|source| SynthError::Io {
        path: dir.to_path_buf(),
        source,
    })?;
    let mut files = vec![("members.parquet".to_string(), members_batch(&g.members)?)];
    for f in &g.figures {
        files.push((format!("{}_{}.parquet", f.domain, f.year), f.batch.clone()));
    }
    files
        .into_iter()
        .map(|(name, batch)| {
            let path = dir.join(name);
            std::fs::write(&path, to_parquet_bytes(&batch)?).map_err(|source| SynthError::Io {
                path: path.clone(),
                source,
            })?;
            Ok(path)
        })
        .collect()
}

/// Encodes one batch as Parquet bytes (snappy compression).
pub fn to_parquet_bytes(batch: &RecordBatch) -> Result<Bytes, SynthError> {
    let props = WriterProperties::builder()
        .set_compression(Compression::SNAPPY)
        .build();
    let mut writer = ArrowWriter::try_new(Vec::new(), batch.schema(), Some(props))?;
    writer.write(batch)?;
    Ok(Bytes::from(writer.into_inner()?))
}

#[cfg(test)]
mod tests;
