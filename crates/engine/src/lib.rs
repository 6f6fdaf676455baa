//! DataFusion session: key figures from `queries/`, plausibility rules, peer
//! statistics and disclosure control.
//!
//! [`Engine`] is the only way the server reaches figures: a façade whose
//! methods each hand one job to the module that owns it. The jobs hold a
//! `base::Core` (store, snapshots, memory cache, ledgers, policy, noise,
//! workers), never the `Engine`; no module imports from this file. The
//! modules, grouped by layer:
//!
//! - `out/`: what leaves. `answer.rs` (a request resolved once for its
//!   handler: its `ETag` state and the answer on demand), `statistics.rs`
//!   (comparisons, time series, custom groups, the analysts' SQL),
//!   `compare.rs` (one comparison, every group through the disclosure
//!   rules), `report.rs`, `export.rs`, `offline.rs`.
//! - `disclose/`: the one door. `publication/` (publications, the ledger,
//!   the audit: every statistic for a non-admin caller comes from a
//!   publication), `disclosure.rs` (rules 1–5, 7), `differencing.rs` (rule
//!   6), `noise.rs` (rule 14), `grouping.rs` and `dimension.rs` (who falls
//!   into which group), `summary.rs` (a group's statistics).
//! - `write/`: what comes in. `uploads.rs` (the upload in named stages),
//!   `rules.rs` (plausibility), `workflow.rs` (warnings and explanations), `collection.rs` (the coordinator's year),
//!   `releases.rs` (frozen years).
//! - `read/`: the data as of a version. `lake.rs` (each domain's year
//!   index, years loaded on demand, other processes followed), `load.rs`
//!   (reading the Delta table), `snapshot.rs`, `year.rs`,
//!   `materialised.rs`, `memory.rs` (one byte budget), `as_of.rs` (past
//!   states), `records.rs` (a member's own figures and submissions).
//! - `sandbox/`: `session.rs` (the bounded DataFusion session), `query.rs`
//!   (analysts' SQL checked), `worker.rs` (untrusted work in child
//!   processes).
//!
//! `base.rs` holds the `Core`; `error.rs` the one error enum.

mod base;
mod disclose;
mod error;
mod out;
mod read;
mod sandbox;
mod write;

use std::sync::Arc;

use bytes::Bytes;
use vergleichsring_catalog::{Catalog, Domain};
use vergleichsring_ingest::Limits;
use vergleichsring_store::{CustomGroup, Publication, Store};

use base::Core;
use disclose::disclosure::{Audience, Policy};
use out::compare::{Comparison, Timeseries};
use read::snapshot::Snapshot;

pub use base::{YEARS, check_year};
pub use disclose::{
    differencing, disclosure, neighbours as structure, noise, publication, summary,
};
pub use error::{EngineError, Result};
pub use out::answer::{ReportAnswer, StatsAnswer, StatsQuery};
pub use out::neighbours::{NeighbourPair, Neighbours};
pub use out::statistics::StatsRequest;
pub use out::{compare, export, offline, report};
pub use read::as_of::AsOf;
pub use read::lake::RefreshCounters;
pub use read::memory::{CacheStats, Gates, Passage};
pub use read::records::{Figures, SubmissionInfo};
pub use read::snapshot;
pub use sandbox::{session, worker};
pub use vergleichsring_store::DataRelease;
pub use write::collection;
pub use write::uploads::{SubmitOutcome, SubmitRequest, Warning};
pub use write::workflow;

/// The memory cache's budget unless configured (`[limits] cache_mib`):
/// sized so that the server stays within 300 MiB at national scale. (The
/// weights are estimates; measured, the server's resident memory grows by
/// about 2.3 times what the cache accounts, see BENCHMARKS.md.)
pub const DEFAULT_CACHE_BYTES: usize = 32 << 20;

/// The engine: snapshots per domain over the store.
pub struct Engine {
    /// What every job works on.
    core: Core,
    /// Reports computed at once: as many as the machine has cores. A
    /// report reads a year at a time of every domain (tens of megabytes at
    /// national scale) and is CPU-bound, so more at once only hold more
    /// memory; the others wait their turn.
    reports: tokio::sync::Semaphore,
}

impl Engine {
    /// Builds the engine and checks that every domain's SQL plans.
    ///
    /// Unless the policy turns the perturbation off, the ring's noise
    /// secret is read from the state log (and created there if the ring
    /// has none yet).
    pub async fn new(store: Arc<Store>, policy: Policy) -> Result<Engine> {
        for d in &store.catalog().domains {
            write::rules::check_domain(d).await?;
        }
        policy.check_noise().map_err(EngineError::BadRequest)?;
        let noise = if policy.perturbs() {
            Some(Arc::new(noise::Noise::new(
                store.noise_secret().await?,
                policy.noise_min,
                policy.noise_max,
            )))
        } else {
            None
        };
        Ok(Engine {
            core: Core::new(store, policy, noise, DEFAULT_CACHE_BYTES),
            reports: tokio::sync::Semaphore::new(
                std::thread::available_parallelism().map_or(2, usize::from),
            ),
        })
    }

