//! Bearer-token authentication for the API: the `Caller` extractor with
//! the caller's role, member scope and consultants' grants, and the writer
//! of the access log.

use axum::extract::FromRequestParts;
use axum::http::header::AUTHORIZATION;
use axum::http::request::Parts;
use vergleichsring_engine::disclosure::Audience;
use vergleichsring_store::Role;

use crate::AppState;
use crate::error::ApiError;

/// The authenticated caller of a request.
#[derive(Debug, Clone)]
pub struct Caller {
    /// Public id of the token (`user:<user_id>` for a user's web session);
    /// rate limits count by [`Caller::rate_key`].
    pub token_id: String,
    /// Who acts when it is not the token alone: `user:<user_id>` for a
    /// user's session, `user:<user_id>/<token_id>` for a user's personal
    /// token (see [`Caller::actor`]; none for service tokens, so that their
    /// requests allocate nothing more).
    pub on_behalf: Option<String>,
    /// Its role.
    pub role: Role,
    /// The member of a member token.
    pub member_id: Option<String>,
    /// The consultant of a consultant token.
    pub consultant_id: Option<String>,
    /// For consultants: the members that granted access, read per request
    /// so that a revocation takes effect at once.
    pub grants: std::collections::BTreeSet<String>,
}

impl Caller {
    /// Who acts, as the access log and every stored change name it: the
    /// token id, `user:<user_id>` for a user's session, and
    /// `user:<user_id>/<token_id>` for a user's personal token.
    pub fn actor(&self) -> &str {
        self.on_behalf.as_deref().unwrap_or(&self.token_id)
    }

    /// What rate limits count by: the person (`user:<user_id>`) for a
    /// user's session and every personal token of the user, so that more
    /// tokens do not buy more uploads or queries; the token otherwise.
    pub fn rate_key(&self) -> &str {
        match self.on_behalf.as_deref() {
            Some(a) if a.starts_with("user:") => a.split('/').next().unwrap_or(a),
            _ => &self.token_id,
        }
    }

    /// The disclosure audience of the caller.
    pub fn audience(&self) -> Audience {
        match self.role {
            Role::Admin => Audience::Admin,
            Role::Analyst => Audience::Analyst,
            Role::Consultant => Audience::Consultant,
            Role::Member => Audience::Member,
        }
    }

    /// Refuses the request unless the caller has one of `roles`.
    pub fn require(&self, roles: &[Role], what: &str) -> Result<(), ApiError> {
        if roles.contains(&self.role) {
            Ok(())
        } else {
            Err(ApiError::forbidden(format!(
                "a {} token may not {what}",
                self.role.as_str()
            )))
        }
    }

    /// The member whose data a request reads: a member token reads only its
    /// own (the parameter may be omitted or must match); admin names any
    /// member; a consultant names a member that granted it access; analysts
    /// may not read a member's individual data.
    pub fn member_scope(
        &self,
        requested: Option<&str>,
        what: &str,
    ) -> Result<Option<String>, ApiError> {
        match self.role {
            Role::Member => {
                let own = self
                    .member_id
                    .clone()
                    .ok_or_else(|| ApiError::forbidden("this member token names no member"))?;
                match requested {
                    Some(m) if m != own => Err(ApiError::forbidden(format!(
                        "your token belongs to member {own}; it may not {what} of member {m}"
                    ))),
                    _ => Ok(Some(own)),
                }
            }
            Role::Admin => Ok(requested.map(str::to_string)),
            Role::Consultant => match requested {
                Some(m) if self.grants.contains(m) => Ok(Some(m.to_string())),
                Some(m) => Err(ApiError::forbidden(format!(
                    "member {m} has not granted this consultant access"
                ))),
                None => Err(ApiError::forbidden(
                    "a consultant reads on behalf of a member: name it with member_id",
                )),
            },
            Role::Analyst => match requested {
                Some(_) => Err(ApiError::forbidden(format!(
                    "a {} token may not {what} of a single member",
                    self.role.as_str()
                ))),
                None => Ok(None),
            },
        }
    }
}

impl Caller {
    /// The member whose structural neighbours a request may show: a
    /// member's own, a consultant's granted member (`of`, else
    /// `member_id`), any member for analysts and admin (`of`, else
    /// admin's `member_id`).
    pub fn neighbours_of(
        &self,
        of: Option<&str>,
        member: Option<&str>,
    ) -> Result<Option<String>, ApiError> {
        match self.role {
            Role::Member | Role::Consultant => {
                self.member_scope(of.or(member), "read the neighbours")
            }
            Role::Analyst | Role::Admin => Ok(of.or(member).map(str::to_string)),
        }
    }

    /// Records in the access log that this caller read a member's data.
    pub fn log_access(
        &self,
        state: &AppState,
        action: &str,
        member_id: &str,
        domain: Option<&str>,
        year: Option<i32>,
    ) {
        let entry = vergleichsring_store::AccessEntry {
            at: chrono::Utc::now().to_rfc3339(),
            token_id: self.actor().to_string(),
            role: self.role.as_str().to_string(),
            action: action.to_string(),
            member_id: member_id.to_string(),
            domain: domain.map(str::to_string),
            year,
        };
        if let Err(e) = state.store.log_access(&entry) {
            tracing::error!(error = %e, "access log could not be written");
        }
    }
}

impl FromRequestParts<AppState> for Caller {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let header = parts.headers.get(AUTHORIZATION).ok_or_else(|| {
            ApiError::unauthorized("send a token as 'Authorization: Bearer TOKEN'")
        })?;
        let token = header
            .to_str()
            .ok()
            .and_then(|h| h.strip_prefix("Bearer "))
            .map(str::trim)
            .filter(|t| !t.is_empty())
            .ok_or_else(|| {
                ApiError::unauthorized("the Authorization header must be 'Bearer TOKEN'")
            })?;
        Caller::from_token(state, token).await
    }
}

impl Caller {
    /// The caller a token stands for; unknown or revoked tokens are refused.
    pub async fn from_token(state: &AppState, token: &str) -> Result<Caller, ApiError> {
        let record = state
            .store
            .authenticate(token)
            .await
            .ok_or_else(|| ApiError::unauthorized("unknown or revoked token"))?;
        Ok(Caller::from_record(state, record))
    }

    /// The caller of an enabled user's account. It is logged as
    /// `user:<id>` where a token would be logged by its id.
    pub fn from_user(state: &AppState, user: vergleichsring_store::UserRecord) -> Caller {
        let grants = match &user.consultant_id {
            Some(c) if user.role == Role::Consultant => state.store.grants_of(c),
            _ => Default::default(),
        };
        Caller {
            token_id: format!("user:{}", user.user_id),
            on_behalf: Some(format!("user:{}", user.user_id)),
            role: user.role,
            member_id: user.member_id,
            consultant_id: user.consultant_id,
            grants,
        }
    }

    /// The caller of a valid token's record.
    pub fn from_record(state: &AppState, record: vergleichsring_store::TokenRecord) -> Caller {
        let grants = match &record.consultant_id {
            Some(c) if record.role == Role::Consultant => state.store.grants_of(c),
            _ => Default::default(),
        };
        Caller {
            on_behalf: record
                .owner
                .as_ref()
                .map(|user| format!("user:{user}/{}", record.token_id)),
            token_id: record.token_id,
            role: record.role,
            member_id: record.member_id,
            consultant_id: record.consultant_id,
            grants,
        }
    }
}
