//! DataFusion session: key figures from `queries/`, plausibility rules, peer
//! statistics and disclosure control.
//!
//! [`Engine`] is the only way the server reaches figures. It keeps one
//! [`snapshot::Snapshot`] per domain, computed once per data version (the
//! Delta version) and replaced when a submission commits, and it passes every
//! outgoing statistic through [`disclosure::release`].

pub mod compare;
pub mod disclosure;
mod error;
pub mod export;
pub mod groups;
pub mod offline;
pub mod publication;
pub mod query;
pub mod report;
pub mod rules;
pub mod session;
pub mod snapshot;
pub mod stats;
pub mod workflow;

use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::{Arc, RwLock};

use bytes::Bytes;
use serde::Serialize;
use vergleichsring_catalog::{Catalog, Domain, Level};
use vergleichsring_ingest::{Format, Limits, RowError, Submitter, Upload, UploadRow};
use vergleichsring_store::{DataVersion, Member, Store, StoreError, SubmissionRows, SubmittedRow};

use compare::{CompareInput, Comparison, Dimension, GroupBy, Timeseries};
use disclosure::{Audience, Policy};
pub use error::{EngineError, Result};
use snapshot::Snapshot;
use vergleichsring_store::CustomGroup;
pub use vergleichsring_store::DataRelease;

/// An upload to be validated and stored.
pub struct SubmitRequest {
    /// Domain id.
    pub domain: String,
    /// Year of the figures.
    pub year: i32,
    /// The `Content-Type` of the body.
    pub content_type: String,
    /// The file.
    pub body: Bytes,
    /// Token id of the submitter, stored with the rows.
    pub token_id: String,
    /// For a member token, its member; `None` for admin bulk uploads.
    pub own_member: Option<String>,
}

/// A warning stored with a submission.
#[derive(Debug, Clone, PartialEq, Serialize, serde::Deserialize, utoipa::ToSchema)]
pub struct Warning {
    /// The member.
    pub member_id: String,
    /// The figure(s) concerned.
    pub figure: String,
    /// Rule id.
    pub rule: String,
    /// English message.
    pub message: String,
    /// German message.
    pub message_de: String,
    /// Row in the uploaded file.
    pub row: u32,
}

/// The outcome of an accepted submission.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct SubmitOutcome {
    /// Id of the submission.
    pub submission_id: String,
    /// Domain id.
    pub domain: String,
    /// Year.
    pub year: i32,
    /// Number of rows stored.
    pub rows: usize,
    /// Members whose figures it holds.
    pub members: Vec<String>,
    /// The domain's data version after the commit.
    pub data_version: String,
    /// SHA-256 of the uploaded bytes, kept in the archive.
    pub upload_sha256: String,
    /// The upload's format.
    pub format: String,
    /// Warnings, stored with the submission.
    pub warnings: Vec<Warning>,
    /// The publication this upload completed (`auto_publish`), if any.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    pub publication: Option<vergleichsring_store::Publication>,
}

/// A submission as listed.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct SubmissionInfo {
    /// Id of the submission.
    pub submission_id: String,
    /// Domain id.
    pub domain: String,
    /// Year.
    pub year: i32,
    /// Commit time.
    pub submitted_at: String,
    /// Token id of the submitter.
    pub submitted_by: String,
    /// Data version created by the submission.
    pub data_version: String,
    /// Rows (of the visible members).
    pub rows: usize,
    /// Members in it (visible to the caller).
    pub members: Vec<String>,
    /// Members whose current figures come from it.
    pub current_for: Vec<String>,
    /// Warnings of the visible rows.
    pub warnings: Vec<serde_json::Value>,
    /// SHA-256 of the archived upload.
    pub upload_sha256: Option<String>,
    /// The upload's format.
    pub format: Option<String>,
}

/// A member's basic and key figures for a (domain, year).
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Figures {
    /// The member.
    pub member_id: String,
    /// Domain id.
    pub domain: String,
    /// Year.
    pub year: i32,
    /// The submission the figures come from.
    pub submission_id: String,
    /// Whether these are the current figures.
    pub current: bool,
    /// Commit time of that submission.
    pub submitted_at: String,
    /// Basic figures by id (null: not reported).
    pub basic: BTreeMap<String, Option<f64>>,
    /// Key figures by id (null: not computable).
    pub key: BTreeMap<String, Option<f64>>,
    /// Warnings stored with these figures.
    pub warnings: serde_json::Value,
}

/// What a comparison or time series asks for.
#[derive(Debug, Clone, Copy)]
pub struct StatsRequest<'a> {
    /// Domain id.
    pub domain: &'a str,
    /// Key figure id.
    pub figure: &'a str,
    /// Group dimension.
    pub group_by: &'a str,
    /// Who receives the statistics.
    pub audience: Audience,
    /// The member whose own position is shown (the requester for members).
    pub member: Option<&'a str>,
    /// A past state to read instead of the latest (`as_of`).
    pub as_of: Option<&'a AsOf>,
}

/// A past state of the data that a request reads instead of the latest:
/// a frozen release, or a data version. Resolved by [`Engine::resolve_as_of`].
#[derive(Debug, Clone)]
pub struct AsOf {
    /// What the caller asked for: a release id or a data version.
    pub label: String,
    /// The Delta version of each domain it fixes (`None`: nothing
    /// submitted yet at that point). Domains not named read the latest.
    versions: BTreeMap<String, Option<u64>>,
    /// The member list of a release.
    members: Option<MemberList>,
    /// The release, when `as_of` names one, and its place in the log.
    release: Option<(usize, DataRelease)>,
    /// The publication, when `as_of` names one.
    publication: Option<PublicationCut>,
}

