//! The signed-in member's overview (`GET /web`): the collections open
//! for it with deadline and status, its open warnings (asked back ones
//! with the ring's question) and its submissions of the last ten years.

use super::*;

/// The signed-in member's overview: its open warnings and its submissions
/// of the last ten years, newest first.
pub(super) async fn overview(
    state: &AppState,
    member: &Member,
    explained: bool,
) -> Result<Response, WebError> {
    let open = state
        .engine
        .warnings(None, None, Some(&member.member_id), true)
        .await?;
    let catalog = state.engine.catalog();
    let mut submissions = Vec::new();
    let latest = pages::this_year();
    for year in (latest - 10..=latest).rev() {
        for d in &catalog.domains {
            let list = state
                .engine
                .submissions(&d.id, year, Some(&member.member_id))
                .await?;
            for info in list {
                submissions.push(pages::SubmissionRow {
                    domain: &d.label,
                    year,
                    current: info.current_for.contains(&member.member_id),
                    info,
                });
            }
        }
    }
    let mut collections = Vec::new();
    let opened = state.store.collections();
    for c in opened.opened.values() {
        let Ok(status) = state
            .engine
            .collection(&c.domain, c.year, Some(&member.member_id))
            .await
        else {
            // A member that left before the year is not in its collection.
            continue;
        };
        if let Some(m) = status.members.first() {
            collections.push(pages::MemberCollection {
                domain: pages::domain_label(catalog, &c.domain),
                year: c.year,
                deadline: c.deadline.clone(),
                status: m.status,
            });
        }
    }
    let page = pages::overview(
        catalog,
        member,
        explained,
        &open,
        &collections,
        &submissions,
    );
    Ok(html_page(page.into_string()))
}
