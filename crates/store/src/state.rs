//! Every piece of state beside the figures, in the lake: an append-only log
//! of changes under `<lake>/_state/log/`, one JSON object per change,
//! numbered from 1 without gaps (`00000000000000000001.json`, ...).
//!
//! A change is written put-if-absent at the number after the last one seen
//! (on a local disk a hard link that fails if the name exists, on S3 a
//! `PUT` with `If-None-Match: *`), so exactly one writer wins each number.
//! A writer that loses reads the new changes, checks its change again
//! against them and tries the next number: the check and the write are one
//! step for every process on the lake, as a Delta commit is for figures.
//!
//! What the service reads (members, tokens, grants, custom groups,
//! explanations, data releases, web sessions) is the fold of the log, held
//! in memory as a [`View`]. Replicas follow each other by reading the
//! numbers after the last one they applied ([`StateLog::follow`]); nothing
//! but the lake is shared. The log is also the history: who changed what
//! when, a member's renaming and leaving included.

use std::sync::{Arc, RwLock};

use bytes::Bytes;
use futures::{StreamExt, TryStreamExt};
use object_store::{ObjectStore, ObjectStoreExt, PutMode, PutOptions, PutPayload};

use crate::{Result, StoreError};

mod changes;
pub use changes::SessionRecord;
pub(crate) use changes::{Change, Event, Grants, View};

/// Where the log lives, below the state's root.
const LOG: &str = "log";

/// How often a change is checked and written again after other writers
/// took its number, before the request fails.
const COMMIT_ATTEMPTS: usize = 64;

/// Whether an RFC 3339 time is past (a time that does not parse is).
pub(crate) fn expired(at: &str, now: chrono::DateTime<chrono::Utc>) -> bool {
    chrono::DateTime::parse_from_rfc3339(at).map_or(true, |t| t <= now)
}

/// The object store of a lake's state, rooted at `<lake>/_state` (on the
/// local disk `DATA_DIR/lake/_state`).
pub(crate) async fn objects(
    root: &std::path::Path,
    lake: &crate::LakeLocation,
) -> Result<Arc<dyn ObjectStore>> {
    // The store of a Delta table's location, without reading a log: the
    // state is no Delta table (and the kernel logs an error for a missing
    // log).
    let url = lake.table_url(root, "_state")?;
    crate::s3::register();
    let handle = deltalake::DeltaTableBuilder::from_url(url)?
        .with_storage_options(lake.options.clone())
        .build()?;
    Ok(handle.object_store())
}

pub(crate) fn object_err(e: object_store::Error) -> StoreError {
    StoreError::Invalid(format!("state store: {e}"))
}

fn log_path(seq: u64) -> object_store::path::Path {
    object_store::path::Path::from(format!("{LOG}/{seq:020}.json"))
}

fn parse_event(seq: u64, bytes: &[u8]) -> Result<Event> {
    let event: Event = serde_json::from_slice(bytes).map_err(|source| StoreError::Json {
        path: std::path::PathBuf::from(format!("_state/{LOG}/{seq:020}.json")),
        source,
    })?;
    if event.seq != seq {
        return Err(StoreError::Invalid(format!(
            "_state/{LOG}/{seq:020}.json says it is change {}",
            event.seq
        )));
    }
    Ok(event)
}

/// The state log of a lake, and its fold.
pub(crate) struct StateLog {
    /// Rooted at `<lake>/_state`.
    pub(crate) objects: Arc<dyn ObjectStore>,
    view: RwLock<Arc<View>>,
    /// One follower at a time, so changes are applied once and in order;
    /// it holds when the last follow started reading.
    follow_lock: tokio::sync::Mutex<Option<std::time::Instant>>,
    /// One writer of this process at a time (others are other processes).
    write_lock: tokio::sync::Mutex<()>,
    /// The number of the newest checkpoint this process read or wrote.
    checkpointed: std::sync::atomic::AtomicU64,
    /// What the last start read: the checkpoint it started from and the
    /// changes after it.
    loaded: std::sync::Mutex<Loaded>,
}

