//! The demo ring: generated members and five years of figures, imported
//! through the same ingest path as every upload.

use std::net::SocketAddr;
use std::path::Path;

use anyhow::Context;
use vergleichsring_catalog::MemberKind;
use vergleichsring_engine::{Engine, SubmitRequest};
use vergleichsring_server::AppState;
use vergleichsring_store::{Member, Role, Store};

/// Members of the demo ring.
pub const MEMBERS: usize = 400;
/// Years of the demo ring with every member's figures.
pub const YEARS: std::ops::RangeInclusive<i32> = 2020..=2024;
/// The year the demo's ring is collecting: four in five members have
/// submitted, the collection is open.
pub const COLLECTING: i32 = 2025;
/// Seed of the demo ring, so every demo shows the same ring.
pub const SEED: u64 = 2024;

/// Creates the demo data directory unless it already holds a ring.
pub async fn prepare(data_dir: &Path) -> anyhow::Result<()> {
    Store::init(data_dir)?;
    let store = std::sync::Arc::new(Store::open(data_dir).await?);
    if !store.members().is_empty() {
        eprintln!("reusing the demo ring in {}", data_dir.display());
        give_structure(&store).await?;
        return Ok(());
    }
    eprintln!(
        "generating a demo ring of {MEMBERS} members, {}–{} (and {COLLECTING} in collection), in {}",
        YEARS.start(),
        YEARS.end(),
        data_dir.display()
    );
    let mut generated = vergleichsring_synth::generate(MEMBERS, *YEARS.start()..=COLLECTING, SEED)?;
    // A year in collection: the first four in five members have submitted.
    for f in generated
        .figures
        .iter_mut()
        .filter(|f| f.year == COLLECTING)
    {
        let keep = f.batch.num_rows() * 4 / 5;
        f.batch = f.batch.slice(0, keep);
    }
    let summary = import_ring(store, &generated, None).await?;
    eprintln!(
        "imported {} submissions ({} plausibility warnings, as real data have)",
        summary.submissions, summary.warnings
    );
    Ok(())
}

/// Gives the members of a demo ring made before structural neighbours
/// their synthetic structure (the same ring is generated again from the
/// seed), so that its neighbours answer; members that have one keep it.
async fn give_structure(store: &Store) -> anyhow::Result<()> {
    let members = store.members_map();
    if members.values().all(|m| m.structure.is_some()) {
        return Ok(());
    }
    let generated = vergleichsring_synth::generate(MEMBERS, *YEARS.start()..=COLLECTING, SEED)?;
    let update: Vec<Member> = generated
        .members
        .iter()
        .filter_map(|m| {
            let old = members.get(&m.member_id)?;
            old.structure.is_none().then(|| Member {
                structure: Some(vergleichsring_store::GivenStructure {
                    area_km2: m.area_km2,
                    degurba: m.degurba,
                }),
                ..old.clone()
            })
        })
        .collect();
    eprintln!(
        "giving {} members of the demo ring their structure",
        update.len()
    );
    store.upsert_members(update).await?;
    Ok(())
}

/// What an import did.
pub struct ImportSummary {
    /// Submissions (one per domain and year).
    pub submissions: usize,
    /// Rows stored.
    pub rows: usize,
    /// Plausibility warnings stored with them.
    pub warnings: usize,
}

/// Registers a generated ring's members and submits its figures, one
/// submission per (domain, year), through `Engine::submit` like any upload.
pub async fn import_ring(
    store: std::sync::Arc<Store>,
    generated: &vergleichsring_synth::Generated,
    progress: Option<&indicatif::ProgressBar>,
) -> anyhow::Result<ImportSummary> {
    store
        .upsert_members(
            generated
                .members
                .iter()
                .map(|m| Member {
                    member_id: m.member_id.clone(),
                    name: m.name.clone(),
                    kind: m.kind,
                    structure: Some(vergleichsring_store::GivenStructure {
                        area_km2: m.area_km2,
                        degurba: m.degurba,
                    }),
                })
                .collect(),
        )
        .await?;
    // A generated ring is trusted input: one (domain, year) of every
    // German municipality ten times over (110,000 rows) is one submission,
    // above the row limit of an upload over HTTP.
    let largest = generated
        .figures
        .iter()
        .map(|f| f.batch.num_rows())
        .max()
        .unwrap_or(0);
    let defaults = vergleichsring_ingest::Limits::default();
    let limits = vergleichsring_ingest::Limits {
        max_rows: defaults.max_rows.max(largest),
        ..defaults
    };
    let engine = Engine::new(store, Default::default())
        .await?
        .with_limits(limits, std::time::Duration::from_secs(600));
    // The domains are imported side by side (one task each, years in
    // order within a domain, as the year-over-year rules expect): their
    // tables and ledgers are separate, and the checks and statistics of one
    // use a core while another writes.
    let engine = std::sync::Arc::new(engine);
    let mut tasks = Vec::new();
    for domain in vergleichsring_synth::DOMAIN_IDS {
        let figures: Vec<vergleichsring_synth::DomainYear> = generated
            .figures
            .iter()
            .filter(|f| f.domain == domain)
            .cloned()
            .collect();
        let engine = engine.clone();
        let progress = progress.cloned();
        tasks.push(tokio::spawn(async move {
            import_domain(&engine, figures, progress.as_ref()).await
        }));
    }
    let mut summary = ImportSummary {
        submissions: 0,
        rows: 0,
        warnings: 0,
    };
    for t in tasks {
        let s = t.await.context("an import task stopped")??;
        summary.submissions += s.submissions;
        summary.rows += s.rows;
        summary.warnings += s.warnings;
    }
    Ok(summary)
}

