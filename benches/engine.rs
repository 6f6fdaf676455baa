//! Criterion benchmarks at the scale of every German municipality (11,000
//! members): key figures of one (domain, year), all comparisons of one
//! (domain, year) computed cold, one member's comparison from the
//! materialised groups, and one HTML report through a real engine over a
//! data directory. Run with `cargo bench --bench engine`; the figures go to
//! BENCHMARKS.md, never into tests.

#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

use std::collections::BTreeMap;
use std::hint::black_box;
use std::sync::Arc;

use criterion::{BatchSize, Criterion, criterion_group, criterion_main};
use vergleichsring_catalog::Catalog;
use vergleichsring_engine::compare::{self, CompareInput, Dimension, GroupBy};
use vergleichsring_engine::disclosure::{Audience, Policy};
use vergleichsring_engine::offline;
use vergleichsring_engine::snapshot::Snapshot;
use vergleichsring_engine::{Engine, SubmitRequest};
use vergleichsring_store::{Member, Store};

const MEMBERS: usize = 11_000;
const YEAR: i32 = 2024;

fn members_of(g: &vergleichsring_synth::Generated) -> BTreeMap<String, Member> {
    g.members
        .iter()
        .map(|m| {
            (
                m.member_id.clone(),
                Member {
                    member_id: m.member_id.clone(),
                    name: m.name.clone(),
                    kind: m.kind,
                    structure: None,
                },
            )
        })
        .collect()
}

/// A copy of a snapshot with empty materialised groups.
fn fresh_copy(s: &Snapshot) -> Snapshot {
    let y = s.year(YEAR).unwrap();
    let rows = y.history.iter().map(|r| r.as_ref().clone()).collect();
    let keys = y
        .keys()
        .map(|(m, k)| ((YEAR, m.to_string()), k.clone()))
        .collect();
    Snapshot::from_parts(s.version, rows, keys)
}

fn benches(c: &mut Criterion) {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let catalog = Catalog::bundled().unwrap();
    let g = vergleichsring_synth::generate(MEMBERS, YEAR..=YEAR, 1).unwrap();
    let members = members_of(&g);
    let library = g.figures.iter().find(|f| f.domain == "library").unwrap();
    let batches = vec![library.batch.clone()];

    c.bench_function("key figures, library 2024, 11k members", |b| {
        b.iter(|| {
            rt.block_on(offline::snapshot_of(&catalog, "library", YEAR, &batches))
                .unwrap()
        })
    });

    let snapshot = rt
        .block_on(offline::snapshot_of(&catalog, "library", YEAR, &batches))
        .unwrap();
    c.bench_function(
        "all comparisons (15 figures × 4 dimensions), cold, 11k",
        |b| {
            b.iter_batched(
                || fresh_copy(&snapshot),
                |s| offline::all_comparisons(&catalog, "library", YEAR, &s, &members).unwrap(),
                BatchSize::LargeInput,
            )
        },
    );

    let policy = Policy::default();
    let domain = catalog.domain("library").unwrap();
    let input = CompareInput {
        catalog: &catalog,
        domain,
        snapshot: &snapshot,
        members: &members,
        policy: &policy,
        members_generation: 0,
        noise: None,
        neighbours: vergleichsring_engine::structure::NeighbourSettings::shared_default(),
    };
    let me = members.keys().nth(100).unwrap().clone();
    let by = GroupBy::Dimension(Dimension::SizeClass);
    // Warm: the groups are materialised by the first call.
    compare::compare(&input, YEAR, 1, &by, Audience::Member, Some(&me));
    c.bench_function("one member's comparison, materialised, 11k", |b| {
        b.iter(|| {
            black_box(compare::compare(
                &input,
                YEAR,
                1,
                &by,
                Audience::Member,
                Some(&me),
            ))
        })
    });

    // A real engine over a data directory: 11k members, three domains,
    // five years, imported through the upload path.
    let dir = tempfile::tempdir().unwrap();
    let engine = rt.block_on(async {
        Store::init(dir.path()).unwrap();
        let store = Arc::new(Store::open(dir.path()).await.unwrap());
        let ring = vergleichsring_synth::generate(MEMBERS, 2020..=YEAR, 1).unwrap();
        store
            .upsert_members(members_of(&ring).into_values().collect())
            .await
            .unwrap();
        let engine = Engine::new(store, Policy::default()).await.unwrap();
        for f in &ring.figures {
            engine
                .submit(SubmitRequest {
                    domain: f.domain.clone(),
                    year: f.year,
                    content_type: "application/vnd.apache.parquet".into(),
                    body: vergleichsring_synth::to_parquet_bytes(&f.batch).unwrap(),
                    token_id: "bench".into(),
                    own_member: None,
                })
                .await
                .unwrap();
        }
        engine
    });
    let report_member = me.clone();
    c.bench_function("one HTML report (3 domains, 5 years), 11k", |b| {
        b.iter(|| {
            let report = rt
                .block_on(engine.report(&report_member, YEAR, Audience::Member, None))
                .unwrap();
            black_box(vergleichsring_report::to_html(
                &report,
                &vergleichsring_report::HtmlOptions::default(),
            ))
        })
    });
}

criterion_group! {
    name = engine;
    config = Criterion::default().sample_size(20);
    targets = benches
}
criterion_main!(engine);
