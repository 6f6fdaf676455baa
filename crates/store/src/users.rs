//! People: named accounts with one role, invited by a single-use link and
//! signing in with a password (argon2id), kept in the state log like every
//! other piece of state. A session of the web page acts as a user (or, as
//! before, as a token).

use serde::{Deserialize, Serialize};

use crate::invitations::{holder, open_invitation};
use crate::state::{Change, View};
use crate::{Result, Role, Store, StoreError, hash_token};

/// Bounds on what accounts may make (`[limits]` of the configuration).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AccountLimits {
    /// Personal tokens one account may hold at once: a person's scripts
    /// need a few; without a bound every token was one more state-log
    /// change and one more share of the rate limits.
    pub personal_tokens: usize,
    /// A member's accounts taken up plus its leads' invitations of the
    /// last 7 days, the most a lead may reach by inviting (the operator's
    /// invitations are not bounded): each invitation is a change of the
    /// state log and one more person with rate limits of its own.
    pub member_accounts: usize,
}

impl Default for AccountLimits {
    fn default() -> Self {
        AccountLimits {
            personal_tokens: 10,
            member_accounts: 30,
        }
    }
}

use crate::password::dummy_hash;
pub use crate::password::{MIN_PASSWORD_CHARS, check_password_rules};
pub(crate) use crate::password::{hash_password, password_matches};

/// A person with an account.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct UserRecord {
    /// Public id (`u_` and 16 hex digits), for logs and administration.
    pub user_id: String,
    /// E-mail address, lower case; unique among the accounts.
    pub email: String,
    /// Display name.
    pub name: String,
    /// The one role.
    pub role: Role,
    /// The member municipality of a member user.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub member_id: Option<String>,
    /// The consultant of a consultant user.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub consultant_id: Option<String>,
    /// A member user that may invite colleagues of its own municipality.
    #[serde(default)]
    pub lead: bool,
    /// The argon2id hash of the password (PHC string); none until the
    /// invitation is accepted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub password_hash: Option<String>,
    /// When the account was made (RFC 3339).
    pub created_at: String,
    /// Who invited the person (a token id, a user id or `cli`).
    pub invited_by: String,
    /// A disabled account signs in to nothing, and its sessions end.
    #[serde(default)]
    pub disabled: bool,
    /// The secret of the TOTP second factor (base32), once enrolled.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub totp_secret: Option<String>,
    /// SHA-256 hashes of the unused recovery codes.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub recovery_codes: Vec<String>,
    /// The person of the single sign-on provider this account is linked to.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sso: Option<SsoIdentity>,
    /// The last TOTP time step used (enrolment or sign-in; 0: none): a
    /// code of this step or an earlier one confirms nothing.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub totp_last_step: u64,
}

fn is_zero(n: &u64) -> bool {
    *n == 0
}

/// A person at a single sign-on provider: its issuer and its stable id
/// there (`sub`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SsoIdentity {
    /// The provider's issuer URL.
    pub issuer: String,
    /// The provider's id of the person.
    pub subject: String,
}

/// The longest display name, in characters.
pub const MAX_NAME_CHARS: usize = 200;

/// Reads an e-mail address strictly: exactly one mailbox `local@domain`,
/// lower-cased, without display name, angle brackets, comments, quotes or
/// spaces (`x<victim@corp.example>` is refused). The local part is a
/// dot-atom of RFC 5322's ASCII characters, the domain at least two labels
/// of letters, digits and hyphens; at most 254 characters. The error says
/// the rule, for the caller to name the field.
pub fn parse_email(text: &str) -> std::result::Result<String, String> {
    const RULE: &str = "exactly one address such as name@stadt.de: no display name, angle brackets, comments, quotes, spaces or control characters";
    let email = text.trim().to_lowercase();
    let atext = |c: char| c.is_ascii_alphanumeric() || "!#$%&'*+/=?^_`{|}~-".contains(c);
    let label_ok = |l: &str| {
        !l.is_empty()
            && l.chars().count() <= 63
            && !l.starts_with('-')
            && !l.ends_with('-')
            && l.chars().all(|c| c.is_alphanumeric() || c == '-')
    };
    let ok = email.len() <= 254
        && email.split_once('@').is_some_and(|(local, domain)| {
            !local.is_empty()
                && local.len() <= 64
                && local
                    .split('.')
                    .all(|part| !part.is_empty() && part.chars().all(atext))
                && domain.split('.').count() >= 2
                && domain.split('.').all(label_ok)
        });
    if ok { Ok(email) } else { Err(RULE.to_string()) }
}

