//! Unit tests of `disclosure.rs`.
use super::*;
use proptest::prelude::*;

/// The default policy of a ring that perturbs nothing: rules 3 and 4 on
/// true values, with their precise reasons.
fn exact() -> Policy {
    Policy {
        noise_min: 0.0,
        noise_max: 0.0,
        ..Policy::default()
    }
}

fn group(values: &[f64]) -> GroupValues {
    GroupValues {
        values: values.to_vec(),
        nums: values.to_vec(),
        dens: vec![1.0; values.len()],
    }
}

#[test]
fn dominance_and_p_percent_follow_acro() {
    let p = exact();
    assert_eq!(dominance_failure(&[10.0; 6], &p), None);
    // Two contributors hold 95 %.
    assert_eq!(
        dominance_failure(&[50.0, 45.0, 1.0, 1.0, 1.0, 2.0], &p),
        Some("dominance")
    );
    // The rest is less than 10 % of the largest: (100 - 60 - 36) / 60 < 0.1.
    assert_eq!(
        dominance_failure(&[60.0, 36.0, 1.0, 1.0, 1.0, 1.0], &p),
        Some("dominance")
    );
    // With the defaults, (2, 0.90)-dominance already implies the p % rule;
    // without dominance, p % alone catches a small remainder.
    let p_only = Policy {
        dominance_k: 1.0,
        ..Policy::default()
    };
    assert_eq!(
        dominance_failure(&[40.0, 35.0, 1.0, 1.0, 1.0], &p_only),
        Some("p_percent")
    );
    assert_eq!(
        dominance_failure(&[40.0, 35.0, 2.0, 2.0, 1.0], &p_only),
        None
    );
    assert_eq!(
        dominance_failure(&[5.0, -1.0, 3.0], &p),
        Some("negative_contribution")
    );
    let g = GroupValues {
        values: vec![1.0, 2.0, 3.0, 4.0, 5.0, 6.0],
        nums: vec![100.0, 1.0, 1.0, 1.0, 1.0, 1.0],
        dens: vec![1.0; 6],
    };
    let r = verdict(&p, Audience::Analyst, &g, None);
    assert_eq!(r.stats.unwrap().weighted, None);
    assert!(
        r.withheld
            .iter()
            .any(|w| w.statistic == "weighted" && w.reason == "dominance")
    );
    // A perturbing ring withholds it too, but says only `protected`: the
    // precise reason would describe the values (rule 16).
    let r = verdict(&Policy::default(), Audience::Analyst, &g, None);
    assert_eq!(r.stats.unwrap().weighted, None);
    assert!(
        r.withheld
            .iter()
            .any(|w| w.statistic == "weighted" && w.reason == "protected")
    );
}

#[test]
fn anonymous_values_have_three_significant_digits() {
    assert_eq!(round_3_significant(1234.5), 1230.0);
    assert_eq!(round_3_significant(0.012345), 0.0123);
    assert_eq!(round_3_significant(98765.0), 98800.0);
    assert_eq!(round_3_significant(4.0), 4.0);
    assert_eq!(round_3_significant(0.0), 0.0);
}

#[test]
fn the_threshold_counts_peers_without_the_requester() {
    let p = Policy::default();
    let g = group(&[1.0, 2.0, 3.0, 4.0, 5.0]);
    assert!(verdict(&p, Audience::Analyst, &g, None).stats.is_some());
    let r = verdict(&p, Audience::Member, &g, Some(3.0));
    assert_eq!(r.reason, Some(Reason::BelowThreshold));
    let g6 = group(&[1.0, 2.0, 3.0, 4.0, 5.0, 6.0]);
    let r = verdict(&p, Audience::Member, &g6, Some(6.0));
    let s = r.stats.unwrap();
    assert!(s.median.is_some() && s.p25.is_none() && s.p10.is_none() && s.min.is_none());
}

#[test]
fn equal_values_are_suppressed_and_admin_sees_all() {
    let p = exact();
    let g = group(&[2.0; 12]);
    assert_eq!(
        verdict(&p, Audience::Analyst, &g, None).reason,
        Some(Reason::AllEqual)
    );
    let r = verdict(&p, Audience::Admin, &group(&[1.0, 9.0]), None);
    assert_eq!(r.stats.unwrap().max, Some(9.0));
    // A perturbing ring drops rule 4 for everyone but admin (rule 16):
    // perturbed values of equal figures differ, and a decision on the
    // true values would tell that they are equal.
    let r = verdict(&Policy::default(), Audience::Analyst, &g, None);
    assert!(r.stats.is_some() && r.reason.is_none());
    assert!(passes_size_and_variety(
        &Policy::default(),
        Audience::Analyst,
        &[2.0; 12],
        None
    ));
    assert!(!passes_size_and_variety(
        &p,
        Audience::Analyst,
        &[2.0; 12],
        None
    ));
}

