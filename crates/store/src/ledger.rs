//! The release ledger of a (domain, year) (rules 9–11 of the domain
//! description): `<lake>/_state/ledger/<domain>/<year>/<seq>.json`, one
//! object per entry, numbered from 1 without gaps. Entries are read from
//! the local disk: the lake's own directory for a lake on the local disk,
//! a cache in the data directory (`cache/ledger/`) for one on object
//! storage, filled by `Store::sync_ledgers` (entries never change once
//! written, so a cached entry never goes stale).
//!
//! An entry is either a *publication* (the audited state of the year that
//! non-admin callers read: which members had which values, which groups were
//! disclosed and which suppressed) or the first release of a *custom group*
//! in a publication. Every group statistic that reaches a non-admin caller is
//! in one of them, so the ledger is what the audit of rule 11 checks against.
//!
//! Entries are put if absent: on the local disk an entry is written to a
//! temporary file and then hard-linked to its numbered name, which fails if
//! the name exists; on S3 it is a `PUT` with `If-None-Match: *`.
//! A writer that loses the race (another process took the number) reads the
//! new entries, checks again and tries the next number; so the check and the
//! record are one step for every process on the data directory, and a reader
//! never sees a half-written entry.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use futures::TryStreamExt;

use serde::{Deserialize, Serialize};

use crate::{LakeLocation, Member, Result, Store, StoreError};

const DIR: &str = "ledger";

/// A publication of a (domain, year): what its answers are computed from.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Publication {
    /// Id, e.g. `library-2024-p2` (domain, year, the how-many-th entry of the
    /// year's ledger).
    pub id: String,
    /// Domain id.
    pub domain: String,
    /// Year.
    pub year: i32,
    /// The domain's data version the statistics were computed at.
    pub data_version: String,
    /// When it was published (RFC 3339, UTC).
    pub published_at: String,
    /// Token id of the admin who published it, or `auto`.
    pub published_by: String,
    /// What published it: `admin`, `freeze` or `auto`.
    pub trigger: String,
    /// Members whose figures differ from the previous publication (new,
    /// corrected or withdrawn); all members with figures for the first.
    pub changed_members: usize,
    /// Groups (over all key figures and built-in dimensions) suppressed by
    /// the audit of rule 11 on top of rules 1–5.
    pub suppressed_by_audit: usize,
    /// The disclosure settings it was computed with (`[disclosure]`).
    pub disclosure: serde_json::Value,
}

/// A group of a publication withheld from non-admin callers, and why.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct WithheldGroup {
    /// The built-in dimension.
    pub dimension: String,
    /// The group id within it.
    pub group: String,
    /// The machine-readable reason (`below_threshold`, `all_equal`,
    /// `complement`, `audit`).
    pub reason: String,
}

/// One key figure of a publication.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PublishedFigure {
    /// Key figure id.
    pub figure: String,
    /// Per member (aligned with [`PublishedState::member_ids`]) the bits of
    /// its value (`f64::to_bits`), `None` without a value. The audit treats
    /// a member's value as the same variable in every publication while the
    /// bits are the same.
    pub values: Vec<Option<u64>>,
    /// The groups disclosed to non-admin callers: (dimension, group).
    /// (Ledgers written before the word "release" was kept for frozen
    /// years call it `released`.)
    #[serde(alias = "released")]
    pub disclosed: Vec<(String, String)>,
    /// The groups withheld, with reasons.
    pub withheld: Vec<WithheldGroup>,
}

/// Everything a publication fixes.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PublishedState {
    /// The publication.
    pub publication: Publication,
    /// The member list it was computed with (groups depend on it).
    pub members: Vec<Member>,
    /// The members with figures for the year, the index base of the lists
    /// below.
    pub member_ids: Vec<String>,
    /// Per built-in dimension, each member's group (aligned with
    /// `member_ids`).
    pub groups: BTreeMap<String, Vec<Option<String>>>,
    /// Per key figure, the values and disclosed groups.
    pub figures: Vec<PublishedFigure>,
}