    /// The ring's disclosure settings.
    pub fn policy(&self) -> &Policy {
        &self.core.policy
    }

    /// Sets the limits on uploads and the time one upload may take to check.
    pub fn with_limits(mut self, limits: Limits, upload_timeout: std::time::Duration) -> Engine {
        self.core.limits = limits;
        self.core.upload_timeout = upload_timeout;
        self
    }

    /// Sets the byte budget of the memory cache (years, ledger entries,
    /// publication masks). Call before the engine is used: what was
    /// cached is dropped.
    pub fn with_cache_budget(mut self, bytes: usize) -> Engine {
        self.core.set_cache_budget(bytes);
        self
    }

    /// How the memory cache is doing (bytes held within its budget,
    /// evictions, loads).
    pub fn cache_stats(&self) -> CacheStats {
        self.core.memory.stats()
    }

    /// Sets the ring's structural-neighbour settings (checked by
    /// `NeighbourSettings::problem` before).
    pub fn with_neighbours(mut self, settings: structure::NeighbourSettings) -> Engine {
        self.core.neighbours = settings;
        self
    }

    /// A member's structural neighbours in a (domain, year), as the
    /// audience may see them.
    pub async fn neighbours(
        &self,
        domain: &str,
        year: i32,
        of: &str,
        audience: Audience,
    ) -> Result<Neighbours> {
        out::neighbours::NeighbourAnswers::new(&self.core)
            .of(domain, year, of, audience)
            .await
    }

    /// Every member's structural neighbours in a (domain, year), for
    /// analysts and admin, as JSON (an array of [`NeighbourPair`]).
    /// Computed and serialised in a turn of the reports' semaphore: at
    /// national scale one answer is 165,000 pairs (15 MB) and a third of a
    /// second of both cores, so a burst waits instead of holding memory.
    pub async fn all_neighbours(
        &self,
        domain: &str,
        year: i32,
        audience: Audience,
    ) -> Result<Bytes> {
        let _turn = self.reports.acquire().await;
        let pairs = out::neighbours::NeighbourAnswers::new(&self.core)
            .all(domain, year, audience)
            .await?;
        serde_json::to_vec(&pairs)
            .map(Bytes::from)
            .map_err(|e| EngineError::Internal(format!("neighbour pairs as JSON: {e}")))
    }

    /// Decodes uploads and runs analysts' SQL in worker processes.
    pub fn with_workers(mut self, config: worker::WorkerConfig) -> Engine {
        self.core.workers = Some(Arc::new(worker::Pool::new(config)));
        self
    }

    /// The worker pool, if the engine has one.
    pub fn workers(&self) -> Option<&worker::Pool> {
        self.core.workers.as_deref()
    }

    /// The data version of a domain as the API shows it (the number of
    /// commits), without computing a snapshot.
    pub async fn data_version(&self, domain: &str) -> Result<String> {
        self.core.data_version(domain).await
    }

    /// How snapshots were brought up to date since start.
    pub fn refresh_counters(&self) -> &RefreshCounters {
        self.core.snapshots.counters()
    }

    /// The domain's snapshot at its current data version with every year
    /// loaded (for tests and tools: at national scale this reads the whole
    /// domain; requests load the years they need).
    pub async fn snapshot(&self, domain: &str) -> Result<Arc<Snapshot>> {
        let d = self.core.domain(domain)?;
        let current = self.core.snapshots.current(d).await?;
        self.core.snapshots.load_all(d, &current).await
    }

    /// Validates an upload and, if it passes, stores it as one commit (and
    /// publishes the year when enough members changed).
    pub async fn submit(&self, req: SubmitRequest) -> Result<SubmitOutcome> {
        write::uploads::Uploads::new(&self.core).submit(req).await
    }

    /// A comparison for one year, after disclosure control for the
    /// audience: admin reads the live state, everyone else the latest
    /// publication (or the one `as_of` names).
    pub async fn comparison(&self, req: &StatsRequest<'_>, year: i32) -> Result<Comparison> {
        self.statistics().comparison(req, year).await
    }

    /// A time series over the years in `from..=to`, after disclosure
    /// control.
    pub async fn timeseries(
        &self,
        req: &StatsRequest<'_>,
        from: Option<i32>,
        to: Option<i32>,
    ) -> Result<Timeseries> {
        self.statistics().timeseries(req, from, to).await
    }

