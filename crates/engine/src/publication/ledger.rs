//! The ledger as this process knows it: entries read once and
//! kept, the length of each year's ledger in memory, and put-if-absent
//! appends.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};

use vergleichsring_catalog::Catalog;
use vergleichsring_store::{Append, LedgerEntry, Store};

use super::{Systems, View, lock};
use crate::error::Result;
use crate::groups;

/// The ledgers as read so far, the views built from them, and the lock
/// that serialises this process's writers of ledger entries (other
/// processes are kept apart by put-if-absent).
pub(crate) struct Ledgers {
    store: Arc<Store>,
    /// Per domain, the length of each year's ledger as last seen on disk:
    /// reads take it from here, so that answering touches no file. It is
    /// read again by `follow_ledgers` (every `lake.refresh_millis` in
    /// `serve`), when a write loses its number, and after this process's
    /// own writes.
    pub(super) lengths: Mutex<HashMap<String, Arc<BTreeMap<i32, u64>>>>,
    pub(super) entries: Mutex<HashMap<(String, i32), Entries>>,
    pub(super) views: Mutex<Vec<(String, Arc<View>)>>,
    /// Custom groups refused in a publication, by (publication, group,
    /// ledger length): asked again with nothing new recorded, the answer
    /// is the same.
    pub(super) refused: Mutex<HashMap<(String, String, usize), groups::Refusal>>,
    /// The audit's view of a (domain, year)'s ledger, at a ledger length:
    /// built once for the custom groups asked while nothing new is
    /// recorded.
    pub(super) systems: Mutex<HashMap<(String, i32), AuditView>>,
    pub(super) write: tokio::sync::Mutex<()>,
}

impl Ledgers {
    /// Nothing read yet: each ledger is read on first use.
    pub(crate) fn new(store: Arc<Store>) -> Ledgers {
        Ledgers {
            store,
            lengths: Mutex::default(),
            entries: Mutex::default(),
            views: Mutex::default(),
            refused: Mutex::default(),
            systems: Mutex::default(),
            write: tokio::sync::Mutex::default(),
        }
    }
}

/// The audit's view of a ledger and the ledger length it was built at.
pub(super) type AuditView = (usize, Arc<Systems>);

/// The entries of one (domain, year)'s ledger, oldest first.
pub(super) type Entries = Arc<Vec<Arc<LedgerEntry>>>;

impl Ledgers {
    /// The entries of a (domain, year)'s ledger up to the length last seen
    /// on disk (see `Ledgers::lengths`); entries not read yet are read from
    /// the store once and kept.
    pub(crate) fn entries_of(&self, domain: &str, year: i32) -> Result<Entries> {
        let len = self.lengths_of(domain)?.get(&year).copied().unwrap_or(0);
        let key = (domain.to_string(), year);
        let cached = lock(&self.entries).get(&key).cloned();
        let have = cached.as_ref().map_or(0, |c| c.len() as u64);
        if have >= len {
            return Ok(cached.unwrap_or_default());
        }
        let mut all: Vec<Arc<LedgerEntry>> = cached.map(|c| (*c).clone()).unwrap_or_default();
        all.extend(
            self.store
                .ledger_entries(domain, year, have + 1, len)?
                .into_iter()
                .map(Arc::new),
        );
        let all = Arc::new(all);
        lock(&self.entries).insert(key, all.clone());
        Ok(all)
    }

    /// A tag of every ledger of a domain (year and length), which changes
    /// with every publication and custom release: part of the `ETag` of
    /// answers computed from publications.
    pub(crate) fn tag(&self, domain: &str) -> String {
        self.lengths_of(domain)
            .map(|l| {
                l.iter()
                    .map(|(y, n)| format!("{y}:{n}"))
                    .collect::<Vec<_>>()
                    .join(",")
            })
            .unwrap_or_default()
    }

    /// The length of every year's ledger of a domain, as last seen.
    fn lengths_of(&self, domain: &str) -> Result<Arc<BTreeMap<i32, u64>>> {
        if let Some(l) = lock(&self.lengths).get(domain) {
            return Ok(l.clone());
        }
        self.scan(domain)
    }

    /// Reads the lengths of a domain's ledgers from the store.
    fn scan(&self, domain: &str) -> Result<Arc<BTreeMap<i32, u64>>> {
        let mut lengths = BTreeMap::new();
        for y in self.store.ledger_years(domain)? {
            lengths.insert(y, self.store.ledger_len(domain, y)?);
        }
        let lengths = Arc::new(lengths);
        lock(&self.lengths).insert(domain.to_string(), lengths.clone());
        Ok(lengths)
    }

    /// The years of a domain with a ledger.
    pub(crate) fn years(&self, domain: &str) -> Result<Vec<i32>> {
        Ok(self.lengths_of(domain)?.keys().copied().collect())
    }

    /// Picks up publications and custom releases that other processes on
    /// the data directory recorded. Run with `follow_log`.
    pub(crate) fn follow(&self, catalog: &Catalog) -> Result<()> {
        for d in &catalog.domains {
            self.scan(&d.id)?;
        }
        Ok(())
    }

    /// Appends an entry to a ledger if its number is free, and tells the
    /// cache either way.
    pub(super) fn append(&self, domain: &str, year: i32, entry: &LedgerEntry) -> Result<Append> {
        let outcome = self.store.append_ledger(domain, year, entry)?;
        match outcome {
            Append::Done => {
                let mut all = lock(&self.lengths);
                let mut lengths: BTreeMap<i32, u64> =
                    all.get(domain).map(|l| (**l).clone()).unwrap_or_default();
                let n = lengths.entry(year).or_default();
                *n = (*n).max(entry.seq);
                all.insert(domain.to_string(), Arc::new(lengths));
            }
            Append::Taken => {
                self.scan(domain)?;
            }
        }
        Ok(outcome)
    }
}
