//! Sparse reduced row echelon form over a prime field.
//!
//! The pivot of a row may be any of its columns (not necessarily the first):
//! every argument the audit makes only needs each row to have the entry 1 at
//! its pivot and 0 at every other row's pivot. That freedom lets the caller
//! steer pivots onto columns that no member knows, which keeps the expensive
//! per-member case rare.

use std::marker::PhantomData;

use crate::field::Modulus;

/// Marks "no row" in the column-to-pivot-row table.
pub(crate) const NONE: u32 = u32::MAX;

/// A sparse vector: sorted, distinct columns and their nonzero values.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct SparseVec {
    /// Column indices, strictly increasing.
    pub cols: Vec<u32>,
    /// The nonzero value of each column.
    pub vals: Vec<u64>,
}

impl SparseVec {
    /// The 0/1 indicator vector of sorted, distinct columns.
    pub fn indicator(cols: &[u32]) -> Self {
        Self {
            cols: cols.to_vec(),
            vals: vec![1; cols.len()],
        }
    }

    /// The number of nonzero entries.
    pub fn len(&self) -> usize {
        self.cols.len()
    }

    /// Whether the vector is zero.
    pub fn is_empty(&self) -> bool {
        self.cols.is_empty()
    }

    /// The value at `col` (0 if absent).
    pub fn get(&self, col: u32) -> u64 {
        match self.cols.binary_search(&col) {
            Ok(pos) => self.vals[pos],
            Err(_) => 0,
        }
    }
}

/// One row of the echelon form.
#[derive(Debug, Clone)]
pub(crate) struct Row {
    /// The pivot column; the row has the value 1 there.
    pub pivot: u32,
    /// The row itself; zero at every other row's pivot.
    pub vec: SparseVec,
    /// The row as a combination of the inserted rows (by source index), when
    /// provenance is tracked; empty otherwise.
    pub prov: Vec<u64>,
}

/// A reduced row echelon form that rows are inserted into one at a time.
#[derive(Debug)]
pub(crate) struct Echelon<M> {
    /// The independent rows found so far.
    pub rows: Vec<Row>,
    /// For each column, the index of the row whose pivot it is, or [`NONE`].
    pub pivot_row: Vec<u32>,
    prov_len: usize,
    // Dense scratch space for reductions; kept zeroed between calls so that
    // a reduction costs the size of the rows involved, not the width.
    acc: Vec<u64>,
    seen: Vec<bool>,
    touched: Vec<u32>,
    _field: PhantomData<M>,
}

// Written out because a derive would demand `M: Clone` of the marker type.
impl<M> Clone for Echelon<M> {
    fn clone(&self) -> Self {
        Self {
            rows: self.rows.clone(),
            pivot_row: self.pivot_row.clone(),
            prov_len: self.prov_len,
            acc: self.acc.clone(),
            seen: self.seen.clone(),
            touched: self.touched.clone(),
            _field: PhantomData,
        }
    }
}

impl<M: Modulus> Echelon<M> {
    /// An empty echelon form over `ncols` columns; `prov_len` is the number
    /// of source rows to track provenance for (0 disables tracking).
    pub fn new(ncols: usize, prov_len: usize) -> Self {
        Self {
            rows: Vec::new(),
            pivot_row: vec![NONE; ncols],
            prov_len,
            acc: vec![0; ncols],
            seen: vec![false; ncols],
            touched: Vec::new(),
            _field: PhantomData,
        }
    }

    /// Empties the form (in time proportional to its rows, not its width) and
    /// sets the provenance length for the next rows.
    pub fn clear(&mut self, prov_len: usize) {
        for row in &self.rows {
            self.pivot_row[row.pivot as usize] = NONE;
        }
        self.rows.clear();
        self.prov_len = prov_len;
    }

