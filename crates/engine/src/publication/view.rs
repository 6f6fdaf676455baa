//! A publication ready to answer from (`View`), and the answers built on
//! it: comparisons with the publication's mask, and time series.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::sync::Arc;

use vergleichsring_catalog::Domain;
use vergleichsring_store::{Member, Publication, PublishedState};

use super::Publications;
use super::{lock, publications, version_of};
use crate::compare::{self, Comparison, Dimension, GroupBy, GroupResult, Point, PublicationRef};
use crate::disclosure::{Audience, Policy, Reason};
use crate::error::Result;
use crate::snapshot::Snapshot;
use crate::{AsOf, Engine, MemberList};

/// How many publication views are kept in memory.
pub(super) const VIEWS: usize = 64;

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
/// its member list and settings, and which groups it releases.
pub(crate) struct View {
    pub(crate) publication: Option<Publication>,
    pub(crate) snapshot: Arc<Snapshot>,
    pub(crate) members: MemberList,
    pub(crate) policy: Policy,
    /// (key figure index, dimension) → disclosed group ids.
    pub(super) disclosed: HashMap<(usize, &'static str), HashSet<String>>,
    /// (key figure index, dimension, group) → why it is withheld.
    pub(super) withheld: HashMap<(usize, &'static str, String), String>,
}

impl View {
    /// The live state, for admin: nothing is masked.
    pub(crate) fn live(snapshot: Arc<Snapshot>, members: MemberList, policy: Policy) -> View {
        View {
            publication: None,
            snapshot,
            members,
            policy,
            disclosed: HashMap::new(),
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
            let disclosed = self.disclosed.get(&(figure, d.as_str()));
            for g in c.groups.iter_mut().filter(|g| !g.suppressed) {
                if disclosed.is_some_and(|r| r.contains(&g.group)) {
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
pub(super) fn reason_of(code: &str) -> Reason {
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
pub(super) fn withhold(g: &mut GroupResult, reason: Reason) {
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
        if audience == Audience::Admin {
            return Ok(Some(Arc::new(View::live(
                self.engine.snapshot_for(&domain.id, as_of).await?,
                self.engine.members_for(as_of),
                self.engine.policy_for(as_of),
            ))));
        }
        let entries = self.engine.ledgers.entries_of(&domain.id, year)?;
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
        if let Some(v) = lock(&self.engine.ledgers.views)
            .iter()
            .find(|(k, _)| k == id)
            .map(|(_, v)| v.clone())
        {
            return Ok(Some(v));
        }
        let view = Arc::new(self.build_view(domain, state).await?);
        let mut views = lock(&self.engine.ledgers.views);
        if views.len() >= VIEWS {
            views.remove(0);
        }
        views.push((id.clone(), view.clone()));
        Ok(Some(view))
    }

    pub(super) async fn build_view(&self, domain: &Domain, state: &PublishedState) -> Result<View> {
        let p = &state.publication;
        let version = version_of(&p.data_version).delta().unwrap_or(0);
        let live = self.engine.snapshots.current(domain).await?;
        // A replica that has not followed the publishing process's commit
        // yet reads the version from the lake.
        let source = if live.version.is_some_and(|v| v >= version) {
            live
        } else {
            self.engine.snapshots.at(domain, version).await?
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
        let mut disclosed: HashMap<(usize, &'static str), HashSet<String>> = HashMap::new();
        let mut withheld = HashMap::new();
        for f in &state.figures {
            let Some(fi) = domain.key_figure_index(&f.figure) else {
                continue;
            };
            for (dim, group) in &f.disclosed {
                if let Some(d) = Dimension::parse(dim) {
                    disclosed
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
            policy: serde_json::from_value(p.disclosure.clone()).unwrap_or(self.engine.policy),
            disclosed,
            withheld,
        })
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
        let live = self.engine.snapshots.current(domain).await?;
        let years: BTreeSet<i32> = if audience == Audience::Admin {
            self.engine
                .snapshot_for(&domain.id, as_of)
                .await?
                .years()
                .into_iter()
                .collect()
        } else {
            // Years with figures but no publication yet are shown as such
            // (a past state shows what was published by then).
            let mut y: BTreeSet<i32> = self.engine.ledgers.years(&domain.id)?.into_iter().collect();
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
                && let Err(refusal) = self.disclose_custom(domain, &view, g, year).await?
            {
                points.push(Point::withheld(
                    year,
                    Some(by.as_str().to_string()),
                    refusal.reason,
                ));
                continue;
            }
            let c = view.compare(self.engine, ask, year);
            points.extend(Point::of_comparison(c, member));
        }
        Ok(points)
    }
}
