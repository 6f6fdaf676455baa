//! [`Snapshots`]: the year index of each domain at its current version,
//! the years loaded on demand into the memory cache, and following the
//! commits of other processes on the lake.

use std::collections::HashMap;
use std::sync::{Arc, RwLock};

use vergleichsring_catalog::{Catalog, Domain};
use vergleichsring_store::{DeltaTable, Store};

use crate::disclose::noise::Noise;
use crate::error::{EngineError, Result};
use crate::read::load;
use crate::read::memory::{Key, MemoryCache, Weigh};
use crate::read::snapshot::{Snapshot, YearData};

/// How snapshots were brought up to date since start.
#[derive(Debug, Default)]
pub struct RefreshCounters {
    /// Year indexes read from the whole table.
    pub full_loads: std::sync::atomic::AtomicU64,
    /// Snapshots brought forward by one commit.
    pub incremental: std::sync::atomic::AtomicU64,
}

impl Weigh for YearData {
    fn bytes(&self) -> usize {
        YearData::bytes(self)
    }
}

/// The snapshots of every domain: the year index at the current data
/// version each; the years themselves live in the memory cache.
pub(crate) struct Snapshots {
    store: Arc<Store>,
    memory: Arc<MemoryCache>,
    current: RwLock<HashMap<String, Arc<Snapshot>>>,
    /// Held while an index is loaded or moved forward by a commit, so
    /// that commits are applied in order and a table is read once.
    pub(crate) refresh: tokio::sync::Mutex<()>,
    counters: RefreshCounters,
    /// The ring's multipliers (rule 14): every year loaded gets its
    /// perturbed twin. `None` when the ring perturbs nothing.
    noise: Option<Arc<Noise>>,
}

impl Snapshots {
    /// No snapshot yet: each index is read on first use.
    pub(crate) fn new(
        store: Arc<Store>,
        memory: Arc<MemoryCache>,
        noise: Option<Arc<Noise>>,
    ) -> Snapshots {
        Snapshots {
            store,
            memory,
            current: RwLock::new(HashMap::new()),
            refresh: tokio::sync::Mutex::new(()),
            counters: RefreshCounters::default(),
            noise,
        }
    }

    /// The ring's multipliers, if it perturbs.
    pub(crate) fn noise(&self) -> Option<&Noise> {
        self.noise.as_deref()
    }

    /// How snapshots were brought up to date since start.
    pub(crate) fn counters(&self) -> &RefreshCounters {
        &self.counters
    }

    fn cached(&self, domain: &str) -> Option<Arc<Snapshot>> {
        match self.current.read() {
            Ok(s) => s.get(domain).cloned(),
            Err(p) => p.into_inner().get(domain).cloned(),
        }
    }

    fn forget(&self, domain: &str) {
        match self.current.write() {
            Ok(mut m) => m.remove(domain),
            Err(p) => p.into_inner().remove(domain),
        };
    }

    async fn table(&self, domain: &str) -> Result<DeltaTable> {
        self.store
            .table(domain)
            .await
            .ok_or_else(|| EngineError::UnknownDomain(domain.to_string()))
    }

    /// The domain's snapshot at its current data version (its index, no
    /// year loaded), read at most once per version.
    pub(crate) async fn current(&self, d: &Domain) -> Result<Arc<Snapshot>> {
        let domain = d.id.as_str();
        let version = self.store.data_version(domain).await;
        if let Some(s) = self.cached(domain).filter(|s| s.version == version) {
            return Ok(s);
        }
        let _guard = self.refresh.lock().await;
        let table = self.table(domain).await?;
        if let Some(s) = self.cached(domain).filter(|s| s.version == table.version()) {
            return Ok(s);
        }
        let started = std::time::Instant::now();
        let index = load::load_index(&table).await?;
        let snap = Arc::new(Snapshot::of_index(table.version(), Arc::new(index)));
        self.counters
            .full_loads
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        tracing::info!(
            domain,
            version = ?snap.version,
            rows = snap.row_count(),
            ms = started.elapsed().as_millis() as u64,
            "year index read"
        );
        match self.current.write() {
            Ok(mut s) => s.insert(domain.to_string(), snap.clone()),
            Err(p) => p.into_inner().insert(domain.to_string(), snap.clone()),
        };
        Ok(snap)
    }

