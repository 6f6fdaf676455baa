//! The web page's extractors, which do for its handlers what `Caller`
//! does for the API: [`SignedIn`] admits a page's visitor, [`Post`] checks
//! that a POST came from this site before it admits the sender, and
//! [`CsrfForm`] also checks the form's CSRF token against the session. A
//! handler names who may use it by the type it asks for ([`Member`],
//! [`Account`], [`Lead`], [`Personal`], [`Admin`], [`SecondFactorStep`],
//! [`Anyone`]), so no handler can forget a check.
//!
//! The order of the checks is the one the handlers made by hand: the body
//! is read first (a request that is not a form answers 415 or 422), then
//! the origin (403), then the session (401 or 403), then the CSRF token
//! (403).

use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::request::Parts;
use serde::de::DeserializeOwned;

use super::*;

/// A signed-in person (an account of any role) or member token.
pub(super) struct Account {
    pub(super) caller: Caller,
    /// The member's name, or the user's.
    pub(super) name: String,
    pub(super) csrf: String,
    /// A member user allowed to invite colleagues (never a token).
    pub(super) lead: bool,
    /// The account of a session signed in with a password or single
    /// sign-on; none for a token's session.
    pub(super) user: Option<vergleichsring_store::UserRecord>,
    /// An admin account without a second factor: until it enrols one, only
    /// the enrolment page and signing out are open to it.
    pub(super) must_enrol: bool,
}

/// A signed-in member (a member user or a member token).
pub(super) struct Member {
    pub(super) caller: Caller,
    pub(super) member_id: String,
    pub(super) name: String,
    pub(super) csrf: String,
    /// A member user allowed to invite colleagues (never a token).
    pub(super) lead: bool,
    /// The account of a session signed in with a password.
    pub(super) user: Option<vergleichsring_store::UserRecord>,
}

impl Account {
    /// The member this account acts for, if it is a member's.
    pub(super) fn member(&self) -> Option<Member> {
        let member_id = self.caller.member_id.clone()?;
        Some(Member {
            caller: self.caller.clone(),
            member_id,
            name: self.name.clone(),
            csrf: self.csrf.clone(),
            lead: self.lead,
            user: self.user.clone(),
        })
    }
}

/// Whether a role must have a second factor before its account counts.
pub(super) fn second_factor_required(role: Role) -> bool {
    role == Role::Admin
}

/// The account of the request's session, if it has one that counts.
pub(super) async fn account(state: &AppState, headers: &HeaderMap) -> Option<Account> {
    let id = cookie(headers, SESSION_COOKIE)?;
    let session = state.store.session(&id).await?;
    // A session waiting for its second factor counts for nothing yet.
    if session.pending {
        return None;
    }
    let csrf = crate::secrets::csrf_of(&id);
    match &session.user_id {
        // A disabled account ends its sessions with it.
        Some(user_id) => {
            let user = state.store.user(user_id)?;
            let lead = user.lead && user.role == Role::Member;
            let must_enrol = second_factor_required(user.role) && user.totp_secret.is_none();
            let caller = Caller::from_user(state, user.clone());
            let name = match &caller.member_id {
                Some(m) => state.store.member(m).map_or_else(|| m.clone(), |m| m.name),
                None => user.name.clone(),
            };
            Some(Account {
                caller,
                name,
                csrf,
                lead,
                user: Some(user),
                must_enrol,
            })
        }
        // A revoked or expired token ends its sessions with it.
        None => {
            let caller =
                Caller::from_record(state, state.store.valid_token_by_id(&session.token_id)?);
            let member_id = caller.member_id.clone()?;
            let name = state
                .store
                .member(&member_id)
                .map_or_else(|| member_id.clone(), |m| m.name);
            Some(Account {
                caller,
                name,
                csrf,
                lead: false,
                user: None,
                must_enrol: false,
            })
        }
    }
}

fn not_signed_in() -> WebError {
    WebError::new(
        StatusCode::UNAUTHORIZED,
        "Sie sind nicht (mehr) angemeldet. Bitte melden Sie sich an.",
    )
}

/// The signed-in member, or why not: not signed in (401), or signed in
/// with an account that is not a member's (403).
async fn require(state: &AppState, headers: &HeaderMap) -> Result<Member, WebError> {
    let account = require_account(state, headers).await?;
    account.member().ok_or_else(|| {
        WebError::forbidden(
            "Diese Seite gehört zu einer Mitgliedskommune; Ihr Zugang ist keiner Kommune zugeordnet.",
        )
    })
}

