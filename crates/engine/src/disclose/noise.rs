//! Noise infusion (rule 14 of the domain description): every private basic
//! figure of a member is multiplied by `1 + s·u`, fixed per member and
//! figure, before any statistic for a non-admin caller is computed.
//!
//! - `u` lies in `[noise_min, noise_max]` and is drawn from a ramp density
//!   `f(u) = 2(u − a)/(b − a)²` that puts more weight away from 1 (the
//!   Quarterly Workforce Indicators' distortion factors have a ramp shape
//!   too; see `docs/disclosure.md` for what was taken and what changed).
//! - `s` is the member's sign (one for all its figures) times the figure's
//!   role sign from the catalogue (`noise_role`), chosen per domain so that
//!   the two private inputs of every ratio or difference move apart: a
//!   ratio then moves by about `u₁ + u₂` and never cancels.
//! - Both come from HMAC-SHA256 under the ring's secret (created at `init`,
//!   kept in the state log), so every replica, restart, publication and
//!   answer sees the same multiplier, and repeating or regrouping a
//!   question never averages the noise away. The secret never leaves the
//!   process.
//!
//! Public figures (the population) are not perturbed, and a zero stays a
//! zero: rule 15 releases figures where zeros, grids or bounds are common
//! in group means only (`Release::MeanOnly` in the catalogue).

use sha2::{Digest, Sha256};
use vergleichsring_catalog::{Domain, NoiseRole};

/// The multipliers of a ring: its secret and the size of the noise.
#[derive(Clone)]
pub struct Noise {
    min: f64,
    max: f64,
    /// SHA-256 after the key's inner and outer pad blocks: HMAC's first
    /// block of each pass is the same for every message, so each
    /// multiplier costs two compressions instead of four (a national
    /// year has some 200,000 of them).
    inner: Sha256,
    outer: Sha256,
}

impl std::fmt::Debug for Noise {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The secret is never printed.
        f.debug_struct("Noise")
            .field("min", &self.min)
            .field("max", &self.max)
            .finish_non_exhaustive()
    }
}

/// HMAC-SHA256 (RFC 2104) of `parts`, joined by a zero byte (ids never
/// hold one, so no two different inputs join to the same message): the
/// definition [`Noise::mac`] is tested against.
#[cfg(test)]
fn hmac(key: &[u8; 32], parts: &[&str]) -> [u8; 32] {
    let mut ipad = [0x36u8; 64];
    let mut opad = [0x5cu8; 64];
    for (i, k) in key.iter().enumerate() {
        ipad[i] ^= k;
        opad[i] ^= k;
    }
    let mut inner = Sha256::new();
    inner.update(ipad);
    for (i, p) in parts.iter().enumerate() {
        if i > 0 {
            inner.update([0u8]);
        }
        inner.update(p.as_bytes());
    }
    let mut outer = Sha256::new();
    outer.update(opad);
    outer.update(inner.finalize());
    outer.finalize().into()
}

/// A number in `[0, 1)` from the first 53 bits of a hash.
fn unit(h: &[u8; 32]) -> f64 {
    let mut b = [0u8; 8];
    b.copy_from_slice(&h[..8]);
    (u64::from_be_bytes(b) >> 11) as f64 / (1u64 << 53) as f64
}

impl Noise {
    /// The multipliers under `key` with `u` in `[min, max]`.
    pub fn new(key: [u8; 32], min: f64, max: f64) -> Noise {
        let (mut ipad, mut opad) = ([0x36u8; 64], [0x5cu8; 64]);
        for (i, k) in key.iter().enumerate() {
            ipad[i] ^= k;
            opad[i] ^= k;
        }
        let mut inner = Sha256::new();
        inner.update(ipad);
        let mut outer = Sha256::new();
        outer.update(opad);
        Noise {
            min,
            max,
            inner,
            outer,
        }
    }

