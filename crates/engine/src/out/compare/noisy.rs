//! What the perturbation of rules 14, 15 and 17 adds to a group of a
//! comparison: the statistics finished for non-admin callers (corrected
//! standard deviation, mean-only key figures, noise flags) and the
//! perturbed statistics admin sees beside the true ones.

use serde::Serialize;

use crate::disclose::disclosure::{DisclosedStats, Withheld};
use crate::disclose::noise::{Flag, NoiseFlags, corrected_std_dev};

/// What non-admin callers see of a group, shown to admin beside the true
/// statistics (rule 14: admin sees both).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PerturbedGroup {
    /// Whether an analyst would get no statistics for the group.
    pub suppressed: bool,
    /// Why, if so.
    pub reason: Option<&'static str>,
    /// The statistics from perturbed figures, as an analyst sees them.
    pub stats: Option<DisclosedStats>,
    /// Statistics withheld from the group, with reasons.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub withheld: Vec<Withheld>,
    /// Their noise flags.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub noise: Option<NoiseFlags>,
}

/// Finishes a group's statistics computed from perturbed figures (rules
/// 14, 15 and 17): the standard deviation corrected for the noise's
/// variance `sigma2`, everything but the mean withheld for a key figure
/// released as a mean only, and the noise flags: the mean's and the
/// weighted ratio's from the movement the noise is expected to give them
/// (`expected`, from the perturbed values: the true movement, together
/// with values an attacker knows, would tell the direction of one
/// member's noise), the others' from the number of peers alone.
pub(super) fn finish_perturbed(
    stats: &mut DisclosedStats,
    withheld: &mut Vec<Withheld>,
    expected: (f64, f64),
    sigma2: f64,
    peers: usize,
    mean_only: bool,
) -> NoiseFlags {
    if let (Some(sd), Some(mean)) = (stats.std_dev, stats.mean) {
        stats.std_dev = Some(corrected_std_dev(sd, mean, sigma2));
    }
    if mean_only {
        for (name, value) in [
            ("median", &mut stats.median),
            ("p25", &mut stats.p25),
            ("p75", &mut stats.p75),
            ("p10", &mut stats.p10),
            ("p90", &mut stats.p90),
            ("std_dev", &mut stats.std_dev),
            ("weighted", &mut stats.weighted),
        ] {
            if value.take().is_some() {
                withheld.retain(|w| w.statistic != name);
                withheld.push(Withheld::new(name, "mean_only"));
            }
        }
        stats.min = None;
        stats.max = None;
    }
    let size = Flag::of_size(peers);
    NoiseFlags {
        mean: Flag::of_movement(expected.0),
        weighted: stats.weighted.map(|_| Flag::of_movement(expected.1)),
        quantiles: size,
        std_dev: size,
        position: size,
    }
}
