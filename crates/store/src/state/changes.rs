//! What the state log holds: the [`Change`]s an [`Event`] carries and the
//! [`View`] they fold into. Applying a change never fails, so every
//! process that reads the log holds the same view; the functions are
//! grouped by area (the ring, access, accounts, second factors).

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::Arc;

use serde::{Deserialize, Serialize};

use crate::{CustomGroup, DataRelease, Explanation, Member, TokenRecord};

/// A signed-in web session, as stored: the token it acts as (by id, never
/// the token itself) and when it ends.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SessionRecord {
    /// Id of the token the session acts as (empty for a user's session).
    #[serde(default)]
    pub token_id: String,
    /// The user the session acts as, for a session signed in with a
    /// password.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user_id: Option<String>,
    /// A session of an account with a second factor that waits for its
    /// code; it counts for nothing until confirmed.
    #[serde(default)]
    pub pending: bool,
    /// When it was started (RFC 3339).
    pub started_at: String,
    /// When it ends whatever happens (RFC 3339).
    pub expires_at: String,
}

/// One change of the state. Each is checked before it is written; applying
/// it never fails.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(tag = "change", rename_all = "snake_case")]
pub(crate) enum Change {
    /// Members registered, or their name and kind changed.
    Members { members: Vec<Member> },
    /// A member leaves the ring from a year on (its figures stay).
    MemberLeft { member_id: String, from_year: i32 },
    /// A token issued (its hash only).
    Token { record: TokenRecord },
    /// A token revoked.
    TokenRevoked { token_id: String },
    /// Members grant a consultant access.
    Granted {
        consultant_id: String,
        member_ids: Vec<String>,
    },
    /// A member takes back a consultant's access.
    GrantRevoked {
        consultant_id: String,
        member_id: String,
    },
    /// A custom peer group defined (immutable once defined).
    Group { group: CustomGroup },
    /// Explanations of warnings (a later one of the same warning replaces
    /// the earlier one in the view; both stay in the log).
    Explanations { explanations: Vec<Explanation> },
    /// A (domain, year) frozen as a data release. Its member list is an
    /// object beside the log (`releases/<id>/members.json`).
    Released { release: DataRelease },
    /// A data release reopened for uploads.
    Reopened {
        release_id: String,
        at: String,
        by: String,
    },
    /// A web session started; `key` is the SHA-256 of its cookie.
    SessionStarted { key: String, session: SessionRecord },
    /// A web session ended (signed out).
    SessionEnded { key: String },
    /// A data directory's files were moved into the lake.
    Migrated { from: String, files: Vec<String> },
    /// A lead member's invitation of a colleague, written for a free and
    /// for a taken address alike (a taken one gets a notice instead of an
    /// account), so the member's bound counts attempts and says nothing
    /// about which addresses have accounts. `at` in Unix seconds.
    ColleagueInvited { member_id: String, at: i64 },
    /// A person invited: the account (without password) and the
    /// invitation, stored by the hash of its code.
    UserInvited {
        user: crate::UserRecord,
        code_hash: String,
        invitation: crate::Invitation,
    },
    /// An invitation accepted: the account's password is set and the
    /// invitation used.
    InvitationAccepted {
        code_hash: String,
        user_id: String,
        password_hash: String,
    },
    /// An account disabled.
    UserDisabled { user_id: String },
    /// The TOTP second factor of an account enrolled.
    TotpEnrolled {
        user_id: String,
        secret: String,
        recovery_hashes: Vec<String>,
    },
    /// A recovery code used up.
    RecoveryCodeUsed { user_id: String, code_hash: String },
    /// A waiting session confirmed with the second factor (logs before
    /// the session id was rotated at confirmation; now written as
    /// `SessionEnded` and `SessionStarted` in one event).
    SessionConfirmed { key: String },
    /// A TOTP time step of an account used (enrolment or sign-in): codes
    /// of this step and earlier ones confirm nothing any more (RFC 6238
    /// §5.2), on every replica and after a restart.
    TotpStepUsed { user_id: String, step: u64 },
    /// A password reset asked for: a link like an invitation's, valid for
    /// an hour ([`crate::Invitation::reset`]).
    PasswordResetIssued {
        code_hash: String,
        invitation: crate::Invitation,
    },
    /// Every session of an account ended (a new password was set, or its
    /// second factor was reset).
    UserSessionsEnded { user_id: String },
    /// The second factor of an account removed by an admin (a lost
    /// device): the person enrols a new one.
    TotpRemoved { user_id: String },
    /// An account linked to a person of the single sign-on provider; the
    /// invitation it was accepted with, if any, is used.
    IdentityLinked {
        user_id: String,
        identity: crate::SsoIdentity,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        code_hash: Option<String>,
    },
    /// The ring's noise secret (rule 14): 32 bytes in hex, or sealed under
    /// `secrets_key`. Only the first one counts.
    NoiseSecret { secret: String },
    /// A collection opened, or its deadline moved.
    CollectionOpened {
        collection: crate::collections::Collection,
    },
    /// The coordinator reviewed a warning.
    WarningReviewed { review: crate::collections::Review },
    /// The coordinator approved a member's submission.
    SubmissionApproved {
        approval: crate::collections::Approval,
    },
    /// Reminders recorded just before they were sent.
    RemindersSent {
        reminders: Vec<crate::collections::Reminder>,
    },
    /// A member saved figures in the form without submitting them.
    DraftSaved { draft: crate::collections::Draft },
}