    /// HMAC-SHA256 of `parts` under the ring's key, from the pads'
    /// precomputed states ([`hmac`] is the same from scratch).
    fn mac(&self, parts: &[&str]) -> [u8; 32] {
        let mut inner = self.inner.clone();
        for (i, p) in parts.iter().enumerate() {
            if i > 0 {
                inner.update([0u8]);
            }
            inner.update(p.as_bytes());
        }
        let mut outer = self.outer.clone();
        outer.update(inner.finalize());
        outer.finalize().into()
    }

    /// The smallest relative perturbation.
    pub fn min(&self) -> f64 {
        self.min
    }

    /// The largest relative perturbation.
    pub fn max(&self) -> f64 {
        self.max
    }

    /// A short public fingerprint of the secret (the first 8 bytes of an
    /// HMAC of a fixed text), recorded with each publication so that its
    /// numbers can be reproduced with the same secret, and a changed secret
    /// is noticed. It tells nothing about any multiplier.
    pub fn fingerprint(&self) -> String {
        self.mac(&["vergleichsring noise fingerprint"])[..8]
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect()
    }

    /// The member's sign in a domain, `+1` or `−1` with equal
    /// probability. One per domain rather than one for all of a member's
    /// figures: a figure the member publishes elsewhere (rule 13) reveals
    /// its multiplier and so the sign, and with it the direction of the
    /// noise on the member's other figures of that domain only.
    pub fn member_sign(&self, domain: &str, member_id: &str) -> f64 {
        if self.mac(&["sign", domain, member_id])[0] & 1 == 0 {
            1.0
        } else {
            -1.0
        }
    }

    /// The sign of a `free` figure of a member: its own, independent of
    /// the member's sign.
    fn free_sign(&self, domain: &str, figure: &str, member_id: &str) -> f64 {
        if self.mac(&["free", domain, figure, member_id])[0] & 1 == 0 {
            1.0
        } else {
            -1.0
        }
    }

    /// The size `u` of a member's figure's perturbation: `a + (b − a)·√U`,
    /// the inverse of the ramp's distribution function `((u − a)/(b − a))²`.
    pub fn size(&self, domain: &str, figure: &str, member_id: &str) -> f64 {
        let uniform = unit(&self.mac(&["u", domain, figure, member_id]));
        self.min + (self.max - self.min) * uniform.sqrt()
    }

    /// The multiplier of a member's basic figure: `1 ± u`, or 1 for a
    /// public figure.
    pub fn multiplier(&self, domain: &Domain, figure: usize, member_id: &str) -> f64 {
        let Some(f) = domain.basic_figures.get(figure) else {
            return 1.0;
        };
        let sign = match f.role() {
            NoiseRole::Public => return 1.0,
            NoiseRole::Plus => self.member_sign(&domain.id, member_id),
            NoiseRole::Minus => -self.member_sign(&domain.id, member_id),
            NoiseRole::Free => self.free_sign(&domain.id, &f.id, member_id),
        };
        1.0 + sign * self.size(&domain.id, &f.id, member_id)
    }

    /// The multipliers of every basic figure of a member, in catalogue
    /// order.
    pub fn multipliers(&self, domain: &Domain, member_id: &str) -> Vec<f64> {
        // The member's sign once, not once per figure.
        let sign = self.member_sign(&domain.id, member_id);
        domain
            .basic_figures
            .iter()
            .map(|f| match f.role() {
                NoiseRole::Public => 1.0,
                NoiseRole::Plus => 1.0 + sign * self.size(&domain.id, &f.id, member_id),
                NoiseRole::Minus => 1.0 - sign * self.size(&domain.id, &f.id, member_id),
                NoiseRole::Free => {
                    1.0 + self.free_sign(&domain.id, &f.id, member_id)
                        * self.size(&domain.id, &f.id, member_id)
                }
            })
            .collect()
    }
}

