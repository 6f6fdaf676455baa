//! A year of a domain as the engine keeps it: the stored rows, the current
//! row per member, their key figures, and the cache of materialised groups
//! that `grouping.rs` fills. Types only, so that the snapshot that holds
//! years and the grouping that reads them need not import each other.

use std::collections::HashMap;
use std::sync::Arc;

pub(crate) use crate::read::materialised::{Assignment, cached};
pub use crate::read::materialised::{GroupData, Materialised};

/// Numbers of which some may be missing, kept as `f64` with NaN for a
/// missing one: half the memory of `Vec<Option<f64>>`, which matters with a
/// row per member, domain and year at national scale. Stored numbers are
/// always finite (the ingest refuses others), so NaN is free to mean "none".
#[derive(Debug, Clone, Default)]
pub struct Values(Box<[f64]>);

impl Values {
    /// The `i`-th number, if present.
    pub fn get(&self, i: usize) -> Option<f64> {
        self.0.get(i).copied().filter(|v| !v.is_nan())
    }

    /// How many numbers (present or not).
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The `i`-th number as stored: NaN when missing or out of range.
    pub fn raw(&self, i: usize) -> f64 {
        self.0.get(i).copied().unwrap_or(f64::NAN)
    }

    /// Every number, present or not.
    pub fn iter(&self) -> impl Iterator<Item = Option<f64>> + '_ {
        self.0.iter().map(|v| (!v.is_nan()).then_some(*v))
    }

    /// As options.
    pub fn to_vec(&self) -> Vec<Option<f64>> {
        self.iter().collect()
    }
}

impl FromIterator<Option<f64>> for Values {
    fn from_iter<I: IntoIterator<Item = Option<f64>>>(iter: I) -> Self {
        Values(
            iter.into_iter()
                .map(|v| v.filter(|x| !x.is_nan()).unwrap_or(f64::NAN))
                .collect(),
        )
    }
}

impl From<Vec<Option<f64>>> for Values {
    fn from(v: Vec<Option<f64>>) -> Self {
        v.into_iter().collect()
    }
}

impl PartialEq for Values {
    fn eq(&self, other: &Self) -> bool {
        self.len() == other.len() && self.iter().eq(other.iter())
    }
}

/// What all rows of one submission share, kept once per submission.
#[derive(Debug, Clone, PartialEq)]
pub struct SubmissionMeta {
    /// Delta version of the commit that added it.
    pub version: u64,
    /// The submission.
    pub submission_id: String,
    /// Commit time, RFC 3339.
    pub submitted_at: String,
    /// Token id of the submitter.
    pub submitted_by: String,
    /// SHA-256 of the archived upload the rows came from (absent in rows
    /// stored before uploads were archived).
    pub upload_sha256: Option<String>,
    /// The upload's format.
    pub upload_format: Option<String>,
}

/// One stored row of a submission.
#[derive(Debug, Clone, PartialEq)]
pub struct StoredRow {
    /// The submission it belongs to.
    pub meta: Arc<SubmissionMeta>,
    /// Row in the uploaded file.
    pub row: u32,
    /// The member.
    pub member_id: String,
    /// The year.
    pub year: i32,
    /// Warnings stored with the row (JSON array).
    pub warnings: serde_json::Value,
    /// Basic figures in catalogue order.
    pub basic: Values,
}

/// A (year, member id) key.
pub type MemberYear = (i32, String);

/// Key figures of one member and year.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct KeyRow {
    /// Values in catalogue order.
    pub values: Values,
    /// Numerators of the weighted ratio.
    pub nums: Values,
    /// Denominators of the weighted ratio.
    pub dens: Values,
}

/// One year of a domain as of one data version: its stored rows, the
/// current row per member and the key figures of the current rows. Rows
/// are shared (`Arc`) between versions of the year, so that bringing a
/// year forward after an upload copies pointers, not figures.
///
/// The current rows are kept as indices into `history`, sorted by member
/// id, and the key figures as columns aligned with them ([`KeyColumns`]):
/// no member id is stored twice, and grouping a key figure is one pass
/// over a contiguous column. A year is held in the engine's memory cache
/// (`memory.rs`), which weighs it with [`YearData::bytes`].
#[derive(Debug, Default)]
pub struct YearData {
    /// Every stored row of the year, oldest first (by version, then row).
    pub history: Vec<Arc<StoredRow>>,
    /// Index into `history` of the current row of each member, in member
    /// id order.
    current: Vec<u32>,
    /// Key figures of the current rows, aligned with `current`.
    key: KeyColumns,
    /// What the rows and key figures take in memory (estimated once).
    base_bytes: usize,
    /// Groups of key-figure values, computed on first use
    /// (`grouping.rs`); a new version of the year starts with an empty
    /// cache.
    pub(crate) materialised: Materialised,
    /// The same year computed from perturbed basic figures (rule 14), from
    /// which every statistic for a non-admin caller comes; `None` when the
    /// ring perturbs nothing.
    perturbed: Option<Box<Perturbed>>,
}

