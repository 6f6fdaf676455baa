//! Structural types (the ONS way): the members of a (domain, year)
//! clustered by k-means on the neighbours' standardised variables
//! (`neighbours.rs`), municipalities and Landkreise apart, into at most
//! `types` and `county_types` types, each with at least the threshold of
//! members and at least twice a neighbour group (fewer types where one
//! would fall below). The start is
//! k-means++ from a fixed seed, so that every replica and every request
//! finds the same types. Each type has an id (`typ_1`…, `kreistyp_1`…,
//! largest population first) and a German description of its centre.

use crate::disclose::neighbours::{Class, Structures, squared};
use crate::read::year::Assignment;

/// Iterations of Lloyd's algorithm at most (the types settle long before).
const ITERATIONS: usize = 100;

/// The fixed seed of the k-means++ start.
const SEED: u64 = 0x5eed_0030;

/// One step of SplitMix64: a small, fixed generator for the start, so that
/// the types never depend on a library's random stream.
fn next(state: &mut u64) -> u64 {
    *state = state.wrapping_add(0x9e37_79b9_7f4a_7c15);
    let mut z = *state;
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

/// k-means of `points` into `k` clusters: each point's cluster.
pub(crate) fn kmeans(points: &[&[f64]], k: usize) -> Vec<usize> {
    let n = points.len();
    if n == 0 || k <= 1 {
        return vec![0; n];
    }
    let mut state = SEED;
    // k-means++: the first centre the first point, each next one drawn
    // with probability proportional to the squared distance to the
    // nearest centre so far.
    let mut centres: Vec<Vec<f64>> = vec![points[0].to_vec()];
    let mut nearest: Vec<f64> = points.iter().map(|p| squared(p, &centres[0])).collect();
    while centres.len() < k {
        let total: f64 = nearest.iter().sum();
        if total <= 0.0 {
            break;
        }
        let r = (next(&mut state) >> 11) as f64 / (1u64 << 53) as f64 * total;
        let mut acc = 0.0;
        let pick = nearest
            .iter()
            .position(|d| {
                acc += d;
                acc >= r
            })
            .unwrap_or(n - 1);
        centres.push(points[pick].to_vec());
        for (d, p) in nearest.iter_mut().zip(points) {
            *d = d.min(squared(p, &centres[centres.len() - 1]));
        }
    }
    let mut of = vec![0usize; n];
    for _ in 0..ITERATIONS {
        let mut moved = false;
        for (i, p) in points.iter().enumerate() {
            let best = (0..centres.len())
                .min_by(|&a, &b| squared(p, &centres[a]).total_cmp(&squared(p, &centres[b])))
                .unwrap_or(0);
            if of[i] != best {
                of[i] = best;
                moved = true;
            }
        }
        for (c, centre) in centres.iter_mut().enumerate() {
            let members: Vec<&&[f64]> = points
                .iter()
                .zip(&of)
                .filter(|(_, o)| **o == c)
                .map(|(p, _)| p)
                .collect();
            if members.is_empty() {
                continue;
            }
            for (v, x) in centre.iter_mut().enumerate() {
                *x = members.iter().map(|p| p[v]).sum::<f64>() / members.len() as f64;
            }
        }
        if !moved {
            break;
        }
    }
    of
}

/// The clusters of one class with at least `threshold` members each:
/// k-means with `k` clusters (fewer where the class is small), then each
/// cluster below the threshold, smallest first, handed member by member
/// to the nearest other cluster's centre (the outliers, such as the few
/// large cities, join their nearest type instead of costing every type).
fn clusters(points: &[&[f64]], k: usize, threshold: usize) -> Vec<usize> {
    let k = k.min(points.len() / threshold.max(1)).max(1);
    let mut of = kmeans(points, k);
    loop {
        let mut sizes = vec![0usize; k];
        for &c in &of {
            sizes[c] += 1;
        }
        let Some(small) = (0..k)
            .filter(|&c| sizes[c] > 0 && sizes[c] < threshold)
            .min_by_key(|&c| (sizes[c], c))
        else {
            break;
        };
        if sizes.iter().filter(|&&n| n > 0).count() < 2 {
            break;
        }
        let centres: Vec<Option<Vec<f64>>> = (0..k)
            .map(|c| {
                let members: Vec<&&[f64]> = points
                    .iter()
                    .zip(&of)
                    .filter(|(_, o)| **o == c)
                    .map(|(p, _)| p)
                    .collect();
                (c != small && !members.is_empty()).then(|| {
                    (0..points[0].len())
                        .map(|v| members.iter().map(|p| p[v]).sum::<f64>() / members.len() as f64)
                        .collect()
                })
            })
            .collect();
        for (p, o) in points.iter().zip(of.iter_mut()) {
            if *o != small {
                continue;
            }
            if let Some((c, _)) = centres
                .iter()
                .enumerate()
                .filter_map(|(c, centre)| centre.as_ref().map(|x| (c, squared(p, x))))
                .min_by(|a, b| a.1.total_cmp(&b.1))
            {
                *o = c;
            }
        }
    }
    // Numbered without gaps.
    let mut number = vec![usize::MAX; k];
    let mut next = 0;
    of.into_iter()
        .map(|c| {
            if number[c] == usize::MAX {
                number[c] = next;
                next += 1;
            }
            number[c]
        })
        .collect()
}

/// The German words for a centre: size and settlement.
fn describe(class: Class, variables: &[String], centre: &[f64]) -> String {
    let get = |name: &str| {
        variables
            .iter()
            .position(|v| v == name)
            .and_then(|i| centre.get(i))
            .copied()
    };
    let mut words = Vec::new();
    if let Some(lp) = get("log_population") {
        let p = lp.exp();
        let size = match class {
            Class::Landkreis if p >= 250_000.0 => "große Landkreise",
            Class::Landkreis if p >= 150_000.0 => "mittlere Landkreise",
            Class::Landkreis => "kleinere Landkreise",
            Class::Municipality if p >= 100_000.0 => "Großstädte",
            Class::Municipality if p >= 20_000.0 => "Mittelstädte",
            Class::Municipality if p >= 5_000.0 => "Kleinstädte",
            Class::Municipality => "Landgemeinden",
        };
        words.push(format!("{size} (um {} Einw.)", german_round(p)));
    }
    if let Some(d) = get("log_density") {
        let density = d.exp();
        let kind = if density >= 1000.0 {
            "dicht besiedelt"
        } else if density >= 300.0 {
            "städtisch verdichtet"
        } else if density >= 100.0 {
            "teils ländlich"
        } else {
            "dünn besiedelt"
        };
        words.push(format!("{kind} (um {} Einw./km²)", german_round(density)));
    }
    if let Some(u) = get("degurba") {
        words.push(format!(
            "Verstädterungsgrad {}",
            format!("{u:.1}").replace('.', ",")
        ));
    }
    if words.is_empty() {
        words.push("nach den Variablen des Rings".to_string());
    }
    words.join(", ")
}

/// A number rounded to two significant digits, German thousands.
fn german_round(x: f64) -> String {
    let digits = x.max(1.0).log10().floor() as i32;
    let unit = 10f64.powi((digits - 1).max(0));
    let r = ((x / unit).round() * unit) as u64;
    let s = r.to_string();
    let mut out = String::new();
    for (i, c) in s.chars().enumerate() {
        if i > 0 && (s.len() - i).is_multiple_of(3) {
            out.push('.');
        }
        out.push(c);
    }
    out
}

/// The structural type of each current row of a year (in current-row
/// order) as a grouping, from its candidates `s`; `row_ids` are the
/// current rows' member ids.
pub(crate) fn assignment<'a>(
    s: &Structures,
    types: usize,
    county_types: usize,
    threshold: usize,
    row_ids: impl Iterator<Item = &'a str>,
) -> Assignment {
    let mut groups: Vec<(String, String)> = Vec::new();
    let mut of_candidate: Vec<Option<u32>> = vec![None; s.candidates.len()];
    for (class, k, prefix) in [
        (Class::Municipality, types, "typ"),
        (Class::Landkreis, county_types, "kreistyp"),
    ] {
        let idx: Vec<usize> = (0..s.candidates.len())
            .filter(|&i| s.candidates[i].class == class)
            .collect();
        if idx.len() < threshold.max(1) {
            continue;
        }
        let points: Vec<&[f64]> = idx
            .iter()
            .map(|&i| s.candidates[i].scaled.as_slice())
            .collect();
        let of = clusters(&points, k, threshold);
        let count = of.iter().max().map_or(0, |m| m + 1);
        // Each cluster's centre in the variables' own units, and the
        // order: the largest population (or first variable) first.
        let mut centres: Vec<(usize, Vec<f64>)> = (0..count)
            .map(|c| {
                let members: Vec<usize> = idx
                    .iter()
                    .zip(&of)
                    .filter(|(_, o)| **o == c)
                    .map(|(i, _)| *i)
                    .collect();
                let centre = (0..s.variables.len())
                    .map(|v| {
                        members.iter().map(|&i| s.candidates[i].raw[v]).sum::<f64>()
                            / members.len().max(1) as f64
                    })
                    .collect();
                (c, centre)
            })
            .collect();
        centres.sort_by(|a, b| {
            b.1.first()
                .unwrap_or(&0.0)
                .total_cmp(a.1.first().unwrap_or(&0.0))
        });
        for (rank, (c, centre)) in centres.iter().enumerate() {
            let number = groups.len() as u32;
            groups.push((
                format!("{prefix}_{}", rank + 1),
                format!(
                    "{} {}: {}",
                    if class == Class::Landkreis {
                        "Kreistyp"
                    } else {
                        "Typ"
                    },
                    rank + 1,
                    describe(class, &s.variables, centre)
                ),
            ));
            for (i, o) in idx.iter().zip(&of) {
                if o == c {
                    of_candidate[*i] = Some(number);
                }
            }
        }
    }
    Assignment {
        groups,
        of_row: row_ids
            .map(|m| s.find(m).and_then(|i| of_candidate[i]))
            .collect(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kmeans_separates_clear_clusters_the_same_way_every_time() {
        let raw: Vec<Vec<f64>> = (0..30)
            .map(|i| {
                let c = (i % 3) as f64 * 10.0;
                vec![c + (i as f64 * 0.01), c - (i as f64 * 0.02)]
            })
            .collect();
        let points: Vec<&[f64]> = raw.iter().map(Vec::as_slice).collect();
        let of = kmeans(&points, 3);
        for i in 0..30 {
            for j in 0..30 {
                assert_eq!(of[i] == of[j], i % 3 == j % 3, "{i} {j}");
            }
        }
        assert_eq!(of, kmeans(&points, 3), "a fixed seed");
        // Three clusters of ten with a threshold of eleven: fewer types.
        let fewer = clusters(&points, 3, 11);
        let mut sizes = [0usize; 3];
        for c in fewer {
            sizes[c] += 1;
        }
        assert!(sizes.iter().all(|&s| s == 0 || s >= 11), "{sizes:?}");
    }

    #[test]
    fn numbers_are_rounded_the_german_way() {
        assert_eq!(german_round(45_321.0), "45.000");
        assert_eq!(german_round(1_234_567.0), "1.200.000");
        assert_eq!(german_round(87.0), "87");
    }
}
