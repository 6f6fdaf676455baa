//! The coordinator's registration of members (`/web/mitglieder`): the
//! official register proposes name and kind from the regional key; the
//! member is registered as `POST /api/v1/members` does, and the page goes
//! on to inviting its users.

use vergleichsring_catalog::MemberKind;
use vergleichsring_catalog::register::Register;
use vergleichsring_store::Member as RingMember;

use super::*;

fn page(
    state: &AppState,
    account: &Account,
    ags: &str,
    notice: Option<&str>,
    error: Option<&str>,
    status: StatusCode,
) -> Response {
    // The register knows 8- and 5-digit keys; anything longer is not looked up.
    let proposal = Register::bundled().propose(ags);
    let view = pages::MembersView {
        ags,
        proposal: proposal.as_ref(),
        members: state.store.members_map().len(),
        notice,
        error,
    };
    (
        status,
        html_page(pages::members(account, &view).into_string()),
    )
        .into_response()
}

/// `GET /web/mitglieder[?ags=KEY]`.
#[utoipa::path(
    get,
    path = "/web/mitglieder",
    operation_id = "web_members",
    tag = "web",
    summary = "Register members (admin)",
    description = "For an admin account: a regional key (`ags`, 8 digits for a municipality, 5 for a Landkreis) and the official register's proposal of name and kind (Destatis GV-ISys, bundled; the page shows its attribution), with the form that registers the member. A key the register does not hold gets an empty form.",
    params(crate::contract::WebMembersQuery),
    security(("session" = [])),
    responses(
        (status = 200, description = "The page.", body = String, content_type = "text/html"),
        crate::contract::responses::NotSignedIn,
        crate::contract::responses::NotAdminPage,
    )
)]
pub(super) async fn members(
    State(state): State<AppState>,
    ApiQuery(q): ApiQuery<contract::WebMembersQuery>,
    SignedIn(Admin(account)): SignedIn<Admin>,
) -> Result<Response, WebError> {
    let ags: String = q
        .ags
        .as_deref()
        .unwrap_or("")
        .chars()
        .filter(|c| !c.is_whitespace())
        .take(16)
        .collect();
    Ok(page(&state, &account, &ags, None, None, StatusCode::OK))
}

#[derive(Deserialize, utoipa::ToSchema)]
pub(super) struct MemberForm {
    csrf: String,
    member_id: String,
    name: String,
    /// `kreisfreie_stadt`, `kreisangehoerige_gemeinde` or `landkreis`.
    kind: String,
}

impl CsrfField for MemberForm {
    fn csrf(&self) -> &str {
        &self.csrf
    }
}

/// `POST /web/mitglieder`: registers a member.
#[utoipa::path(
    post,
    path = "/web/mitglieder",
    operation_id = "web_register_member",
    tag = "web",
    summary = "Register a member (admin)",
    description = "An admin account registers a member (or changes the name and kind of one), as `POST /api/v1/members` does; then on to the invitation of its users on `/web/benutzer`.",
    request_body(content = inline(MemberForm), content_type = "application/x-www-form-urlencoded"),
    security(("session" = [])),
    responses(
        (status = 303, description = "Registered: on to its users.", headers(("location" = String, description = "`/web/benutzer?mitglied=KEY`"))),
        crate::contract::responses::NotSignedIn,
        (status = 403, description = "Not an admin account, a wrong CSRF token, or a post from another site.", body = String, content_type = "text/html"),
        crate::contract::responses::NotAForm,
        (status = 422, description = "A key that does not fit its kind, or an empty name: the page again with the reason.", body = String, content_type = "text/html"),
    )
)]
pub(super) async fn register_member(
    State(state): State<AppState>,
    CsrfForm {
        who: Admin(account),
        form,
    }: CsrfForm<Admin, MemberForm>,
) -> Result<Response, WebError> {
    let member_id = form.member_id.trim().to_string();
    let Some(kind) = MemberKind::parse(&form.kind) else {
        return Ok(page(
            &state,
            &account,
            &member_id,
            None,
            Some("Bitte wählen Sie die Art des Mitglieds."),
            StatusCode::UNPROCESSABLE_ENTITY,
        ));
    };
    let member = RingMember {
        member_id: member_id.clone(),
        name: vergleichsring_store::plain_line(&form.name, vergleichsring_store::MAX_NAME_CHARS),
        kind,
        // A structure given before stays (`Store::upsert_members_by`).
        structure: None,
    };
    match state
        .store
        .upsert_members_by(account.caller.actor(), vec![member])
        .await
    {
        Ok(_) => Ok(see_other(&format!(
            "/web/benutzer?mitglied={}",
            pages::url_encode(&member_id)
        ))),
        Err(vergleichsring_store::StoreError::Invalid(m)) => {
            let message = format!("Nicht eingetragen: {m}");
            Ok(page(
                &state,
                &account,
                &member_id,
                None,
                Some(&message),
                StatusCode::UNPROCESSABLE_ENTITY,
            ))
        }
        Err(other) => Err(ApiError::from(other).into()),
    }
}
