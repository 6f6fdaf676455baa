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
//! sums released so far together with the new ones determine no single
//! member's value and no withheld group's total, also for a member that
//! knows its own values: built-in groups are withheld further until it
//! passes (secondary suppression), a custom group is refused. Check and
//! record are one step: entries are numbered and put if absent, and a writer
//! that loses the number to another process checks again.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::sync::{Arc, Mutex};

use vergleichsring_audit::Var;
use vergleichsring_catalog::Domain;
use vergleichsring_store::{
    Append, CustomGroup, CustomRelease, DataVersion, LedgerEntry, LedgerRecord, Member,
    Publication, PublishedFigure, PublishedState, ReleaseEntry, WithheldGroup,
};

use crate::compare::{
    self, Comparison, Dimension, GroupBy, GroupResult, Point, PublicationRef, group_of,
};
use crate::disclosure::{Audience, Policy, Reason};
use crate::error::{EngineError, Result};
use crate::snapshot::Snapshot;
use crate::{AsOf, Engine, MemberList, groups};

/// The built-in dimensions, in the order publications list them.
pub const DIMENSIONS: [Dimension; 4] = [
    Dimension::All,
    Dimension::SizeClass,
    Dimension::Land,
    Dimension::Kind,
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

/// How many publication views are kept in memory.
const VIEWS: usize = 64;

/// The ledgers as read so far, the views built from them, and the lock
/// that serialises this process's writers of ledger entries (other
/// processes are kept apart by put-if-absent).
#[derive(Default)]
pub(crate) struct Ledgers {
    /// Per domain, the length of each year's ledger as last seen on disk:
    /// reads take it from here, so that answering touches no file. It is
    /// read again by `follow_ledgers` (every `lake.refresh_millis` in
    /// `serve`), when a write loses its number, and after this process's
    /// own writes.
    lengths: Mutex<HashMap<String, Arc<BTreeMap<i32, u64>>>>,
    entries: Mutex<HashMap<(String, i32), Entries>>,
    views: Mutex<Vec<(String, Arc<View>)>>,
    /// Custom groups refused in a publication, by (publication, group,
    /// ledger length): asked again with nothing new recorded, the answer
    /// is the same.
    refused: Mutex<HashMap<(String, String, usize), groups::Refusal>>,
    /// The audit's view of a (domain, year)'s ledger, at a ledger length:
    /// built once for the custom groups asked while nothing new is
    /// recorded.
    systems: Mutex<HashMap<(String, i32), AuditView>>,
    write: tokio::sync::Mutex<()>,
}

/// The audit's view of a ledger and the ledger length it was built at.
type AuditView = (usize, Arc<Systems>);

/// The entries of one (domain, year)'s ledger, oldest first.
type Entries = Arc<Vec<Arc<LedgerEntry>>>;

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
fn custom_releases(entries: &[Arc<LedgerEntry>]) -> impl Iterator<Item = &CustomRelease> {
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

/// What one comparison asks: the key figure (an index into the domain's),
/// the grouping, who asks and whose position it shows.
#[derive(Clone, Copy)]
pub(crate) struct Ask<'a> {
    pub(crate) domain: &'a Domain,
    pub(crate) figure: usize,
    pub(crate) by: &'a GroupBy,
    pub(crate) audience: Audience,
    pub(crate) member: Option<&'a str>,
}

/// The outcome of checking a custom group: its members with figures and the
/// key figures it is released for, or why not.
type CustomVerdict = std::result::Result<(BTreeSet<String>, Vec<String>), groups::Refusal>;

/// A publication, ready to answer from: the year's data at its version,
/// its member list and settings, and which groups it releases.
pub(crate) struct View {
    pub(crate) publication: Option<Publication>,
    pub(crate) snapshot: Arc<Snapshot>,
    pub(crate) members: MemberList,
    pub(crate) policy: Policy,
    /// (key figure index, dimension) → released group ids.
    released: HashMap<(usize, &'static str), HashSet<String>>,
    /// (key figure index, dimension, group) → why it is withheld.
    withheld: HashMap<(usize, &'static str, String), String>,
}

impl View {
    /// The live state, for admin: nothing is masked.
    pub(crate) fn live(snapshot: Arc<Snapshot>, members: MemberList, policy: Policy) -> View {
        View {
            publication: None,
            snapshot,
            members,
            policy,
            released: HashMap::new(),
            withheld: HashMap::new(),
        }
    }

    /// How answers name the publication.
    pub(crate) fn reference(&self) -> Option<PublicationRef> {
        self.publication.as_ref().map(|p| PublicationRef {
            id: p.id.clone(),
            published_at: p.published_at.clone(),
        })
    }

    /// A comparison from this state: computed for the requester like any
    /// other, then every group the publication does not release is
    /// withheld with the publication's reason.
    pub(crate) fn compare(&self, engine: &Engine, ask: Ask<'_>, year: i32) -> Comparison {
        let Ask {
            domain,
            figure,
            by,
            audience,
            member,
        } = ask;
        let input = engine.compare_input(domain, &self.snapshot, &self.members, &self.policy);
        let mut c = compare::compare(&input, year, figure, by, audience, member);
        if self.publication.is_some()
            && let GroupBy::Dimension(d) = by
        {
            let released = self.released.get(&(figure, d.as_str()));
            for g in c.groups.iter_mut().filter(|g| !g.suppressed) {
                if released.is_some_and(|r| r.contains(&g.group)) {
                    continue;
                }
                let reason = self
                    .withheld
                    .get(&(figure, d.as_str(), g.group.clone()))
                    .map_or(Reason::Audit, |r| reason_of(r));
                withhold(g, reason);
            }
        }
        c.publication = self.reference();
        c
    }
}

/// The reason behind a stored reason code.
fn reason_of(code: &str) -> Reason {
    [
        Reason::BelowThreshold,
        Reason::AllEqual,
        Reason::Complement,
        Reason::Differencing,
    ]
    .into_iter()
    .find(|r| r.code() == code)
    .unwrap_or(Reason::Audit)
}

/// Withholds a group's statistics (and everything derived from them).
fn withhold(g: &mut GroupResult, reason: Reason) {
    g.suppressed = true;
    g.stats = None;
    g.reason = Some(reason.code());
    g.message = Some(reason.message_en());
    g.message_de = Some(reason.message_de());
    g.withheld.clear();
    g.distribution = None;
    g.peers = None;
    if let Some(o) = &mut g.own {
        o.rank = None;
        o.percentile_rank = None;
    }
}

/// The variables and released sums of every key figure over a ledger, as
/// the audit takes them: a variable is one member's value of one key
/// figure, the same in every publication while its bits are the same.
/// Built in one pass over the ledger; kept per (domain, year, ledger
/// length) for custom groups (`Ledgers::systems`).
#[derive(Default, Clone)]
struct Systems {
    /// Members by id, one index for all key figures.
    members: HashMap<String, u32>,
    /// Per key figure id.
    figures: HashMap<String, System>,
}

/// The variables and released sums of one key figure.
#[derive(Default, Clone)]
struct System {
    vars: HashMap<(u32, u64), Var>,
    owner: Vec<u32>,
    released: Vec<Vec<Var>>,
    protected: Vec<Vec<Var>>,
}

/// The rows of one publication's key figure: (dimension, group) → the
/// variables of its members with a value.
struct FigureRows {
    released: Vec<((String, String), Vec<Var>)>,
    withheld: Vec<((String, String), Vec<Var>)>,
}

impl System {
    fn var(&mut self, member: u32, bits: u64) -> Var {
        let next = u32::try_from(self.owner.len()).unwrap_or(u32::MAX);
        let owner = &mut self.owner;
        *self.vars.entry((member, bits)).or_insert_with(|| {
            owner.push(member);
            next
        })
    }
}

/// A publication's members in the index of a [`Systems`], and its members
/// by built-in group.
struct Indexed<'s> {
    members: Vec<u32>,
    position: HashMap<&'s str, usize>,
    by_group: HashMap<(&'s str, &'s str), Vec<usize>>,
}

impl Systems {
    fn index<'s>(&mut self, state: &'s PublishedState) -> Indexed<'s> {
        let members = state
            .member_ids
            .iter()
            .map(|m| {
                let next = u32::try_from(self.members.len()).unwrap_or(u32::MAX);
                *self.members.entry(m.clone()).or_insert(next)
            })
            .collect();
        let position = state
            .member_ids
            .iter()
            .enumerate()
            .map(|(i, m)| (m.as_str(), i))
            .collect();
        let mut by_group: HashMap<(&str, &str), Vec<usize>> = HashMap::new();
        for (dim, of) in &state.groups {
            for (i, g) in of.iter().enumerate() {
                if let Some(g) = g {
                    by_group
                        .entry((dim.as_str(), g.as_str()))
                        .or_default()
                        .push(i);
                }
            }
        }
        Indexed {
            members,
            position,
            by_group,
        }
    }

    /// The variables of members (by position in the publication) in a key
    /// figure, sorted.
    fn vars(
        &mut self,
        ix: &Indexed<'_>,
        figure: &PublishedFigure,
        positions: impl Iterator<Item = usize>,
    ) -> Vec<Var> {
        let sys = self.figures.entry(figure.figure.clone()).or_default();
        let mut out: Vec<Var> = positions
            .filter_map(|i| {
                let bits = figure.values.get(i).copied().flatten()?;
                Some(sys.var(*ix.members.get(i)?, bits))
            })
            .collect();
        out.sort_unstable();
        out.dedup();
        out
    }

    /// The rows of a publication's key figure.
    fn rows(&mut self, ix: &Indexed<'_>, figure: &PublishedFigure) -> FigureRows {
        let row = |this: &mut Systems, dim: &str, group: &str| {
            let members = ix
                .by_group
                .get(&(dim, group))
                .into_iter()
                .flatten()
                .copied();
            this.vars(ix, figure, members)
        };
        let released = figure
            .released
            .iter()
            .map(|(d, g)| ((d.clone(), g.clone()), row(self, d, g)))
            .collect();
        let withheld = figure
            .withheld
            .iter()
            .map(|w| {
                (
                    (w.dimension.clone(), w.group.clone()),
                    row(self, &w.dimension, &w.group),
                )
            })
            .filter(|(_, v)| !v.is_empty())
            .collect();
        FigureRows { released, withheld }
    }

    /// The variables of a custom group's members in a publication's key
    /// figure.
    fn custom_vars<'a>(
        &mut self,
        ix: &Indexed<'_>,
        figure: &PublishedFigure,
        members: impl Iterator<Item = &'a str>,
    ) -> Vec<Var> {
        let positions: Vec<usize> = members
            .filter_map(|m| ix.position.get(m).copied())
            .collect();
        self.vars(ix, figure, positions.into_iter())
    }

    /// The variables of a custom group's members in a publication's key
    /// figure, looked up without adding any (`None` if one is missing).
    fn lookup<'a>(
        &self,
        position: &HashMap<&str, usize>,
        figure: &PublishedFigure,
        members: impl Iterator<Item = &'a str>,
    ) -> Option<Vec<Var>> {
        let sys = self.figures.get(&figure.figure)?;
        let mut out = Vec::new();
        for m in members {
            let Some(i) = position.get(m) else {
                continue;
            };
            let Some(bits) = figure.values.get(*i).copied().flatten() else {
                continue;
            };
            out.push(*sys.vars.get(&(*self.members.get(m)?, bits))?);
        }
        out.sort_unstable();
        out.dedup();
        Some(out)
    }

    /// Everything a ledger has released and withheld, every key figure.
    fn of_ledger(entries: &[Arc<LedgerEntry>]) -> Systems {
        let mut all = Systems::default();
        let states: HashMap<&str, &PublishedState> = publications(entries)
            .map(|(_, s)| (s.publication.id.as_str(), s))
            .collect();
        let mut indexed: HashMap<&str, Indexed<'_>> = HashMap::new();
        for e in entries {
            match &e.record {
                LedgerRecord::Publication(state) => {
                    let ix = all.index(state);
                    for f in &state.figures {
                        let rows = all.rows(&ix, f);
                        let sys = all.figures.entry(f.figure.clone()).or_default();
                        sys.released
                            .extend(rows.released.into_iter().map(|(_, v)| v));
                        sys.protected
                            .extend(rows.withheld.into_iter().map(|(_, v)| v));
                    }
                    indexed.insert(state.publication.id.as_str(), ix);
                }
                LedgerRecord::CustomGroup(c) => {
                    let (Some(state), Some(ix)) = (
                        states.get(c.publication.as_str()),
                        indexed.get(c.publication.as_str()),
                    ) else {
                        continue;
                    };
                    for f in state
                        .figures
                        .iter()
                        .filter(|f| c.figures.contains(&f.figure))
                    {
                        let row = all.custom_vars(ix, f, c.member_ids.iter().map(String::as_str));
                        if !row.is_empty() {
                            all.figures
                                .entry(f.figure.clone())
                                .or_default()
                                .released
                                .push(row);
                        }
                    }
                }
            }
        }
        all
    }
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

