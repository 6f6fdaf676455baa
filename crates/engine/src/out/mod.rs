//! The answers that leave the engine: a request resolved once for its
//! handler (`answer.rs`), comparisons and time series
//! (`compare.rs`), the statistics job that resolves a request and reads
//! the publication it answers from (`statistics.rs`), members' reports
//! (`report.rs`), structural neighbours and why (`neighbours.rs`),
//! tabular encodings (`export.rs`), and comparisons over
//! plain Parquet files for benchmarks (`offline.rs`).

pub mod answer;
pub mod compare;
pub mod export;
pub mod neighbours;
pub mod offline;
pub mod report;
pub mod statistics;
