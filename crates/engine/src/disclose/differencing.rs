//! Rule 6: custom groups and differencing. A custom group's statistics for a
//! (domain, year) are disclosed only if the group has at least the threshold
//! of members with figures, and its symmetric difference with every group
//! disclosed before for that (domain, year) — custom groups from the release
//! log and the built-in groups — is either 0 or at least the threshold.
//! Otherwise two releases could be subtracted to reveal the few members that
//! tell them apart. The same holds for one custom group across years: its
//! members with figures in two years must be the same or differ by at least
//! the threshold, or a member joining could be revealed by comparing years.

use std::collections::BTreeSet;

use crate::disclose::disclosure::Policy;

/// A custom group's statistics already given out for a year (in some
/// publication), with the members that made it up: what rule 6 compares a
/// new custom group against.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DisclosedGroup {
    /// A name for messages (the group id, with the publication when it is
    /// another publication of the same year).
    pub group_id: String,
    /// The year.
    pub year: i32,
    /// Its members with figures.
    pub member_ids: BTreeSet<String>,
}

/// Why a custom group may not be disclosed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refusal {
    /// Machine-readable reason: `below_threshold` or `differencing`.
    pub reason: &'static str,
    /// A sentence for the analyst.
    pub message: String,
}

/// Checks rule 6 for a custom group with `effective` members in `year`
/// against the custom groups given out before (other groups of the year, the
/// same group in other years) and the year's built-in groups.
pub fn check_differences(
    policy: &Policy,
    group_id: &str,
    year: i32,
    effective: &BTreeSet<String>,
    disclosed: &[DisclosedGroup],
    builtin: &[(String, BTreeSet<String>)],
) -> Result<(), Refusal> {
    let t = policy.threshold;
    if effective.len() < t {
        return Err(Refusal {
            reason: "below_threshold",
            message: format!(
                "group {group_id} has {} members with figures for this year; at least {t} are needed",
                effective.len()
            ),
        });
    }
    let others = disclosed
        .iter()
        .filter(|r| {
            (r.group_id != group_id && r.year == year) || (r.group_id == group_id && r.year != year)
        })
        .map(|r| {
            let name = if r.group_id == group_id {
                format!("group {} of {}", r.group_id, r.year)
            } else {
                format!("custom group {}", r.group_id)
            };
            (name, &r.member_ids)
        })
        .chain(builtin.iter().map(|(id, m)| (format!("group {id}"), m)));
    for (name, members) in others {
        let diff = effective.symmetric_difference(members).count();
        if diff != 0 && diff < t {
            return Err(Refusal {
                reason: "differencing",
                message: format!(
                    "group {group_id} differs from the published {name} by {diff} member(s); the difference must be 0 or at least {t}, or the published statistics could be subtracted to reveal those members"
                ),
            });
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn set(ids: &[u32]) -> BTreeSet<String> {
        ids.iter().map(|i| format!("{i:08}")).collect()
    }

    fn entry(id: &str, m: &BTreeSet<String>) -> DisclosedGroup {
        DisclosedGroup {
            group_id: id.into(),
            year: 2024,
            member_ids: m.clone(),
        }
    }

    #[test]
    fn a_group_one_member_away_from_a_released_one_is_refused() {
        let p = Policy::default();
        let a = set(&[1, 2, 3, 4, 5, 6]);
        let b = set(&[1, 2, 3, 4, 5, 6, 7]);
        let r = check_differences(&p, "b", 2024, &b, &[entry("a", &a)], &[]);
        assert_eq!(r.map_err(|e| e.reason), Err("differencing"));
        assert!(check_differences(&p, "b", 2024, &a, &[entry("a", &a)], &[]).is_ok());
        let far = set(&[1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11]);
        assert!(check_differences(&p, "c", 2024, &far, &[entry("a", &a)], &[]).is_ok());
        // The complement trick: all members but one.
        let all = set(&[1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
        let all_but_one = set(&[1, 2, 3, 4, 5, 6, 7, 8, 9]);
        let r = check_differences(&p, "d", 2024, &all_but_one, &[], &[("all:all".into(), all)]);
        assert_eq!(r.map_err(|e| e.reason), Err("differencing"));
        assert_eq!(
            check_differences(&p, "e", 2024, &set(&[1, 2]), &[], &[]).map_err(|e| e.reason),
            Err("below_threshold")
        );
        // The same group a year later with one member more is refused.
        let mut earlier = entry("a", &a);
        earlier.year = 2023;
        let r = check_differences(&p, "a", 2024, &b, &[earlier], &[]);
        assert_eq!(r.map_err(|e| e.reason), Err("differencing"));
    }

    proptest! {
        /// Whatever order groups are asked for in, any two that both pass
        /// differ by 0 or at least the threshold.
        #[test]
        fn released_groups_never_differ_by_less_than_the_threshold(
            groups in prop::collection::vec(prop::collection::btree_set(0u32..15, 0..15), 1..12),
        ) {
            let p = Policy::default();
            let mut log: Vec<DisclosedGroup> = Vec::new();
            for (i, g) in groups.iter().enumerate() {
                let members = set(&g.iter().copied().collect::<Vec<_>>());
                if check_differences(&p, &format!("g{i}"), 2024, &members, &log, &[]).is_ok() {
                    log.push(entry(&format!("g{i}"), &members));
                }
            }
            for a in &log {
                prop_assert!(a.member_ids.len() >= p.threshold);
                for b in &log {
                    let d = a.member_ids.symmetric_difference(&b.member_ids).count();
                    prop_assert!(d == 0 || d >= p.threshold);
                }
            }
        }
    }
}
