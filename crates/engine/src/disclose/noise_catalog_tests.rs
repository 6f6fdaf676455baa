//! Tests of the perturbation against the bundled catalogue's SQL: role
//! signs make every key figure released in full move by at least
//! `noise_min` for every member, identities between key figures hold on
//! perturbed figures, and the same figures give bit-identical perturbed
//! statistics however often and in whatever order they are computed.

use std::sync::Arc;

use proptest::prelude::*;
use vergleichsring_catalog::{Catalog, NoiseRole, Release};

use crate::disclose::noise::Noise;
use crate::read::load::year_of_rows;
use crate::read::snapshot::{StoredRow, SubmissionMeta};

fn row(i: usize, id: &str, basic: Vec<Option<f64>>) -> Arc<StoredRow> {
    Arc::new(StoredRow {
        meta: Arc::new(SubmissionMeta {
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
    })
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap_or_else(|e| panic!("runtime: {e}"))
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(24))]

    #[test]
    fn every_key_figure_released_in_full_moves_by_at_least_noise_min(
        key in any::<[u8; 32]>(),
        scales in prop::collection::vec(0.5f64..2.0, 30),
    ) {
        let catalog = Catalog::bundled().unwrap_or_else(|e| panic!("{e}"));
        let noise = Noise::new(key, 0.05, 0.10);
        for d in &catalog.domains {
            // Every basic figure positive (a zero is not protected, rule
            // 15), the population public, expenditure above the incomes
            // (a net cost is positive in every real ring).
            let rows: Vec<Arc<StoredRow>> = (0..30)
                .map(|i| {
                    let basic = d
                        .basic_figures
                        .iter()
                        .enumerate()
                        .map(|(f, b)| {
                            let spend = if b.id == "expenditure_total" { 10.0 } else { 1.0 };
                            Some(1000.0 * spend * scales[i] * (1.0 + f as f64 * 0.37))
                        })
                        .collect();
                    row(i, &format!("05{:06}", i + 1), basic)
                })
                .collect();
            let year = runtime()
                .block_on(year_of_rows(d, rows, Some(&noise)))
                .unwrap_or_else(|e| panic!("{e}"));
            let twin = &year.perturbed().unwrap_or_else(|| panic!("a twin")).year;
            for (k, kf) in d.key_figures.iter().enumerate() {
                let truth = year.key_columns().figure(k);
                let noisy = twin.key_columns().figure(k);
                // A ratio with the `free` vertex of a triangle moves apart
                // for about half the members (its sign is its own).
                let free = d.basic_figures.iter().any(|b| {
                    b.role() == NoiseRole::Free && kf.formula.contains(b.id.as_str())
                });
                let (mut moved_enough, mut n) = (0, 0);
                for i in 0..year.len() {
                    let (Some(t), Some(p)) = (truth.value(i), noisy.value(i)) else {
                        continue;
                    };
                    let moved = (p / t - 1.0).abs();
                    n += 1;
                    moved_enough += usize::from(moved >= 0.05 - 1e-12);
                    if kf.release == Release::Full && !free {
                        prop_assert!(
                            moved >= 0.05 - 1e-12,
                            "{}.{} of member {i} moved by {moved}",
                            d.id,
                            kf.id
                        );
                    }
                }
                if free && n > 0 && kf.formula.contains('/') {
                    let share = moved_enough as f64 / n as f64;
                    prop_assert!(share > 0.15, "{}.{}: {share}", d.id, kf.id);
                }
            }
            // An identity between key figures holds on perturbed figures:
            // library expenditure per loan × loans per capita = expenditure
            // per capita.
            if d.id == "library" {
                let at = |id: &str| d.key_figure_index(id).unwrap_or_else(|| panic!("{id}"));
                let (cost, loans, spend) = (at("cost_per_loan"), at("loans_per_capita"), at("expenditure_per_capita"));
                for i in 0..twin.len() {
                    let c = twin.key_columns().figure(cost).value(i).unwrap_or(f64::NAN);
                    let l = twin.key_columns().figure(loans).value(i).unwrap_or(f64::NAN);
                    let s = twin.key_columns().figure(spend).value(i).unwrap_or(f64::NAN);
                    prop_assert!(((c * l) / s - 1.0).abs() < 1e-12);
                }
            }
        }
    }
}

