//! The data of a member's peer report: for every domain the member
//! submitted for the year, every key figure with its own value, its size
//! class and all members (both after disclosure control), a five-year time
//! series against the size class, and a method section. Rendering (JSON,
//! CSV, XLSX) lives in the `vergleichsring-report` crate.

use std::collections::BTreeMap;

use serde::Serialize;

use crate::base::Core;
use crate::disclose::disclosure::{Audience, Reason};
use crate::disclose::publication::{Ask, Publications, View};
use crate::error::{EngineError, Result};
use crate::out::compare::{self, Dimension, GroupBy, GroupResult, Point};
use crate::out::statistics::count_suppressed;
use crate::read::as_of::AsOf;
use vergleichsring_catalog::Domain;
use vergleichsring_store::Member;

/// A member's peer report for a year.
#[derive(Debug, Clone, Serialize)]
pub struct Report {
    /// The member.
    pub member_id: String,
    /// Its name.
    pub member_name: String,
    /// The year.
    pub year: i32,
    /// When the report was made (RFC 3339).
    pub generated_at: String,
    /// The data version of every domain in the report.
    pub data_versions: BTreeMap<String, String>,
    /// The publication each domain's statistics come from (rule 9; empty
    /// for admin, who reads the live state).
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub publications: BTreeMap<String, compare::PublicationRef>,
    /// The `as_of` the report was asked for (a release id or data
    /// versions), when it shows a past state.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub as_of: Option<String>,
    /// The ring's frozen releases, oldest first, as they stood at the
    /// report's state.
    pub releases: Vec<vergleichsring_store::DataRelease>,
    /// The domains the member submitted for the year.
    pub domains: Vec<DomainReport>,
    /// How the numbers were made.
    pub method: Method,
}

/// One domain of a report.
#[derive(Debug, Clone, Serialize)]
pub struct DomainReport {
    /// Domain id.
    pub domain: String,
    /// German label.
    pub label: String,
    /// The member's size class in this domain and year.
    pub size_class: Option<String>,
    /// Its label.
    pub size_class_label: Option<String>,
    /// The key figures in catalogue order.
    pub key_figures: Vec<FigureReport>,
}

/// One key figure of a report.
#[derive(Debug, Clone, Serialize)]
pub struct FigureReport {
    /// Key figure id.
    pub id: String,
    /// German label.
    pub label: String,
    /// The formula.
    pub definition: String,
    /// Unit.
    pub unit: String,
    /// `higher`, `lower` or `neutral`.
    pub direction: vergleichsring_catalog::Direction,
    /// The member's value.
    pub own: Option<f64>,
    /// The member's size class, after disclosure control.
    pub size_class: Option<GroupResult>,
    /// All members, after disclosure control.
    pub all: Option<GroupResult>,
    /// The member's value against its size class over up to five years.
    pub timeseries: Vec<Point>,
    /// The years of the series from which the key figure counts something
    /// else than the year before (a definition changed, issue 29).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub breaks: Vec<i32>,
}

/// The method section.
#[derive(Debug, Clone, Serialize)]
pub struct Method {
    /// The quantile definition, in German.
    pub quantiles: &'static str,
    /// The peer groups of the report and their sizes.
    pub groups: Vec<MethodGroup>,
    /// Every suppression reason with its sentences.
    pub suppression: Vec<MethodReason>,
    /// What the noise of rule 14 means, in German (absent when the ring
    /// perturbs nothing or the report is admin's live view).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub noise: Option<&'static str>,
}

/// A peer group named in the report.
#[derive(Debug, Clone, Serialize)]
pub struct MethodGroup {
    /// Domain id.
    pub domain: String,
    /// `size_class` or `all`.
    pub dimension: String,
    /// Group id.
    pub group: String,
    /// Members with a value for the domain's first key figure.
    pub members: usize,
}

/// A suppression reason explained.
#[derive(Debug, Clone, Serialize)]
pub struct MethodReason {
    /// The reason code.
    pub reason: &'static str,
    /// German sentence.
    pub message_de: &'static str,
    /// English sentence.
    pub message_en: &'static str,
}

const QUANTILES: &str = "Median und Quartile nach Hyndman–Fan Typ 7 (lineare Interpolation, wie QUANTIL.INKL in Excel); Mittelwert ungewichtet; Gesamtwert als Summe der Zähler durch Summe der Nenner.";

/// Members' peer reports.
pub(crate) struct Reports<'e> {
    core: &'e Core,
}

