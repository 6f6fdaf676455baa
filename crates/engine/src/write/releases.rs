//! Releases: frozen (domain, year)s, readable later with `as_of`, and
//! their log.

use vergleichsring_catalog::Domain;
use vergleichsring_store::{DataRelease, DataVersion, StoreError};

use crate::base::{Core, check_year};
use crate::disclose::publication;
use crate::error::{EngineError, Result};
use crate::read::as_of::AsOf;

/// Freezing and reopening years, and the log of releases.
pub(crate) struct Releases<'e> {
    core: &'e Core,
}

impl<'e> Releases<'e> {
    /// The releases of `core`.
    pub(crate) fn new(core: &'e Core) -> Releases<'e> {
        Releases { core }
    }

    /// Every release, oldest first, as it stood at `as_of`: for a release,
    /// the releases frozen up to it (a later reopening is not shown); for a
    /// data version, the releases contained in that state, without their
    /// reopening; else the log as it is.
    pub(crate) fn list(&self, as_of: Option<&AsOf>) -> Result<Vec<DataRelease>> {
        let all = self.core.store.data_releases()?;
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
    pub(crate) async fn freeze(&self, d: &Domain, year: i32, by: &str) -> Result<DataRelease> {
        let domain = d.id.as_str();
        let disclosure = Some(self.core.disclosure_record());
        let release = self
            .change(
                d,
                year,
                self.core.store.freeze(domain, year, by, disclosure),
            )
            .await?;
        // A freeze publishes the year (rule 9), unless it is published as
        // it stands or too few members changed (rule 10).
        match self
            .core
            .publishing()
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
    pub(crate) async fn reopen(&self, d: &Domain, year: i32, by: &str) -> Result<DataRelease> {
        self.change(d, year, self.core.store.reopen(&d.id, year, by))
            .await
    }

    /// Runs a freeze or reopen of the store under the refresh lock. Its
    /// commit changes no data, so the cached snapshot moves on to its
    /// version instead of being loaded again.
    async fn change(
        &self,
        d: &Domain,
        year: i32,
        change: impl std::future::Future<Output = vergleichsring_store::Result<DataRelease>>,
    ) -> Result<DataRelease> {
        check_year(year)?;
        let _guard = self.core.snapshots.refresh.lock().await;
        let release = change.await.map_err(|e| match e {
            StoreError::Conflict(m) => EngineError::Conflict(m),
            other => EngineError::Store(other),
        })?;
        if let Some(v) = self.core.store.data_version(&d.id).await {
            self.core.snapshots.relabel(d, v);
        }
        Ok(release)
    }
}
