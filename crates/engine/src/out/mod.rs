//! The answers that leave the engine: comparisons and time series
//! (`compare.rs`), the statistics job that resolves a request and reads
//! the publication it answers from (`statistics.rs`), members' reports
//! (`report.rs`), tabular encodings (`export.rs`), and comparisons over
//! plain Parquet files for benchmarks (`offline.rs`).

pub mod compare;
pub mod export;
pub mod offline;
pub mod report;
pub mod statistics;