impl Engine {
    /// The entries of a (domain, year)'s ledger up to the length last seen
    /// on disk (see `Ledgers::lengths`); entries not read yet are read from
    /// the store once and kept.
    pub(crate) fn ledger(&self, domain: &str, year: i32) -> Result<Entries> {
        let len = self
            .ledger_lengths(domain)?
            .get(&year)
            .copied()
            .unwrap_or(0);
        let key = (domain.to_string(), year);
        let cached = lock(&self.ledgers.entries).get(&key).cloned();
        let have = cached.as_ref().map_or(0, |c| c.len() as u64);
        if have >= len {
            return Ok(cached.unwrap_or_default());
        }
        let mut all: Vec<Arc<LedgerEntry>> = cached.map(|c| (*c).clone()).unwrap_or_default();
        all.extend(
            self.store
                .ledger_entries(domain, year, have + 1, len)?
                .into_iter()
                .map(Arc::new),
        );
        let all = Arc::new(all);
        lock(&self.ledgers.entries).insert(key, all.clone());
        Ok(all)
    }

    /// A tag of every ledger of a domain (year and length), which changes
    /// with every publication and custom release: part of the `ETag` of
    /// answers computed from publications.
    pub fn publication_tag(&self, domain: &str) -> String {
        self.ledger_lengths(domain)
            .map(|l| {
                l.iter()
                    .map(|(y, n)| format!("{y}:{n}"))
                    .collect::<Vec<_>>()
                    .join(",")
            })
            .unwrap_or_default()
    }

