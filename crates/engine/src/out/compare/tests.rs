//! Unit tests of `compare.rs`.
use std::collections::BTreeMap;

use vergleichsring_catalog::{Catalog, MemberKind};
use vergleichsring_store::Member;

use super::*;
use crate::disclose::disclosure::{Visibility, passes_size_and_variety};
use crate::read::snapshot::{KeyRow, StoredRow};
use proptest::prelude::*;
use vergleichsring_catalog::Direction;

/// The stored row of member `id`, the `i`-th of a one-year test ring.
fn stored_row(i: usize, id: &str, basic: Vec<Option<f64>>) -> StoredRow {
    StoredRow {
        meta: std::sync::Arc::new(crate::read::snapshot::SubmissionMeta {
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
                structure: None,
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
                structure: None,
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
        let input = CompareInput { catalog: &catalog, domain, snapshot: &snapshot, members: &members, policy: &policy, members_generation: 0, noise: None , neighbours: crate::disclose::neighbours::NeighbourSettings::shared_default()};
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
            let in_group: Vec<KeyRow> = year
                .current_rows()
                .filter(|(m, row)| {
                    group_of(&catalog, &GroupBy::Dimension(dim), &members[*m], row.basic.get(0))
                        .map(|x| x.0)
                        == Some(g.group.clone())
                })
                .filter_map(|(m, _)| year.key_of(m))
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
                        prop_assert_eq!(crate::disclose::disclosure::dominance_failure(&nums, &policy), None);
                        prop_assert_eq!(crate::disclose::disclosure::dominance_failure(&dens, &policy), None);
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
        // Rule 5: if the whole is disclosed, the hidden groups together pass rules 1 and 4.
        let all: Vec<f64> = year.keys().filter_map(|(_, k)| k.values.get(0)).collect();
        let all_released = passes_size_and_variety(&policy, audience, &all, own_value.filter(|_| audience == Audience::Member));
        if dim != Dimension::All && all_released && !hidden.is_empty() {
            prop_assert!(passes_size_and_variety(&policy, audience, &hidden, hidden_has_own));
        }
        // Rule 7 and 8: no exact value of another member unless named.
        if visibility != Visibility::Named {
            for (m, k) in year.keys() {
                if Some(m) == own {
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
        let input = CompareInput { catalog: &catalog, domain, snapshot: &snapshot, members: &members, policy: &policy, members_generation: 0, noise: None , neighbours: crate::disclose::neighbours::NeighbourSettings::shared_default()};
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
                match crate::disclose::disclosure::dominance_failure(&nums, &policy) {
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
