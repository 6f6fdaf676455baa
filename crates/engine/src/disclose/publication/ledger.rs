//! The ledger as this process knows it: entries read when needed and
//! kept in the memory cache, the publications and the length of each
//! year's ledger in memory, and put-if-absent appends.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};

use vergleichsring_catalog::Catalog;
use vergleichsring_store::{Append, LedgerEntry, LedgerRecord, Publication, Store};

use super::{Systems, lock};
use crate::disclose::differencing;
use crate::error::Result;
use crate::read::memory::{Key, MemoryCache, Weigh};

/// The ledgers as read so far, and the lock that serialises this
/// process's writers of ledger entries (other processes are kept apart by
/// put-if-absent). The entries themselves (a publication at national scale
/// holds every member's values: megabytes) live in the memory cache and
/// are read again when they were dropped; what every request needs to pick
/// its publication (the publications' heads) is kept here.
pub(crate) struct Ledgers {
    store: Arc<Store>,
    memory: Arc<MemoryCache>,
    /// Per domain, the length of each year's ledger as last seen on disk:
    /// reads take it from here, so that answering touches no file. It is
    /// read again by `follow_ledgers` (every `lake.refresh_millis` in
    /// `serve`), when a write loses its number, and after this process's
    /// own writes.
    pub(super) lengths: Mutex<HashMap<String, Arc<BTreeMap<i32, u64>>>>,
    /// Per (domain, year), the publications of the ledger (number and
    /// head) as of a ledger length.
    heads: Mutex<HashMap<(String, i32), (u64, Heads)>>,
    /// Custom groups refused in a publication, by (publication, group,
    /// ledger length): asked again with nothing new recorded, the answer
    /// is the same.
    pub(super) refused: Mutex<HashMap<(String, String, usize), differencing::Refusal>>,
    /// The audit's view of a (domain, year)'s ledger, at a ledger length:
    /// built once for the custom groups asked while nothing new is
    /// recorded.
    pub(super) systems: Mutex<HashMap<(String, i32), AuditView>>,
    /// Per domain, held while an entry of one of its ledgers is decided
    /// and recorded: what a publication or a custom group's release is
    /// checked against is the ledgers of its own domain only, so domains
    /// publish side by side.
    write: HashMap<String, tokio::sync::Mutex<()>>,
    /// For a domain not in the catalogue (never asked for: the engine
    /// checks domains first).
    write_other: tokio::sync::Mutex<()>,
}

impl Ledgers {
    /// Nothing read yet: each ledger is read on first use.
    pub(crate) fn new(store: Arc<Store>, memory: Arc<MemoryCache>) -> Ledgers {
        Ledgers {
            memory,
            lengths: Mutex::default(),
            heads: Mutex::default(),
            refused: Mutex::default(),
            systems: Mutex::default(),
            write: store
                .catalog()
                .domains
                .iter()
                .map(|d| (d.id.clone(), tokio::sync::Mutex::default()))
                .collect(),
            write_other: tokio::sync::Mutex::default(),
            store,
        }
    }

    /// The lock of a domain's ledger writers.
    pub(super) fn writer(&self, domain: &str) -> &tokio::sync::Mutex<()> {
        self.write.get(domain).unwrap_or(&self.write_other)
    }
}

/// The audit's view of a ledger and the ledger length it was built at.
pub(super) type AuditView = (usize, Arc<Systems>);

/// The entries of one (domain, year)'s ledger, oldest first.
pub(super) type Entries = Arc<Vec<Arc<LedgerEntry>>>;

/// The publications of one ledger: (number, publication), oldest first.
pub(crate) type Heads = Arc<Vec<(u64, Publication)>>;

/// Entries as the memory cache holds them, weighed once.
struct Held {
    entries: Entries,
    bytes: usize,
}

impl Weigh for Held {
    fn bytes(&self) -> usize {
        self.bytes
    }
}