/// The first release of a custom group in a publication.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CustomDisclosure {
    /// The publication it was disclosed in.
    pub publication: String,
    /// The custom group.
    pub group_id: String,
    /// Its members with figures for the year in that publication.
    pub member_ids: Vec<String>,
    /// The key figures it was disclosed for (all figures whose audit passed;
    /// a group is refused when any figure would disclose).
    pub figures: Vec<String>,
}

/// What an entry records.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum LedgerRecord {
    /// A publication.
    Publication(Box<PublishedState>),
    /// A custom group's release.
    CustomGroup(CustomDisclosure),
}

/// A ledger entry read for its publication only (every other field is
/// skipped while parsing, not kept).
#[derive(Deserialize)]
struct EntryHead {
    record: RecordHead,
}

#[derive(Deserialize)]
struct RecordHead {
    /// A publication's head, or the publication id a custom group's
    /// release names.
    publication: Option<PublicationField>,
}

#[derive(Deserialize)]
#[serde(untagged)]
enum PublicationField {
    Publication(Box<Publication>),
    Id(#[allow(dead_code)] String),
}

/// A publication entry read for its mask.
#[derive(Deserialize)]
struct MaskEntry {
    record: PublishedMask,
}

/// What a publication fixes besides its members' values and groups: the
/// publication, its member list and per key figure the disclosed and
/// withheld groups.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct PublishedMask {
    /// The publication.
    pub publication: Publication,
    /// The member list it was computed with.
    pub members: Vec<Member>,
    /// Per key figure, the disclosed and withheld groups.
    pub figures: Vec<FigureMask>,
    /// The members with figures (the index base of `types`).
    #[serde(default)]
    pub member_ids: Vec<String>,
    /// Each member's structural type as published: a view checks that
    /// the types it computes are these (a type is found among the whole
    /// year's members, and settings or the register may have changed).
    #[serde(default, rename = "groups")]
    pub types: StructureTypes,
}

/// The `structure_type` entry of a publication's groups, read without the
/// other dimensions'.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct StructureTypes(pub Vec<Option<String>>);

impl<'de> Deserialize<'de> for StructureTypes {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        struct Visit;
        impl<'de> serde::de::Visitor<'de> for Visit {
            type Value = StructureTypes;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("a map of dimensions to groups")
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(
                self,
                mut map: A,
            ) -> std::result::Result<StructureTypes, A::Error> {
                let mut out = StructureTypes::default();
                while let Some(key) = map.next_key::<String>()? {
                    if key == "structure_type" {
                        out.0 = map.next_value()?;
                    } else {
                        map.next_value::<serde::de::IgnoredAny>()?;
                    }
                }
                Ok(out)
            }
        }
        d.deserialize_map(Visit)
    }
}

/// The disclosed and withheld groups of one key figure of a publication.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct FigureMask {
    /// Key figure id.
    pub figure: String,
    /// The groups disclosed: (dimension, group).
    #[serde(alias = "released")]
    pub disclosed: Vec<(String, String)>,
    /// The groups withheld, with reasons.
    pub withheld: Vec<WithheldGroup>,
}

/// One entry of a (domain, year)'s ledger.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LedgerEntry {
    /// Its number in the year's ledger, from 1.
    pub seq: u64,
    /// When it was recorded (RFC 3339, UTC).
    pub recorded_at: String,
    /// What it records.
    pub record: LedgerRecord,
}

/// Why an entry could not be appended.
#[derive(Debug)]
pub enum Append {
    /// Written.
    Done,
    /// Another writer took the number first: read the new entries, check
    /// again, and try the next number.
    Taken,
}

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> StoreError + '_ {
    move |source| StoreError::Io {
        path: path.to_path_buf(),
        source,
    }
}

/// Where a store reads ledger entries from (see the module's description).
pub(crate) fn local_root(root: &Path, lake: &LakeLocation) -> Result<PathBuf> {
    match &lake.url {
        Some(url) if url.scheme() != "file" => Ok(root.join("cache").join(DIR)),
        _ => {
            let state = lake.table_url(root, "_state")?;
            let dir = state.to_file_path().map_err(|_| {
                StoreError::Invalid(format!("{state} is not a directory on this machine"))
            })?;
            Ok(dir.join(DIR))
        }
    }
}

