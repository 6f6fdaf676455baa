//! The lake: Delta Lake tables of submitted figures, and durable members and tokens.
//!
//! A data directory holds
//! - `catalog/`: the catalogue the service was started with (see `vergleichsring-catalog`);
//! - `lake/<domain>/`: one Delta Lake table per domain with every submitted row
//!   ever accepted (append-only; the current figures of a member and year are
//!   the rows of its latest submission);
//! - `members.json` and `tokens.json`: master data and token hashes, each
//!   replaced atomically (write to a temporary file, fsync, rename);
//! - `uploads/`: the exact bytes of every accepted upload, by SHA-256;
//! - `grants.json`, `groups.json`, `explanations.json` and
//!   the append-only `access.log`;
//! - `data-releases.json` and `releases/<id>/members.json`: frozen releases
//!   of a (domain, year) and the member list each was frozen with;
//! - `ledger/<domain>/<year>/<seq>.json`: the release ledger of a (domain,
//!   year): its publications and custom-group releases (rules 9–11).
//!
//! Every accepted submission is one Delta commit, so it is either wholly in the
//! table or not at all.

mod archive;
mod auth;
mod files;
mod lake;
mod ledger;
mod maintenance;
mod members;
mod registry;
mod releases;
mod s3;

pub use auth::{NewToken, Role, TOKEN_RECHECK, TokenRecord, hash_token, parse_expiry};
pub use lake::{Committed, DataVersion, LakeLocation, SubmissionRows, SubmittedRow, lake_schema};
pub use ledger::{
    Append, CustomDisclosure, FigureMask, LedgerEntry, LedgerRecord, Publication, PublishedFigure,
    PublishedMask, PublishedState, WithheldGroup,
};
pub use maintenance::{BackupManifest, Compacted};
pub use members::Member;
pub use registry::{AccessEntry, CustomGroup, Explanation};
pub use releases::DataRelease;

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::sync::RwLock;

use vergleichsring_catalog::Catalog;

/// Everything that can go wrong in the store.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// A file of the data directory could not be read or written.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
    /// A JSON file of the data directory is damaged.
    #[error("{path}: {source}")]
    Json {
        /// The file.
        path: PathBuf,
        /// The cause.
        #[source]
        source: serde_json::Error,
    },
    /// The Delta Lake layer failed.
    #[error("lake: {0}")]
    Delta(#[from] deltalake::DeltaTableError),
    /// Arrow failed to assemble a batch.
    #[error("arrow: {0}")]
    Arrow(#[from] deltalake::arrow::error::ArrowError),
    /// The request does not fit the stored data (unknown domain, bad member).
    #[error("{0}")]
    Invalid(String),
    /// The request conflicts with what is stored (an existing id).
    #[error("{0}")]
    Conflict(String),
    /// The (domain, year) is frozen by a release; uploads wait until an
    /// admin reopens it.
    #[error(
        "{domain} {year} is frozen as release {release}; an admin must reopen it (POST /api/v1/releases/{domain}/{year}/reopen) before figures can change"
    )]
    Frozen {
        /// Domain id.
        domain: String,
        /// Year.
        year: i32,
        /// The release id.
        release: String,
    },
    /// The catalogue of the data directory does not load.
    #[error(transparent)]
    Catalog(#[from] vergleichsring_catalog::CatalogError),
}

/// Result type of the store.
pub type Result<T, E = StoreError> = std::result::Result<T, E>;

