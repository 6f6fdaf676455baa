//! The read layer: each domain's data as of a data version
//! (`snapshot.rs`, `year.rs` with its materialised groups in
//! `materialised.rs`), read from the Delta table (`load.rs`), kept current and loaded on demand
//! (`lake.rs`) into one memory budget (`memory.rs`); past states named by
//! `as_of` (`as_of.rs`); and a member's own figures and submissions
//! (`records.rs`). Nothing here applies disclosure control: what leaves
//! for anyone but the member itself goes through `disclose/`.

pub mod as_of;
pub mod lake;
pub mod load;
pub mod materialised;
pub mod memory;
pub mod records;
pub mod snapshot;
pub mod year;
