//! Disclosure control: the one place every outgoing group statistic passes.
//!
//! Rules of the domain description implemented here: 1 (threshold counted
//! without the requester), 2 (statistics by group size; min and max only for
//! admin), 3 (dominance and p % on the weighted ratio), 4 (all values equal),
//! the test of rule 5 (a union of suppressed groups must itself pass rules 1
//! and 4; `compare.rs` applies it across a dimension) and rule 7 (anonymous
//! values rounded to 3 significant digits). Rule 6 lives in `differencing.rs`
//! because it needs the release log. Every suppression carries a
//! machine-readable reason and a sentence in German and English; see
//! `docs/disclosure.md` for the users' description.

use serde::Serialize;

use crate::disclose::summary::{Summary, summarize, weighted};

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

/// What members may see of each other besides statistics (rule 8).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Deserialize, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Visibility {
    /// Statistics only.
    #[default]
    AggregateOnly,
    /// Statistics plus the anonymous sorted distribution of disclosed groups.
    Pseudonymous,
    /// Members see each other by name.
    Named,
}

/// The thresholds of the ring (defaults of the domain description); the
/// `[disclosure]` section of the configuration file, every key optional.
#[derive(Debug, Clone, Copy, PartialEq, serde::Deserialize, Serialize)]
#[serde(default, deny_unknown_fields)]
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
    /// Number of largest contributors in the dominance rule.
    pub dominance_n: usize,
    /// Share of the total those contributors may not reach.
    pub dominance_k: f64,
    /// The p of the p % rule.
    pub p_ratio: f64,
    /// The ring's visibility mode.
    pub visibility: Visibility,
    /// Publish a (domain, year) by itself as soon as the members whose
    /// figures changed since its last publication reach the threshold
    /// (rule 9).
    pub auto_publish: bool,
    /// The smallest relative perturbation of a private basic figure
    /// (rule 14); `0` together with `noise_max = 0` turns it off.
    pub noise_min: f64,
    /// The largest relative perturbation of a private basic figure.
    pub noise_max: f64,
}

impl Default for Policy {
    fn default() -> Self {
        Policy {
            threshold: 5,
            threshold_external: 10,
            median_min: 5,
            quartiles_min: 8,
            deciles_min: 20,
            dominance_n: 2,
            dominance_k: 0.90,
            p_ratio: 0.10,
            visibility: Visibility::AggregateOnly,
            auto_publish: true,
            noise_min: 0.05,
            noise_max: 0.10,
        }
    }
}

impl Policy {
    /// Whether statistics for non-admin callers come from perturbed
    /// figures (rule 14).
    pub fn perturbs(&self) -> bool {
        self.noise_max > 0.0
    }

    /// The policy a publication or release recorded
    /// (`Engine::disclosure_record`): the settings, without the noise
    /// secret's fingerprint beside them.
    pub fn from_record(record: &serde_json::Value) -> Option<Policy> {
        let mut v = record.clone();
        if let Some(map) = v.as_object_mut() {
            map.remove("noise_key");
        }
        serde_json::from_value(v).ok()
    }

    /// Checks the noise settings: `0 ≤ noise_min ≤ noise_max < 0.5`.
    pub fn check_noise(&self) -> Result<(), String> {
        let ok = |x: f64| x.is_finite() && (0.0..0.5).contains(&x);
        if !ok(self.noise_min) || !ok(self.noise_max) || self.noise_min > self.noise_max {
            return Err(format!(
                "[disclosure] noise_min ({}) and noise_max ({}) must satisfy 0 <= noise_min <= noise_max < 0.5",
                self.noise_min, self.noise_max
            ));
        }
        Ok(())
    }

    /// The threshold an audience must reach, and whether it counts peers
    /// (without the requester) or the whole group.
    pub fn threshold_for(&self, audience: Audience) -> usize {
        match audience {
            Audience::Consultant => self.threshold_external,
            Audience::Admin => 0,
            _ => self.threshold,
        }
    }
}