/// A publication named by `as_of`: its (domain, year) reads it, other
/// years the latest publication made until then.
#[derive(Debug, Clone)]
pub(crate) struct PublicationCut {
    domain: String,
    year: i32,
    seq: u64,
    published_at: String,
}

impl AsOf {
    /// Refuses a data version to everyone but admin (rule 9: others read
    /// publications, named by publication or release id).
    pub(crate) fn check_audience(as_of: Option<&AsOf>, audience: Audience) -> Result<()> {
        match as_of {
            Some(a) if audience != Audience::Admin && a.release.is_none() && a.publication.is_none() => {
                Err(EngineError::Forbidden(
                    "as_of takes publication or release ids (GET /api/v1/publications, GET /api/v1/releases); only admin may read a data version".into(),
                ))
            }
            _ => Ok(()),
        }
    }

    /// The release it names, if any.
    pub fn release(&self) -> Option<&DataRelease> {
        self.release.as_ref().map(|(_, r)| r)
    }

    /// The disclosure settings the release was frozen with, if it names one
    /// that recorded them.
    fn policy(&self) -> Option<Policy> {
        let r = self.release()?;
        serde_json::from_value(r.disclosure.clone()?).ok()
    }
}

/// A resolved [`StatsRequest`].
struct Prepared<'e> {
    domain: &'e Domain,
    figure: usize,
    by: GroupBy,
}

/// The member list as one request sees it, with its generation read before
/// the list, so that groups cached under a generation never come from an
/// older list.
#[derive(Debug, Clone)]
pub(crate) struct MemberList {
    generation: u64,
    map: Arc<BTreeMap<String, Member>>,
}

impl std::ops::Deref for MemberList {
    type Target = BTreeMap<String, Member>;

    fn deref(&self) -> &Self::Target {
        &self.map
    }
}

impl<'e> Prepared<'e> {
    /// The comparison a request asks for.
    fn ask<'a>(&'a self, req: &StatsRequest<'a>) -> publication::Ask<'a>
    where
        'e: 'a,
    {
        publication::Ask {
            domain: self.domain,
            figure: self.figure,
            by: &self.by,
            audience: req.audience,
            member: req.member,
        }
    }
}

/// The engine: snapshots per domain over the store.
pub struct Engine {
    store: Arc<Store>,
    policy: Policy,
    limits: Limits,
    upload_timeout: std::time::Duration,
    snapshots: RwLock<HashMap<String, Arc<Snapshot>>>,
    refresh: tokio::sync::Mutex<()>,
    counters: RefreshCounters,
    /// Snapshots of past versions asked for with `as_of`, a few at a time.
    past: std::sync::Mutex<Vec<PastSnapshot>>,
    /// The release ledgers and the publications read from them.
    ledgers: publication::Ledgers,
}

/// A snapshot of a past version: (domain, Delta version) and the snapshot.
type PastSnapshot = ((String, u64), Arc<Snapshot>);

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

impl Engine {
    /// Builds the engine and checks that every domain's SQL plans.
    pub async fn new(store: Arc<Store>, policy: Policy) -> Result<Engine> {
        for d in &store.catalog().domains {
            rules::check_domain(d).await?;
        }
        Ok(Engine {
            store,
            policy,
            limits: Limits::default(),
            upload_timeout: std::time::Duration::from_secs(60),
            snapshots: RwLock::new(HashMap::new()),
            refresh: tokio::sync::Mutex::new(()),
            counters: RefreshCounters::default(),
            past: std::sync::Mutex::new(Vec::new()),
            ledgers: publication::Ledgers::default(),
        })
    }

    /// Sets the limits on uploads and the time one upload may take to check.
    pub fn with_limits(mut self, limits: Limits, upload_timeout: std::time::Duration) -> Engine {
        self.limits = limits;
        self.upload_timeout = upload_timeout;
        self
    }

    /// The data version of a domain as the API shows it (the number of
    /// commits), without computing a snapshot.
    pub async fn data_version(&self, domain: &str) -> Result<String> {
        self.domain(domain)?;
        Ok(DataVersion::after(self.store.data_version(domain).await).to_string())
    }

    /// The data versions of all domains, joined (for reports, which span
    /// every domain).
    pub async fn data_versions(&self) -> String {
        let mut out = Vec::new();
        for d in &self.catalog().domains {
            out.push(DataVersion::after(self.store.data_version(&d.id).await).to_string());
        }
        out.join(".")
    }

    /// How snapshots were brought up to date since start.
    pub fn refresh_counters(&self) -> &RefreshCounters {
        &self.counters
    }

    /// The store.
    pub fn store(&self) -> &Store {
        &self.store
    }

    /// The catalogue.
    pub fn catalog(&self) -> &Catalog {
        self.store.catalog()
    }

    /// The domain, or `UnknownDomain`.
    pub fn domain(&self, id: &str) -> Result<&Domain> {
        self.catalog()
            .domain(id)
            .ok_or_else(|| EngineError::UnknownDomain(id.to_string()))
    }

    fn cached(&self, domain: &str) -> Option<Arc<Snapshot>> {
        match self.snapshots.read() {
            Ok(s) => s.get(domain).cloned(),
            Err(p) => p.into_inner().get(domain).cloned(),
        }
    }