/// The signed-in account, or why not: not signed in (401), or an admin
/// who has not enrolled the second factor yet (403).
async fn require_account(state: &AppState, headers: &HeaderMap) -> Result<Account, WebError> {
    let account = account(state, headers).await.ok_or_else(not_signed_in)?;
    if account.must_enrol {
        return Err(WebError::forbidden(
            "Für Ihre Rolle ist ein zweiter Faktor vorgeschrieben. Bitte richten Sie ihn unter „Zweiter Faktor“ (/web/zweiter-faktor) ein.",
        ));
    }
    Ok(account)
}

/// Who may use a page or form, and how to find them in a request.
pub(super) trait Gate: Sized + Send {
    /// The visitor the request's session stands for, or the error page
    /// saying why not.
    fn admit(
        state: &AppState,
        headers: &HeaderMap,
    ) -> impl Future<Output = Result<Self, WebError>> + Send;
}

/// A [`Gate`] with a session, whose CSRF token a form must carry.
pub(super) trait Session: Gate {
    /// The session's CSRF token; none where there is no session to protect
    /// (signing out while signed out).
    fn csrf(&self) -> Option<&str>;
}

/// A form with a `csrf` field.
pub(super) trait CsrfField {
    /// The CSRF token the form was sent with.
    fn csrf(&self) -> &str;
}

/// Nobody needs to be signed in (the sign-in and the links sent by mail).
pub(super) struct Anyone;

impl Gate for Anyone {
    async fn admit(_: &AppState, _: &HeaderMap) -> Result<Self, WebError> {
        Ok(Anyone)
    }
}

impl Gate for Member {
    /// A member user or token (see [`require`]).
    async fn admit(state: &AppState, headers: &HeaderMap) -> Result<Self, WebError> {
        require(state, headers).await
    }
}

impl Session for Member {
    fn csrf(&self) -> Option<&str> {
        Some(&self.csrf)
    }
}

impl Gate for Account {
    /// An account of any role, with its second factor if the role needs
    /// one (see [`require_account`]).
    async fn admit(state: &AppState, headers: &HeaderMap) -> Result<Self, WebError> {
        require_account(state, headers).await
    }
}

impl Session for Account {
    fn csrf(&self) -> Option<&str> {
        Some(&self.csrf)
    }
}

impl Gate for Option<Account> {
    /// The account if the request has a session that counts, else none.
    async fn admit(state: &AppState, headers: &HeaderMap) -> Result<Self, WebError> {
        Ok(account(state, headers).await)
    }
}

impl Session for Option<Account> {
    fn csrf(&self) -> Option<&str> {
        self.as_ref().map(|a| a.csrf.as_str())
    }
}

/// A consultant's account: its session's caller carries the members that
/// granted the consultant access.
pub(super) struct ConsultantAccount(pub(super) Account);

impl Gate for ConsultantAccount {
    async fn admit(state: &AppState, headers: &HeaderMap) -> Result<Self, WebError> {
        let account = require_account(state, headers).await?;
        if account.caller.role != Role::Consultant {
            return Err(WebError::forbidden(
                "Diese Seite ist für Beraterinnen und Berater, denen Mitglieder Zugang gegeben haben.",
            ));
        }
        Ok(ConsultantAccount(account))
    }
}

/// An analyst's or admin's account.
pub(super) struct AnalystAccount(pub(super) Account);

impl Gate for AnalystAccount {
    async fn admit(state: &AppState, headers: &HeaderMap) -> Result<Self, WebError> {
        let account = require_account(state, headers).await?;
        if !matches!(account.caller.role, Role::Analyst | Role::Admin) {
            return Err(WebError::forbidden(
                "Diese Seite ist für die Analyse des Rings (und den Betrieb).",
            ));
        }
        Ok(AnalystAccount(account))
    }
}

impl Session for AnalystAccount {
    fn csrf(&self) -> Option<&str> {
        Some(&self.0.csrf)
    }
}

/// A lead member user, allowed to invite colleagues.
pub(super) struct Lead(pub(super) Member);

impl Gate for Lead {
    async fn admit(state: &AppState, headers: &HeaderMap) -> Result<Self, WebError> {
        let member = require(state, headers).await?;
        if !member.lead {
            return Err(WebError::forbidden(
                "Nur Ansprechpersonen Ihrer Kommune mit Einladungsrecht laden Kolleginnen und Kollegen ein. Der Betreiber des Rings vergibt dieses Recht.",
            ));
        }
        Ok(Lead(member))
    }
}

impl Session for Lead {
    fn csrf(&self) -> Option<&str> {
        Some(&self.0.csrf)
    }
}

/// A personal account (not a token's session) and its user.
pub(super) struct Personal {
    pub(super) account: Account,
    pub(super) user: vergleichsring_store::UserRecord,
}