impl Noise {
    /// The variance of a key figure's multiplicative noise, `E[(m − 1)²]`,
    /// from the distribution of the multipliers alone (never from data, so
    /// that a group with the same members and values has the same
    /// corrected standard deviation in every publication): `E[u²]` when
    /// the private inputs sit on one side of the formula's division,
    /// `E[((1 + s·u₁)/(1 − s·u₂) − 1)²]` when they sit on both (the roles
    /// move them apart), 0 when every input is public. Sums and
    /// differences on one side count as one input (an approximation: their
    /// noise is somewhat smaller or larger).
    pub fn variance(&self, domain: &Domain, figure: usize) -> f64 {
        let Some(k) = domain.key_figures.get(figure) else {
            return 0.0;
        };
        let (a, w) = (self.min, self.max - self.min);
        // The ramp's quantiles at the midpoints of 64 equal steps.
        let steps = 64;
        let u = |k: usize| a + w * ((k as f64 + 0.5) / steps as f64).sqrt();
        let free = identifiers(&k.formula).any(|id| {
            domain
                .basic_figures
                .iter()
                .any(|f| f.id == id && f.role() == NoiseRole::Free)
        });
        match self.private_sides(domain, figure) {
            (false, false) => 0.0,
            (true, true) => {
                // Inputs moving apart; with a `free` input, half the
                // members' inputs move together instead.
                let (mut apart, mut together) = (0.0, 0.0);
                for i in 0..steps {
                    for j in 0..steps {
                        let (u1, u2) = (u(i), u(j));
                        apart += ((1.0 + u1) / (1.0 - u2) - 1.0).powi(2);
                        apart += ((1.0 - u1) / (1.0 + u2) - 1.0).powi(2);
                        together += ((1.0 + u1) / (1.0 + u2) - 1.0).powi(2);
                        together += ((1.0 - u1) / (1.0 - u2) - 1.0).powi(2);
                    }
                }
                let n = (2 * steps * steps) as f64;
                if free {
                    (apart + together) / (2.0 * n)
                } else {
                    apart / n
                }
            }
            _ => self.one_input_variance(),
        }
    }
}

impl Noise {
    /// `E[u²]` of the ramp: the variance one private input's multiplier
    /// brings.
    fn one_input_variance(&self) -> f64 {
        let (a, w) = (self.min, self.max - self.min);
        let steps = 64;
        (0..steps)
            .map(|k| (a + w * ((k as f64 + 0.5) / steps as f64).sqrt()).powi(2))
            .sum::<f64>()
            / steps as f64
    }

    /// Whether the numerator and the denominator of a key figure hold a
    /// private basic figure.
    pub fn private_sides(&self, domain: &Domain, figure: usize) -> (bool, bool) {
        let Some(k) = domain.key_figures.get(figure) else {
            return (false, false);
        };
        let (num, den) = split_division(&k.formula);
        let private = |part: &str| {
            identifiers(part).any(|id| {
                domain
                    .basic_figures
                    .iter()
                    .any(|f| f.id == id && f.role() != NoiseRole::Public)
            })
        };
        (private(num), private(den))
    }

    /// The relative movement the noise is expected to give a group's mean
    /// (`sqrt(σ²·Σy'²) / |Σy'|`) and weighted ratio (the same for the sums
    /// of numerators and denominators, added), computed from the released
    /// (perturbed) values only: the flags of rule 17 come from it. A flag
    /// from the true movement would tell, together with values an attacker
    /// knows, the direction of one member's noise (rule 15).
    pub fn expected_movement(
        &self,
        domain: &Domain,
        figure: usize,
        values: &[f64],
        nums: &[f64],
        dens: &[f64],
    ) -> (f64, f64) {
        let rel = |v: &[f64], var: f64| {
            let sum: f64 = v.iter().sum();
            let squares: f64 = v.iter().map(|x| x * x).sum();
            if sum == 0.0 {
                if squares == 0.0 { 0.0 } else { f64::INFINITY }
            } else {
                (var * squares).sqrt() / sum.abs()
            }
        };
        let mean = rel(values, self.variance(domain, figure));
        let (num, den) = self.private_sides(domain, figure);
        let one = self.one_input_variance();
        let part = |v: &[f64], private: bool| if private { rel(v, one).powi(2) } else { 0.0 };
        let weighted = (part(nums, num) + part(dens, den)).sqrt();
        (mean, weighted)
    }
}