/// A year's perturbed twin: the same rows, key figures computed from the
/// perturbed basic figures, and its own materialised groups.
#[derive(Debug)]
pub(crate) struct Perturbed {
    pub(crate) year: YearData,
}

/// The key figures of a year's current rows: per key figure a column of
/// values, numerators and denominators, aligned with the current rows (NaN
/// where a member has none), and whether a member's key figures could be
/// computed at all. Grouping reads one figure's column front to back,
/// instead of chasing a pointer per member.
#[derive(Debug, Default, Clone, PartialEq)]
pub(crate) struct KeyColumns {
    present: Vec<bool>,
    values: Vec<Box<[f64]>>,
    nums: Vec<Box<[f64]>>,
    dens: Vec<Box<[f64]>>,
}

/// One key figure's columns, aligned with the current rows.
#[derive(Debug, Clone, Copy)]
pub(crate) struct FigureColumn<'a> {
    /// Whether the member's key figures were computed.
    pub(crate) present: &'a [bool],
    /// Values (NaN: none).
    pub(crate) values: &'a [f64],
    /// Numerators of the weighted ratio (NaN: none).
    pub(crate) nums: &'a [f64],
    /// Denominators of the weighted ratio (NaN: none).
    pub(crate) dens: &'a [f64],
}

impl FigureColumn<'_> {
    /// The value of current row `i`, if it has one.
    pub(crate) fn value(&self, i: usize) -> Option<f64> {
        self.values
            .get(i)
            .copied()
            .filter(|v| !v.is_nan() && self.present.get(i).copied().unwrap_or(false))
    }
}

impl KeyColumns {
    /// Empty columns for `rows` current rows and `figures` key figures:
    /// nothing present until [`KeyColumns::set`] fills a row.
    pub(crate) fn empty(rows: usize, figures: usize) -> KeyColumns {
        let column = || vec![f64::NAN; rows].into_boxed_slice();
        KeyColumns {
            present: vec![false; rows],
            values: (0..figures).map(|_| column()).collect(),
            nums: (0..figures).map(|_| column()).collect(),
            dens: (0..figures).map(|_| column()).collect(),
        }
    }

    /// Values (0), numerators (1) or denominators (2) of one key figure,
    /// to fill.
    pub(crate) fn column_mut(&mut self, part: usize, figure: usize) -> Option<&mut [f64]> {
        let columns = match part {
            0 => &mut self.values,
            1 => &mut self.nums,
            2 => &mut self.dens,
            _ => return None,
        };
        columns.get_mut(figure).map(|c| &mut c[..])
    }

    /// Sets key figure `figure` of row `row` (non-finite numbers count as
    /// none) and marks the row present. Out-of-range indices are ignored.
    pub(crate) fn set(&mut self, row: usize, figure: usize, value: f64, num: f64, den: f64) {
        let finite = |x: f64| if x.is_finite() { x } else { f64::NAN };
        if let Some(p) = self.present.get_mut(row) {
            *p = true;
        }
        for (column, x) in [
            (&mut self.values, value),
            (&mut self.nums, num),
            (&mut self.dens, den),
        ] {
            if let Some(cell) = column.get_mut(figure).and_then(|c| c.get_mut(row)) {
                *cell = finite(x);
            }
        }
    }

    /// Marks a row present (a member whose key figures were computed, all
    /// of them possibly missing).
    pub(crate) fn mark(&mut self, row: usize) {
        if let Some(p) = self.present.get_mut(row) {
            *p = true;
        }
    }

    /// From one key row per current row.
    fn from_rows(rows: Vec<Option<KeyRow>>) -> KeyColumns {
        let figures = rows
            .iter()
            .flatten()
            .map(|k| k.values.len().max(k.nums.len()).max(k.dens.len()))
            .max()
            .unwrap_or(0);
        let mut out = KeyColumns::empty(rows.len(), figures);
        for (i, k) in rows.iter().enumerate() {
            let Some(k) = k else { continue };
            out.mark(i);
            for f in 0..figures {
                let get = |v: &Values| v.get(f).unwrap_or(f64::NAN);
                out.set(i, f, get(&k.values), get(&k.nums), get(&k.dens));
            }
        }
        out
    }

