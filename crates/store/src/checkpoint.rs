//! Checkpoints of the state log: every [`CHECKPOINT_EVERY`] changes the
//! fold of the log is written whole beside it
//! (`_state/checkpoint/<seq>.json`, put-if-absent), and
//! `_state/_last_checkpoint` names the newest one, as Delta Lake does for a
//! table's log. A process starts from the newest checkpoint and reads only
//! the changes after it, so start time and memory do not grow with the
//! number of changes ever made (issue 26: 40,000 sign-ins made a start take
//! a minute). The changes themselves stay: the log is the history.
//!
//! A checkpoint is a cache of the log, never the truth: one that is missing
//! or does not parse is passed over (the log is read from its start, or
//! from an older checkpoint), and writing one may fail without failing the
//! change that triggered it.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use bytes::Bytes;
use object_store::{ObjectStore, ObjectStoreExt, PutPayload};
use serde::{Deserialize, Serialize};

use crate::sessions::Sessions;
use crate::state::{Grants, SessionRecord, View, object_err};
use crate::{CustomGroup, DataRelease, Explanation, Member, Result, StoreError, TokenRecord};

/// A checkpoint is written when this many changes have been made since
/// the last one. At most this many changes are read one by one at start
/// (on S3 sixteen at a time).
pub(crate) const CHECKPOINT_EVERY: u64 = 500;

/// The format of a checkpoint; one of another format is passed over.
const FORMAT: u32 = 1;

const DIR: &str = "checkpoint";
const LAST: &str = "_last_checkpoint";

fn path(seq: u64) -> object_store::path::Path {
    object_store::path::Path::from(format!("{DIR}/{seq:020}.json"))
}

/// The view as written: every field of [`View`] (the destructuring in
/// [`encode`] has no `..`, so a field added to the view without a place
/// here does not compile).
#[derive(Serialize)]
struct Out<'a> {
    format: u32,
    seq: u64,
    written_at: String,
    members: &'a BTreeMap<String, Member>,
    left: &'a BTreeMap<String, i32>,
    tokens: &'a HashMap<String, TokenRecord>,
    token_order: &'a Vec<String>,
    grants: &'a Grants,
    groups: &'a Vec<CustomGroup>,
    explanations: &'a Vec<Explanation>,
    releases: &'a Vec<DataRelease>,
    /// Live sessions only, in the order they started: an expired one would
    /// be dropped by the next sign-in anyway.
    sessions: Vec<(&'a String, &'a SessionRecord)>,
    migrated: &'a Option<String>,
    users: &'a BTreeMap<String, crate::UserRecord>,
    invitations: &'a HashMap<String, crate::Invitation>,
    colleague_invitations: &'a BTreeMap<String, Vec<i64>>,
    noise_secret: &'a Option<String>,
    collections: &'a crate::collections::Collections,
}

/// The view as read back.
#[derive(Deserialize)]
struct In {
    format: u32,
    seq: u64,
    members: BTreeMap<String, Member>,
    left: BTreeMap<String, i32>,
    tokens: HashMap<String, TokenRecord>,
    token_order: Vec<String>,
    grants: Grants,
    groups: Vec<CustomGroup>,
    explanations: Vec<Explanation>,
    releases: Vec<DataRelease>,
    sessions: Vec<(String, SessionRecord)>,
    migrated: Option<String>,
    users: BTreeMap<String, crate::UserRecord>,
    invitations: HashMap<String, crate::Invitation>,
    /// Absent in checkpoints written before leads' invitations counted.
    #[serde(default)]
    colleague_invitations: BTreeMap<String, Vec<i64>>,
    noise_secret: Option<String>,
    /// Absent in checkpoints written before collections were kept.
    #[serde(default)]
    collections: crate::collections::Collections,
}

/// The `_last_checkpoint` hint.
#[derive(Serialize, Deserialize)]
struct Last {
    seq: u64,
}

fn encode(view: &View, now: chrono::DateTime<chrono::Utc>) -> Result<Vec<u8>> {
    let View {
        seq,
        members,
        left,
        tokens,
        token_order,
        grants,
        groups,
        explanations,
        releases,
        sessions,
        migrated,
        users,
        invitations,
        colleague_invitations,
        noise_secret,
        collections,
    } = view;
    let out = Out {
        format: FORMAT,
        seq: *seq,
        written_at: now.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
        members,
        left,
        tokens,
        token_order,
        grants,
        groups,
        explanations,
        releases,
        sessions: sessions.live(now.timestamp()),
        migrated,
        users,
        invitations,
        colleague_invitations,
        noise_secret,
        collections,
    };
    serde_json::to_vec(&out).map_err(|source| StoreError::Json {
        path: std::path::PathBuf::from(format!("_state/{DIR}/{seq:020}.json")),
        source,
    })
}

