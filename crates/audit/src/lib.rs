//! Disclosure control by auditing released sums (Chin & Özsoyoğlu 1982).
//!
//! For one (domain, year, key figure), each member's value in each
//! publication is a *variable* ([`Var`]); a member whose value did not change
//! between publications keeps the same variable. Every released group
//! statistic releases `n` and the mean, hence the *sum* of its variables, and
//! is recorded as the set of variables it sums. The audit proves that the
//! released sums determine
//!
//! * no single variable, and
//! * no *protected* sum (the variable set of a suppressed group),
//!
//! for an outside caller who knows nothing, and for every member caller `c`
//! who knows its own variables `K_c = { v : owner[v] == c }` (a member may own
//! several: its old and its new value).
//!
//! # What "determined" means
//!
//! A linear function of the variables, given by a vector `t`, is determined
//! by the released sums iff `t` lies in the row space of the released 0/1
//! indicator rows; for member `c` the unit vectors `e_k, k ∈ K_c` join the
//! rows. Equivalently, with `π` deleting the coordinates in `K_c`: `t` is
//! determined for `c` iff `π(t)` lies in the projection of the released row
//! space. A single variable `u` is `t = e_u`, a protected group `G` is its
//! indicator vector. The audit decides these memberships by Gaussian
//! elimination; the (private) module `engine` documents how this is organised
//! so that one audit covers the outside caller and all members cheaply, and
//! the module `problem` how variables lying in the same rows are merged into
//! classes first.
//!
//! # Why two primes, and what that proves
//!
//! Floating-point rank is not a proof, and exact rationals grow, so the
//! elimination runs modulo the primes `2^61 - 1` and `2^62 - 57`, and a
//! vector counts as determined if it is determined modulo *either* prime.
//!
//! * False positives only suppress more. If `t` is not in the rational span
//!   but is modulo `p`, the audit reports it; that can cost a publication a
//!   cell, never leak one.
//! * A true dependency is found unless *both* primes lose it. Suppose `t` is
//!   in the rational span of the rows of the matrix `M` (released rows plus
//!   the caller's unit vectors). The rank of `M` modulo `p` is at most its
//!   rational rank, and it is equal unless `p` divides every maximal nonzero
//!   minor of `M` (because `M` is an integer matrix). When the ranks agree,
//!   `rank_p[M; t] <= rank_Q[M; t] = rank_Q M = rank_p M`, so `t` is in the
//!   span modulo `p` as well. Hence a dependency can only be missed if both
//!   primes, and so their product (about `2^123`), divide all maximal
//!   nonzero minors of a 0/1 matrix. Minors of grouping matrices (partitions,
//!   nested groups, before/after rows) are tiny (mostly `±1`, `±2`); a
//!   `k × k` 0/1 minor is bounded by Hadamard's `(k+1)^((k+1)/2) / 2^k`, so
//!   this is not a proof for adversarial matrices of more than ~40 rows,
//!   but it requires a common divisor of size `2^123` of all of them.
//!
//! The one place where a modular accident would be permissive is the
//! exemption in [`secondary_suppression`] (rows already public are not
//! audited); there a row is exempt only if it is determined modulo *both*
//! primes.
//!
//! # Code map
//!
//! [`audit`] compresses the rows into classes (`problem.rs`,
//! `Problem::new`), brings the released rows into echelon form over each
//! prime (`echelon.rs`, `field.rs`), and scans every target for the outside
//! caller and each member caller (`engine.rs`, `Engine::scan`, which calls
//! `scan_member` and, for nearly every member, `scan_no_known_pivot`).
//! [`secondary_suppression`] (`suppress.rs`) repeats that audit, suppressing
//! one candidate per finding.
//!
//! # Input conventions
//!
//! Rows are treated as sets: a variable listed twice counts once. Variable
//! indices `>= owner.len()` are a caller bug; they are ignored (the row is
//! audited as if they were absent) and never cause a panic. Empty rows are
//! allowed: an empty released row releases nothing, and an empty protected
//! row has the sum 0, which everyone knows, so it is always reported as
//! determined.

mod echelon;
mod engine;
mod field;
mod problem;
mod suppress;
#[cfg(test)]
mod tests;

use std::ops::ControlFlow;

use engine::{Engine, Exempt, Prot, echelon};
use field::{Mersenne61, Modulus, Pseudo62};
use problem::Problem;

/// A variable: one member's value of one key figure in one (domain, year),
/// the same in every publication while the value is unchanged.
pub type Var = u32;