/// A plausible e-mail address (see [`parse_email`]), as a store error
/// naming the field.
pub(crate) fn check_email(email: &str) -> Result<String> {
    parse_email(email).map_err(|rule| StoreError::Invalid(format!("email: {rule}")))
}

/// User text made plain and single-line for names and for mails: line
/// breaks, tabs and other control characters, and invisible formatting
/// characters (bidirectional overrides and marks, the Arabic letter mark,
/// zero-width characters) become a space; characters a host name drops
/// (the soft hyphen, the combining grapheme joiner, variation selectors,
/// Hangul fillers, tags) are removed, so that what a mail shows is what its link checks see; runs
/// of spaces become one; trimmed; cut to `max_chars` characters (with an
/// ellipsis).
pub fn plain_line(text: &str, max_chars: usize) -> String {
    let invisible = |c: char| matches!(c, '\u{61c}' | '\u{200b}'..='\u{200f}' | '\u{2028}'..='\u{202e}' | '\u{2060}'..='\u{2069}' | '\u{feff}');
    let ignorable = |c: char| matches!(c, '\u{ad}' | '\u{34f}' | '\u{115f}' | '\u{1160}' | '\u{17b4}' | '\u{17b5}' | '\u{180b}'..='\u{180f}' | '\u{3164}' | '\u{fe00}'..='\u{fe0f}' | '\u{ffa0}' | '\u{e0000}'..='\u{e0fff}');
    let spaced: String = text
        .chars()
        .filter(|c| !ignorable(*c))
        .map(|c| {
            if c.is_control() || invisible(c) {
                ' '
            } else {
                c
            }
        })
        .collect();
    let line = spaced.split_whitespace().collect::<Vec<_>>().join(" ");
    if line.chars().count() <= max_chars {
        return line;
    }
    let mut cut: String = line.chars().take(max_chars.saturating_sub(1)).collect();
    cut.push('…');
    cut
}

/// The revocations of an account's personal tokens that still work.
pub(crate) fn personal_tokens_ended(view: &View, user_id: &str) -> Vec<Change> {
    let mut ids: Vec<&str> = view
        .tokens
        .values()
        .filter(|t| t.owner.as_deref() == Some(user_id) && !t.revoked)
        .map(|t| t.token_id.as_str())
        .collect();
    ids.sort_unstable();
    ids.into_iter()
        .map(|token_id| Change::TokenRevoked {
            token_id: token_id.to_string(),
        })
        .collect()
}

impl Store {
    /// The account a person of the single sign-on provider signs in to:
    /// the one linked to its identity; else, with an open invitation code
    /// from this browser, the invited account (linked now, the invitation
    /// used), unless the provider vouches for another e-mail address than
    /// the invitation's (a link planted in somebody else's browser then
    /// links nothing); else, with `link_by_email`, the enabled account
    /// with the provider's verified e-mail address that is not linked to
    /// another person (linked now). `None` when the person has no account
    /// here.
    pub async fn sign_in_sso(
        &self,
        identity: &SsoIdentity,
        email: Option<&str>,
        invitation_code: Option<&str>,
        link_by_email: bool,
    ) -> Result<Option<UserRecord>> {
        let code_hash = invitation_code.map(hash_token);
        self.state
            .commit("sso", |view| {
                let enabled = |u: &&UserRecord| !u.disabled;
                if let Some(user) = view
                    .users
                    .values()
                    .filter(enabled)
                    .find(|u| u.sso.as_ref() == Some(identity))
                {
                    return Ok((Vec::new(), Some(user.clone())));
                }
                let invited = invitation_code
                    .and_then(|c| open_invitation(view, c))
                    .filter(|(u, i)| !i.reset && u.sso.is_none())
                    .filter(|(u, _)| email.is_none_or(|e| e == u.email))
                    .map(|(u, _)| (u, code_hash.clone()));
                let by_email = || {
                    let email = email.filter(|_| link_by_email)?;
                    holder(view, email)
                        .filter(|u| u.sso.is_none())
                        .map(|u| (u.clone(), None))
                };
                let Some((mut user, code_hash)) = invited.or_else(by_email) else {
                    return Ok((Vec::new(), None));
                };
                user.sso = Some(identity.clone());
                Ok((
                    vec![Change::IdentityLinked {
                        user_id: user.user_id.clone(),
                        identity: identity.clone(),
                        code_hash,
                    }],
                    Some(user),
                ))
            })
            .await
    }