    /// Reduces `v` against the form. Returns the residual (zero at every
    /// pivot) and appends to `coeffs` the pairs `(row, a)` with
    /// `v - sum(a * row) = residual`.
    ///
    /// Because every row is zero at the other rows' pivots, the coefficient of
    /// a row is simply the value of `v` at that row's pivot, and the rows can
    /// be subtracted in any order.
    pub fn reduce(&mut self, v: &SparseVec, coeffs: &mut Vec<(usize, u64)>) -> SparseVec {
        for (&c, &x) in v.cols.iter().zip(&v.vals) {
            let c = c as usize;
            self.acc[c] = x;
            self.seen[c] = true;
            self.touched.push(c as u32);
        }
        for (&c, &x) in v.cols.iter().zip(&v.vals) {
            let j = self.pivot_row[c as usize];
            if j == NONE || x == 0 {
                continue;
            }
            coeffs.push((j as usize, x));
            let row = &self.rows[j as usize].vec;
            for (&c2, &y) in row.cols.iter().zip(&row.vals) {
                let c2 = c2 as usize;
                self.acc[c2] = M::sub(self.acc[c2], M::mul(x, y));
                if !self.seen[c2] {
                    self.seen[c2] = true;
                    self.touched.push(c2 as u32);
                }
            }
        }
        self.touched.sort_unstable();
        let mut out = SparseVec::default();
        for &c in &self.touched {
            let c = c as usize;
            if self.acc[c] != 0 {
                out.cols.push(c as u32);
                out.vals.push(self.acc[c]);
            }
            self.acc[c] = 0;
            self.seen[c] = false;
        }
        self.touched.clear();
        out
    }

    /// Whether `v` lies in the span of the rows.
    pub fn contains(&mut self, v: &SparseVec) -> bool {
        let mut coeffs = Vec::new();
        self.reduce(v, &mut coeffs).is_empty()
    }

    /// Inserts `v` (source row `src` for provenance). The pivot is the column
    /// of the residual with the highest `score` (ties: lowest column).
    /// Returns whether `v` was independent of the rows so far.
    pub fn insert(&mut self, v: &SparseVec, src: usize, score: &[u32]) -> bool {
        let mut coeffs = Vec::new();
        let mut res = self.reduce(v, &mut coeffs);
        if res.is_empty() {
            return false;
        }
        let mut prov = Vec::new();
        if self.prov_len > 0 {
            prov = vec![0; self.prov_len];
            prov[src] = 1;
            for &(j, a) in &coeffs {
                for (p, &q) in prov.iter_mut().zip(&self.rows[j].prov) {
                    *p = M::sub(*p, M::mul(a, q));
                }
            }
        }
        let mut best = 0;
        for k in 1..res.len() {
            if score[res.cols[k] as usize] > score[res.cols[best] as usize] {
                best = k;
            }
        }
        let pivot = res.cols[best];
        let inv = M::inv(res.vals[best]);
        for x in &mut res.vals {
            *x = M::mul(*x, inv);
        }
        for x in &mut prov {
            *x = M::mul(*x, inv);
        }
        // Back-substitution keeps the form reduced: the new pivot column is
        // cleared from every earlier row.
        for row in &mut self.rows {
            let f = row.vec.get(pivot);
            if f == 0 {
                continue;
            }
            row.vec = sub_scaled::<M>(&row.vec, f, &res);
            for (p, &q) in row.prov.iter_mut().zip(&prov) {
                *p = M::sub(*p, M::mul(f, q));
            }
        }
        self.pivot_row[pivot as usize] = u32::try_from(self.rows.len()).unwrap_or(NONE);
        self.rows.push(Row {
            pivot,
            vec: res,
            prov,
        });
        true
    }
}

/// `a - f * b` for sparse vectors, dropping entries that cancel.
pub(crate) fn sub_scaled<M: Modulus>(a: &SparseVec, f: u64, b: &SparseVec) -> SparseVec {
    let mut out = SparseVec {
        cols: Vec::with_capacity(a.len() + b.len()),
        vals: Vec::with_capacity(a.len() + b.len()),
    };
    let (mut i, mut j) = (0, 0);
    while i < a.len() || j < b.len() {
        let (col, val) = if j >= b.len() || (i < a.len() && a.cols[i] < b.cols[j]) {
            i += 1;
            (a.cols[i - 1], a.vals[i - 1])
        } else if i >= a.len() || b.cols[j] < a.cols[i] {
            j += 1;
            (b.cols[j - 1], M::neg(M::mul(f, b.vals[j - 1])))
        } else {
            i += 1;
            j += 1;
            (
                a.cols[i - 1],
                M::sub(a.vals[i - 1], M::mul(f, b.vals[j - 1])),
            )
        };
        if val != 0 {
            out.cols.push(col);
            out.vals.push(val);
        }
    }
    out
}
