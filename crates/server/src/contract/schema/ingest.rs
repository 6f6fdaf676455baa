//! Mirrors of the answer types of ingest (`vergleichsring_ingest`) for the
//! OpenAPI document: they only describe, never carry, data, so that the
//! crate stays free of the HTTP contract. `.ci/schemas.py` checks that each
//! has the doc comments, serde attributes, fields and variants of the type
//! it mirrors; `routes/tests.rs` checks what the real types serialise to
//! against the document.

use super::*;

// Mirrors `RowError` of `crates/ingest/src/lib.rs`.
/// One reason an upload is refused, naming where and which rule.
#[derive(Serialize, ToSchema)]
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
