//! The audit proper: which targets the released rows determine, for the
//! outside caller and for each member caller, over one prime field.
//!
//! Notation (all over classes, see [`crate::problem`]): the released rows are
//! brought into reduced echelon form; `K` is the set of classes the caller
//! knows entirely; `S` are the echelon rows whose pivot lies in `K`, `T` the
//! others; `π` deletes the coordinates in `K`.
//!
//! A vector `t` lies in `span(released) + span(e_k, k in K)` iff `π(t)` lies
//! in `π(span(released)) = span(π(T) ∪ π(S))`. The rows `π(T)` keep their
//! pivots with the identity pattern there, and `π(S)` is zero at every pivot,
//! so the coefficient of each `T` row is forced to be `t` at its pivot. What
//! remains, the residual of `t` against the whole echelon form with the `K`
//! coordinates deleted, must lie in `span(π(S))`. Concretely:
//! * `e_C` for a free column `C` outside `K`: iff `e_C ∈ span(π(S))`, i.e.
//!   the echelon form of `π(S)` has a row whose only entry is at `C`.
//! * `e_C` for the pivot `C` of a `T` row `r`: iff `π(r) - e_C ∈ span(π(S))`.
//! * a protected row `g` with residual `r_g`: iff `π(r_g) ∈ span(π(S))`.
//!
//! If `S` is empty, `span(π(S)) = {0}`: `e_C` is determined iff an echelon
//! row's support minus `K` is exactly `{C}`, and a protected row iff its
//! residual's support lies in `K`. That is the case for nearly every member,
//! because pivots are steered onto classes with several variables, which no
//! single member knows entirely; it is checked with support-size filters and
//! a column-to-rows index. Only members that know a pivot column pay for the
//! small elimination of `π(S)` (at most as many rows as they know classes).

use std::ops::ControlFlow;

use crate::echelon::{Echelon, NONE, SparseVec};
use crate::field::Modulus;
use crate::problem::{Member, Problem};
use crate::{Finding, Var};

/// Callers for whom a protected row is public knowledge anyway, so that it
/// is not audited for them.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Exempt {
    /// Exempt for every caller.
    pub all: bool,
    /// Exempt for these member callers, ascending.
    pub members: Vec<u32>,
}

impl Exempt {
    /// Whether the row is exempt for member caller `member`.
    pub fn covers(&self, member: u32) -> bool {
        self.all || self.members.binary_search(&member).is_ok()
    }
}

/// A protected row to audit.
#[derive(Debug, Clone)]
pub(crate) struct Prot {
    /// Index into [`Problem::rows`].
    pub row: usize,
    /// The group index reported in [`Finding::GroupSum`].
    pub id: usize,
    /// Callers it is not audited for.
    pub exempt: Exempt,
}

/// The vector a finding is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Target {
    /// The indicator of a class (standing for one variable).
    Class(u32),
    /// A protected row, by index into the engine's protected list.
    Protected(usize),
}

/// A finding together with what is needed to explain it.
#[derive(Debug, Clone)]
pub(crate) struct Hit {
    /// The finding as reported.
    pub finding: Finding,
    /// The determined vector.
    pub target: Target,
    /// The caller, by index into [`Problem::members`] (`None`: outside).
    pub member: Option<usize>,
}

/// Builds the echelon form of `rows` (pairs of problem row and provenance
/// source index), continuing from `base` if given.
pub(crate) fn echelon<M: Modulus>(
    pb: &Problem,
    rows: &[(usize, usize)],
    prov_len: usize,
    base: Option<&Echelon<M>>,
) -> Echelon<M> {
    let mut e = match base {
        Some(b) => b.clone(),
        None => Echelon::new(pb.ncols(), prov_len),
    };
    for &(r, src) in rows {
        e.insert(&SparseVec::indicator(&pb.rows[r]), src, &pb.class_size);
    }
    e
}

/// The audit state for one prime.
pub(crate) struct Engine<'p, M> {
    pb: &'p Problem,
    prot: &'p [Prot],
    /// The echelon form of the released rows.
    pub main: Echelon<M>,
    small: Echelon<M>,
    col_rows_start: Vec<usize>,
    col_rows: Vec<u32>,
    resid: Vec<SparseVec>,
    by_first: Vec<(u32, usize)>,
    outside_det: Vec<bool>,
    known: Vec<bool>,
    adj: Vec<Var>,
    in_u: Vec<bool>,
}