    /// The length of every year's ledger of a domain, as last seen.
    fn ledger_lengths(&self, domain: &str) -> Result<Arc<BTreeMap<i32, u64>>> {
        if let Some(l) = lock(&self.ledgers.lengths).get(domain) {
            return Ok(l.clone());
        }
        self.scan_ledgers(domain)
    }

    /// Reads the lengths of a domain's ledgers from the store.
    fn scan_ledgers(&self, domain: &str) -> Result<Arc<BTreeMap<i32, u64>>> {
        let mut lengths = BTreeMap::new();
        for y in self.store.ledger_years(domain)? {
            lengths.insert(y, self.store.ledger_len(domain, y)?);
        }
        let lengths = Arc::new(lengths);
        lock(&self.ledgers.lengths).insert(domain.to_string(), lengths.clone());
        Ok(lengths)
    }

    /// The years of a domain with a ledger.
    pub(crate) fn ledger_years(&self, domain: &str) -> Result<Vec<i32>> {
        Ok(self.ledger_lengths(domain)?.keys().copied().collect())
    }

    /// Picks up publications and custom releases that other processes on
    /// the data directory recorded. Run with `follow_log`.
    pub(crate) fn follow_ledgers(&self) -> Result<()> {
        for d in &self.catalog().domains {
            self.scan_ledgers(&d.id)?;
        }
        Ok(())
    }

