//! Decoding uploads into Arrow and checking every cell against the catalogue.
//!
//! [`decode`] turns the body of an upload (Parquet, CSV or XLSX) into one
//! Arrow [`arrow::array::RecordBatch`] by its content type, within [`Limits`]; [`validate`] maps the batch's columns onto a domain's basic
//! figures and applies the built-in checks (columns, types, member ids, finite
//! non-negative numbers, required figures, duplicates). The domain's own
//! cross-field rules are SQL and run in the engine on the validated rows.

mod csv_file;
mod decode;
pub mod number;
mod pages;
mod table;
mod validate;
mod xlsx_file;

pub use decode::{Format, XLSX_TYPE, decode};
pub use table::Decoded;
pub use validate::{Submitter, Upload, UploadRow, validate};

use serde::{Deserialize, Serialize};

/// One reason an upload is refused, naming where and which rule.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
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
pub const MAX_ERRORS: usize = 500;
