//! The engine's one error type, by what the caller should say, and its
//! `Result`.

use vergleichsring_ingest::{IngestError, RowError};
use vergleichsring_store::StoreError;

/// Everything that can go wrong in the engine, by what the caller should say.
#[derive(Debug, thiserror::Error)]
pub enum EngineError {
    /// No such domain.
    #[error("unknown domain '{0}'")]
    UnknownDomain(String),
    /// No such key figure in the domain.
    #[error("unknown key figure '{figure}' in domain {domain}")]
    UnknownFigure {
        /// The domain.
        domain: String,
        /// The figure asked for.
        figure: String,
    },
    /// No such group dimension.
    #[error("unknown group_by '{0}'; use all, size_class, land or kind")]
    UnknownGroupBy(String),
    /// Something asked for does not exist (member, year, submission).
    #[error("{0}")]
    NotFound(String),
    /// The request is malformed.
    #[error("{0}")]
    BadRequest(String),
    /// The member has not submitted for this (domain, year).
    #[error(
        "member {member_id} has not submitted figures for {domain} {year}; comparisons are available after your own submission (give to get)"
    )]
    GiveToGet {
        /// The member.
        member_id: String,
        /// The domain.
        domain: String,
        /// The year.
        year: i32,
    },
    /// The upload format is not supported.
    #[error("unsupported upload format '{0}'; send application/vnd.apache.parquet")]
    UnsupportedFormat(String),
    /// The upload breaks rules; nothing was stored.
    #[error("validation failed with {} error(s)", .0.len())]
    Rejected(Vec<RowError>),
    /// Disclosure control refuses a release (rule 6) or a group definition.
    #[error("{message}")]
    Refused {
        /// The error code of the answer (`disclosure_refused`, `group_refused`).
        code: &'static str,
        /// The rule that refuses, e.g. `differencing`.
        reason: &'static str,
        /// A sentence for the user.
        message: String,
    },
    /// Something with that id exists already.
    #[error("{0}")]
    Conflict(String),
    /// The catalogue's SQL does not plan.
    #[error("catalogue: {0}")]
    Catalog(String),
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// DataFusion failed.
    #[error(transparent)]
    DataFusion(#[from] datafusion::error::DataFusionError),
    /// Arrow failed.
    #[error(transparent)]
    Arrow(#[from] arrow::error::ArrowError),
    /// The lake failed while being read.
    #[error(transparent)]
    Delta(#[from] vergleichsring_store::DeltaTableError),
    /// A bug or an unexpected state.
    #[error("internal error: {0}")]
    Internal(String),
    /// The caller may not ask for this (e.g. `as_of` a data version
    /// without being admin).
    #[error("{0}")]
    Forbidden(String),
    /// Nothing of the (domain, year) is published yet (rule 9).
    #[error(
        "{domain} {year} has no publication yet; its statistics are shown once the ring operator publishes them / Für {domain} {year} gibt es noch keine Veröffentlichung; die Statistiken erscheinen, sobald der Ring sie veröffentlicht"
    )]
    NotPublished {
        /// The domain.
        domain: String,
        /// The year.
        year: i32,
    },
    /// Fewer members changed than a new publication needs (rule 10).
    #[error(
        "only {changed} member(s) changed their figures for {domain} {year} since the last publication; a new one needs at least {threshold}, so that no single change can be read from the difference"
    )]
    TooFewChanges {
        /// The domain.
        domain: String,
        /// The year.
        year: i32,
        /// Members whose figures differ from the last publication.
        changed: usize,
        /// The threshold.
        threshold: usize,
    },
    /// No member's figures changed since the last publication.
    #[error("nothing changed since publication {publication}")]
    NothingChanged {
        /// The latest publication, which stays current.
        publication: String,
    },
}

impl From<IngestError> for EngineError {
    fn from(e: IngestError) -> Self {
        match e {
            IngestError::UnsupportedFormat(t) => EngineError::UnsupportedFormat(t),
            IngestError::Rejected(errors) => EngineError::Rejected(errors),
        }
    }
}

impl EngineError {
    /// Whether the error is, at its root, DataFusion's memory limit.
    pub fn is_resources_exhausted(&self) -> bool {
        matches!(
            self,
            EngineError::DataFusion(d) if matches!(
                d.find_root(),
                datafusion::error::DataFusionError::ResourcesExhausted(_)
            )
        )
    }
}

/// Result type of the engine.
pub type Result<T, E = EngineError> = std::result::Result<T, E>;
