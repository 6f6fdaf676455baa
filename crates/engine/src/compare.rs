//! Peer comparisons and time series: group the current key figures of a
//! (domain, year) by a dimension, and pass every group through
//! [`crate::disclosure::verdict`].

use std::collections::BTreeMap;
use std::sync::Arc;

use serde::Serialize;
use vergleichsring_catalog::{Catalog, Domain, LAENDER, MemberKind};
use vergleichsring_store::{CustomGroup, Member};

use crate::disclosure::{
    Audience, Policy, Reason, ReleasedStats, Verdict, Visibility, Withheld,
    passes_size_and_variety, round_3_significant, verdict,
};
pub use crate::grouping::Materialised;
use crate::grouping::{GroupData, assign, build_groups, cached};
use crate::snapshot::{Snapshot, YearData};
use crate::stats::{percentile_rank, rank};

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
}

impl Dimension {
    /// Parses a `group_by` value.
    pub fn parse(s: &str) -> Option<Dimension> {
        match s {
            "all" => Some(Dimension::All),
            "size_class" => Some(Dimension::SizeClass),
            "land" => Some(Dimension::Land),
            "kind" => Some(Dimension::Kind),
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
}

impl GroupBy {
    /// The `group_by` value.
    pub fn as_str(&self) -> &str {
        match self {
            GroupBy::Dimension(d) => d.as_str(),
            GroupBy::Custom(c) => &c.id,
        }
    }
}

/// A peer shown by name (visibility mode `named`).
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct Peer {
    /// The member.
    pub member_id: String,
    /// Its name.
    pub name: String,
    /// Its value.
    pub value: f64,
}

/// The requesting member's own position in its group.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct Own {
    /// The member.
    pub member_id: String,
    /// Its key-figure value (`null` when not computable).
    pub value: Option<f64>,
    /// Rank in the group, 1 = best; withheld while the group is suppressed.
    pub rank: Option<usize>,
    /// Percentile rank in the group; withheld while the group is suppressed.
    pub percentile_rank: Option<f64>,
}

/// One group of a comparison, after disclosure control.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct GroupResult {
    /// Group id, e.g. `GK4`, `05`, `landkreis`, `all`.
    pub group: String,
    /// Human-readable German label of the group.
    pub label: String,
    /// Members with a value.
    pub n: usize,
    /// Whether the statistics are withheld.
    pub suppressed: bool,
    /// Machine-readable reason for the suppression.
    pub reason: Option<&'static str>,
    /// English explanation of the suppression.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub message: Option<&'static str>,
    /// German explanation of the suppression.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub message_de: Option<&'static str>,
    /// The released statistics.
    pub stats: Option<ReleasedStats>,
    /// Statistics withheld from a released group, with reasons.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub withheld: Vec<Withheld>,
    /// The requesting member's position, only in its own group.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub own: Option<Own>,
    /// Visibility `pseudonymous`: the group's values, sorted, rounded to 3
    /// significant digits, without any name or pseudonym.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub distribution: Option<Vec<f64>>,
    /// Visibility `named`: the members of the group with their values.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub peers: Option<Vec<Peer>>,
}

/// The publication an answer comes from (rule 9).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct PublicationRef {
    /// Publication id, e.g. `library-2024-p2`.
    pub id: String,
    /// When it was published (RFC 3339, UTC).
    pub published_at: String,
}

/// A comparison of one key figure in one (domain, year) by one dimension.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct Comparison {
    /// Domain id.
    pub domain: String,
    /// Year.
    pub year: i32,
    /// Key figure id.
    pub figure: String,
    /// Dimension.
    pub group_by: String,
    /// Data version the statistics were computed from.
    pub data_version: String,
    /// The publication the statistics come from (every answer to a
    /// non-admin caller; admin reads the live state).
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    pub publication: Option<PublicationRef>,
    /// The groups, in catalogue order of their ids.
    pub groups: Vec<GroupResult>,
}