/// One numbered entry of the log: the changes of one commit.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct Event {
    /// Its number.
    pub seq: u64,
    /// When it was written (RFC 3339).
    pub at: String,
    /// Who wrote it: a token id, `cli` or `migrate`.
    pub by: String,
    /// The changes, applied in order.
    pub changes: Vec<Change>,
}

/// Consultant id → members that granted it access.
pub(crate) type Grants = BTreeMap<String, BTreeSet<String>>;

/// The state as of a number of the log.
#[derive(Debug, Clone, Default)]
pub struct View {
    /// The number of the last change applied (0: none).
    pub seq: u64,
    /// Members by id.
    pub members: Arc<BTreeMap<String, Member>>,
    /// Members that left, with the first year they are no longer in.
    pub left: Arc<BTreeMap<String, i32>>,
    /// Tokens by hash.
    pub tokens: Arc<HashMap<String, TokenRecord>>,
    /// Token ids in the order they were issued.
    pub token_order: Arc<Vec<String>>,
    pub(crate) grants: Arc<Grants>,
    /// Custom groups, in the order they were defined.
    pub groups: Arc<Vec<CustomGroup>>,
    /// Explanations, oldest first.
    pub explanations: Arc<Vec<Explanation>>,
    /// Data releases, oldest first.
    pub releases: Arc<Vec<DataRelease>>,
    /// Live web sessions by the SHA-256 of their cookie.
    pub sessions: Arc<crate::sessions::Sessions>,
    /// Where a migration came from, if the state was migrated.
    pub migrated: Option<String>,
    /// Accounts by user id.
    pub users: Arc<BTreeMap<String, crate::UserRecord>>,
    /// Invitations by the hash of their code.
    pub invitations: Arc<HashMap<String, crate::Invitation>>,
    /// Per member, when its leads invited colleagues (Unix seconds), only
    /// those within the life of an invitation before the newest.
    pub colleague_invitations: Arc<BTreeMap<String, Vec<i64>>>,
    /// The ring's noise secret as stored (hex or sealed), once created.
    pub(crate) noise_secret: Option<String>,
    /// Collections, reviews, approvals and reminders.
    pub collections: Arc<crate::collections::Collections>,
}

impl View {
    /// Applies one event. Changes were checked when written; one that no
    /// longer fits (a revocation of an unknown token) changes nothing.
    pub(crate) fn apply(&mut self, event: &Event) {
        for change in &event.changes {
            match change {
                Change::Members { .. }
                | Change::MemberLeft { .. }
                | Change::Group { .. }
                | Change::Explanations { .. }
                | Change::Released { .. }
                | Change::Reopened { .. }
                | Change::Migrated { .. }
                | Change::NoiseSecret { .. } => self.apply_ring(change),
                Change::Token { .. }
                | Change::TokenRevoked { .. }
                | Change::Granted { .. }
                | Change::GrantRevoked { .. }
                | Change::SessionStarted { .. }
                | Change::SessionEnded { .. }
                | Change::SessionConfirmed { .. }
                | Change::UserSessionsEnded { .. } => self.apply_access(change),
                Change::UserInvited { .. }
                | Change::InvitationAccepted { .. }
                | Change::ColleagueInvited { .. }
                | Change::UserDisabled { .. }
                | Change::PasswordResetIssued { .. }
                | Change::IdentityLinked { .. } => self.apply_accounts(change),
                Change::TotpEnrolled { .. }
                | Change::RecoveryCodeUsed { .. }
                | Change::TotpStepUsed { .. }
                | Change::TotpRemoved { .. } => self.apply_second_factor(change),
                Change::CollectionOpened { .. }
                | Change::WarningReviewed { .. }
                | Change::SubmissionApproved { .. }
                | Change::RemindersSent { .. }
                | Change::DraftSaved { .. } => Arc::make_mut(&mut self.collections).apply(change),
            }
        }
        self.seq = event.seq;
    }

