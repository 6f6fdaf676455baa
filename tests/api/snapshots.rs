//! The incremental snapshot refresh against a full reload: after every
//! upload (bulk files in random year order, re-uploads of parts of a year),
//! the snapshot the engine brought forward commit by commit, with its
//! materialised comparisons, equals one loaded from the Delta table by a
//! freshly opened engine, row by row, key figure by key figure and
//! comparison by comparison.

use std::sync::Arc;
use std::sync::atomic::Ordering;

use vergleichsring_engine::disclosure::{Audience, Policy};
use vergleichsring_engine::snapshot::Snapshot;
use vergleichsring_engine::{Engine, StatsRequest, SubmitRequest};
use vergleichsring_store::{Member, Store};

const PARQUET: &str = "application/vnd.apache.parquet";

fn same_snapshot(a: &Snapshot, b: &Snapshot, what: &str) {
    assert_eq!(a.version, b.version, "{what}: version");
    assert_eq!(a.years(), b.years(), "{what}: years");
    assert_eq!(a.row_count(), b.row_count(), "{what}: rows");
    for y in a.years() {
        let (ya, yb) = (a.year(y).unwrap(), b.year(y).unwrap());
        assert!(
            ya.current_rows().eq(yb.current_rows()),
            "{what}: current rows of {y}"
        );
        assert!(
            ya.history.iter().zip(&yb.history).all(|(r, s)| r == s),
            "{what}: history of {y}"
        );
        assert!(ya.keys().eq(yb.keys()), "{what}: key figures of {y}");
    }
}

/// A tiny deterministic generator, so that a failure can be replayed.
struct Lcg(u64);

impl Lcg {
    fn next(&mut self, n: usize) -> usize {
        self.0 = self
            .0
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        ((self.0 >> 33) as usize) % n.max(1)
    }
}

/// The upload of one generated (domain, year) as a Parquet file.
fn upload_of(f: &vergleichsring_synth::DomainYear) -> SubmitRequest {
    SubmitRequest {
        domain: f.domain.clone(),
        year: f.year,
        content_type: PARQUET.into(),
        body: vergleichsring_synth::to_parquet_bytes(&f.batch).unwrap(),
        token_id: "test".into(),
        own_member: None,
    }
}

/// A data directory with a generated ring's members registered (no
/// figures yet).
async fn ring_store(
    members: usize,
    years: std::ops::RangeInclusive<i32>,
    seed: u64,
) -> (
    tempfile::TempDir,
    Arc<Store>,
    vergleichsring_synth::Generated,
) {
    let dir = tempfile::tempdir().unwrap();
    Store::init(dir.path()).unwrap();
    let store = Arc::new(Store::open(dir.path()).await.unwrap());
    let ring = vergleichsring_synth::generate(members, years, seed).unwrap();
    store
        .upsert_members(
            ring.members
                .iter()
                .map(|m| Member {
                    member_id: m.member_id.clone(),
                    name: m.name.clone(),
                    kind: m.kind,
                    structure: None,
                })
                .collect(),
        )
        .await
        .unwrap();
    (dir, store, ring)
}