    /// A domain's snapshot at a past Delta version: the current index cut
    /// at that version. A version this process has not followed yet (a
    /// publication of another replica) is read from the lake with time
    /// travel.
    pub(crate) async fn at(&self, d: &Domain, version: u64) -> Result<Arc<Snapshot>> {
        let current = self.current(d).await?;
        if current.version.is_some_and(|v| v >= version) {
            return Ok(Arc::new(current.at(version)));
        }
        let mut table = self.table(&d.id).await?;
        table
            .load_version(version as _)
            .await
            .map_err(vergleichsring_store::StoreError::from)?;
        let index = load::load_index(&table).await?;
        tracing::info!(domain = d.id, version, "year index read at a later version");
        Ok(Arc::new(Snapshot::of_index(Some(version), Arc::new(index))))
    }

    /// `snapshot` with the given years loaded (those with data at its
    /// version): from the memory cache, or read from the lake and kept
    /// there.
    pub(crate) async fn load(
        &self,
        d: &Domain,
        snapshot: &Snapshot,
        years: impl IntoIterator<Item = i32>,
    ) -> Result<Arc<Snapshot>> {
        let mut loaded = Vec::new();
        for year in years {
            if snapshot.is_loaded(year) {
                continue;
            }
            let Some(version) = snapshot.year_version(year) else {
                continue;
            };
            loaded.push((year, self.year(d, year, version).await?));
        }
        Ok(Arc::new(snapshot.with_years(loaded)))
    }

    /// `snapshot` with every year loaded: for tests and tools (at national
    /// scale this reads the whole domain).
    pub(crate) async fn load_all(&self, d: &Domain, snapshot: &Snapshot) -> Result<Arc<Snapshot>> {
        self.load(d, snapshot, snapshot.years()).await
    }

    /// The current snapshot with the given years loaded.
    pub(crate) async fn current_with(
        &self,
        d: &Domain,
        years: impl IntoIterator<Item = i32>,
    ) -> Result<Arc<Snapshot>> {
        let current = self.current(d).await?;
        self.load(d, &current, years).await
    }

    /// A year as of the last commit that touched it (`version`).
    async fn year(&self, d: &Domain, year: i32, version: u64) -> Result<Arc<YearData>> {
        let key = Key::Year {
            domain: d.id.clone(),
            year,
            version,
        };
        self.memory
            .get_or_load(key, || async {
                let started = std::time::Instant::now();
                let mut table = self.table(&d.id).await?;
                // A replica that has not followed the commit yet reads the
                // table at it.
                if table.version().is_none_or(|v| v < version) {
                    table
                        .load_version(version as _)
                        .await
                        .map_err(vergleichsring_store::StoreError::from)?;
                }
                let data = load::load_year(d, &table, year, version, self.noise()).await?;
                tracing::debug!(
                    domain = d.id,
                    year,
                    version,
                    rows = data.history.len(),
                    ms = started.elapsed().as_millis() as u64,
                    "year loaded"
                );
                Ok::<_, EngineError>(data)
            })
            .await
    }

    /// Applies every commit beyond this process's table handles to the
    /// cached snapshot, one commit at a time (each commit's rows are found
    /// by their `version` column). Returns the number of commits applied.
    pub(crate) async fn follow(&self, catalog: &Catalog) -> Result<usize> {
        let _guard = self.refresh.lock().await;
        let moved = self.store.follow_log().await?;
        let mut applied = 0;
        for (domain, old, new) in moved {
            let d = catalog
                .domain(&domain)
                .ok_or_else(|| EngineError::UnknownDomain(domain.clone()))?;
            for v in old.map_or(0, |o| o + 1)..=new {
                match self.commit_rows(d, v).await {
                    Ok(Some(c)) => {
                        self.apply_commit(d, &c).await;
                        applied += 1;
                    }
                    // A commit that added no rows and no data (compaction
                    // by another process): the same data at the next
                    // version. Rows of a data commit that cannot be found
                    // drop the cache instead.
                    Ok(None) if !self.store.commit_adds_data(&domain, v).await? => {
                        self.relabel(d, v);
                        applied += 1;
                    }
                    Ok(None) => {
                        tracing::warn!(
                            domain,
                            version = v,
                            "a data commit's rows were not found; the next read reloads"
                        );
                        self.forget(&domain);
                        break;
                    }
                    Err(e) => {
                        tracing::warn!(domain, version = v, error = %e, "reading another writer's commit failed; the next read reloads");
                        self.forget(&domain);
                        break;
                    }
                }
            }
            tracing::info!(domain, version = new, "followed commits of other writers");
        }
        Ok(applied)
    }

