//! Timings of `audit` and `secondary_suppression` on a system of production
//! scale. Run with
//! `cargo run --release -p vergleichsring-audit --example bench [members] [changed] [custom]`.

use std::time::{Duration, Instant};

use vergleichsring_audit::{Var, audit, secondary_suppression};

/// A small deterministic generator (xorshift64*), so that runs are
/// comparable without a dependency.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    fn below(&mut self, n: usize) -> usize {
        usize::try_from(self.next() % n as u64).unwrap_or(0)
    }
}

/// One member's attributes.
#[derive(Clone, Copy)]
struct Member {
    size: usize,
    land: usize,
    kind: usize,
    lk: usize,
}

/// The rows of one publication: all, 10 size classes, 16 Länder, 3 kinds,
/// and LK1..LK3 (whose union is the kind "Landkreis"). Returns them with
/// names.
fn publication(members: &[Member], var: &dyn Fn(usize) -> Var) -> Vec<(String, Vec<Var>)> {
    let mut rows = vec![("all".to_string(), (0..members.len()).map(var).collect())];
    let mut by = |name: &str, n: usize, f: &dyn Fn(&Member) -> Option<usize>| {
        for k in 0..n {
            let row: Vec<Var> = members
                .iter()
                .enumerate()
                .filter(|(_, m)| f(m) == Some(k))
                .map(|(i, _)| var(i))
                .collect();
            rows.push((format!("{name}{k}"), row));
        }
    };
    by("size", 10, &|m| Some(m.size));
    by("land", 16, &|m| Some(m.land));
    by("kind", 3, &|m| Some(m.kind));
    by("lk", 3, &|m| (m.kind == 1).then_some(m.lk));
    rows
}

fn time<T>(runs: usize, mut f: impl FnMut() -> T) -> (Duration, T) {
    let mut best = Duration::MAX;
    let mut out = None;
    for _ in 0..runs {
        let t = Instant::now();
        let r = f();
        best = best.min(t.elapsed());
        out = Some(r);
    }
    match out {
        Some(r) => (best, r),
        None => (best, f()),
    }
}

fn main() {
    let args: Vec<usize> = std::env::args()
        .skip(1)
        .filter_map(|a| a.parse().ok())
        .collect();
    let n = args.first().copied().unwrap_or(11_000);
    let changed = args.get(1).copied().unwrap_or(50);
    let custom = args.get(2).copied().unwrap_or(20);
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15);

    // Land 15 has three members (primarily suppressed), Land 14 forty.
    let members: Vec<Member> = (0..n)
        .map(|i| Member {
            size: (rng.below(100) * rng.below(100)) / 1000,
            land: if i < 3 {
                15
            } else if i < 43 {
                14
            } else {
                rng.below(14)
            },
            kind: rng.below(3),
            lk: rng.below(3),
        })
        .collect();
    let nvars = n + changed;
    let mut owner: Vec<u32> = (0..n).map(|i| u32::try_from(i).unwrap_or(0)).collect();
    // The changed members (spread over the Länder 0..13) get a new variable
    // in the second publication.
    let mut new_var = vec![None; n];
    for k in 0..changed {
        let m = 43 + rng.below(n - 43);
        if new_var[m].is_none() {
            new_var[m] = Some(u32::try_from(n + k).unwrap_or(0));
        }
    }
    owner.extend((0..changed).map(|k| {
        let m = new_var
            .iter()
            .position(|&v| v == Some(u32::try_from(n + k).unwrap_or(0)));
        u32::try_from(m.unwrap_or(0)).unwrap_or(0)
    }));
    let var1 = |i: usize| u32::try_from(i).unwrap_or(0);
    let var2 = |i: usize| new_var[i].unwrap_or(u32::try_from(i).unwrap_or(0));
    let pub1 = publication(&members, &var1);
    let pub2 = publication(&members, &var2);

    // Custom groups asked for between the publications: 10-200 members.
    let customs: Vec<Vec<Var>> = (0..custom)
        .map(|_| {
            let size = 10 + rng.below(190);
            let mut g: Vec<Var> = (0..size).map(|_| var1(43 + rng.below(n - 43))).collect();
            g.sort_unstable();
            g.dedup();
            g
        })
        .collect();

    // Publication 1 suppressed Land 15 (primary) and Land 14 (secondary).
    let is_prot = |name: &str| name == "land14" || name == "land15";
    let mut fixed: Vec<Vec<Var>> = pub1
        .iter()
        .filter(|(name, _)| !is_prot(name))
        .map(|(_, r)| r.clone())
        .collect();
    let fixed_protected: Vec<Vec<Var>> = pub1
        .iter()
        .filter(|(name, _)| is_prot(name))
        .map(|(_, r)| r.clone())
        .collect();
    fixed.extend(customs.iter().cloned());
    let candidates: Vec<Vec<Var>> = pub2
        .iter()
        .filter(|(name, _)| name != "land15")
        .map(|(_, r)| r.clone())
        .collect();
    let candidate_protected: Vec<Vec<Var>> = pub2
        .iter()
        .filter(|(name, _)| name == "land15")
        .map(|(_, r)| r.clone())
        .collect();

    // The full audit of both publications as they end up: everything but
    // Länder 14 and 15.
    let mut released = fixed.clone();
    released.extend(
        pub2.iter()
            .filter(|(name, _)| !is_prot(name))
            .map(|(_, r)| r.clone()),
    );
    let mut protected = fixed_protected.clone();
    protected.extend(
        pub2.iter()
            .filter(|(name, _)| is_prot(name))
            .map(|(_, r)| r.clone()),
    );
    println!(
        "system: {n} members, {nvars} variables, {changed} changed, {} released rows ({} nonzeros), {} protected",
        released.len(),
        released.iter().map(Vec::len).sum::<usize>(),
        protected.len()
    );
    let (t, finding) = time(5, || audit(&owner, &released, &protected));
    println!(
        "audit (outside + every member): {:.1} ms, finding {finding:?}",
        t.as_secs_f64() * 1e3
    );

    let (t, result) = time(5, || {
        secondary_suppression(
            &owner,
            &fixed,
            &fixed_protected,
            &candidates,
            &candidate_protected,
        )
    });
    let names: Vec<&str> = pub2
        .iter()
        .filter(|(name, _)| name != "land15")
        .map(|(n, _)| n.as_str())
        .collect();
    let shown = result
        .as_ref()
        .map(|s| s.iter().map(|&j| names[j]).collect::<Vec<_>>());
    println!(
        "secondary_suppression ({} candidates): {:.1} ms, result {shown:?}",
        candidates.len(),
        t.as_secs_f64() * 1e3
    );
}
