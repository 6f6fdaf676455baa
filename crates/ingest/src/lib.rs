//! Decoding uploads into Arrow and checking every cell against the catalogue.
//!
//! An upload passes two stages, each a public function the engine calls in
//! turn (the first in a worker process when the server has workers):
//!
//! 1. [`decode`] (`decode.rs`) turns the body into one Arrow batch by its
//!    [`Format`], within [`Limits`], and refuses what it cannot read:
//!    * Parquet: `decode_parquet`, which runs `check_metadata`, then
//!      `pages::check` over every page header, then `read_batches`;
//!    * CSV: `csv_file::decode`, which runs `check_text`, `read_headers`
//!      and `read_records`, then `table::from_text_columns`;
//!    * XLSX: `xlsx_file::decode`, which runs `check_archive`,
//!      `sheet_cells` and `text_columns`, then `table::from_text_columns`.
//!
//!    The result is a [`Decoded`]: the batch and the cells that are not
//!    numbers.
//! 2. [`validate`] (`validate.rs`) maps the batch onto a domain's basic
//!    figures and applies the built-in checks, in this order:
//!    `map_columns` (the header: member id, year, figures by id or label,
//!    column types), `check_missing_columns`, `report_cell_errors` (the
//!    decoder's unreadable cells with their member), and `check_rows`, which
//!    for every row runs `row_member`, `check_member`, `check_duplicate` and
//!    `check_figures`. The result is an [`Upload`], or
//!    [`IngestError::Rejected`] with every [`RowError`] in that order (cut
//!    after `MAX_ERRORS`).
//!
//! The domain's own cross-field rules are SQL and run in the engine on the
//! validated rows.

mod csv_file;
mod decode;
mod number;
mod pages;
mod table;
mod validate;
mod xlsx_file;

pub use decode::{Format, XLSX_TYPE, decode};
pub use number::{is_unknown, parse_typed};
pub use table::Decoded;
pub use validate::{Submitter, Upload, UploadRow, validate};

use serde::{Deserialize, Serialize};

/// One reason an upload is refused, naming where and which rule.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RowError {
    /// 1-based data row (the header is not counted); `None` for the whole file or a column.
    pub row: Option<u32>,
    /// The member of the row, when known.
    pub member_id: Option<String>,
    /// The column, when the error is about one.
    pub column: Option<String>,
    /// The id of the violated rule (a built-in check or a domain rule).
    pub rule: String,
    /// A sentence a non-programmer can act on (English).
    pub message: String,
}

impl RowError {
    /// An error about the whole file.
    pub fn file(rule: &str, message: impl Into<String>) -> RowError {
        RowError {
            row: None,
            member_id: None,
            column: None,
            rule: rule.to_string(),
            message: message.into(),
        }
    }
}

/// Why an upload could not be taken.
#[derive(Debug, thiserror::Error)]
pub enum IngestError {
    /// The content type is not a supported upload format.
    #[error("unsupported upload format '{0}'")]
    UnsupportedFormat(String),
    /// The upload was read but breaks rules; nothing may be stored.
    #[error("validation failed with {} error(s)", .0.len())]
    Rejected(Vec<RowError>),
}

/// Limits on what one upload may hold, checked before and while decoding.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Limits {
    /// Rows per upload.
    pub max_rows: usize,
    /// Columns per upload.
    pub max_columns: usize,
    /// Bytes an upload may unpack to (Parquet pages, XLSX entries).
    pub max_uncompressed_bytes: u64,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_rows: 100_000,
            max_columns: 1_000,
            max_uncompressed_bytes: 256 * 1024 * 1024,
        }
    }
}

/// The most errors reported for one upload; beyond it the list is cut and the
/// last entry says so, so a broken bulk file does not produce a huge response.
pub(crate) const MAX_ERRORS: usize = 500;
