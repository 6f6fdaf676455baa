//! Maintenance: compaction of the Delta tables, and backup and restore of a
//! whole data directory with its lake (local or on object storage).
//!
//! A backup is a directory: the data directory's catalogue, `lake/<domain>/`
//! and `lake/_access_log/` holding each table as a local Delta table,
//! `lake/_state/` holding the state log and the objects beside it (ledger,
//! release member lists, archived uploads), and `backup.json` saying what
//! was copied. It is consistent per table: each table's log is copied up
//! to the version seen when the backup started, after the data files, so
//! every copied commit finds its files; the state log is copied up to the
//! change seen then, after the objects it refers to. Restoring needs an
//! empty target.

use std::collections::BTreeMap;
use std::path::Path;

use deltalake::{DeltaTable, ObjectStore};
use futures::TryStreamExt;
use object_store::ObjectStoreExt;
use serde::{Deserialize, Serialize};

use crate::lake::{LakeLocation, open_table};
use crate::{Result, Store, StoreError};

/// What a backup holds (`backup.json`).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct BackupManifest {
    /// When it was made (RFC 3339).
    pub made_at: String,
    /// Where the lake was (its URL, or `data directory`).
    pub source_lake: String,
    /// The Delta version of each domain's table in the backup (`None`:
    /// no commit yet).
    pub versions: BTreeMap<String, Option<u64>>,
    /// Files copied per domain (log and data).
    pub files: BTreeMap<String, usize>,
    /// The last change of the state log in the backup (absent in backups
    /// made before the state moved into the lake).
    #[serde(default)]
    pub state_seq: u64,
    /// The Delta version of the access log's table (`None`: no commit).
    #[serde(default)]
    pub access_log_version: Option<u64>,
}

/// Copies the state's objects (ledger, release member lists, uploads) and
/// then its log up to change `seq`, in order, from `from` to `to` (both
/// rooted at `_state`). Objects already in `to` are left as they are.
async fn copy_state(from: &dyn ObjectStore, to: &dyn ObjectStore, seq: u64) -> Result<usize> {
    let all: Vec<deltalake::ObjectMeta> =
        from.list(None).try_collect().await.map_err(object_err)?;
    let (log, objects): (Vec<_>, Vec<_>) = all
        .into_iter()
        .partition(|m| m.location.as_ref().starts_with("log/"));
    let mut copied = 0;
    for m in objects {
        copy_object(from, to, &m.location).await?;
        copied += 1;
    }
    let mut log: Vec<(u64, deltalake::Path)> = log
        .into_iter()
        .filter_map(|m| {
            let n = m.location.filename()?.strip_suffix(".json")?.parse().ok()?;
            Some((n, m.location))
        })
        .filter(|(n, _)| *n <= seq)
        .collect();
    log.sort();
    for (_, location) in log {
        copy_object(from, to, &location).await?;
        copied += 1;
    }
    Ok(copied)
}

/// What compaction did to one domain's table.
#[derive(Debug, Clone, Serialize)]
pub struct Compacted {
    /// Domain id.
    pub domain: String,
    /// Files before.
    pub files_before: usize,
    /// Files merged away.
    pub removed: u64,
    /// Files written.
    pub added: u64,
    /// The table's version afterwards.
    pub version: Option<u64>,
}

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> StoreError + '_ {
    move |source| StoreError::Io {
        path: path.to_path_buf(),
        source,
    }
}

fn object_err(e: object_store::Error) -> StoreError {
    StoreError::Delta(deltalake::DeltaTableError::from(e))
}

/// The log entry version of a `_delta_log/` file name, if it has one
/// (`00000000000000000007.json`, `...7.checkpoint.parquet`).
fn log_version(name: &str) -> Option<u64> {
    name.split('.').next()?.parse().ok()
}

/// Copies one object between two stores, at the same path.
async fn copy_object(
    from: &dyn ObjectStore,
    to: &dyn ObjectStore,
    location: &deltalake::Path,
) -> Result<()> {
    let bytes = from
        .get(location)
        .await
        .map_err(object_err)?
        .bytes()
        .await
        .map_err(object_err)?;
    to.put(location, bytes.into()).await.map_err(object_err)?;
    Ok(())
}

