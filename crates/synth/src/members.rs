//! Synthetic members: kinds, Länder, official regional keys, names and populations.

use std::collections::HashSet;

use rand::RngExt;
use vergleichsring_catalog::{LAENDER, MemberKind};

use crate::MemberSpec;
use crate::draw::{Rng, log_normal, stream, uniform};

/// Inhabitants in millions per Land, in the order of [`LAENDER`], so members are
/// spread over the Länder roughly as people are.
const LAND_WEIGHTS: [f64; 16] = [
    2.95, 1.9, 8.1, 0.68, 18.1, 6.4, 4.2, 11.3, 13.4, 0.99, 3.8, 2.6, 1.6, 4.1, 2.2, 2.1,
];

/// Hamburg, Bremen and Berlin (indices into [`LAENDER`]) have neither Landkreise
/// nor kreisangehörige Gemeinden, so only kreisfreie Städte are placed there.
const CITY_STATES: [usize; 3] = [1, 3, 10];

/// First syllables of place names.
const STEMS: [&str; 40] = [
    "Rosen", "Neu", "Birk", "Falk", "Eichen", "Linden", "Berg", "Wald", "Alt", "Hohen", "Stein",
    "Buch", "Tann", "Mühl", "Wolfs", "Hirsch", "Kirch", "Brunn", "Hasel", "Fichten", "Ober",
    "Nieder", "Sonnen", "Weiden", "Erlen", "Greifen", "Adler", "Hain", "Lauter", "Kronen",
    "Eschen", "Ahorn", "Biber", "Fuchs", "Bären", "Schwan", "Lerchen", "Rein", "Schön", "Grün",
];

/// Last syllables of place names.
const SUFFIXES: [&str; 24] = [
    "heim", "hausen", "au", "dorf", "feld", "bach", "berg", "burg", "stadt", "stedt", "ingen",
    "wald", "hagen", "rode", "brück", "kirchen", "furt", "weiler", "ow", "itz", "hofen", "born",
    "beck", "tal",
];

/// Rivers for the rare name that needs a distinguishing addition.
const RIVERS: [&str; 8] = [
    "Lahn", "Fulda", "Werra", "Ilm", "Saale", "Nahe", "Lauter", "Wupper",
];

/// A generated member together with the population it starts from.
pub(crate) struct Member {
    /// What the API shows of the member.
    pub spec: MemberSpec,
    /// The population in the reference year 2020, before the yearly drift.
    pub population: f64,
}

/// Generates `n` members from `seed`.
pub(crate) fn generate(n: usize, seed: u64) -> Vec<Member> {
    let mut rng = stream(seed, &[0]);
    let kinds = kinds(n, &mut rng);
    let lands = lands(&kinds, &mut rng);
    let mut ids = HashSet::new();
    let mut names = HashSet::new();
    let mut members: Vec<Member> = kinds
        .iter()
        .zip(lands)
        .enumerate()
        .map(|(i, (&kind, land))| {
            let population = population(i, kind, &mut rng);
            let member_id = member_id(kind, land, &mut ids, &mut rng);
            let name = name(kind, population, &mut names, &mut rng);
            Member {
                spec: MemberSpec {
                    member_id,
                    name,
                    kind,
                    area_km2: 0.0,
                    degurba: 0.0,
                },
                population,
            }
        })
        .collect();
    crate::structure::assign(&mut members);
    members
}

/// About 6 % kreisfreie Städte (at least the first three, which become large
/// cities), 12 % Landkreise (at most [`MAX_COUNTIES`]) and the rest
/// kreisangehörige Gemeinden.
/// The five-digit keys of Landkreise (700 per Land with Kreise) run out
/// beyond about 9,000; a larger ring (ten times Germany, for benchmarks)
/// has more Gemeinden instead. Rings up to 66,000 members are unchanged.
const MAX_COUNTIES: usize = 8_000;

fn kinds(n: usize, rng: &mut Rng) -> Vec<MemberKind> {
    let big = n.min(3);
    let cities = ((n as f64 * 0.06).round() as usize).max(big).min(n);
    let counties = ((n as f64 * 0.12).round() as usize)
        .min(MAX_COUNTIES)
        .min(n - cities);
    let mut rest: Vec<MemberKind> = std::iter::repeat_n(MemberKind::KreisfreieStadt, cities - big)
        .chain(std::iter::repeat_n(MemberKind::Landkreis, counties))
        .chain(std::iter::repeat_n(
            MemberKind::KreisangehoerigeGemeinde,
            n - cities - counties,
        ))
        .collect();
    shuffle(&mut rest, rng);
    let mut kinds = vec![MemberKind::KreisfreieStadt; big];
    kinds.extend(rest);
    kinds
}