    /// The enabled user with this e-mail address and password, if any. An
    /// unknown address takes as long as a wrong password.
    pub async fn check_password(&self, email: &str, password: &str) -> Option<UserRecord> {
        let email = email.trim().to_lowercase();
        let view = self.state.view();
        let user = view
            .users
            .values()
            .find(|u| u.email == email && !u.disabled && u.password_hash.is_some())
            .cloned();
        let hash = user
            .as_ref()
            .and_then(|u| u.password_hash.clone())
            .unwrap_or_else(|| dummy_hash().to_string());
        let owned = password.to_string();
        let matches = tokio::task::spawn_blocking(move || password_matches(&owned, &hash))
            .await
            .unwrap_or(false);
        user.filter(|_| matches)
    }

    /// An enabled user by id.
    pub fn user(&self, user_id: &str) -> Option<UserRecord> {
        self.state
            .view()
            .users
            .get(user_id)
            .filter(|u| !u.disabled)
            .cloned()
    }

    /// Every account, oldest first (hashes included; the API leaves them out).
    pub fn users(&self) -> Vec<UserRecord> {
        let mut all: Vec<UserRecord> = self.state.view().users.values().cloned().collect();
        all.sort_by(|a, b| {
            a.created_at
                .cmp(&b.created_at)
                .then(a.user_id.cmp(&b.user_id))
        });
        all
    }

    /// Disables an account: it signs in to nothing from now on, and its
    /// sessions end on every replica (they are checked against the account
    /// on every request). `false` if there is no such user.
    pub async fn disable_user(&self, by: &str, user_id: &str) -> Result<bool> {
        self.state
            .commit(by, |view| {
                let known = view.users.contains_key(user_id);
                let changes = if known {
                    vec![Change::UserDisabled {
                        user_id: user_id.to_string(),
                    }]
                } else {
                    Vec::new()
                };
                Ok((changes, known))
            })
            .await
    }

    /// Removes the second factor of an account (a lost device, no recovery
    /// code left) and ends its sessions and personal tokens; the person
    /// signs in with the password and enrols a new one (an admin must,
    /// before anything else). `false` if there is no such account.
    pub async fn reset_second_factor(&self, by: &str, user_id: &str) -> Result<bool> {
        Ok(self
            .reset_second_factor_with(by, user_id, false)
            .await?
            .is_some())
    }

    /// [`Store::reset_second_factor`], keeping the personal tokens if
    /// `keep_tokens`: the account and how many tokens ended, or `None` if
    /// there is no such account.
    pub async fn reset_second_factor_with(
        &self,
        by: &str,
        user_id: &str,
        keep_tokens: bool,
    ) -> Result<Option<(UserRecord, usize)>> {
        self.state
            .commit(by, |view| {
                let Some(user) = view.users.get(user_id) else {
                    return Ok((Vec::new(), None));
                };
                let mut changes = vec![
                    Change::TotpRemoved {
                        user_id: user_id.to_string(),
                    },
                    Change::UserSessionsEnded {
                        user_id: user_id.to_string(),
                    },
                ];
                let mut ended = 0;
                if !keep_tokens {
                    let revoked = personal_tokens_ended(view, user_id);
                    ended = revoked.len();
                    changes.extend(revoked);
                }
                Ok((changes, Some((user.clone(), ended))))
            })
            .await
    }

    /// Sets the bounds on accounts (each at least one).
    pub fn set_account_limits(&self, limits: AccountLimits) {
        let limits = AccountLimits {
            personal_tokens: limits.personal_tokens.max(1),
            member_accounts: limits.member_accounts.max(1),
        };
        if let Ok(mut held) = self.account_limits.write() {
            *held = limits;
        }
    }

    /// The bounds on accounts in force.
    pub fn account_limits(&self) -> AccountLimits {
        self.account_limits
            .read()
            .map(|held| *held)
            .unwrap_or_default()
    }