/// The data directory, opened.
pub struct Store {
    root: PathBuf,
    catalog: Catalog,
    /// Shared, so that a request reads the member list without copying it.
    members: RwLock<std::sync::Arc<BTreeMap<String, Member>>>,
    /// Counts changes of the member list (see `members_generation`).
    members_generation: std::sync::atomic::AtomicU64,
    tokens: RwLock<auth::TokenCache>,
    /// When each token was last used in this process (token id → Unix
    /// seconds).
    token_use: std::sync::Mutex<HashMap<String, i64>>,
    tables: tokio::sync::RwLock<HashMap<String, DeltaTable>>,
    /// Serialises writers: a Delta commit's version is known before it is made,
    /// and members and tokens are read-modify-write files.
    write_lock: tokio::sync::Mutex<()>,
    /// The access log, opened once for appending (opening it per read
    /// cost more than the read itself under load).
    access_log: std::sync::Mutex<Option<std::fs::File>>,
    /// When `members.json` was last read, to see changes other processes
    /// made (see `reload_members`).
    members_modified: std::sync::Mutex<Option<(std::time::SystemTime, u64)>>,
    /// Where the tables live.
    lake: LakeLocation,
}

impl Store {
    /// Creates the layout of a data directory (idempotent): the directories,
    /// the bundled catalogue unless one is there, empty member and token files.
    pub fn init(root: &Path) -> Result<()> {
        for dir in [root.to_path_buf(), root.join("lake"), root.join("catalog")] {
            std::fs::create_dir_all(&dir).map_err(|source| StoreError::Io {
                path: dir.clone(),
                source,
            })?;
        }
        Catalog::write_bundled(&root.join("catalog"))?;
        let members = root.join(members::FILE);
        if !members.exists() {
            files::write_json_atomic(&members, &Vec::<Member>::new())?;
        }
        let tokens = root.join(auth::FILE);
        if !tokens.exists() {
            files::write_json_atomic(&tokens, &Vec::<TokenRecord>::new())?;
        }
        Ok(())
    }

    /// Opens an initialised data directory with its own catalogue.
    pub async fn open(root: &Path) -> Result<Store> {
        let catalog = Catalog::load(&root.join("catalog"))?;
        Self::open_with_catalog(root, catalog).await
    }

    /// Opens an initialised data directory with the given catalogue.
    pub async fn open_with_catalog(root: &Path, catalog: Catalog) -> Result<Store> {
        Self::open_at(root, catalog, LakeLocation::default()).await
    }

    /// Opens an initialised data directory whose lake lives at `lake`
    /// (object storage, or the data directory when its URL is unset), with
    /// the directory's own catalogue.
    pub async fn open_with_lake(root: &Path, lake: LakeLocation) -> Result<Store> {
        let catalog = Catalog::load(&root.join("catalog"))?;
        Self::open_at(root, catalog, lake).await
    }

    async fn open_at(root: &Path, catalog: Catalog, lake: LakeLocation) -> Result<Store> {
        if !root.join(members::FILE).exists() {
            return Err(StoreError::Invalid(format!(
                "{} is not a data directory (run `vergleichsring init --data-dir {}` first)",
                root.display(),
                root.display()
            )));
        }
        let members = members::load(root)?;
        let tokens = auth::TokenCache::load(root)?;
        let mut tables = HashMap::new();
        for domain in &catalog.domains {
            let table = lake::open_table(root, &lake, &domain.id).await?;
            tables.insert(domain.id.clone(), table);
        }
        Ok(Store {
            root: root.to_path_buf(),
            catalog,
            members: RwLock::new(std::sync::Arc::new(members)),
            members_generation: std::sync::atomic::AtomicU64::new(0),
            tokens: RwLock::new(tokens),
            token_use: std::sync::Mutex::new(HashMap::new()),
            tables: tokio::sync::RwLock::new(tables),
            write_lock: tokio::sync::Mutex::new(()),
            access_log: std::sync::Mutex::new(None),
            members_modified: std::sync::Mutex::new(files::modified(&root.join(members::FILE))),
            lake,
        })
    }

    /// Where the Delta tables live.
    pub fn lake(&self) -> &LakeLocation {
        &self.lake
    }

    /// The data directory.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// The catalogue the store was opened with.
    pub fn catalog(&self) -> &Catalog {
        &self.catalog
    }
}
pub use deltalake::DeltaTable;
pub use deltalake::DeltaTableError;