    /// The domain's snapshot at its current data version, computed at most
    /// once per version.
    pub async fn snapshot(&self, domain: &str) -> Result<Arc<Snapshot>> {
        let d = self.domain(domain)?;
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
        match self.snapshots.write() {
            Ok(mut s) => s.insert(domain.to_string(), snap.clone()),
            Err(p) => p.into_inner().insert(domain.to_string(), snap.clone()),
        };
        Ok(snap)
    }

    /// Resolves an `as_of` value: a release id (`library-2024-1`, see
    /// [`Engine::releases`]) or a data version. A data version is one
    /// number for a request about one domain, and the report's dotted form
    /// (`12.7.9`, one number per domain in catalogue order) for a report.
    pub async fn resolve_as_of(&self, value: &str, domain: Option<&str>) -> Result<AsOf> {
        if let Some(a) = self.publication_as_of(value)? {
            return Ok(a);
        }
        let releases = self.store.data_releases()?;
        if let Some((i, r)) = releases.iter().enumerate().find(|(_, r)| r.id == value) {
            let map = Arc::new(self.store.release_members(&r.id)?);
            let versions = r
                .data_versions
                .iter()
                .map(|(d, v)| (d.clone(), DataVersion::parse_or_zero(v).delta()))
                .collect();
            return Ok(AsOf {
                label: value.to_string(),
                versions,
                // Groups materialised for a release's member list are kept
                // apart from those of the live list.
                members: Some(MemberList {
                    generation: (1 << 63) | i as u64,
                    map,
                }),
                release: Some((i, r.clone())),
                publication: None,
            });
        }
        let bad = || {
            EngineError::BadRequest(format!(
                "as_of '{value}' is neither a release id (GET /api/v1/releases lists them) nor a data version{}",
                match domain {
                    Some(_) => "",
                    None =>
                        " of every domain such as 12.7.9 (a report's data_versions, in catalogue order)",
                }
            ))
        };
        let wanted: Vec<DataVersion> = value
            .split('.')
            .map(|p| p.parse::<DataVersion>())
            .collect::<std::result::Result<_, _>>()
            .map_err(|_| bad())?;
        let domains: Vec<String> = match domain {
            Some(d) => vec![self.domain(d)?.id.clone()],
            None => self
                .catalog()
                .domains
                .iter()
                .map(|d| d.id.clone())
                .collect(),
        };
        if wanted.len() != domains.len() {
            return Err(bad());
        }
        let mut versions = BTreeMap::new();
        for (d, n) in domains.iter().zip(wanted) {
            let current = DataVersion::after(self.store.data_version(d).await);
            if n > current {
                return Err(EngineError::BadRequest(format!(
                    "as_of {n} is later than the current data version {current} of {d}"
                )));
            }
            versions.insert(d.clone(), n.delta());
        }
        Ok(AsOf {
            label: value.to_string(),
            versions,
            members: None,
            release: None,
            publication: None,
        })
    }

    /// An `as_of` naming a publication (`library-2024-p2`), if `value` is
    /// one: its (domain, year) reads that publication (admin: its data
    /// version and member list), other years the publications made until
    /// then.
    fn publication_as_of(&self, value: &str) -> Result<Option<AsOf>> {
        let mut parts = value.rsplitn(3, '-');
        let (Some(seq), Some(year), Some(domain)) = (parts.next(), parts.next(), parts.next())
        else {
            return Ok(None);
        };
        let (Some(seq), Ok(year)) = (
            seq.strip_prefix('p').and_then(|s| s.parse::<u64>().ok()),
            year.parse::<i32>(),
        ) else {
            return Ok(None);
        };
        if self.catalog().domain(domain).is_none() || check_year(year).is_err() {
            return Ok(None);
        }
        let entries = self.ledger(domain, year)?;
        let Some(state) = entries.iter().find_map(|e| match &e.record {
            vergleichsring_store::LedgerRecord::Publication(p) if e.seq == seq => Some(p),
            _ => None,
        }) else {
            return Err(EngineError::NotFound(format!(
                "no publication {value} (GET /api/v1/publications lists them)"
            )));
        };
        let p = &state.publication;
        let version = DataVersion::parse_or_zero(&p.data_version);
        let map: BTreeMap<String, Member> = state
            .members
            .iter()
            .map(|m| (m.member_id.clone(), m.clone()))
            .collect();
        Ok(Some(AsOf {
            label: value.to_string(),
            versions: BTreeMap::from([(domain.to_string(), version.delta())]),
            members: Some(MemberList {
                generation: (1 << 61) | (seq << 20) | u64::from(year.unsigned_abs()),
                map: Arc::new(map),
            }),
            release: None,
            publication: Some(PublicationCut {
                domain: domain.to_string(),
                year,
                seq,
                published_at: p.published_at.clone(),
            }),
        }))
    }

    /// The snapshot a request reads: the latest, or the one `as_of` fixes.
    async fn snapshot_for(&self, domain: &str, as_of: Option<&AsOf>) -> Result<Arc<Snapshot>> {
        match as_of.and_then(|a| a.versions.get(domain)) {
            None => self.snapshot(domain).await,
            Some(None) => Ok(Arc::new(Snapshot::default())),
            Some(Some(v)) => self.snapshot_at(domain, *v).await,
        }
    }

    /// The disclosure settings a request is answered under: a release's
    /// (so that it comes out as it did, even after the ring changed its
    /// thresholds), or the ring's current ones.
    fn policy_for(&self, as_of: Option<&AsOf>) -> Policy {
        as_of.and_then(AsOf::policy).unwrap_or(self.policy)
    }

