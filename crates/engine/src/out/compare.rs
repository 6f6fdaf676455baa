//! Peer comparisons and time series: group the current key figures of a
//! (domain, year) by a dimension, and pass every group through
//! [`crate::disclose::disclosure::verdict`].

use serde::Serialize;

pub use crate::disclose::dimension::{Dimension, GroupBy, group_of};
use crate::disclose::disclosure::{
    Audience, DisclosedStats, Policy, Reason, Verdict, Withheld, passes_size_and_variety, verdict,
};
pub use crate::disclose::grouping::CompareInput;
use crate::disclose::grouping::groups_of;
use crate::disclose::noise::NoiseFlags;
use crate::read::snapshot::{Snapshot, YearData};
use crate::read::year::GroupData;
pub use crate::read::year::Materialised;
use finish::{Finishing, own_position};
pub use noisy::PerturbedGroup;
use vergleichsring_catalog::Release;

/// A peer shown by name (visibility mode `named`).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Peer {
    /// The member.
    pub member_id: String,
    /// Its name.
    pub name: String,
    /// Its value.
    pub value: f64,
}

/// The requesting member's own position in its group.
///
/// Admin and rings without perturbation get the exact `rank` and
/// `percentile_rank` (both `null` while withheld); non-admin callers of a
/// perturbing ring get the `quintile` instead (rule 17).
#[derive(Debug, Clone, PartialEq)]
pub struct Own {
    /// The member.
    pub member_id: String,
    /// Its key-figure value (`null` when not computable).
    pub value: Option<f64>,
    /// Rank in the group, 1 = best (admin and rings without perturbation);
    /// `null` while the group is suppressed.
    pub rank: Option<usize>,
    /// Percentile rank in the group (admin and rings without
    /// perturbation); `null` while the group is suppressed.
    pub percentile_rank: Option<f64>,
    /// The fifth of the group the member's perturbed value falls in among
    /// its peers' perturbed values, 1 = best fifth (non-admin callers, in
    /// built-in groups, for key figures released in full; rule 17).
    pub quintile: Option<u8>,
    /// Whether the position is the coarse one (quintile) rather than the
    /// exact one (rank and percentile rank).
    pub coarse: bool,
}

impl Serialize for Own {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        let mut map = serializer.serialize_map(None)?;
        map.serialize_entry("member_id", &self.member_id)?;
        map.serialize_entry("value", &self.value)?;
        if self.coarse {
            if let Some(q) = self.quintile {
                map.serialize_entry("quintile", &q)?;
            }
        } else {
            map.serialize_entry("rank", &self.rank)?;
            map.serialize_entry("percentile_rank", &self.percentile_rank)?;
        }
        map.end()
    }
}

/// One group of a comparison, after disclosure control.
#[derive(Debug, Clone, PartialEq, Serialize)]
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
    /// The disclosed statistics.
    pub stats: Option<DisclosedStats>,
    /// Statistics withheld from a disclosed group, with reasons.
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
    /// How much the perturbation moved the released statistics (rule 17;
    /// non-admin callers of a perturbing ring, disclosed groups only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub noise: Option<NoiseFlags>,
    /// Admin only: the statistics as non-admin callers see them, from
    /// perturbed figures.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub perturbed: Option<PerturbedGroup>,
}

/// The publication an answer comes from (rule 9).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PublicationRef {
    /// Publication id, e.g. `library-2024-p2`.
    pub id: String,
    /// When it was published (RFC 3339, UTC).
    pub published_at: String,
}

/// A comparison of one key figure in one (domain, year) by one dimension.
#[derive(Debug, Clone, PartialEq, Serialize)]
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
    pub publication: Option<PublicationRef>,
    /// The groups, in catalogue order of their ids.
    pub groups: Vec<GroupResult>,
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
    // Rule 14: every statistic for a non-admin caller comes from the
    // year's perturbed twin; the true groups are kept beside them only to
    // flag how much the noise moved a mean or a weighted ratio.
    let twin = data.perturbed();
    let perturb = audience != Audience::Admin && twin.is_some();
    let released: &YearData = match twin {
        Some(t) if perturb => &t.year,
        _ => data,
    };
    let groups = groups_of(input, released, figure, by);
    let position = own_position(input, year, figure, by, own, perturb.then_some(released));
    let mut built: Vec<Building<'_>> = groups
        .iter()
        .map(|g| Building {
            g,
            verdict: Verdict::suppressed(0, Reason::BelowThreshold),
            holds_own: position.group.as_deref() == Some(g.id.as_str()),
        })
        .collect();
    // The requester's own value, which it knows, where it counts: a
    // member's own group.
    let known = position.released.filter(|_| audience == Audience::Member);
    for b in &mut built {
        let own = known.filter(|_| b.holds_own);
        b.verdict = verdict(policy, audience, &b.g.values, own);
    }
    if matches!(by, GroupBy::Dimension(d) if *d != Dimension::All) {
        protect_complement(policy, audience, &mut built, known);
    }
    let finishing = Finishing {
        input,
        data,
        figure,
        by,
        audience,
        perturb,
        mean_only: domain.key_figures[figure].release == Release::MeanOnly,
        sigma2: input.noise.map_or(0.0, |n| n.variance(domain, figure)),
        own,
        position,
        known,
        // Admin sees beside the true statistics what an analyst gets from
        // the perturbed figures.
        shadow: match twin {
            Some(t) if audience == Audience::Admin => Some(groups_of(input, &t.year, figure, by)),
            _ => None,
        },
    };
    let out = built.into_iter().map(|b| finishing.finish(b)).collect();
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
/// disclosed, the suppressed groups taken together must pass rules 1 and 4,
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
#[derive(Debug, Clone, PartialEq, Serialize)]
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
    /// The disclosed statistics.
    pub stats: Option<DisclosedStats>,
    /// How much the perturbation moved them (rule 17; non-admin callers).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub noise: Option<NoiseFlags>,
    /// The member's quintile among its peers (non-admin callers, rule 17).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub quintile: Option<u8>,
    /// The publication the year's statistics come from (non-admin callers).
    #[serde(skip_serializing_if = "Option::is_none")]
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
            Reason::Protected,
        ]
        .into_iter()
        .find(|r| r.code() == reason);
        let (message, message_de) = match known {
            Some(r) => (r.message_en(), r.message_de()),
            None if reason == "no_structure" => (
                "The member has no structure: it is not in the municipality register and admin has given it none, so it has no structural neighbours.",
                "Das Mitglied hat keine Strukturdaten: Es steht nicht im Gemeindeverzeichnis, und die Administration hat keine hinterlegt; es hat daher keine Strukturnachbarn.",
            ),
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
            noise: None,
            quintile: None,
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
                own: g.own.as_ref().and_then(|o| o.value),
                quintile: g.own.as_ref().and_then(|o| o.quintile),
                n: g.n,
                suppressed: g.suppressed,
                reason: g.reason,
                message: g.message,
                message_de: g.message_de,
                stats: g.stats,
                noise: g.noise,
                publication: publication.clone(),
            })
            .collect()
    }
}

/// A time series of one key figure.
#[derive(Debug, Clone, PartialEq, Serialize)]
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
    /// The years from which the key figure counts something else than the
    /// year before (its definition or an input's changed, issue 29):
    /// points on both sides of one are not comparable. Empty: none.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub breaks: Vec<i32>,
}

mod finish;
mod noisy;
#[cfg(test)]
mod tests;
