//! Invitations: an account is made with a single-use link (7 days) and
//! taken up by setting a password (or through the single sign-on); a
//! password reset is a link of an hour to the same step. A lead member's
//! invitations of colleagues are bounded per member
//! (`limits.member_accounts`), counted alike for free and taken addresses.
//! An account never taken up whose invitation expired is dormant: it holds
//! no address and cannot be woken.

use serde::{Deserialize, Serialize};

use crate::auth::random_hex;
use crate::state::{Change, View};
use crate::users::{
    check_email, check_password_rules, hash_password, personal_tokens_ended, plain_line,
};
use crate::{MAX_NAME_CHARS, Result, Role, Store, StoreError, UserRecord, hash_token};

/// How long an invitation link is valid.
pub const INVITATION_LIFETIME: std::time::Duration = std::time::Duration::from_secs(7 * 24 * 3600);

/// How long a password-reset link is valid.
pub const RESET_LIFETIME: std::time::Duration = std::time::Duration::from_secs(3600);

/// An open invitation, stored by the hash of its link's code.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Invitation {
    /// The user it is for.
    pub user_id: String,
    /// When it stops working (RFC 3339).
    pub expires_at: String,
    /// An accepted invitation works once only.
    #[serde(default)]
    pub used: bool,
    /// A password reset (an hour, for an account that exists), not an
    /// invitation.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub reset: bool,
}

/// Whom to invite.
#[derive(Debug, Clone)]
pub struct NewUser {
    /// E-mail address.
    pub email: String,
    /// Display name.
    pub name: String,
    /// The role.
    pub role: Role,
    /// The member of a member user.
    pub member_id: Option<String>,
    /// The consultant of a consultant user.
    pub consultant_id: Option<String>,
    /// Whether a member user may invite colleagues.
    pub lead: bool,
}

/// What a lead's invitation of a colleague came to.
#[derive(Debug, Clone)]
pub enum ColleagueInvitation {
    /// A new account and its invitation code (shown once).
    Invited(UserRecord, String),
    /// The address has an account already; its owner gets a notice.
    Taken(UserRecord),
}

/// An invitation checked and made ready to commit.
struct Invited {
    user: UserRecord,
    invitation: Invitation,
    code: String,
    code_hash: String,
}

impl Invited {
    /// Checks what does not depend on the state (the address, the name,
    /// role and member) and draws the code.
    fn new(by: &str, new: NewUser) -> Result<Self> {
        let email = check_email(&new.email)?;
        // A name goes into mails and pages: one plain line (line breaks
        // and control characters become spaces rather than refusals, so a
        // name pasted with its line end still works).
        let name = plain_line(&new.name, usize::MAX);
        if name.is_empty() || name.chars().count() > MAX_NAME_CHARS {
            return Err(StoreError::Invalid(format!(
                "name: between 1 and {MAX_NAME_CHARS} characters"
            )));
        }
        match new.role {
            Role::Member if new.member_id.is_none() => {
                return Err(StoreError::Invalid(
                    "member_id: a member user belongs to a member".into(),
                ));
            }
            Role::Consultant if new.consultant_id.is_none() => {
                return Err(StoreError::Invalid(
                    "consultant_id: a consultant user needs one".into(),
                ));
            }
            _ => {}
        }
        if new.lead && new.role != Role::Member {
            return Err(StoreError::Invalid(
                "lead: only member users invite colleagues".into(),
            ));
        }
        let code = random_hex(24);
        let now = chrono::Utc::now();
        let lifetime = chrono::Duration::from_std(INVITATION_LIFETIME).unwrap_or_default();
        let user = UserRecord {
            user_id: format!("u_{}", random_hex(8)),
            email,
            name,
            role: new.role,
            member_id: (new.role == Role::Member)
                .then_some(new.member_id)
                .flatten(),
            consultant_id: (new.role == Role::Consultant)
                .then_some(new.consultant_id)
                .flatten(),
            lead: new.lead,
            password_hash: None,
            created_at: now.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
            invited_by: by.to_string(),
            disabled: false,
            totp_secret: None,
            recovery_codes: Vec::new(),
            sso: None,
            totp_last_step: 0,
        };
        let invitation = Invitation {
            user_id: user.user_id.clone(),
            expires_at: (now + lifetime).to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
            used: false,
            reset: false,
        };
        let code_hash = hash_token(&code);
        Ok(Invited {
            user,
            invitation,
            code,
            code_hash,
        })
    }

    /// Refuses a member that is not registered.
    fn check_member(&self, view: &View) -> Result<()> {
        match &self.user.member_id {
            Some(m) if !view.members.contains_key(m) => Err(StoreError::Invalid(format!(
                "member_id: member {m} is not registered"
            ))),
            _ => Ok(()),
        }
    }

