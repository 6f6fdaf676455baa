//! A domain's data as of one data version. The snapshot itself is an
//! index: per year, the commits that touched it (read from the Delta table
//! with one small aggregate at start and brought forward by each commit).
//! The years themselves (every stored row, the current row per member and
//! their key figures, computed by DataFusion with `queries/current.sql`'s
//! rule and the domain's key-figure SQL) are read from the lake when a
//! request needs them and kept in the engine's memory cache
//! (`lake.rs`, `memory.rs`); a snapshot carries the years it was
//! asked to load.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use arrow::array::RecordBatch;

use crate::error::EngineError;
pub use crate::read::year::{KeyRow, MemberYear, StoredRow, SubmissionMeta, Values, YearData};

/// The SQL that selects the current rows of the `figures` table.
pub const CURRENT_SQL: &str = include_str!("../../../../queries/current.sql");

/// One commit's rows of one year.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct YearCommit {
    /// The Delta version of the commit.
    pub version: u64,
    /// How many rows of the year it added.
    pub rows: u64,
    /// The submission it stored.
    pub submission_id: String,
    /// When (RFC 3339).
    pub submitted_at: String,
}

/// Per year, the commits that added rows to it, oldest first.
pub type YearIndex = BTreeMap<i32, Vec<YearCommit>>;

/// A domain's data at one version: the index of its years, and those
/// years that were loaded for the request at hand.
#[derive(Debug, Default, Clone)]
pub struct Snapshot {
    /// The data version (`None`: nothing submitted yet).
    pub version: Option<u64>,
    /// May hold commits after `version` (a past version shares the
    /// current index); every reader filters.
    index: Arc<YearIndex>,
    years: BTreeMap<i32, Arc<YearData>>,
}

impl Snapshot {
    /// A snapshot of nothing but its index.
    pub fn of_index(version: Option<u64>, index: Arc<YearIndex>) -> Snapshot {
        Snapshot {
            version,
            index,
            years: BTreeMap::new(),
        }
    }

    /// The commits of a year up to the snapshot's version.
    pub fn commits(&self, year: i32) -> impl Iterator<Item = &YearCommit> {
        let version = self.version;
        self.index
            .get(&year)
            .into_iter()
            .flatten()
            .filter(move |c| version.is_some_and(|v| c.version <= v))
    }

    /// The version of the last commit that touched a year, if any: the
    /// year's data are the same at every version from there to the next.
    pub fn year_version(&self, year: i32) -> Option<u64> {
        self.commits(year).map(|c| c.version).max()
    }

    /// Whether a year's data were loaded into this snapshot.
    pub fn is_loaded(&self, year: i32) -> bool {
        self.years.contains_key(&year)
    }

    /// The data of a year, if it has any. The year must have been loaded
    /// (`Engine` does that for every request); a year with data that was
    /// not is a bug, caught by the tests.
    pub fn year(&self, year: i32) -> Option<&YearData> {
        let data = self.years.get(&year).map(Arc::as_ref);
        debug_assert!(
            data.is_some() || self.year_version(year).is_none(),
            "year {year} was read before it was loaded"
        );
        data
    }

    /// The current row of a member in a year.
    pub fn current_row(&self, year: i32, member_id: &str) -> Option<&StoredRow> {
        self.year(year)?.current_row(member_id)
    }

    /// The key figures of a member's current row in a year.
    pub fn key_of(&self, year: i32, member_id: &str) -> Option<KeyRow> {
        self.year(year)?.key_of(member_id)
    }

    /// The years with at least one row, ascending.
    pub fn years(&self) -> Vec<i32> {
        self.index
            .keys()
            .copied()
            .filter(|y| self.commits(*y).next().is_some())
            .collect()
    }

    /// Every stored row of the loaded years, year by year, oldest first
    /// within a year.
    pub fn rows(&self) -> impl Iterator<Item = &StoredRow> {
        self.years
            .values()
            .flat_map(|y| y.history.iter().map(Arc::as_ref))
    }