/// An entry's object below the state's root (`ledger/<domain>/<year>/<name>`).
fn object(domain: &str, year: i32, name: &str) -> object_store::path::Path {
    object_store::path::Path::from(format!("{DIR}/{domain}/{year}/{name}"))
}

impl Store {
    /// Whether ledger entries are cached from object storage rather than
    /// read where they are written.
    fn ledger_cached(&self) -> bool {
        self.lake.url.as_ref().is_some_and(|u| u.scheme() != "file")
    }

    /// Copies the ledger entries written since the last call (by any
    /// replica) from object storage into the local cache. Nothing to do
    /// for a lake on the local disk. Returns how many it copied.
    pub async fn sync_ledgers(&self) -> Result<usize> {
        if !self.ledger_cached() {
            return Ok(0);
        }
        let mut copied = 0;
        for d in &self.catalog.domains {
            let prefix = object_store::path::Path::from(format!("{DIR}/{}", d.id));
            let listed: Vec<object_store::ObjectMeta> = self
                .state
                .objects
                .list(Some(&prefix))
                .try_collect()
                .await
                .map_err(crate::state::object_err)?;
            for m in listed {
                let Some(rel) = m.location.as_ref().strip_prefix(&format!("{DIR}/")) else {
                    continue;
                };
                // Names are `<domain>/<year>/<seq>.json` or `.head.json`;
                // anything else (a staging file) is not copied.
                let parts: Vec<&str> = rel.split('/').collect();
                let [_, year, name] = parts.as_slice() else {
                    continue;
                };
                if year.parse::<i32>().is_err() || !name.ends_with(".json") || name.starts_with('.')
                {
                    continue;
                }
                let local = self.ledger_root.join(rel);
                if local.exists() {
                    continue;
                }
                if let Some(bytes) = self.state.get(&m.location).await? {
                    if let Some(dir) = local.parent() {
                        std::fs::create_dir_all(dir).map_err(io(dir))?;
                    }
                    crate::files::write_atomic(&local, &bytes)?;
                    copied += 1;
                }
            }
        }
        Ok(copied)
    }

    fn ledger_dir(&self, domain: &str, year: i32) -> Result<PathBuf> {
        if self.catalog.domain(domain).is_none() {
            return Err(StoreError::Invalid(format!("unknown domain {domain}")));
        }
        Ok(self.ledger_root.join(domain).join(year.to_string()))
    }

    /// The years of a domain that have a ledger, ascending.
    pub fn ledger_years(&self, domain: &str) -> Result<Vec<i32>> {
        let dir = self.ledger_root.join(domain);
        let Ok(list) = std::fs::read_dir(&dir) else {
            return Ok(Vec::new());
        };
        let mut years: Vec<i32> = list
            .filter_map(|e| e.ok())
            .filter_map(|e| e.file_name().to_str().and_then(|n| n.parse().ok()))
            .collect();
        years.sort_unstable();
        Ok(years)
    }

    /// The highest entry number of a (domain, year)'s ledger (0: empty).
    /// Reads only the directory.
    pub fn ledger_len(&self, domain: &str, year: i32) -> Result<u64> {
        let dir = self.ledger_dir(domain, year)?;
        let Ok(list) = std::fs::read_dir(&dir) else {
            return Ok(0);
        };
        Ok(list
            .filter_map(|e| e.ok())
            .filter_map(|e| {
                e.file_name()
                    .to_str()
                    .and_then(|n| n.strip_suffix(".json"))
                    .and_then(|n| n.parse::<u64>().ok())
            })
            .max()
            .unwrap_or(0))
    }

    /// The entries of a (domain, year)'s ledger numbered `from..=to`.
    pub fn ledger_entries(
        &self,
        domain: &str,
        year: i32,
        from: u64,
        to: u64,
    ) -> Result<Vec<LedgerEntry>> {
        self.read_ledger(domain, year, from, to)
    }

