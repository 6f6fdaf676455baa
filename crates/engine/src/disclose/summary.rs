//! Peer statistics of one group, in double precision. Pure functions; the
//! property tests in this file check them against a naive reference.

use vergleichsring_catalog::Direction;

/// The Hyndman–Fan type 7 quantile of sorted values (Excel's PERCENTILE.INC,
/// R's and numpy's default): h = (n − 1)p, interpolate linearly between the
/// values at floor(h) and floor(h) + 1 (0-based).
pub fn quantile_type7(sorted: &[f64], p: f64) -> Option<f64> {
    let n = sorted.len();
    if n == 0 || !(0.0..=1.0).contains(&p) {
        return None;
    }
    let h = (n - 1) as f64 * p;
    let lo = h.floor() as usize;
    let hi = (lo + 1).min(n - 1);
    let frac = h - lo as f64;
    Some(sorted[lo] + frac * (sorted[hi] - sorted[lo]))
}

/// The summary statistics of a group's non-null values.
#[derive(Debug, Clone, PartialEq)]
pub struct Summary {
    /// Number of values.
    pub n: usize,
    /// Unweighted arithmetic mean.
    pub mean: f64,
    /// Type-7 median.
    pub median: f64,
    /// Type-7 25th percentile.
    pub p25: f64,
    /// Type-7 75th percentile.
    pub p75: f64,
    /// Type-7 10th percentile.
    pub p10: f64,
    /// Type-7 90th percentile.
    pub p90: f64,
    /// Sample standard deviation (n − 1); `None` for a single value.
    pub std_dev: Option<f64>,
    /// Smallest value.
    pub min: f64,
    /// Largest value.
    pub max: f64,
}

/// Summarises values (which must be finite); `None` for an empty group.
pub fn summarize(values: &[f64]) -> Option<Summary> {
    if values.is_empty() {
        return None;
    }
    // Materialised groups keep their values sorted: use them as they are
    // and sort a copy only when they are not.
    let copy;
    let sorted: &[f64] = if values.is_sorted_by(|a, b| a.total_cmp(b).is_le()) {
        values
    } else {
        let mut v = values.to_vec();
        v.sort_by(f64::total_cmp);
        copy = v;
        &copy
    };
    let n = sorted.len();
    let mean = sorted.iter().sum::<f64>() / n as f64;
    let std_dev = (n > 1).then(|| {
        let ss: f64 = sorted.iter().map(|v| (v - mean) * (v - mean)).sum();
        (ss / (n - 1) as f64).sqrt()
    });
    let q = |p| quantile_type7(sorted, p).unwrap_or(f64::NAN);
    Some(Summary {
        n,
        mean,
        median: q(0.5),
        p25: q(0.25),
        p75: q(0.75),
        p10: q(0.10),
        p90: q(0.90),
        std_dev,
        min: sorted[0],
        max: sorted[n - 1],
    })
}

/// The weighted ratio of sums Σ numerator / Σ denominator over the group's
/// members (the factor is part of the numerators); `None` when the
/// denominators sum to zero.
pub fn weighted(nums: &[f64], dens: &[f64]) -> Option<f64> {
    let den: f64 = dens.iter().sum();
    if den == 0.0 || nums.is_empty() {
        return None;
    }
    let w = nums.iter().sum::<f64>() / den;
    w.is_finite().then_some(w)
}

/// The rank of `own` among `values` (which include it): 1 is best by the
/// figure's direction, and for neutral figures 1 is the highest value. Ties
/// share the best rank.
pub fn rank(values: &[f64], own: f64, direction: Direction) -> usize {
    let better = values
        .iter()
        .filter(|&&v| match direction {
            Direction::Higher | Direction::Neutral => v > own,
            Direction::Lower => v < own,
        })
        .count();
    better + 1
}