/// Assigns a Land (index into [`LAENDER`]) to every member: first one member per
/// Land so that all 16 appear, then the rest weighted by population.
fn lands(kinds: &[MemberKind], rng: &mut Rng) -> Vec<usize> {
    let mut lands: Vec<Option<usize>> = vec![None; kinds.len()];
    if kinds.len() >= LAENDER.len() {
        let mut order: Vec<usize> = (0..LAENDER.len()).collect();
        let mut members: Vec<usize> = (0..kinds.len()).collect();
        shuffle(&mut order, rng);
        shuffle(&mut members, rng);
        // City-states go first because only kreisfreie Städte fit them and a
        // small ring may have no more than three.
        order.sort_by_key(|l| !CITY_STATES.contains(l));
        for land in order {
            if let Some(&m) = members
                .iter()
                .find(|&&m| lands[m].is_none() && fits(land, kinds[m]))
            {
                lands[m] = Some(land);
            }
        }
    }
    kinds
        .iter()
        .zip(lands)
        .map(|(&kind, land)| {
            land.unwrap_or_else(|| {
                let options: Vec<usize> = (0..16).filter(|&l| fits(l, kind)).collect();
                let total: f64 = options.iter().map(|&l| LAND_WEIGHTS[l]).sum();
                let mut u = uniform(rng, 0.0, total);
                // Falling off the end (rounding) keeps the last Land.
                options
                    .iter()
                    .copied()
                    .find(|&l| {
                        u -= LAND_WEIGHTS[l];
                        u < 0.0
                    })
                    .unwrap_or(options[options.len() - 1])
            })
        })
        .collect()
}

/// Whether a member of `kind` can lie in `land`.
fn fits(land: usize, kind: MemberKind) -> bool {
    kind == MemberKind::KreisfreieStadt || !CITY_STATES.contains(&land)
}

/// Log-normal populations per kind; the first three members are large cities so
/// that every ring has a few members in the top size class.
fn population(i: usize, kind: MemberKind, rng: &mut Rng) -> f64 {
    let p = match kind {
        _ if i < 3 => uniform(rng, 600_000f64.ln(), 1_500_000f64.ln()).exp(),
        MemberKind::KreisfreieStadt => log_normal(rng, 150_000.0, 0.75, 35_000.0, 3_600_000.0),
        MemberKind::Landkreis => log_normal(rng, 180_000.0, 0.45, 60_000.0, 600_000.0),
        MemberKind::KreisangehoerigeGemeinde => log_normal(rng, 22_000.0, 0.8, 3_000.0, 180_000.0),
    };
    p.round()
}

/// An unused official regional key: Land code, three district digits and, for
/// municipalities, three municipality digits (000 for kreisfreie Städte).
fn member_id(
    kind: MemberKind,
    mut land: usize,
    used: &mut HashSet<String>,
    rng: &mut Rng,
) -> String {
    let mut attempt = 0usize;
    loop {
        // A full Land moves the member to another Land that fits its kind, so
        // very large rings still find free keys.
        if attempt > 0 && attempt.is_multiple_of(200) {
            let options: Vec<usize> = (0..16).filter(|&l| fits(l, kind)).collect();
            land = options[rng.random_range(0..options.len())];
        }
        let code = LAENDER[land].0;
        let id = match kind {
            MemberKind::Landkreis => format!("{code}{:03}", rng.random_range(300..1000)),
            MemberKind::KreisfreieStadt if attempt < 50 => {
                format!("{code}{:03}000", rng.random_range(100..300))
            }
            _ => format!(
                "{code}{:03}{:03}",
                rng.random_range(300..1000),
                rng.random_range(1..1000)
            ),
        };
        if used.insert(id.clone()) {
            return id;
        }
        attempt += 1;
    }
}

/// A unique German-sounding name such as "Stadt Rosenheim" or "Gemeinde Neubirkhausen".
fn name(kind: MemberKind, population: f64, used: &mut HashSet<String>, rng: &mut Rng) -> String {
    let title = match kind {
        MemberKind::Landkreis => "Landkreis",
        MemberKind::KreisangehoerigeGemeinde if population < 20_000.0 => "Gemeinde",
        _ => "Stadt",
    };
    let mut attempt = 0usize;
    loop {
        let mut core = STEMS[rng.random_range(0..STEMS.len())].to_string();
        if rng.random_bool(0.3) {
            core.push_str(&STEMS[rng.random_range(0..STEMS.len())].to_lowercase());
        }
        core.push_str(SUFFIXES[rng.random_range(0..SUFFIXES.len())]);
        if attempt >= 100 {
            core = format!(
                "{core} an der {}",
                RIVERS[rng.random_range(0..RIVERS.len())]
            );
        }
        if attempt >= 1000 {
            core = format!("{core} {attempt}");
        }
        // Names are unique by their core, so no Stadt and Landkreis share one.
        if used.insert(core.clone()) {
            return format!("{title} {core}");
        }
        attempt += 1;
    }
}

/// Fisher–Yates shuffle on our own stream, which keeps the order reproducible.
fn shuffle<T>(items: &mut [T], rng: &mut Rng) {
    for i in (1..items.len()).rev() {
        items.swap(i, rng.random_range(0..=i));
    }
}