    /// Makes a personal token of a user for scripts: the user's role and
    /// member, a label and an optional expiry. It works while the account
    /// is enabled. The token is returned once and never stored. An account
    /// that holds as many live (not revoked, not expired) tokens as the
    /// limit gets `Conflict` until it revokes one.
    pub async fn issue_personal_token(
        &self,
        user: &UserRecord,
        label: Option<String>,
        expires_at: Option<chrono::DateTime<chrono::Utc>>,
    ) -> Result<(String, crate::TokenRecord)> {
        let (token, mut record, _) = crate::auth::new_token(crate::NewToken {
            role: user.role,
            member_id: user.member_id.clone(),
            consultant_id: user.consultant_id.clone(),
            grants: Vec::new(),
            label,
            expires_at,
        })?;
        record.owner = Some(user.user_id.clone());
        let limit = self.account_limits().personal_tokens;
        let record = self
            .state
            .commit(&user.user_id, |view| {
                let now = chrono::Utc::now();
                let held = view
                    .tokens
                    .values()
                    .filter(|t| t.owner.as_deref() == Some(user.user_id.as_str()))
                    .filter(|t| !t.revoked)
                    .filter(|t| {
                        !t.expires_at
                            .as_deref()
                            .is_some_and(|e| crate::state::expired(e, now))
                    })
                    .count();
                if held >= limit {
                    return Err(StoreError::Conflict(format!(
                        "this account holds {held} personal tokens, the most allowed (limits.personal_tokens = {limit}); revoke one first"
                    )));
                }
                Ok((
                    vec![Change::Token {
                        record: record.clone(),
                    }],
                    record.clone(),
                ))
            })
            .await?;
        Ok((token, record))
    }

    /// A user's personal tokens, oldest first.
    pub fn personal_tokens(&self, user_id: &str) -> Vec<crate::TokenRecord> {
        self.tokens()
            .unwrap_or_default()
            .into_iter()
            .map(|(t, _)| t)
            .filter(|t| t.owner.as_deref() == Some(user_id))
            .collect()
    }

    /// Revokes one of a user's own tokens; `false` if it has none by that id.
    pub async fn revoke_personal_token(&self, user_id: &str, token_id: &str) -> Result<bool> {
        self.state
            .commit(user_id, |view| {
                let own = view
                    .tokens
                    .values()
                    .any(|t| t.token_id == token_id && t.owner.as_deref() == Some(user_id));
                let changes = if own {
                    vec![Change::TokenRevoked {
                        token_id: token_id.to_string(),
                    }]
                } else {
                    Vec::new()
                };
                Ok((changes, own))
            })
            .await
    }

    /// Gives the store the ring's key for sealed secrets (once; a second
    /// key is refused): second factors enrolled from now on are sealed
    /// with it, and sealed ones are opened with it.
    pub fn set_secrets_key(&self, key: crate::SecretsKey) -> bool {
        self.secrets_key.set(key).is_ok()
    }