/// What a set of released sums gives away.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Finding {
    /// The value of a single variable is determined.
    Value {
        /// The determined variable.
        var: Var,
        /// Who can determine it: `None` anyone, `Some(member)` that member
        /// knowing its own variables.
        caller: Option<u32>,
    },
    /// The sum of a protected (suppressed) group is determined.
    GroupSum {
        /// Index into the protected rows (see the function for which slice).
        group: usize,
        /// Who can determine it: `None` anyone, `Some(member)` that member
        /// knowing its own variables.
        caller: Option<u32>,
    },
}

/// Audits one prime: the first finding, if any.
fn first_finding<M: Modulus>(
    pb: &Problem,
    released: &[(usize, usize)],
    prot: &[Prot],
) -> Option<Finding> {
    let main = echelon::<M>(pb, released, 0, None);
    let mut engine = Engine::new(pb, main, prot);
    let mut found = None;
    let _ = engine.scan(&mut |hit| {
        found = Some(hit.finding);
        ControlFlow::Break(())
    });
    found
}

/// Audits released sums. `owner[v]` is the member (caller identity) that
/// owns variable `v`; `owner.len()` is the number of variables. `released`
/// and `protected` are lists of variable indices.
///
/// Returns a finding if the released sums determine a single variable or the
/// sum of a protected group (`group` indexes `protected`), for the outside
/// caller or for some member knowing its own variables; `None` if nothing is
/// determined. Which finding is returned when there are several is
/// unspecified, but outside-caller findings come first. Out-of-range indices
/// are ignored (see the crate documentation).
pub fn audit(owner: &[u32], released: &[Vec<Var>], protected: &[Vec<Var>]) -> Option<Finding> {
    let rows: Vec<&[Var]> = released
        .iter()
        .chain(protected)
        .map(Vec::as_slice)
        .collect();
    let pb = Problem::new(owner, &rows);
    let rel: Vec<(usize, usize)> = (0..released.len()).map(|r| (r, r)).collect();
    let prot: Vec<Prot> = (0..protected.len())
        .map(|g| Prot {
            row: released.len() + g,
            id: g,
            exempt: Exempt::default(),
        })
        .collect();
    first_finding::<Mersenne61>(&pb, &rel, &prot)
        .or_else(|| first_finding::<Pseudo62>(&pb, &rel, &prot))
}

/// Whether releasing one more row (say a custom group asked for the first
/// time) on top of `released` would disclose anything; the same answer as
/// [`audit`] with `new_row` appended to `released`.
pub fn check_addition(
    owner: &[u32],
    released: &[Vec<Var>],
    protected: &[Vec<Var>],
    new_row: &[Var],
) -> Option<Finding> {
    let mut all: Vec<Vec<Var>> = released.to_vec();
    all.push(new_row.to_vec());
    audit(owner, &all, protected)
}

/// Secondary suppression for one publication.
///
/// * `fixed`: rows released before (earlier publications, custom groups);
/// * `fixed_protected`: the suppressed groups recorded before;
/// * `candidates`: the rows this publication would release;
/// * `candidate_protected`: the groups this publication already suppresses.
///
/// Suppresses further candidates until the audit of `fixed` plus the
/// remaining candidates passes, where the protected rows are
/// `fixed_protected`, `candidate_protected` and every suppressed candidate.
/// Returns the indices of the candidates to suppress, ascending.
///
/// Choice of the candidate: on each finding, the candidates that take part
/// in the disclosing combination are determined (provenance of the echelon
/// rows; fixed rows enter the elimination first and candidates smallest
/// first, so the combination leans on fixed and small rows), and the
/// smallest of them is suppressed (by number of variables; ties: lower
/// index). One candidate is suppressed per round, so at most
/// `candidates.len()` rounds run.
///
/// Already public knowledge: a protected row (old or new, including a
/// candidate that ends up suppressed) whose sum `fixed` alone already
/// determines, for the outside caller or for a particular member caller
/// knowing its own variables, is not audited for that caller: suppressing
/// it cannot hide it any more. Determined single variables are not exempt.
///
/// Errors: if the disclosing combination uses fixed rows only (so that even
/// suppressing every candidate cannot pass), the finding. In
/// [`Finding::GroupSum`], `group` indexes the concatenation
/// `fixed_protected ++ candidate_protected ++ candidates`.
pub fn secondary_suppression(
    owner: &[u32],
    fixed: &[Vec<Var>],
    fixed_protected: &[Vec<Var>],
    candidates: &[Vec<Var>],
    candidate_protected: &[Vec<Var>],
) -> Result<Vec<usize>, Finding> {
    suppress::secondary_suppression(
        owner,
        fixed,
        fixed_protected,
        candidates,
        candidate_protected,
    )
}