fn decode(bytes: &[u8]) -> Option<View> {
    let got: In = serde_json::from_slice(bytes).ok()?;
    if got.format != FORMAT {
        return None;
    }
    let now = chrono::Utc::now().timestamp();
    let mut sessions = Sessions::default();
    for (key, s) in &got.sessions {
        sessions.start(key, s, now);
    }
    Some(View {
        seq: got.seq,
        members: Arc::new(got.members),
        left: Arc::new(got.left),
        tokens: Arc::new(got.tokens),
        token_order: Arc::new(got.token_order),
        grants: Arc::new(got.grants),
        groups: Arc::new(got.groups),
        explanations: Arc::new(got.explanations),
        releases: Arc::new(got.releases),
        sessions: Arc::new(sessions),
        migrated: got.migrated,
        users: Arc::new(got.users),
        invitations: Arc::new(got.invitations),
        colleague_invitations: Arc::new(got.colleague_invitations),
        noise_secret: got.noise_secret,
        collections: Arc::new(got.collections),
    })
}

async fn get(objects: &dyn ObjectStore, at: &object_store::path::Path) -> Result<Option<Bytes>> {
    match objects.get(at).await {
        Ok(got) => Ok(Some(got.bytes().await.map_err(object_err)?)),
        Err(object_store::Error::NotFound { .. }) => Ok(None),
        Err(e) => Err(object_err(e)),
    }
}

/// The newest checkpoint that reads, if any: the one `_last_checkpoint`
/// names, else the newest listed (a hint lost or overwritten by a slower
/// writer costs one listing of the checkpoints, not of the log).
pub(crate) async fn read_newest(objects: &dyn ObjectStore) -> Result<Option<View>> {
    if let Some(bytes) = get(objects, &object_store::path::Path::from(LAST)).await?
        && let Ok(last) = serde_json::from_slice::<Last>(&bytes)
        && let Some(bytes) = get(objects, &path(last.seq)).await?
        && let Some(view) = decode(&bytes)
        && view.seq == last.seq
    {
        return Ok(Some(view));
    }
    let prefix = object_store::path::Path::from(DIR);
    let mut seqs: Vec<u64> = {
        use futures::TryStreamExt;
        objects
            .list(Some(&prefix))
            .try_collect::<Vec<_>>()
            .await
            .map_err(object_err)?
            .iter()
            .filter_map(|m| m.location.filename())
            .filter_map(|n| n.strip_suffix(".json"))
            .filter_map(|n| n.parse().ok())
            .collect()
    };
    seqs.sort_unstable();
    for seq in seqs.into_iter().rev() {
        if let Some(bytes) = get(objects, &path(seq)).await?
            && let Some(view) = decode(&bytes)
            && view.seq == seq
        {
            return Ok(Some(view));
        }
        tracing::warn!(
            seq,
            "a checkpoint of the state log does not read; passed over"
        );
    }
    Ok(None)
}