/// 100 × (count(values < own) + 0.5 × count(values = own)) / n.
pub fn percentile_rank(values: &[f64], own: f64) -> Option<f64> {
    if values.is_empty() {
        return None;
    }
    let below = values.iter().filter(|&&v| v < own).count() as f64;
    let equal = values.iter().filter(|&&v| v == own).count() as f64;
    Some(100.0 * (below + 0.5 * equal) / values.len() as f64)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// Reference quantile, written from the definition h = (n − 1)p + 1 with
    /// 1-based positions, independently of `quantile_type7`.
    fn reference_quantile(values: &[f64], p: f64) -> f64 {
        let mut v = values.to_vec();
        // Insertion sort, so the reference does not share the sort either.
        for i in 1..v.len() {
            let mut j = i;
            while j > 0 && v[j - 1] > v[j] {
                v.swap(j - 1, j);
                j -= 1;
            }
        }
        let n = v.len() as f64;
        let h = (n - 1.0) * p + 1.0;
        let below = h.floor();
        let x_lo = v[below as usize - 1];
        let x_hi = if below as usize >= v.len() {
            x_lo
        } else {
            v[below as usize]
        };
        x_lo + (h - below) * (x_hi - x_lo)
    }

    fn close(a: f64, b: f64) -> bool {
        (a - b).abs() <= 1e-9 * (1.0 + a.abs().max(b.abs()))
    }

    #[test]
    fn known_values_match_excel_and_numpy() {
        let v = [1.0, 2.0, 3.0, 4.0];
        assert_eq!(quantile_type7(&v, 0.25), Some(1.75));
        assert_eq!(quantile_type7(&v, 0.5), Some(2.5));
        assert_eq!(quantile_type7(&v, 0.75), Some(3.25));
        // numpy.percentile([15, 20, 35, 40, 50], 10) == 17.0
        assert_eq!(
            quantile_type7(&[15.0, 20.0, 35.0, 40.0, 50.0], 0.10),
            Some(17.0)
        );
        let s = summarize(&[2.0, 4.0, 4.0, 4.0, 5.0, 5.0, 7.0, 9.0]).unwrap();
        assert_eq!(s.mean, 5.0);
        // Sample standard deviation: sqrt(32 / 7).
        assert!(close(s.std_dev.unwrap(), (32.0f64 / 7.0).sqrt()));
        assert_eq!(summarize(&[3.0]).unwrap().std_dev, None);
        assert_eq!(summarize(&[]), None);
    }

    #[test]
    fn ranks_follow_the_direction() {
        let v = [1.0, 2.0, 2.0, 3.0];
        assert_eq!(rank(&v, 3.0, Direction::Higher), 1);
        assert_eq!(rank(&v, 2.0, Direction::Higher), 2);
        assert_eq!(rank(&v, 1.0, Direction::Lower), 1);
        assert_eq!(rank(&v, 2.0, Direction::Lower), 2);
        assert_eq!(rank(&v, 3.0, Direction::Neutral), 1);
        assert_eq!(percentile_rank(&v, 2.0), Some(50.0));
        assert_eq!(percentile_rank(&v, 3.0), Some(87.5));
    }

    proptest! {
        #[test]
        fn statistics_match_a_naive_reference(
            values in prop::collection::vec(
                prop_oneof![(-1e6f64..1e6), (0u8..5).prop_map(f64::from)], 1..60),
            own_idx in any::<prop::sample::Index>(),
        ) {
            let s = summarize(&values).unwrap();
            prop_assert_eq!(s.n, values.len());
            let n = values.len() as f64;
            let mean = values.iter().fold(0.0, |a, v| a + v) / n;
            prop_assert!(close(s.mean, mean));
            for (p, got) in [(0.5, s.median), (0.25, s.p25), (0.75, s.p75), (0.1, s.p10), (0.9, s.p90)] {
                prop_assert!(close(got, reference_quantile(&values, p)), "p={} got={} want={}", p, got, reference_quantile(&values, p));
            }
            if values.len() > 1 {
                let var = values.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / (n - 1.0);
                prop_assert!(close(s.std_dev.unwrap(), var.sqrt()));
            }
            prop_assert!(s.min <= s.p10 && s.p10 <= s.p25 && s.p25 <= s.median);
            prop_assert!(s.median <= s.p75 && s.p75 <= s.p90 && s.p90 <= s.max);
            let own = values[own_idx.index(values.len())];
            let r = rank(&values, own, Direction::Higher);
            let strictly_better = values.iter().filter(|&&v| v > own).count();
            prop_assert_eq!(r, strictly_better + 1);
            let pr = percentile_rank(&values, own).unwrap();
            prop_assert!(pr > 0.0 && pr <= 100.0);
        }

        #[test]
        fn sorted_and_unsorted_values_summarise_alike(
            values in prop::collection::vec(
                prop_oneof![(-1e6f64..1e6), (0u8..5).prop_map(f64::from)], 1..60),
        ) {
            // Materialised groups arrive sorted and are not copied; the
            // numbers must not depend on that.
            let mut sorted = values.clone();
            sorted.sort_by(f64::total_cmp);
            prop_assert_eq!(summarize(&values), summarize(&sorted));
        }

        #[test]
        fn weighted_is_the_ratio_of_sums(pairs in prop::collection::vec((0.0f64..1e6, 1.0f64..1e6), 1..40)) {
            let nums: Vec<f64> = pairs.iter().map(|p| p.0).collect();
            let dens: Vec<f64> = pairs.iter().map(|p| p.1).collect();
            let mut sn = 0.0;
            let mut sd = 0.0;
            for (a, b) in &pairs { sn += a; sd += b; }
            prop_assert!(close(weighted(&nums, &dens).unwrap(), sn / sd));
        }
    }
}
