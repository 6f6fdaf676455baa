//! Where untrusted or heavy work runs: the DataFusion session with its
//! bounds (`session.rs`), analysts' SQL with its checks (`query.rs`), and
//! the worker processes that decode uploads and run that SQL
//! (`worker.rs`).

pub mod query;
pub mod session;
pub mod worker;