/// Writes a checkpoint of `view` (put-if-absent: two processes writing the
/// same number write the same state) and points `_last_checkpoint` at it.
pub(crate) async fn write(objects: &dyn ObjectStore, view: &View) -> Result<()> {
    let bytes = encode(view, chrono::Utc::now())?;
    match objects
        .put_opts(
            &path(view.seq),
            PutPayload::from(Bytes::from(bytes)),
            object_store::PutOptions::from(object_store::PutMode::Create),
        )
        .await
    {
        Ok(_) | Err(object_store::Error::AlreadyExists { .. }) => {}
        Err(e) => return Err(object_err(e)),
    }
    let last = serde_json::to_vec(&Last { seq: view.seq }).map_err(|source| StoreError::Json {
        path: std::path::PathBuf::from(format!("_state/{LAST}")),
        source,
    })?;
    // A slower writer may point it at an older checkpoint: readers then
    // read a few more changes, nothing else.
    objects
        .put(
            &object_store::path::Path::from(LAST),
            PutPayload::from(Bytes::from(last)),
        )
        .await
        .map_err(object_err)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;
    use crate::state::{Change, StateLog};

    async fn log_at(dir: &std::path::Path) -> StateLog {
        let objects: Arc<dyn ObjectStore> =
            Arc::new(object_store::local::LocalFileSystem::new_with_prefix(dir).unwrap());
        StateLog::open(objects).await.unwrap()
    }

    fn session(token: &str, second: u32) -> SessionRecord {
        SessionRecord {
            token_id: token.into(),
            user_id: None,
            pending: false,
            started_at: format!("2026-12-06T10:{:02}:{:02}Z", second / 60, second % 60),
            expires_at: "2099-01-01T00:00:00Z".into(),
        }
    }

    /// The keys of the live sessions, sorted.
    fn live_keys(l: &StateLog) -> Vec<String> {
        let mut k: Vec<String> = l
            .view()
            .sessions
            .live(0)
            .into_iter()
            .map(|(k, _)| k.clone())
            .collect();
        k.sort();
        k
    }

    async fn sign_in(log: &StateLog, key: &str, token: &str, second: u32) {
        let change = Change::SessionStarted {
            key: key.into(),
            session: session(token, second),
        };
        log.commit("t", |_| Ok((vec![change.clone()], ())))
            .await
            .unwrap();
    }

    /// Sign-ins and sign-outs in a loop: the log gets a checkpoint every
    /// `CHECKPOINT_EVERY` changes, a new process reads the newest one and
    /// the changes after it only (the older changes could be gone and it
    /// would not notice), and the state is the same as the writer's.
    #[tokio::test]
    async fn a_start_reads_the_newest_checkpoint_and_the_changes_after_it() {
        let dir = tempfile::tempdir().unwrap();
        let log = log_at(dir.path()).await;
        let total = 2 * CHECKPOINT_EVERY + 137;
        for i in 0..total {
            let key = format!("k{i}");
            if i % 2 == 0 {
                sign_in(&log, &key, &format!("t{}", i % 7), (i % 3600) as u32).await;
            } else {
                let end = Change::SessionEnded {
                    key: format!("k{}", i - 1),
                };
                log.commit("t", |_| Ok((vec![end.clone()], ())))
                    .await
                    .unwrap();
            }
        }
        let fresh = log_at(dir.path()).await;
        assert_eq!(
            fresh.loaded(),
            crate::state::Loaded {
                checkpoint: Some(2 * CHECKPOINT_EVERY),
                changes: 137
            }
        );
        assert_eq!(fresh.view().seq, total);
        // The changes before the checkpoint are not read: removed, the
        // state is the same.
        for seq in 1..=2 * CHECKPOINT_EVERY {
            std::fs::remove_file(dir.path().join(format!("log/{seq:020}.json"))).unwrap();
        }
        let without_history = log_at(dir.path()).await;
        assert_eq!(live_keys(&without_history), live_keys(&log));
        assert_eq!(live_keys(&without_history), vec![format!("k{}", total - 1)]);
    }

    /// A lost or damaged hint, or a damaged newest checkpoint, costs
    /// reading more changes, never the state.
    #[tokio::test]
    async fn a_damaged_checkpoint_is_passed_over() {
        let dir = tempfile::tempdir().unwrap();
        let log = log_at(dir.path()).await;
        for i in 0..(2 * CHECKPOINT_EVERY + 3) {
            sign_in(&log, &format!("k{i}"), &format!("t{}", i % 50), 0).await;
        }
        let expected = live_keys(&log);
        std::fs::write(dir.path().join(LAST), b"not json").unwrap();
        let a = log_at(dir.path()).await;
        assert_eq!(a.loaded().checkpoint, Some(2 * CHECKPOINT_EVERY));
        assert_eq!(live_keys(&a), expected);
        std::fs::write(
            dir.path()
                .join(format!("{DIR}/{:020}.json", 2 * CHECKPOINT_EVERY)),
            b"{\"format\": 1, \"seq\": tr",
        )
        .unwrap();
        let b = log_at(dir.path()).await;
        assert_eq!(b.loaded().checkpoint, Some(CHECKPOINT_EVERY));
        assert_eq!(b.loaded().changes as u64, CHECKPOINT_EVERY + 3);
        assert_eq!(live_keys(&b), expected);
    }

    /// One token signing in again and again holds at most
    /// `MAX_SESSIONS_PER_PRINCIPAL` sessions: the oldest end.
    #[tokio::test]
    async fn a_principal_holds_a_bounded_number_of_sessions() {
        let dir = tempfile::tempdir().unwrap();
        let log = log_at(dir.path()).await;
        let n = crate::MAX_SESSIONS_PER_PRINCIPAL + 5;
        for i in 0..n {
            sign_in(&log, &format!("k{i:02}"), "t1", i as u32).await;
        }
        sign_in(&log, "other", "t2", 0).await;
        let view = log.view();
        let mut live: Vec<String> = view
            .sessions
            .live(0)
            .into_iter()
            .map(|(k, _)| k.clone())
            .collect();
        live.sort();
        let mut expected: Vec<String> = (5..n).map(|i| format!("k{i:02}")).collect();
        expected.push("other".into());
        assert_eq!(live, expected);
    }
}
