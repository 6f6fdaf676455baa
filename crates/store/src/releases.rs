//! Frozen releases of a (domain, year): one change of the state log per
//! freeze and reopening (`state.rs`), and `_state/releases/<id>/members.json`
//! beside the log (the member list as it was when the release was frozen,
//! because size classes and peer groups depend on it).
//!
//! A release records the data version of every domain at the moment it was
//! frozen. Comparisons, time series and reports asked `as_of` the release
//! read the Delta tables at those versions (time travel), so they come out
//! as they did then, whatever was corrected later.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::state::Change;
use crate::{Member, Result, Store, StoreError};

/// The table property that freezes a year: `vergleichsring.frozen.<year>`,
/// holding the release id (empty once reopened).
const FROZEN_PROPERTY: &str = "vergleichsring.frozen.";

/// The release that freezes `year` in the table's current state, if any.
pub(crate) fn frozen_in_table(table: &deltalake::DeltaTable, year: i32) -> Option<String> {
    let state = table.snapshot().ok()?;
    state
        .metadata()
        .configuration()
        .get(&format!("{FROZEN_PROPERTY}{year}"))
        .filter(|v| !v.is_empty())
        .cloned()
}
/// Where a release's member list is kept, below the state's root.
pub(crate) fn members_object(id: &str) -> object_store::path::Path {
    object_store::path::Path::from(format!("releases/{id}/members.json"))
}

/// A frozen (domain, year).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DataRelease {
    /// Id, e.g. `library-2024-1` (domain, year, the how-many-th freeze).
    pub id: String,
    /// Domain id.
    pub domain: String,
    /// Year.
    pub year: i32,
    /// The domain's data version when frozen (as the API counts: commits).
    pub data_version: String,
    /// Every domain's data version when frozen.
    pub data_versions: BTreeMap<String, String>,
    /// When it was frozen (RFC 3339, UTC).
    pub frozen_at: String,
    /// Token id of the admin who froze it.
    pub frozen_by: String,
    /// When an admin reopened it for uploads, if so.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reopened_at: Option<String>,
    /// Token id of the admin who reopened it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reopened_by: Option<String>,
    /// The ring's disclosure settings when it was frozen (the `[disclosure]`
    /// section), so that answers as of the release use them.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub disclosure: Option<serde_json::Value>,
}

impl DataRelease {
    /// Whether uploads for its (domain, year) are refused.
    pub fn is_frozen(&self) -> bool {
        self.reopened_at.is_none()
    }
}

fn now() -> String {
    chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Micros, true)
}

impl Store {
    /// Every release, oldest first.
    pub fn data_releases(&self) -> Result<Vec<DataRelease>> {
        Ok(self.state.view().releases.as_ref().clone())
    }

    /// The release that currently freezes a (domain, year), if any.
    pub fn frozen(&self, domain: &str, year: i32) -> Result<Option<DataRelease>> {
        Ok(self
            .data_releases()?
            .into_iter()
            .rev()
            .find(|r| r.domain == domain && r.year == year && r.is_frozen()))
    }

    /// Freezes a (domain, year) at the current data versions. Under the
    /// writers' lock, so no commit lands between reading the versions and
    /// recording them, and no upload for the (domain, year) lands after.
    pub async fn freeze(
        &self,
        domain: &str,
        year: i32,
        by: &str,
        disclosure: Option<serde_json::Value>,
    ) -> Result<DataRelease> {
        if self.catalog.domain(domain).is_none() {
            return Err(StoreError::Invalid(format!("unknown domain {domain}")));
        }
        let _guard = self.write_lock.lock().await;
        let all = self.data_releases()?;
        if let Some(r) = all
            .iter()
            .find(|r| r.domain == domain && r.year == year && r.is_frozen())
        {
            return Err(StoreError::Conflict(format!(
                "{domain} {year} is already frozen as release {} since {}",
                r.id, r.frozen_at
            )));
        }
        let n = all
            .iter()
            .filter(|r| r.domain == domain && r.year == year)
            .count()
            + 1;
        let id = format!("{domain}-{year}-{n}");
        // The freeze itself is a commit to the domain's table (a table
        // property), so that it is ordered against uploads by the Delta log:
        // an upload committed before it is in the release, one after it
        // sees the property and is refused, whichever process takes it.
        self.set_frozen(domain, year, &id).await?;
        let data_versions = self.current_data_versions().await?;
        let release = DataRelease {
            id,
            domain: domain.to_string(),
            year,
            data_version: data_versions.get(domain).cloned().unwrap_or_default(),
            data_versions,
            frozen_at: now(),
            frozen_by: by.to_string(),
            reopened_at: None,
            reopened_by: None,
            disclosure,
        };
        // The member list first: a release without it could not be
        // reproduced, a member list without a release is harmless. Two
        // replicas freezing at once write the same id; the first list
        // stays, and the second freeze is refused below.
        self.keep_release_members(&release.id).await?;
        let release = self
            .state
            .commit(by, |view| {
                if let Some(r) = view.releases.iter().find(|r| {
                    r.id == release.id
                        || (r.domain == release.domain && r.year == year && r.is_frozen())
                }) {
                    return Err(StoreError::Conflict(format!(
                        "{domain} {year} is already frozen as release {} since {}",
                        r.id, r.frozen_at
                    )));
                }
                Ok((
                    vec![Change::Released {
                        release: release.clone(),
                    }],
                    release.clone(),
                ))
            })
            .await?;
        tracing::info!(release = %release.id, "release frozen");
        Ok(release)
    }