#[test]
fn the_same_figures_give_bit_identical_perturbed_key_figures() {
    let catalog = Catalog::bundled().unwrap_or_else(|e| panic!("{e}"));
    let d = catalog
        .domain("library")
        .unwrap_or_else(|| panic!("library"));
    let noise = Noise::new([3; 32], 0.05, 0.10);
    let rows = |order: &[usize]| -> Vec<Arc<StoredRow>> {
        order
            .iter()
            .map(|&i| {
                let basic = (0..d.basic_figures.len())
                    .map(|f| Some(100.0 + (i * 7 + f * 13) as f64))
                    .collect();
                row(i, &format!("05{:06}", i + 1), basic)
            })
            .collect()
    };
    let a = runtime()
        .block_on(year_of_rows(d, rows(&[0, 1, 2, 3, 4, 5]), Some(&noise)))
        .unwrap_or_else(|e| panic!("{e}"));
    // Another process (a new key object from the same secret), the rows
    // in another order.
    let again = Noise::new([3; 32], 0.05, 0.10);
    let b = runtime()
        .block_on(year_of_rows(d, rows(&[5, 3, 1, 0, 2, 4]), Some(&again)))
        .unwrap_or_else(|e| panic!("{e}"));
    let (pa, pb) = match (a.perturbed(), b.perturbed()) {
        (Some(x), Some(y)) => (x, y),
        _ => panic!("twins"),
    };
    for k in 0..d.key_figures.len() {
        for m in 0..6 {
            let id = format!("05{:06}", m + 1);
            let va = pa
                .year
                .key_of(&id)
                .and_then(|r| r.values.get(k))
                .map(f64::to_bits);
            let vb = pb
                .year
                .key_of(&id)
                .and_then(|r| r.values.get(k))
                .map(f64::to_bits);
            assert_eq!(va, vb, "key figure {k} of {id}");
        }
    }
    // Another secret gives other multipliers.
    let other = Noise::new([4; 32], 0.05, 0.10);
    let c = runtime()
        .block_on(year_of_rows(d, rows(&[0, 1, 2, 3, 4, 5]), Some(&other)))
        .unwrap_or_else(|e| panic!("{e}"));
    let first = |y: &crate::read::snapshot::YearData| {
        y.perturbed()
            .and_then(|p| p.year.key_of("05000001"))
            .and_then(|r| r.values.get(0))
    };
    assert_ne!(first(&a), first(&c));
}

/// Thirty members' rows of a domain: every figure positive, expenditure
/// above the incomes, `scale(f)` applied to basic figure `f`.
fn scaled_rows(
    d: &vergleichsring_catalog::Domain,
    scale: impl Fn(usize) -> f64,
) -> Vec<Arc<StoredRow>> {
    (0..30)
        .map(|i| {
            let basic = d
                .basic_figures
                .iter()
                .enumerate()
                .map(|(f, b)| {
                    let spend = if b.id == "expenditure_total" {
                        10.0
                    } else {
                        1.0
                    };
                    // Irregular across members and figures, so no ratio of
                    // two figures is the same for every member by chance.
                    let jitter = ((i * 31 + f * 17) * 2_654_435_761 % 1_000) as f64 / 1_000.0;
                    let member = (0.5 + 0.05 * i as f64) * (1.0 + 0.3 * jitter);
                    Some(1000.0 * spend * member * (1.0 + f as f64 * 0.37) * scale(f))
                })
                .collect();
            row(i, &format!("05{:06}", i + 1), basic)
        })
        .collect()
}

/// A value an attacker derives from two key figures of one member: their
/// quotient or product.
fn derived(
    year: &crate::read::snapshot::YearData,
    a: usize,
    b: usize,
    product: bool,
    i: usize,
) -> Option<f64> {
    let x = year.key_columns().figure(a).value(i)?;
    let y = year.key_columns().figure(b).value(i)?;
    Some(if product { x * y } else { x / y })
}

/// The key figures of a domain over the rows of [`scaled_rows`] with its
/// perturbed twin, and the same with each private basic figure doubled in
/// turn (true values only), to tell what a derived value depends on.
struct Runs {
    truth: crate::read::snapshot::YearData,
    private: Vec<usize>,
    doubled: Vec<crate::read::snapshot::YearData>,
}

impl Runs {
    fn of(d: &vergleichsring_catalog::Domain, noise: &Noise) -> Runs {
        let run = |rows, noise| {
            runtime()
                .block_on(year_of_rows(d, rows, noise))
                .unwrap_or_else(|e| panic!("{e}"))
        };
        let private: Vec<usize> = (0..d.basic_figures.len())
            .filter(|&f| d.basic_figures[f].role() != NoiseRole::Public)
            .collect();
        let doubled = private
            .iter()
            .map(|&f| run(scaled_rows(d, |g| if g == f { 2.0 } else { 1.0 }), None))
            .collect();
        Runs {
            truth: run(scaled_rows(d, |_| 1.0), Some(noise)),
            private,
            doubled,
        }
    }

    /// The private figures the quotient or product of key figures a and b
    /// depends on.
    fn depends_on(&self, a: usize, b: usize, product: bool) -> Vec<usize> {
        let Some(base) = derived(&self.truth, a, b, product, 0) else {
            return Vec::new();
        };
        self.private
            .iter()
            .zip(&self.doubled)
            .filter(|(_, y)| {
                derived(y, a, b, product, 0).is_some_and(|v| (v / base - 1.0).abs() > 1e-9)
            })
            .map(|(&f, _)| f)
            .collect()
    }
}