    /// Starts a web session acting as a user; returns the cookie's value.
    /// For an account with a second factor the session waits for its code
    /// (`SessionRecord::pending`) before it counts.
    pub async fn start_user_session(&self, user_id: &str) -> Result<String> {
        self.start_session_as(None, Some(user_id)).await
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;
    use crate::{Invitation, NewUser};

    /// An invitation past its 7 days opens nothing, whoever asks.
    #[tokio::test]
    async fn an_expired_invitation_opens_nothing() {
        let dir = tempfile::tempdir().unwrap();
        Store::init(dir.path()).unwrap();
        let store = Store::open(dir.path()).await.unwrap();
        let code = "c0ffee".repeat(8);
        let user = UserRecord {
            user_id: "u_0000000000000001".into(),
            email: "alt@ring.de".into(),
            name: "Alt".into(),
            role: Role::Analyst,
            member_id: None,
            consultant_id: None,
            lead: false,
            password_hash: None,
            created_at: "2026-01-01T00:00:00Z".into(),
            invited_by: "cli".into(),
            disabled: false,
            totp_secret: None,
            recovery_codes: Vec::new(),
            sso: None,
            totp_last_step: 0,
        };
        let invitation = Invitation {
            user_id: user.user_id.clone(),
            expires_at: (chrono::Utc::now() - chrono::Duration::seconds(1))
                .to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
            used: false,
            reset: false,
        };
        let change = Change::UserInvited {
            user,
            code_hash: hash_token(&code),
            invitation,
        };
        store
            .state
            .commit("test", |_| Ok((vec![change.clone()], ())))
            .await
            .unwrap();
        assert!(store.invitation(&code).await.is_none());
        assert!(matches!(
            store.accept_invitation(&code, "ein langes Passwort").await,
            Err(StoreError::NotFound(_))
        ));
        assert!(store.invitation("nonsense").await.is_none());
    }

    fn analyst(email: &str) -> NewUser {
        NewUser {
            email: email.into(),
            name: "Anna Analytikerin".into(),
            role: Role::Analyst,
            member_id: None,
            consultant_id: None,
            lead: false,
        }
    }

    /// A reset link sets a new password once, ends every session of the
    /// account, and is no invitation (nor is an invitation a reset link).
    #[tokio::test]
    async fn a_password_reset_works_once_and_ends_every_session() {
        let dir = tempfile::tempdir().unwrap();
        Store::init(dir.path()).unwrap();
        let store = Store::open(dir.path()).await.unwrap();
        let (user, invitation) = store
            .invite_user("cli", analyst("a@ring.de"))
            .await
            .unwrap();
        assert!(matches!(
            store
                .reset_password(&invitation, "ein anderes Passwort", false)
                .await,
            Err(StoreError::NotFound(_))
        ));
        store
            .accept_invitation(&invitation, "das erste Passwort")
            .await
            .unwrap();
        let session = store.start_user_session(&user.user_id).await.unwrap();
        assert!(store.session(&session).await.is_some());
        assert!(
            store
                .request_password_reset("nobody@ring.de")
                .await
                .unwrap()
                .is_none()
        );
        let (_, code) = store
            .request_password_reset(" A@Ring.de ")
            .await
            .unwrap()
            .unwrap();
        assert!(matches!(
            store.accept_invitation(&code, "ein anderes Passwort").await,
            Err(StoreError::NotFound(_))
        ));
        store
            .reset_password(&code, "das zweite Passwort", false)
            .await
            .unwrap();
        assert!(store.session(&session).await.is_none());
        assert!(
            store
                .check_password("a@ring.de", "das erste Passwort")
                .await
                .is_none()
        );
        assert!(
            store
                .check_password("a@ring.de", "das zweite Passwort")
                .await
                .is_some()
        );
        assert!(matches!(
            store
                .reset_password(&code, "das dritte Passwort", false)
                .await,
            Err(StoreError::NotFound(_))
        ));
    }

    /// Single sign-on finds the account linked to the person; links an
    /// invited account through its invitation (used up then) or by the
    /// verified e-mail address; never re-links an account another person
    /// is linked to; and a disabled account signs in to nothing.
    #[tokio::test]
    async fn single_sign_on_links_accounts_and_never_takes_one_over() {
        let dir = tempfile::tempdir().unwrap();
        Store::init(dir.path()).unwrap();
        let store = Store::open(dir.path()).await.unwrap();
        let id = |sub: &str| SsoIdentity {
            issuer: "https://login.example.de".into(),
            subject: sub.into(),
        };
        let (a, code) = store
            .invite_user("cli", analyst("a@ring.de"))
            .await
            .unwrap();
        let signed = store
            .sign_in_sso(&id("s-a"), None, Some(&code), true)
            .await
            .unwrap();
        assert_eq!(signed.map(|u| u.user_id), Some(a.user_id.clone()));
        assert!(
            store.invitation(&code).await.is_none(),
            "the invitation is used"
        );
        let again = store
            .sign_in_sso(&id("s-a"), None, None, true)
            .await
            .unwrap();
        assert_eq!(again.map(|u| u.user_id), Some(a.user_id.clone()));
        // Another person with the same address does not take the account.
        let other = store
            .sign_in_sso(&id("s-x"), Some("a@ring.de"), None, true)
            .await
            .unwrap();
        assert!(other.is_none());
        let (b, _) = store
            .invite_user("cli", analyst("b@ring.de"))
            .await
            .unwrap();
        // An invitation opened in the browser of a person the provider
        // knows by another address links nothing; the invited person's
        // own address does.
        let (_, c_code) = store
            .invite_user("cli", analyst("c@ring.de"))
            .await
            .unwrap();
        let planted = store
            .sign_in_sso(&id("s-victim"), Some("victim@ring.de"), Some(&c_code), true)
            .await
            .unwrap();
        assert!(planted.is_none());
        assert!(store.invitation(&c_code).await.is_some(), "still open");
        let without_email = store
            .sign_in_sso(&id("s-b"), Some("b@ring.de"), None, false)
            .await
            .unwrap();
        assert!(without_email.is_none(), "link_by_email off");
        let by_email = store
            .sign_in_sso(&id("s-b"), Some("b@ring.de"), None, true)
            .await
            .unwrap();
        assert_eq!(by_email.map(|u| u.user_id), Some(b.user_id.clone()));
        store.disable_user("cli", &b.user_id).await.unwrap();
        assert!(
            store
                .sign_in_sso(&id("s-b"), Some("b@ring.de"), None, true)
                .await
                .unwrap()
                .is_none()
        );
        // A second store on the lake knows the links.
        let second = Store::open(dir.path()).await.unwrap();
        assert_eq!(second.user(&a.user_id).unwrap().sso, Some(id("s-a")));
    }

    #[test]
    fn email_addresses_are_checked_and_lower_cased() {
        assert_eq!(
            check_email(" Anna.Schmidt@Koeln.DE ").unwrap(),
            "anna.schmidt@koeln.de"
        );
        for bad in [
            "",
            "anna",
            "anna@",
            "@koeln.de",
            "anna@koeln",
            "a b@koeln.de",
            "a@b@c.de",
            "a@.de",
            "x<victim@corp.example>",
            "Anna <anna@koeln.de>",
            "anna@koeln.de (Anna)",
            "\"anna\"@koeln.de",
            "anna@koeln.de,eve@evil.example",
            "anna@koeln.de\r\nBcc: eve@evil.example",
            "a..b@koeln.de",
            ".a@koeln.de",
            "a@-koeln.de",
            "a@koeln..de",
            "a@[127.0.0.1]",
        ] {
            assert!(check_email(bad).is_err(), "{bad}");
        }
        assert_eq!(
            check_email("o'neil+ring@köln.de").unwrap(),
            "o'neil+ring@köln.de"
        );
    }

    #[test]
    fn user_text_becomes_one_plain_line() {
        assert_eq!(
            plain_line("Anna\r\n\r\nKlicken Sie: https://evil.example\t!", 200),
            "Anna Klicken Sie: https://evil.example !"
        );
        assert_eq!(plain_line("a\u{202e}b\u{200b}c\u{7}", 200), "a b c");
        assert_eq!(plain_line("abcdef", 4), "abc…");
    }

    #[test]
    fn passwords_hash_with_argon2id_and_verify() {
        let h = hash_password("correct horse battery").unwrap();
        assert!(h.starts_with("$argon2id$"), "{h}");
        assert!(password_matches("correct horse battery", &h));
        assert!(!password_matches("correct horse batterY", &h));
        assert!(!password_matches("x", "not a hash"));
        // The same answers from the working memory of earlier checks.
        assert!(password_matches("correct horse battery", &h));
        assert!(!password_matches("correct horse battery ", &h));
        assert_ne!(h, hash_password("correct horse battery").unwrap(), "salted");
        assert!(check_password_rules("short").is_err());
        assert!(check_password_rules("twelve chars").is_ok());
    }

    /// Invited, accepted once (not twice), signed in with the password; a
    /// disabled account signs in to nothing; another store on the lake
    /// knows all of it.
    #[tokio::test]
    async fn an_invitation_works_once_and_a_disabled_user_signs_in_to_nothing() {
        let dir = tempfile::tempdir().unwrap();
        Store::init(dir.path()).unwrap();
        let a = Store::open(dir.path()).await.unwrap();
        let b = Store::open(dir.path()).await.unwrap();
        let new = |email: &str| NewUser {
            email: email.into(),
            name: "Anna Schmidt".into(),
            role: Role::Analyst,
            member_id: None,
            consultant_id: None,
            lead: false,
        };
        let (user, code) = a.invite_user("cli", new("anna@ring.de")).await.unwrap();
        assert!(matches!(
            a.invite_user("cli", new("ANNA@ring.de")).await,
            Err(StoreError::Conflict(_))
        ));
        assert!(b.invitation(&code).await.is_some(), "b knows it at once");
        assert!(b.check_password("anna@ring.de", "").await.is_none());
        assert!(matches!(
            b.accept_invitation(&code, "short").await,
            Err(StoreError::Invalid(_))
        ));
        b.accept_invitation(&code, "ein langes Passwort")
            .await
            .unwrap();
        assert!(matches!(
            a.accept_invitation(&code, "ein anderes Passwort").await,
            Err(StoreError::NotFound(_))
        ));
        let signed = a
            .check_password("Anna@Ring.de", "ein langes Passwort")
            .await;
        assert_eq!(signed.map(|u| u.user_id), Some(user.user_id.clone()));
        assert!(a.check_password("anna@ring.de", "falsch").await.is_none());
        assert!(
            a.check_password("nobody@ring.de", "ein langes Passwort")
                .await
                .is_none()
        );
        assert!(b.disable_user("cli", &user.user_id).await.unwrap());
        a.follow_state().await.unwrap();
        assert!(
            a.check_password("anna@ring.de", "ein langes Passwort")
                .await
                .is_none()
        );
        assert!(a.user(&user.user_id).is_none());
    }
}