    /// Every domain's data version as the Delta log has it now (another
    /// process may have committed since this one last looked).
    async fn current_data_versions(&self) -> Result<BTreeMap<String, String>> {
        let mut data_versions = BTreeMap::new();
        for d in &self.catalog.domains {
            let mut table = self
                .table(&d.id)
                .await
                .ok_or_else(|| StoreError::Invalid(format!("unknown domain {}", d.id)))?;
            if table.version().is_some() {
                table.update_state().await?;
            }
            data_versions.insert(
                d.id.clone(),
                crate::DataVersion::after(table.version()).to_string(),
            );
        }
        Ok(data_versions)
    }

    /// Writes the member list of a release (put if absent).
    async fn keep_release_members(&self, release_id: &str) -> Result<()> {
        let members: Vec<Member> = self.members_map().values().cloned().collect();
        let bytes = serde_json::to_vec(&members).map_err(|source| StoreError::Json {
            path: std::path::PathBuf::from(members_object(release_id).to_string()),
            source,
        })?;
        self.state
            .put_if_absent(&members_object(release_id), bytes.into())
            .await
            .map(|_| ())
    }

    /// Reopens a frozen (domain, year) for uploads. The release stays in the
    /// log and can still be asked for `as_of`.
    pub async fn reopen(&self, domain: &str, year: i32, by: &str) -> Result<DataRelease> {
        let open = |view: &crate::state::View| {
            view.releases
                .iter()
                .rev()
                .find(|r| r.domain == domain && r.year == year && r.is_frozen())
                .cloned()
                .ok_or_else(|| StoreError::Conflict(format!("{domain} {year} is not frozen")))
        };
        open(&self.state.view())?;
        self.set_frozen(domain, year, "").await?;
        let at = now();
        let r = self
            .state
            .commit(by, |view| {
                let mut r = open(view)?;
                r.reopened_at = Some(at.clone());
                r.reopened_by = Some(by.to_string());
                Ok((
                    vec![Change::Reopened {
                        release_id: r.id.clone(),
                        at: at.clone(),
                        by: by.to_string(),
                    }],
                    r,
                ))
            })
            .await?;
        tracing::info!(release = %r.id, "release reopened");
        Ok(r)
    }

    /// Sets (or, with `""`, clears) the table property that freezes a
    /// year of a domain: one commit that changes no data. A domain without
    /// figures has no table yet and nothing to freeze.
    async fn set_frozen(&self, domain: &str, year: i32, release: &str) -> Result<()> {
        let mut table = self
            .table(domain)
            .await
            .ok_or_else(|| StoreError::Invalid(format!("unknown domain {domain}")))?;
        if table.version().is_none() {
            return Err(StoreError::Conflict(format!(
                "{domain} has no figures yet; there is nothing to freeze"
            )));
        }
        table.update_state().await?;
        let table = table
            .set_tbl_properties()
            .with_properties(std::collections::HashMap::from([(
                format!("{FROZEN_PROPERTY}{year}"),
                release.to_string(),
            )]))
            .with_raise_if_not_exists(false)
            .await?;
        self.tables.write().await.insert(domain.to_string(), table);
        Ok(())
    }

    /// The member list frozen with a release.
    pub async fn release_members(&self, id: &str) -> Result<BTreeMap<String, Member>> {
        if !id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        {
            return Err(StoreError::Invalid(format!("no release {id}")));
        }
        let path = members_object(id);
        let bytes = self
            .state
            .get(&path)
            .await?
            .ok_or_else(|| StoreError::Invalid(format!("no member list of release {id}")))?;
        let members: Vec<Member> =
            serde_json::from_slice(&bytes).map_err(|source| StoreError::Json {
                path: std::path::PathBuf::from(path.to_string()),
                source,
            })?;
        Ok(members
            .into_iter()
            .map(|m| (m.member_id.clone(), m))
            .collect())
    }
}
