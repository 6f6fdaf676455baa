//! The data of a member's peer report: for every domain the member
//! submitted for the year, every key figure with its own value, its size
//! class and all members (both after disclosure control), a five-year time
//! series against the size class, and a method section. Rendering (JSON,
//! CSV, XLSX) lives in the `vergleichsring-report` crate.

use std::collections::BTreeMap;

use serde::Serialize;

use crate::base::Core;
use crate::disclose::disclosure::{Audience, Reason};
use crate::error::{EngineError, Result};
use crate::out::compare::{self, Dimension, GroupBy, GroupResult, Point};

/// A member's peer report for a year.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
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
    #[schema(nullable = false)]
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
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
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
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
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
}

/// The method section.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
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
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
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
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
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
        as_of: Option<&crate::read::as_of::AsOf>,
    ) -> Result<Report> {
        crate::read::as_of::AsOf::check_audience(as_of, audience)?;
        let members = self.core.members_for(as_of);
        let member = members
            .get(member_id)
            .ok_or_else(|| EngineError::NotFound(format!("member {member_id} is not registered")))?
            .clone();
        let mut domains = Vec::new();
        let mut data_versions = BTreeMap::new();
        let mut groups = Vec::new();
        let mut last_commit: Option<String> = None;
        let mut publications = BTreeMap::new();
        // Domains the member submitted for that are not published yet.
        let mut unpublished = Vec::new();
        // One for the whole report: the year a domain's statistics come
        // from is read once for them and its time series.
        let publishing = self.core.publishing();
        for d in &self.core.catalog().domains {
            let given = self.core.has_submitted(&d.id, year, member_id).await?;
            let Some(view) = publishing.view(d, year, audience, as_of).await? else {
                if given {
                    unpublished.push(d.id.clone());
                }
                continue;
            };
            let snapshot = view.snapshot.clone();
            if audience == Audience::Admin
                && let Some(t) = snapshot.latest_submitted_at()
                && last_commit.as_ref().is_none_or(|l| *l < t)
            {
                last_commit = Some(t);
            }
            let Some(row) = snapshot.current_row(year, member_id) else {
                if given {
                    unpublished.push(d.id.clone());
                }
                continue;
            };
            data_versions.insert(d.id.clone(), compare::data_version(&snapshot));
            if let Some(p) = view.reference() {
                if last_commit.as_ref().is_none_or(|l| *l < p.published_at) {
                    last_commit = Some(p.published_at.clone());
                }
                publications.insert(d.id.clone(), p);
            }
            let population = d
                .basic_figures
                .iter()
                .position(|f| f.id == "population")
                .and_then(|i| row.basic.get(i));
            let class = population.and_then(|p| self.core.catalog().size_class(member.kind, p));
            let by_class = GroupBy::Dimension(Dimension::SizeClass);
            let by_all = GroupBy::Dimension(Dimension::All);
            let ask = |figure, by| crate::disclose::publication::Ask {
                domain: d,
                figure,
                by,
                audience,
                member: Some(member_id),
            };
            let mut figures = Vec::new();
            for (fi, k) in d.key_figures.iter().enumerate() {
                let own_group =
                    |c: compare::Comparison| c.groups.into_iter().find(|g| g.own.is_some());
                let sc = own_group(view.compare(self.core, ask(fi, &by_class), year));
                let all = own_group(view.compare(self.core, ask(fi, &by_all), year));
                crate::out::statistics::count_suppressed(
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
                    own: snapshot
                        .key_of(year, member_id)
                        .and_then(|kr| kr.values.get(fi)),
                    size_class: sc,
                    all,
                    timeseries: Vec::new(),
                });
            }
            // Every key figure's five years at once, a year at a time.
            let every: Vec<usize> = (0..d.key_figures.len()).collect();
            let series = publishing
                .published_series(
                    ask(0, &by_class),
                    &every,
                    (Some(year - 4), Some(year)),
                    as_of,
                )
                .await?;
            for (f, points) in figures.iter_mut().zip(series) {
                f.timeseries = points;
            }
            domains.push(DomainReport {
                domain: d.id.clone(),
                label: d.label.clone(),
                size_class: class.map(|c| c.id.clone()),
                size_class_label: class.map(|c| c.label.clone()),
                key_figures: figures,
            });
        }
        if domains.is_empty() {
            if let Some(domain) = unpublished.into_iter().next() {
                return Err(EngineError::NotPublished { domain, year });
            }
            return Err(EngineError::GiveToGet {
                member_id: member_id.to_string(),
                domain: "any domain".into(),
                year,
            });
        }
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
        Ok(Report {
            member_id: member_id.to_string(),
            member_name: member.name.clone(),
            year,
            generated_at: match as_of {
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
            },
            data_versions,
            publications,
            as_of: as_of.map(|a| a.label.clone()),
            releases: self.core.releases(as_of)?,
            domains,
            method: Method {
                quantiles: QUANTILES,
                groups,
                suppression,
                noise: (audience != Audience::Admin && self.core.noise.is_some())
                    .then_some(crate::disclose::noise::EXPLANATION_DE),
            },
        })
    }
}