/// The group a member falls into in a dimension, with its label.
pub fn group_of(
    catalog: &Catalog,
    by: &GroupBy,
    member: &Member,
    population: Option<f64>,
) -> Option<(String, String)> {
    let dim = match by {
        GroupBy::Dimension(d) => *d,
        // Sorted and without duplicates (`Engine::create_group` and
        // `Engine::group_by` see to it): a binary search per member.
        GroupBy::Custom(c) => {
            return c
                .member_ids
                .binary_search(&member.member_id)
                .is_ok()
                .then(|| (c.id.clone(), c.name.clone()));
        }
    };
    match dim {
        Dimension::All => Some(("all".into(), "Alle Mitglieder".into())),
        Dimension::SizeClass => {
            let c = catalog.size_class(member.kind, population?)?;
            Some((c.id.clone(), c.label.clone()))
        }
        Dimension::Land => {
            let code = member.member_id.get(0..2)?;
            let name = LAENDER.iter().find(|(c, _)| *c == code)?.1;
            Some((code.to_string(), name.to_string()))
        }
        Dimension::Kind => {
            let label = match member.kind {
                MemberKind::KreisfreieStadt => "Kreisfreie Städte",
                MemberKind::KreisangehoerigeGemeinde => "Kreisangehörige Gemeinden",
                MemberKind::Landkreis => "Landkreise",
            };
            Some((member.kind.as_str().into(), label.into()))
        }
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

/// Everything needed to compute one comparison.
pub struct CompareInput<'a> {
    /// The catalogue.
    pub catalog: &'a Catalog,
    /// The domain.
    pub domain: &'a Domain,
    /// The domain's data.
    pub snapshot: &'a Snapshot,
    /// Registered members by id.
    pub members: &'a BTreeMap<String, Member>,
    /// Disclosure thresholds.
    pub policy: &'a Policy,
    /// The generation of the member list (see `Store::members_generation`):
    /// materialised groups are kept per generation, because a member's kind
    /// decides its groups.
    pub members_generation: u64,
}

/// One group while a comparison is being built.
struct Building<'g> {
    g: &'g GroupData,
    verdict: Verdict,
    holds_own: bool,
}