/// The statistics of a group as disclosed; withheld ones are `None`.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct DisclosedStats {
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
    /// Suppressed so that other suppressed groups cannot be recovered by
    /// subtraction from the total (rule 5).
    Complement,
    /// A custom group would differ from a disclosed group by fewer members
    /// than the threshold (rule 6).
    Differencing,
    /// Withheld by the audit of answers in combination (rule 11): together
    /// with statistics already published, this group's would determine a
    /// single member's value or a withheld group's total.
    Audit,
    /// Withheld for a reason that would itself describe the values (rule
    /// 16): what non-admin callers see instead of `all_equal`.
    Protected,
}

impl Reason {
    /// The machine-readable code.
    pub fn code(self) -> &'static str {
        match self {
            Reason::BelowThreshold => "below_threshold",
            Reason::AllEqual => "all_equal",
            Reason::GiveToGet => "give_to_get",
            Reason::Complement => "complement",
            Reason::Differencing => "differencing",
            Reason::Audit => "audit",
            Reason::Protected => "protected",
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
            Reason::Complement => {
                "Withheld so that other withheld groups cannot be computed from the total."
            }
            Reason::Differencing => {
                "This group differs from an already published group by too few members; its statistics would reveal them."
            }
            Reason::Audit => {
                "Withheld because, together with statistics already published, it would reveal a single member's value or a withheld group's total."
            }
            Reason::Protected => "Withheld to protect single members' values.",
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
            Reason::Complement => {
                "Zurückgehalten, damit andere zurückgehaltene Gruppen nicht aus der Gesamtheit errechnet werden können."
            }
            Reason::Differencing => {
                "Diese Gruppe unterscheidet sich von einer bereits veröffentlichten Gruppe um zu wenige Mitglieder; ihre Statistiken würden diese offenlegen."
            }
            Reason::Audit => {
                "Zurückgehalten, weil sie zusammen mit bereits veröffentlichten Statistiken den Wert eines einzelnen Mitglieds oder die Summe einer zurückgehaltenen Gruppe offenlegen würde."
            }
            Reason::Protected => "Zum Schutz der Werte einzelner Mitglieder zurückgehalten.",
        }
    }
}

/// A single statistic withheld from a disclosed group, and why.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Withheld {
    /// The statistic, e.g. `weighted` or `p25`.
    pub statistic: &'static str,
    /// Machine-readable reason: `group_size`, `dominance`, `p_percent`,
    /// `negative_contribution` (admin and rings without perturbation),
    /// `protected` (the reason would describe the values, rule 16),
    /// `mean_only` (a key figure released as a group mean only, rule 15).
    pub reason: &'static str,
    /// English explanation.
    pub message: &'static str,
    /// German explanation.
    pub message_de: &'static str,
}

impl Withheld {
    /// A withheld statistic with the sentences for its reason.
    pub fn new(statistic: &'static str, reason: &'static str) -> Withheld {
        let (message, message_de) = match reason {
            "group_size" => (
                "The group is too small for this statistic.",
                "Die Gruppe ist für diese Kennzahl zu klein.",
            ),
            "dominance" => (
                "A few members make up most of the total: the overall value would reveal them.",
                "Wenige Mitglieder stellen den Großteil der Summe: der Gesamtwert würde sie offenlegen.",
            ),
            "p_percent" => (
                "The others contribute too little next to the largest member: the overall value would reveal it.",
                "Die übrigen Mitglieder tragen neben dem größten zu wenig bei: der Gesamtwert würde es offenlegen.",
            ),
            "protected" => (
                "Withheld to protect single members' values.",
                "Zum Schutz der Werte einzelner Mitglieder zurückgehalten.",
            ),
            "mean_only" => (
                "This key figure is released as a group mean only: single values sit on a grid, at a bound or at zero, where the protective noise would not hide them.",
                "Diese Kennzahl wird nur als Gruppenmittel veröffentlicht: einzelne Werte liegen auf einem Raster, an einer Grenze oder bei null, wo die schützende Unschärfe sie nicht verbergen würde.",
            ),
            _ => (
                "A negative contribution makes the overall value unsafe to publish.",
                "Ein negativer Beitrag macht den Gesamtwert unsicher für eine Veröffentlichung.",
            ),
        };
        Withheld {
            statistic,
            reason,
            message,
            message_de,
        }
    }
}

