//! The catalogue of domains, basic and key figures, size classes and plausibility
//! rules, read from data files.
//!
//! The catalogue is data, not code: [`Catalog::load`] reads `size_classes.toml`,
//! `domains/*.toml` and the key-figure SQL in `queries/` from a directory, so a ring
//! operator adds a domain by adding two files. [`Catalog::bundled`] is the catalogue
//! that ships with the service (the repository's `catalog/` and `queries/`), and
//! [`Catalog::write_bundled`] lays it out in a data directory.
//!
//! Loading runs in this order (`load.rs`): the files are read
//! ([`Catalog::load`] or [`Catalog::bundled`]), parsed and put together by
//! `assemble` (which fills the default messages of year-over-year rules with
//! `fill_yoy_messages`), and checked by `conventions::check` (`check_figures`
//! and `check_rules` per domain, then `check_size_classes`). The types are in
//! `model.rs`, member ids and kinds in `members.rs`, and the list of the
//! upload's built-in checks in `checks.rs`.

mod checks;
mod conventions;
mod load;
mod members;
mod model;
pub mod numbers;
pub mod register;
mod years;

pub use checks::{BUILTIN_CHECKS, BuiltinCheck};
pub use members::{LAENDER, MemberKind, land_of, validate_member_id};
pub use model::{
    BasicFigure, Catalog, CatalogError, Direction, Domain, EarlierDefinition, KeyFigure, Level,
    NoiseRole, Release, Rule, SizeClass, YoyRule,
};

/// The built-in group dimensions, in the order the catalogue lists them.
pub const GROUP_DIMENSIONS: [&str; 5] = ["all", "size_class", "land", "kind", "structure_type"];
