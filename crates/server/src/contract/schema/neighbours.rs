//! Mirrors of the structural neighbours' answers
//! (`crates/engine/src/out/neighbours.rs`).

use super::*;

// Mirrors `Neighbour` of `crates/engine/src/out/neighbours.rs`.
/// One neighbour, named.
#[derive(Serialize, ToSchema)]
pub struct Neighbour {
    /// Its regional key.
    pub member_id: String,
    /// Its name.
    pub name: String,
    /// Its kind.
    pub kind: String,
    /// Distance over the standardised, weighted variables.
    pub distance: f64,
    /// Per variable (in `variables` order) its share of the squared
    /// distance; the shares add up to 1 (all 0 for an identical member).
    pub shares: Vec<f64>,
    /// Per variable its value (population and density as inhabitants and
    /// inhabitants per km², not as logarithms).
    pub values: Vec<f64>,
}

// Mirrors `VariableRange` of `crates/engine/src/out/neighbours.rs`.
/// One variable across a neighbour group: its range and the member's own
/// value.
#[derive(Serialize, ToSchema)]
pub struct VariableRange {
    /// The variable.
    pub variable: String,
    /// Its weight.
    pub weight: f64,
    /// The member's own value.
    pub own: f64,
    /// The lowest among the neighbours, rounded down to two significant
    /// digits (an exact end would name a neighbour by its public figure).
    pub min: f64,
    /// The highest among the neighbours, rounded up to two significant
    /// digits.
    pub max: f64,
    /// Its mean share of the squared distances to the neighbours: how much
    /// the neighbours differ from the member in it (in tenths where names
    /// are not shown).
    pub mean_share: f64,
}

// Mirrors `Profile` of `crates/engine/src/out/neighbours.rs`.
/// A neighbour group described without names.
#[derive(Serialize, ToSchema)]
pub struct Profile {
    /// Neighbours (without the member).
    pub n: usize,
    /// The largest distance among them (null where names are not shown:
    /// it would name the farthest neighbour).
    pub max_distance: f64,
    /// Each variable's range.
    pub variables: Vec<VariableRange>,
    /// The Länder represented (two-digit codes).
    pub laender: Vec<String>,
    /// The kinds represented.
    pub kinds: Vec<String>,
}

// Mirrors `Neighbours` of `crates/engine/src/out/neighbours.rs`.
/// A member's structural neighbours in a (domain, year).
#[derive(Serialize, ToSchema)]
pub struct Neighbours {
    /// Domain id.
    pub domain: String,
    /// Year.
    pub year: i32,
    /// The member whose neighbours these are.
    pub member_id: String,
    /// The group id of its neighbour group in comparisons.
    pub group: String,
    /// Whether a released group stands in for the member's own nearest
    /// (rule 6 forbids releasing two groups that differ by a few
    /// members): the neighbours listed are that group's.
    pub stand_in: bool,
    /// Which group stands in: a built-in `dimension:group`, or the member
    /// whose neighbour group it is (that only where names are shown).
    pub shared_with: Option<String>,
    /// How many neighbours each member has.
    pub k: usize,
    /// The variables, in order.
    pub variables: Vec<String>,
    /// The publication read (none for admin's live state).
    pub publication: Option<PublicationRef>,
    /// The group's structural profile, for everyone.
    pub profile: Profile,
    /// The neighbours by name, nearest first: for admin, analysts, and
    /// members and consultants of a ring in `named` mode; otherwise null.
    pub neighbours: Option<Vec<Neighbour>>,
    /// The year of the municipality register the structure comes from.
    pub register_year: i32,
    /// The register's licence requires this attribution.
    pub attribution: &'static str,
}

// Mirrors `NeighbourPair` of `crates/engine/src/out/neighbours.rs`.
/// One row of every member's neighbours.
#[derive(Serialize, ToSchema)]
pub struct NeighbourPair {
    /// The member.
    pub member_id: String,
    /// 1 for its nearest neighbour.
    pub rank: usize,
    /// The neighbour.
    pub neighbour_id: String,
    /// Their distance.
    pub distance: f64,
}