/// Submits one domain's years in order.
async fn import_domain(
    engine: &Engine,
    figures: Vec<vergleichsring_synth::DomainYear>,
    progress: Option<&indicatif::ProgressBar>,
) -> anyhow::Result<ImportSummary> {
    let mut summary = ImportSummary {
        submissions: 0,
        rows: 0,
        warnings: 0,
    };
    for f in &figures {
        if let Some(p) = progress {
            p.set_message(format!("{} {}", f.domain, f.year));
        }
        let body = vergleichsring_synth::to_parquet_bytes(&f.batch)?;
        let outcome = engine
            .submit(SubmitRequest {
                domain: f.domain.clone(),
                year: f.year,
                content_type: "application/vnd.apache.parquet".into(),
                body,
                token_id: "demo-import".into(),
                own_member: None,
            })
            .await
            .with_context(|| format!("importing {} {}", f.domain, f.year))?;
        summary.submissions += 1;
        summary.rows += outcome.rows;
        summary.warnings += outcome.warnings.len();
        if let Some(p) = progress {
            p.inc(1);
        }
    }
    Ok(summary)
}

/// The demo's typical member: a mid-sized town (library population
/// 50,000 to 100,000 in the last complete year), else the first member.
async fn typical_member(state: &AppState) -> anyhow::Result<Member> {
    let store = &state.store;
    for m in store.members() {
        if m.kind != MemberKind::KreisangehoerigeGemeinde {
            continue;
        }
        let population = state
            .engine
            .figures("library", *YEARS.end(), &m.member_id, None)
            .await
            .ok()
            .and_then(|f| f.basic.get("population").copied().flatten());
        if population.is_some_and(|p| (50_000.0..100_000.0).contains(&p)) {
            return Ok(m);
        }
    }
    store
        .members()
        .into_iter()
        .next()
        .context("the demo ring has no members")
}

/// Opens the collection of every domain for the year being collected
/// (deadline: 31 March of the year after), unless open already.
async fn open_collections(state: &AppState) -> anyhow::Result<()> {
    let deadline = format!("{}-03-31", COLLECTING + 1);
    for d in &state.engine.catalog().domains {
        if state
            .store
            .collections()
            .collection(&d.id, COLLECTING)
            .is_none()
        {
            state
                .store
                .open_collection(&d.id, COLLECTING, &deadline, "demo")
                .await?;
        }
    }
    Ok(())
}

/// Prepares the people, tokens and collections and prints a short
/// summary: where to sign in, with which account, and a few API lines.
pub async fn print_summary(
    data_dir: &Path,
    state: &AppState,
    listen: SocketAddr,
) -> anyhow::Result<()> {
    let member = typical_member(state).await?;
    open_collections(state).await?;
    let consultant = "demo-consultant";
    let people = crate::demo_people::people(data_dir, &state.store, &member, consultant).await?;
    let create =
        |role, member_id: Option<String>, consultant: Option<String>, grants: Vec<String>| {
            Store::create_token(data_dir, role, member_id, consultant, grants)
        };
    let member_token = create(Role::Member, Some(member.member_id.clone()), None, vec![])
        .await?
        .0;
    let analyst = create(Role::Analyst, None, None, vec![]).await?.0;
    // The consultant sees the demo member's reports.
    create(
        Role::Consultant,
        None,
        Some(consultant.into()),
        vec![member.member_id.clone()],
    )
    .await?;
    let web = format!("http://{listen}/web");
    println!();
    println!("Vergleichsring demo: {web}");
    println!(
        "  {MEMBERS} members, figures {}–{}; collection {COLLECTING} open (deadline 31.03.{}), four in five members have submitted",
        YEARS.start(),
        YEARS.end(),
        COLLECTING + 1
    );
    println!();
    println!(
        "Sign in (also kept in {}):",
        data_dir.join("demo-konten.txt").display()
    );
    for p in &people {
        let who = match p.role {
            Role::Member => format!("member of {} {}", member.member_id, member.name),
            Role::Consultant => format!("consultant, granted {}", member.member_id),
            r => r.as_str().to_string(),
        };
        println!("  {:<36} {}   {who}", p.email, p.password);
        if let Some(o) = &p.otpauth {
            println!(
                "    second factor: add this line to an authenticator app (or scan it as a QR code):"
            );
            println!("    {o}");
        }
    }
    let base = format!("http://{listen}/api/v1");
    println!();
    println!("API tokens (new at every start): member {member_token}   analyst {analyst}");
    println!(
        "  curl -s -H 'Authorization: Bearer {member_token}' '{base}/comparisons/library/{}?figure=loans_per_capita&group_by=size_class'",
        YEARS.end()
    );
    println!("  OpenAPI: {base}/openapi.json");
    Ok(())
}
