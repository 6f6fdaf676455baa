//! A publication ready to answer from (`View`), and the answers built on
//! it: comparisons with the publication's mask, and time series.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::sync::Arc;

use vergleichsring_catalog::Domain;
use vergleichsring_store::{Member, Publication, PublishedMask};

use super::Publications;
use super::version_of;
use crate::base::{Core, MemberList};
use crate::disclose::dimension::NEIGHBOURS;
use crate::disclose::disclosure::{Audience, Policy, Reason};
use crate::error::{EngineError, Result};
use crate::out::compare::{
    self, Comparison, Dimension, GroupBy, GroupResult, Point, PublicationRef,
};
use crate::read::as_of::AsOf;
use crate::read::memory::{Key, Weigh};
use crate::read::snapshot::Snapshot;

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

/// A publication, ready to answer from: the year's data at its version,
/// its member list and settings, and which groups it releases. Built per
/// request from the year in the memory cache and the publication's mask.
pub(crate) struct View {
    pub(crate) publication: Option<Publication>,
    pub(crate) snapshot: Arc<Snapshot>,
    pub(crate) members: MemberList,
    pub(crate) policy: Policy,
    mask: Option<Arc<Mask>>,
}

/// What a publication fixes besides the data: its member list and
/// settings and the groups it discloses and withholds. Kept in the memory
/// cache by publication id.
pub(crate) struct Mask {
    publication: Publication,
    members: MemberList,
    policy: Policy,
    /// (key figure index, dimension) → disclosed group ids.
    disclosed: HashMap<(usize, &'static str), HashSet<String>>,
    /// (key figure index, dimension, group) → why it is withheld.
    withheld: HashMap<(usize, &'static str, String), String>,
    /// Each member's structural type as published, by member id.
    types: HashMap<String, String>,
    /// Whether the types this process computes for the publication are
    /// the published ones (found once).
    types_agree: std::sync::OnceLock<bool>,
    bytes: usize,
}

impl Weigh for Mask {
    fn bytes(&self) -> usize {
        self.bytes
    }
}

impl View {
    /// The live state, for admin: nothing is masked.
    pub(crate) fn live(snapshot: Arc<Snapshot>, members: MemberList, policy: Policy) -> View {
        View {
            publication: None,
            snapshot,
            members,
            policy,
            mask: None,
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
    pub(crate) fn compare(&self, core: &Core, ask: Ask<'_>, year: i32) -> Comparison {
        let Ask {
            domain,
            figure,
            by,
            audience,
            member,
        } = ask;
        let input = core.compare_input(domain, &self.snapshot, &self.members, &self.policy);
        let mut c = compare::compare(&input, year, figure, by, audience, member);
        if let Some(mask) = &self.mask
            && let GroupBy::Dimension(d) = by
        {
            // Types released under their ids must be the audited ones.
            if *d == Dimension::StructureType && !mask.types_agree(&input, year) {
                for g in c.groups.iter_mut().filter(|g| !g.suppressed) {
                    withhold(g, Reason::Audit);
                }
            }
            let disclosed = mask.disclosed.get(&(figure, d.as_str()));
            for g in c.groups.iter_mut().filter(|g| !g.suppressed) {
                if disclosed.is_some_and(|r| r.contains(&g.group)) {
                    continue;
                }
                let reason = mask
                    .withheld
                    .get(&(figure, d.as_str(), g.group.clone()))
                    .map_or(Reason::Audit, |r| reason_of(r));
                withhold(g, reason);
            }
        }
        // A key figure released as means only is withheld from neighbour
        // groups: thousands of overlapping groups are what differencing
        // needs, and the noise does not protect such a figure (rule 15).
        if self.publication.is_some()
            && domain.key_figures[figure].release == vergleichsring_catalog::Release::MeanOnly
            && matches!(by, GroupBy::Custom(g) if g.id.starts_with(super::nearest::PREFIX))
        {
            for g in c.groups.iter_mut().filter(|g| !g.suppressed) {
                withhold(g, Reason::Protected);
            }
        }
        c.publication = self.reference();
        // Groups this comparison materialised weigh on the memory cache.
        core.memory.settle();
        c
    }
}

impl Mask {
    /// Whether the structural types computed now for the publication's
    /// year (from the released data, as comparisons group it) are the
    /// types it published, member by member.
    fn types_agree(&self, input: &crate::disclose::grouping::CompareInput<'_>, year: i32) -> bool {
        *self.types_agree.get_or_init(|| {
            let Some(data) = input.snapshot.year(year) else {
                return false;
            };
            let released = data.perturbed().map_or(data, |t| &t.year);
            let a =
                crate::disclose::grouping::assignment_of(input, released, Dimension::StructureType);
            released.current_rows().zip(&a.of_row).all(|((m, _), g)| {
                let now = g.and_then(|g| a.groups.get(g as usize)).map(|(id, _)| id);
                now == self.types.get(m)
            }) && a.of_row.iter().flatten().count() == self.types.len()
        })
    }
}

/// The reason behind a stored reason code.
///
/// Views answer non-admin callers only: a reason that describes the values
/// (`all_equal`, recorded by publications before rule 16) shows as
/// `protected`.
pub(super) fn reason_of(code: &str) -> Reason {
    if code == Reason::AllEqual.code() {
        return Reason::Protected;
    }
    [
        Reason::BelowThreshold,
        Reason::Complement,
        Reason::Differencing,
        Reason::Protected,
    ]
    .into_iter()
    .find(|r| r.code() == code)
    .unwrap_or(Reason::Audit)
}

/// Withholds a group's statistics (and everything derived from them).
pub(super) fn withhold(g: &mut GroupResult, reason: Reason) {
    g.suppressed = true;
    g.stats = None;
    g.reason = Some(reason.code());
    g.message = Some(reason.message_en());
    g.message_de = Some(reason.message_de());
    g.withheld.clear();
    g.distribution = None;
    g.peers = None;
    g.noise = None;
    if let Some(o) = &mut g.own {
        o.rank = None;
        o.percentile_rank = None;
        o.quintile = None;
    }
}

impl Publications<'_> {
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
        // Within one request the audience and `as_of` stay the same: a
        // view read before is the view.
        let key = (domain.id.clone(), year);
        if let Some(v) = super::lock(&self.views).get(&key) {
            return Ok(Some(v.clone()));
        }
        let view = self.view_uncached(domain, year, audience, as_of).await?;
        if let Some(v) = &view {
            super::lock(&self.views).insert(key, v.clone());
        }
        Ok(view)
    }

    /// A year of the live state with the year loaded, read once per
    /// request (see [`Publications::view`]).
    async fn live_year(
        &self,
        domain: &Domain,
        live: &Snapshot,
        year: i32,
    ) -> Result<Arc<Snapshot>> {
        let key = (domain.id.clone(), year);
        if let Some(s) = super::lock(&self.live).get(&key) {
            return Ok(s.clone());
        }
        let s = self.core.snapshots.load(domain, live, [year]).await?;
        super::lock(&self.live).insert(key, s.clone());
        Ok(s)
    }

    async fn view_uncached(
        &self,
        domain: &Domain,
        year: i32,
        audience: Audience,
        as_of: Option<&AsOf>,
    ) -> Result<Option<Arc<View>>> {
        if audience == Audience::Admin {
            let snapshot = self.core.snapshot_for(&domain.id, as_of).await?;
            return Ok(Some(Arc::new(View::live(
                self.core.snapshots.load(domain, &snapshot, [year]).await?,
                self.core.members_for(as_of),
                self.core.policy_for(as_of),
            ))));
        }
        let heads = self.core.ledgers.publications_of(&domain.id, year)?;
        let mut chosen: Option<(u64, &Publication)> = None;
        for (seq, p) in heads.iter() {
            let seq = *seq;
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
                chosen = Some((seq, p));
            }
        }
        let Some((seq, p)) = chosen else {
            return Ok(None);
        };
        // Read once however many requests ask at the same moment (after an
        // eviction every connection of a busy server does; at 110,000
        // members the entry is 48 MB of JSON), the others waiting without
        // holding a thread. It is parsed on the asking thread: parsing on
        // the blocking pool left glibc's per-thread arenas holding 40 %
        // more memory at ten times Germany (BENCHMARKS.md).
        let loaded = self
            .core
            .memory
            .get_or_load(Key::Mask(p.id.clone()), || async {
                match self.core.store.ledger_mask(&domain.id, year, seq) {
                    Ok(Some(state)) => Ok(mask_of(domain, &state, self.core.policy)),
                    Ok(None) => Err(None),
                    Err(e) => Err(Some(EngineError::from(e))),
                }
            })
            .await;
        let mask = match loaded {
            Ok(m) => m,
            Err(None) => return Ok(None),
            Err(Some(e)) => return Err(e),
        };
        let version = version_of(&p.data_version).delta().unwrap_or(0);
        let at = self.core.snapshots.at(domain, version).await?;
        let snapshot = self.core.snapshots.load(domain, &at, [year]).await?;
        Ok(Some(Arc::new(View {
            publication: Some(mask.publication.clone()),
            snapshot,
            members: mask.members.clone(),
            policy: mask.policy,
            mask: Some(mask),
        })))
    }

    /// The published time series of a figure: per year in `from..=to` with
    /// a publication, the requester's group (or every group) as published.
    pub(crate) async fn published_points(
        &self,
        ask: Ask<'_>,
        range: (Option<i32>, Option<i32>),
        as_of: Option<&AsOf>,
    ) -> Result<Vec<Point>> {
        let mut series = self
            .published_series(ask, &[ask.figure], range, as_of)
            .await?;
        Ok(series.pop().unwrap_or_default())
    }

    /// The published time series of several key figures (`ask.figure` is
    /// replaced by each of `figures`), one per figure in that order.
    ///
    /// Years are the outer loop: each year is read once for all figures and
    /// let go before the next, so that a report's series over five years
    /// and every key figure holds one year at a time (a national year with
    /// its perturbed twin weighs about 21 MB; holding fifteen per report
    /// made concurrent reports take gigabytes).
    pub(crate) async fn published_series(
        &self,
        ask: Ask<'_>,
        figures: &[usize],
        (from, to): (Option<i32>, Option<i32>),
        as_of: Option<&AsOf>,
    ) -> Result<Vec<Vec<Point>>> {
        let Ask {
            domain,
            audience,
            member,
            ..
        } = ask;
        let mut series: Vec<Vec<Point>> = vec![Vec::new(); figures.len()];
        fn push_all(series: &mut [Vec<Point>], p: Point) {
            for s in series.iter_mut() {
                s.push(p.clone());
            }
        }
        let live = self.core.snapshots.current(domain).await?;
        for year in self.series_years(domain, audience, as_of, &live).await? {
            if from.is_some_and(|f| year < f) || to.is_some_and(|t| year > t) {
                continue;
            }
            let view = self.view(domain, year, audience, as_of).await?;
            if view.is_none() && as_of.is_some() {
                continue;
            }
            // Neighbours are found anew in each year's state.
            let resolved = match (ask.by, &view) {
                (GroupBy::Neighbours(of), Some(v)) => {
                    match self.neighbour_group(domain, v, year, of) {
                        Ok((g, _)) => Some(GroupBy::Custom(g)),
                        Err(EngineError::Refused { reason, .. }) => {
                            push_all(
                                &mut series,
                                Point::withheld(year, Some(NEIGHBOURS.into()), reason),
                            );
                            self.forget(domain, year);
                            continue;
                        }
                        Err(e) => return Err(e),
                    }
                }
                _ => None,
            };
            let ask = Ask {
                by: resolved.as_ref().unwrap_or(ask.by),
                ..ask
            };
            match self
                .withheld_year(ask, year, view.as_deref(), &live)
                .await?
            {
                Some(p) => push_all(&mut series, p),
                None => {
                    if let Some(view) = &view {
                        for (points, &figure) in series.iter_mut().zip(figures) {
                            let c = view.compare(self.core, Ask { figure, ..ask }, year);
                            points.extend(Point::of_comparison(c, member));
                        }
                    }
                }
            }
            self.forget(domain, year);
        }
        Ok(series)
    }

    /// The years a time series may show: admin's, those with figures at
    /// the state read; everyone else's, those with a publication and,
    /// without `as_of`, those with figures but no publication yet (shown as
    /// such; a past state shows what was published by then).
    async fn series_years(
        &self,
        domain: &Domain,
        audience: Audience,
        as_of: Option<&AsOf>,
        live: &Snapshot,
    ) -> Result<BTreeSet<i32>> {
        if audience == Audience::Admin {
            return Ok(self
                .core
                .snapshot_for(&domain.id, as_of)
                .await?
                .years()
                .into_iter()
                .collect());
        }
        let mut y: BTreeSet<i32> = self.core.ledgers.years(&domain.id)?.into_iter().collect();
        if as_of.is_none() {
            y.extend(live.years());
        }
        Ok(y)
    }

    /// The point every figure of a time series shows for a year it does
    /// not compare, if so: the member has not submitted for it (give to
    /// get), it is not published (or not with the member's figures), or a
    /// custom group is refused for it.
    async fn withheld_year(
        &self,
        ask: Ask<'_>,
        year: i32,
        view: Option<&View>,
        live: &Snapshot,
    ) -> Result<Option<Point>> {
        let Ask {
            domain,
            by,
            audience,
            member,
            ..
        } = ask;
        if let Some(m) = member {
            let given = match (view, audience) {
                (Some(v), Audience::Admin) => v.snapshot.current_row(year, m).is_some(),
                _ => self
                    .live_year(domain, live, year)
                    .await?
                    .current_row(year, m)
                    .is_some(),
            };
            if !given {
                let reason = if matches!(audience, Audience::Member | Audience::Consultant) {
                    Reason::GiveToGet.code()
                } else {
                    "no_submission"
                };
                return Ok(Some(Point::withheld(year, None, reason)));
            }
        }
        let Some(view) = view else {
            return Ok(Some(Point::withheld(year, None, "not_published")));
        };
        if let Some(m) = member
            && view.snapshot.current_row(year, m).is_none()
        {
            let mut p = Point::withheld(year, None, "not_published");
            p.publication = view.reference();
            return Ok(Some(p));
        }
        if let GroupBy::Custom(g) = by
            && let Err(refusal) = self.disclose_custom(domain, view, g, year).await?
        {
            return Ok(Some(Point::withheld(
                year,
                Some(by.as_str().to_string()),
                refusal.reason,
            )));
        }
        Ok(None)
    }

    /// Lets go of a year this value read (see [`Publications::view`]):
    /// what a caller still holds stays alive, the rest may be freed.
    fn forget(&self, domain: &Domain, year: i32) {
        let key = (domain.id.clone(), year);
        super::lock(&self.views).remove(&key);
        super::lock(&self.live).remove(&key);
    }
}

/// A publication's mask from its ledger entry; `default` is the policy of a
/// publication that names none.
fn mask_of(domain: &Domain, state: &PublishedMask, default: Policy) -> Mask {
    let p = &state.publication;
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
    let mut disclosed: HashMap<(usize, &'static str), HashSet<String>> = HashMap::new();
    let mut withheld = HashMap::new();
    let mut bytes = 4096;
    for f in &state.figures {
        let Some(fi) = domain.key_figure_index(&f.figure) else {
            continue;
        };
        for (dim, group) in &f.disclosed {
            if let Some(d) = Dimension::parse(dim) {
                bytes += group.len() + 96;
                disclosed
                    .entry((fi, d.as_str()))
                    .or_default()
                    .insert(group.clone());
            }
        }
        for w in &f.withheld {
            if let Some(d) = Dimension::parse(&w.dimension) {
                bytes += w.group.len() + w.reason.len() + 128;
                withheld.insert((fi, d.as_str(), w.group.clone()), w.reason.clone());
            }
        }
    }
    bytes += members
        .values()
        .map(|m| std::mem::size_of::<Member>() + 2 * m.member_id.len() + m.name.len() + 96)
        .sum::<usize>();
    let types: HashMap<String, String> = state
        .member_ids
        .iter()
        .zip(&state.types.0)
        .filter_map(|(m, g)| g.as_ref().map(|g| (m.clone(), g.clone())))
        .collect();
    bytes += types.len() * 96;
    Mask {
        types,
        types_agree: std::sync::OnceLock::new(),
        publication: p.clone(),
        members: MemberList {
            generation,
            map: Arc::new(members),
        },
        policy: Policy::from_record(&p.disclosure).unwrap_or(default),
        disclosed,
        withheld,
        bytes,
    }
}