/// Copies a table's files from `from` to `to` (both rooted at the table):
/// data files first, then the log up to `version`. `_last_checkpoint` is
/// left out (it may name a later checkpoint); readers list the log instead.
async fn copy_table(
    from: &dyn ObjectStore,
    to: &dyn ObjectStore,
    version: Option<u64>,
) -> Result<usize> {
    let Some(version) = version else {
        return Ok(0);
    };
    let all: Vec<deltalake::ObjectMeta> =
        from.list(None).try_collect().await.map_err(object_err)?;
    let (log, data): (Vec<_>, Vec<_>) = all
        .into_iter()
        .partition(|m| m.location.as_ref().starts_with("_delta_log/"));
    let mut copied = 0;
    for m in data {
        copy_object(from, to, &m.location).await?;
        copied += 1;
    }
    let mut log: Vec<_> = log
        .into_iter()
        .filter(|m| {
            m.location
                .filename()
                .and_then(log_version)
                .is_some_and(|v| v <= version)
        })
        .collect();
    // Commits in order, so that a reader of a half-copied log sees a prefix.
    log.sort_by_key(|m| m.location.filename().and_then(log_version));
    for m in log {
        copy_object(from, to, &m.location).await?;
        copied += 1;
    }
    Ok(copied)
}

/// Copies the data directory's own files (everything but the lake) from
/// `from` to `to`, recursively.
fn copy_files(from: &Path, to: &Path, skip_lake: bool) -> Result<()> {
    std::fs::create_dir_all(to).map_err(io(to))?;
    for entry in std::fs::read_dir(from).map_err(io(from))? {
        let entry = entry.map_err(io(from))?;
        let name = entry.file_name();
        if skip_lake && (name == "lake" || name == "backup.json" || name == "cache") {
            continue;
        }
        let src = entry.path();
        let dst = to.join(&name);
        let kind = entry.file_type().map_err(io(&src))?;
        if kind.is_dir() {
            copy_files(&src, &dst, false)?;
        } else if kind.is_file() {
            std::fs::copy(&src, &dst).map_err(io(&src))?;
        }
    }
    Ok(())
}

/// A local directory as an object store, for the backup's tables.
fn local_store(dir: &Path) -> Result<object_store::local::LocalFileSystem> {
    std::fs::create_dir_all(dir).map_err(io(dir))?;
    object_store::local::LocalFileSystem::new_with_prefix(dir).map_err(object_err)
}

impl Store {
    /// Merges each table's small files into larger ones (Delta `OPTIMIZE`).
    /// It adds a commit that changes no data, so answers stay the same while
    /// data versions move on by one. Old files stay (no vacuum), so every
    /// release can still be read as it was.
    pub async fn compact(&self) -> Result<Vec<Compacted>> {
        let _guard = self.write_lock.lock().await;
        let mut out = Vec::new();
        for d in &self.catalog.domains {
            let Some(mut table) = self.table(&d.id).await else {
                continue;
            };
            if table.version().is_none() {
                continue;
            }
            table.update_state().await?;
            let files_before = table.get_file_uris()?.count();
            let (table, metrics) = table.optimize().await?;
            out.push(Compacted {
                domain: d.id.clone(),
                files_before,
                removed: metrics.num_files_removed,
                added: metrics.num_files_added,
                version: table.version(),
            });
            self.tables.write().await.insert(d.id.clone(), table);
        }
        Ok(out)
    }

