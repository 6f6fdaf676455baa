//! The disclosure layer: how members fall into groups (`dimension.rs`,
//! `grouping.rs`), the statistics of a group (`summary.rs`), the rules
//! every released statistic passes (`disclosure.rs`; rule 6 in
//! `differencing.rs`), the noise (`noise.rs`), and the publications with
//! their ledger and audit (`publication/`), the one door every statistic
//! for a non-admin caller passes.

pub mod differencing;
pub mod dimension;
pub mod disclosure;
pub mod grouping;
pub mod neighbours;
pub mod noise;
#[cfg(test)]
mod noise_catalog_tests;
pub mod publication;
pub mod summary;
pub mod types;
