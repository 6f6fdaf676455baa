//! The schemas of the OpenAPI document for the answer types of the other
//! crates. utoipa lives only in the server (ARCHITECTURE.md, checked by
//! `.ci/architecture.py`), so the catalogue, ingest, the store and the
//! engine do not derive `ToSchema`; each of their answer types has a
//! mirror here with the same name, fields, serde attributes and doc
//! comments. The mirrors are never built: the handlers serialise the real
//! types, and `.ci/schemas.py` fails when a mirror's fields or variants
//! drift from the type it describes.
#![allow(dead_code)]

use std::collections::BTreeMap;

use serde::Serialize;
use utoipa::ToSchema;

mod catalog;
mod engine;
mod ingest;
mod neighbours;
mod statistics;
mod store;

pub use catalog::*;
pub use engine::*;
pub use ingest::*;
pub use neighbours::*;
pub use statistics::*;
pub use store::*;