    /// The publications among the entries numbered `from..=to`, without
    /// their members' values: what picking the publication of a request
    /// needs. (At national scale an entry is megabytes; its head is
    /// parsed without keeping the rest.)
    ///
    /// Each head is kept beside its entry (`<seq>.head.json`, written with
    /// the entry), so that a server starting at national scale does not
    /// parse gigabytes of entries to pick its publications; an entry
    /// without one (a ledger written before, or a writer that stopped in
    /// between) is parsed and its head written for the next reader.
    pub fn ledger_heads(
        &self,
        domain: &str,
        year: i32,
        from: u64,
        to: u64,
    ) -> Result<Vec<(u64, Publication)>> {
        let dir = self.ledger_dir(domain, year)?;
        let mut out = Vec::new();
        for seq in from.max(1)..=to {
            let side = head_path(&dir, seq);
            let head: Option<Publication> = match crate::files::read_json(&side) {
                Ok(h) => h,
                Err(_) => {
                    let head = self
                        .read_ledger::<EntryHead>(domain, year, seq, seq)?
                        .into_iter()
                        .next()
                        .and_then(|e| match e.record.publication {
                            Some(PublicationField::Publication(p)) => Some(*p),
                            _ => None,
                        });
                    // Best effort: a reader that cannot write (a read-only
                    // copy) parses the entry again next time.
                    let _ = crate::files::write_json_atomic(&side, &head);
                    head
                }
            };
            out.extend(head.map(|p| (seq, p)));
        }
        Ok(out)
    }

    /// What the publication of entry `seq` discloses and withholds, with
    /// its member list, without its members' values; `None` if the entry
    /// is not a publication.
    pub fn ledger_mask(&self, domain: &str, year: i32, seq: u64) -> Result<Option<PublishedMask>> {
        // Whether it is a publication, from the head beside it: the entry
        // itself (megabytes at national scale) is parsed once, below.
        if self.ledger_heads(domain, year, seq, seq)?.is_empty() {
            return Ok(None);
        }
        Ok(self
            .read_ledger::<MaskEntry>(domain, year, seq, seq)?
            .into_iter()
            .next()
            .map(|e| e.record))
    }

    fn read_ledger<T: serde::de::DeserializeOwned>(
        &self,
        domain: &str,
        year: i32,
        from: u64,
        to: u64,
    ) -> Result<Vec<T>> {
        let dir = self.ledger_dir(domain, year)?;
        let mut out = Vec::new();
        for seq in from.max(1)..=to {
            let path = dir.join(format!("{seq:08}.json"));
            let bytes = std::fs::read(&path).map_err(io(&path))?;
            let entry: T = serde_json::from_slice(&bytes).map_err(|source| StoreError::Json {
                path: path.clone(),
                source,
            })?;
            out.push(entry);
        }
        Ok(out)
    }

    /// Appends an entry at its number if that number is still free, for
    /// every process on the lake.
    pub async fn append_ledger(
        &self,
        domain: &str,
        year: i32,
        entry: &LedgerEntry,
    ) -> Result<Append> {
        let dir = self.ledger_dir(domain, year)?;
        let name = format!("{:08}.json", entry.seq);
        let path = dir.join(&name);
        if path.exists() {
            return Ok(Append::Taken);
        }
        let bytes = serde_json::to_vec(entry).map_err(|source| StoreError::Json {
            path: path.clone(),
            source,
        })?;
        let written = self
            .state
            .put_if_absent(&object(domain, year, &name), bytes.clone().into())
            .await?;
        if !written {
            return Ok(Append::Taken);
        }
        // The head beside the entry; if this fails (or the process stops
        // first), readers parse the entry instead.
        let head = match &entry.record {
            LedgerRecord::Publication(p) => Some(&p.publication),
            LedgerRecord::CustomGroup(_) => None,
        };
        let head_name = format!("{:08}.head.json", entry.seq);
        if let Ok(head_bytes) = serde_json::to_vec(&head) {
            let _ = self
                .state
                .put_if_absent(&object(domain, year, &head_name), head_bytes.into())
                .await;
        }
        if self.ledger_cached() {
            std::fs::create_dir_all(&dir).map_err(io(&dir))?;
            crate::files::write_atomic(&path, &bytes)?;
            let _ = crate::files::write_json_atomic(&head_path(&dir, entry.seq), &head);
        }
        Ok(Append::Done)
    }
}