/// What opening the log read (for tests and the start-up log line).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Loaded {
    /// The checkpoint it started from, if any.
    pub checkpoint: Option<u64>,
    /// Changes read after it.
    pub changes: usize,
}

impl StateLog {
    /// Opens the log in `objects` and reads it to its end.
    pub(crate) async fn open(objects: Arc<dyn ObjectStore>) -> Result<StateLog> {
        let log = StateLog {
            objects,
            view: RwLock::new(Arc::new(View::default())),
            follow_lock: tokio::sync::Mutex::new(None),
            write_lock: tokio::sync::Mutex::new(()),
            checkpointed: std::sync::atomic::AtomicU64::new(0),
            loaded: std::sync::Mutex::new(Loaded::default()),
        };
        log.load().await?;
        // A log with many changes after its newest checkpoint (one written
        // before checkpoints existed) gets one now, so that the next start
        // is short; a lake this process cannot write to still opens.
        if let Err(e) = log.checkpoint_if_due().await {
            tracing::warn!(error = %e, "could not write a checkpoint of the state log");
        }
        Ok(log)
    }

    /// What opening the log read.
    pub(crate) fn loaded(&self) -> Loaded {
        *self.loaded.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Writes a checkpoint of the view when [`CHECKPOINT_EVERY`] changes
    /// were made since the newest one.
    ///
    /// [`CHECKPOINT_EVERY`]: crate::checkpoint::CHECKPOINT_EVERY
    async fn checkpoint_if_due(&self) -> Result<()> {
        use std::sync::atomic::Ordering;
        let view = self.view();
        let last = self.checkpointed.load(Ordering::Relaxed);
        if view.seq < last + crate::checkpoint::CHECKPOINT_EVERY {
            return Ok(());
        }
        crate::checkpoint::write(self.objects.as_ref(), &view).await?;
        self.checkpointed.fetch_max(view.seq, Ordering::Relaxed);
        tracing::debug!(seq = view.seq, "state log checkpoint written");
        Ok(())
    }

    /// The state as last read.
    pub(crate) fn view(&self) -> Arc<View> {
        match self.view.read() {
            Ok(v) => v.clone(),
            Err(p) => p.into_inner().clone(),
        }
    }

    fn set_view(&self, view: View) {
        match self.view.write() {
            Ok(mut v) => *v = Arc::new(view),
            Err(p) => *p.into_inner() = Arc::new(view),
        }
    }

    /// Reads the log: the newest checkpoint, then the changes after it
    /// (listed once from the checkpoint's number on, read sixteen at a
    /// time and applied in order).
    async fn load(&self) -> Result<()> {
        let _guard = self.follow_lock.lock().await;
        let mut view = crate::checkpoint::read_newest(self.objects.as_ref())
            .await?
            .unwrap_or_default();
        let from = view.seq;
        self.checkpointed
            .fetch_max(from, std::sync::atomic::Ordering::Relaxed);
        // Which numbers to read: after a checkpoint, fewer than
        // `CHECKPOINT_EVERY` follow it, probed sixteen at a time (listing
        // the log would touch every change ever made: 0.9 s at 200,000 on
        // a local disk); without one, the whole log, listed once.
        let mut changes = 0;
        if from > 0 {
            changes += self.read_probing(&mut view).await?;
        } else {
            let prefix = object_store::path::Path::from(LOG);
            let listed: Vec<object_store::ObjectMeta> = self
                .objects
                .list(Some(&prefix))
                .try_collect()
                .await
                .map_err(object_err)?;
            let mut seqs: Vec<u64> = listed
                .iter()
                .filter_map(|m| m.location.filename())
                .filter_map(|n| n.strip_suffix(".json"))
                .filter_map(|n| n.parse().ok())
                .filter(|s| *s > from)
                .collect();
            seqs.sort_unstable();
            // Read several entries at once (on S3 each is a round trip),
            // and apply them in order.
            let mut reads = futures::stream::iter(seqs.iter().copied())
                .map(|seq| self.read_event(seq))
                .buffered(16);
            while let Some(event) = reads.next().await {
                let Some(event) = event? else {
                    break;
                };
                if event.seq != view.seq + 1 {
                    return Err(StoreError::Invalid(format!(
                        "the state log has no change {} before change {}",
                        view.seq + 1,
                        event.seq
                    )));
                }
                view.apply(&event);
                changes += 1;
            }
        }
        // Anything written since the listing.
        changes += self.read_after(&mut view).await?;
        *self.loaded.lock().unwrap_or_else(|e| e.into_inner()) = Loaded {
            checkpoint: (from > 0).then_some(from),
            changes,
        };
        self.set_view(view);
        Ok(())
    }

    /// The change numbered `seq`, `None` if it is not there.
    async fn read_event(&self, seq: u64) -> Result<Option<Event>> {
        match self.objects.get(&log_path(seq)).await {
            Ok(got) => {
                let bytes = got.bytes().await.map_err(object_err)?;
                parse_event(seq, &bytes).map(Some)
            }
            Err(object_store::Error::NotFound { .. }) => Ok(None),
            Err(e) => Err(object_err(e)),
        }
    }

    /// Reads the entries after `view.seq` sixteen numbers at a time (on S3
    /// one round trip for sixteen) until the first that is not there.
    async fn read_probing(&self, view: &mut View) -> Result<usize> {
        const AT_ONCE: u64 = 16;
        let mut n = 0;
        loop {
            let next = view.seq + 1;
            let batch: Vec<Option<Event>> =
                futures::future::try_join_all((next..next + AT_ONCE).map(|s| self.read_event(s)))
                    .await?;
            for event in batch {
                let Some(event) = event else {
                    return Ok(n);
                };
                view.apply(&event);
                n += 1;
            }
        }
    }

    /// Reads the entries after `view.seq` until the first that is not there.
    async fn read_after(&self, view: &mut View) -> Result<usize> {
        let mut n = 0;
        loop {
            let seq = view.seq + 1;
            match self.objects.get(&log_path(seq)).await {
                Ok(got) => {
                    let bytes = got.bytes().await.map_err(object_err)?;
                    view.apply(&parse_event(seq, &bytes)?);
                    n += 1;
                }
                Err(object_store::Error::NotFound { .. }) => return Ok(n),
                Err(e) => return Err(object_err(e)),
            }
        }
    }

    /// Applies what other processes wrote since the last read. Returns how
    /// many changes were new.
    pub(crate) async fn follow(&self) -> Result<usize> {
        let mut guard = self.follow_lock.lock().await;
        self.follow_locked(&mut guard).await
    }

    /// Makes sure the view holds every change written before `asked`:
    /// follows, unless a follow that started after `asked` already ran
    /// (callers waiting together share one read of the log, so a flood of
    /// unknown tokens costs one read at a time, not one each).
    pub(crate) async fn follow_since(&self, asked: std::time::Instant) -> Result<usize> {
        let mut guard = self.follow_lock.lock().await;
        if guard.is_some_and(|started| started >= asked) {
            return Ok(0);
        }
        self.follow_locked(&mut guard).await
    }

    async fn follow_locked(&self, started: &mut Option<std::time::Instant>) -> Result<usize> {
        *started = Some(std::time::Instant::now());
        let current = self.view();
        // Probe first, so that a follow that finds nothing copies nothing.
        let next = log_path(current.seq + 1);
        match self.objects.head(&next).await {
            Ok(_) => {}
            Err(object_store::Error::NotFound { .. }) => return Ok(0),
            Err(e) => return Err(object_err(e)),
        }
        let mut view = (*current).clone();
        let n = self.read_after(&mut view).await?;
        if n > 0 {
            self.set_view(view);
        }
        Ok(n)
    }

    /// Writes one change set: `build` checks it against the latest state
    /// and returns the changes (none: nothing to write) and the result.
    /// When another writer took the number first, the new changes are read
    /// and `build` runs again on them.
    pub(crate) async fn commit<R>(
        &self,
        by: &str,
        mut build: impl FnMut(&View) -> Result<(Vec<Change>, R)>,
    ) -> Result<R> {
        let _guard = self.write_lock.lock().await;
        for attempt in 1..=COMMIT_ATTEMPTS {
            self.follow().await?;
            let view = self.view();
            let (changes, out) = build(&view)?;
            if changes.is_empty() {
                return Ok(out);
            }
            let event = Event {
                seq: view.seq + 1,
                at: chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Micros, true),
                by: by.to_string(),
                changes,
            };
            let bytes = serde_json::to_vec(&event).map_err(|source| StoreError::Json {
                path: std::path::PathBuf::from(format!("_state/{LOG}/{:020}.json", event.seq)),
                source,
            })?;
            let put = self
                .objects
                .put_opts(
                    &log_path(event.seq),
                    PutPayload::from(Bytes::from(bytes)),
                    PutOptions::from(PutMode::Create),
                )
                .await;
            match put {
                Ok(_) => {
                    self.follow().await?;
                    if let Err(e) = self.checkpoint_if_due().await {
                        tracing::warn!(error = %e, "could not write a checkpoint of the state log");
                    }
                    return Ok(out);
                }
                Err(object_store::Error::AlreadyExists { .. }) => {
                    tracing::info!(
                        seq = event.seq,
                        attempt,
                        "another writer took the state log's number; checking again"
                    );
                    continue;
                }
                Err(e) => return Err(object_err(e)),
            }
        }
        Err(StoreError::Conflict(
            "too many concurrent changes of the state; try again".into(),
        ))
    }