#[tokio::test]
async fn the_incrementally_refreshed_snapshot_equals_a_full_reload() {
    let (dir, store, ring) = ring_store(60, 2019..=2023, 5).await;
    let engine = Engine::new(store.clone(), Policy::default()).await.unwrap();
    let mut rng = Lcg(7);
    let mut files: Vec<usize> = (0..ring.figures.len()).collect();
    // Years in random order, then re-uploads of random slices of a year.
    for i in (1..files.len()).rev() {
        files.swap(i, rng.next(i + 1));
    }
    for _ in 0..12 {
        files.push(rng.next(ring.figures.len()));
    }
    for (step, &i) in files.iter().enumerate() {
        let f = &ring.figures[i];
        // Reading the snapshot first keeps a cache that the refresh brings
        // forward (instead of loading the table after the commit).
        engine.snapshot(&f.domain).await.unwrap();
        let batch = if step < ring.figures.len() {
            f.batch.clone()
        } else {
            let start = rng.next(f.batch.num_rows());
            let len = 1 + rng.next(f.batch.num_rows() - start);
            f.batch.slice(start, len)
        };
        engine
            .submit(SubmitRequest {
                domain: f.domain.clone(),
                year: f.year,
                content_type: PARQUET.into(),
                body: vergleichsring_synth::to_parquet_bytes(&batch).unwrap(),
                token_id: "test".into(),
                own_member: None,
            })
            .await
            .unwrap();
        let refreshed = engine.snapshot(&f.domain).await.unwrap();
        let counters = engine.refresh_counters();
        assert_eq!(
            counters.incremental.load(Ordering::Relaxed),
            step as u64 + 1,
            "every upload refreshes incrementally"
        );
        // One full load per domain at most: every later upload refreshes.
        assert!(counters.full_loads.load(Ordering::Relaxed) <= 5);
        let fresh_store = Arc::new(Store::open(dir.path()).await.unwrap());
        let fresh = Engine::new(fresh_store.clone(), Policy::default())
            .await
            .unwrap();
        let reloaded = fresh.snapshot(&f.domain).await.unwrap();
        let what = format!("step {step}, {} {}", f.domain, f.year);
        same_snapshot(&refreshed, &reloaded, &what);

        // Comparisons from the materialised groups equal those computed
        // afresh, for the operator and for a member.
        let domain = store.catalog().domain(&f.domain).unwrap();
        let member = refreshed
            .year(f.year)
            .and_then(|y| y.current_rows().next().map(|(m, _)| m.to_string()));
        for k in domain.key_figures.iter().take(3) {
            for group_by in ["all", "size_class", "land", "kind"] {
                for (audience, m) in [
                    (Audience::Admin, None),
                    (Audience::Member, member.as_deref()),
                ] {
                    let req = StatsRequest {
                        domain: &f.domain,
                        figure: &k.id,
                        group_by,
                        audience,
                        member: m,
                        of: None,
                        as_of: None,
                    };
                    // Twice: the second answer comes from the cache.
                    let a = engine.comparison(&req, f.year).await.unwrap();
                    let a2 = engine.comparison(&req, f.year).await.unwrap();
                    let b = fresh.comparison(&req, f.year).await.unwrap();
                    assert_eq!(a, a2, "{what} {} {group_by}", k.id);
                    assert_eq!(a, b, "{what} {} {group_by}", k.id);
                }
            }
        }
    }
}

/// Two engines over one data directory stand for two processes: what one
/// commits (or compacts, or registers), the other picks up with
/// `follow_log`, commit by commit, without reading the whole table again.
#[tokio::test]
async fn another_processes_commits_are_followed_incrementally() {
    let dir = tempfile::tempdir().unwrap();
    Store::init(dir.path()).unwrap();
    let ring = vergleichsring_synth::generate(30, 2022..=2024, 3).unwrap();
    let store_a = Arc::new(Store::open(dir.path()).await.unwrap());
    let a = Engine::new(store_a.clone(), Policy::default())
        .await
        .unwrap();
    let store_b = Arc::new(Store::open(dir.path()).await.unwrap());
    let b = Engine::new(store_b.clone(), Policy::default())
        .await
        .unwrap();
    let members: Vec<Member> = ring
        .members
        .iter()
        .map(|m| Member {
            member_id: m.member_id.clone(),
            name: m.name.clone(),
            kind: m.kind,
            structure: None,
        })
        .collect();
    store_b
        .upsert_members(members[..20].to_vec())
        .await
        .unwrap();
    // A sees B's members.
    let generation = store_a.members_generation();
    a.follow_log().await.unwrap();
    assert_eq!(store_a.members_map().len(), 20);
    assert!(store_a.members_generation() > generation);
    store_b.upsert_members(members.clone()).await.unwrap();
    a.follow_log().await.unwrap();
    assert_eq!(store_a.members_map().len(), 30);
    let library: Vec<_> = ring
        .figures
        .iter()
        .filter(|f| f.domain == "library")
        .collect();
    let request = |i: usize| upload_of(library[i]);
    a.submit(request(0)).await.unwrap();
    a.snapshot("library").await.unwrap();
    let loads = a.refresh_counters().full_loads.load(Ordering::Relaxed);
    // B commits twice; A follows both commits one by one.
    b.submit(request(1)).await.unwrap();
    b.submit(request(2)).await.unwrap();
    assert_eq!(a.follow_log().await.unwrap(), 2);
    let fresh = || async {
        let s = Arc::new(Store::open(dir.path()).await.unwrap());
        let e = Engine::new(s, Policy::default()).await.unwrap();
        e.snapshot("library").await.unwrap()
    };
    same_snapshot(
        &a.snapshot("library").await.unwrap(),
        &*fresh().await,
        "after B's commits",
    );
    // B compacts: the same data at the next version, still no reload in A.
    let compacted = store_b.compact().await.unwrap();
    assert!(
        compacted
            .iter()
            .any(|c| c.domain == "library" && c.added > 0)
    );
    assert_eq!(a.follow_log().await.unwrap(), 1);
    let after = a.snapshot("library").await.unwrap();
    same_snapshot(&after, &*fresh().await, "after B's compaction");
    assert_eq!(after.version, Some(3));
    assert_eq!(
        a.refresh_counters().full_loads.load(Ordering::Relaxed),
        loads,
        "A never read the whole table again"
    );
    // And A's own next commit lands after all of that.
    let outcome = a.submit(request(0)).await.unwrap();
    assert_eq!(outcome.data_version, "5");
}

