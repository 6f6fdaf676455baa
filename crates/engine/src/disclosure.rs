//! Disclosure control: the one place every outgoing group statistic passes.
//!
//! Implemented rules of the domain description: 1 (threshold counted without
//! the requester), 2 (statistics by group size; min and max only for admin)
//! and 4 (all values equal). Every suppression carries a machine-readable
//! reason and a sentence in German and English.

use serde::Serialize;

use crate::stats::{Summary, summarize, weighted};

/// Who receives a statistic; decides threshold and detail.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Audience {
    /// A member reading comparisons (threshold without itself).
    Member,
    /// An analyst of the ring operator.
    Analyst,
    /// An external consultant (stricter threshold).
    Consultant,
    /// The administrator: sees everything, including min and max.
    Admin,
}

/// The thresholds of the ring (defaults of the domain description).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Policy {
    /// Minimum peers (excluding the requester) for members and analysts.
    pub threshold: usize,
    /// Minimum group size for consultants.
    pub threshold_external: usize,
    /// Minimum peers for the median.
    pub median_min: usize,
    /// Minimum peers for p25 and p75.
    pub quartiles_min: usize,
    /// Minimum peers for p10 and p90.
    pub deciles_min: usize,
}

impl Default for Policy {
    fn default() -> Self {
        Policy {
            threshold: 5,
            threshold_external: 10,
            median_min: 5,
            quartiles_min: 8,
            deciles_min: 20,
        }
    }
}

/// The statistics of a group as released; withheld ones are `None`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ReleasedStats {
    /// Unweighted mean.
    pub mean: Option<f64>,
    /// Median (type 7).
    pub median: Option<f64>,
    /// 25th percentile.
    pub p25: Option<f64>,
    /// 75th percentile.
    pub p75: Option<f64>,
    /// 10th percentile.
    pub p10: Option<f64>,
    /// 90th percentile.
    pub p90: Option<f64>,
    /// Sample standard deviation.
    pub std_dev: Option<f64>,
    /// Ratio of sums.
    pub weighted: Option<f64>,
    /// Smallest value (admin only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub min: Option<f64>,
    /// Largest value (admin only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max: Option<f64>,
}

/// Why a group was suppressed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Reason {
    /// Too few peers for the audience (rule 1).
    BelowThreshold,
    /// All values equal: the mean would reveal each of them (rule 4).
    AllEqual,
    /// The requesting member has not submitted for this year (give to get).
    GiveToGet,
}

impl Reason {
    /// The machine-readable code.
    pub fn code(self) -> &'static str {
        match self {
            Reason::BelowThreshold => "below_threshold",
            Reason::AllEqual => "all_equal",
            Reason::GiveToGet => "give_to_get",
        }
    }

    /// English explanation.
    pub fn message_en(self) -> &'static str {
        match self {
            Reason::BelowThreshold => {
                "Too few peers in this group: statistics would allow conclusions about single members."
            }
            Reason::AllEqual => {
                "All values in this group are equal: any statistic would reveal every member's value."
            }
            Reason::GiveToGet => {
                "Comparisons for a year are available once your own figures for that year are submitted."
            }
        }
    }

    /// German explanation.
    pub fn message_de(self) -> &'static str {
        match self {
            Reason::BelowThreshold => {
                "Zu wenige Vergleichspartner in dieser Gruppe: Statistiken ließen Rückschlüsse auf einzelne Mitglieder zu."
            }
            Reason::AllEqual => {
                "Alle Werte dieser Gruppe sind gleich: jede Statistik würde den Wert jedes Mitglieds offenlegen."
            }
            Reason::GiveToGet => {
                "Vergleiche für ein Jahr stehen zur Verfügung, sobald die eigenen Zahlen für dieses Jahr gemeldet sind."
            }
        }
    }
}

/// The outcome of disclosure control for one group.
#[derive(Debug, Clone, PartialEq)]
pub struct Release {
    /// Number of members with a value.
    pub n: usize,
    /// `None` when suppressed.
    pub stats: Option<ReleasedStats>,
    /// Why it was suppressed.
    pub reason: Option<Reason>,
}

/// A group's raw material: values with numerators and denominators of the
/// weighted ratio, for members with a non-null value.
#[derive(Debug, Clone, Default)]
pub struct GroupValues {
    /// Key-figure values.
    pub values: Vec<f64>,
    /// Numerators, where known.
    pub nums: Vec<f64>,
    /// Denominators, where known.
    pub dens: Vec<f64>,
}

