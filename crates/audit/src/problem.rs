//! Compression of the variables into classes and the per-member view.
//!
//! Two variables that lie in exactly the same rows (released and protected)
//! are interchangeable: every row, and hence every vector in the span of the
//! rows, has equal coefficients on them. So the rows can be written over
//! classes of such variables, which turns ~11,000 members crossed by a few
//! partitions into a few hundred columns.
//!
//! What the classes lose, and why it does not matter:
//! * A single variable `u` can only be determined if its class, minus the
//!   caller's own variables `K`, is `{u}`: otherwise every vector of
//!   `span(rows) + span(e_k, k in K)` is constant on the two or more unknown
//!   variables of the class, while `e_u` is not.
//! * If `class(u) \ K = {u}`, then `e_u` and the class indicator agree on the
//!   coordinates outside `K`, and a vector lies in `span(rows) + span(e_K)`
//!   iff its projection away from `K` lies in the projection of the row span.
//!   So `e_u` is determined iff the class column is, in the compressed system
//!   where the classes lying entirely inside `K` play the role of the known
//!   columns. Protected rows are constant on classes, so they compress
//!   exactly too.

use crate::Var;
use crate::echelon::NONE;

/// What one member knows, in class terms. Members whose view adds nothing to
/// the outside caller's (no class inside their own variables, no class with
/// exactly one variable beside their own) are not listed.
#[derive(Debug, Clone)]
pub(crate) struct Member {
    /// The member (caller identity).
    pub id: u32,
    /// Classes all of whose variables the member owns, ascending.
    pub known: Vec<u32>,
    /// Classes with exactly one variable the member does not own, and that
    /// variable.
    pub adjacent: Vec<(u32, Var)>,
}

/// Rows rewritten over variable classes.
#[derive(Debug, Clone)]
pub(crate) struct Problem {
    /// The number of variables in each class.
    pub class_size: Vec<u32>,
    /// One variable of each class (the only one for classes of size 1).
    pub class_rep: Vec<Var>,
    /// Every input row over classes: sorted, distinct class indices.
    pub rows: Vec<Vec<u32>>,
    /// The number of distinct, in-range variables of each input row.
    pub row_size: Vec<usize>,
    /// Members whose own variables matter, ascending by id.
    pub members: Vec<Member>,
}

impl Problem {
    /// Compresses `rows` (variable indices; out-of-range indices are ignored
    /// and duplicates count once) for variables owned per `owner`.
    pub fn new(owner: &[u32], rows: &[&[Var]]) -> Self {
        let (mut class_of, classes, row_size) = refine(owner.len(), rows);
        let (class_size, class_rep) = renumber(&mut class_of, classes);
        let crow = rows_over_classes(rows, &class_of, class_size.len());
        let members = members(owner, &class_of, &class_size);
        Self {
            class_size,
            class_rep,
            rows: crow,
            row_size,
            members,
        }
    }

    /// The number of classes (columns of the compressed system).
    pub fn ncols(&self) -> usize {
        self.class_size.len()
    }
}

/// Partition refinement of `n` variables by `rows`: each row splits every
/// class it meets into the part inside the row and the part outside.
/// Returns the class of each variable (`NONE` for variables in no row) with
/// ids that are only ever allocated, so some are unused; the number of ids
/// allocated; and the number of distinct, in-range variables of each row.
fn refine(n: usize, rows: &[&[Var]]) -> (Vec<u32>, u32, Vec<usize>) {
    // A stamp per class remembers the split of the current row.
    let mut class_of = vec![NONE; n];
    let mut row_stamp = vec![NONE; n];
    let mut split_stamp: Vec<u32> = Vec::new();
    let mut split_to: Vec<u32> = Vec::new();
    let mut next: u32 = 0;
    let mut row_size = Vec::with_capacity(rows.len());
    for (r, row) in rows.iter().enumerate() {
        let r = u32::try_from(r).unwrap_or(NONE);
        let mut size = 0;
        // Variables in no row so far move together into one new class.
        let mut untouched_split = NONE;
        for &v in row.iter() {
            let vi = v as usize;
            if vi >= n || row_stamp[vi] == r {
                continue;
            }
            row_stamp[vi] = r;
            size += 1;
            let old = class_of[vi];
            let new = if old == NONE {
                if untouched_split == NONE {
                    untouched_split = next;
                    next += 1;
                    split_stamp.push(NONE);
                    split_to.push(NONE);
                }
                untouched_split
            } else if split_stamp[old as usize] == r {
                split_to[old as usize]
            } else {
                let id = next;
                next += 1;
                split_stamp.push(NONE);
                split_to.push(NONE);
                split_stamp[old as usize] = r;
                split_to[old as usize] = id;
                id
            };
            class_of[vi] = new;
        }
        row_size.push(size);
    }
    (class_of, next, row_size)
}