    /// The member list a request reads: a release's, or the live one.
    fn members_for(&self, as_of: Option<&AsOf>) -> MemberList {
        match as_of.and_then(|a| a.members.clone()) {
            Some(m) => m,
            None => self.members_by_id(),
        }
    }

    /// A domain's snapshot at a past Delta version, read with Delta Lake
    /// time travel. A few are kept, because a frozen release tends to be
    /// asked for again and again (every member's report of the year).
    async fn snapshot_at(&self, domain: &str, version: u64) -> Result<Arc<Snapshot>> {
        let d = self.domain(domain)?;
        if self.store.data_version(domain).await == Some(version) {
            return self.snapshot(domain).await;
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

    /// Every release, oldest first, as it stood at `as_of`: for a release,
    /// the releases frozen up to it (a later reopening is not shown); for a
    /// data version, the releases contained in that state, without their
    /// reopening; else the log as it is.
    pub fn releases(&self, as_of: Option<&AsOf>) -> Result<Vec<DataRelease>> {
        let all = self.store.data_releases()?;
        let Some(a) = as_of else {
            return Ok(all);
        };
        let mut out: Vec<DataRelease> = match &a.release {
            Some((i, r)) => all
                .into_iter()
                .take(i + 1)
                .map(|mut e| {
                    if e.reopened_at
                        .as_deref()
                        .is_some_and(|t| t > r.frozen_at.as_str())
                    {
                        e.reopened_at = None;
                        e.reopened_by = None;
                    }
                    e
                })
                .collect(),
            None => all
                .into_iter()
                .filter(|r| {
                    r.data_versions.iter().all(|(d, v)| {
                        let n = DataVersion::parse_or_zero(v);
                        a.versions
                            .get(d)
                            .is_none_or(|fixed| DataVersion::after(*fixed) >= n)
                    })
                })
                .map(|mut e| {
                    e.reopened_at = None;
                    e.reopened_by = None;
                    e
                })
                .collect(),
        };
        out.sort_by(|x, y| x.frozen_at.cmp(&y.frozen_at));
        Ok(out)
    }

    /// Freezes a (domain, year): uploads for it get 409 until it is reopened.
    pub async fn freeze(&self, domain: &str, year: i32, by: &str) -> Result<DataRelease> {
        let disclosure = serde_json::to_value(self.policy).ok();
        let release = self
            .change_release(
                domain,
                year,
                self.store.freeze(domain, year, by, disclosure),
            )
            .await?;
        // A freeze publishes the year (rule 9), unless it is published as
        // it stands or too few members changed (rule 10).
        match self
            .publish(domain, year, publication::Trigger::Freeze, by)
            .await
        {
            Ok(_) | Err(EngineError::NothingChanged { .. } | EngineError::TooFewChanges { .. }) => {
            }
            Err(e) => {
                tracing::error!(error = %e, domain, year, "publishing the frozen year failed")
            }
        }
        Ok(release)
    }

    /// Reopens a frozen (domain, year) for uploads.
    pub async fn reopen(&self, domain: &str, year: i32, by: &str) -> Result<DataRelease> {
        self.change_release(domain, year, self.store.reopen(domain, year, by))
            .await
    }

    /// Runs a freeze or reopen of the store under the refresh lock. Its
    /// commit changes no data, so the cached snapshot moves on to its
    /// version instead of being loaded again.
    async fn change_release(
        &self,
        domain: &str,
        year: i32,
        change: impl std::future::Future<Output = vergleichsring_store::Result<DataRelease>>,
    ) -> Result<DataRelease> {
        self.domain(domain)?;
        check_year(year)?;
        let _guard = self.refresh.lock().await;
        let release = change.await.map_err(|e| match e {
            StoreError::Conflict(m) => EngineError::Conflict(m),
            other => EngineError::Store(other),
        })?;
        if let Some(v) = self.store.data_version(domain).await {
            self.relabel(domain, v);
        }
        Ok(release)
    }

    /// Picks up what other processes on the same lake and data directory
    /// did: the member list if `members.json` changed, and every commit
    /// beyond this process's table handles, applied to the cached snapshot
    /// one commit at a time (each commit's rows are found by their
    /// `version` column). Returns the number of commits applied. Run every
    /// `lake.refresh_millis` by `serve`.
    pub async fn follow_log(&self) -> Result<usize> {
        self.store.reload_members()?;
        self.follow_ledgers()?;
        let _guard = self.refresh.lock().await;
        let moved = self.store.follow_log().await?;
        let mut applied = 0;
        for (domain, old, new) in moved {
            let d = self.domain(&domain)?.clone();
            for v in old.map_or(0, |o| o + 1)..=new {
                match self.commit_rows(&domain, v).await {
                    Ok(Some(c)) => {
                        self.apply_commit(&d, &c).await;
                        applied += 1;
                    }
                    // A commit that added no rows and no data (compaction
                    // by another process): the same data at the next
                    // version. Rows of a data commit that cannot be found
                    // drop the cache instead.
                    Ok(None) if !self.store.commit_adds_data(&domain, v).await? => {
                        self.relabel(&domain, v);
                        applied += 1;
                    }
                    Ok(None) => {
                        tracing::warn!(
                            domain,
                            version = v,
                            "a data commit's rows were not found; the next read reloads"
                        );
                        match self.snapshots.write() {
                            Ok(mut m) => m.remove(&domain),
                            Err(p) => p.into_inner().remove(&domain),
                        };
                        break;
                    }
                    Err(e) => {
                        tracing::warn!(domain, version = v, error = %e, "reading another writer's commit failed; the next read reloads");
                        match self.snapshots.write() {
                            Ok(mut m) => m.remove(&domain),
                            Err(p) => p.into_inner().remove(&domain),
                        };
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
    fn relabel(&self, domain: &str, version: u64) {
        let mut map = match self.snapshots.write() {
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
        domain: &str,
        version: u64,
    ) -> Result<Option<vergleichsring_store::Committed>> {
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
    async fn apply_commit(&self, domain: &Domain, committed: &vergleichsring_store::Committed) {
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
        let mut map = match self.snapshots.write() {
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

    /// Validates an upload and, if it passes, stores it as one commit.
    pub async fn submit(&self, req: SubmitRequest) -> Result<SubmitOutcome> {
        let domain = req.domain.clone();
        let mut outcome = self.submit_checked(req).await;
        if let Ok(o) = &mut outcome {
            o.publication = self.auto_publish(&o.domain, o.year).await;
        }
        // Counted here, so that the API and the web page count alike.
        match &outcome {
            Ok(_) => metrics::counter!("vergleichsring_uploads_total", "domain" => domain, "outcome" => "accepted", "rule" => "").increment(1),
            Err(EngineError::Rejected(errors)) => {
                let rules: std::collections::BTreeSet<&str> =
                    errors.iter().map(|e| e.rule.as_str()).collect();
                for rule in rules {
                    metrics::counter!("vergleichsring_uploads_total", "domain" => domain.clone(), "outcome" => "rejected", "rule" => rule.to_string()).increment(1);
                }
            }
            // Refused before the rows were checked: unknown format, year or
            // domain, a frozen release, a storage failure.
            Err(_) => metrics::counter!("vergleichsring_uploads_total", "domain" => domain, "outcome" => "refused", "rule" => "").increment(1),
        }
        outcome
    }

    async fn submit_checked(&self, req: SubmitRequest) -> Result<SubmitOutcome> {
        let domain = self.domain(&req.domain)?.clone();
        check_year(req.year)?;
        // A frozen year is refused before the file is read; the store checks
        // again under its lock, where it counts.
        if let Some(r) = self.store.frozen(&domain.id, req.year)? {
            return Err(EngineError::Store(StoreError::Frozen {
                domain: domain.id.clone(),
                year: req.year,
                release: r.id,
            }));
        }
        let format = Format::from_content_type(&req.content_type)?;
        let started = std::time::Instant::now();
        let registered = self.registered_ids();
        let own = req.own_member.clone();
        let year = req.year;
        let d2 = domain.clone();
        let body = req.body.clone();
        let limits = self.limits;
        // Decoding and cell checks are CPU work: keep them off the request
        // threads, and give up waiting after the time limit.
        let decoding = tokio::task::spawn_blocking(move || {
            let decoded = vergleichsring_ingest::decode(format, body, &limits)?;
            let is_registered = |id: &str| registered.contains(id);
            vergleichsring_ingest::validate(
                &decoded,
                &d2,
                year,
                &Submitter {
                    own_member: own.as_deref(),
                    is_registered: &is_registered,
                },
            )
        });
        let upload: Upload = tokio::time::timeout(self.upload_timeout, decoding)
            .await
            .map_err(|_| {
                EngineError::Rejected(vec![RowError::file(
                    "too_slow",
                    format!(
                        "checking the upload took longer than {} s; split it into smaller files",
                        self.upload_timeout.as_secs()
                    ),
                )])
            })?
            .map_err(|e| {
                // A decoder that panics on a malformed file (a library bug)
                // must not turn the upload into a 5xx: the file is refused.
                tracing::error!(error = %e, "decoding an upload panicked");
                EngineError::Rejected(vec![RowError::file(
                    "unreadable_file",
                    "the file could not be decoded; it is damaged or written in a way the decoder does not support",
                )])
            })??;

        let decoded_at = started.elapsed();
        let mut findings = rules::evaluate(&domain, year, &upload).await?;
        let snapshot = self.snapshot(&domain.id).await?;
        findings.extend(rules::year_over_year(&domain, year, &upload, &snapshot));
        let errors: Vec<RowError> = findings
            .iter()
            .filter(|f| f.level == Level::Error)
            .map(|f| RowError {
                row: Some(f.row),
                member_id: Some(f.member_id.clone()),
                column: Some(f.figure.clone()),
                rule: f.rule.clone(),
                message: f.message.clone(),
            })
            .collect();
        if !errors.is_empty() {
            return Err(EngineError::Rejected(errors));
        }
        let warnings: Vec<Warning> = findings
            .into_iter()
            .map(|f| Warning {
                member_id: f.member_id,
                figure: f.figure,
                rule: f.rule,
                message: f.message,
                message_de: f.message_de,
                row: f.row,
            })
            .collect();
        let submission_id = new_submission_id();
        let rows: Vec<SubmittedRow> = upload
            .rows
            .iter()
            .map(|r: &UploadRow| {
                let own: Vec<&Warning> = warnings.iter().filter(|w| w.row == r.row).collect();
                SubmittedRow {
                    row: r.row,
                    member_id: r.member_id.clone(),
                    values: r.values.clone(),
                    warnings_json: serde_json::to_string(&own).unwrap_or_else(|_| "[]".into()),
                }
            })
            .collect();
        let members: Vec<String> = rows.iter().map(|r| r.member_id.clone()).collect();
        let checked_at = started.elapsed();
        // The exact bytes are kept before the commit that refers to them.
        let upload_sha256 = self.store.archive_upload(&req.body)?;
        let archived_at = started.elapsed();
        // Commit and snapshot refresh happen under one lock, so that the
        // snapshot follows the table commit by commit.
        let _refresh = self.refresh.lock().await;
        let committed = self
            .store
            .append_submission(
                &domain.id,
                SubmissionRows {
                    submission_id: submission_id.clone(),
                    submitted_by: req.token_id,
                    year,
                    upload_sha256: upload_sha256.clone(),
                    upload_format: format.name().to_string(),
                    rows,
                },
            )
            .await?;
        let committed_at = started.elapsed();
        self.apply_commit(&domain, &committed).await;
        let ms = |d: std::time::Duration| d.as_secs_f64() * 1000.0;
        tracing::info!(
            domain = domain.id,
            year,
            rows = committed.batch.num_rows(),
            decode_ms = ms(decoded_at),
            checks_ms = ms(checked_at - decoded_at),
            archive_ms = ms(archived_at - checked_at),
            commit_ms = ms(committed_at - archived_at),
            refresh_ms = ms(started.elapsed() - committed_at),
            "upload stored"
        );
        Ok(SubmitOutcome {
            submission_id,
            domain: domain.id.clone(),
            year,
            rows: members.len(),
            members,
            data_version: DataVersion::of_commit(committed.version).to_string(),
            upload_sha256,
            format: format.name().to_string(),
            warnings,
            publication: None,
        })
    }

    /// What `compare` needs for one domain.
    pub(crate) fn compare_input<'a>(
        &'a self,
        domain: &'a Domain,
        snapshot: &'a Snapshot,
        members: &'a MemberList,
        policy: &'a Policy,
    ) -> CompareInput<'a> {
        CompareInput {
            catalog: self.catalog(),
            domain,
            snapshot,
            members: &members.map,
            policy,
            members_generation: members.generation,
        }
    }

    fn registered_ids(&self) -> HashSet<String> {
        self.store.members_map().keys().cloned().collect()
    }

    pub(crate) fn members_by_id(&self) -> MemberList {
        let generation = self.store.members_generation();
        MemberList {
            generation,
            map: self.store.members_map(),
        }
    }

    /// Whether a member has current figures for a (domain, year).
    pub async fn has_submitted(&self, domain: &str, year: i32, member_id: &str) -> Result<bool> {
        Ok(self
            .snapshot(domain)
            .await?
            .current_row(year, member_id)
            .is_some())
    }

    fn figure_index(&self, domain: &Domain, figure: &str) -> Result<usize> {
        domain
            .key_figure_index(figure)
            .ok_or_else(|| EngineError::UnknownFigure {
                domain: domain.id.clone(),
                figure: figure.to_string(),
            })
    }

    /// Resolves what a comparison or time series asks for, or says why not.
    fn prepare(&self, req: &StatsRequest<'_>) -> Result<Prepared<'_>> {
        let domain = self.domain(req.domain)?;
        let figure = self.figure_index(domain, req.figure)?;
        let by = self.group_by(req.group_by)?;
        AsOf::check_audience(req.as_of, req.audience)?;
        let members = self.members_for(req.as_of);
        if let Some(m) = req.member
            && !members.contains_key(m)
            && !self.store.members_map().contains_key(m)
        {
            return Err(EngineError::NotFound(format!(
                "member {m} is not registered"
            )));
        }
        Ok(Prepared { domain, figure, by })
    }

    /// A comparison for one year, after disclosure control for the audience:
    /// admin reads the live state, everyone else the latest publication (or
    /// the one `as_of` names). A member that has not submitted for the year
    /// gets `GiveToGet`.
    pub async fn comparison(&self, req: &StatsRequest<'_>, year: i32) -> Result<Comparison> {
        check_year(year)?;
        let p = self.prepare(req)?;
        // Give to get: a member, or a consultant reading on its behalf, sees a
        // year's comparisons only once the member has submitted for it.
        if let Some(m) = req.member
            && matches!(req.audience, Audience::Member | Audience::Consultant)
            && !self.has_submitted(req.domain, year, m).await?
        {
            return Err(EngineError::GiveToGet {
                member_id: m.to_string(),
                domain: req.domain.to_string(),
                year,
            });
        }
        let view = self
            .view(p.domain, year, req.audience, req.as_of)
            .await?
            .ok_or_else(|| EngineError::NotPublished {
                domain: p.domain.id.clone(),
                year,
            })?;
        if let GroupBy::Custom(g) = &p.by
            && let Err(refusal) = self.release_custom(p.domain, &view, g, year).await?
        {
            return Err(EngineError::Refused {
                code: "disclosure_refused",
                reason: refusal.reason,
                message: refusal.message,
            });
        }
        let c = view.compare(self, p.ask(req), year);
        count_suppressed(c.groups.iter().map(|g| (g.suppressed, g.reason)));
        Ok(c)
    }

    /// A time series over the years in `from..=to`, after disclosure
    /// control: admin reads the live state, everyone else each year's
    /// publication; years without the member's own submission are marked
    /// instead of compared.
    pub async fn timeseries(
        &self,
        req: &StatsRequest<'_>,
        from: Option<i32>,
        to: Option<i32>,
    ) -> Result<Timeseries> {
        let p = self.prepare(req)?;
        let points = self
            .published_points(p.ask(req), (from, to), req.as_of)
            .await?;
        count_suppressed(points.iter().map(|p| (p.suppressed, p.reason)));
        let data_version = match req.audience {
            Audience::Admin => {
                compare::data_version(&*self.snapshot_for(req.domain, req.as_of).await?)
            }
            // Each point names its publication and thereby its version.
            _ => points
                .iter()
                .filter_map(|p| p.publication.as_ref())
                .map(|p| p.id.clone())
                .max()
                .unwrap_or_default(),
        };
        Ok(Timeseries {
            domain: p.domain.id.clone(),
            figure: p.domain.key_figures[p.figure].id.clone(),
            group_by: p.by.as_str().to_string(),
            member_id: req.member.map(str::to_string),
            data_version,
            points,
        })
    }

    /// Resolves a `group_by` value: a built-in dimension or a custom group.
    fn group_by(&self, value: &str) -> Result<GroupBy> {
        if let Some(d) = Dimension::parse(value) {
            return Ok(GroupBy::Dimension(d));
        }
        self.store
            .groups()
            .into_iter()
            .find(|g| g.id == value)
            .map(|mut g| {
                // `compare::group_of` searches the list.
                g.member_ids.sort();
                g.member_ids.dedup();
                GroupBy::Custom(g)
            })
            .ok_or_else(|| EngineError::UnknownGroupBy(value.to_string()))
    }

    /// Defines a custom peer group after checking it: a snake_case id that
    /// is not a dimension, registered members, at least the threshold of them.
    pub async fn create_group(&self, group: CustomGroup) -> Result<CustomGroup> {
        let refuse = |reason: &'static str, message: String| EngineError::Refused {
            code: "group_refused",
            reason,
            message,
        };
        let id_ok = group.id.len() <= 64
            && group
                .id
                .chars()
                .next()
                .is_some_and(|c| c.is_ascii_lowercase())
            && group
                .id
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_' || c == '-');
        if !id_ok || Dimension::parse(&group.id).is_some() {
            return Err(refuse(
                "invalid_id",
                format!(
                    "group id '{}' must be lowercase letters, digits, '_' or '-', start with a letter, and not be a built-in dimension",
                    group.id
                ),
            ));
        }
        if group.name.trim().is_empty() {
            return Err(refuse("invalid_name", "the group needs a name".into()));
        }
        let mut ids: Vec<String> = group.member_ids.clone();
        ids.sort();
        ids.dedup();
        let registered = self.registered_ids();
        if let Some(unknown) = ids.iter().find(|m| !registered.contains(*m)) {
            return Err(refuse(
                "unregistered_member",
                format!("member {unknown} is not registered"),
            ));
        }
        if ids.len() < self.policy.threshold {
            return Err(refuse(
                "below_threshold",
                format!(
                    "a custom group needs at least {} members; this one has {}",
                    self.policy.threshold,
                    ids.len()
                ),
            ));
        }
        let group = CustomGroup {
            member_ids: ids,
            ..group
        };
        self.store.add_group(group).await.map_err(|e| match e {
            StoreError::Conflict(m) => EngineError::Conflict(m),
            other => EngineError::Store(other),
        })
    }

    /// Every released statistic for analysts: all domains and years with a
    /// publication, every key figure, the built-in dimensions and the
    /// custom groups released in that publication, as published.
    pub async fn released_comparisons(&self) -> Result<arrow::array::RecordBatch> {
        let mut all = Vec::new();
        let custom = self.store.groups();
        for d in &self.catalog().domains {
            for year in self.ledger_years(&d.id)? {
                let Some(view) = self.view(d, year, Audience::Analyst, None).await? else {
                    continue;
                };
                let released: HashSet<String> = match &view.publication {
                    Some(p) => self
                        .ledger(&d.id, year)?
                        .iter()
                        .filter_map(|e| match &e.record {
                            vergleichsring_store::LedgerRecord::CustomGroup(c)
                                if c.publication == p.id =>
                            {
                                Some(c.group_id.clone())
                            }
                            _ => None,
                        })
                        .collect(),
                    None => HashSet::new(),
                };
                let mut bys: Vec<GroupBy> = publication::DIMENSIONS
                    .into_iter()
                    .map(GroupBy::Dimension)
                    .collect();
                bys.extend(
                    custom
                        .iter()
                        .filter(|g| released.contains(&g.id))
                        .cloned()
                        .map(GroupBy::Custom),
                );
                for figure in 0..d.key_figures.len() {
                    for by in &bys {
                        let ask = publication::Ask {
                            domain: d,
                            figure,
                            by,
                            audience: Audience::Analyst,
                            member: None,
                        };
                        all.push(view.compare(self, ask, year));
                    }
                }
            }
        }
        export::comparisons_batch(&all, false)
    }

    /// Runs an analyst's SQL over the released statistics.
    pub async fn query(&self, sql: &str, format: export::TableFormat) -> Result<Bytes> {
        query::check_single_query(sql)?;
        let table = self.released_comparisons().await?;
        let (schema, batches) = query::run(sql, table).await?;
        export::encode(&schema, &batches, format)
    }

    /// A member's figures for a (domain, year): the current ones, or those of
    /// an earlier submission.
    pub async fn figures(
        &self,
        domain: &str,
        year: i32,
        member_id: &str,
        submission_id: Option<&str>,
    ) -> Result<Figures> {
        let d = self.domain(domain)?;
        let snapshot = self.snapshot(domain).await?;
        let current = snapshot.current_row(year, member_id);
        let row = match submission_id {
            None => current.ok_or_else(|| {
                EngineError::NotFound(format!(
                    "member {member_id} has no figures for {domain} {year}"
                ))
            })?,
            Some(sid) => snapshot
                .year(year)
                .into_iter()
                .flat_map(|y| y.history.iter())
                .map(AsRef::as_ref)
                .find(|r| r.meta.submission_id == sid && r.member_id == member_id)
                .ok_or_else(|| {
                    EngineError::NotFound(format!(
                        "submission {sid} holds no figures of member {member_id} for {domain} {year}"
                    ))
                })?,
        };
        let is_current = current.is_some_and(|c| c.meta.submission_id == row.meta.submission_id);
        let key_values: Vec<Option<f64>> = if is_current {
            snapshot
                .key_of(year, member_id)
                .map(|k| k.values.to_vec())
                .unwrap_or_else(|| vec![None; d.key_figures.len()])
        } else {
            self.key_figures_of(d, year, row).await?
        };
        Ok(Figures {
            member_id: member_id.to_string(),
            domain: domain.to_string(),
            year,
            submission_id: row.meta.submission_id.clone(),
            current: is_current,
            submitted_at: row.meta.submitted_at.clone(),
            basic: d
                .basic_figures
                .iter()
                .zip(row.basic.iter())
                .map(|(f, v)| (f.id.clone(), v))
                .collect(),
            key: d
                .key_figures
                .iter()
                .zip(key_values)
                .map(|(f, v)| (f.id.clone(), v))
                .collect(),
            warnings: row.warnings.clone(),
        })
    }

    /// Key figures of one stored row, by running the domain's SQL on it.
    async fn key_figures_of(
        &self,
        d: &Domain,
        year: i32,
        row: &snapshot::StoredRow,
    ) -> Result<Vec<Option<f64>>> {
        let upload = Upload {
            rows: vec![UploadRow {
                row: row.row,
                member_id: row.member_id.clone(),
                values: row.basic.to_vec(),
            }],
        };
        let batch = rules::upload_batch(d, year, &upload)?;
        let batches = session::query_batch("basic", batch, d.query.clone()).await?;
        for b in &batches {
            if let Some((_, k)) = snapshot::read_key_rows(d, b)?.into_iter().next() {
                return Ok(k.values.to_vec());
            }
        }
        Ok(vec![None; d.key_figures.len()])
    }

    /// The submissions of a (domain, year), newest first; with `member`, only
    /// those holding that member's figures, and only its rows.
    pub async fn submissions(
        &self,
        domain: &str,
        year: i32,
        member: Option<&str>,
    ) -> Result<Vec<SubmissionInfo>> {
        self.domain(domain)?;
        let snapshot = self.snapshot(domain).await?;
        let mut by_id: BTreeMap<(u64, String), SubmissionInfo> = BTreeMap::new();
        let Some(data) = snapshot.year(year) else {
            return Ok(Vec::new());
        };
        for (i, r) in data.history.iter().enumerate() {
            if member.is_some_and(|m| m != r.member_id) {
                continue;
            }
            let info = by_id
                .entry((r.meta.version, r.meta.submission_id.clone()))
                .or_insert_with(|| SubmissionInfo {
                    submission_id: r.meta.submission_id.clone(),
                    domain: domain.to_string(),
                    year,
                    submitted_at: r.meta.submitted_at.clone(),
                    submitted_by: r.meta.submitted_by.clone(),
                    data_version: DataVersion::of_commit(r.meta.version).to_string(),
                    rows: 0,
                    members: Vec::new(),
                    current_for: Vec::new(),
                    warnings: Vec::new(),
                    upload_sha256: r.meta.upload_sha256.clone(),
                    format: r.meta.upload_format.clone(),
                });
            info.rows += 1;
            info.members.push(r.member_id.clone());
            if data.current.get(&r.member_id) == Some(&i) {
                info.current_for.push(r.member_id.clone());
            }
            if let serde_json::Value::Array(w) = &r.warnings {
                info.warnings.extend(w.iter().cloned());
            }
        }
        Ok(by_id.into_values().rev().collect())
    }
}

pub(crate) fn check_year(year: i32) -> Result<()> {
    if (1990..=2100).contains(&year) {
        Ok(())
    } else {
        Err(EngineError::NotFound(format!(
            "year {year} is outside 1990 to 2100"
        )))
    }
}

fn new_submission_id() -> String {
    let bytes: [u8; 8] = rand::random();
    format!(
        "sub_{}_{}",
        chrono::Utc::now().format("%Y%m%dT%H%M%S"),
        bytes.iter().map(|b| format!("{b:02x}")).collect::<String>()
    )
}

/// Runs a domain's key-figure SQL over `basic` (member_id, year and the basic
/// figures as DOUBLE) and returns the result: the entry point of the golden
/// tests of `queries/`.
pub async fn run_key_figure_sql(
    domain: &Domain,
    basic: arrow::array::RecordBatch,
) -> Result<Vec<arrow::array::RecordBatch>> {
    let ctx = session::context_with("basic", basic)?;
    Ok(ctx.sql(&domain.query).await?.collect().await?)
}

/// Counts the suppressed groups (or time-series points) of an answer by
/// reason, for `/metrics`: each item is (suppressed, reason).
pub(crate) fn count_suppressed(outcomes: impl IntoIterator<Item = (bool, Option<&'static str>)>) {
    for (suppressed, reason) in outcomes {
        if let Some(reason) = reason.filter(|_| suppressed) {
            metrics::counter!("vergleichsring_suppressed_groups_total", "reason" => reason)
                .increment(1);
        }
    }
}