    /// Applies a change of its area: members, groups, explanations, releases and the ring's noise secret.
    fn apply_ring(&mut self, change: &Change) {
        match change {
            Change::Members { members } => {
                let map = Arc::make_mut(&mut self.members);
                for m in members {
                    map.insert(m.member_id.clone(), m.clone());
                }
            }
            Change::MemberLeft {
                member_id,
                from_year,
            } => {
                Arc::make_mut(&mut self.left).insert(member_id.clone(), *from_year);
            }
            Change::Group { group } if !self.groups.iter().any(|g| g.id == group.id) => {
                Arc::make_mut(&mut self.groups).push(group.clone());
            }
            Change::Explanations { explanations } => {
                let all = Arc::make_mut(&mut self.explanations);
                for e in explanations {
                    all.retain(|x| {
                        !(x.submission_id == e.submission_id
                            && x.member_id == e.member_id
                            && x.rule == e.rule)
                    });
                    all.push(e.clone());
                }
            }
            Change::Released { release } if !self.releases.iter().any(|r| r.id == release.id) => {
                Arc::make_mut(&mut self.releases).push(release.clone());
            }
            Change::Reopened { release_id, at, by } => {
                for r in Arc::make_mut(&mut self.releases)
                    .iter_mut()
                    .filter(|r| &r.id == release_id && r.reopened_at.is_none())
                {
                    r.reopened_at = Some(at.clone());
                    r.reopened_by = Some(by.clone());
                }
            }
            Change::Migrated { from, .. } => self.migrated = Some(from.clone()),
            Change::NoiseSecret { secret } if self.noise_secret.is_none() => {
                self.noise_secret = Some(secret.clone());
            }
            // The other areas' changes have functions of their own.
            _ => {}
        }
    }

    /// Applies a change of its area: tokens, consultants' grants and web sessions.
    fn apply_access(&mut self, change: &Change) {
        match change {
            Change::Token { record } => {
                if !self.tokens.contains_key(&record.hash) {
                    Arc::make_mut(&mut self.token_order).push(record.token_id.clone());
                }
                Arc::make_mut(&mut self.tokens).insert(record.hash.clone(), record.clone());
            }
            Change::TokenRevoked { token_id } => {
                let tokens = Arc::make_mut(&mut self.tokens);
                for t in tokens.values_mut() {
                    if &t.token_id == token_id {
                        t.revoked = true;
                    }
                }
                // A revoked personal token leaves the state (the log
                // keeps it): a person minting and revoking in a loop
                // grew every replica's memory and each checkpoint.
                // Service tokens stay, marked, for admin's list.
                let before = tokens.len();
                tokens.retain(|_, t| !(t.revoked && t.owner.is_some() && &t.token_id == token_id));
                if tokens.len() < before {
                    Arc::make_mut(&mut self.token_order).retain(|id| id != token_id);
                }
                // Its sessions end with it, on every replica.
                if self.sessions.has_principal(token_id) {
                    Arc::make_mut(&mut self.sessions).end_token(token_id);
                }
            }
            Change::Granted {
                consultant_id,
                member_ids,
            } => {
                Arc::make_mut(&mut self.grants)
                    .entry(consultant_id.clone())
                    .or_default()
                    .extend(member_ids.iter().cloned());
            }
            Change::GrantRevoked {
                consultant_id,
                member_id,
            } => {
                if let Some(set) = Arc::make_mut(&mut self.grants).get_mut(consultant_id) {
                    set.remove(member_id);
                }
            }
            Change::SessionStarted { key, session } => {
                // Ended sessions leave memory as new ones come.
                let now = chrono::Utc::now().timestamp();
                Arc::make_mut(&mut self.sessions).start(key, session, now);
            }
            Change::SessionEnded { key } => {
                Arc::make_mut(&mut self.sessions).end(key);
            }
            Change::SessionConfirmed { key } => {
                Arc::make_mut(&mut self.sessions).confirm(key);
            }
            Change::UserSessionsEnded { user_id } => {
                Arc::make_mut(&mut self.sessions).end_user(user_id);
            }
            // The other areas' changes have functions of their own.
            _ => {}
        }
    }

