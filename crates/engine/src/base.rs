//! The engine's [`Core`]: the parts every job shares (the store, the
//! snapshots, the memory cache, the ledgers, the disclosure policy, the
//! noise and the workers), and the small lookups the jobs make on them.
//! The job types (`Statistics`, `Uploads`, `Reports`, ...) hold a `&Core`,
//! never the `Engine` façade, so that the façade calls into the modules
//! and nothing calls back up.

use std::collections::{BTreeMap, HashSet};
use std::sync::Arc;

use vergleichsring_catalog::{Catalog, Domain};
use vergleichsring_ingest::Limits;
use vergleichsring_store::{DataRelease, DataVersion, Member, Store};

use crate::disclose::disclosure::Policy;
use crate::disclose::noise::Noise;
use crate::disclose::publication::{Ledgers, Publications};
use crate::error::{EngineError, Result};
use crate::out::compare::CompareInput;
use crate::read::as_of::AsOf;
use crate::read::lake::Snapshots;
use crate::read::memory::MemoryCache;
use crate::read::records::Records;
use crate::read::snapshot::Snapshot;
use crate::sandbox::worker::Pool;
use crate::write::releases::Releases;

/// The member list as one request sees it, with its generation read before
/// the list, so that groups cached under a generation never come from an
/// older list.
#[derive(Debug, Clone)]
pub(crate) struct MemberList {
    pub(crate) generation: u64,
    pub(crate) map: Arc<BTreeMap<String, Member>>,
}

impl std::ops::Deref for MemberList {
    type Target = BTreeMap<String, Member>;

    fn deref(&self) -> &Self::Target {
        &self.map
    }
}

/// The years the service keeps figures for: the one statement of the
/// range, which the upload form and the synthetic data's `--years` check
/// too.
pub const YEARS: std::ops::RangeInclusive<i32> = 1990..=2100;

/// Whether a year is one the service keeps figures for ([`YEARS`]).
pub fn check_year(year: i32) -> Result<()> {
    if YEARS.contains(&year) {
        Ok(())
    } else {
        Err(EngineError::NotFound(format!(
            "year {year} is outside {} to {}",
            YEARS.start(),
            YEARS.end()
        )))
    }
}

/// What every job of the engine works on.
pub(crate) struct Core {
    pub(crate) store: Arc<Store>,
    pub(crate) policy: Policy,
    pub(crate) limits: Limits,
    pub(crate) upload_timeout: std::time::Duration,
    /// Each domain's year index; years load on demand (`read/lake.rs`).
    pub(crate) snapshots: Snapshots,
    /// Years, ledger entries and publication masks within one byte budget
    /// (`read/memory.rs`), shared by `snapshots` and `ledgers`.
    pub(crate) memory: Arc<MemoryCache>,
    /// The ledgers and the publications read from them.
    pub(crate) ledgers: Ledgers,
    /// Worker processes for decoding uploads and running analysts' SQL;
    /// without them (a library user, unit tests) both run in this process.
    pub(crate) workers: Option<Arc<Pool>>,
    /// The ring's multipliers (rule 14), when it perturbs.
    pub(crate) noise: Option<Arc<Noise>>,
    /// The ring's settings for structural neighbours and types.
    pub(crate) neighbours: crate::disclose::neighbours::NeighbourSettings,
}

impl Core {
    /// A core over `store` with a memory cache of `cache_bytes`.
    pub(crate) fn new(
        store: Arc<Store>,
        policy: Policy,
        noise: Option<Arc<Noise>>,
        cache_bytes: usize,
    ) -> Core {
        let memory = Arc::new(MemoryCache::new(cache_bytes));
        Core {
            snapshots: Snapshots::new(store.clone(), memory.clone(), noise.clone()),
            ledgers: Ledgers::new(store.clone(), memory.clone()),
            noise,
            memory,
            store,
            policy,
            limits: Limits::default(),
            upload_timeout: std::time::Duration::from_secs(60),
            workers: None,
            neighbours: Default::default(),
        }
    }

    /// Replaces the memory cache by one of `bytes`; what was cached is
    /// dropped.
    pub(crate) fn set_cache_budget(&mut self, bytes: usize) {
        self.memory = Arc::new(MemoryCache::new(bytes));
        self.snapshots =
            Snapshots::new(self.store.clone(), self.memory.clone(), self.noise.clone());
        self.ledgers = Ledgers::new(self.store.clone(), self.memory.clone());
    }