impl<'p, M: Modulus> Engine<'p, M> {
    /// Prepares the audit of `prot` against the released rows in `main`.
    pub fn new(pb: &'p Problem, main: Echelon<M>, prot: &'p [Prot]) -> Self {
        let ncols = pb.ncols();
        let mut main = main;
        let mut col_rows_start = vec![0usize; ncols + 1];
        for row in &main.rows {
            for &c in &row.vec.cols {
                col_rows_start[c as usize + 1] += 1;
            }
        }
        for c in 0..ncols {
            col_rows_start[c + 1] += col_rows_start[c];
        }
        let mut fill = col_rows_start.clone();
        let mut col_rows = vec![0u32; col_rows_start[ncols]];
        for (j, row) in main.rows.iter().enumerate() {
            for &c in &row.vec.cols {
                col_rows[fill[c as usize]] = u32::try_from(j).unwrap_or(NONE);
                fill[c as usize] += 1;
            }
        }
        let mut coeffs = Vec::new();
        let resid: Vec<SparseVec> = prot
            .iter()
            .map(|p| {
                coeffs.clear();
                main.reduce(&SparseVec::indicator(&pb.rows[p.row]), &mut coeffs)
            })
            .collect();
        let mut by_first: Vec<(u32, usize)> = resid
            .iter()
            .enumerate()
            .filter_map(|(i, r)| r.cols.first().map(|&c| (c, i)))
            .collect();
        by_first.sort_unstable();
        let outside_det = resid.iter().map(SparseVec::is_empty).collect();
        Self {
            pb,
            prot,
            main,
            small: Echelon::new(ncols, 0),
            col_rows_start,
            col_rows,
            resid,
            by_first,
            outside_det,
            known: vec![false; ncols],
            adj: vec![NONE; ncols],
            in_u: vec![false; ncols],
        }
    }

    /// Reports every finding to `sink` (outside caller first, then members by
    /// id) until the sink breaks. Protected rows determined for the outside
    /// caller are not reported again for members.
    pub fn scan(&mut self, sink: &mut dyn FnMut(Hit) -> ControlFlow<()>) -> ControlFlow<()> {
        let pb = self.pb;
        for row in &self.main.rows {
            if let [c] = row.vec.cols[..]
                && pb.class_size[c as usize] == 1
            {
                let var = pb.class_rep[c as usize];
                sink(Hit {
                    finding: Finding::Value { var, caller: None },
                    target: Target::Class(c),
                    member: None,
                })?;
            }
        }
        for (i, p) in self.prot.iter().enumerate() {
            if self.outside_det[i] && !p.exempt.all {
                sink(Hit {
                    finding: Finding::GroupSum {
                        group: p.id,
                        caller: None,
                    },
                    target: Target::Protected(i),
                    member: None,
                })?;
            }
        }
        for mi in 0..pb.members.len() {
            let m = &pb.members[mi];
            for &c in &m.known {
                self.known[c as usize] = true;
            }
            for &(c, v) in &m.adjacent {
                self.adj[c as usize] = v;
            }
            let flow = self.scan_member(mi, sink);
            for &c in &m.known {
                self.known[c as usize] = false;
            }
            for &(c, _) in &m.adjacent {
                self.adj[c as usize] = NONE;
            }
            flow?;
        }
        ControlFlow::Continue(())
    }

    /// The variable that determining class `c` reveals to the current
    /// caller, if any: the class must have exactly one variable outside the
    /// caller's own.
    fn target_var(&self, c: u32) -> Option<Var> {
        let c = c as usize;
        if self.known[c] {
            None
        } else if self.pb.class_size[c] == 1 {
            Some(self.pb.class_rep[c])
        } else if self.adj[c] != NONE {
            Some(self.adj[c])
        } else {
            None
        }
    }