    /// Applies a change of its area: people's accounts: invitations, passwords, second factors, single sign-on.
    fn apply_accounts(&mut self, change: &Change) {
        match change {
            Change::UserInvited {
                user,
                code_hash,
                invitation,
            } => {
                Arc::make_mut(&mut self.users).insert(user.user_id.clone(), user.clone());
                Arc::make_mut(&mut self.invitations).insert(code_hash.clone(), invitation.clone());
            }
            Change::InvitationAccepted {
                code_hash,
                user_id,
                password_hash,
            } => {
                // A used link opens nothing: it leaves the state (the
                // log keeps it), so links do not pile up there.
                Arc::make_mut(&mut self.invitations).remove(code_hash);
                if let Some(u) = Arc::make_mut(&mut self.users).get_mut(user_id) {
                    u.password_hash = Some(password_hash.clone());
                }
            }
            Change::ColleagueInvited { member_id, at } => {
                let times = Arc::make_mut(&mut self.colleague_invitations)
                    .entry(member_id.clone())
                    .or_default();
                let window = crate::INVITATION_LIFETIME.as_secs() as i64;
                times.retain(|t| *t > at - window);
                times.push(*at);
            }
            Change::UserDisabled { user_id } => {
                if let Some(u) = Arc::make_mut(&mut self.users).get_mut(user_id) {
                    u.disabled = true;
                }
                if self.sessions.has_principal(user_id) {
                    Arc::make_mut(&mut self.sessions).end_user(user_id);
                }
            }
            Change::PasswordResetIssued {
                code_hash,
                invitation,
            } => {
                // The newest reset link of an account replaces its
                // earlier ones: anybody may ask for links to a known
                // address, and each stayed in the state for good.
                let all = Arc::make_mut(&mut self.invitations);
                all.retain(|_, i| !(i.reset && i.user_id == invitation.user_id));
                all.insert(code_hash.clone(), invitation.clone());
            }
            Change::IdentityLinked {
                user_id,
                identity,
                code_hash,
            } => {
                if let Some(c) = code_hash {
                    Arc::make_mut(&mut self.invitations).remove(c);
                }
                if let Some(u) = Arc::make_mut(&mut self.users).get_mut(user_id) {
                    u.sso = Some(identity.clone());
                }
            }

            // The other areas' changes have functions of their own.
            _ => {}
        }
    }

    /// Applies a change of its area: second factors (TOTP secrets, their
    /// used time steps, recovery codes).
    fn apply_second_factor(&mut self, change: &Change) {
        match change {
            Change::TotpEnrolled {
                user_id,
                secret,
                recovery_hashes,
            } => {
                if let Some(u) = Arc::make_mut(&mut self.users).get_mut(user_id) {
                    u.totp_secret = Some(secret.clone());
                    u.recovery_codes = recovery_hashes.clone();
                    // A new secret starts its own count of steps.
                    u.totp_last_step = 0;
                }
            }
            Change::RecoveryCodeUsed { user_id, code_hash } => {
                if let Some(u) = Arc::make_mut(&mut self.users).get_mut(user_id) {
                    u.recovery_codes.retain(|c| c != code_hash);
                }
            }
            Change::TotpStepUsed { user_id, step } => {
                if let Some(u) = Arc::make_mut(&mut self.users).get_mut(user_id) {
                    u.totp_last_step = u.totp_last_step.max(*step);
                }
            }
            Change::TotpRemoved { user_id } => {
                if let Some(u) = Arc::make_mut(&mut self.users).get_mut(user_id) {
                    u.totp_secret = None;
                    u.recovery_codes.clear();
                    u.totp_last_step = 0;
                }
            }
            // The other areas' changes have functions of their own.
            _ => {}
        }
    }

    /// Whether a member granted a consultant access.
    pub(crate) fn has_grant(&self, consultant_id: &str, member_id: &str) -> bool {
        self.grants
            .get(consultant_id)
            .is_some_and(|s| s.contains(member_id))
    }

    /// The members that granted a consultant access.
    pub(crate) fn grants_of(&self, consultant_id: &str) -> BTreeSet<String> {
        self.grants.get(consultant_id).cloned().unwrap_or_default()
    }
}