    /// The store.
    pub(crate) fn store(&self) -> &Store {
        &self.store
    }

    /// The catalogue.
    pub(crate) fn catalog(&self) -> &Catalog {
        self.store.catalog()
    }

    /// The domain, or `UnknownDomain`.
    pub(crate) fn domain(&self, id: &str) -> Result<&Domain> {
        self.catalog()
            .domain(id)
            .ok_or_else(|| EngineError::UnknownDomain(id.to_string()))
    }

    /// The disclosure settings a publication records: the policy and,
    /// when the ring perturbs, the fingerprint of its noise secret
    /// (`noise_key`), so that every released number can be reproduced
    /// from the ledger's true values with the same secret, and a changed
    /// secret is seen.
    pub(crate) fn disclosure_record(&self) -> serde_json::Value {
        let mut v = serde_json::to_value(self.policy).unwrap_or_default();
        if let (Some(noise), Some(map)) = (&self.noise, v.as_object_mut()) {
            map.insert("noise_key".into(), noise.fingerprint().into());
        }
        v
    }

    /// The data version of a domain as the API shows it (the number of
    /// commits), without computing a snapshot.
    pub(crate) async fn data_version(&self, domain: &str) -> Result<String> {
        self.domain(domain)?;
        Ok(DataVersion::after(self.store.data_version(domain).await).to_string())
    }

    /// The data versions of all domains, joined (for reports, which span
    /// every domain).
    pub(crate) async fn data_versions(&self) -> String {
        let mut out = Vec::new();
        for d in &self.catalog().domains {
            out.push(DataVersion::after(self.store.data_version(&d.id).await).to_string());
        }
        out.join(".")
    }

    /// The ids of the registered members.
    pub(crate) fn registered_ids(&self) -> HashSet<String> {
        self.store.members_map().keys().cloned().collect()
    }

    /// The live member list.
    pub(crate) fn members_by_id(&self) -> MemberList {
        let generation = self.store.members_generation();
        MemberList {
            generation,
            map: self.store.members_map(),
        }
    }

    /// Publishing and the publications' views, for one request.
    pub(crate) fn publishing(&self) -> Publications<'_> {
        Publications::new(self)
    }

    /// The records of a domain.
    pub(crate) fn records(&self, domain: &str) -> Result<Records<'_>> {
        Ok(Records::new(self, self.domain(domain)?))
    }

    /// Whether a member has current figures for a (domain, year).
    pub(crate) async fn has_submitted(
        &self,
        domain: &str,
        year: i32,
        member_id: &str,
    ) -> Result<bool> {
        self.records(domain)?.has_submitted(year, member_id).await
    }

    /// Every release, oldest first, as it stood at `as_of`.
    pub(crate) fn releases(&self, as_of: Option<&AsOf>) -> Result<Vec<DataRelease>> {
        Releases::new(self).list(as_of)
    }

    /// The snapshot a request reads: the latest, or the one `as_of` fixes.
    pub(crate) async fn snapshot_for(
        &self,
        domain: &str,
        as_of: Option<&AsOf>,
    ) -> Result<Arc<Snapshot>> {
        match as_of.and_then(|a| a.versions.get(domain)) {
            None => self.snapshots.current(self.domain(domain)?).await,
            Some(None) => Ok(Arc::new(Snapshot::default())),
            Some(Some(v)) => self.snapshots.at(self.domain(domain)?, *v).await,
        }
    }

    /// The disclosure settings a request is answered under: a release's
    /// (so that it comes out as it did, even after the ring changed its
    /// thresholds), or the ring's current ones.
    pub(crate) fn policy_for(&self, as_of: Option<&AsOf>) -> Policy {
        as_of.and_then(AsOf::policy).unwrap_or(self.policy)
    }

    /// The member list a request reads: a release's, or the live one.
    pub(crate) fn members_for(&self, as_of: Option<&AsOf>) -> MemberList {
        match as_of.and_then(|a| a.members.clone()) {
            Some(m) => m,
            None => self.members_by_id(),
        }
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
            noise: self.noise.as_deref(),
            neighbours: &self.neighbours,
        }
    }
}
