//! Publications, the release ledger and the audit (rules 9–11 of the domain
//! description): the one door every statistic for a non-admin caller
//! passes.
//!
//! A *publication* fixes a (domain, year) at one data version, with one
//! member list and one set of disclosure settings. Non-admin comparisons,
//! time series, reports and the analysts' table are computed from it
//! ([`View`]), never from the live data, so that an upload changes nothing
//! others see until enough members changed for a new publication (rule 10),
//! and a member's own position is the published one.
//!
//! Every publication and every custom group's first release in it is an
//! entry of the year's ledger (`vergleichsring_store::LedgerEntry`). Before
//! an entry is recorded, the audit (`vergleichsring_audit`) checks that the
//! sums disclosed so far together with the new ones determine no single
//! member's value and no withheld group's total, also for a member that
//! knows its own values: built-in groups are withheld further until it
//! passes (secondary suppression), a custom group is refused. Check and
//! record are one step: entries are numbered and put if absent, and a writer
//! that loses the number to another process checks again.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use vergleichsring_catalog::Domain;
use vergleichsring_store::{
    Append, CustomDisclosure, DataVersion, LedgerEntry, LedgerRecord, Publication, PublishedFigure,
    PublishedState, WithheldGroup,
};

use crate::base::{Core, MemberList};
use crate::disclose::disclosure::Audience;
use crate::error::{EngineError, Result};
use crate::out::compare::{self, Dimension, GroupBy, group_of};
use crate::read::snapshot::Snapshot;

mod audit;
mod custom;
mod ledger;
pub(crate) mod nearest;
mod view;

use audit::{Systems, audit_publication};
pub(crate) use ledger::Ledgers;
pub(crate) use view::{Ask, View};

/// The built-in dimensions, in the order publications list them.
pub const DIMENSIONS: [Dimension; 5] = [
    Dimension::All,
    Dimension::SizeClass,
    Dimension::Land,
    Dimension::Kind,
    Dimension::StructureType,
];

/// What made a publication.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Trigger {
    /// An admin asked for it.
    Admin,
    /// A freeze of the (domain, year).
    Freeze,
    /// Enough members changed (`auto_publish`).
    Auto,
}

impl Trigger {
    fn as_str(self) -> &'static str {
        match self {
            Trigger::Admin => "admin",
            Trigger::Freeze => "freeze",
            Trigger::Auto => "auto",
        }
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

/// The publication states of a ledger, oldest first.
fn publications(entries: &[Arc<LedgerEntry>]) -> impl Iterator<Item = (u64, &PublishedState)> {
    entries.iter().filter_map(|e| match &e.record {
        LedgerRecord::Publication(p) => Some((e.seq, p.as_ref())),
        LedgerRecord::CustomGroup(_) => None,
    })
}

/// The custom-group releases of a ledger.
fn custom_disclosures(entries: &[Arc<LedgerEntry>]) -> impl Iterator<Item = &CustomDisclosure> {
    entries.iter().filter_map(|e| match &e.record {
        LedgerRecord::CustomGroup(c) => Some(c),
        LedgerRecord::Publication(_) => None,
    })
}

fn now() -> String {
    chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Micros, true)
}

fn version_of(v: &str) -> DataVersion {
    DataVersion::parse_or_zero(v)
}

/// How many members differ between two publication states: a member
/// counts when it is new, gone, or has another value of any key figure or
/// another group in any dimension (what others see of it).
fn changed_members(previous: Option<&PublishedState>, next: &PublishedState) -> usize {
    let Some(prev) = previous else {
        return next.member_ids.len();
    };
    let index: HashMap<&str, usize> = prev
        .member_ids
        .iter()
        .enumerate()
        .map(|(i, m)| (m.as_str(), i))
        .collect();
    let figures: Vec<(&PublishedFigure, Option<&PublishedFigure>)> = next
        .figures
        .iter()
        .map(|f| (f, prev.figures.iter().find(|p| p.figure == f.figure)))
        .collect();
    type Groups = [Option<String>];
    let dims: Vec<(&Groups, Option<&Groups>)> = next
        .groups
        .iter()
        .map(|(d, g)| (g.as_slice(), prev.groups.get(d).map(Vec::as_slice)))
        .collect();
    let (mut changed, mut kept) = (0, 0);
    for (i, m) in next.member_ids.iter().enumerate() {
        let Some(&j) = index.get(m.as_str()) else {
            changed += 1;
            continue;
        };
        kept += 1;
        let differs = figures
            .iter()
            .any(|(f, p)| p.is_none_or(|p| f.values.get(i) != p.values.get(j)))
            || dims
                .iter()
                .any(|(g, p)| p.is_none_or(|p| g.get(i) != p.get(j)));
        changed += usize::from(differs);
    }
    // Members of the previous publication without figures now.
    changed + (prev.member_ids.len() - kept)
}

