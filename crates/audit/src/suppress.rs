//! Secondary suppression: which further candidates a publication must hold
//! back so that its released sums pass the audit.

use std::ops::ControlFlow;

use crate::engine::{Engine, Exempt, Hit, Prot, Target, echelon};
use crate::field::{Mersenne61, Modulus, Pseudo62};
use crate::problem::Problem;
use crate::{Finding, Var};

/// For each protected row, the callers for whom `fixed` alone (plus their own
/// variables) already determine its sum, over one prime.
fn exemptions_mod<M: Modulus>(
    pb: &Problem,
    fixed: &[(usize, usize)],
    prot: &[Prot],
) -> Vec<Exempt> {
    let main = echelon::<M>(pb, fixed, 0, None);
    let mut engine = Engine::new(pb, main, prot);
    let mut ex = vec![Exempt::default(); prot.len()];
    let _ = engine.scan(&mut |hit: Hit| {
        if let (Target::Protected(i), Finding::GroupSum { caller, .. }) = (hit.target, &hit.finding)
        {
            match caller {
                None => ex[i].all = true,
                // Members are scanned in ascending order, so the list stays sorted.
                Some(m) => ex[i].members.push(*m),
            }
        }
        ControlFlow::Continue(())
    });
    ex
}

/// Exemptions that hold modulo both primes. Exempting is the permissive
/// direction (an exempt row is not audited), so a modular accident must not
/// be able to cause it: a row is exempt only if it is determined mod each.
fn exemptions(pb: &Problem, fixed: &[(usize, usize)], prot: &[Prot]) -> Vec<Exempt> {
    let a = exemptions_mod::<Mersenne61>(pb, fixed, prot);
    let b = exemptions_mod::<Pseudo62>(pb, fixed, prot);
    a.into_iter()
        .zip(b)
        .map(|(a, b)| match (a.all, b.all) {
            (true, true) => Exempt {
                all: true,
                members: Vec::new(),
            },
            (true, false) => b,
            (false, true) => a,
            (false, false) => Exempt {
                all: false,
                members: a
                    .members
                    .into_iter()
                    .filter(|m| b.members.binary_search(m).is_ok())
                    .collect(),
            },
        })
        .collect()
}

/// The outcome of one audit round over one prime.
enum Round {
    /// Nothing is determined.
    Pass,
    /// Suppress this candidate next.
    Suppress(usize),
    /// Only fixed rows take part in the disclosure: no suppression helps.
    Fail(Finding),
}

/// Audits one round over one prime and, on a finding, picks the candidate to
/// suppress: the smallest candidate that takes part in the disclosing
/// combination.
fn round<M: Modulus>(
    pb: &Problem,
    base: &crate::echelon::Echelon<M>,
    released: &[(usize, usize)],
    prov_cand: &[Option<usize>],
    prot: &[Prot],
) -> Round {
    let main = echelon::<M>(pb, released, prov_cand.len(), Some(base));
    let mut engine = Engine::new(pb, main, prot);
    let mut first = None;
    let _ = engine.scan(&mut |hit: Hit| {
        first = Some(hit);
        ControlFlow::Break(())
    });
    let Some(hit) = first else { return Round::Pass };
    let prov = engine.explain(&hit);
    // `released` lists the candidates smallest first, so the first one that
    // takes part is the smallest.
    for &(_, src) in released {
        if prov[src] != 0
            && let Some(j) = prov_cand[src]
        {
            return Round::Suppress(j);
        }
    }
    Round::Fail(hit.finding)
}

/// See [`crate::secondary_suppression`].
pub(crate) fn secondary_suppression(
    owner: &[u32],
    fixed: &[Vec<Var>],
    fixed_protected: &[Vec<Var>],
    candidates: &[Vec<Var>],
    candidate_protected: &[Vec<Var>],
) -> Result<Vec<usize>, Finding> {
    let rows: Vec<&[Var]> = fixed
        .iter()
        .chain(fixed_protected)
        .chain(candidate_protected)
        .chain(candidates)
        .map(Vec::as_slice)
        .collect();
    let pb = Problem::new(owner, &rows);
    let nf = fixed.len();
    let np = fixed_protected.len() + candidate_protected.len();
    let nc = candidates.len();
    let cand_row = |j: usize| nf + np + j;

    // Every protected row and every candidate (which may become protected),
    // with its reported group index.
    let all_prot: Vec<Prot> = (0..np + nc)
        .map(|g| Prot {
            row: nf + g,
            id: g,
            exempt: Exempt::default(),
        })
        .collect();
    let fixed_rows: Vec<(usize, usize)> = (0..nf).map(|r| (r, r)).collect();
    let exempt = exemptions(&pb, &fixed_rows, &all_prot);

    let mut order: Vec<usize> = (0..nc).collect();
    order.sort_by_key(|&j| (pb.row_size[cand_row(j)], j));
    // Provenance sources: fixed rows first, then candidate j at nf + j.
    let prov_len = nf + nc;
    let prov_cand: Vec<Option<usize>> = (0..prov_len).map(|s| s.checked_sub(nf)).collect();
    let base_a = echelon::<Mersenne61>(&pb, &fixed_rows, prov_len, None);
    let base_b = echelon::<Pseudo62>(&pb, &fixed_rows, prov_len, None);

    let mut suppressed = vec![false; nc];
    loop {
        let released: Vec<(usize, usize)> = order
            .iter()
            .filter(|&&j| !suppressed[j])
            .map(|&j| (cand_row(j), nf + j))
            .collect();
        let prot: Vec<Prot> = (0..np + nc)
            .filter(|&g| g < np || suppressed[g - np])
            .map(|g| Prot {
                row: nf + g,
                id: g,
                exempt: exempt[g].clone(),
            })
            .collect();
        let outcome = match round::<Mersenne61>(&pb, &base_a, &released, &prov_cand, &prot) {
            Round::Pass => round::<Pseudo62>(&pb, &base_b, &released, &prov_cand, &prot),
            other => other,
        };
        match outcome {
            Round::Pass => {
                return Ok((0..nc).filter(|&j| suppressed[j]).collect());
            }
            Round::Suppress(j) => suppressed[j] = true,
            Round::Fail(finding) => return Err(finding),
        }
    }
}