    /// Puts an object beside the log if it is not there (ledger entries,
    /// release member lists, archived uploads). Returns whether this call
    /// wrote it.
    pub(crate) async fn put_if_absent(
        &self,
        path: &object_store::path::Path,
        bytes: Bytes,
    ) -> Result<bool> {
        match self
            .objects
            .put_opts(
                path,
                PutPayload::from(bytes),
                PutOptions::from(PutMode::Create),
            )
            .await
        {
            Ok(_) => Ok(true),
            Err(object_store::Error::AlreadyExists { .. }) => Ok(false),
            Err(e) => Err(object_err(e)),
        }
    }

    /// An object beside the log; `None` if it is not there.
    pub(crate) async fn get(&self, path: &object_store::path::Path) -> Result<Option<Bytes>> {
        match self.objects.get(path).await {
            Ok(got) => Ok(Some(got.bytes().await.map_err(object_err)?)),
            Err(object_store::Error::NotFound { .. }) => Ok(None),
            Err(e) => Err(object_err(e)),
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use std::collections::{BTreeMap, HashMap};

    use std::sync::Arc;

    use proptest::prelude::*;

    use super::*;
    use crate::{CustomGroup, Role};

    async fn log_at(dir: &std::path::Path) -> StateLog {
        let objects: Arc<dyn ObjectStore> =
            Arc::new(object_store::local::LocalFileSystem::new_with_prefix(dir).unwrap());
        StateLog::open(objects).await.unwrap()
    }

    /// What a view holds, comparable.
    fn seen(v: &View) -> serde_json::Value {
        let mut tokens: Vec<_> = v.tokens.values().collect();
        tokens.sort_by(|a, b| a.token_id.cmp(&b.token_id));
        serde_json::json!({
            "seq": v.seq,
            "members": *v.members,
            "left": *v.left,
            "tokens": tokens,
            "order": *v.token_order,
            "grants": *v.grants,
            "groups": *v.groups,
            "explanations": *v.explanations,
            "releases": *v.releases,
            "sessions": v
                .sessions
                .live(chrono::Utc::now().timestamp())
                .into_iter()
                .collect::<BTreeMap<_, _>>(),
            "users": *v.users,
            "invitations": v.invitations.iter().collect::<BTreeMap<_, _>>(),
            "migrated": v.migrated,
            "noise_secret": v.noise_secret,
        })
    }

    fn group(id: &str) -> Change {
        Change::Group {
            group: CustomGroup {
                id: id.into(),
                name: id.into(),
                member_ids: vec!["05315000".into()],
            },
        }
    }

    /// Two processes writing at once: every change lands once, numbered
    /// without gaps, and both read the same state.
    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn concurrent_writers_land_every_change_once() {
        let dir = tempfile::tempdir().unwrap();
        let a = Arc::new(log_at(dir.path()).await);
        let b = Arc::new(log_at(dir.path()).await);
        let mut tasks = Vec::new();
        for i in 0..40 {
            let log = if i % 2 == 0 { a.clone() } else { b.clone() };
            tasks.push(tokio::spawn(async move {
                log.commit("t", |_| Ok((vec![group(&format!("g{i}"))], ())))
                    .await
            }));
        }
        for t in tasks {
            t.await.unwrap().unwrap();
        }
        a.follow().await.unwrap();
        b.follow().await.unwrap();
        let fresh = log_at(dir.path()).await;
        assert_eq!(a.view().seq, 40);
        assert_eq!(a.view().groups.len(), 40);
        assert_eq!(seen(&a.view()), seen(&b.view()));
        assert_eq!(seen(&a.view()), seen(&fresh.view()));
    }

    /// A change is checked against the latest state, also when another
    /// process wrote it a moment before: of two definitions of one group
    /// id at the same moment, exactly one is written.
    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn of_two_conflicting_changes_exactly_one_lands() {
        for _ in 0..10 {
            let dir = tempfile::tempdir().unwrap();
            let a = Arc::new(log_at(dir.path()).await);
            let b = Arc::new(log_at(dir.path()).await);
            let define = |log: Arc<StateLog>| {
                tokio::spawn(async move {
                    log.commit("t", |view| {
                        if view.groups.iter().any(|g| g.id == "west") {
                            return Err(StoreError::Conflict("exists".into()));
                        }
                        Ok((vec![group("west")], ()))
                    })
                    .await
                })
            };
            let (x, y) = (define(a.clone()), define(b.clone()));
            let (x, y) = (x.await.unwrap(), y.await.unwrap());
            assert_eq!(x.is_ok() as u8 + y.is_ok() as u8, 1, "{x:?} {y:?}");
            assert_eq!(log_at(dir.path()).await.view().groups.len(), 1);
        }
    }

    fn change() -> impl Strategy<Value = Change> {
        let id = (0u8..6).prop_map(|i| format!("0531500{i}"));
        prop_oneof![
            (id.clone(), "[a-z]{1,8}").prop_map(|(member_id, name)| Change::Members {
                members: vec![crate::Member {
                    member_id,
                    name,
                    kind: vergleichsring_catalog::MemberKind::KreisangehoerigeGemeinde,
                    structure: None,
                }],
            }),
            (0u8..4).prop_map(|i| Change::Token {
                record: crate::TokenRecord {
                    token_id: format!("t{i}"),
                    hash: format!("h{i}"),
                    role: Role::Analyst,
                    member_id: None,
                    consultant_id: None,
                    created_at: String::new(),
                    revoked: false,
                    label: None,
                    expires_at: None,
                    owner: None,
                },
            }),
            (0u8..4).prop_map(|i| Change::TokenRevoked {
                token_id: format!("t{i}")
            }),
            (id.clone(), 0u8..3).prop_map(|(m, c)| Change::Granted {
                consultant_id: format!("c{c}"),
                member_ids: vec![m],
            }),
            (id.clone(), 0u8..3).prop_map(|(m, c)| Change::GrantRevoked {
                consultant_id: format!("c{c}"),
                member_id: m,
            }),
            (id, 2000i32..2030).prop_map(|(member_id, from_year)| Change::MemberLeft {
                member_id,
                from_year,
            }),
            (0u8..5).prop_map(|i| group(&format!("g{i}"))),
            // Sessions of two tokens and an account, more than one
            // principal may hold at once.
            (0u8..14, 0u8..3, 0i64..3600).prop_map(|(k, who, s)| Change::SessionStarted {
                key: format!("k{k}"),
                session: SessionRecord {
                    token_id: if who < 2 {
                        format!("t{who}")
                    } else {
                        String::new()
                    },
                    user_id: (who == 2).then(|| "u1".to_string()),
                    pending: false,
                    started_at: format!("2026-12-06T10:{:02}:{:02}Z", s / 60, s % 60),
                    expires_at: "2099-01-01T00:00:00Z".into(),
                },
            }),
            (0u8..14).prop_map(|k| Change::SessionEnded {
                key: format!("k{k}")
            }),
            Just(Change::UserSessionsEnded {
                user_id: "u1".into()
            }),
        ]
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(24))]

        /// Whatever the changes and however a follower's reads fall
        /// between them, it holds what the writer holds and what reading
        /// the whole log from the start gives.
        #[test]
        fn following_in_steps_equals_reading_the_whole_log(
            batches in proptest::collection::vec(proptest::collection::vec(change(), 1..4), 1..12),
            follow_after in proptest::collection::vec(any::<bool>(), 12),
            checkpoint_at in any::<proptest::sample::Index>(),
        ) {
            let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
            rt.block_on(async {
                let dir = tempfile::tempdir().unwrap();
                let writer = log_at(dir.path()).await;
                let follower = log_at(dir.path()).await;
                for (i, batch) in batches.iter().enumerate() {
                    writer.commit("t", |_| Ok((batch.clone(), ()))).await.unwrap();
                    if follow_after[i] {
                        follower.follow().await.unwrap();
                    }
                }
                follower.follow().await.unwrap();
                let fresh = log_at(dir.path()).await;
                prop_assert_eq!(seen(&writer.view()), seen(&follower.view()));
                prop_assert_eq!(seen(&writer.view()), seen(&fresh.view()));
                prop_assert_eq!(writer.view().seq, batches.len() as u64);
                // A checkpoint at any number, then the changes after it,
                // give the same state as the whole log.
                let at = checkpoint_at.index(batches.len());
                let replay = log_at(dir.path()).await;
                let mut partial = View::default();
                for seq in 1..=at as u64 + 1 {
                    let bytes = replay.get(&log_path(seq)).await.unwrap().unwrap();
                    partial.apply(&parse_event(seq, &bytes).unwrap());
                }
                crate::checkpoint::write(replay.objects.as_ref(), &partial).await.unwrap();
                let from_checkpoint = log_at(dir.path()).await;
                prop_assert_eq!(
                    from_checkpoint.loaded(),
                    Loaded { checkpoint: Some(at as u64 + 1), changes: batches.len() - at - 1 }
                );
                prop_assert_eq!(seen(&writer.view()), seen(&from_checkpoint.view()));
                // Principals never hold more than their share.
                let mut per: HashMap<String, usize> = HashMap::new();
                for (_, s) in writer.view().sessions.live(0) {
                    *per.entry(s.user_id.clone().unwrap_or(s.token_id.clone())).or_default() += 1;
                }
                prop_assert!(per.values().all(|n| *n <= crate::MAX_SESSIONS_PER_PRINCIPAL));
                Ok(())
            })?;
        }
    }
}
