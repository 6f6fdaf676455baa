//! The lake: Delta Lake tables of submitted figures, and every other piece
//! of state beside them.
//!
//! The lake (`DATA_DIR/lake/` by default, or `s3://bucket/prefix`) holds
//! - `<domain>/`: one Delta Lake table per domain with every submitted row
//!   ever accepted (append-only; the current figures of a member and year are
//!   the rows of its latest submission);
//! - `_state/log/`: the state log (`state.rs`): members, token hashes,
//!   grants, custom groups, explanations, data releases and web sessions,
//!   one put-if-absent object per change;
//! - `_state/ledger/<domain>/<year>/<seq>.json`: the release ledger of a
//!   (domain, year): its publications and custom-group releases (rules 9–11);
//! - `_state/releases/<id>/members.json`: the member list a data release
//!   was frozen with;
//! - `_state/uploads/`: the exact bytes of every accepted upload, by SHA-256;
//! - `_access_log/`: a Delta table of every read of a member's data.
//!
//! The data directory itself holds only the catalogue (`catalog/`) and, for
//! a lake on object storage, a cache of ledger entries (`cache/`): replicas
//! share nothing but the lake. A data directory of the earlier file-based
//! layout (`members.json`, `tokens.json`, ...) is moved into the lake by
//! `vergleichsring migrate` (`migrate.rs`).
//!
//! Every accepted submission is one Delta commit, so it is either wholly in the
//! table or not at all.

mod archive;
mod auth;
mod checkpoint;
mod collections;
mod files;
mod invitations;
mod lake;
mod ledger;
mod maintenance;
mod members;
mod migrate;
mod noise;
mod password;
mod registry;
mod releases;
mod s3;
mod sealed;
mod second_factor;
mod sessions;
mod state;
mod totp;
mod users;

pub use auth::{
    NewToken, Role, TokenRecord, constant_time_eq, hash_token, parse_expiry, random_hex,
};
pub use collections::{
    Approval, Collection, Collections, Draft, MAX_COMMENT_CHARS, Reminder, Review,
};
pub use invitations::{
    ColleagueInvitation, INVITATION_LIFETIME, Invitation, NewUser, RESET_LIFETIME,
};
pub use lake::{Committed, DataVersion, LakeLocation, SubmissionRows, SubmittedRow, lake_schema};
pub use ledger::{
    Append, CustomDisclosure, FigureMask, LedgerEntry, LedgerRecord, Publication, PublishedFigure,
    PublishedMask, PublishedState, WithheldGroup,
};
pub use maintenance::{BackupManifest, Compacted};
pub use members::{GivenStructure, Member};
pub use migrate::Migrated;
pub use registry::{AccessEntry, CustomGroup, Explanation};
pub use releases::DataRelease;
pub use sealed::SecretsKey;
pub use second_factor::{
    ACCOUNT_ATTEMPTS, ACCOUNT_WINDOW, Confirmation, FIRST_PAUSE, MAX_PAUSE, SESSION_ATTEMPTS,
};
pub use sessions::{MAX_SESSIONS_PER_PRINCIPAL, SESSION_LIFETIME};
pub use state::{Loaded, SessionRecord};
pub use totp::{base32, base32_decode, totp_code};
pub use users::{
    AccountLimits, MAX_NAME_CHARS, MIN_PASSWORD_CHARS, SsoIdentity, UserRecord,
    check_password_rules, parse_email, plain_line,
};

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};

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
    /// What the request names is not there (a member, a token).
    #[error("{0}")]
    NotFound(String),
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
    /// The data directory is of the file-based layout and must be migrated.
    #[error("{0}")]
    NotMigrated(String),
    /// The catalogue of the data directory does not load.
    #[error(transparent)]
    Catalog(#[from] vergleichsring_catalog::CatalogError),
}

/// Result type of the store.
pub type Result<T, E = StoreError> = std::result::Result<T, E>;