    /// `v` with the coordinates the current caller knows deleted.
    fn project(&self, v: &SparseVec, skip: Option<u32>) -> SparseVec {
        let mut out = SparseVec::default();
        for (&c, &x) in v.cols.iter().zip(&v.vals) {
            if !self.known[c as usize] && Some(c) != skip {
                out.cols.push(c);
                out.vals.push(x);
            }
        }
        out
    }

    /// Builds the echelon form of `π(S)` in `self.small` (provenance over
    /// positions in `s`); `self.known` must be marked.
    fn build_small(&mut self, s: &[usize]) {
        self.small.clear(s.len());
        for (pos, &j) in s.iter().enumerate() {
            let v = self.project(&self.main.rows[j].vec, None);
            self.small.insert(&v, pos, &self.pb.class_size);
        }
    }

    /// Reports the findings for member caller `mi` (index into
    /// [`Problem::members`]), whose classes are marked in `known` and `adj`.
    fn scan_member(
        &mut self,
        mi: usize,
        sink: &mut dyn FnMut(Hit) -> ControlFlow<()>,
    ) -> ControlFlow<()> {
        let pb = self.pb;
        let m = &pb.members[mi];
        let caller = Some(m.id);
        let value = |var: Var, c: u32| Hit {
            finding: Finding::Value { var, caller },
            target: Target::Class(c),
            member: Some(mi),
        };
        let group = |i: usize, id: usize| Hit {
            finding: Finding::GroupSum { group: id, caller },
            target: Target::Protected(i),
            member: Some(mi),
        };
        let s: Vec<usize> = m
            .known
            .iter()
            .map(|&c| self.main.pivot_row[c as usize])
            .filter(|&j| j != NONE)
            .map(|j| j as usize)
            .collect();
        if s.is_empty() {
            return self.scan_no_known_pivot(m, &value, &group, sink);
        }

        // General case: the caller knows some pivot columns.
        self.build_small(&s);
        for row in &self.small.rows {
            for &c in &row.vec.cols {
                self.in_u[c as usize] = true;
            }
        }
        let flow = self.scan_general(&value, &group, m.id, sink);
        for row in &self.small.rows {
            for &c in &row.vec.cols {
                self.in_u[c as usize] = false;
            }
        }
        flow
    }

    /// The case of nearly every member caller: it knows no pivot column, so
    /// `S` is empty and `span(π(S)) = {0}`. Then `e_C` is determined iff an
    /// echelon row's support minus `K` is exactly `{C}`, and a protected row
    /// iff its residual's support lies in `K`; the column-to-rows index and
    /// the residuals by first column find the candidates.
    fn scan_no_known_pivot(
        &self,
        m: &Member,
        value: &dyn Fn(Var, u32) -> Hit,
        group: &dyn Fn(usize, usize) -> Hit,
        sink: &mut dyn FnMut(Hit) -> ControlFlow<()>,
    ) -> ControlFlow<()> {
        let kn = m.known.len();
        // Values: an echelon row whose support outside K is one class.
        // Such a row either meets K or is a single class, and then that
        // class is adjacent (single unowned classes are the outside
        // caller's business).
        let mut rows: Vec<u32> = Vec::new();
        for &c in &m.known {
            let c = c as usize;
            rows.extend_from_slice(
                &self.col_rows[self.col_rows_start[c]..self.col_rows_start[c + 1]],
            );
        }
        for &(c, _) in &m.adjacent {
            let j = self.main.pivot_row[c as usize];
            if j != NONE {
                rows.push(j);
            }
        }
        for &j in &rows {
            let row = &self.main.rows[j as usize].vec;
            if row.len() > kn + 1 {
                continue;
            }
            let mut unknown = row.cols.iter().filter(|&&c| !self.known[c as usize]);
            if let (Some(&c), None) = (unknown.next(), unknown.next())
                && let Some(var) = self.target_var(c)
            {
                sink(value(var, c))?;
            }
        }
        // Protected rows: the residual's support lies in K; its first
        // column is then one of K.
        for &c in &m.known {
            let lo = self.by_first.partition_point(|&(f, _)| f < c);
            for &(f, i) in &self.by_first[lo..] {
                if f != c {
                    break;
                }
                let r = &self.resid[i];
                if r.len() <= kn
                    && !self.outside_det[i]
                    && !self.prot[i].exempt.covers(m.id)
                    && r.cols.iter().all(|&c| self.known[c as usize])
                {
                    sink(group(i, self.prot[i].id))?;
                }
            }
        }
        ControlFlow::Continue(())
    }