/// A formula split at its last division outside parentheses: numerator
/// and denominator (empty when there is none).
fn split_division(formula: &str) -> (&str, &str) {
    let mut depth = 0i32;
    let mut at = None;
    for (i, c) in formula.char_indices() {
        match c {
            '(' => depth += 1,
            ')' => depth -= 1,
            '/' if depth == 0 => at = Some(i),
            _ => {}
        }
    }
    match at {
        Some(i) => (&formula[..i], &formula[i + 1..]),
        None => (formula, ""),
    }
}

/// The identifiers (snake_case words) of a formula.
fn identifiers(text: &str) -> impl Iterator<Item = &str> {
    text.split(|c: char| !(c.is_ascii_lowercase() || c == '_' || c.is_ascii_digit()))
        .filter(|w| w.starts_with(|c: char| c.is_ascii_lowercase()))
}

/// The noise flag of rule 17, as the County Business Patterns show it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Flag {
    /// Moved by less than 2 % (or a large group).
    Low,
    /// Moved by 2 % to under 5 % (or a middle-sized group).
    Moderate,
    /// Moved by 5 % or more (or a small group).
    High,
}

impl Flag {
    /// The flag of a statistic the perturbation moved from `truth` to
    /// `perturbed`.
    pub fn of_change(truth: f64, perturbed: f64) -> Flag {
        let moved = if truth == 0.0 {
            if perturbed == 0.0 { 0.0 } else { f64::INFINITY }
        } else {
            ((perturbed - truth) / truth).abs()
        };
        Flag::of_movement(moved)
    }

    /// The flag of a relative movement: under 2 %, under 5 %, or more.
    pub fn of_movement(moved: f64) -> Flag {
        if moved < 0.02 {
            Flag::Low
        } else if moved < 0.05 {
            Flag::Moderate
        } else {
            Flag::High
        }
    }

    /// The flag of a statistic by the number of peers alone (quantiles,
    /// standard deviation, position: a flag from one member's true value
    /// would tell something about it).
    pub fn of_size(peers: usize) -> Flag {
        if peers >= 20 {
            Flag::Low
        } else if peers >= 8 {
            Flag::Moderate
        } else {
            Flag::High
        }
    }

    /// The machine-readable code.
    pub fn code(self) -> &'static str {
        match self {
            Flag::Low => "low",
            Flag::Moderate => "moderate",
            Flag::High => "high",
        }
    }

    /// The German words pages and reports show.
    pub fn german(self) -> &'static str {
        match self {
            Flag::Low => "geringe Unschärfe",
            Flag::Moderate => "mittlere Unschärfe",
            Flag::High => "starke Unschärfe",
        }
    }
}

/// The noise flags of one released group (rule 17).
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub struct NoiseFlags {
    /// How much the perturbation moved the mean.
    pub mean: Flag,
    /// How much it moved the weighted ratio (absent when none is released).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub weighted: Option<Flag>,
    /// Quantiles, by group size.
    pub quantiles: Flag,
    /// The standard deviation, by group size.
    pub std_dev: Flag,
    /// The requester's position, by group size.
    pub position: Flag,
}

/// The sentence pages and reports put beside a flag.
pub const EXPLANATION_DE: &str = "Zum Schutz einzelner Mitglieder werden alle Vergleichswerte aus leicht veränderten Grunddaten berechnet (je Mitglied und Grunddatum fest um 5 bis 10 % verschoben); große Gruppen sind fast genau, kleine Gruppen tragen den Schutz.";

/// The same sentence in English.
pub const EXPLANATION_EN: &str = "To protect single members, every comparison is computed from slightly changed basic figures (each member's figure moved by a fixed 5 to 10 %); large groups are nearly exact, small groups carry the protection.";

