//! [`Snapshots`]: the snapshot of each domain, the cache of past versions
//! read with time travel, and following the commits of other processes on
//! the lake.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, RwLock};

use vergleichsring_catalog::{Catalog, Domain};
use vergleichsring_store::Store;

use crate::error::{EngineError, Result};
use crate::session;
use crate::snapshot::Snapshot;

/// A snapshot of a past version: (domain, Delta version) and the snapshot.
pub(crate) type PastSnapshot = ((String, u64), Arc<Snapshot>);

/// How many past snapshots are kept (each is a whole domain at a version).
const PAST_SNAPSHOTS: usize = 6;

/// How snapshots were brought up to date since start.
#[derive(Debug, Default)]
pub struct RefreshCounters {
    /// Snapshots loaded from the whole table.
    pub full_loads: std::sync::atomic::AtomicU64,
    /// Snapshots brought forward by one commit, one year rebuilt.
    pub incremental: std::sync::atomic::AtomicU64,
}

/// The snapshots of every domain: one at the current data version each,
/// and a few of past versions.
pub(crate) struct Snapshots {
    store: Arc<Store>,
    current: RwLock<HashMap<String, Arc<Snapshot>>>,
    /// Held while a snapshot is loaded or moved forward by a commit, so
    /// that commits are applied in order and a table is read once.
    pub(crate) refresh: tokio::sync::Mutex<()>,
    counters: RefreshCounters,
    /// Snapshots of past versions asked for with `as_of`, a few at a time.
    past: Mutex<Vec<PastSnapshot>>,
}

impl Snapshots {
    /// No snapshot yet: each is computed on first use.
    pub(crate) fn new(store: Arc<Store>) -> Snapshots {
        Snapshots {
            store,
            current: RwLock::new(HashMap::new()),
            refresh: tokio::sync::Mutex::new(()),
            counters: RefreshCounters::default(),
            past: Mutex::new(Vec::new()),
        }
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

    /// The domain's snapshot at its current data version, computed at most
    /// once per version.
    pub(crate) async fn current(&self, d: &Domain) -> Result<Arc<Snapshot>> {
        let domain = d.id.as_str();
        let version = self.store.data_version(domain).await;
        if let Some(s) = self.cached(domain).filter(|s| s.version == version) {
            return Ok(s);
        }
        let _guard = self.refresh.lock().await;
        let table = self
            .store
            .table(domain)
            .await
            .ok_or_else(|| EngineError::UnknownDomain(domain.to_string()))?;
        if let Some(s) = self.cached(domain).filter(|s| s.version == table.version()) {
            return Ok(s);
        }
        let started = std::time::Instant::now();
        let snap = Arc::new(Snapshot::load(d, &table).await?);
        self.counters
            .full_loads
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        tracing::info!(
            domain,
            version = ?snap.version,
            rows = snap.row_count(),
            ms = started.elapsed().as_millis() as u64,
            "snapshot computed"
        );
        match self.current.write() {
            Ok(mut s) => s.insert(domain.to_string(), snap.clone()),
            Err(p) => p.into_inner().insert(domain.to_string(), snap.clone()),
        };
        Ok(snap)
    }

    /// A domain's snapshot at a past Delta version, read with Delta Lake
    /// time travel. A few are kept, because a frozen release tends to be
    /// asked for again and again (every member's report of the year).
    pub(crate) async fn at(&self, d: &Domain, version: u64) -> Result<Arc<Snapshot>> {
        let domain = d.id.as_str();
        if self.store.data_version(domain).await == Some(version) {
            return self.current(d).await;
        }
        let key = (domain.to_string(), version);
        let lookup =
            |past: &Vec<PastSnapshot>| past.iter().find(|(k, _)| *k == key).map(|(_, s)| s.clone());
        let cached = match self.past.lock() {
            Ok(p) => lookup(&p),
            Err(p) => lookup(&p.into_inner()),
        };
        if let Some(s) = cached {
            return Ok(s);
        }
        let mut table = self
            .store
            .table(domain)
            .await
            .ok_or_else(|| EngineError::UnknownDomain(domain.to_string()))?;
        let started = std::time::Instant::now();
        table
            .load_version(version as _)
            .await
            .map_err(vergleichsring_store::StoreError::from)?;
        let snap = Arc::new(Snapshot::load(d, &table).await?);
        tracing::info!(
            domain,
            version,
            ms = started.elapsed().as_millis() as u64,
            "past snapshot loaded (time travel)"
        );
        let mut past = match self.past.lock() {
            Ok(p) => p,
            Err(p) => p.into_inner(),
        };
        if past.len() >= PAST_SNAPSHOTS {
            past.remove(0);
        }
        past.push((key, snap.clone()));
        Ok(snap)
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
        let batches = session::on_pool(async move {
            let ctx = session::new_context();
            table.update_datafusion_session(&ctx.state())?;
            ctx.register_table("figures", table.table_provider().await?)?;
            Ok(ctx
                .sql(&format!(
                    "SELECT * FROM figures WHERE version = {version} ORDER BY row"
                ))
                .await?
                .collect()
                .await?)
        })
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

    /// Brings the cached snapshot of a domain forward by one commit,
    /// rebuilding only the year it touches. Called with `refresh` held. If
    /// the cache is not at the previous version (or the refresh fails), the
    /// cache is dropped and the next read loads the table again.
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
            Some(p) => p
                .with_commit(domain, committed.version, &committed.batch)
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
}