    /// The same index at an earlier version, with no year loaded (at a
    /// later one: the same snapshot, nothing loaded).
    pub fn at(&self, version: u64) -> Snapshot {
        Snapshot::of_index(
            Some(self.version.map_or(version, |v| v.min(version))),
            self.index.clone(),
        )
    }

    /// The same data at another version (after a commit that changed no
    /// data, such as a compaction).
    pub fn relabelled(&self, version: u64) -> Snapshot {
        Snapshot {
            version: Some(version),
            index: self.index.clone(),
            years: self.years.clone(),
        }
    }

    /// This snapshot with more years loaded.
    pub fn with_years(&self, loaded: impl IntoIterator<Item = (i32, Arc<YearData>)>) -> Snapshot {
        let mut years = self.years.clone();
        years.extend(loaded);
        Snapshot {
            version: self.version,
            index: self.index.clone(),
            years,
        }
    }

    /// The index after one more commit (its rows in `batch`), with no year
    /// loaded.
    pub fn with_commit(&self, version: u64, batch: &RecordBatch) -> Result<Snapshot, EngineError> {
        let mut index = (*self.index).clone();
        for (year, commit) in crate::read::load::index_of(batch)? {
            let commits = index.entry(year).or_default();
            commits.retain(|c| c.version != commit.version);
            commits.push(commit);
            commits.sort_by_key(|c| c.version);
        }
        Ok(Snapshot::of_index(Some(version), Arc::new(index)))
    }

    /// When the last commit of the snapshot was made (RFC 3339), if any.
    pub fn latest_submitted_at(&self) -> Option<String> {
        self.index
            .keys()
            .flat_map(|y| self.commits(*y))
            .map(|c| c.submitted_at.as_str())
            .max()
            .map(str::to_string)
    }

    /// The number of stored rows.
    pub fn row_count(&self) -> usize {
        self.index
            .keys()
            .flat_map(|y| self.commits(*y))
            .map(|c| usize::try_from(c.rows).unwrap_or(usize::MAX))
            .sum()
    }

    /// A snapshot from stored rows (ordered by version) and the key figures
    /// of the current ones, every year loaded, without a table: for tests
    /// and tools.
    pub fn from_parts(
        version: Option<u64>,
        rows: Vec<StoredRow>,
        mut keys: HashMap<MemberYear, KeyRow>,
    ) -> Snapshot {
        let mut by_year: BTreeMap<i32, Vec<Arc<StoredRow>>> = BTreeMap::new();
        for r in rows {
            by_year.entry(r.year).or_default().push(Arc::new(r));
        }
        let years = by_year
            .into_iter()
            .map(|(year, history)| {
                let mine: HashMap<String, KeyRow> = history
                    .iter()
                    .filter_map(|r| {
                        keys.remove(&(year, r.member_id.clone()))
                            .map(|k| (r.member_id.clone(), k))
                    })
                    .collect();
                (year, YearData::new(history, mine))
            })
            .collect();
        Snapshot::of_years(version, years)
    }

    /// A snapshot of whole years (their rows ordered by version), every
    /// year loaded, its index taken from the rows, without a table: for
    /// tests and tools.
    pub fn of_years(version: Option<u64>, years: BTreeMap<i32, YearData>) -> Snapshot {
        let mut index = YearIndex::new();
        for (year, data) in &years {
            let commits = index.entry(*year).or_default();
            for r in &data.history {
                match commits.last_mut() {
                    Some(c) if c.version == r.meta.version => c.rows += 1,
                    _ => commits.push(YearCommit {
                        version: r.meta.version,
                        rows: 1,
                        submission_id: r.meta.submission_id.clone(),
                        submitted_at: r.meta.submitted_at.clone(),
                    }),
                }
            }
        }
        Snapshot {
            version: version.or(Some(0)),
            index: Arc::new(index),
            years: years.into_iter().map(|(y, d)| (y, Arc::new(d))).collect(),
        }
    }
}
