//! Past states: `as_of` (a publication, a release or, for admin, a data
//! version), and the snapshots, member lists and disclosure settings a
//! request reads at one.

use std::collections::BTreeMap;
use std::sync::Arc;

use vergleichsring_store::{DataVersion, Member};

use crate::base::{Core, MemberList, check_year};
use crate::disclose::disclosure::{Audience, Policy};
use crate::error::{EngineError, Result};
use vergleichsring_store::DataRelease;

/// A past state of the data that a request reads instead of the latest:
/// a publication, a frozen release, or a data version. Resolved by
/// [`crate::Engine::resolve_as_of`].
#[derive(Debug, Clone)]
pub struct AsOf {
    /// What the caller asked for: a release id or a data version.
    pub label: String,
    /// The Delta version of each domain it fixes (`None`: nothing
    /// submitted yet at that point). Domains not named read the latest.
    pub(crate) versions: BTreeMap<String, Option<u64>>,
    /// The member list of a release.
    pub(crate) members: Option<MemberList>,
    /// The release, when `as_of` names one, and its place in the log.
    pub(crate) release: Option<(usize, DataRelease)>,
    /// The publication, when `as_of` names one.
    pub(crate) publication: Option<PublicationCut>,
}

/// A publication named by `as_of`: its (domain, year) reads it, other
/// years the latest publication made until then.
#[derive(Debug, Clone)]
pub(crate) struct PublicationCut {
    pub(crate) domain: String,
    pub(crate) year: i32,
    pub(crate) seq: u64,
    pub(crate) published_at: String,
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
    pub(crate) fn policy(&self) -> Option<Policy> {
        let r = self.release()?;
        Policy::from_record(r.disclosure.as_ref()?)
    }
}

impl AsOf {
    /// Resolves an `as_of` value: a release id (`library-2024-1`, see
    /// [`crate::Engine::releases`]) or a data version. A data version is one
    /// number for a request about one domain, and the report's dotted form
    /// (`12.7.9`, one number per domain in catalogue order) for a report.
    pub(crate) async fn resolve(core: &Core, value: &str, domain: Option<&str>) -> Result<AsOf> {
        if let Some(a) = AsOf::of_publication(core, value)? {
            return Ok(a);
        }
        let releases = core.store.data_releases()?;
        if let Some((i, r)) = releases.iter().enumerate().find(|(_, r)| r.id == value) {
            let map = Arc::new(core.store.release_members(&r.id).await?);
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
            Some(d) => vec![core.domain(d)?.id.clone()],
            None => core
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
            let current = DataVersion::after(core.store.data_version(d).await);
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
    fn of_publication(core: &Core, value: &str) -> Result<Option<AsOf>> {
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
        if core.catalog().domain(domain).is_none() || check_year(year).is_err() {
            return Ok(None);
        }
        let known = core
            .ledgers
            .publications_of(domain, year)?
            .iter()
            .any(|(s, _)| *s == seq);
        let state = match known {
            true => core.store.ledger_mask(domain, year, seq)?,
            false => None,
        };
        let Some(state) = state else {
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
}