    /// Appends an entry to a ledger if its number is free, and tells the
    /// cache either way.
    fn append(&self, domain: &str, year: i32, entry: &LedgerEntry) -> Result<Append> {
        let outcome = self.store.append_ledger(domain, year, entry)?;
        match outcome {
            Append::Done => {
                let mut all = lock(&self.ledgers.lengths);
                let mut lengths: BTreeMap<i32, u64> =
                    all.get(domain).map(|l| (**l).clone()).unwrap_or_default();
                let n = lengths.entry(year).or_default();
                *n = (*n).max(entry.seq);
                all.insert(domain.to_string(), Arc::new(lengths));
            }
            Append::Taken => {
                self.scan_ledgers(domain)?;
            }
        }
        Ok(outcome)
    }

    /// The publications, newest first, optionally of one domain and year.
    pub fn publications(
        &self,
        domain: Option<&str>,
        year: Option<i32>,
    ) -> Result<Vec<Publication>> {
        let mut out = Vec::new();
        for d in &self.catalog().domains {
            if domain.is_some_and(|x| x != d.id) {
                continue;
            }
            for y in self.ledger_years(&d.id)? {
                if year.is_some_and(|x| x != y) {
                    continue;
                }
                let entries = self.ledger(&d.id, y)?;
                out.extend(publications(&entries).map(|(_, s)| s.publication.clone()));
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
    pub async fn publish(
        &self,
        domain: &str,
        year: i32,
        trigger: Trigger,
        by: &str,
    ) -> Result<Publication> {
        let d = self.domain(domain)?;
        crate::check_year(year)?;
        let _writer = self.ledgers.write.lock().await;
        let started = std::time::Instant::now();
        loop {
            let entries = self.ledger(&d.id, year)?;
            let snapshot = self.snapshot(&d.id).await?;
            let (Some(version), true) = (
                snapshot.version,
                snapshot.year(year).is_some_and(|y| !y.current.is_empty()),
            ) else {
                return Err(EngineError::Conflict(format!(
                    "{domain} {year} has no figures to publish"
                )));
            };
            let members = self.members_by_id();
            let mut state = self.published_state(d, year, &snapshot, &members);
            let previous = publications(&entries).last().map(|(_, s)| s);
            let changed = changed_members(previous, &state);
            if changed == 0
                && let Some(p) = previous
            {
                return Err(EngineError::NothingChanged {
                    publication: p.publication.id.clone(),
                });
            }
            if changed < self.policy.threshold {
                return Err(EngineError::TooFewChanges {
                    domain: d.id.clone(),
                    year,
                    changed,
                    threshold: self.policy.threshold,
                });
            }
            self.decide_groups(d, year, &snapshot, &members, &mut state);
            state.members = members.values().cloned().collect();
            let suppressed = audit_publication(&entries, &mut state);
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
                disclosure: serde_json::to_value(self.policy).unwrap_or_default(),
            };
            state.publication = publication.clone();
            let entry = LedgerEntry {
                seq,
                recorded_at: publication.published_at.clone(),
                record: LedgerRecord::Publication(Box::new(state)),
            };
            match self.append(&d.id, year, &entry)? {
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

    /// Publishes by itself when `auto_publish` is on and enough members
    /// changed since the last publication; quietly does nothing otherwise.
    pub(crate) async fn auto_publish(&self, domain: &str, year: i32) -> Option<Publication> {
        if !self.policy.auto_publish {
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
    pub async fn publish_pending(&self) -> Result<usize> {
        if !self.policy.auto_publish {
            return Ok(0);
        }
        let mut published = 0;
        for d in &self.catalog().domains {
            let snapshot = self.snapshot(&d.id).await?;
            for year in snapshot.years() {
                let newest = snapshot
                    .year(year)
                    .and_then(|y| y.history.iter().map(|r| r.meta.version).max());
                let entries = self.ledger(&d.id, year)?;
                let published_at = publications(&entries)
                    .last()
                    .map(|(_, s)| version_of(&s.publication.data_version));
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
        let member_ids: Vec<String> = snapshot
            .year(year)
            .map(|y| y.current.keys().cloned().collect())
            .unwrap_or_default();
        let pop = d.basic_figures.iter().position(|f| f.id == "population");
        let groups = DIMENSIONS
            .iter()
            .map(|dim| {
                let by = GroupBy::Dimension(*dim);
                let of: Vec<Option<String>> = member_ids
                    .iter()
                    .map(|m| {
                        let member = members.get(m)?;
                        let row = snapshot.current_row(year, m)?;
                        let population = pop.and_then(|i| row.basic.get(i));
                        group_of(self.catalog(), &by, member, population).map(|(g, _)| g)
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
                values: member_ids
                    .iter()
                    .map(|m| {
                        snapshot
                            .key_of(year, m)
                            .and_then(|kr| kr.values.get(fi))
                            .map(f64::to_bits)
                    })
                    .collect(),
                released: Vec::new(),
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
        let input = self.compare_input(d, snapshot, members, &self.policy);
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
                        f.released.push((dim.as_str().to_string(), g.group));
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

    /// The state a request reads for a (domain, year): admin the live one
    /// (or `as_of` any state), everyone else a publication (the latest, or
    /// the one `as_of` names). `None`: not published.
    pub(crate) async fn view(
        &self,
        domain: &Domain,
        year: i32,
        audience: Audience,
        as_of: Option<&AsOf>,
    ) -> Result<Option<Arc<View>>> {
        if audience == Audience::Admin {
            return Ok(Some(Arc::new(View::live(
                self.snapshot_for(&domain.id, as_of).await?,
                self.members_for(as_of),
                self.policy_for(as_of),
            ))));
        }
        let entries = self.ledger(&domain.id, year)?;
        let mut chosen: Option<&PublishedState> = None;
        for (seq, state) in publications(&entries) {
            let p = &state.publication;
            let fits = match as_of {
                None => true,
                Some(a) => match (&a.publication, a.release()) {
                    (Some(cut), _) if cut.domain == domain.id && cut.year == year => seq == cut.seq,
                    (Some(cut), _) => p.published_at <= cut.published_at,
                    (None, Some(r)) if r.domain == domain.id && r.year == year => {
                        version_of(&p.data_version) <= version_of(&r.data_version)
                    }
                    (None, Some(r)) => p.published_at <= r.frozen_at,
                    (None, None) => {
                        AsOf::check_audience(as_of, audience)?;
                        true
                    }
                },
            };
            if fits {
                chosen = Some(state);
            }
        }
        let Some(state) = chosen else {
            return Ok(None);
        };
        let id = &state.publication.id;
        if let Some(v) = lock(&self.ledgers.views)
            .iter()
            .find(|(k, _)| k == id)
            .map(|(_, v)| v.clone())
        {
            return Ok(Some(v));
        }
        let view = Arc::new(self.build_view(domain, state).await?);
        let mut views = lock(&self.ledgers.views);
        if views.len() >= VIEWS {
            views.remove(0);
        }
        views.push((id.clone(), view.clone()));
        Ok(Some(view))
    }

    async fn build_view(&self, domain: &Domain, state: &PublishedState) -> Result<View> {
        let p = &state.publication;
        let version = version_of(&p.data_version).delta().unwrap_or(0);
        let live = self.snapshot(&domain.id).await?;
        // A replica that has not followed the publishing process's commit
        // yet reads the version from the lake.
        let source = if live.version.is_some_and(|v| v >= version) {
            live
        } else {
            self.snapshot_at(&domain.id, version).await?
        };
        let snapshot = Arc::new(source.year_as_of(domain, p.year, version).await?);
        let members: BTreeMap<String, Member> = state
            .members
            .iter()
            .map(|m| (m.member_id.clone(), m.clone()))
            .collect();
        let generation = {
            use std::hash::{Hash, Hasher};
            let mut h = std::collections::hash_map::DefaultHasher::new();
            p.id.hash(&mut h);
            // Kept apart from the live list's generations and releases'.
            (1 << 62) | (h.finish() >> 2)
        };
        let mut released: HashMap<(usize, &'static str), HashSet<String>> = HashMap::new();
        let mut withheld = HashMap::new();
        for f in &state.figures {
            let Some(fi) = domain.key_figure_index(&f.figure) else {
                continue;
            };
            for (dim, group) in &f.released {
                if let Some(d) = Dimension::parse(dim) {
                    released
                        .entry((fi, d.as_str()))
                        .or_default()
                        .insert(group.clone());
                }
            }
            for w in &f.withheld {
                if let Some(d) = Dimension::parse(&w.dimension) {
                    withheld.insert((fi, d.as_str(), w.group.clone()), w.reason.clone());
                }
            }
        }
        Ok(View {
            publication: Some(p.clone()),
            snapshot,
            members: MemberList {
                generation,
                map: Arc::new(members),
            },
            policy: serde_json::from_value(p.disclosure.clone()).unwrap_or(self.policy),
            released,
            withheld,
        })
    }

    /// A custom group in a publication (rules 6 and 11): released if it
    /// was released in it before; else checked against every group
    /// released for the (domain, year) and audited with every key figure,
    /// and recorded in the ledger if it passes, in one step.
    pub(crate) async fn release_custom(
        &self,
        domain: &Domain,
        view: &View,
        group: &CustomGroup,
        year: i32,
    ) -> Result<Result<(), groups::Refusal>> {
        let Some(publication) = &view.publication else {
            // Admin reads are not releases.
            return Ok(Ok(()));
        };
        let done = |entries: &[Arc<LedgerEntry>]| {
            custom_releases(entries)
                .any(|c| c.publication == publication.id && c.group_id == group.id)
        };
        if done(&self.ledger(&domain.id, year)?) {
            return Ok(Ok(()));
        }
        let _writer = self.ledgers.write.lock().await;
        loop {
            let entries = self.ledger(&domain.id, year)?;
            if done(&entries) {
                return Ok(Ok(()));
            }
            let key = (publication.id.clone(), group.id.clone(), entries.len());
            if let Some(r) = lock(&self.ledgers.refused).get(&key) {
                return Ok(Err(r.clone()));
            }
            let verdict = self.check_custom(domain, view, group, year, &entries)?;
            let (effective, figures) = match verdict {
                Ok(released) => released,
                Err(r) => {
                    lock(&self.ledgers.refused).insert(key, r.clone());
                    return Ok(Err(r));
                }
            };
            let entry = LedgerEntry {
                seq: entries.len() as u64 + 1,
                recorded_at: now(),
                record: LedgerRecord::CustomGroup(CustomRelease {
                    publication: publication.id.clone(),
                    group_id: group.id.clone(),
                    member_ids: effective.into_iter().collect(),
                    figures,
                }),
            };
            match self.append(&domain.id, year, &entry)? {
                Append::Done => return Ok(Ok(())),
                Append::Taken => continue,
            }
        }
    }

    /// The audit's view of a ledger (kept while its length stays).
    fn systems(&self, domain: &str, year: i32, entries: &[Arc<LedgerEntry>]) -> Arc<Systems> {
        let key = (domain.to_string(), year);
        if let Some((len, s)) = lock(&self.ledgers.systems).get(&key)
            && *len == entries.len()
        {
            return s.clone();
        }
        let built = Arc::new(Systems::of_ledger(entries));
        lock(&self.ledgers.systems).insert(key, (entries.len(), built.clone()));
        built
    }

    /// Rule 6 (pairwise differences with every group released for the
    /// year, in any publication, and with the group in other years) and
    /// rule 11 (the exact audit, every key figure) for a custom group.
    fn check_custom(
        &self,
        domain: &Domain,
        view: &View,
        group: &CustomGroup,
        year: i32,
        entries: &[Arc<LedgerEntry>],
    ) -> Result<CustomVerdict> {
        let Some(state) = publications(entries)
            .map(|(_, s)| s)
            .find(|s| Some(&s.publication) == view.publication.as_ref())
        else {
            return Err(EngineError::Internal(
                "publication not in its ledger".into(),
            ));
        };
        let effective: BTreeSet<String> = group
            .member_ids
            .iter()
            .filter(|m| state.member_ids.binary_search(m).is_ok())
            .cloned()
            .collect();
        // Earlier releases of any custom group in this year (the same group
        // in another publication counts as another group), and of this
        // group in other years.
        let mut released: Vec<ReleaseEntry> = custom_releases(entries)
            .map(|c| ReleaseEntry {
                group_id: format!("{}@{}", c.group_id, c.publication),
                domain: domain.id.clone(),
                year,
                member_ids: c.member_ids.iter().cloned().collect(),
                released_at: String::new(),
            })
            .collect();
        for y in self.ledger_years(&domain.id)? {
            if y == year {
                continue;
            }
            let other = self.ledger(&domain.id, y)?;
            released.extend(
                custom_releases(&other)
                    .filter(|c| c.group_id == group.id)
                    .map(|c| ReleaseEntry {
                        group_id: group.id.clone(),
                        domain: domain.id.clone(),
                        year: y,
                        member_ids: c.member_ids.iter().cloned().collect(),
                        released_at: String::new(),
                    }),
            );
        }
        if let Err(r) =
            groups::check_release(&view.policy, &group.id, year, &effective, &released, &[])
        {
            return Ok(Err(r));
        }
        // The built-in groups released in any publication of the year.
        for (_, s) in publications(entries) {
            if let Some(r) = differs_from_builtin(&view.policy, &group.id, &effective, s) {
                return Ok(Err(r));
            }
        }
        let mut figures = Vec::new();
        let systems = self.systems(&domain.id, year, entries);
        let position: HashMap<&str, usize> = state
            .member_ids
            .iter()
            .enumerate()
            .map(|(i, m)| (m.as_str(), i))
            .collect();
        for f in &state.figures {
            // Only figures whose statistics rules 1 and 4 release for the
            // group (for analysts, who see the most) add a sum to the ledger.
            let values: Vec<f64> = effective
                .iter()
                .filter_map(|m| position.get(m.as_str()))
                .filter_map(|&i| f.values.get(i).copied().flatten())
                .map(f64::from_bits)
                .collect();
            if !crate::disclosure::passes_size_and_variety(
                &view.policy,
                Audience::Analyst,
                &values,
                None,
            ) {
                continue;
            }
            let Some(row) = systems.lookup(&position, f, effective.iter().map(String::as_str))
            else {
                return Err(EngineError::Internal(format!(
                    "a member of {} has no variable in the ledger of {} {year}",
                    group.id, domain.id
                )));
            };
            if row.is_empty() {
                continue;
            }
            let Some(sys) = systems.figures.get(&f.figure) else {
                continue;
            };
            // Usually nothing at all is determined (one audit). Otherwise
            // the new row is tried as the one candidate of a secondary
            // suppression: withheld totals that the ledger already
            // determines are public knowledge and do not count against it,
            // exactly as at publication.
            let refused = vergleichsring_audit::check_addition(
                &sys.owner,
                &sys.released,
                &sys.protected,
                &row,
            )
            .and_then(|finding| {
                match vergleichsring_audit::secondary_suppression(
                    &sys.owner,
                    &sys.released,
                    &sys.protected,
                    std::slice::from_ref(&row),
                    &[],
                ) {
                    Ok(withheld) if withheld.is_empty() => None,
                    Ok(_) => Some(finding),
                    Err(f) => Some(f),
                }
            });
            if let Some(finding) = refused {
                tracing::info!(group = %group.id, figure = %f.figure, ?finding, "custom group refused by the audit");
                return Ok(Err(groups::Refusal {
                    reason: "differencing",
                    message: format!(
                        "group {} would, together with the statistics already published for {} {year}, determine a single member's value or a withheld group's total of {}; it is not released",
                        group.id, domain.id, f.figure
                    ),
                }));
            }
            figures.push(f.figure.clone());
        }
        Ok(Ok((effective, figures)))
    }

    /// The published time series of a figure: per year in `from..=to` with
    /// a publication, the requester's group (or every group) as published.
    pub(crate) async fn published_points(
        &self,
        ask: Ask<'_>,
        (from, to): (Option<i32>, Option<i32>),
        as_of: Option<&AsOf>,
    ) -> Result<Vec<Point>> {
        let Ask {
            domain,
            by,
            audience,
            member,
            ..
        } = ask;
        let mut points = Vec::new();
        let live = self.snapshot(&domain.id).await?;
        let years: BTreeSet<i32> = if audience == Audience::Admin {
            self.snapshot_for(&domain.id, as_of)
                .await?
                .years()
                .into_iter()
                .collect()
        } else {
            // Years with figures but no publication yet are shown as such
            // (a past state shows what was published by then).
            let mut y: BTreeSet<i32> = self.ledger_years(&domain.id)?.into_iter().collect();
            if as_of.is_none() {
                y.extend(live.years());
            }
            y
        };
        for year in years {
            if from.is_some_and(|f| year < f) || to.is_some_and(|t| year > t) {
                continue;
            }
            let view = self.view(domain, year, audience, as_of).await?;
            if view.is_none() && as_of.is_some() {
                continue;
            }
            if let Some(m) = member {
                let given = match (&view, audience) {
                    (Some(v), Audience::Admin) => v.snapshot.current_row(year, m).is_some(),
                    _ => live.current_row(year, m).is_some(),
                };
                if !given {
                    let reason = if matches!(audience, Audience::Member | Audience::Consultant) {
                        Reason::GiveToGet.code()
                    } else {
                        "no_submission"
                    };
                    points.push(Point::withheld(year, None, reason));
                    continue;
                }
            }
            let Some(view) = view else {
                points.push(Point::withheld(year, None, "not_published"));
                continue;
            };
            if let Some(m) = member
                && view.snapshot.current_row(year, m).is_none()
            {
                let mut p = Point::withheld(year, None, "not_published");
                p.publication = view.reference();
                points.push(p);
                continue;
            }
            if let GroupBy::Custom(g) = by
                && let Err(refusal) = self.release_custom(domain, &view, g, year).await?
            {
                points.push(Point::withheld(
                    year,
                    Some(by.as_str().to_string()),
                    refusal.reason,
                ));
                continue;
            }
            let c = view.compare(self, ask, year);
            points.extend(Point::of_comparison(c, member));
        }
        Ok(points)
    }
}

/// Rule 6 against the built-in groups a publication released: the
/// symmetric difference of the custom group with each, from counts
/// (|E Δ B| = |E| + |B| − 2 |E ∩ B|), must be 0 or at least the threshold.
fn differs_from_builtin(
    policy: &Policy,
    group_id: &str,
    effective: &BTreeSet<String>,
    s: &PublishedState,
) -> Option<groups::Refusal> {
    let t = policy.threshold;
    let released: HashSet<(&str, &str)> = s
        .figures
        .iter()
        .flat_map(|f| f.released.iter().map(|(d, g)| (d.as_str(), g.as_str())))
        .collect();
    let inside: Vec<usize> = effective
        .iter()
        .filter_map(|m| s.member_ids.binary_search(m).ok())
        .collect();
    for (dim, of) in &s.groups {
        let mut sizes: HashMap<&str, (usize, usize)> = HashMap::new();
        for g in of.iter().flatten() {
            sizes.entry(g.as_str()).or_default().0 += 1;
        }
        for g in inside
            .iter()
            .filter_map(|&i| of.get(i).and_then(Option::as_deref))
        {
            sizes.entry(g).or_default().1 += 1;
        }
        for (g, (size, common)) in sizes {
            if !released.contains(&(dim.as_str(), g)) {
                continue;
            }
            let diff = effective.len() + size - 2 * common;
            if diff != 0 && diff < t {
                return Some(groups::Refusal {
                    reason: "differencing",
                    message: format!(
                        "group {group_id} differs from the published group {dim}:{g} of {} by {diff} member(s); the difference must be 0 or at least {t}, or the published statistics could be subtracted to reveal those members",
                        s.publication.id
                    ),
                });
            }
        }
    }
    None
}

/// The audit of a new publication (rule 11) with secondary suppression:
/// per key figure, the groups it would release are checked together with
/// everything the ledger released before; groups are withheld, smallest
/// first, until nothing is determined. Returns how many were withheld.
fn audit_publication(entries: &[Arc<LedgerEntry>], state: &mut PublishedState) -> usize {
    let mut suppressed = 0;
    let figures = std::mem::take(&mut state.figures);
    let mut out = Vec::with_capacity(figures.len());
    let mut all = Systems::of_ledger(entries);
    let ix = all.index(state);
    for mut f in figures {
        let rows = all.rows(&ix, &f);
        let sys = all.figures.entry(f.figure.clone()).or_default();
        let candidates: Vec<Vec<Var>> = rows.released.iter().map(|(_, v)| v.clone()).collect();
        let candidate_protected: Vec<Vec<Var>> =
            rows.withheld.iter().map(|(_, v)| v.clone()).collect();
        let withhold: BTreeSet<usize> = match vergleichsring_audit::secondary_suppression(
            &sys.owner,
            &sys.released,
            &sys.protected,
            &candidates,
            &candidate_protected,
        ) {
            Ok(idx) => idx.into_iter().collect(),
            Err(finding) => {
                tracing::warn!(figure = %f.figure, ?finding, "the audit withholds every group of a key figure");
                (0..candidates.len()).collect()
            }
        };
        if !withhold.is_empty() {
            let mut kept = Vec::new();
            for (i, ((dim, group), _)) in rows.released.into_iter().enumerate() {
                if withhold.contains(&i) {
                    suppressed += 1;
                    f.withheld.push(WithheldGroup {
                        dimension: dim,
                        group,
                        reason: Reason::Audit.code().to_string(),
                    });
                } else {
                    kept.push((dim, group));
                }
            }
            f.released = kept;
        }
        out.push(f);
    }
    state.figures = out;
    suppressed
}