    /// Moves the cached snapshot of a domain to `version` without a change
    /// of data, if it is at the version before; else drops it.
    pub(crate) fn relabel(&self, d: &Domain, version: u64) {
        let domain = d.id.as_str();
        let mut map = match self.current.write() {
            Ok(m) => m,
            Err(p) => p.into_inner(),
        };
        let next = map
            .get(domain)
            .filter(|s| s.version.map_or(version == 0, |v| v + 1 == version))
            .map(|s| Arc::new(s.relabelled(version)));
        match next {
            Some(s) => {
                map.insert(domain.to_string(), s);
            }
            None => {
                map.remove(domain);
            }
        }
    }

    /// The rows one commit added, read back from the table; `None` when it
    /// added none.
    async fn commit_rows(
        &self,
        d: &Domain,
        version: u64,
    ) -> Result<Option<vergleichsring_store::Committed>> {
        let domain = d.id.as_str();
        let table = self
            .store
            .table(domain)
            .await
            .ok_or_else(|| EngineError::UnknownDomain(domain.to_string()))?;
        let batches = load::query_figures(
            &table,
            format!("SELECT * FROM figures WHERE version = {version} ORDER BY row"),
        )
        .await?;
        let Some(schema) = batches.first().map(|b| b.schema()) else {
            return Ok(None);
        };
        let batch = arrow::compute::concat_batches(&schema, &batches)?;
        if batch.num_rows() == 0 {
            return Ok(None);
        }
        Ok(Some(vergleichsring_store::Committed {
            version,
            submitted_at: String::new(),
            batch,
        }))
    }

    /// Brings the cached index of a domain forward by one commit. A year
    /// the commit touches that is in the memory cache is brought forward
    /// too (its rows appended, its key figures computed again), so that
    /// the year an upload went to answers at once; other years are read
    /// when asked. Called with `refresh` held. If the index is not at the
    /// previous version (or the refresh fails), it is dropped and the next
    /// read loads it again.
    pub(crate) async fn apply_commit(
        &self,
        domain: &Domain,
        committed: &vergleichsring_store::Committed,
    ) {
        let started = std::time::Instant::now();
        let previous = self.cached(&domain.id).filter(|s| {
            s.version
                .map_or(committed.version == 0, |v| v + 1 == committed.version)
        });
        let next = match previous {
            Some(p) => self
                .forward(domain, &p, committed)
                .await
                .map_err(|e| tracing::warn!(error = %e, "snapshot refresh failed; the next read reloads"))
                .ok(),
            None => None,
        };
        let mut map = match self.current.write() {
            Ok(m) => m,
            Err(p) => p.into_inner(),
        };
        match next {
            Some(s) => {
                tracing::debug!(
                    domain = domain.id,
                    version = committed.version,
                    us = started.elapsed().as_micros() as u64,
                    "snapshot refreshed"
                );
                map.insert(domain.id.clone(), Arc::new(s));
                self.counters
                    .incremental
                    .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            }
            None => {
                map.remove(&domain.id);
            }
        }
    }

    async fn forward(
        &self,
        d: &Domain,
        previous: &Snapshot,
        committed: &vergleichsring_store::Committed,
    ) -> Result<Snapshot> {
        let next = previous.with_commit(committed.version, &committed.batch)?;
        for (year, rows) in load::rows_by_year(d, &committed.batch)? {
            let before = previous.year_version(year);
            let held: Option<Arc<YearData>> = match before {
                Some(v) => self.memory.get(&Key::Year {
                    domain: d.id.clone(),
                    year,
                    version: v,
                }),
                None => Some(Arc::default()),
            };
            let Some(held) = held else {
                continue;
            };
            let data = load::year_with_rows(d, Some(&held), rows, self.noise()).await?;
            self.memory.insert(
                Key::Year {
                    domain: d.id.clone(),
                    year,
                    version: committed.version,
                },
                Arc::new(data),
            );
        }
        Ok(next)
    }
}
