//! Statistics: comparisons, time series, custom groups and the analysts'
//! SQL, each through a publication (`publication/`) for everyone but
//! admin.

use std::collections::HashSet;

use bytes::Bytes;
use vergleichsring_catalog::Domain;
use vergleichsring_store::StoreError;

use crate::base::{Core, check_year};
use crate::disclose::dimension::NEIGHBOURS;
use crate::disclose::disclosure::Audience;
use crate::disclose::publication;
use crate::error::{EngineError, Result};
use crate::out::compare::{self, Comparison, Dimension, GroupBy, Timeseries};
use crate::out::export;
use crate::read::as_of::AsOf;
use crate::read::records::Records;
use crate::sandbox::query;
use vergleichsring_store::CustomGroup;

/// What a comparison or time series asks for.
#[derive(Debug, Clone, Copy)]
pub struct StatsRequest<'a> {
    /// Domain id.
    pub domain: &'a str,
    /// Key figure id.
    pub figure: &'a str,
    /// Group dimension.
    pub group_by: &'a str,
    /// Who receives the statistics.
    pub audience: Audience,
    /// The member whose own position is shown (the requester for members).
    pub member: Option<&'a str>,
    /// The member whose structural neighbours form the group of
    /// `group_by=neighbours`.
    pub of: Option<&'a str>,
    /// A past state to read instead of the latest (`as_of`).
    pub as_of: Option<&'a AsOf>,
}

/// A resolved [`StatsRequest`].
pub(crate) struct Prepared<'e> {
    domain: &'e Domain,
    figure: usize,
    by: GroupBy,
}

impl<'e> Prepared<'e> {
    /// The comparison a request asks for.
    fn ask<'a>(&'a self, req: &StatsRequest<'a>) -> publication::Ask<'a>
    where
        'e: 'a,
    {
        publication::Ask {
            domain: self.domain,
            figure: self.figure,
            by: &self.by,
            audience: req.audience,
            member: req.member,
        }
    }
}

/// Counts the suppressed groups (or time-series points) of an answer by
/// reason, for `/metrics`: each item is (suppressed, reason).
pub(crate) fn count_suppressed(outcomes: impl IntoIterator<Item = (bool, Option<&'static str>)>) {
    for (suppressed, reason) in outcomes {
        if let Some(reason) = reason.filter(|_| suppressed) {
            metrics::counter!("vergleichsring_suppressed_groups_total", "reason" => reason)
                .increment(1);
        }
    }
}

/// Comparisons, time series, custom groups and the analysts' SQL.
#[derive(Clone, Copy)]
pub(crate) struct Statistics<'e> {
    core: &'e Core,
}

