//! Moving a data directory of the file-based layout into the lake:
//! `members.json`, `tokens.json`, `grants.json`, `groups.json`,
//! `explanations.json`, `data-releases.json` with `releases/<id>/`,
//! `ledger/`, `uploads/` and `access.log` become the state log, objects
//! beside it and the access log's table (`vergleichsring migrate`).
//!
//! Idempotent: objects are put if absent, the access log is written only
//! into a table that has none yet, and the state is one change of the log
//! that is written only if no migration is recorded. A migration stopped
//! half-way is run again to its end. The files are left where they are (a
//! backup of the old layout); nothing reads them afterwards.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use crate::files::read_json;
use crate::state::{Change, StateLog};
use crate::{
    AccessEntry, CustomGroup, DataRelease, Explanation, LakeLocation, Member, Result, StoreError,
    TokenRecord,
};

/// The files of the file-based layout, in the order they are reported.
const LEGACY: [&str; 9] = [
    "members.json",
    "tokens.json",
    "grants.json",
    "groups.json",
    "explanations.json",
    "data-releases.json",
    "access.log",
    "ledger",
    "uploads",
];

/// The first file of the file-based layout in a data directory, if any.
pub(crate) fn legacy_file(root: &Path) -> Option<&'static str> {
    LEGACY.into_iter().find(|f| root.join(f).exists())
}

/// What a migration moved.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct Migrated {
    /// The directory was migrated before; nothing was written.
    pub already: bool,
    /// Members.
    pub members: usize,
    /// Tokens (revoked ones included).
    pub tokens: usize,
    /// Grants (consultant, member).
    pub grants: usize,
    /// Custom groups.
    pub groups: usize,
    /// Explanations.
    pub explanations: usize,
    /// Data releases.
    pub releases: usize,
    /// Ledger entries and their heads.
    pub ledger_objects: usize,
    /// Archived uploads.
    pub uploads: usize,
    /// Lines of the access log.
    pub access_entries: usize,
}

fn read_or_default<T: serde::de::DeserializeOwned + Default>(path: &Path) -> Result<T> {
    if path.exists() {
        read_json(path)
    } else {
        Ok(T::default())
    }
}

/// Every file below `dir`, as paths relative to it with `/` between parts.
fn files_below(dir: &Path) -> Result<Vec<String>> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        let Ok(list) = std::fs::read_dir(&d) else {
            continue;
        };
        for e in list.filter_map(|e| e.ok()) {
            let path = e.path();
            if path.is_dir() {
                stack.push(path);
            } else if let Ok(rel) = path.strip_prefix(dir) {
                let name = e.file_name();
                // Temporary files of interrupted writes are not state.
                if name.to_string_lossy().starts_with('.') {
                    continue;
                }
                out.push(
                    rel.components()
                        .map(|c| c.as_os_str().to_string_lossy().into_owned())
                        .collect::<Vec<_>>()
                        .join("/"),
                );
            }
        }
    }
    out.sort();
    Ok(out)
}

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> StoreError + '_ {
    move |source| StoreError::Io {
        path: path.to_path_buf(),
        source,
    }
}