#[test]
fn rule_4_looks_at_the_peers_without_the_requester() {
    let p = exact();
    // Five equal peers and a requester with another value: n, mean and
    // its own value would give every peer's value.
    let g = group(&[2.0, 2.0, 2.0, 2.0, 2.0, 7.0]);
    assert_eq!(
        verdict(&p, Audience::Member, &g, Some(7.0)).reason,
        Some(Reason::AllEqual)
    );
    // An analyst knows none of them: the values differ, so it passes.
    assert!(verdict(&p, Audience::Analyst, &g, None).stats.is_some());
    // A requester equal to the peers with one peer different is fine.
    let g = group(&[2.0, 2.0, 2.0, 2.0, 2.0, 7.0]);
    assert!(verdict(&p, Audience::Member, &g, Some(2.0)).stats.is_some());
    assert!(peers_all_equal(&[3.0], Some(3.0)));
    assert!(peers_all_equal(&[1.0, 1.0, 5.0], Some(5.0)));
    assert!(!peers_all_equal(&[1.0, 1.0, 5.0], Some(1.0)));
    assert!(!peers_all_equal(&[1.0, 1.0, 5.0], None));
}

/// Rule 3 as the ACRO checker writes it, with a full descending sort.
fn reference_dominance(c: &[f64], p: &Policy) -> Option<&'static str> {
    if c.iter().any(|x| *x < 0.0) {
        return Some("negative_contribution");
    }
    let total: f64 = c.iter().sum();
    if total <= 0.0 {
        return Some("dominance");
    }
    let mut sorted = c.to_vec();
    sorted.sort_by(|a, b| b.total_cmp(a));
    let top: f64 = sorted.iter().take(p.dominance_n).sum();
    if top / total >= p.dominance_k {
        return Some("dominance");
    }
    if sorted.len() >= 2 && (total - sorted[0] - sorted[1]) / sorted[0] < p.p_ratio {
        return Some("p_percent");
    }
    None
}

proptest! {
    #[test]
    fn dominance_matches_a_full_sort(
        contributions in prop::collection::vec(
            prop_oneof![(0.0f64..1e6), (0u8..4).prop_map(f64::from), Just(-1.0)], 0..80),
        n in 0usize..6,
        k in prop_oneof![Just(0.5f64), Just(0.9), Just(1.0)],
        p_ratio in prop_oneof![Just(0.0f64), Just(0.1), Just(0.5)],
    ) {
        let policy = Policy { dominance_n: n, dominance_k: k, p_ratio, ..Policy::default() };
        prop_assert_eq!(
            dominance_failure(&contributions, &policy),
            reference_dominance(&contributions, &policy)
        );
    }

    #[test]
    fn nothing_is_released_under_the_threshold(
        values in prop::collection::vec(0.0f64..100.0, 0..30),
        in_group in any::<bool>(),
        audience in prop_oneof![Just(Audience::Member), Just(Audience::Analyst), Just(Audience::Consultant)],
    ) {
        let p = exact();
        let in_group = in_group && !values.is_empty();
        let own = values.first().copied().filter(|_| in_group);
        let r = verdict(&p, audience, &group(&values), own);
        let peers = values.len() - usize::from(in_group);
        let needed = if audience == Audience::Consultant { values.len() >= 10 } else { peers >= 5 };
        if let Some(s) = &r.stats {
            prop_assert!(needed);
            prop_assert!(s.min.is_none() && s.max.is_none());
            if s.weighted.is_some() {
                prop_assert_eq!(dominance_failure(&values, &p), None);
            }
            prop_assert!(s.p25.is_none() || peers >= 8);
            prop_assert!(s.p10.is_none() || peers >= 20);
            let first = values[0];
            prop_assert!(values.iter().any(|v| *v != first));
            // Rule 4 over the peers: without the requester's value the
            // peers' values differ.
            let peers: Vec<f64> = values.iter().skip(usize::from(in_group)).copied().collect();
            prop_assert!(peers.iter().any(|v| *v != peers[0]));
        } else {
            prop_assert!(r.reason.is_some());
        }
    }
}