impl<'e> Reports<'e> {
    /// The reports of `core`.
    pub(crate) fn new(core: &'e Core) -> Reports<'e> {
        Reports { core }
    }

    /// The peer report of a member for a year, for an audience (the member
    /// itself, a granted consultant, or admin). A member without figures for
    /// the year gets `GiveToGet`.
    ///
    /// With `as_of` it reads the tables at that state (Delta time travel)
    /// and, for a release, the member list frozen with it; its date is the
    /// release's, or the last commit's, so that it comes out the same every
    /// time it is asked for.
    pub(crate) async fn report(
        &self,
        member_id: &str,
        year: i32,
        audience: Audience,
        as_of: Option<&AsOf>,
    ) -> Result<Report> {
        AsOf::check_audience(as_of, audience)?;
        let members = self.core.members_for(as_of);
        let member = members
            .get(member_id)
            .ok_or_else(|| EngineError::NotFound(format!("member {member_id} is not registered")))?
            .clone();
        let mut gathered = Gathered::default();
        let mut domains = Vec::new();
        // One for the whole report: the year a domain's statistics come
        // from is read once for them and its time series.
        let publishing = self.core.publishing();
        let ask = Asked {
            member: &member,
            member_id,
            year,
            audience,
            as_of,
        };
        for d in &self.core.catalog().domains {
            if let Some(domain) = self.domain(&publishing, d, &ask, &mut gathered).await? {
                domains.push(domain);
            }
        }
        if domains.is_empty() {
            if let Some(domain) = gathered.unpublished.into_iter().next() {
                return Err(EngineError::NotPublished { domain, year });
            }
            return Err(EngineError::GiveToGet {
                member_id: member_id.to_string(),
                domain: "any domain".into(),
                year,
            });
        }
        Ok(Report {
            member_id: member_id.to_string(),
            member_name: member.name.clone(),
            year,
            generated_at: generated_at(as_of, audience, gathered.last_commit),
            data_versions: gathered.data_versions,
            publications: gathered.publications,
            as_of: as_of.map(|a| a.label.clone()),
            releases: self.core.releases(as_of)?,
            domains,
            method: self.method(audience, gathered.groups),
        })
    }

    /// The part of one domain, or `None` when the member has no published
    /// figures there; what the report gathers across domains goes to
    /// `gathered`.
    async fn domain(
        &self,
        publishing: &Publications<'_>,
        d: &Domain,
        ask: &Asked<'_>,
        gathered: &mut Gathered,
    ) -> Result<Option<DomainReport>> {
        let (member_id, year, audience) = (ask.member_id, ask.year, ask.audience);
        let given = self.core.has_submitted(&d.id, year, member_id).await?;
        let Some(view) = publishing.view(d, year, audience, ask.as_of).await? else {
            if given {
                gathered.unpublished.push(d.id.clone());
            }
            return Ok(None);
        };
        let snapshot = view.snapshot.clone();
        if audience == Audience::Admin
            && let Some(t) = snapshot.latest_submitted_at()
            && gathered.last_commit.as_ref().is_none_or(|l| *l < t)
        {
            gathered.last_commit = Some(t);
        }
        let Some(row) = snapshot.current_row(year, member_id) else {
            if given {
                gathered.unpublished.push(d.id.clone());
            }
            return Ok(None);
        };
        gathered
            .data_versions
            .insert(d.id.clone(), compare::data_version(&snapshot));
        if let Some(p) = view.reference() {
            if gathered
                .last_commit
                .as_ref()
                .is_none_or(|l| *l < p.published_at)
            {
                gathered.last_commit = Some(p.published_at.clone());
            }
            gathered.publications.insert(d.id.clone(), p);
        }
        let population = d
            .basic_figures
            .iter()
            .position(|f| f.id == "population")
            .and_then(|i| row.basic.get(i));
        let class = population.and_then(|p| self.core.catalog().size_class(ask.member.kind, p));
        let mut figures = self.key_figures(&view, d, ask, &mut gathered.groups);
        // Every key figure's five years at once, a year at a time.
        let every: Vec<usize> = (0..d.key_figures.len()).collect();
        let series = publishing
            .published_series(
                ask.of(d, 0, &GroupBy::Dimension(Dimension::SizeClass)),
                &every,
                (Some(year - 4), Some(year)),
                ask.as_of,
            )
            .await?;
        for ((f, points), k) in figures.iter_mut().zip(series).zip(&d.key_figures) {
            let years: Vec<i32> = points.iter().map(|p| p.year).collect();
            f.breaks = d
                .breaks(k, &years)
                .into_iter()
                .filter(|y| years.first().is_some_and(|first| y > first))
                .collect();
            f.timeseries = points;
        }
        Ok(Some(DomainReport {
            domain: d.id.clone(),
            label: d.label.clone(),
            size_class: class.map(|c| c.id.clone()),
            size_class_label: class.map(|c| c.label.clone()),
            key_figures: figures,
        }))
    }

    /// Every key figure of a domain against the member's size class and
    /// all members (time series filled in later); the groups of the first
    /// figure go to the method section's `groups`.
    fn key_figures(
        &self,
        view: &View,
        d: &Domain,
        ask: &Asked<'_>,
        groups: &mut Vec<MethodGroup>,
    ) -> Vec<FigureReport> {
        let by_class = GroupBy::Dimension(Dimension::SizeClass);
        let by_all = GroupBy::Dimension(Dimension::All);
        let mut figures = Vec::new();
        for (fi, k) in d.key_figures.iter().enumerate() {
            let own_group = |c: compare::Comparison| c.groups.into_iter().find(|g| g.own.is_some());
            let sc = own_group(view.compare(self.core, ask.of(d, fi, &by_class), ask.year));
            let all = own_group(view.compare(self.core, ask.of(d, fi, &by_all), ask.year));
            count_suppressed(
                [&sc, &all]
                    .into_iter()
                    .flatten()
                    .map(|g| (g.suppressed, g.reason)),
            );
            if fi == 0 {
                for (dimension, g) in [("size_class", &sc), ("all", &all)] {
                    if let Some(g) = g {
                        groups.push(MethodGroup {
                            domain: d.id.clone(),
                            dimension: dimension.into(),
                            group: g.group.clone(),
                            members: g.n,
                        });
                    }
                }
            }
            figures.push(FigureReport {
                id: k.id.clone(),
                label: k.label.clone(),
                definition: k.formula.clone(),
                unit: k.unit.clone(),
                direction: k.direction,
                own: view
                    .snapshot
                    .key_of(ask.year, ask.member_id)
                    .and_then(|kr| kr.values.get(fi)),
                size_class: sc,
                all,
                timeseries: Vec::new(),
                breaks: Vec::new(),
            });
        }
        figures
    }

    /// The method section: quantiles, the groups, the reasons a statistic
    /// may be withheld, and the noise for those who get perturbed numbers.
    fn method(&self, audience: Audience, groups: Vec<MethodGroup>) -> Method {
        let suppression = [
            Reason::BelowThreshold,
            Reason::AllEqual,
            Reason::Complement,
            Reason::GiveToGet,
            Reason::Audit,
            Reason::Protected,
        ]
        .into_iter()
        // `protected` is said only by a ring that perturbs (rule 16).
        .filter(|r| *r != Reason::Protected || self.core.noise.is_some())
        .map(|r| MethodReason {
            reason: r.code(),
            message_de: r.message_de(),
            message_en: r.message_en(),
        })
        .collect();
        Method {
            quantiles: QUANTILES,
            groups,
            suppression,
            noise: (audience != Audience::Admin && self.core.noise.is_some())
                .then_some(crate::disclose::noise::EXPLANATION_DE),
        }
    }
}

/// Who a report is for and what it reads.
struct Asked<'a> {
    member: &'a Member,
    member_id: &'a str,
    year: i32,
    audience: Audience,
    as_of: Option<&'a AsOf>,
}