impl crate::Store {
    /// Moves the files of a data directory of the file-based layout into
    /// its lake (see the module's description).
    pub async fn migrate(root: &Path, lake: &LakeLocation) -> Result<Migrated> {
        if !root.join("catalog").exists() {
            return Err(crate::not_a_data_directory(root));
        }
        let log = StateLog::open(crate::state::objects(root, lake).await?).await?;
        if log.view().migrated.is_some() {
            return Ok(Migrated {
                already: true,
                ..Migrated::default()
            });
        }
        let mut done = Migrated::default();
        // Objects first, each put if absent: the state that refers to them
        // is written last.
        (done.ledger_objects, done.uploads) = copy_objects(root, &log).await?;
        let releases: Vec<DataRelease> = read_or_default(&root.join("data-releases.json"))?;
        for r in &releases {
            let path = root.join("releases").join(&r.id).join("members.json");
            let bytes = std::fs::read(&path).map_err(io(&path))?;
            log.put_if_absent(&crate::releases::members_object(&r.id), bytes.into())
                .await?;
        }
        done.access_entries = migrate_access_log(root, lake).await?;

        let members: Vec<Member> = read_or_default(&root.join("members.json"))?;
        let tokens: Vec<TokenRecord> = read_or_default(&root.join("tokens.json"))?;
        let grants: BTreeMap<String, BTreeSet<String>> =
            read_or_default(&root.join("grants.json"))?;
        let groups: Vec<CustomGroup> = read_or_default(&root.join("groups.json"))?;
        let explanations: Vec<Explanation> = read_or_default(&root.join("explanations.json"))?;
        done.members = members.len();
        done.tokens = tokens.len();
        done.grants = grants.values().map(BTreeSet::len).sum();
        done.groups = groups.len();
        done.explanations = explanations.len();
        done.releases = releases.len();

        let changes = state_changes(
            root,
            members,
            tokens,
            grants,
            groups,
            explanations,
            releases,
        );
        let wrote = log
            .commit("migrate", |view| {
                if view.migrated.is_some() {
                    return Ok((Vec::new(), false));
                }
                Ok((changes.clone(), true))
            })
            .await?;
        if !wrote {
            return Ok(Migrated {
                already: true,
                ..Migrated::default()
            });
        }
        Ok(done)
    }
}

/// Copies the ledger's and the archived uploads' files into the lake, each
/// put if absent; how many of each.
async fn copy_objects(root: &Path, log: &StateLog) -> Result<(usize, usize)> {
    let mut counts = (0, 0);
    for (dir, prefix) in [("ledger", "ledger"), ("uploads", "uploads")] {
        for rel in files_below(&root.join(dir))? {
            let path = root.join(dir).join(&rel);
            let bytes = std::fs::read(&path).map_err(io(&path))?;
            log.put_if_absent(
                &object_store::path::Path::from(format!("{prefix}/{rel}")),
                bytes.into(),
            )
            .await?;
            match dir {
                "ledger" => counts.0 += 1,
                _ => counts.1 += 1,
            }
        }
    }
    Ok(counts)
}

/// The one event of a migration: everything the files held, and the mark
/// that the directory was migrated.
fn state_changes(
    root: &Path,
    members: Vec<Member>,
    tokens: Vec<TokenRecord>,
    grants: BTreeMap<String, BTreeSet<String>>,
    groups: Vec<CustomGroup>,
    explanations: Vec<Explanation>,
    releases: Vec<DataRelease>,
) -> Vec<Change> {
    let mut changes = vec![Change::Members { members }];
    changes.extend(tokens.into_iter().map(|record| Change::Token { record }));
    changes.extend(
        grants
            .into_iter()
            .map(|(consultant_id, set)| Change::Granted {
                consultant_id,
                member_ids: set.into_iter().collect(),
            }),
    );
    changes.extend(groups.into_iter().map(|group| Change::Group { group }));
    changes.push(Change::Explanations { explanations });
    changes.extend(
        releases
            .into_iter()
            .map(|release| Change::Released { release }),
    );
    changes.push(Change::Migrated {
        from: root.display().to_string(),
        files: LEGACY
            .iter()
            .filter(|f| root.join(f).exists())
            .map(|f| f.to_string())
            .collect(),
    });
    changes
}

/// Writes `access.log` into the access log's table, unless the table has
/// commits already (a migration that stopped after writing it).
async fn migrate_access_log(root: &Path, lake: &LakeLocation) -> Result<usize> {
    let path = root.join("access.log");
    let text = match std::fs::read_to_string(&path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(0),
        Err(source) => return Err(StoreError::Io { path, source }),
    };
    let entries: Vec<AccessEntry> = text
        .lines()
        .filter_map(|l| serde_json::from_str(l).ok())
        .collect();
    let table = crate::lake::open_table(root, lake, crate::registry::ACCESS_TABLE).await?;
    if entries.is_empty() || table.version().is_some() {
        return Ok(entries.len());
    }
    crate::registry::write_access(table, &entries).await?;
    Ok(entries.len())
}