/// The outcome of disclosure control for one group.
#[derive(Debug, Clone, PartialEq)]
pub struct Verdict {
    /// Number of members with a value.
    pub n: usize,
    /// `None` when suppressed.
    pub stats: Option<DisclosedStats>,
    /// Why it was suppressed.
    pub reason: Option<Reason>,
    /// Statistics withheld from a disclosed group.
    pub withheld: Vec<Withheld>,
}

impl Verdict {
    /// A suppressed group.
    pub fn suppressed(n: usize, reason: Reason) -> Verdict {
        Verdict {
            n,
            stats: None,
            reason: Some(reason),
            withheld: Vec::new(),
        }
    }
}

/// Rule 3 for one side of the weighted ratio (numerators or denominators):
/// the reason it fails, if it does. The definitions are those of the ACRO
/// output checker: `top_n_sum / sum >= k`; `(sum - top1 - top2) / top1 < p`;
/// any negative contribution makes dominance undefined.
pub fn dominance_failure(contributions: &[f64], policy: &Policy) -> Option<&'static str> {
    if contributions.iter().any(|c| *c < 0.0) {
        return Some("negative_contribution");
    }
    let total: f64 = contributions.iter().sum();
    if total <= 0.0 {
        // Every contribution is zero: a ratio of 0 would reveal each of them.
        return Some("dominance");
    }
    // Only the largest few contributions matter: keep them, largest first,
    // in one pass instead of sorting the group (a group can hold every
    // member of the ring).
    let sorted = largest(contributions, policy.dominance_n.max(2));
    let top: f64 = sorted.iter().take(policy.dominance_n).sum();
    if top / total >= policy.dominance_k {
        return Some("dominance");
    }
    if let [first, second, ..] = sorted[..]
        && (total - first - second) / first < policy.p_ratio
    {
        return Some("p_percent");
    }
    None
}

/// The `k` largest of `values`, largest first (as a descending sort would
/// put them).
fn largest(values: &[f64], k: usize) -> Vec<f64> {
    let mut top: Vec<f64> = Vec::with_capacity(k + 1);
    for &v in values {
        if top.len() < k || top.last().is_some_and(|last| v.total_cmp(last).is_gt()) {
            let at = top.partition_point(|t| t.total_cmp(&v).is_ge());
            top.insert(at, v);
            top.truncate(k);
        }
    }
    top
}

/// Rounds to 3 significant digits (rule 7), so that an anonymous value does
/// not match a member's exact figure.
pub fn round_3_significant(x: f64) -> f64 {
    if x == 0.0 || !x.is_finite() {
        return x;
    }
    let digits = 3 - x.abs().log10().ceil() as i32;
    if digits >= 0 {
        let f = 10f64.powi(digits);
        (x * f).round() / f
    } else {
        let f = 10f64.powi(-digits);
        (x / f).round() * f
    }
}

/// Rule 4: whether the values of the peers (the values without one
/// occurrence of the requester's own value `own`, when it is in the group)
/// are all equal. Counting the requester among them would let a requester
/// whose value differs from five equal peers learn every peer's value from
/// n, mean and its own value.
pub fn peers_all_equal(values: &[f64], own: Option<f64>) -> bool {
    let mut skipped = false;
    let mut first: Option<f64> = None;
    for v in values {
        if !skipped && own.is_some_and(|o| o.to_bits() == v.to_bits()) {
            skipped = true;
            continue;
        }
        match first {
            None => first = Some(*v),
            Some(f) if f != *v => return false,
            Some(_) => {}
        }
    }
    true
}