    /// Runs an analyst's SQL over the published statistics.
    pub async fn query(&self, sql: &str, format: export::TableFormat) -> Result<Bytes> {
        self.statistics().query(sql, format).await
    }

    /// The audit's answer for a custom group in a (domain, year), without
    /// saving it: `None` when the year has no publication yet.
    pub async fn preview_group(
        &self,
        domain: &str,
        year: i32,
        group: &CustomGroup,
    ) -> Result<Option<std::result::Result<(), disclose::differencing::Refusal>>> {
        self.statistics().preview_group(domain, year, group).await
    }

    /// Defines a custom peer group after checking it.
    pub async fn create_group(&self, group: CustomGroup) -> Result<CustomGroup> {
        self.statistics().create_group(group).await
    }

    /// Resolves a comparison or time series once for its handler: its
    /// `as_of`, what its answer depends on (for the `ETag`), and the
    /// answer when asked.
    pub async fn stats_answer<'a>(&self, query: StatsQuery<'a>) -> Result<StatsAnswer<'_, 'a>> {
        StatsAnswer::resolve(&self.core, query).await
    }

    /// Resolves a member's report once for its handler: its `as_of`, what
    /// it depends on (for the `ETag`), and the report when asked.
    pub async fn report_answer(&self, as_of: Option<&str>) -> Result<ReportAnswer<'_>> {
        ReportAnswer::resolve(&self.core, &self.reports, as_of).await
    }

    /// Resolves an `as_of` value: a publication id (`library-2024-p2`), a
    /// release id (`library-2024-1`) or a data version (one number for a
    /// request about one domain; the report's dotted form, one number per
    /// domain in catalogue order, without one).
    pub async fn resolve_as_of(&self, value: &str, domain: Option<&str>) -> Result<AsOf> {
        AsOf::resolve(&self.core, value, domain).await
    }

    /// Every release, oldest first, as it stood at `as_of`.
    pub fn releases(&self, as_of: Option<&AsOf>) -> Result<Vec<DataRelease>> {
        self.core.releases(as_of)
    }

    /// Freezes a (domain, year): uploads for it get 409 until it is
    /// reopened; the year is published as it stands.
    pub async fn freeze(&self, domain: &str, year: i32, by: &str) -> Result<DataRelease> {
        write::releases::Releases::new(&self.core)
            .freeze(self.core.domain(domain)?, year, by)
            .await
    }

    /// Reopens a frozen (domain, year) for uploads.
    pub async fn reopen(&self, domain: &str, year: i32, by: &str) -> Result<DataRelease> {
        write::releases::Releases::new(&self.core)
            .reopen(self.core.domain(domain)?, year, by)
            .await
    }

    /// The peer report of a member for a year, for an audience (the member
    /// itself, a granted consultant, or admin), as of a past state or now.
    pub async fn report(
        &self,
        member_id: &str,
        year: i32,
        audience: Audience,
        as_of: Option<&AsOf>,
    ) -> Result<report::Report> {
        let _turn = self.reports.acquire().await;
        report::Reports::new(&self.core)
            .report(member_id, year, audience, as_of)
            .await
    }

    /// Stores explanations of warnings of a submission; with `scope` (a
    /// member token) only that member's.
    pub async fn explain(
        &self,
        submission_id: &str,
        scope: Option<&str>,
        token_id: &str,
        inputs: Vec<workflow::ExplanationInput>,
    ) -> Result<Vec<vergleichsring_store::Explanation>> {
        workflow::Workflow::new(&self.core)
            .explain(submission_id, scope, token_id, inputs)
            .await
    }

    /// The warnings of current figures, optionally of one domain, year or
    /// member, optionally only the unexplained ones.
    pub async fn warnings(
        &self,
        domain: Option<&str>,
        year: Option<i32>,
        member: Option<&str>,
        only_open: bool,
    ) -> Result<Vec<workflow::WarningStatus>> {
        workflow::Workflow::new(&self.core)
            .warnings(domain, year, member, only_open)
            .await
    }

    /// Every member's status in the collection of a (domain, year), or
    /// only `member`'s.
    pub async fn collection(
        &self,
        domain: &str,
        year: i32,
        member: Option<&str>,
    ) -> Result<collection::CollectionStatus> {
        collection::Collect::new(&self.core)
            .status(domain, year, member)
            .await
    }

    /// Opens the collection of a (domain, year) with a deadline, or moves
    /// its deadline.
    pub async fn open_collection(
        &self,
        domain: &str,
        year: i32,
        deadline: &str,
        by: &str,
    ) -> Result<vergleichsring_store::Collection> {
        collection::Collect::new(&self.core)
            .open(domain, year, deadline, by)
            .await
    }

    /// Approves a member's current figures of a (domain, year); with
    /// `seen`, only if that submission still holds them.
    pub async fn approve(
        &self,
        domain: &str,
        year: i32,
        member: &str,
        seen: Option<&str>,
        by: &str,
    ) -> Result<vergleichsring_store::Approval> {
        collection::Collect::new(&self.core)
            .approve(domain, year, member, seen, by)
            .await
    }

    /// Stores the coordinator's review of a warning.
    pub async fn review(
        &self,
        input: collection::ReviewInput,
        by: &str,
    ) -> Result<vergleichsring_store::Review> {
        collection::Collect::new(&self.core).review(input, by).await
    }

    /// Saves a member's draft of its figures for a (domain, year).
    pub async fn save_draft(
        &self,
        domain: &str,
        year: i32,
        member: &str,
        values: std::collections::BTreeMap<String, f64>,
        by: &str,
    ) -> Result<vergleichsring_store::Draft> {
        collection::Collect::new(&self.core)
            .save_draft(domain, year, member, values, by)
            .await
    }

    /// The publications, newest first, optionally of one domain and year.
    pub fn publications(
        &self,
        domain: Option<&str>,
        year: Option<i32>,
    ) -> Result<Vec<Publication>> {
        self.core.publishing().publications(domain, year)
    }

    /// Publishes a (domain, year) at its current data version after the
    /// audit (rules 9–11).
    pub async fn publish(
        &self,
        domain: &str,
        year: i32,
        trigger: publication::Trigger,
        by: &str,
    ) -> Result<Publication> {
        self.core
            .publishing()
            .publish(domain, year, trigger, by)
            .await
    }

    /// What [`Engine::publish`] would do now, recording nothing: the
    /// members changed and the groups withheld, or the same refusal
    /// (`NothingChanged`, `TooFewChanges`).
    pub async fn publish_preview(
        &self,
        domain: &str,
        year: i32,
    ) -> Result<publication::PublishPreview> {
        self.core.publishing().preview(domain, year).await
    }

    /// Publishes every year whose figures changed enough since its last
    /// publication (for data directories from before publications, and
    /// after a restart). Returns how many it published.
    pub async fn publish_pending(&self) -> Result<usize> {
        self.core.publishing().publish_pending().await
    }

    /// Whether a member has current figures for a (domain, year).
    pub async fn has_submitted(&self, domain: &str, year: i32, member_id: &str) -> Result<bool> {
        self.core.has_submitted(domain, year, member_id).await
    }

    /// A member's figures for a (domain, year): the current ones, or those
    /// of an earlier submission.
    pub async fn figures(
        &self,
        domain: &str,
        year: i32,
        member_id: &str,
        submission: Option<&str>,
    ) -> Result<Figures> {
        self.core
            .records(domain)?
            .figures(year, member_id, submission)
            .await
    }

    /// The submissions of a (domain, year), newest first; with `member`,
    /// only those holding that member's figures, and only its rows.
    pub async fn submissions(
        &self,
        domain: &str,
        year: i32,
        member: Option<&str>,
    ) -> Result<Vec<SubmissionInfo>> {
        self.core.records(domain)?.submissions(year, member).await
    }

    /// Picks up what other processes on the same lake did: changes of the
    /// state (members, tokens, grants, groups, releases), new ledger entries,
    /// and every commit beyond this process's table handles. Returns the
    /// number of commits applied. Run every `lake.refresh_millis` by
    /// `serve`.
    pub async fn follow_log(&self) -> Result<usize> {
        let core = &self.core;
        core.store.follow_state().await?;
        core.store.sync_ledgers().await?;
        core.ledgers.follow(core.catalog())?;
        core.snapshots.follow(core.catalog()).await
    }

    /// The catalogue.
    pub fn catalog(&self) -> &Catalog {
        self.core.catalog()
    }

    fn statistics(&self) -> out::statistics::Statistics<'_> {
        out::statistics::Statistics::new(&self.core)
    }

    /// The domain, or `UnknownDomain`.
    pub fn domain(&self, id: &str) -> Result<&Domain> {
        self.core.domain(id)
    }
}

/// Runs a domain's key-figure SQL over `basic` (member_id, year and the basic
/// figures as DOUBLE) and returns the result: the entry point of the golden
/// tests of `queries/`.
pub async fn run_key_figure_sql(
    domain: &Domain,
    basic: arrow::array::RecordBatch,
) -> Result<Vec<arrow::array::RecordBatch>> {
    let ctx = sandbox::session::context_with("basic", basic)?;
    Ok(ctx.sql(&domain.query).await?.collect().await?)
}
