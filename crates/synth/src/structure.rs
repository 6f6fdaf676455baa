//! A structure for each generated member: area and degree of urbanisation
//! borrowed from its *twin*, the municipality (a Landkreis: the Kreis) of
//! the official register in the same Land whose population is nearest to
//! the member's, so that a synthetic ring's densities and settlement types
//! are as varied as Germany's. The area is scaled to keep the twin's
//! density at the member's population. Deterministic: no random draw, so
//! the figures of every seed stay what they were.

use std::collections::BTreeMap;

use vergleichsring_catalog::MemberKind;
use vergleichsring_catalog::register::Register;

use crate::members::Member;

/// (population, density per km², degree of urbanisation) of the twins of
/// one Land and class, by population.
type Twins = Vec<(f64, f64, f64)>;

/// Gives every member its twin's structure.
pub(crate) fn assign(members: &mut [Member]) {
    let register = Register::bundled();
    let mut twins: BTreeMap<(String, bool), Twins> = BTreeMap::new();
    let mut kreise: BTreeMap<String, ()> = BTreeMap::new();
    for m in register.municipalities() {
        kreise.insert(m.kreis.clone(), ());
        if let Some(s) = register.structure(&m.ags).filter(|s| s.population > 0) {
            twins
                .entry((m.ags[..2].to_string(), false))
                .or_default()
                .push((
                    s.population as f64,
                    s.population as f64 / s.area_km2,
                    s.degurba,
                ));
        }
    }
    for kreis in kreise.keys() {
        // A Kreis of one municipality is a kreisfreie Stadt, no Landkreis.
        if let Some(s) = register
            .structure(kreis)
            .filter(|s| s.municipalities > 1 && s.population > 0)
        {
            twins
                .entry((kreis[..2].to_string(), true))
                .or_default()
                .push((
                    s.population as f64,
                    s.population as f64 / s.area_km2,
                    s.degurba,
                ));
        }
    }
    for t in twins.values_mut() {
        t.sort_by(|a, b| a.0.total_cmp(&b.0));
    }
    for m in members.iter_mut() {
        let county = m.spec.kind == MemberKind::Landkreis;
        let land = m.spec.member_id.get(..2).unwrap_or("05").to_string();
        // Stadtstaaten have no Landkreise: any Land's will do.
        let list = twins
            .get(&(land, county))
            .or_else(|| twins.get(&("05".to_string(), county)));
        let Some(list) = list.filter(|l| !l.is_empty()) else {
            continue;
        };
        let at = list.partition_point(|t| t.0 < m.population);
        let twin = [at.saturating_sub(1), at.min(list.len() - 1)]
            .into_iter()
            .min_by(|&a, &b| {
                (list[a].0 - m.population)
                    .abs()
                    .total_cmp(&(list[b].0 - m.population).abs())
            })
            .map_or(list[0], |i| list[i]);
        m.spec.area_km2 = (m.population / twin.1.max(1.0) * 100.0).round() / 100.0;
        m.spec.degurba = (twin.2 * 1000.0).round() / 1000.0;
    }
}