impl<'e> Statistics<'e> {
    /// The statistics of `core`.
    pub(crate) fn new(core: &'e Core) -> Statistics<'e> {
        Statistics { core }
    }

    pub(crate) fn figure_index(&self, domain: &Domain, figure: &str) -> Result<usize> {
        domain
            .key_figure_index(figure)
            .ok_or_else(|| EngineError::UnknownFigure {
                domain: domain.id.clone(),
                figure: figure.to_string(),
            })
    }

    /// [`Statistics::prepare`]; a custom group this process does not know
    /// yet (defined through another replica a moment ago) is looked up
    /// again after reading the state log.
    pub(crate) async fn prepare_fresh(&self, req: &StatsRequest<'_>) -> Result<Prepared<'e>> {
        match self.prepare(req) {
            Err(EngineError::UnknownGroupBy(_)) if self.core.store.state_may_be_behind().await => {
                self.prepare(req)
            }
            other => other,
        }
    }

    /// Resolves what a comparison or time series asks for, or says why not.
    fn prepare(&self, req: &StatsRequest<'_>) -> Result<Prepared<'e>> {
        let domain = self.core.domain(req.domain)?;
        let figure = self.figure_index(domain, req.figure)?;
        let by = match req.group_by {
            NEIGHBOURS => GroupBy::Neighbours(
                req.of
                    .ok_or_else(|| {
                        EngineError::BadRequest(
                            "group_by=neighbours needs the member whose neighbours form the group: of=ID".into(),
                        )
                    })?
                    .to_string(),
            ),
            other => self.group_by(other)?,
        };
        AsOf::check_audience(req.as_of, req.audience)?;
        let members = self.core.members_for(req.as_of);
        for m in req.member.iter().chain(req.of.iter()) {
            if !members.contains_key(*m) && !self.core.store.members_map().contains_key(*m) {
                return Err(EngineError::NotFound(format!(
                    "member {m} is not registered"
                )));
            }
        }
        Ok(Prepared { domain, figure, by })
    }

    /// A comparison for one year, after disclosure control for the audience:
    /// admin reads the live state, everyone else the latest publication (or
    /// the one `as_of` names). A member that has not submitted for the year
    /// gets `GiveToGet`.
    pub(crate) async fn comparison(&self, req: &StatsRequest<'_>, year: i32) -> Result<Comparison> {
        check_year(year)?;
        let p = self.prepare_fresh(req).await?;
        self.comparison_of(req, p, year).await
    }

    /// [`Statistics::comparison`] of a request resolved before, for a
    /// year checked before.
    pub(crate) async fn comparison_of(
        &self,
        req: &StatsRequest<'_>,
        p: Prepared<'e>,
        year: i32,
    ) -> Result<Comparison> {
        let key = &p.domain.key_figures[p.figure];
        if !key.valid_in(year) {
            return Err(EngineError::NotFound(format!(
                "key figure {} of {} is not computed for {year} (the catalogue of that year does not have it)",
                key.id, p.domain.id
            )));
        }
        // Give to get: a member, or a consultant reading on its behalf, sees a
        // year's comparisons only once the member has submitted for it.
        if let Some(m) = req.member
            && matches!(req.audience, Audience::Member | Audience::Consultant)
            && !Records::new(self.core, p.domain)
                .has_submitted(year, m)
                .await?
        {
            return Err(EngineError::GiveToGet {
                member_id: m.to_string(),
                domain: req.domain.to_string(),
                year,
            });
        }
        let view = self
            .core
            .publishing()
            .view(p.domain, year, req.audience, req.as_of)
            .await?
            .ok_or_else(|| EngineError::NotPublished {
                domain: p.domain.id.clone(),
                year,
            })?;
        let publishing = self.core.publishing();
        let resolved;
        let by = match &p.by {
            GroupBy::Neighbours(of) => {
                resolved =
                    GroupBy::Custom(publishing.neighbour_group(p.domain, &view, year, of)?.0);
                &resolved
            }
            by => by,
        };
        if let GroupBy::Custom(g) = by
            && let Err(refusal) = publishing.disclose_custom(p.domain, &view, g, year).await?
        {
            // A refusal names the group it collides with: for a neighbour
            // group that is another member's, which a member or consultant
            // must not learn.
            let message = match &p.by {
                GroupBy::Neighbours(of)
                    if matches!(req.audience, Audience::Member | Audience::Consultant) =>
                {
                    format!(
                        "the structural neighbours of {of} are not released for {} {year}: together with groups released before they would let single members' figures be worked out (rules 6 and 11)",
                        p.domain.id
                    )
                }
                _ => refusal.message,
            };
            return Err(EngineError::Refused {
                code: "disclosure_refused",
                reason: refusal.reason,
                message,
            });
        }
        let c = view.compare(self.core, publication::Ask { by, ..p.ask(req) }, year);
        count_suppressed(c.groups.iter().map(|g| (g.suppressed, g.reason)));
        Ok(c)
    }

    /// A time series over the years in `from..=to`, after disclosure
    /// control: admin reads the live state, everyone else each year's
    /// publication; years without the member's own submission are marked
    /// instead of compared.
    pub(crate) async fn timeseries(
        &self,
        req: &StatsRequest<'_>,
        from: Option<i32>,
        to: Option<i32>,
    ) -> Result<Timeseries> {
        let p = self.prepare_fresh(req).await?;
        self.timeseries_of(req, p, (from, to)).await
    }

    /// [`Statistics::timeseries`] of a request resolved before.
    pub(crate) async fn timeseries_of(
        &self,
        req: &StatsRequest<'_>,
        p: Prepared<'e>,
        (from, to): (Option<i32>, Option<i32>),
    ) -> Result<Timeseries> {
        let points = self
            .core
            .publishing()
            .published_points(p.ask(req), (from, to), req.as_of)
            .await?;
        count_suppressed(points.iter().map(|p| (p.suppressed, p.reason)));
        let data_version = match req.audience {
            Audience::Admin => {
                compare::data_version(&*self.core.snapshot_for(req.domain, req.as_of).await?)
            }
            // Each point names its publication and thereby its version.
            _ => points
                .iter()
                .filter_map(|p| p.publication.as_ref())
                .map(|p| p.id.clone())
                .max()
                .unwrap_or_default(),
        };
        let key = &p.domain.key_figures[p.figure];
        // Only the years of the key figure; a break between two of them
        // is named.
        let points: Vec<_> = points
            .into_iter()
            .filter(|pt| key.valid_in(pt.year))
            .collect();
        let mut years: Vec<i32> = points.iter().map(|pt| pt.year).collect();
        years.dedup();
        let breaks = p
            .domain
            .breaks(key, &years)
            .into_iter()
            .filter(|y| years.first().is_some_and(|first| y > first))
            .collect();
        Ok(Timeseries {
            domain: p.domain.id.clone(),
            figure: key.id.clone(),
            group_by: p.by.as_str().to_string(),
            member_id: req.member.map(str::to_string),
            data_version,
            points,
            breaks,
        })
    }

    /// Resolves a `group_by` value: a built-in dimension or a custom group.
    pub(crate) fn group_by(&self, value: &str) -> Result<GroupBy> {
        if let Some(d) = Dimension::parse(value) {
            return Ok(GroupBy::Dimension(d));
        }
        self.core
            .store
            .groups()
            .into_iter()
            .find(|g| g.id == value)
            .map(|mut g| {
                // `compare::group_of` searches the list.
                g.member_ids.sort();
                g.member_ids.dedup();
                GroupBy::Custom(g)
            })
            .ok_or_else(|| EngineError::UnknownGroupBy(value.to_string()))
    }

    /// Defines a custom peer group after checking it: a snake_case id that
    /// is not a dimension, registered members, at least the threshold of them.
    pub(crate) async fn create_group(&self, group: CustomGroup) -> Result<CustomGroup> {
        let refuse = |reason: &'static str, message: String| EngineError::Refused {
            code: "group_refused",
            reason,
            message,
        };
        let id_ok = group.id.len() <= 64
            && group
                .id
                .chars()
                .next()
                .is_some_and(|c| c.is_ascii_lowercase())
            && group
                .id
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_' || c == '-');
        if !id_ok || Dimension::parse(&group.id).is_some() || group.id == NEIGHBOURS {
            return Err(refuse(
                "invalid_id",
                format!(
                    "group id '{}' must be lowercase letters, digits, '_' or '-', start with a letter, and not be a built-in dimension",
                    group.id
                ),
            ));
        }
        // Every member and consultant sees the name in the group list: one
        // plain, bounded line like member names.
        let name =
            vergleichsring_store::plain_line(&group.name, vergleichsring_store::MAX_NAME_CHARS);
        if name.is_empty() {
            return Err(refuse("invalid_name", "the group needs a name".into()));
        }
        let mut ids: Vec<String> = group.member_ids.clone();
        ids.sort();
        ids.dedup();
        let registered = self.core.registered_ids();
        if let Some(unknown) = ids.iter().find(|m| !registered.contains(*m)) {
            return Err(refuse(
                "unregistered_member",
                format!("member {unknown} is not registered"),
            ));
        }
        if ids.len() < self.core.policy.threshold {
            return Err(refuse(
                "below_threshold",
                format!(
                    "a custom group needs at least {} members; this one has {}",
                    self.core.policy.threshold,
                    ids.len()
                ),
            ));
        }
        let group = CustomGroup {
            member_ids: ids,
            name,
            ..group
        };
        self.core.store.add_group(group).await.map_err(|e| match e {
            StoreError::Conflict(m) => EngineError::Conflict(m),
            other => EngineError::Store(other),
        })
    }

    /// The audit's answer for a custom group in a (domain, year)'s latest
    /// publication, as an analyst would get it, without saving the group
    /// or recording anything: `None` when the year has no publication.
    pub(crate) async fn preview_group(
        &self,
        domain: &str,
        year: i32,
        group: &CustomGroup,
    ) -> Result<Option<std::result::Result<(), crate::disclose::differencing::Refusal>>> {
        let d = self.core.domain(domain)?;
        crate::base::check_year(year)?;
        let publishing = self.core.publishing();
        let Some(view) = publishing.view(d, year, Audience::Analyst, None).await? else {
            return Ok(None);
        };
        Ok(Some(publishing.preview_custom(d, &view, group, year)?))
    }

    /// Every published statistic for analysts: all domains and years with
    /// a publication, every key figure, the built-in dimensions and the
    /// custom groups disclosed in that publication, as published.
    pub(crate) async fn published_comparisons(&self) -> Result<arrow::array::RecordBatch> {
        let mut all = Vec::new();
        let custom = self.core.store.groups();
        for d in &self.core.catalog().domains {
            for year in self.core.ledgers.years(&d.id)? {
                let Some(view) = self
                    .core
                    .publishing()
                    .view(d, year, Audience::Analyst, None)
                    .await?
                else {
                    continue;
                };
                let disclosed: HashSet<String> = match &view.publication {
                    Some(p) => self
                        .core
                        .ledgers
                        .entries_of(&d.id, year)?
                        .iter()
                        .filter_map(|e| match &e.record {
                            vergleichsring_store::LedgerRecord::CustomGroup(c)
                                if c.publication == p.id =>
                            {
                                Some(c.group_id.clone())
                            }
                            _ => None,
                        })
                        .collect(),
                    None => HashSet::new(),
                };
                let mut bys: Vec<GroupBy> = publication::DIMENSIONS
                    .into_iter()
                    .map(GroupBy::Dimension)
                    .collect();
                bys.extend(
                    custom
                        .iter()
                        .filter(|g| disclosed.contains(&g.id))
                        .cloned()
                        .map(GroupBy::Custom),
                );
                for figure in 0..d.key_figures.len() {
                    for by in &bys {
                        let ask = publication::Ask {
                            domain: d,
                            figure,
                            by,
                            audience: Audience::Analyst,
                            member: None,
                        };
                        all.push(view.compare(self.core, ask, year));
                    }
                }
            }
        }
        export::comparisons_batch(&all, false)
    }

    /// Runs an analyst's SQL over the disclosed statistics.
    pub(crate) async fn query(&self, sql: &str, format: export::TableFormat) -> Result<Bytes> {
        query::check_single_query(sql)?;
        let table = self.published_comparisons().await?;
        let (schema, batches) = match &self.core.workers {
            Some(pool) => pool.query(sql, &table, query::QUERY_TIMEOUT).await?,
            None => query::run(sql, table).await?,
        };
        export::encode(&schema, &batches, format)
    }

    /// What a statistics answer depends on besides the request itself, as
    /// a string for its `ETag`, or `None` when the answer cannot be tagged:
    /// over a custom group it also depends on the ledger's disclosures of
    /// other groups (rule 6), which no version counts.
    ///
    /// The state is the domain's data version (or, `as_of` a past state,
    /// that state, which later uploads do not change), the member list's
    /// generation (a release brings its own list) and the domain's ledgers
    /// (a publication is no commit).
    pub(crate) async fn answer_state(&self, req: &StatsRequest<'_>) -> Result<Option<String>> {
        // A neighbour group depends on the data, the member list and the
        // ledger (the groups standing in, its own disclosure), which the
        // state below holds, and on `of`, which the request does.
        if Dimension::parse(req.group_by).is_none() && req.group_by != NEIGHBOURS {
            return Ok(None);
        }
        let version = match req.as_of {
            Some(a) => format!("asof-{}", a.label),
            None => self.core.data_version(req.domain).await?,
        };
        let members = self.members_generation(req.as_of);
        let published = self.core.ledgers.tag(req.domain);
        Ok(Some(format!("{version}/{members}/{published}")))
    }

    /// What a member's report depends on, as a string for its `ETag`. A
    /// report spans every domain, so the state holds every domain's data
    /// version and ledgers (a freeze or reopen, which changes the releases
    /// it lists, is a commit and so moves a data version too).
    pub(crate) async fn report_state(&self, as_of: Option<&AsOf>) -> String {
        let versions = match as_of {
            Some(a) => format!("asof-{}", a.label),
            None => self.core.data_versions().await,
        };
        let published: Vec<String> = self
            .core
            .catalog()
            .domains
            .iter()
            .map(|d| self.core.ledgers.tag(&d.id))
            .collect();
        format!(
            "{versions}/{}/{}",
            self.members_generation(as_of),
            published.join(";")
        )
    }

    /// The member list's part of a state: a release brings its own list,
    /// so answers as of it do not change when members change later.
    fn members_generation(&self, as_of: Option<&AsOf>) -> String {
        match as_of.and_then(|a| a.release()) {
            Some(_) => "release".to_string(),
            None => self.core.store().members_generation().to_string(),
        }
    }
}
