//! A request resolved once for its handler: [`StatsAnswer`] for a
//! comparison or time series, [`ReportAnswer`] for a member's report.
//! Each holds the past state `as_of` names and what the answer depends on
//! (the handler's `ETag`); the answer itself is computed only when asked,
//! so that a request answered from a cache or with 304 computes nothing.

use crate::base::{Core, check_year};
use crate::disclose::disclosure::Audience;
use crate::error::Result;
use crate::out::compare::{Comparison, Timeseries};
use crate::out::report::{Report, Reports};
use crate::out::statistics::{Prepared, Statistics, StatsRequest};
use crate::read::as_of::AsOf;

/// A comparison or time series as a handler receives it: `as_of` is the
/// value sent, not yet resolved.
#[derive(Debug, Clone, Copy)]
pub struct StatsQuery<'a> {
    /// Domain id.
    pub domain: &'a str,
    /// Key figure id.
    pub figure: &'a str,
    /// Group dimension or custom group id.
    pub group_by: &'a str,
    /// Who receives the statistics.
    pub audience: Audience,
    /// The member whose own position is shown (the requester for members).
    pub member: Option<&'a str>,
    /// The member whose structural neighbours form the group of
    /// `group_by=neighbours` (the requester for members).
    pub of: Option<&'a str>,
    /// A publication id, release id or data version to read instead of
    /// the latest.
    pub as_of: Option<&'a str>,
}

/// A [`StatsQuery`] resolved once: its `as_of`, the state its answer
/// depends on, and the answer on demand.
pub struct StatsAnswer<'e, 'a> {
    statistics: Statistics<'e>,
    query: StatsQuery<'a>,
    as_of: Option<AsOf>,
    /// The resolved request, or why it cannot be answered. The error is
    /// given when the answer is asked for, after the checks that come
    /// before it (the year of a comparison), as it always was.
    prepared: Result<Prepared<'e>>,
    state: Option<String>,
}

impl<'e, 'a> StatsAnswer<'e, 'a> {
    /// Resolves `query`: its `as_of`, what its answer depends on and what
    /// it asks for.
    pub(crate) async fn resolve(core: &'e Core, query: StatsQuery<'a>) -> Result<Self> {
        let statistics = Statistics::new(core);
        let as_of = match query.as_of {
            Some(v) => Some(AsOf::resolve(core, v, Some(query.domain)).await?),
            None => None,
        };
        let req = request(&query, as_of.as_ref());
        let state = statistics.answer_state(&req).await?;
        let prepared = statistics.prepare_fresh(&req).await;
        Ok(StatsAnswer {
            statistics,
            query,
            as_of,
            prepared,
            state,
        })
    }

    /// What the answer depends on besides the request itself, for its
    /// `ETag`; `None` when it cannot be tagged (custom groups).
    pub fn state(&self) -> Option<&str> {
        self.state.as_deref()
    }

    /// The past state the answer reads, if `as_of` named one.
    pub fn as_of(&self) -> Option<&AsOf> {
        self.as_of.as_ref()
    }

    /// The comparison for one year, after disclosure control.
    pub async fn comparison(self, year: i32) -> Result<Comparison> {
        check_year(year)?;
        let req = request(&self.query, self.as_of.as_ref());
        self.statistics
            .comparison_of(&req, self.prepared?, year)
            .await
    }

    /// The time series over the years in `from..=to`, after disclosure
    /// control.
    pub async fn timeseries(self, from: Option<i32>, to: Option<i32>) -> Result<Timeseries> {
        let req = request(&self.query, self.as_of.as_ref());
        self.statistics
            .timeseries_of(&req, self.prepared?, (from, to))
            .await
    }
}

/// The request of a query with its `as_of` resolved.
fn request<'r>(query: &StatsQuery<'r>, as_of: Option<&'r AsOf>) -> StatsRequest<'r> {
    StatsRequest {
        domain: query.domain,
        figure: query.figure,
        group_by: query.group_by,
        audience: query.audience,
        member: query.member,
        of: query.of,
        as_of,
    }
}

/// A member's report resolved once: its `as_of`, the state it depends
/// on, and the report on demand.
pub struct ReportAnswer<'e> {
    core: &'e Core,
    /// Reports computed at once (the engine's semaphore).
    turns: &'e tokio::sync::Semaphore,
    as_of: Option<AsOf>,
    state: String,
}

impl<'e> ReportAnswer<'e> {
    /// Resolves a report's `as_of` and the state it depends on.
    pub(crate) async fn resolve(
        core: &'e Core,
        turns: &'e tokio::sync::Semaphore,
        as_of: Option<&str>,
    ) -> Result<Self> {
        let as_of = match as_of {
            Some(v) => Some(AsOf::resolve(core, v, None).await?),
            None => None,
        };
        let state = Statistics::new(core).report_state(as_of.as_ref()).await;
        Ok(ReportAnswer {
            core,
            turns,
            as_of,
            state,
        })
    }

    /// What the report depends on, for its `ETag`.
    pub fn state(&self) -> &str {
        &self.state
    }

    /// The past state the report reads, if `as_of` named one.
    pub fn as_of(&self) -> Option<&AsOf> {
        self.as_of.as_ref()
    }

    /// The peer report of a member for a year, for an audience.
    pub async fn report(self, member_id: &str, year: i32, audience: Audience) -> Result<Report> {
        let _turn = self.turns.acquire().await;
        Reports::new(self.core)
            .report(member_id, year, audience, self.as_of.as_ref())
            .await
    }
}