    /// The key row of current row `i`, if its key figures were computed.
    fn row(&self, i: usize) -> Option<KeyRow> {
        if !self.present.get(i).copied().unwrap_or(false) {
            return None;
        }
        let cells = |columns: &[Box<[f64]>]| -> Values {
            Values(
                columns
                    .iter()
                    .map(|c| c.get(i).copied().unwrap_or(f64::NAN))
                    .collect(),
            )
        };
        Some(KeyRow {
            values: cells(&self.values),
            nums: cells(&self.nums),
            dens: cells(&self.dens),
        })
    }

    /// One key figure's columns (empty when the figure is unknown).
    pub(crate) fn figure(&self, figure: usize) -> FigureColumn<'_> {
        fn column(c: &[Box<[f64]>], figure: usize) -> &[f64] {
            c.get(figure).map_or(&[], |c| c)
        }
        FigureColumn {
            present: &self.present,
            values: column(&self.values, figure),
            nums: column(&self.nums, figure),
            dens: column(&self.dens, figure),
        }
    }

    /// What the columns take on the heap.
    fn bytes(&self) -> usize {
        let columns: usize = [&self.values, &self.nums, &self.dens]
            .iter()
            .flat_map(|c| c.iter())
            .map(|c| c.len() * std::mem::size_of::<f64>() + 16)
            .sum();
        columns + self.present.len()
    }
}

impl YearData {
    /// The year from its stored rows (ordered by version, then row: a
    /// later row of a member replaces an earlier one as its current row)
    /// and the key figures of the current rows by member id.
    pub fn new(history: Vec<Arc<StoredRow>>, mut keys: HashMap<String, KeyRow>) -> YearData {
        let bare = YearData::without_keys(history);
        let rows = bare.current_rows().map(|(m, _)| keys.remove(m)).collect();
        bare.with_keys(KeyColumns::from_rows(rows))
    }

    /// The year from its stored rows, with no key figures yet: its current
    /// rows are known, so that the key figures can be computed for them and
    /// set with [`YearData::with_keys`].
    pub(crate) fn without_keys(history: Vec<Arc<StoredRow>>) -> YearData {
        // A year of one upload in member id order (the usual case, and
        // every generated ring) has every row current, in order already.
        if history.windows(2).all(|w| w[0].member_id < w[1].member_id) {
            let current = (0..history.len())
                .map(|i| u32::try_from(i).unwrap_or(u32::MAX))
                .collect();
            return YearData {
                history,
                current,
                key: KeyColumns::default(),
                base_bytes: 0,
                materialised: Materialised::default(),
                perturbed: None,
            };
        }
        let mut latest: HashMap<&str, u32> = HashMap::with_capacity(history.len());
        for (i, r) in history.iter().enumerate() {
            latest.insert(&r.member_id, u32::try_from(i).unwrap_or(u32::MAX));
        }
        let mut current: Vec<u32> = latest.into_values().collect();
        current.sort_unstable_by(|a, b| {
            let id = |i: &u32| history.get(*i as usize).map(|r| r.member_id.as_str());
            id(a).cmp(&id(b))
        });
        YearData {
            history,
            current,
            key: KeyColumns::default(),
            base_bytes: 0,
            materialised: Materialised::default(),
            perturbed: None,
        }
    }

    /// This year with the key figures of its current rows (aligned with
    /// [`YearData::current_rows`]).
    pub(crate) fn with_keys(self, key: KeyColumns) -> YearData {
        let base_bytes = estimate(&self.history, &self.current, &key);
        YearData {
            key,
            base_bytes,
            materialised: Materialised::default(),
            perturbed: None,
            ..self
        }
    }

    /// This year with its perturbed twin, whose key figures `key` were
    /// computed from the perturbed basic figures of the same current rows.
    pub(crate) fn with_perturbed(mut self, key: KeyColumns) -> YearData {
        let twin = YearData {
            history: self.history.clone(),
            current: self.current.clone(),
            base_bytes: key.bytes() + self.current.len() * std::mem::size_of::<u32>(),
            key,
            materialised: Materialised::default(),
            perturbed: None,
        };
        self.perturbed = Some(Box::new(Perturbed { year: twin }));
        self
    }

    /// The year computed from perturbed basic figures, if the ring
    /// perturbs.
    pub(crate) fn perturbed(&self) -> Option<&Perturbed> {
        self.perturbed.as_deref()
    }