    /// The enabled account that holds the address already, if any.
    fn taken<'v>(&self, view: &'v View) -> Option<&'v UserRecord> {
        holder(view, &self.user.email)
    }

    /// The changes that make the account and its invitation: dormant
    /// accounts of the address are disabled first, so that one enabled
    /// account has it.
    fn changes(&self, view: &View) -> Vec<Change> {
        let mut changes: Vec<Change> = view
            .users
            .values()
            .filter(|u| u.email == self.user.email && !u.disabled)
            .map(|u| Change::UserDisabled {
                user_id: u.user_id.clone(),
            })
            .collect();
        changes.push(Change::UserInvited {
            user: self.user.clone(),
            code_hash: self.code_hash.clone(),
            invitation: self.invitation.clone(),
        });
        changes
    }
}

/// Whether an account was never taken up and can no longer be: no
/// password, no single sign-on, no open invitation. Such an account holds
/// no address (a new invitation to it disables the old account) and
/// cannot be woken by a password reset or the single sign-on's e-mail
/// address, so a lead's invitations older than the bound's 7 days give
/// nobody access.
fn dormant(view: &View, user: &UserRecord, now: chrono::DateTime<chrono::Utc>) -> bool {
    user.password_hash.is_none()
        && user.sso.is_none()
        && !view.invitations.values().any(|i| {
            i.user_id == user.user_id
                && !i.used
                && !i.reset
                && !crate::state::expired(&i.expires_at, now)
        })
}

/// The enabled account that holds an address: taken up, or with an open
/// invitation.
pub(crate) fn holder<'v>(view: &'v View, email: &str) -> Option<&'v UserRecord> {
    let now = chrono::Utc::now();
    view.users
        .values()
        .find(|u| u.email == email && !u.disabled && !dormant(view, u, now))
}

/// A member's accounts taken up and its leads' invitations within the
/// life of an invitation before `now`.
fn member_account_count(view: &View, member_id: &str, now: i64) -> (usize, usize) {
    let taken_up = view
        .users
        .values()
        .filter(|u| u.member_id.as_deref() == Some(member_id) && !u.disabled)
        .filter(|u| u.password_hash.is_some() || u.sso.is_some())
        .count();
    let window = INVITATION_LIFETIME.as_secs() as i64;
    let recent = view
        .colleague_invitations
        .get(member_id)
        .map_or(0, |times| {
            times.iter().filter(|t| **t > now - window).count()
        });
    (taken_up, recent)
}

/// The open invitation of a code in a view, with its user.
pub(crate) fn open_invitation(view: &View, code: &str) -> Option<(UserRecord, Invitation)> {
    let invitation = view.invitations.get(&hash_token(code))?;
    let user = view.users.get(&invitation.user_id)?;
    let expired = crate::state::expired(&invitation.expires_at, chrono::Utc::now());
    (!invitation.used && !expired && !user.disabled).then(|| (user.clone(), invitation.clone()))
}

impl Store {
    /// Invites a person: makes the account (without a password) and an
    /// invitation valid for 7 days. Returns the user and the link's code,
    /// which is shown once and stored only as a hash.
    pub async fn invite_user(&self, by: &str, new: NewUser) -> Result<(UserRecord, String)> {
        let invited = Invited::new(by, new)?;
        let user = self
            .state
            .commit(by, |view| {
                invited.check_member(view)?;
                if let Some(taken) = invited.taken(view) {
                    return Err(StoreError::Conflict(format!(
                        "{} already has an account",
                        taken.email
                    )));
                }
                Ok((invited.changes(view), invited.user.clone()))
            })
            .await?;
        Ok((user, invited.code))
    }

    /// A lead member's invitation of a colleague into its member. Within
    /// one commit (so it holds across replicas) the member's bound is
    /// checked: accounts taken up plus its leads' invitations of the last
    /// 7 days stay below `limits.member_accounts`. The attempt is written
    /// for a free and a taken address alike, so the bound counts the same
    /// either way and shows nothing about other members' accounts.
    pub async fn invite_colleague(&self, by: &str, new: NewUser) -> Result<ColleagueInvitation> {
        let invited = Invited::new(by, new)?;
        let member_id = invited.user.member_id.clone().ok_or_else(|| {
            StoreError::Invalid("member_id: a colleague belongs to a member".into())
        })?;
        let limit = self.account_limits().member_accounts;
        let now = chrono::Utc::now().timestamp();
        let outcome = self
            .state
            .commit(by, |view| {
                invited.check_member(view)?;
                let (taken_up, recent) = member_account_count(view, &member_id, now);
                if taken_up + recent >= limit {
                    return Err(StoreError::Conflict(format!(
                        "member {member_id} holds {taken_up} accounts and {recent} invitations of the last 7 days, the most allowed (limits.member_accounts = {limit})"
                    )));
                }
                let attempt = Change::ColleagueInvited {
                    member_id: member_id.clone(),
                    at: now,
                };
                Ok(match invited.taken(view) {
                    Some(taken) => (vec![attempt], ColleagueInvitation::Taken(taken.clone())),
                    None => {
                        let mut changes = vec![attempt];
                        changes.extend(invited.changes(view));
                        (
                            changes,
                            ColleagueInvitation::Invited(invited.user.clone(), invited.code.clone()),
                        )
                    }
                })
            })
            .await?;
        Ok(outcome)
    }