/// Whether a set of values passes rules 1 and 4 for an audience: enough
/// (peers or members) and the peers' values not all equal. `own` is the
/// requester's value when it is among `values`. Used for single groups and
/// for the union of suppressed groups (rule 5).
pub fn passes_size_and_variety(
    policy: &Policy,
    audience: Audience,
    values: &[f64],
    own: Option<f64>,
) -> bool {
    if audience == Audience::Admin {
        return true;
    }
    let counted = match audience {
        Audience::Consultant => values.len(),
        _ => values.len() - usize::from(own.is_some() && !values.is_empty()),
    };
    counted >= policy.threshold_for(audience)
        && (policy.perturbs() || !peers_all_equal(values, own))
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

/// Applies the rules to one group. `own` is the requesting member's value
/// when it has one in the group (it knows it already).
pub fn verdict(
    policy: &Policy,
    audience: Audience,
    group: &GroupValues,
    own: Option<f64>,
) -> Verdict {
    let requester_in_group = own.is_some();
    let n = group.values.len();
    let Some(summary) = summarize(&group.values) else {
        return if audience == Audience::Admin {
            Verdict {
                n,
                stats: None,
                reason: None,
                withheld: Vec::new(),
            }
        } else {
            Verdict::suppressed(n, Reason::BelowThreshold)
        };
    };
    let w = weighted(&group.nums, &group.dens);
    if audience == Audience::Admin {
        return Verdict {
            n,
            stats: Some(full(&summary, w)),
            reason: None,
            withheld: Vec::new(),
        };
    }
    let peers = if requester_in_group { n - 1 } else { n };
    let counted = if audience == Audience::Consultant {
        n
    } else {
        peers
    };
    if counted < policy.threshold_for(audience) {
        return Verdict::suppressed(n, Reason::BelowThreshold);
    }
    // Rule 4 holds only for true values: perturbed values of equal
    // figures differ, and a decision on true values would itself tell
    // that they are equal (rule 16).
    if !policy.perturbs() && peers_all_equal(&group.values, own) {
        return Verdict::suppressed(n, Reason::AllEqual);
    }
    let (stats, withheld) = released(policy, peers, &summary, group, w);
    Verdict {
        n,
        stats: Some(stats),
        reason: None,
        withheld,
    }
}

/// The statistics of a group that passed rules 1 and 4, for a non-admin
/// audience: each by the group's size (rule 2), the weighted ratio unless
/// a member dominates it (rule 3). Returns them with what was withheld.
fn released(
    policy: &Policy,
    peers: usize,
    summary: &Summary,
    group: &GroupValues,
    w: Option<f64>,
) -> (DisclosedStats, Vec<Withheld>) {
    let mut withheld = Vec::new();
    let mut by_size = |name: &'static str, min: usize, v: f64| {
        if peers >= min {
            Some(v)
        } else {
            withheld.push(Withheld::new(name, "group_size"));
            None
        }
    };
    let median = by_size("median", policy.median_min, summary.median);
    let p25 = by_size("p25", policy.quartiles_min, summary.p25);
    let p75 = by_size("p75", policy.quartiles_min, summary.p75);
    let p10 = by_size("p10", policy.deciles_min, summary.p10);
    let p90 = by_size("p90", policy.deciles_min, summary.p90);
    let dominance =
        dominance_failure(&group.nums, policy).or_else(|| dominance_failure(&group.dens, policy));
    let weighted = match (w, dominance) {
        (Some(_), Some(reason)) => {
            // The reason would describe the values (rule 16): non-admin
            // callers of a perturbing ring see `protected`.
            let reason = if policy.perturbs() {
                "protected"
            } else {
                reason
            };
            withheld.push(Withheld::new("weighted", reason));
            None
        }
        (w, _) => w,
    };
    let stats = DisclosedStats {
        mean: Some(summary.mean),
        median,
        p25,
        p75,
        p10,
        p90,
        std_dev: summary.std_dev,
        weighted,
        min: None,
        max: None,
    };
    (stats, withheld)
}

fn full(s: &Summary, w: Option<f64>) -> DisclosedStats {
    DisclosedStats {
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
mod tests;