    /// The current rows in member id order.
    pub fn current_rows(&self) -> impl Iterator<Item = (&str, &StoredRow)> {
        self.current.iter().filter_map(|&i| {
            self.history
                .get(i as usize)
                .map(|r| (r.member_id.as_str(), r.as_ref()))
        })
    }

    /// The current rows, without their key figures (in member id order).
    pub fn current_stored(&self) -> Vec<&StoredRow> {
        self.current_rows().map(|(_, r)| r).collect()
    }

    /// The key figures of the current rows in member id order (members
    /// whose key figures could not be computed are left out).
    pub fn keys(&self) -> impl Iterator<Item = (&str, KeyRow)> {
        self.current_rows()
            .enumerate()
            .filter_map(|(i, (m, _))| self.key.row(i).map(|k| (m, k)))
    }

    /// The key figures as columns aligned with [`YearData::current_rows`].
    pub(crate) fn key_columns(&self) -> &KeyColumns {
        &self.key
    }

    /// The number of members with a current row.
    pub fn len(&self) -> usize {
        self.current.len()
    }

    /// Whether no member has a row.
    pub fn is_empty(&self) -> bool {
        self.current.is_empty()
    }

    /// The position of a member among the current rows.
    pub(crate) fn position(&self, member_id: &str) -> Option<usize> {
        self.current
            .binary_search_by(|&i| {
                self.history
                    .get(i as usize)
                    .map(|r| r.member_id.as_str())
                    .cmp(&Some(member_id))
            })
            .ok()
    }

    /// The member id of the current row at `position`.
    pub(crate) fn member_at(&self, position: usize) -> Option<&str> {
        let i = *self.current.get(position)?;
        self.history.get(i as usize).map(|r| r.member_id.as_str())
    }

    /// A member's current row.
    pub fn current_row(&self, member_id: &str) -> Option<&StoredRow> {
        let p = self.position(member_id)?;
        let i = *self.current.get(p)?;
        self.history.get(i as usize).map(Arc::as_ref)
    }

    /// A member's key figures.
    pub fn key_of(&self, member_id: &str) -> Option<KeyRow> {
        self.key.row(self.position(member_id)?)
    }

    /// Whether the row at `index` of `history` is its member's current row.
    pub fn is_current(&self, index: usize) -> bool {
        self.history
            .get(index)
            .and_then(|r| self.position(&r.member_id))
            .and_then(|p| self.current.get(p))
            .is_some_and(|&i| i as usize == index)
    }

    /// What the year takes in memory, estimated: its rows and key figures
    /// and the groups materialised so far.
    pub fn bytes(&self) -> usize {
        self.base_bytes
            + self
                .materialised
                .bytes
                .load(std::sync::atomic::Ordering::Relaxed)
            + self.perturbed.as_ref().map_or(0, |p| {
                p.year.bytes() + p.year.history.len() * std::mem::size_of::<usize>()
            })
    }
}

/// An estimate of what a year's rows and key figures take on the heap:
/// the structs, their vectors and strings, and the allocator's share.
fn estimate(history: &[Arc<StoredRow>], current: &[u32], key: &KeyColumns) -> usize {
    use std::mem::size_of;
    // An allocation costs its size rounded up plus about a word of the
    // allocator's bookkeeping.
    const ALLOC: usize = 16;
    let values = |v: &Values| v.len() * size_of::<f64>() + ALLOC;
    let rows: usize = history
        .iter()
        .map(|r| {
            size_of::<StoredRow>()
                + 2 * size_of::<usize>()
                + ALLOC
                + r.member_id.capacity()
                + ALLOC
                + values(&r.basic)
                + json_bytes(&r.warnings)
        })
        .sum();
    let keys = key.bytes();
    // Submissions' shared records: a few per year, a few hundred bytes each.
    let metas = history
        .iter()
        .map(|r| Arc::as_ptr(&r.meta))
        .collect::<std::collections::HashSet<_>>()
        .len()
        * 512;
    size_of::<YearData>() + rows + keys + std::mem::size_of_val(current) + metas
}

/// The heap a JSON value takes, estimated generously.
fn json_bytes(v: &serde_json::Value) -> usize {
    use serde_json::Value;
    const NODE: usize = std::mem::size_of::<Value>() + 16;
    match v {
        Value::String(s) => NODE + s.capacity(),
        Value::Array(a) => NODE + a.iter().map(json_bytes).sum::<usize>(),
        Value::Object(o) => {
            NODE + o
                .iter()
                .map(|(k, v)| k.len() + 64 + json_bytes(v))
                .sum::<usize>()
        }
        _ => NODE,
    }
}