/// Applies the rules to one group. `requester_in_group` is true when the
/// requesting member has a value in the group, which it already knows.
pub fn release(
    policy: &Policy,
    audience: Audience,
    group: &GroupValues,
    requester_in_group: bool,
) -> Release {
    let n = group.values.len();
    let Some(summary) = summarize(&group.values) else {
        return Release {
            n,
            stats: None,
            reason: (audience != Audience::Admin).then_some(Reason::BelowThreshold),
        };
    };
    let w = weighted(&group.nums, &group.dens);
    if audience == Audience::Admin {
        return Release {
            n,
            stats: Some(full(&summary, w)),
            reason: None,
        };
    }
    let peers = if requester_in_group { n - 1 } else { n };
    let (threshold, counted) = match audience {
        Audience::Consultant => (policy.threshold_external, n),
        _ => (policy.threshold, peers),
    };
    let suppress = |reason| Release {
        n,
        stats: None,
        reason: Some(reason),
    };
    if counted < threshold {
        return suppress(Reason::BelowThreshold);
    }
    if summary.min == summary.max {
        return suppress(Reason::AllEqual);
    }
    let by_size = |min: usize, v: f64| (peers >= min).then_some(v);
    Release {
        n,
        stats: Some(ReleasedStats {
            mean: Some(summary.mean),
            median: by_size(policy.median_min, summary.median),
            p25: by_size(policy.quartiles_min, summary.p25),
            p75: by_size(policy.quartiles_min, summary.p75),
            p10: by_size(policy.deciles_min, summary.p10),
            p90: by_size(policy.deciles_min, summary.p90),
            std_dev: summary.std_dev,
            weighted: w,
            min: None,
            max: None,
        }),
        reason: None,
    }
}

fn full(s: &Summary, w: Option<f64>) -> ReleasedStats {
    ReleasedStats {
        mean: Some(s.mean),
        median: Some(s.median),
        p25: Some(s.p25),
        p75: Some(s.p75),
        p10: Some(s.p10),
        p90: Some(s.p90),
        std_dev: s.std_dev,
        weighted: w,
        min: Some(s.min),
        max: Some(s.max),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn group(values: &[f64]) -> GroupValues {
        GroupValues {
            values: values.to_vec(),
            nums: values.to_vec(),
            dens: vec![1.0; values.len()],
        }
    }

    #[test]
    fn the_threshold_counts_peers_without_the_requester() {
        let p = Policy::default();
        let g = group(&[1.0, 2.0, 3.0, 4.0, 5.0]);
        assert!(release(&p, Audience::Analyst, &g, false).stats.is_some());
        let r = release(&p, Audience::Member, &g, true);
        assert_eq!(r.reason, Some(Reason::BelowThreshold));
        let g6 = group(&[1.0, 2.0, 3.0, 4.0, 5.0, 6.0]);
        let r = release(&p, Audience::Member, &g6, true);
        let s = r.stats.unwrap();
        assert!(s.median.is_some() && s.p25.is_none() && s.p10.is_none() && s.min.is_none());
    }

    #[test]
    fn equal_values_are_suppressed_and_admin_sees_all() {
        let p = Policy::default();
        let g = group(&[2.0; 12]);
        assert_eq!(
            release(&p, Audience::Analyst, &g, false).reason,
            Some(Reason::AllEqual)
        );
        let r = release(&p, Audience::Admin, &group(&[1.0, 9.0]), false);
        assert_eq!(r.stats.unwrap().max, Some(9.0));
    }

    proptest! {
        #[test]
        fn nothing_is_released_under_the_threshold(
            values in prop::collection::vec(0.0f64..100.0, 0..30),
            in_group in any::<bool>(),
            audience in prop_oneof![Just(Audience::Member), Just(Audience::Analyst), Just(Audience::Consultant)],
        ) {
            let p = Policy::default();
            let in_group = in_group && !values.is_empty();
            let r = release(&p, audience, &group(&values), in_group);
            let peers = values.len() - usize::from(in_group);
            let needed = if audience == Audience::Consultant { values.len() >= 10 } else { peers >= 5 };
            if let Some(s) = &r.stats {
                prop_assert!(needed);
                prop_assert!(s.min.is_none() && s.max.is_none());
                prop_assert!(s.p25.is_none() || peers >= 8);
                prop_assert!(s.p10.is_none() || peers >= 20);
                let first = values[0];
                prop_assert!(values.iter().any(|v| *v != first));
            } else {
                prop_assert!(r.reason.is_some());
            }
        }
    }
}