/// Publishing (domain, year)s, the views every non-admin answer reads,
/// and custom groups' disclosures.
pub(crate) struct Publications<'e> {
    core: &'e Core,
    /// The views and live years this value has read, by (domain, year),
    /// kept until a time series lets go of them (one request): a report
    /// reads its year's publication for every key figure and then for the
    /// time series, and a year evicted from the memory cache in between
    /// (every year of the ring is more than the budget at national scale,
    /// twice as much with its perturbed twin) would be read from the lake
    /// again.
    views: Mutex<HashMap<(String, i32), Arc<View>>>,
    live: Mutex<HashMap<(String, i32), Arc<Snapshot>>>,
}

/// A publication's state before it is recorded.
struct Prepared {
    state: PublishedState,
    version: u64,
    changed: usize,
    suppressed: usize,
}

/// What publishing a (domain, year) now would do (the coordinator's
/// confirmation step): nothing of it is recorded.
#[derive(Debug, Clone)]
pub struct PublishPreview {
    /// Members whose figures differ from the last publication (all members
    /// with figures for the first).
    pub changed_members: usize,
    /// Groups the audit would withhold beyond rules 1–5.
    pub suppressed_by_audit: usize,
    /// (Key figure, group) pairs that would be disclosed.
    pub disclosed: usize,
    /// Per key figure, each built-in group that would be withheld, with
    /// the reason.
    pub withheld: Vec<(String, WithheldGroup)>,
}

impl<'e> Publications<'e> {
    /// The publications of `core`.
    pub(crate) fn new(core: &'e Core) -> Publications<'e> {
        Publications {
            core,
            views: Mutex::new(HashMap::new()),
            live: Mutex::new(HashMap::new()),
        }
    }
}

impl Publications<'_> {
    /// The publications, newest first, optionally of one domain and year.
    pub(crate) fn publications(
        &self,
        domain: Option<&str>,
        year: Option<i32>,
    ) -> Result<Vec<Publication>> {
        let mut out = Vec::new();
        for d in &self.core.catalog().domains {
            if domain.is_some_and(|x| x != d.id) {
                continue;
            }
            for y in self.core.ledgers.years(&d.id)? {
                if year.is_some_and(|x| x != y) {
                    continue;
                }
                let heads = self.core.ledgers.publications_of(&d.id, y)?;
                out.extend(heads.iter().map(|(_, p)| p.clone()));
            }
        }
        out.sort_by(|a, b| b.published_at.cmp(&a.published_at).then(b.id.cmp(&a.id)));
        Ok(out)
    }

    /// Publishes a (domain, year) at its current data version (rules 9–11):
    /// refused with `NothingChanged` when no member's figures differ from
    /// the last publication, `TooFewChanges` when fewer than the threshold
    /// do. Built-in groups are withheld by rules 1–5 and then, smallest
    /// first, until the audit passes.
    pub(crate) async fn publish(
        &self,
        domain: &str,
        year: i32,
        trigger: Trigger,
        by: &str,
    ) -> Result<Publication> {
        let d = self.core.domain(domain)?;
        crate::base::check_year(year)?;
        let _writer = self.core.ledgers.writer(&d.id).lock().await;
        let started = std::time::Instant::now();
        loop {
            let entries = self.core.ledgers.entries_of(&d.id, year)?;
            let Prepared {
                mut state,
                version,
                changed,
                suppressed,
            } = self.prepare(d, year, &entries).await?;
            let seq = entries.len() as u64 + 1;
            let publication = Publication {
                id: format!("{}-{year}-p{seq}", d.id),
                domain: d.id.clone(),
                year,
                data_version: DataVersion::of_commit(version).to_string(),
                published_at: now(),
                published_by: by.to_string(),
                trigger: trigger.as_str().to_string(),
                changed_members: changed,
                suppressed_by_audit: suppressed,
                disclosure: self.core.disclosure_record(),
            };
            state.publication = publication.clone();
            let entry = LedgerEntry {
                seq,
                recorded_at: publication.published_at.clone(),
                record: LedgerRecord::Publication(Box::new(state)),
            };
            match self.core.ledgers.append(&d.id, year, &entry).await? {
                Append::Done => {
                    tracing::info!(
                        publication = %publication.id,
                        changed,
                        suppressed,
                        ms = started.elapsed().as_millis() as u64,
                        "published"
                    );
                    metrics::counter!("vergleichsring_publications_total", "domain" => d.id.clone(), "trigger" => trigger.as_str()).increment(1);
                    return Ok(publication);
                }
                // Another process recorded an entry first: audit again
                // against it.
                Append::Taken => continue,
            }
        }
    }