/// The quintile (1 = best fifth) of a value whose rank among `n` values is
/// `rank` (1 = best).
pub fn quintile(rank: usize, n: usize) -> Option<u8> {
    if n == 0 || rank == 0 || rank > n {
        return None;
    }
    let q = ((rank - 1) * 5) / n + 1;
    u8::try_from(q.min(5)).ok()
}

/// The sample variance of `values` corrected for multiplicative noise of
/// variance `sigma2` (`E[(m − 1)²]` of the key figure's multipliers,
/// [`Noise::variance`]): with `y' = y·m`, `Var(y') ≈ Var(y)(1 + σ²) +
/// σ²·E[y]²`.
/// Floored at zero.
pub fn corrected_std_dev(std_dev: f64, mean: f64, sigma2: f64) -> f64 {
    let var = (std_dev * std_dev - sigma2 * mean * mean) / (1.0 + sigma2);
    var.max(0.0).sqrt()
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn library() -> Domain {
        let catalog = vergleichsring_catalog::Catalog::bundled();
        let catalog = catalog.as_ref().ok();
        catalog
            .and_then(|c| c.domain("library"))
            .cloned()
            .unwrap_or_else(|| panic!("the bundled catalogue has a library domain"))
    }

    #[test]
    fn hmac_matches_rfc_4231_case_2_shape() {
        // RFC 4231 test case 2 uses a 4-byte key; ours are 32 bytes, so
        // check against an independent construction instead: HMAC with a
        // key of 32 bytes equals SHA-256 over the padded key blocks.
        let key = [0x0bu8; 32];
        let h = hmac(&key, &["Hi There"]);
        let mut k = [0u8; 64];
        k[..32].copy_from_slice(&key);
        let ipad: Vec<u8> = k.iter().map(|b| b ^ 0x36).collect();
        let opad: Vec<u8> = k.iter().map(|b| b ^ 0x5c).collect();
        let inner = Sha256::digest([ipad.as_slice(), b"Hi There"].concat());
        let outer = Sha256::digest([opad.as_slice(), inner.as_slice()].concat());
        assert_eq!(h.as_slice(), outer.as_slice());
        // RFC 4231 test case 1 (20-byte key of 0x0b, zero-padded to 32
        // bytes gives the same HMAC, since keys are zero-padded to the block).
        let mut k20 = [0u8; 32];
        k20[..20].copy_from_slice(&[0x0b; 20]);
        let expected = "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7";
        let got: String = hmac(&k20, &["Hi There"])
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect();
        assert_eq!(got, expected);
    }

    #[test]
    fn the_precomputed_pads_give_the_same_mac() {
        let key = [0x5au8; 32];
        let noise = Noise::new(key, 0.05, 0.10);
        for parts in [
            &["u", "library", "loans", "05315000"][..],
            &["sign", "museum", "03241"],
            &[""],
        ] {
            assert_eq!(noise.mac(parts), hmac(&key, parts));
        }
    }

    #[test]
    fn public_figures_are_not_perturbed_and_private_ones_are_within_bounds() {
        let d = library();
        let noise = Noise::new([7; 32], 0.05, 0.10);
        let pop = d.basic_figures.iter().position(|f| f.id == "population");
        for m in ["05315000", "09162000", "03241"] {
            assert_eq!(noise.multiplier(&d, pop.unwrap_or(0), m), 1.0);
            for f in 0..d.basic_figures.len() {
                if Some(f) == pop {
                    continue;
                }
                let dev = (noise.multiplier(&d, f, m) - 1.0).abs();
                assert!((0.05..=0.10).contains(&dev), "{dev}");
            }
        }
    }

    #[test]
    fn the_noise_variance_follows_the_formula_s_private_inputs() {
        let d = library();
        let noise = Noise::new([1; 32], 0.05, 0.10);
        let at = |id: &str| d.key_figure_index(id).unwrap_or(usize::MAX);
        // One private input over the public population: E[u²] of the ramp,
        // a² + 4/3·a·w + w²/2 with a = 0.05, w = 0.05.
        let one = 0.05f64.powi(2) + 4.0 / 3.0 * 0.05 * 0.05 + 0.05f64.powi(2) / 2.0;
        let v = noise.variance(&d, at("media_per_capita"));
        assert!((v - one).abs() < 2e-5, "{v} vs {one}");
        // Loans over stock: both private, about (u₁ + u₂)², four times as much.
        let two = noise.variance(&d, at("turnover"));
        assert!(two > 3.5 * one && two < 5.0 * one, "{two}");
        assert_eq!(
            split_division("(a + b) / (c / d)"),
            ("(a + b) ", " (c / d)")
        );
        assert_eq!(
            identifiers("100 × income / expenditure_total").collect::<Vec<_>>(),
            ["income", "expenditure_total"]
        );
        let off = Noise::new([1; 32], 0.0, 0.0);
        assert_eq!(off.variance(&d, at("turnover")), 0.0);
    }

    #[test]
    fn quintiles_split_ranks_in_fifths() {
        assert_eq!(quintile(1, 10), Some(1));
        assert_eq!(quintile(2, 10), Some(1));
        assert_eq!(quintile(3, 10), Some(2));
        assert_eq!(quintile(10, 10), Some(5));
        assert_eq!(quintile(1, 1), Some(1));
        assert_eq!(quintile(0, 3), None);
        assert_eq!(quintile(4, 3), None);
    }

    #[test]
    fn flags_follow_the_county_business_patterns_bands() {
        assert_eq!(Flag::of_change(100.0, 101.9), Flag::Low);
        assert_eq!(Flag::of_change(100.0, 102.0), Flag::Moderate);
        assert_eq!(Flag::of_change(100.0, 95.0), Flag::High);
        assert_eq!(Flag::of_change(0.0, 0.0), Flag::Low);
        assert_eq!(Flag::of_size(20), Flag::Low);
        assert_eq!(Flag::of_size(8), Flag::Moderate);
        assert_eq!(Flag::of_size(7), Flag::High);
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(16))]

        #[test]
        fn sizes_follow_the_ramp(seed in any::<[u8; 32]>()) {
            // Over many members, the sizes stay within the bounds and lean
            // towards the outer bound: the ramp's mean is a + 2/3 (b − a).
            let noise = Noise::new(seed, 0.05, 0.10);
            let n = 2000;
            let mut sum = 0.0;
            let mut plus = 0;
            for i in 0..n {
                let m = format!("{i:08}");
                let u = noise.size("library", "loans", &m);
                prop_assert!((0.05..=0.10).contains(&u));
                sum += u;
                plus += usize::from(noise.member_sign("library", &m) > 0.0);
            }
            let mean = sum / n as f64;
            prop_assert!((mean - (0.05 + 0.05 * 2.0 / 3.0)).abs() < 0.003, "{}", mean);
            prop_assert!((800..1200).contains(&plus), "{}", plus);
        }

        #[test]
        fn the_correction_recovers_the_variance_of_scaled_values(
            values in prop::collection::vec(1.0f64..100.0, 200..400),
            seed in any::<[u8; 32]>(),
        ) {
            // Values times independent multipliers 1 ± u: the corrected
            // standard deviation is closer to the truth than the raw one
            // is on average; here it must at least stay finite and
            // non-negative and not exceed the perturbed one by much.
            let noise = Noise::new(seed, 0.05, 0.10);
            let perturbed: Vec<f64> = values.iter().enumerate().map(|(i, v)| {
                let m = format!("{i:08}");
                v * (1.0 + noise.member_sign("d", &m) * noise.size("d", "f", &m))
            }).collect();
            let s = crate::disclose::summary::summarize(&perturbed).and_then(|s| s.std_dev.map(|sd| (sd, s.mean)));
            if let Some((sd, mean)) = s {
                let sigma2 = 0.0064;
                let c = corrected_std_dev(sd, mean, sigma2);
                prop_assert!(c.is_finite() && c >= 0.0 && c <= sd);
            }
        }
    }
}