impl Gate for Personal {
    async fn admit(state: &AppState, headers: &HeaderMap) -> Result<Self, WebError> {
        let account = require_account(state, headers).await?;
        let user = account.user.clone().ok_or_else(|| {
            WebError::forbidden(
                "Persönliche Zugangsschlüssel gehören zu einem persönlichen Zugang (E-Mail-Adresse und Passwort).",
            )
        })?;
        Ok(Personal { account, user })
    }
}

impl Session for Personal {
    fn csrf(&self) -> Option<&str> {
        Some(&self.account.csrf)
    }
}

/// An admin's account (with its second factor).
pub(super) struct Admin(pub(super) Account);

impl Gate for Admin {
    async fn admit(state: &AppState, headers: &HeaderMap) -> Result<Self, WebError> {
        let account = require_account(state, headers).await?;
        if account.caller.role != Role::Admin || account.user.is_none() {
            return Err(WebError::forbidden(
                "Diese Seite (Benutzerverwaltung, Datenerhebung) ist dem Betrieb des Vergleichsrings vorbehalten. Ansprechpersonen einer Kommune laden unter „Kolleginnen und Kollegen“ ein.",
            ));
        }
        Ok(Admin(account))
    }
}

impl Session for Admin {
    fn csrf(&self) -> Option<&str> {
        Some(&self.0.csrf)
    }
}

/// Who the second factor's page is for: a session waiting for its code,
/// or a signed-in account (which may enrol one, even an admin's that must).
pub(super) enum SecondFactorStep {
    /// A session waiting for the code after the password: its id and its
    /// CSRF token.
    Pending { id: String, csrf: String },
    /// A session that counts (boxed: an account is large).
    SignedIn(Box<Account>),
}

impl Gate for SecondFactorStep {
    async fn admit(state: &AppState, headers: &HeaderMap) -> Result<Self, WebError> {
        if let Some(id) = cookie(headers, SESSION_COOKIE)
            && state.store.session(&id).await.is_some_and(|s| s.pending)
        {
            let csrf = crate::secrets::csrf_of(&id);
            return Ok(SecondFactorStep::Pending { id, csrf });
        }
        account(state, headers)
            .await
            .map(|a| SecondFactorStep::SignedIn(Box::new(a)))
            .ok_or_else(not_signed_in)
    }
}

impl Session for SecondFactorStep {
    fn csrf(&self) -> Option<&str> {
        match self {
            SecondFactorStep::Pending { csrf, .. } => Some(csrf),
            SecondFactorStep::SignedIn(account) => Some(&account.csrf),
        }
    }
}

/// A page for the visitor `G` admits.
pub(super) struct SignedIn<G>(pub(super) G);

impl<G: Gate> FromRequestParts<AppState> for SignedIn<G> {
    type Rejection = WebError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, WebError> {
        G::admit(state, &parts.headers).await.map(SignedIn)
    }
}

/// A POST from this site by the sender `G` admits, with its body `B`
/// (a `Form` or a `Multipart`).
pub(super) struct Post<G, B> {
    pub(super) who: G,
    pub(super) body: B,
}

impl<G: Gate, B: FromRequest<AppState> + Send> FromRequest<AppState> for Post<G, B> {
    type Rejection = Response;

    async fn from_request(request: Request, state: &AppState) -> Result<Self, Response> {
        // Origin and session first: a post from elsewhere or without the
        // right session is refused before its body is read.
        let headers = request.headers().clone();
        same_origin(&headers).map_err(IntoResponse::into_response)?;
        let who = G::admit(state, &headers)
            .await
            .map_err(IntoResponse::into_response)?;
        let body = B::from_request(request, state)
            .await
            .map_err(IntoResponse::into_response)?;
        Ok(Post { who, body })
    }
}

/// A form posted from this site by the session `G` admits, with that
/// session's CSRF token.
pub(super) struct CsrfForm<G, T> {
    pub(super) who: G,
    pub(super) form: T,
}

impl<G, T> FromRequest<AppState> for CsrfForm<G, T>
where
    G: Session,
    T: DeserializeOwned + CsrfField + Send,
{
    type Rejection = Response;

    async fn from_request(request: Request, state: &AppState) -> Result<Self, Response> {
        let Post {
            who,
            body: Form(form),
        } = Post::<G, Form<T>>::from_request(request, state).await?;
        if let Some(csrf) = who.csrf() {
            check_csrf(csrf, form.csrf()).map_err(IntoResponse::into_response)?;
        }
        Ok(CsrfForm { who, form })
    }
}