/// Computes a comparison for `figure` (an index into the domain's key
/// figures) in `year`, for `audience`, with `own` the member whose position is
/// shown.
pub fn compare(
    input: &CompareInput<'_>,
    year: i32,
    figure: usize,
    by: &GroupBy,
    audience: Audience,
    own: Option<&str>,
) -> Comparison {
    let domain = input.domain;
    let policy = input.policy;
    let empty = YearData::default();
    let data = input.snapshot.year(year).unwrap_or(&empty);
    let groups: Arc<Vec<GroupData>> = match by {
        GroupBy::Dimension(d) => {
            let m = &data.materialised;
            cached(&m.groups, (figure, *d, input.members_generation), || {
                let a = cached(&m.assignments, (*d, input.members_generation), || {
                    assign(input, data, by)
                });
                build_groups(data, &a, figure)
            })
        }
        GroupBy::Custom(_) => Arc::new(build_groups(data, &assign(input, data, by), figure)),
    };
    // The requester's group and value: only a registered member with a
    // current row that the grouping places in a group has a position.
    let pop_idx = domain
        .basic_figures
        .iter()
        .position(|f| f.id == "population");
    let own_group: Option<String> = own.and_then(|m| {
        let member = input.members.get(m)?;
        let row = input.snapshot.current_row(year, m)?;
        let population = pop_idx.and_then(|i| row.basic.get(i));
        group_of(input.catalog, by, member, population).map(|(gid, _)| gid)
    });
    let own_value: Option<f64> = own_group.as_ref().and_then(|_| {
        own.and_then(|m| input.snapshot.key_of(year, m))
            .and_then(|k| k.values.get(figure))
    });
    let mut built: Vec<Building<'_>> = groups
        .iter()
        .map(|g| Building {
            g,
            verdict: Verdict::suppressed(0, Reason::BelowThreshold),
            holds_own: own_group.as_deref() == Some(g.id.as_str()),
        })
        .collect();
    // The requester's own value, which it knows, where it counts: a
    // member's own group.
    let known = own_value.filter(|_| audience == Audience::Member);
    for b in &mut built {
        let own = known.filter(|_| b.holds_own);
        b.verdict = verdict(policy, audience, &b.g.values, own);
    }
    if matches!(by, GroupBy::Dimension(d) if *d != Dimension::All) {
        protect_complement(policy, audience, &mut built, known);
    }
    let direction = domain.key_figures[figure].direction;
    let out = built
        .into_iter()
        .map(|b| {
            let r = b.verdict;
            let released = r.stats.is_some();
            let own = match (b.holds_own, own) {
                (true, Some(member_id)) => Some(Own {
                    member_id: member_id.to_string(),
                    value: own_value,
                    rank: own_value
                        .filter(|_| released)
                        .map(|v| rank(&b.g.values.values, v, direction)),
                    percentile_rank: own_value
                        .filter(|_| released)
                        .and_then(|v| percentile_rank(&b.g.values.values, v)),
                }),
                _ => None,
            };
            // Rule 8: the anonymous distribution only for built-in groups
            // (two custom groups' distributions differing by one member
            // would show that member's value); names with values only for
            // members among themselves (and admin), never for analysts or
            // consultants.
            let sees_values = matches!(
                audience,
                Audience::Member | Audience::Analyst | Audience::Admin
            );
            let distribution = (released
                && sees_values
                && matches!(by, GroupBy::Dimension(_))
                && policy.visibility == Visibility::Pseudonymous)
                .then(|| {
                    let mut v: Vec<f64> =
                        b.g.values
                            .values
                            .iter()
                            .map(|x| round_3_significant(*x))
                            .collect();
                    v.sort_by(f64::total_cmp);
                    v
                });
            let peers = (matches!(audience, Audience::Member | Audience::Admin)
                && policy.visibility == Visibility::Named)
                .then(|| {
                    let mut p: Vec<Peer> =
                        b.g.members
                            .iter()
                            .filter_map(|(i, v)| b.g.ids.get(*i as usize).map(|id| (id, v)))
                            .map(|(id, v)| Peer {
                                member_id: id.clone(),
                                name: input
                                    .members
                                    .get(id)
                                    .map(|m| m.name.clone())
                                    .unwrap_or_default(),
                                value: *v,
                            })
                            .collect();
                    p.sort_by(|a, b| b.value.total_cmp(&a.value));
                    p
                });
            GroupResult {
                group: b.g.id.clone(),
                label: b.g.label.clone(),
                n: r.n,
                suppressed: r.stats.is_none(),
                reason: r.reason.map(Reason::code),
                message: r.reason.map(Reason::message_en),
                message_de: r.reason.map(Reason::message_de),
                stats: r.stats,
                withheld: r.withheld,
                own,
                distribution,
                peers,
            }
        })
        .collect();
    Comparison {
        domain: domain.id.clone(),
        year,
        figure: domain.key_figures[figure].id.clone(),
        group_by: by.as_str().to_string(),
        data_version: data_version(input.snapshot),
        publication: None,
        groups: out,
    }
}