    /// Writes a backup of the data directory and its lake to `to`, which
    /// must not exist or be empty.
    pub async fn backup(&self, to: &Path) -> Result<BackupManifest> {
        if to.exists() && std::fs::read_dir(to).map_err(io(to))?.next().is_some() {
            return Err(StoreError::Invalid(format!(
                "{} is not empty; a backup goes into a new directory",
                to.display()
            )));
        }
        let mut versions = BTreeMap::new();
        let mut files = BTreeMap::new();
        for d in &self.catalog.domains {
            let Some(mut table) = self.table(&d.id).await else {
                continue;
            };
            if table.version().is_some() {
                table.update_state().await?;
            }
            let version = table.version();
            let target = local_store(&to.join("lake").join(&d.id))?;
            let n = copy_table(table.object_store().as_ref(), &target, version).await?;
            versions.insert(d.id.clone(), version);
            files.insert(d.id.clone(), n);
        }
        let mut access = open_table(&self.root, &self.lake, crate::registry::ACCESS_TABLE).await?;
        if access.version().is_some() {
            access.update_state().await?;
        }
        let access_log_version = access.version();
        let target = local_store(&to.join("lake").join(crate::registry::ACCESS_TABLE))?;
        copy_table(access.object_store().as_ref(), &target, access_log_version).await?;
        // The state after the tables: a member or release that appears
        // meanwhile is harmless, one missing for a copied commit would not be.
        self.state.follow().await?;
        let state_seq = self.state.view().seq;
        let target = local_store(&to.join("lake").join("_state"))?;
        copy_state(self.state.objects.as_ref(), &target, state_seq).await?;
        copy_files(&self.root, to, true)?;
        let manifest = BackupManifest {
            made_at: chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
            source_lake: self
                .lake
                .url
                .as_ref()
                .map_or_else(|| "data directory".to_string(), |u| u.to_string()),
            versions,
            files,
            state_seq,
            access_log_version,
        };
        crate::files::write_json_atomic(&to.join("backup.json"), &manifest)?;
        Ok(manifest)
    }

    /// Restores a backup into the data directory `root` (which must not
    /// hold a data directory yet) and the lake at `lake` (whose tables must
    /// have no commits yet). Nothing is overwritten.
    pub async fn restore(from: &Path, root: &Path, lake: &LakeLocation) -> Result<BackupManifest> {
        let manifest: BackupManifest = crate::files::read_json(&from.join("backup.json"))?;
        if root.join("catalog").exists() || crate::migrate::legacy_file(root).is_some() {
            return Err(StoreError::Invalid(format!(
                "{} already holds a data directory; restore into a new one",
                root.display()
            )));
        }
        std::fs::create_dir_all(root).map_err(io(root))?;
        let state = crate::state::objects(root, lake).await?;
        if crate::state::StateLog::open(state.clone())
            .await?
            .view()
            .seq
            > 0
        {
            return Err(StoreError::Invalid(format!(
                "the lake at {} already holds state; restore into an empty lake",
                lake.table_url(root, "_state")?
            )));
        }
        let catalog = vergleichsring_catalog::Catalog::load(&from.join("catalog"))?;
        let mut targets: Vec<(String, DeltaTable)> = Vec::new();
        for d in &catalog.domains {
            std::fs::create_dir_all(root).map_err(io(root))?;
            let table = open_table(root, lake, &d.id).await?;
            if table.version().is_some() {
                return Err(StoreError::Invalid(format!(
                    "the lake already has a table for {} at {}; restore into an empty lake",
                    d.id,
                    lake.table_url(root, &d.id)?
                )));
            }
            targets.push((d.id.clone(), table));
        }
        for (domain, table) in targets {
            let version = manifest.versions.get(&domain).copied().flatten();
            let source = local_store(&from.join("lake").join(&domain))?;
            copy_table(&source, table.object_store().as_ref(), version).await?;
        }
        let access = open_table(root, lake, crate::registry::ACCESS_TABLE).await?;
        if access.version().is_none() {
            let source = local_store(&from.join("lake").join(crate::registry::ACCESS_TABLE))?;
            copy_table(
                &source,
                access.object_store().as_ref(),
                manifest.access_log_version,
            )
            .await?;
        }
        if manifest.state_seq > 0 {
            let source = local_store(&from.join("lake").join("_state"))?;
            copy_state(&source, state.as_ref(), manifest.state_seq).await?;
        }
        // The directory's files last: until the catalogue is there, the
        // target is not a data directory, so a failed restore is not opened.
        copy_files(from, root, true)?;
        Ok(manifest)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn log_versions_are_read_from_file_names() {
        assert_eq!(log_version("00000000000000000007.json"), Some(7));
        assert_eq!(
            log_version("00000000000000000010.checkpoint.parquet"),
            Some(10)
        );
        assert_eq!(log_version("_last_checkpoint"), None);
    }
}
