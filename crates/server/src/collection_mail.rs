//! The collection's mails to members' users: a warning asked back, and
//! reminders (previewed, recorded inside the commit, then sent). A member's addressees are its accounts that were taken up
//! (a password or single sign-on) and are not disabled. Mails go out
//! after the change is stored; a failed delivery is logged, never an
//! error.

use vergleichsring_engine::collection::Status;
use vergleichsring_store::{Review, UserRecord};

use crate::AppState;
use crate::mail::{send_to, user_text};

/// The accounts of a member that receive its mail.
pub(crate) fn addressees(state: &AppState, member_id: &str) -> Vec<UserRecord> {
    state
        .store
        .users()
        .into_iter()
        .filter(|u| {
            u.member_id.as_deref() == Some(member_id)
                && !u.disabled
                && (u.password_hash.is_some() || u.sso.is_some())
        })
        .collect()
}

/// The text of a question about a warning (the coordinator's comment in
/// plain lines, the member's name defanged).
pub(crate) fn asked_back_text(
    name: &str,
    domain_label: &str,
    year: i32,
    rule: &str,
    comment: &str,
    base: &str,
) -> String {
    let comment: Vec<String> = comment
        .lines()
        .map(|l| vergleichsring_store::plain_line(l, 2000))
        .collect();
    format!(
        "Guten Tag {name},\n\n\
         der Betrieb des Vergleichsrings hat eine Rückfrage zu einem Hinweis auf Ihre Zahlen \
         für {domain_label} {year} (Prüfregel {rule}):\n\n{}\n\n\
         Bitte prüfen Sie die Zahlen und erläutern Sie den Hinweis erneut, oder laden Sie \
         berichtigte Zahlen hoch:\n\n{base}/web\n\n\
         Ihr Vergleichsring\n",
        comment.join("\n"),
        name = user_text(name),
    )
}