    /// What [`Publications::publish`] would record now, without recording
    /// anything: the members changed since the last publication and every
    /// group the rules and the audit would withhold, or the same refusal.
    /// For the coordinator's confirmation step.
    pub(crate) async fn preview(&self, domain: &str, year: i32) -> Result<PublishPreview> {
        let d = self.core.domain(domain)?;
        crate::base::check_year(year)?;
        let entries = self.core.ledgers.entries_of(&d.id, year)?;
        let prepared = self.prepare(d, year, &entries).await?;
        let mut withheld = Vec::new();
        let mut disclosed = 0;
        for f in prepared.state.figures {
            disclosed += f.disclosed.len();
            withheld.extend(f.withheld.into_iter().map(|w| (f.figure.clone(), w)));
        }
        Ok(PublishPreview {
            changed_members: prepared.changed,
            suppressed_by_audit: prepared.suppressed,
            disclosed,
            withheld,
        })
    }

    /// The state a publication of (domain, year) would fix after
    /// `entries`: its groups decided by rules 1–5 and the audit, with the
    /// count of changed members (rule 10, refused when too few).
    async fn prepare(
        &self,
        d: &Domain,
        year: i32,
        entries: &[Arc<LedgerEntry>],
    ) -> Result<Prepared> {
        let snapshot = self.core.snapshots.current_with(d, [year]).await?;
        let (Some(version), true) = (
            snapshot.version,
            snapshot.year(year).is_some_and(|y| !y.is_empty()),
        ) else {
            return Err(EngineError::Conflict(format!(
                "{} {year} has no figures to publish",
                d.id
            )));
        };
        let members = self.core.members_by_id();
        let mut state = self.published_state(d, year, &snapshot, &members);
        let previous = publications(entries).last().map(|(_, s)| s);
        let changed = self.enough_changes(d, year, previous, &state)?;
        self.decide_groups(d, year, &snapshot, &members, &mut state);
        state.members = members.values().cloned().collect();
        let suppressed = audit_publication(
            entries,
            &mut state,
            &self.core.store.all_grants(),
            self.core.policy.threshold,
        );
        Ok(Prepared {
            state,
            version,
            changed,
            suppressed,
        })
    }

    /// Rule 10: how many members' figures differ from the previous
    /// publication, or why that is too few to publish again.
    fn enough_changes(
        &self,
        d: &Domain,
        year: i32,
        previous: Option<&PublishedState>,
        state: &PublishedState,
    ) -> Result<usize> {
        let changed = changed_members(previous, state);
        if changed == 0
            && let Some(p) = previous
        {
            return Err(EngineError::NothingChanged {
                publication: p.publication.id.clone(),
            });
        }
        if changed < self.core.policy.threshold {
            return Err(EngineError::TooFewChanges {
                domain: d.id.clone(),
                year,
                changed,
                threshold: self.core.policy.threshold,
            });
        }
        Ok(changed)
    }

    /// Publishes by itself when `auto_publish` is on and enough members
    /// changed since the last publication; quietly does nothing otherwise.
    pub(crate) async fn auto_publish(&self, domain: &str, year: i32) -> Option<Publication> {
        if !self.core.policy.auto_publish {
            return None;
        }
        match self.publish(domain, year, Trigger::Auto, "auto").await {
            Ok(p) => Some(p),
            Err(EngineError::NothingChanged { .. } | EngineError::TooFewChanges { .. }) => None,
            Err(e) => {
                tracing::error!(error = %e, domain, year, "automatic publication failed");
                None
            }
        }
    }