/// What a ledger entry takes in memory, estimated.
fn entry_bytes(e: &LedgerEntry) -> usize {
    const S: usize = 24 + 16;
    let record = match &e.record {
        LedgerRecord::Publication(p) => {
            let members: usize = p
                .members
                .iter()
                .map(|m| {
                    std::mem::size_of::<vergleichsring_store::Member>()
                        + 2 * S
                        + m.member_id.len()
                        + m.name.len()
                })
                .sum();
            let ids: usize = p.member_ids.iter().map(|m| S + m.len()).sum();
            let groups: usize = p
                .groups
                .values()
                .flatten()
                .map(|g| S + g.as_ref().map_or(0, String::len))
                .sum();
            let figures: usize = p
                .figures
                .iter()
                .map(|f| {
                    f.values.len() * std::mem::size_of::<Option<u64>>()
                        + (f.disclosed.len() + f.withheld.len()) * (4 * S + 32)
                        + 64
                })
                .sum();
            members + ids + groups + figures + 1024
        }
        LedgerRecord::CustomGroup(c) => {
            c.member_ids.iter().map(|m| S + m.len()).sum::<usize>()
                + c.figures.iter().map(|f| S + f.len()).sum::<usize>()
                + 256
        }
    };
    record + 256
}

impl Ledgers {
    /// The entries of a (domain, year)'s ledger up to the length last seen
    /// on disk (see `Ledgers::lengths`): from the memory cache, with the
    /// entries not read yet read from the store and kept there.
    pub(crate) fn entries_of(&self, domain: &str, year: i32) -> Result<Entries> {
        let len = self.lengths_of(domain)?.get(&year).copied().unwrap_or(0);
        let key = Key::Ledger {
            domain: domain.to_string(),
            year,
        };
        let cached: Option<Arc<Held>> = self.memory.get(&key);
        let have = cached.as_ref().map_or(0, |c| c.entries.len() as u64);
        if have >= len {
            return Ok(cached.map(|c| c.entries.clone()).unwrap_or_default());
        }
        let mut all: Vec<Arc<LedgerEntry>> =
            cached.map(|c| (*c.entries).clone()).unwrap_or_default();
        all.extend(
            self.store
                .ledger_entries(domain, year, have + 1, len)?
                .into_iter()
                .map(Arc::new),
        );
        let bytes = all.iter().map(|e| entry_bytes(e)).sum();
        let all = Arc::new(all);
        self.memory.insert(
            key,
            Arc::new(Held {
                entries: all.clone(),
                bytes,
            }),
        );
        Ok(all)
    }

    /// The publications of a (domain, year)'s ledger, oldest first, up to
    /// the length last seen on disk: kept in memory, so that picking the
    /// publication a request reads needs no entry.
    pub(crate) fn publications_of(&self, domain: &str, year: i32) -> Result<Heads> {
        let len = self.lengths_of(domain)?.get(&year).copied().unwrap_or(0);
        let key = (domain.to_string(), year);
        let known = lock(&self.heads).get(&key).cloned();
        let have = known.as_ref().map_or(0, |(at, _)| *at);
        if have >= len {
            return Ok(known.map(|(_, h)| h).unwrap_or_default());
        }
        let mut heads: Vec<(u64, Publication)> =
            known.map(|(_, h)| (*h).clone()).unwrap_or_default();
        heads.extend(self.store.ledger_heads(domain, year, have + 1, len)?);
        let heads = Arc::new(heads);
        lock(&self.heads).insert(key, (len, heads.clone()));
        Ok(heads)
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
    pub(super) async fn append(
        &self,
        domain: &str,
        year: i32,
        entry: &LedgerEntry,
    ) -> Result<Append> {
        let outcome = self.store.append_ledger(domain, year, entry).await?;
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
                // Another replica wrote it: into the cache, then counted.
                self.store.sync_ledgers().await?;
                self.scan(domain)?;
            }
        }
        Ok(outcome)
    }
}