/// Where the head of entry `seq` is kept: a name that `ledger_len` does not
/// count (it is no number before `.json`).
fn head_path(dir: &Path, seq: u64) -> PathBuf {
    dir.join(format!("{seq:08}.head.json"))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    /// A ledger written before "release" was kept for frozen years still
    /// reads: the disclosed groups of a figure were called `released`.
    #[test]
    fn figures_of_older_ledgers_read() {
        let old =
            r#"{"figure": "f", "values": [1, null], "released": [["all", "all"]], "withheld": []}"#;
        let f: PublishedFigure = serde_json::from_str(old).unwrap();
        assert_eq!(f.disclosed, vec![("all".to_string(), "all".to_string())]);
        let new = serde_json::to_value(&f).unwrap();
        assert!(new.get("disclosed").is_some() && new.get("released").is_none());
    }

    fn publication_entry(seq: u64) -> LedgerEntry {
        LedgerEntry {
            seq,
            recorded_at: "2026-11-30T00:00:00Z".into(),
            record: LedgerRecord::Publication(Box::new(PublishedState {
                publication: Publication {
                    id: format!("library-2024-p{seq}"),
                    domain: "library".into(),
                    year: 2024,
                    data_version: "3".into(),
                    published_at: "2026-11-30T00:00:00Z".into(),
                    published_by: "auto".into(),
                    trigger: "auto".into(),
                    changed_members: 2,
                    suppressed_by_audit: 0,
                    disclosure: serde_json::json!({"threshold": 5}),
                },
                members: Vec::new(),
                member_ids: vec!["05315000".into(), "05111000".into()],
                groups: BTreeMap::new(),
                figures: vec![PublishedFigure {
                    figure: "loans_per_capita".into(),
                    values: vec![Some(1), None],
                    disclosed: vec![("all".into(), "all".into())],
                    withheld: Vec::new(),
                }],
            })),
        }
    }

    /// The heads kept beside the entries are what parsing the entries
    /// gives; without them (an older ledger) the entries are parsed and
    /// the heads written; a custom group's release has none.
    #[tokio::test]
    async fn heads_beside_the_entries_equal_the_parsed_ones() {
        let dir = tempfile::tempdir().unwrap();
        Store::init(dir.path()).unwrap();
        let store = Store::open(dir.path()).await.unwrap();
        store
            .append_ledger("library", 2024, &publication_entry(1))
            .await
            .unwrap();
        let custom = LedgerEntry {
            seq: 2,
            recorded_at: "2026-11-30T00:00:01Z".into(),
            record: LedgerRecord::CustomGroup(CustomDisclosure {
                publication: "library-2024-p1".into(),
                group_id: "g".into(),
                member_ids: vec!["05315000".into()],
                figures: vec!["loans_per_capita".into()],
            }),
        };
        store.append_ledger("library", 2024, &custom).await.unwrap();
        assert!(matches!(
            store.append_ledger("library", 2024, &custom).await.unwrap(),
            Append::Taken
        ));
        store
            .append_ledger("library", 2024, &publication_entry(3))
            .await
            .unwrap();
        assert_eq!(store.ledger_len("library", 2024).unwrap(), 3);
        let kept = store.ledger_heads("library", 2024, 1, 3).unwrap();
        let ids: Vec<(u64, &str)> = kept.iter().map(|(s, p)| (*s, p.id.as_str())).collect();
        assert_eq!(ids, vec![(1, "library-2024-p1"), (3, "library-2024-p3")]);
        let ledger = dir
            .path()
            .join("lake/_state/ledger")
            .join("library")
            .join("2024");
        for seq in 1..=3 {
            std::fs::remove_file(head_path(&ledger, seq)).unwrap();
        }
        assert_eq!(store.ledger_heads("library", 2024, 1, 3).unwrap(), kept);
        assert!(head_path(&ledger, 2).exists(), "the head is written again");
        let mask = store.ledger_mask("library", 2024, 3).unwrap().unwrap();
        assert_eq!(mask.publication, kept[1].1);
        assert_eq!(
            mask.figures[0].disclosed,
            vec![("all".to_string(), "all".to_string())]
        );
        assert!(store.ledger_mask("library", 2024, 2).unwrap().is_none());
    }
}