    /// Publishes every (domain, year) whose figures changed after its last
    /// publication (or that has none) when `auto_publish` is on and enough
    /// members changed: for a data directory written before publications
    /// existed, or uploads whose automatic publication was cut short.
    /// `serve` runs it in the background at start. Returns how many it
    /// published.
    pub(crate) async fn publish_pending(&self) -> Result<usize> {
        if !self.core.policy.auto_publish {
            return Ok(0);
        }
        let mut published = 0;
        for d in &self.core.catalog().domains {
            let snapshot = self.core.snapshots.current(d).await?;
            for year in snapshot.years() {
                let newest = snapshot.year_version(year);
                let heads = self.core.ledgers.publications_of(&d.id, year)?;
                let published_at = heads.last().map(|(_, p)| version_of(&p.data_version));
                // Nothing of the year committed after the publication.
                if published_at
                    .is_some_and(|p| newest.is_none_or(|v| DataVersion::of_commit(v) <= p))
                {
                    continue;
                }
                if self.auto_publish(&d.id, year).await.is_some() {
                    published += 1;
                }
            }
        }
        Ok(published)
    }

    /// The members, values and groups a publication of the year at the
    /// snapshot would fix, with no group decided yet: enough to count the
    /// changed members, which every upload does (`auto_publish`).
    fn published_state(
        &self,
        d: &Domain,
        year: i32,
        snapshot: &Snapshot,
        members: &MemberList,
    ) -> PublishedState {
        // The year's current rows and their key figures are walked side
        // by side, in member id order (no lookup per member).
        let empty = crate::read::snapshot::YearData::default();
        let data = snapshot.year(year).unwrap_or(&empty);
        let member_ids: Vec<String> = data.current_rows().map(|(m, _)| m.to_string()).collect();
        let pop = d.basic_figures.iter().position(|f| f.id == "population");
        let groups = DIMENSIONS
            .iter()
            .map(|dim| {
                let by = GroupBy::Dimension(*dim);
                if *dim == Dimension::StructureType {
                    let input = self
                        .core
                        .compare_input(d, snapshot, members, &self.core.policy);
                    let a = crate::disclose::grouping::assignment_of(&input, data, *dim);
                    let of = a
                        .of_row
                        .iter()
                        .map(|g| {
                            g.and_then(|g| a.groups.get(g as usize))
                                .map(|(id, _)| id.clone())
                        })
                        .collect();
                    return (dim.as_str().to_string(), of);
                }
                let of: Vec<Option<String>> = data
                    .current_rows()
                    .map(|(m, row)| {
                        let member = members.get(m)?;
                        let population = pop.and_then(|i| row.basic.get(i));
                        group_of(self.core.catalog(), &by, member, population).map(|(g, _)| g)
                    })
                    .collect();
                (dim.as_str().to_string(), of)
            })
            .collect();
        let figures = d
            .key_figures
            .iter()
            .enumerate()
            .map(|(fi, k)| PublishedFigure {
                figure: k.id.clone(),
                values: {
                    let column = data.key_columns().figure(fi);
                    (0..data.len())
                        .map(|i| column.value(i).map(f64::to_bits))
                        .collect()
                },
                disclosed: Vec::new(),
                withheld: Vec::new(),
            })
            .collect();
        PublishedState {
            publication: Publication {
                id: String::new(),
                domain: d.id.clone(),
                year,
                data_version: String::new(),
                published_at: String::new(),
                published_by: String::new(),
                trigger: String::new(),
                changed_members: 0,
                suppressed_by_audit: 0,
                disclosure: serde_json::Value::Null,
            },
            // Filled when the publication goes ahead.
            members: Vec::new(),
            member_ids,
            groups,
            figures,
        }
    }

    /// Decides every built-in group of a publication by rules 1–5 for
    /// analysts (who see the most groups; members and consultants see
    /// fewer), before the audit.
    fn decide_groups(
        &self,
        d: &Domain,
        year: i32,
        snapshot: &Snapshot,
        members: &MemberList,
        state: &mut PublishedState,
    ) {
        let input = self
            .core
            .compare_input(d, snapshot, members, &self.core.policy);
        for (fi, f) in state.figures.iter_mut().enumerate() {
            for dim in DIMENSIONS {
                let c = compare::compare(
                    &input,
                    year,
                    fi,
                    &GroupBy::Dimension(dim),
                    Audience::Analyst,
                    None,
                );
                for g in c.groups {
                    if !g.suppressed {
                        f.disclosed.push((dim.as_str().to_string(), g.group));
                    } else if g.n > 0 {
                        f.withheld.push(WithheldGroup {
                            dimension: dim.as_str().to_string(),
                            group: g.group,
                            reason: g.reason.unwrap_or("below_threshold").to_string(),
                        });
                    }
                }
            }
        }
    }
}