/// The engine's memory cache holds years, ledger entries and publication
/// masks within its byte budget: an engine with a budget of a quarter of
/// what the ring takes answers every comparison and time series the same
/// as one that holds everything, twice over (the second time from years
/// that were dropped and read again from the lake), and what its cache
/// accounts never exceeds the budget.
#[tokio::test]
async fn the_memory_cache_stays_within_its_budget_and_evicted_years_answer_the_same() {
    let (_dir, store, ring) = ring_store(60, 2017..=2024, 11).await;
    let loader = Engine::new(store.clone(), Policy::default()).await.unwrap();
    for f in &ring.figures {
        loader.submit(upload_of(f)).await.unwrap();
    }
    let member = ring.members[0].member_id.clone();
    // Every comparison and time series asked, by admin (the live years),
    // an analyst and a member (publications).
    async fn ask_everything(
        engine: &Engine,
        ring: &vergleichsring_synth::Generated,
        member: &str,
    ) -> Vec<String> {
        let mut answers = Vec::new();
        let catalog = vergleichsring_catalog::Catalog::bundled().unwrap();
        for d in &catalog.domains {
            let years: std::collections::BTreeSet<i32> = ring
                .figures
                .iter()
                .filter(|f| f.domain == d.id)
                .map(|f| f.year)
                .collect();
            for k in d.key_figures.iter().take(1) {
                for (audience, m) in [
                    (Audience::Admin, None),
                    (Audience::Analyst, None),
                    (Audience::Member, Some(member)),
                ] {
                    for group_by in ["all", "size_class"] {
                        let req = StatsRequest {
                            domain: &d.id,
                            figure: &k.id,
                            group_by,
                            audience,
                            member: m,
                            of: None,
                            as_of: None,
                        };
                        for y in &years {
                            let c = engine.comparison(&req, *y).await;
                            answers.push(format!("{:?}", c.map_err(|e| e.to_string())));
                        }
                        let t = engine.timeseries(&req, None, None).await;
                        answers.push(format!("{:?}", t.map_err(|e| e.to_string())));
                    }
                }
            }
        }
        answers
    }
    let roomy = Engine::new(store.clone(), Policy::default())
        .await
        .unwrap()
        .with_cache_budget(1 << 30);
    let expected = ask_everything(&roomy, &ring, &member).await;
    let all = roomy.cache_stats();
    assert_eq!(all.evictions, 0);
    let budget = all.bytes / 4;
    let tight = Engine::new(store.clone(), Policy::default())
        .await
        .unwrap()
        .with_cache_budget(budget);
    for round in 0..2 {
        let answers = ask_everything(&tight, &ring, &member).await;
        assert_eq!(answers.len(), expected.len());
        for (i, (a, b)) in answers.iter().zip(&expected).enumerate() {
            assert_eq!(a, b, "round {round}, answer {i}");
        }
        let s = tight.cache_stats();
        assert!(
            s.peak <= budget,
            "round {round}: peak {} > budget {budget}",
            s.peak
        );
        assert!(
            s.bytes <= budget,
            "round {round}: {} > budget {budget}",
            s.bytes
        );
        assert!(s.evictions > 0, "round {round}: nothing was evicted");
    }
    // The second round read years again that the first had dropped.
    assert!(tight.cache_stats().misses > 2 * all.misses);
}