/// The data directory and its lake, opened.
pub struct Store {
    root: PathBuf,
    catalog: Catalog,
    /// Members, tokens, grants, groups, explanations, releases and
    /// sessions: the state log in the lake and its fold.
    state: state::StateLog,
    /// Counts changes of the member list (see `members_generation`).
    members_generation: std::sync::atomic::AtomicU64,
    /// The member list the generation was last counted for.
    members_seen: std::sync::Mutex<Option<std::sync::Arc<BTreeMap<String, Member>>>>,
    /// When each token was last used in this process (token id → Unix
    /// seconds).
    token_use: std::sync::Mutex<HashMap<String, i64>>,
    tables: tokio::sync::RwLock<HashMap<String, DeltaTable>>,
    /// Serialises this process's commits to the figures' tables: a Delta
    /// commit's version is known before it is made.
    write_lock: tokio::sync::Mutex<()>,
    /// Reads of members' data not yet written to the access log's table.
    access: registry::AccessBuffer,
    /// Where ledger entries are read from: the lake's own directory for a
    /// lake on the local disk, a cache in the data directory otherwise.
    ledger_root: PathBuf,
    /// Where the tables live.
    lake: LakeLocation,
    /// Second-factor attempts per waiting session and per account (in
    /// this process), counted before a code is checked.
    second_factor: second_factor::Attempts,
    /// The ring's key for sealed secrets, if the service was given one.
    secrets_key: std::sync::OnceLock<sealed::SecretsKey>,
    /// Bounds on personal tokens and on a member's accounts (`[limits]`).
    account_limits: std::sync::RwLock<AccountLimits>,
}

/// The error of `open` on a data directory of the file-based layout that
/// was not moved into the lake yet.
pub const NOT_MIGRATED: &str = "holds members, tokens and other state in files (the layout before the state moved into the lake); run `vergleichsring migrate --data-dir";

impl Store {
    /// Creates the layout of a data directory (idempotent): the directory,
    /// the lake directory and the bundled catalogue unless one is there.
    /// The state log needs nothing: an empty log is an empty state.
    pub fn init(root: &Path) -> Result<()> {
        for dir in [root.to_path_buf(), root.join("lake"), root.join("catalog")] {
            std::fs::create_dir_all(&dir).map_err(|source| StoreError::Io {
                path: dir.clone(),
                source,
            })?;
        }
        Catalog::write_bundled(&root.join("catalog"))?;
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

    /// Opens a data directory whose lake lives at `lake` (object storage,
    /// or the data directory when its URL is unset), with the directory's
    /// own catalogue. With the lake on object storage an empty or missing
    /// directory is initialised: a replica needs nothing but the lake.
    pub async fn open_with_lake(root: &Path, lake: LakeLocation) -> Result<Store> {
        if lake.url.is_some() && !root.join("catalog").exists() {
            Store::init(root)?;
        }
        let catalog = Catalog::load(&root.join("catalog")).map_err(|e| {
            if root.join("catalog").exists() {
                StoreError::Catalog(e)
            } else {
                not_a_data_directory(root)
            }
        })?;
        Self::open_at(root, catalog, lake).await
    }

    async fn open_at(root: &Path, catalog: Catalog, lake: LakeLocation) -> Result<Store> {
        if !root.join("catalog").exists() {
            return Err(not_a_data_directory(root));
        }
        let state = state::StateLog::open(state::objects(root, &lake).await?).await?;
        if state.view().migrated.is_none()
            && let Some(file) = migrate::legacy_file(root)
        {
            return Err(StoreError::NotMigrated(format!(
                "{} {NOT_MIGRATED} {}` once, then start again ({} is one of them)",
                root.display(),
                root.display(),
                file
            )));
        }
        let mut tables = HashMap::new();
        for domain in &catalog.domains {
            let table = lake::open_table(root, &lake, &domain.id).await?;
            tables.insert(domain.id.clone(), table);
        }
        let ledger_root = ledger::local_root(root, &lake)?;
        let store = Store {
            root: root.to_path_buf(),
            catalog,
            state,
            members_generation: std::sync::atomic::AtomicU64::new(0),
            members_seen: std::sync::Mutex::new(None),
            token_use: std::sync::Mutex::new(HashMap::new()),
            tables: tokio::sync::RwLock::new(tables),
            write_lock: tokio::sync::Mutex::new(()),
            access: registry::AccessBuffer::default(),
            ledger_root,
            lake,
            second_factor: second_factor::Attempts::default(),
            secrets_key: std::sync::OnceLock::new(),
            account_limits: std::sync::RwLock::new(AccountLimits::default()),
        };
        store.note_members();
        store.sync_ledgers().await?;
        Ok(store)
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
fn not_a_data_directory(root: &Path) -> StoreError {
    StoreError::Invalid(format!(
        "{} is not a data directory (run `vergleichsring init --data-dir {}` first)",
        root.display(),
        root.display()
    ))
}

pub use deltalake::DeltaTable;
pub use deltalake::DeltaTableError;