/// The indices of a domain's key figures released as `release`.
fn released(d: &vergleichsring_catalog::Domain, release: Release) -> Vec<usize> {
    (0..d.key_figures.len())
        .filter(|&k| d.key_figures[k].release == release)
        .collect()
}

/// The triangle rule (rule 14): a key figure released as a mean only must
/// not follow, member by member, from the quotient or product of two key
/// figures released in full (breaker29b: the theatre's municipal share of
/// the allocations from the municipal and the public allocations per
/// inhabitant).
#[test]
fn no_mean_only_key_figure_follows_from_two_released_in_full() {
    let catalog = Catalog::bundled().unwrap_or_else(|e| panic!("{e}"));
    let noise = Noise::new([7; 32], 0.05, 0.10);
    let mut failures = Vec::new();
    for d in &catalog.domains {
        let truth = Runs::of(d, &noise).truth;
        let full = released(d, Release::Full);
        // A figure with a `free` input moves apart for about half the
        // members however it is derived (its sign is its own).
        let free = |k: usize| {
            d.inputs(&d.key_figures[k])
                .iter()
                .any(|b| b.role() == NoiseRole::Free)
        };
        for m in released(d, Release::MeanOnly)
            .into_iter()
            .filter(|&m| !free(m))
        {
            for (n, &a) in full.iter().enumerate() {
                for &b in &full[n + 1..] {
                    for product in [false, true] {
                        let ratios: Vec<f64> = (0..truth.len())
                            .filter_map(|i| {
                                let v = truth.key_columns().figure(m).value(i)?;
                                Some(v / derived(&truth, a, b, product, i)?)
                            })
                            .collect();
                        let constant = ratios.len() > 2
                            && ratios.iter().all(|r| (r / ratios[0] - 1.0).abs() < 1e-9);
                        if constant {
                            failures.push(format!(
                                "{}: {} from {} and {}",
                                d.id, d.key_figures[m].id, d.key_figures[a].id, d.key_figures[b].id
                            ));
                        }
                    }
                }
            }
        }
    }
    assert!(failures.is_empty(), "{failures:#?}");
}

/// Rule 15 for pairs: two key figures released in full give, member by
/// member, their quotient and product; where one of those depends on only
/// one or two private basic figures (an input they share cancels), it is a
/// value of its own and should move by at least `noise_min` for every
/// member, as a key figure must. Role signs cannot give that: every figure
/// per inhabitant shares the public population with every other, so each
/// pair of their numerators is such a value, and two signs cannot set
/// three or more figures apart. Today 40 pairs over the five domains fail
/// (library stock over visits, VHS fees per teaching hour, ...).
#[test]
#[ignore = "finding: 40 pairs of key figures released in full give a ratio of two private figures with the same role (per-capita figures above all); role signs alone cannot separate them, a decision on rule 15 is needed"]
fn no_two_key_figures_released_in_full_give_a_value_without_noise() {
    let catalog = Catalog::bundled().unwrap_or_else(|e| panic!("{e}"));
    let noise = Noise::new([7; 32], 0.05, 0.10);
    let mut failures = Vec::new();
    for d in &catalog.domains {
        let runs = Runs::of(d, &noise);
        let twin = &runs
            .truth
            .perturbed()
            .unwrap_or_else(|| panic!("a twin"))
            .year;
        let full = released(d, Release::Full);
        for (n, &a) in full.iter().enumerate() {
            for &b in &full[n + 1..] {
                for product in [false, true] {
                    let deps = runs.depends_on(a, b, product);
                    let free = deps
                        .iter()
                        .any(|&f| d.basic_figures[f].role() == NoiseRole::Free);
                    if deps.is_empty() || deps.len() > 2 || free {
                        continue;
                    }
                    let still = (0..runs.truth.len()).any(|i| {
                        match (
                            derived(&runs.truth, a, b, product, i),
                            derived(twin, a, b, product, i),
                        ) {
                            (Some(t), Some(p)) => (p / t - 1.0).abs() < 0.05 - 1e-12,
                            _ => false,
                        }
                    });
                    if still {
                        let names: Vec<&str> = deps
                            .iter()
                            .map(|&f| d.basic_figures[f].id.as_str())
                            .collect();
                        failures.push(format!(
                            "{}: {} {} {} gives {names:?}",
                            d.id,
                            d.key_figures[a].id,
                            if product { "×" } else { "÷" },
                            d.key_figures[b].id
                        ));
                    }
                }
            }
        }
    }
    assert!(
        failures.is_empty(),
        "{} pairs: {failures:#?}",
        failures.len()
    );
}