impl<'a> Asked<'a> {
    /// The comparison of one key figure of `d` by `by` for the member.
    fn of<'b>(&'b self, d: &'b Domain, figure: usize, by: &'b GroupBy) -> Ask<'b> {
        Ask {
            domain: d,
            figure,
            by,
            audience: self.audience,
            member: Some(self.member_id),
        }
    }
}

/// What a report gathers across its domains besides their own parts.
#[derive(Default)]
struct Gathered {
    data_versions: BTreeMap<String, String>,
    groups: Vec<MethodGroup>,
    /// The newest commit (admin) or publication the report shows.
    last_commit: Option<String>,
    publications: BTreeMap<String, compare::PublicationRef>,
    /// Domains the member submitted for that are not published yet.
    unpublished: Vec<String>,
}

/// When a report was made: now for admin's live report; else the newest
/// publication (or commit) it shows, or the release's freezing, so that
/// it comes out the same until the next one.
fn generated_at(as_of: Option<&AsOf>, audience: Audience, last_commit: Option<String>) -> String {
    match as_of {
        None if audience == Audience::Admin => {
            chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
        }
        // A report from publications is dated by the newest of them,
        // so that it comes out the same until the next one.
        None => last_commit.unwrap_or_default(),
        Some(a) => match a.release() {
            Some(r) => r.frozen_at.clone(),
            None => last_commit.unwrap_or_default(),
        },
    }
}