    /// The general case: the caller knows the pivot columns of the echelon
    /// rows `S`; `small` holds the echelon form of `π(S)` and `in_u` marks
    /// its support.
    fn scan_general(
        &mut self,
        value: &dyn Fn(Var, u32) -> Hit,
        group: &dyn Fn(usize, usize) -> Hit,
        member: u32,
        sink: &mut dyn FnMut(Hit) -> ControlFlow<()>,
    ) -> ControlFlow<()> {
        // Free columns: e_C itself must lie in span(π(S)).
        for row in &self.small.rows {
            if let [c] = row.vec.cols[..]
                && let Some(var) = self.target_var(c)
            {
                sink(value(var, c))?;
            }
        }
        // Pivot columns of T rows: the rest of the row, projected, must lie
        // in span(π(S)), whose support is the marked set U.
        for j in 0..self.main.rows.len() {
            let row = &self.main.rows[j];
            let p = row.pivot;
            if self.known[p as usize] {
                continue;
            }
            let Some(var) = self.target_var(p) else {
                continue;
            };
            let fits = row
                .vec
                .cols
                .iter()
                .all(|&c| c == p || self.known[c as usize] || self.in_u[c as usize]);
            if !fits {
                continue;
            }
            let v = self.project(&row.vec, Some(p));
            if v.is_empty() || self.small.contains(&v) {
                sink(value(var, p))?;
            }
        }
        for i in 0..self.prot.len() {
            if self.outside_det[i] || self.prot[i].exempt.covers(member) {
                continue;
            }
            let r = &self.resid[i];
            if !r
                .cols
                .iter()
                .all(|&c| self.known[c as usize] || self.in_u[c as usize])
            {
                continue;
            }
            let v = self.project(r, None);
            if v.is_empty() || self.small.contains(&v) {
                sink(group(i, self.prot[i].id))?;
            }
        }
        ControlFlow::Continue(())
    }

    /// The released rows (by provenance source index) that take part in the
    /// combination `w` of released rows with `target - w` supported on the
    /// caller's known classes: nonzero entries of the returned vector. Needs
    /// provenance tracking in `main`.
    pub fn explain(&mut self, hit: &Hit) -> Vec<u64> {
        let pb = self.pb;
        let t = match hit.target {
            Target::Class(c) => SparseVec {
                cols: vec![c],
                vals: vec![1],
            },
            Target::Protected(i) => SparseVec::indicator(&pb.rows[self.prot[i].row]),
        };
        let mut coeffs = Vec::new();
        let res = self.main.reduce(&t, &mut coeffs);
        let mut alpha = vec![0u64; self.main.rows.len()];
        for &(j, a) in &coeffs {
            alpha[j] = M::add(alpha[j], a);
        }
        if let Some(mi) = hit.member {
            let known = &pb.members[mi].known;
            for &c in known {
                self.known[c as usize] = true;
            }
            let s: Vec<usize> = known
                .iter()
                .map(|&c| self.main.pivot_row[c as usize])
                .filter(|&j| j != NONE)
                .map(|j| j as usize)
                .collect();
            self.build_small(&s);
            let pres = self.project(&res, None);
            let mut b = Vec::new();
            // The residual lies in the span (that is the finding), so the
            // combination found here is exact.
            let _ = self.small.reduce(&pres, &mut b);
            for &(i, bi) in &b {
                for (k, &q) in self.small.rows[i].prov.iter().enumerate() {
                    alpha[s[k]] = M::add(alpha[s[k]], M::mul(bi, q));
                }
            }
            for &c in known {
                self.known[c as usize] = false;
            }
        }
        let prov_len = self.main.rows.first().map_or(0, |r| r.prov.len());
        let mut prov = vec![0u64; prov_len];
        for (j, &a) in alpha.iter().enumerate() {
            if a == 0 {
                continue;
            }
            for (p, &q) in prov.iter_mut().zip(&self.main.rows[j].prov) {
                *p = M::add(*p, M::mul(a, q));
            }
        }
        prov
    }
}