/// Renumbers the surviving classes densely, in order of their first
/// variable, in place; returns the size and one variable of each class.
fn renumber(class_of: &mut [u32], classes: u32) -> (Vec<u32>, Vec<Var>) {
    let mut dense = vec![NONE; classes as usize];
    let mut class_size: Vec<u32> = Vec::new();
    let mut class_rep: Vec<Var> = Vec::new();
    for (v, c) in class_of.iter_mut().enumerate() {
        if *c == NONE {
            continue;
        }
        let d = &mut dense[*c as usize];
        if *d == NONE {
            *d = u32::try_from(class_size.len()).unwrap_or(NONE);
            class_size.push(0);
            class_rep.push(u32::try_from(v).unwrap_or(NONE));
        }
        *c = *d;
        class_size[*d as usize] += 1;
    }
    (class_size, class_rep)
}

/// Every row over classes: sorted, distinct class indices.
fn rows_over_classes(rows: &[&[Var]], class_of: &[u32], nclasses: usize) -> Vec<Vec<u32>> {
    let n = class_of.len();
    let mut class_stamp = vec![NONE; nclasses];
    let mut crow = Vec::with_capacity(rows.len());
    for (r, row) in rows.iter().enumerate() {
        let r = u32::try_from(r).unwrap_or(NONE);
        let mut cols = Vec::new();
        for &v in row.iter() {
            let vi = v as usize;
            if vi >= n {
                continue;
            }
            let c = class_of[vi];
            if class_stamp[c as usize] != r {
                class_stamp[c as usize] = r;
                cols.push(c);
            }
        }
        cols.sort_unstable();
        crow.push(cols);
    }
    crow
}

/// Lists, for each member, the classes it knows entirely and the classes
/// where it misses exactly one variable.
fn members(owner: &[u32], class_of: &[u32], class_size: &[u32]) -> Vec<Member> {
    let mut pairs: Vec<(u32, u32, Var)> = class_of
        .iter()
        .enumerate()
        .filter(|&(_, &c)| c != NONE)
        .map(|(v, &c)| (owner[v], c, u32::try_from(v).unwrap_or(NONE)))
        .collect();
    pairs.sort_unstable();
    // Variables of each class, needed to name the one variable a member
    // misses in an adjacent class.
    let mut class_start = vec![0usize; class_size.len() + 1];
    for (c, &s) in class_size.iter().enumerate() {
        class_start[c + 1] = class_start[c] + s as usize;
    }
    let mut fill = class_start.clone();
    let mut class_vars = vec![0; class_start[class_size.len()]];
    for (v, &c) in class_of.iter().enumerate() {
        if c != NONE {
            class_vars[fill[c as usize]] = u32::try_from(v).unwrap_or(NONE);
            fill[c as usize] += 1;
        }
    }

    let mut out = Vec::new();
    let mut i = 0;
    while i < pairs.len() {
        let id = pairs[i].0;
        let mut member = Member {
            id,
            known: Vec::new(),
            adjacent: Vec::new(),
        };
        while i < pairs.len() && pairs[i].0 == id {
            let c = pairs[i].1;
            let mut count = 0u32;
            while i < pairs.len() && pairs[i].0 == id && pairs[i].1 == c {
                count += 1;
                i += 1;
            }
            let size = class_size[c as usize];
            if count == size {
                member.known.push(c);
            } else if count + 1 == size {
                let vars = &class_vars[class_start[c as usize]..class_start[c as usize + 1]];
                if let Some(&other) = vars.iter().find(|&&v| owner[v as usize] != id) {
                    member.adjacent.push((c, other));
                }
            }
        }
        if !member.known.is_empty() || !member.adjacent.is_empty() {
            out.push(member);
        }
    }
    out
}