/// Rule 5: when the whole (all groups of the dimension together) would be
/// released, the suppressed groups taken together must pass rules 1 and 4,
/// or their values could be recovered by subtraction; otherwise suppress
/// further groups, smallest first, until they do.
fn protect_complement(
    policy: &Policy,
    audience: Audience,
    built: &mut [Building<'_>],
    known: Option<f64>,
) {
    if audience == Audience::Admin {
        return;
    }
    let all: Vec<f64> = built
        .iter()
        .flat_map(|b| b.g.values.values.iter().copied())
        .collect();
    if !passes_size_and_variety(policy, audience, &all, known) {
        return;
    }
    loop {
        let hidden: Vec<&Building<'_>> = built
            .iter()
            .filter(|b| b.verdict.stats.is_none() && !b.g.values.values.is_empty())
            .collect();
        if hidden.is_empty() {
            return;
        }
        let union: Vec<f64> = hidden
            .iter()
            .flat_map(|b| b.g.values.values.iter().copied())
            .collect();
        let inside = known.filter(|_| hidden.iter().any(|b| b.holds_own));
        if passes_size_and_variety(policy, audience, &union, inside) {
            return;
        }
        let Some(next) = built
            .iter_mut()
            .filter(|b| b.verdict.stats.is_some())
            .min_by(|a, b| {
                a.g.values
                    .values
                    .len()
                    .cmp(&b.g.values.values.len())
                    .then(a.g.id.cmp(&b.g.id))
            })
        else {
            return;
        };
        next.verdict = Verdict::suppressed(next.g.values.values.len(), Reason::Complement);
    }
}

/// The data version of a snapshot as the API shows it.
pub fn data_version(s: &Snapshot) -> String {
    vergleichsring_store::DataVersion::after(s.version).to_string()
}

/// One year of a time series.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct Point {
    /// The year.
    pub year: i32,
    /// The group (the member's group, or each group for analysts).
    pub group: Option<String>,
    /// The member's own value.
    pub own: Option<f64>,
    /// Members with a value in the group.
    pub n: usize,
    /// Whether the statistics are withheld.
    pub suppressed: bool,
    /// Machine-readable reason for the suppression.
    pub reason: Option<&'static str>,
    /// English explanation of the suppression.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub message: Option<&'static str>,
    /// German explanation of the suppression.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub message_de: Option<&'static str>,
    /// The released statistics.
    pub stats: Option<ReleasedStats>,
    /// The publication the year's statistics come from (non-admin callers).
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    pub publication: Option<PublicationRef>,
}

impl Point {
    /// A year without statistics, for a reason.
    pub(crate) fn withheld(year: i32, group: Option<String>, reason: &'static str) -> Point {
        let known = [
            Reason::BelowThreshold,
            Reason::AllEqual,
            Reason::GiveToGet,
            Reason::Complement,
            Reason::Differencing,
            Reason::Audit,
        ]
        .into_iter()
        .find(|r| r.code() == reason);
        let (message, message_de) = match known {
            Some(r) => (r.message_en(), r.message_de()),
            None if reason == "not_published" => (
                "These figures are not in a publication yet; statistics for them appear with the next publication of the year.",
                "Diese Zahlen sind noch in keiner Veröffentlichung; Statistiken dazu erscheinen mit der nächsten Veröffentlichung des Jahres.",
            ),
            None => (
                "The member has no figures for this year.",
                "Für dieses Jahr liegen keine Zahlen des Mitglieds vor.",
            ),
        };
        Point {
            year,
            group,
            own: None,
            n: 0,
            suppressed: true,
            reason: Some(reason),
            message: Some(message),
            message_de: Some(message_de),
            stats: None,
            publication: None,
        }
    }

    /// The points of one year's comparison: the requester's group, or every
    /// group when no member is asked about.
    pub(crate) fn of_comparison(c: Comparison, member: Option<&str>) -> Vec<Point> {
        let year = c.year;
        let publication = c.publication;
        c.groups
            .into_iter()
            .filter(|g| member.is_none() || g.own.is_some())
            .map(|g| Point {
                year,
                group: Some(g.group),
                own: g.own.and_then(|o| o.value),
                n: g.n,
                suppressed: g.suppressed,
                reason: g.reason,
                message: g.message,
                message_de: g.message_de,
                stats: g.stats,
                publication: publication.clone(),
            })
            .collect()
    }
}