/// Mails the member's users that a warning was asked back, after the
/// answer (a slow mail server does not hold up the coordinator's page).
pub(crate) async fn asked_back(state: &AppState, domain: &str, year: i32, review: &Review) {
    if state.mail.is_none() {
        return;
    }
    let users = addressees(state, &review.member_id);
    let label = state
        .engine
        .catalog()
        .domain(domain)
        .map_or(domain.to_string(), |d| d.label.clone());
    let base = state.public_url.as_deref().unwrap_or("").to_string();
    let (state, review) = (state.clone(), review.clone());
    tokio::spawn(async move {
        for u in users {
            let body = asked_back_text(&u.name, &label, year, &review.rule, &review.comment, &base);
            send_to(
                &state,
                &u,
                "Rückfrage zu Ihren Zahlen – Vergleichsring",
                body,
            )
            .await;
        }
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_question_keeps_the_comment_and_defangs_the_name() {
        let text = asked_back_text(
            "Stadt www.evil.example",
            "Öffentliche Bibliotheken",
            2025,
            "loans_yoy",
            "Bitte Entleihungen prüfen:\r\nsind Verlängerungen enthalten?\u{202e}",
            "https://ring.example.de",
        );
        assert!(text.contains("Stadt www[.]evil[.]example"), "{text}");
        assert!(text.contains("Bitte Entleihungen prüfen:\nsind Verlängerungen enthalten?\n"));
        assert!(!text.contains('\u{202e}') && !text.contains('\r'));
        assert!(text.contains("https://ring.example.de/web"));
    }
}

/// The members a round of reminders is for: the ids named (each must be
/// in the collection), else the members in the statuses named (default:
/// not started and started).
pub(crate) fn chosen_members(
    status: &vergleichsring_engine::collection::CollectionStatus,
    member_ids: Option<Vec<String>>,
    statuses: Option<Vec<String>>,
) -> Result<Vec<String>, crate::error::ApiError> {
    if let Some(ids) = member_ids {
        for id in &ids {
            if !status.members.iter().any(|m| &m.member_id == id) {
                return Err(crate::error::ApiError::bad_request(format!(
                    "member_ids: {} is not a member of the ring in {}",
                    id.chars().take(20).collect::<String>(),
                    status.year
                )));
            }
        }
        let mut ids = ids;
        ids.sort();
        ids.dedup();
        return Ok(ids);
    }
    let wanted = match statuses {
        None => vec![Status::NotStarted, Status::Started],
        Some(list) => list
            .iter()
            .map(|s| {
                Status::from_id(s).ok_or_else(|| {
                    crate::error::ApiError::bad_request(format!(
                        "statuses: '{}' is not one of not_started, started, submitted, warnings_open, explained, approved",
                        s.chars().take(40).collect::<String>()
                    ))
                })
            })
            .collect::<Result<_, _>>()?,
    };
    Ok(status
        .members
        .iter()
        .filter(|m| wanted.contains(&m.status))
        .map(|m| m.member_id.clone())
        .collect())
}

/// The reminder's subject.
pub(crate) const REMINDER_SUBJECT: &str = "Erinnerung: Ihre Zahlen für den Vergleichsring";

/// The reminder's default text; `{name}`, `{kommune}`, `{bereich}`,
/// `{jahr}`, `{frist}` and `{link}` are filled in for each addressee.
pub(crate) const REMINDER_TEMPLATE: &str = "Guten Tag {name},\n\n\
für {kommune} fehlen im Vergleichsring noch die Zahlen {bereich} {jahr}, oder es sind Hinweise \
offen. Bitte tragen Sie sie bis zum {frist} ein oder laden Sie sie hoch:\n\n{link}\n\n\
Vielen Dank!\n\nIhr Vergleichsring\n";

/// The longest reminder text a coordinator may write, in characters.
pub(crate) const MAX_TEMPLATE_CHARS: usize = 5000;

/// What fills a reminder's placeholders for one addressee.
pub(crate) struct ReminderFields<'a> {
    pub(crate) name: &'a str,
    pub(crate) member: &'a str,
    pub(crate) domain: &'a str,
    pub(crate) year: i32,
    pub(crate) deadline: &'a str,
    pub(crate) link: &'a str,
}

/// A reminder's text: the template in plain lines, its placeholders
/// filled (names defanged, the deadline the German way).
pub(crate) fn reminder_text(template: &str, f: &ReminderFields<'_>) -> String {
    let lines: Vec<String> = template
        .lines()
        .map(|l| vergleichsring_store::plain_line(l, MAX_TEMPLATE_CHARS))
        .collect();
    // One pass over the template, so that a name that contains a
    // placeholder is not filled in again.
    let mut out = String::new();
    let text = lines.join("\n");
    let mut rest = text.as_str();
    while let Some(start) = rest.find('{') {
        out.push_str(&rest[..start]);
        let after = &rest[start..];
        let Some(end) = after.find('}') else {
            out.push_str(after);
            rest = "";
            break;
        };
        let value = match &after[1..end] {
            "name" => user_text(f.name),
            "kommune" => user_text(f.member),
            "bereich" => f.domain.to_string(),
            "jahr" => f.year.to_string(),
            "frist" => crate::html::german_date(f.deadline),
            "link" => f.link.to_string(),
            _ => after[..=end].to_string(),
        };
        out.push_str(&value);
        rest = &after[end + 1..];
    }
    out.push_str(rest);
    out.push('\n');
    out
}

/// What a round of reminders came to.
#[derive(Debug, Default, serde::Serialize, utoipa::ToSchema)]
pub struct RemindersOutcome {
    /// The subject of every reminder.
    pub subject: String,
    /// The text the first addressee gets (the preview).
    pub preview: Option<String>,
    /// The members chosen.
    pub chosen: Vec<String>,
    /// Reminded now (or, for a preview, to be reminded): member and number
    /// of addressees.
    pub reminded: Vec<(String, usize)>,
    /// Passed over: reminded within `limits.reminder_hours`.
    pub reminded_recently: Vec<String>,
    /// Passed over: no account taken up.
    pub without_addressees: Vec<String>,
    /// Whether the mails went out (false: a preview).
    pub sent: bool,
}

/// Reminds the chosen members of a collection: a preview (`send` false)
/// changes nothing; sending records every reminder inside one commit
/// before any mail goes out, passing over members reminded within the
/// interval, then sends in the background.
pub(crate) async fn remind(
    state: &AppState,
    collection: &vergleichsring_engine::collection::CollectionStatus,
    chosen: Vec<String>,
    template: &str,
    send: bool,
    by: &str,
) -> Result<RemindersOutcome, crate::error::ApiError> {
    use crate::error::ApiError;
    let Some(opened) = collection.collection.as_ref() else {
        return Err(ApiError::new(
            axum::http::StatusCode::CONFLICT,
            "conflict",
            "the collection is not open: set a deadline first (PUT /api/v1/collections/{domain}/{year})",
        ));
    };
    if template.chars().count() > MAX_TEMPLATE_CHARS {
        return Err(ApiError::bad_request(format!(
            "template: at most {MAX_TEMPLATE_CHARS} characters"
        )));
    }
    if send && state.mail.is_none() {
        return Err(ApiError::new(
            axum::http::StatusCode::CONFLICT,
            "conflict",
            "no mail server is configured ([mail] smtp_host); reminders cannot be sent",
        ));
    }
    let catalog = state.engine.catalog();
    let label = catalog
        .domain(&collection.domain)
        .map_or(collection.domain.clone(), |d| d.label.clone());
    let link = format!("{}/web", state.public_url.as_deref().unwrap_or(""));
    let names: std::collections::HashMap<&str, &str> = collection
        .members
        .iter()
        .map(|m| (m.member_id.as_str(), m.name.as_str()))
        .collect();
    let mut out = RemindersOutcome {
        subject: REMINDER_SUBJECT.to_string(),
        chosen: chosen.clone(),
        sent: send,
        ..Default::default()
    };
    let mut recipients = Vec::new();
    let mut mails = Vec::new();
    for m in &chosen {
        let users = addressees(state, m);
        if users.is_empty() {
            out.without_addressees.push(m.clone());
            continue;
        }
        recipients.push((m.clone(), users.len()));
        for u in users {
            let fields = ReminderFields {
                name: &u.name,
                member: names.get(m.as_str()).copied().unwrap_or(m),
                domain: &label,
                year: collection.year,
                deadline: &opened.deadline,
                link: &link,
            };
            mails.push((m.clone(), u.clone(), reminder_text(template, &fields)));
        }
    }
    out.preview = mails.first().map(|(_, _, text)| text.clone());
    if !send {
        let recent = recently_reminded(state, collection, &recipients);
        out.reminded = recipients
            .into_iter()
            .filter(|(m, _)| !recent.contains(m))
            .collect();
        out.reminded_recently = recent;
        return Ok(out);
    }
    let recorded = state
        .store
        .record_reminders(
            &collection.domain,
            collection.year,
            &recipients,
            state.config.reminder_interval,
            by,
        )
        .await?;
    let due: std::collections::HashSet<&str> =
        recorded.iter().map(|r| r.member_id.as_str()).collect();
    out.reminded = recorded
        .iter()
        .map(|r| (r.member_id.clone(), r.recipients))
        .collect();
    out.reminded_recently = recipients
        .iter()
        .filter(|(m, _)| !due.contains(m.as_str()))
        .map(|(m, _)| m.clone())
        .collect();
    let mails: Vec<_> = mails
        .into_iter()
        .filter(|(m, _, _)| due.contains(m.as_str()))
        .collect();
    let state = state.clone();
    tokio::spawn(async move {
        for (_, user, text) in mails {
            send_to(&state, &user, REMINDER_SUBJECT, text).await;
        }
    });
    Ok(out)
}

/// The members of `recipients` reminded within the interval (for the
/// preview; sending decides again inside the commit).
fn recently_reminded(
    state: &AppState,
    collection: &vergleichsring_engine::collection::CollectionStatus,
    recipients: &[(String, usize)],
) -> Vec<String> {
    let all = state.store.collections();
    let now = chrono::Utc::now();
    recipients
        .iter()
        .filter(|(m, _)| {
            all.reminded_within(
                &collection.domain,
                collection.year,
                m,
                state.config.reminder_interval,
                now,
            )
        })
        .map(|(m, _)| m.clone())
        .collect()
}