    /// A member's accounts as its bound counts them: accounts taken up (a
    /// password set or linked to the single sign-on, not disabled) and its
    /// leads' invitations of the last 7 days.
    pub fn member_accounts(&self, member_id: &str) -> (usize, usize) {
        member_account_count(
            &self.state.view(),
            member_id,
            chrono::Utc::now().timestamp(),
        )
    }

    /// The user an open invitation code is for (not used, not expired),
    /// reading the state log first if this process does not know it.
    pub async fn invitation(&self, code: &str) -> Option<(UserRecord, Invitation)> {
        if let Some(found) = open_invitation(&self.state.view(), code) {
            return Some(found);
        }
        if !self.view_known_in().await {
            return None;
        }
        open_invitation(&self.state.view(), code)
    }

    /// Accepts an invitation: sets the password. Works once, also when two
    /// replicas are asked at the same moment.
    pub async fn accept_invitation(&self, code: &str, password: &str) -> Result<UserRecord> {
        Ok(self.set_password_by_link(code, password, None).await?.0)
    }

    /// Asks for a password reset of the enabled account with this e-mail
    /// address: a link valid for an hour. `None` when there is no such
    /// account (the caller answers the same either way).
    pub async fn request_password_reset(
        &self,
        email: &str,
    ) -> Result<Option<(UserRecord, String)>> {
        let email = email.trim().to_lowercase();
        let code = random_hex(24);
        let code_hash = hash_token(&code);
        let now = chrono::Utc::now();
        let lifetime = chrono::Duration::from_std(RESET_LIFETIME).unwrap_or_default();
        let expires_at = (now + lifetime).to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
        let user = self
            .state
            .commit("password-reset", |view| {
                let Some(user) = holder(view, &email).cloned() else {
                    return Ok((Vec::new(), None));
                };
                Ok((
                    vec![Change::PasswordResetIssued {
                        code_hash: code_hash.clone(),
                        invitation: Invitation {
                            user_id: user.user_id.clone(),
                            expires_at: expires_at.clone(),
                            used: false,
                            reset: true,
                        },
                    }],
                    Some(user),
                ))
            })
            .await?;
        Ok(user.map(|u| (u, code)))
    }

    /// Sets a new password with a reset link. Works once; every session of
    /// the account ends, and its personal tokens too unless `keep_tokens`
    /// (whoever knew the old password may have made some). Returns the
    /// account and how many tokens ended.
    pub async fn reset_password(
        &self,
        code: &str,
        password: &str,
        keep_tokens: bool,
    ) -> Result<(UserRecord, usize)> {
        self.set_password_by_link(code, password, Some(keep_tokens))
            .await
    }

    /// Sets a password with an invitation (`reset` none) or a reset link
    /// (`Some(keep_tokens)`).
    async fn set_password_by_link(
        &self,
        code: &str,
        password: &str,
        reset: Option<bool>,
    ) -> Result<(UserRecord, usize)> {
        check_password_rules(password).map_err(StoreError::Invalid)?;
        let gone = || StoreError::NotFound("this link is unknown, used or expired".into());
        let is_reset = reset.is_some();
        if self
            .invitation(code)
            .await
            .is_none_or(|(_, i)| i.reset != is_reset)
        {
            return Err(gone());
        }
        // Hashing is CPU work of tens of milliseconds: not on the runtime.
        let owned = password.to_string();
        let password_hash = tokio::task::spawn_blocking(move || hash_password(&owned))
            .await
            .map_err(|e| StoreError::Invalid(format!("password: {e}")))??;
        let code_hash = hash_token(code);
        self.state
            .commit(
                if is_reset {
                    "password-reset"
                } else {
                    "invitation"
                },
                |view| {
                    let (mut user, _) = open_invitation(view, code)
                        .filter(|(_, i)| i.reset == is_reset)
                        .ok_or_else(gone)?;
                    user.password_hash = Some(password_hash.clone());
                    let mut changes = vec![Change::InvitationAccepted {
                        code_hash: code_hash.clone(),
                        user_id: user.user_id.clone(),
                        password_hash: password_hash.clone(),
                    }];
                    let mut ended = 0;
                    if let Some(keep_tokens) = reset {
                        changes.push(Change::UserSessionsEnded {
                            user_id: user.user_id.clone(),
                        });
                        if !keep_tokens {
                            let revoked = personal_tokens_ended(view, &user.user_id);
                            ended = revoked.len();
                            changes.extend(revoked);
                        }
                    }
                    Ok((changes, (user, ended)))
                },
            )
            .await
    }
}