/// A time series of one key figure.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct Timeseries {
    /// Domain id.
    pub domain: String,
    /// Key figure id.
    pub figure: String,
    /// Dimension.
    pub group_by: String,
    /// The member, if any.
    pub member_id: Option<String>,
    /// Data version.
    pub data_version: String,
    /// Points by year, then group.
    pub points: Vec<Point>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::disclosure::{Visibility, passes_size_and_variety};
    use crate::snapshot::{KeyRow, StoredRow};
    use proptest::prelude::*;
    use vergleichsring_catalog::Direction;

    /// The stored row of member `id`, the `i`-th of a one-year test ring.
    fn stored_row(i: usize, id: &str, basic: Vec<Option<f64>>) -> StoredRow {
        StoredRow {
            meta: std::sync::Arc::new(crate::snapshot::SubmissionMeta {
                version: 0,
                submission_id: "s".into(),
                submitted_at: String::new(),
                submitted_by: String::new(),
                upload_sha256: None,
                upload_format: None,
            }),
            row: i as u32 + 1,
            member_id: id.to_string(),
            year: 2024,
            warnings: serde_json::Value::Array(vec![]),
            basic: basic.into(),
        }
    }

    /// A snapshot of one year where member i has `values[i]` as its first
    /// key figure (media_per_capita) and a population of 120,000 (GK3).
    fn ring(values: &[Option<f64>]) -> (Snapshot, BTreeMap<String, Member>) {
        let mut rows = Vec::new();
        let mut keys = std::collections::HashMap::new();
        let mut members = BTreeMap::new();
        for (i, v) in values.iter().enumerate() {
            let id = format!("05{:06}", i + 1);
            members.insert(
                id.clone(),
                Member {
                    member_id: id.clone(),
                    name: format!("M{i}"),
                    kind: MemberKind::KreisfreieStadt,
                },
            );
            rows.push(stored_row(i, &id, vec![Some(120_000.0); 17]));
            keys.insert(
                (2024, id),
                KeyRow {
                    values: vec![*v; 15].into(),
                    nums: vec![v.map(|x| x * 2.0); 15].into(),
                    dens: vec![v.map(|_| 2.0); 15].into(),
                },
            );
        }
        (Snapshot::from_parts(Some(0), rows, keys), members)
    }

    /// Type-7 quantile written from its definition, independently of `stats`.
    fn naive_quantile(sorted: &[f64], p: f64) -> f64 {
        let h = (sorted.len() as f64 - 1.0) * p + 1.0;
        let k = h.floor() as usize;
        let lo = sorted[k - 1];
        let hi = *sorted.get(k).unwrap_or(&lo);
        lo + (h - h.floor()) * (hi - lo)
    }

    fn close(a: Option<f64>, b: f64) -> bool {
        a.is_some_and(|a| (a - b).abs() <= 1e-9 * (1.0 + b.abs()))
    }

    /// A ring of members spread over kinds, Länder and size classes; member
    /// i has key value `values[i]` (for every key figure).
    fn mixed_ring(spec: &[(u8, u8, u32, Option<f64>)]) -> (Snapshot, BTreeMap<String, Member>) {
        let mut rows = Vec::new();
        let mut keys = std::collections::HashMap::new();
        let mut members = BTreeMap::new();
        let lands = ["05", "09", "14"];
        for (i, (kind, land, population, v)) in spec.iter().enumerate() {
            let kind = match kind % 3 {
                0 => MemberKind::KreisfreieStadt,
                1 => MemberKind::KreisangehoerigeGemeinde,
                _ => MemberKind::Landkreis,
            };
            let id = if kind == MemberKind::Landkreis {
                format!("{}{:03}", lands[*land as usize % 3], i + 1)
            } else {
                format!("{}{:06}", lands[*land as usize % 3], i + 1)
            };
            members.insert(
                id.clone(),
                Member {
                    member_id: id.clone(),
                    name: format!("M{i}"),
                    kind,
                },
            );
            let mut basic = vec![Some(1.0); 17];
            basic[0] = Some(f64::from(*population));
            rows.push(stored_row(i, &id, basic));
            keys.insert(
                (2024, id),
                KeyRow {
                    values: vec![*v; 15].into(),
                    nums: vec![v.map(|x| x * f64::from(*population)); 15].into(),
                    dens: vec![v.map(|_| f64::from(*population)); 15].into(),
                },
            );
        }
        (Snapshot::from_parts(Some(0), rows, keys), members)
    }

    fn all_numbers(v: &serde_json::Value, out: &mut Vec<f64>) {
        match v {
            serde_json::Value::Number(n) => out.extend(n.as_f64()),
            serde_json::Value::Array(a) => a.iter().for_each(|x| all_numbers(x, out)),
            serde_json::Value::Object(o) => o.values().for_each(|x| all_numbers(x, out)),
            _ => {}
        }
    }

    proptest! {
        /// Over random rings, dimensions, audiences, requesters and
        /// visibility modes: thresholds, min/max, rule 3, rule 5 and no exact
        /// value of another member outside `named` mode.
        #[test]
        fn disclosure_holds_over_random_rings(
            spec in prop::collection::vec(
                (0u8..3, 0u8..3, prop::sample::select(vec![5_000u32, 30_000, 70_000, 120_000, 300_000, 500_000]),
                 prop_oneof![1 => Just(None), 6 => (1u32..400).prop_map(|j| Some(1.0 + 0.123_457 * f64::from(j)))]),
                1..45,
            ),
            requester in any::<prop::sample::Index>(),
            audience in prop_oneof![Just(Audience::Member), Just(Audience::Analyst), Just(Audience::Consultant)],
            dim in prop_oneof![Just(Dimension::All), Just(Dimension::SizeClass), Just(Dimension::Land), Just(Dimension::Kind)],
            visibility in prop_oneof![Just(Visibility::AggregateOnly), Just(Visibility::Pseudonymous), Just(Visibility::Named)],
        ) {
            let catalog = Catalog::bundled().unwrap();
            let domain = catalog.domain("library").unwrap();
            let (snapshot, members) = mixed_ring(&spec);
            let policy = Policy { visibility, ..Policy::default() };
            let input = CompareInput { catalog: &catalog, domain, snapshot: &snapshot, members: &members, policy: &policy, members_generation: 0 };
            let ids: Vec<&String> = members.keys().collect();
            let own_id = ids[requester.index(ids.len())].clone();
            let own = (audience != Audience::Analyst).then_some(own_id.as_str());
            let c = compare(&input, 2024, 0, &GroupBy::Dimension(dim), audience, own);
            let own_value = own.and_then(|o| snapshot.key_of(2024, o).and_then(|k| k.values.get(0)));
            let year = snapshot.year(2024).unwrap();
            let threshold = policy.threshold_for(audience);
            let mut hidden: Vec<f64> = Vec::new();
            let mut hidden_has_own = None;
            let mut everything: Vec<f64> = Vec::new();
            for g in &c.groups {
                let in_group: Vec<&KeyRow> = year
                    .current_rows()
                    .filter(|(m, row)| {
                        group_of(&catalog, &GroupBy::Dimension(dim), &members[*m], row.basic.get(0))
                            .map(|x| x.0)
                            == Some(g.group.clone())
                    })
                    .map(|(m, _)| &year.key[m])
                    .filter(|k| k.values.get(0).is_some())
                    .collect();
                let values: Vec<f64> = in_group.iter().filter_map(|k| k.values.get(0)).collect();
                let nums: Vec<f64> = in_group.iter().filter_map(|k| k.nums.get(0)).collect();
                let dens: Vec<f64> = in_group.iter().filter_map(|k| k.dens.get(0)).collect();
                prop_assert_eq!(values.len(), g.n);
                let requester_inside = audience == Audience::Member && g.own.is_some() && own_value.is_some();
                let counted = if audience == Audience::Consultant { g.n } else { g.n - usize::from(requester_inside) };
                match &g.stats {
                    Some(s) => {
                        prop_assert!(counted >= threshold);
                        prop_assert!(s.min.is_none() && s.max.is_none());
                        if s.weighted.is_some() {
                            prop_assert_eq!(crate::disclosure::dominance_failure(&nums, &policy), None);
                            prop_assert_eq!(crate::disclosure::dominance_failure(&dens, &policy), None);
                        }
                    }
                    None => {
                        hidden.extend(&values);
                        if requester_inside {
                            hidden_has_own = own_value;
                        }
                    }
                }
                let json = serde_json::to_value(g).unwrap();
                for key in ["distribution", "peers", "own"] {
                    all_numbers(&json[key], &mut everything);
                }
            }
            // Rule 5: if the whole is released, the hidden groups together pass rules 1 and 4.
            let all: Vec<f64> = year.key.values().filter_map(|k| k.values.get(0)).collect();
            let all_released = passes_size_and_variety(&policy, audience, &all, own_value.filter(|_| audience == Audience::Member));
            if dim != Dimension::All && all_released && !hidden.is_empty() {
                prop_assert!(passes_size_and_variety(&policy, audience, &hidden, hidden_has_own));
            }
            // Rule 7 and 8: no exact value of another member unless named.
            if visibility != Visibility::Named {
                for (m, k) in &year.key {
                    if Some(m.as_str()) == own {
                        continue;
                    }
                    // A value equal to the requester's own may show as its own.
                    if let Some(v) = k.values.get(0).filter(|v| Some(*v) != own_value) {
                        prop_assert!(!everything.contains(&v), "exact value {} of {} shown", v, m);
                    }
                }
            }
        }
    }

    proptest! {
        #[test]
        fn comparisons_match_a_naive_computation(
            values in prop::collection::vec(
                prop_oneof![
                    1 => Just(None),
                    2 => (0u8..4).prop_map(|x| Some(f64::from(x))),
                    4 => (0.0f64..50.0).prop_map(Some),
                ],
                1..30,
            ),
            requester in any::<prop::sample::Index>(),
            as_member in any::<bool>(),
        ) {
            let catalog = Catalog::bundled().unwrap();
            let domain = catalog.domain("library").unwrap();
            let (snapshot, members) = ring(&values);
            let policy = Policy::default();
            let input = CompareInput { catalog: &catalog, domain, snapshot: &snapshot, members: &members, policy: &policy, members_generation: 0 };
            let r = requester.index(values.len());
            let own_id = format!("05{:06}", r + 1);
            let (audience, own) = if as_member {
                (Audience::Member, Some(own_id.as_str()))
            } else {
                (Audience::Analyst, None)
            };
            let c = compare(&input, 2024, 0, &GroupBy::Dimension(Dimension::All), audience, own);
            prop_assert_eq!(c.groups.len(), 1);
            let g = &c.groups[0];
            let mut present: Vec<f64> = values.iter().flatten().copied().collect();
            present.sort_by(|a, b| a.partial_cmp(b).unwrap());
            prop_assert_eq!(g.n, present.len());
            let own_value = if as_member { values[r] } else { None };
            let peers = present.len() - usize::from(own_value.is_some());
            let all_equal = present.windows(2).all(|w| w[0] == w[1]);
            match &g.stats {
                None => prop_assert!(peers < 5 || all_equal),
                Some(s) => {
                    prop_assert!(peers >= 5 && !all_equal);
                    let mean = present.iter().sum::<f64>() / present.len() as f64;
                    prop_assert!(close(s.mean, mean));
                    prop_assert!(close(s.median, naive_quantile(&present, 0.5)));
                    prop_assert_eq!(s.p25.is_some(), peers >= 8);
                    prop_assert_eq!(s.p10.is_some(), peers >= 20);
                    if peers >= 8 {
                        prop_assert!(close(s.p75, naive_quantile(&present, 0.75)));
                    }
                    if peers >= 20 {
                        prop_assert!(close(s.p90, naive_quantile(&present, 0.9)));
                    }
                    // Numerators are twice the value over a denominator of 2;
                    // the ratio is withheld exactly when rule 3 fails.
                    let nums: Vec<f64> = present.iter().map(|v| v * 2.0).collect();
                    match crate::disclosure::dominance_failure(&nums, &policy) {
                        None => prop_assert!(close(s.weighted, mean)),
                        Some(_) => prop_assert!(s.weighted.is_none()),
                    }
                    prop_assert!(s.min.is_none() && s.max.is_none());
                }
            }
            if as_member {
                let o = g.own.as_ref().unwrap();
                prop_assert_eq!(o.value, values[r]);
                match (values[r], &g.stats) {
                    (Some(v), Some(_)) => {
                        let better = present.iter().filter(|x| **x > v).count();
                        prop_assert_eq!(o.rank, Some(better + 1));
                        let below = present.iter().filter(|x| **x < v).count() as f64;
                        let equal = present.iter().filter(|x| **x == v).count() as f64;
                        prop_assert!(close(o.percentile_rank, 100.0 * (below + equal / 2.0) / present.len() as f64));
                    }
                    _ => prop_assert!(o.rank.is_none() && o.percentile_rank.is_none()),
                }
            } else {
                prop_assert!(g.own.is_none());
            }
            prop_assert_eq!(domain.key_figures[0].direction, Direction::Higher);
        }
    }
}
