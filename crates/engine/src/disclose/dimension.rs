//! How members fall into groups: the built-in dimensions, custom groups,
//! and the group a member belongs to.

use vergleichsring_catalog::{Catalog, LAENDER, MemberKind};
use vergleichsring_store::{CustomGroup, Member};

/// A built-in group dimension.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Dimension {
    /// Every member with a value.
    All,
    /// KGSt size class from the population of that domain and year.
    SizeClass,
    /// The Land (first two digits of the member id).
    Land,
    /// The member's kind.
    Kind,
    /// The member's structural type in that domain and year
    /// (`disclose/types.rs`).
    StructureType,
}

impl Dimension {
    /// Parses a `group_by` value.
    pub fn parse(s: &str) -> Option<Dimension> {
        match s {
            "all" => Some(Dimension::All),
            "size_class" => Some(Dimension::SizeClass),
            "land" => Some(Dimension::Land),
            "kind" => Some(Dimension::Kind),
            "structure_type" => Some(Dimension::StructureType),
            _ => None,
        }
    }

    /// The API name.
    pub fn as_str(self) -> &'static str {
        match self {
            Dimension::All => "all",
            Dimension::SizeClass => "size_class",
            Dimension::Land => "land",
            Dimension::Kind => "kind",
            Dimension::StructureType => "structure_type",
        }
    }
}

/// What a comparison groups by: a built-in dimension or a custom group.
#[derive(Debug, Clone, PartialEq)]
pub enum GroupBy {
    /// A built-in dimension.
    Dimension(Dimension),
    /// A custom group (one group).
    Custom(CustomGroup),
    /// The structural neighbours of a member with the member itself (one
    /// group, `disclose/neighbours.rs`): resolved into a custom group per
    /// (domain, year) from the data the answer reads.
    Neighbours(String),
}

impl GroupBy {
    /// The `group_by` value.
    pub fn as_str(&self) -> &str {
        match self {
            GroupBy::Dimension(d) => d.as_str(),
            GroupBy::Custom(c) => &c.id,
            GroupBy::Neighbours(_) => NEIGHBOURS,
        }
    }
}

/// The `group_by` value of structural neighbours.
pub const NEIGHBOURS: &str = "neighbours";

/// The group a member falls into in a dimension, with its label.
pub fn group_of(
    catalog: &Catalog,
    by: &GroupBy,
    member: &Member,
    population: Option<f64>,
) -> Option<(String, String)> {
    group_ref(catalog, by, member, population)
        .map(|(id, label)| (id.to_string(), label.to_string()))
}

/// [`group_of`] without copying: the id and label are borrowed from the
/// catalogue, the group definition or the member (grouping a year calls it
/// for every member and dimension).
pub(crate) fn group_ref<'a>(
    catalog: &'a Catalog,
    by: &'a GroupBy,
    member: &'a Member,
    population: Option<f64>,
) -> Option<(&'a str, &'a str)> {
    let dim = match by {
        GroupBy::Dimension(d) => *d,
        // Sorted and without duplicates (`Engine::create_group` and
        // `Engine::group_by` see to it): a binary search per member.
        GroupBy::Custom(c) => {
            return c
                .member_ids
                .binary_search(&member.member_id)
                .is_ok()
                .then_some((c.id.as_str(), c.name.as_str()));
        }
        // Resolved into a custom group before any grouping.
        GroupBy::Neighbours(_) => return None,
    };
    match dim {
        Dimension::All => Some(("all", "Alle Mitglieder")),
        Dimension::SizeClass => {
            let c = catalog.size_class(member.kind, population?)?;
            Some((c.id.as_str(), c.label.as_str()))
        }
        Dimension::Land => {
            let code = member.member_id.get(0..2)?;
            let name = LAENDER.iter().find(|(c, _)| *c == code)?.1;
            Some((code, name))
        }
        Dimension::Kind => {
            let label = match member.kind {
                MemberKind::KreisfreieStadt => "Kreisfreie Städte",
                MemberKind::KreisangehoerigeGemeinde => "Kreisangehörige Gemeinden",
                MemberKind::Landkreis => "Landkreise",
            };
            Some((member.kind.as_str(), label))
        }
        // A type depends on the whole year's members: grouped with all of
        // them at once (`grouping::assign`), never one by one.
        Dimension::StructureType => None,
    }
}

/// Orders group ids: size classes in catalogue order, the rest alphabetically.
pub(crate) fn order_key(catalog: &Catalog, by: &GroupBy, id: &str) -> (usize, String) {
    match by {
        GroupBy::Dimension(Dimension::SizeClass) => (
            catalog
                .size_classes
                .iter()
                .position(|c| c.id == id)
                .unwrap_or(usize::MAX),
            id.to_string(),
        ),
        _ => (0, id.to_string()),
    }
}
