//! Small registries in the state log (`state.rs`): consultants' grants,
//! custom peer groups and explanations of warnings; and the access log, a
//! Delta table beside the figures (`<lake>/_access_log`) that outside tools
//! can query. Releases of custom groups are entries of the release ledger
//! (`ledger.rs`).

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use deltalake::arrow::array::{Array, ArrayRef, Int32Array, RecordBatch, StringArray};
use deltalake::arrow::datatypes::{DataType, Field, Schema};
use serde::{Deserialize, Serialize};

use crate::state::Change;
use crate::{Result, Store, StoreError};

/// The access log's table, beside the domains' tables in the lake.
pub(crate) const ACCESS_TABLE: &str = "_access_log";

/// A member's explanation of a warning stored with its submission.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Explanation {
    /// The submission.
    pub submission_id: String,
    /// The member whose row the warning is on.
    pub member_id: String,
    /// The warning's rule id.
    pub rule: String,
    /// The explanation, e.g. "Neubau der Zentralbibliothek, 3 Monate geschlossen".
    pub text: String,
    /// Token id of the author.
    pub explained_by: String,
    /// When (RFC 3339).
    pub explained_at: String,
}

/// A custom peer group: a named list of members.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CustomGroup {
    /// Id, usable as `group_by`.
    pub id: String,
    /// Name.
    pub name: String,
    /// Member ids.
    pub member_ids: Vec<String>,
}

/// One line of the access log.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct AccessEntry {
    /// When (RFC 3339).
    pub at: String,
    /// Token id of the reader.
    pub token_id: String,
    /// Its role.
    pub role: String,
    /// What was read, e.g. `figures`, `comparison`, `timeseries`.
    pub action: String,
    /// Whose data.
    pub member_id: String,
    /// Domain, where one applies.
    pub domain: Option<String>,
    /// Year, where one applies.
    pub year: Option<i32>,
}

/// Reads not yet written to the access log's table: a read appends here,
/// and `Store::flush_access_log` writes what gathered as one commit.
#[derive(Default)]
pub(crate) struct AccessBuffer {
    pending: std::sync::Mutex<Vec<AccessEntry>>,
    /// The table's handle, kept between flushes (one flush at a time, so
    /// entries land in the order they were read).
    table: tokio::sync::Mutex<Option<deltalake::DeltaTable>>,
}

/// Appends entries to the access log's table as one commit. A handle
/// behind other replicas' appends is fine: an append commits on top of
/// whatever was appended meanwhile.
pub(crate) async fn write_access(
    table: deltalake::DeltaTable,
    entries: &[AccessEntry],
) -> Result<deltalake::DeltaTable> {
    Ok(table
        .write(vec![access_batch(entries)?])
        .with_save_mode(deltalake::protocol::SaveMode::Append)
        .await?)
}

/// The Arrow schema of the access log's table.
fn access_schema() -> Schema {
    let text = |name: &str, nullable: bool| Field::new(name, DataType::Utf8, nullable);
    Schema::new(vec![
        text("at", false),
        text("token_id", false),
        text("role", false),
        text("action", false),
        text("member_id", false),
        text("domain", true),
        Field::new("year", DataType::Int32, true),
    ])
}

fn access_batch(entries: &[AccessEntry]) -> Result<RecordBatch> {
    let strings = |f: &dyn Fn(&AccessEntry) -> Option<&str>| -> ArrayRef {
        Arc::new(entries.iter().map(f).collect::<StringArray>())
    };
    let columns: Vec<ArrayRef> = vec![
        strings(&|e| Some(e.at.as_str())),
        strings(&|e| Some(e.token_id.as_str())),
        strings(&|e| Some(e.role.as_str())),
        strings(&|e| Some(e.action.as_str())),
        strings(&|e| Some(e.member_id.as_str())),
        strings(&|e| e.domain.as_deref()),
        Arc::new(entries.iter().map(|e| e.year).collect::<Int32Array>()),
    ];
    Ok(RecordBatch::try_new(Arc::new(access_schema()), columns)?)
}

fn access_entries(batch: &RecordBatch, out: &mut Vec<AccessEntry>) -> Result<()> {
    // DataFusion reads text as string views; one cast back per column.
    let cast = |name: &str| -> Result<ArrayRef> {
        let column = batch
            .column_by_name(name)
            .ok_or_else(|| StoreError::Invalid(format!("access log: no column {name}")))?;
        Ok(deltalake::arrow::compute::cast(column, &DataType::Utf8)?)
    };
    let columns = [
        cast("at")?,
        cast("token_id")?,
        cast("role")?,
        cast("action")?,
        cast("member_id")?,
        cast("domain")?,
    ];
    let text = |i: usize| -> Result<&StringArray> {
        columns[i]
            .as_any()
            .downcast_ref::<StringArray>()
            .ok_or_else(|| StoreError::Invalid("access log: a text column is not text".into()))
    };
    let (at, token, role, action, member, domain) =
        (text(0)?, text(1)?, text(2)?, text(3)?, text(4)?, text(5)?);
    let year = batch
        .column_by_name("year")
        .and_then(|c| c.as_any().downcast_ref::<Int32Array>())
        .ok_or_else(|| StoreError::Invalid("access log: no column year".into()))?;
    for i in 0..batch.num_rows() {
        out.push(AccessEntry {
            at: at.value(i).to_string(),
            token_id: token.value(i).to_string(),
            role: role.value(i).to_string(),
            action: action.value(i).to_string(),
            member_id: member.value(i).to_string(),
            domain: domain.is_valid(i).then(|| domain.value(i).to_string()),
            year: year.is_valid(i).then(|| year.value(i)),
        });
    }
    Ok(())
}

impl Store {
    /// Every consultant's grants (consultant id → member ids): what a
    /// consultant legitimately knows, counted by the audit (rule 13).
    pub fn all_grants(&self) -> BTreeMap<String, BTreeSet<String>> {
        self.state
            .view()
            .grants
            .iter()
            .map(|(c, m)| (c.clone(), m.clone()))
            .collect()
    }

    /// The members that granted a consultant access.
    pub fn grants_of(&self, consultant_id: &str) -> BTreeSet<String> {
        self.state.view().grants_of(consultant_id)
    }

    /// A member grants a consultant access to its reports.
    pub async fn grant(&self, member_id: &str, consultant_id: &str) -> Result<()> {
        if consultant_id.trim().is_empty() {
            return Err(StoreError::Invalid(
                "consultant_id must not be empty".into(),
            ));
        }
        self.state
            .commit(member_id, |view| {
                let has = view.has_grant(consultant_id, member_id);
                let changes = if has {
                    Vec::new()
                } else {
                    vec![Change::Granted {
                        consultant_id: consultant_id.to_string(),
                        member_ids: vec![member_id.to_string()],
                    }]
                };
                Ok((changes, ()))
            })
            .await
    }

    /// A member revokes a consultant's access; `false` if there was none.
    pub async fn revoke_grant(&self, member_id: &str, consultant_id: &str) -> Result<bool> {
        self.state
            .commit(member_id, |view| {
                let has = view.has_grant(consultant_id, member_id);
                let changes = if has {
                    vec![Change::GrantRevoked {
                        consultant_id: consultant_id.to_string(),
                        member_id: member_id.to_string(),
                    }]
                } else {
                    Vec::new()
                };
                Ok((changes, has))
            })
            .await
    }

    /// The custom groups.
    pub fn groups(&self) -> Vec<CustomGroup> {
        self.state.view().groups.as_ref().clone()
    }

    /// Stores a new custom group; an existing id is a conflict, also when
    /// another replica defined it a moment before.
    pub async fn add_group(&self, group: CustomGroup) -> Result<CustomGroup> {
        self.state
            .commit("analyst", |view| {
                if view.groups.iter().any(|g| g.id == group.id) {
                    return Err(StoreError::Conflict(format!(
                        "a group with id '{}' exists; groups are immutable so that published statistics stay reproducible",
                        group.id
                    )));
                }
                Ok((
                    vec![Change::Group {
                        group: group.clone(),
                    }],
                    group.clone(),
                ))
            })
            .await
    }

    /// Every explanation, oldest first.
    pub fn explanations(&self) -> Vec<Explanation> {
        self.state.view().explanations.as_ref().clone()
    }

    /// The explanations, shared: no copy per request.
    pub fn explanations_shared(&self) -> std::sync::Arc<Vec<Explanation>> {
        self.state.view().explanations.clone()
    }

    /// Stores explanations; a later one for the same warning replaces the
    /// earlier one in what is read (both stay in the state log).
    pub async fn add_explanations(&self, new: Vec<Explanation>) -> Result<Vec<Explanation>> {
        let by = new
            .first()
            .map_or_else(String::new, |e| e.explained_by.clone());
        self.state
            .commit(&by, |_| {
                Ok((
                    vec![Change::Explanations {
                        explanations: new.clone(),
                    }],
                    (),
                ))
            })
            .await?;
        Ok(new)
    }

    /// Notes a read for the access log. It reaches the log's table with
    /// the next [`Store::flush_access_log`] (`serve` flushes every
    /// `lake.refresh_millis`, at most every second, and when it stops).
    pub fn log_access(&self, entry: &AccessEntry) -> Result<()> {
        self.access
            .pending
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push(entry.clone());
        Ok(())
    }

    /// Writes the reads noted since the last flush to the access log's
    /// table, as one commit. Replicas append side by side: Delta lets
    /// appends commit concurrently. On failure the entries are kept for
    /// the next flush.
    pub async fn flush_access_log(&self) -> Result<usize> {
        let mut table = self.access.table.lock().await;
        let entries: Vec<AccessEntry> = std::mem::take(
            &mut *self
                .access
                .pending
                .lock()
                .unwrap_or_else(|e| e.into_inner()),
        );
        if entries.is_empty() {
            return Ok(0);
        }
        let n = entries.len();
        let written = self.append_access(&mut table, &entries).await;
        if let Err(e) = written {
            let mut pending = self
                .access
                .pending
                .lock()
                .unwrap_or_else(|e| e.into_inner());
            let later = std::mem::take(&mut *pending);
            *pending = entries;
            pending.extend(later);
            return Err(e);
        }
        Ok(n)
    }

    /// Appends entries to the access log's table (creating it on first use).
    pub(crate) async fn append_access(
        &self,
        handle: &mut Option<deltalake::DeltaTable>,
        entries: &[AccessEntry],
    ) -> Result<()> {
        let table = match handle.take() {
            Some(t) => t,
            None => crate::lake::open_table(&self.root, &self.lake, ACCESS_TABLE).await?,
        };
        *handle = Some(write_access(table, entries).await?);
        Ok(())
    }

    /// The access log, oldest first (this process's unwritten reads are
    /// written first).
    pub async fn access_log(&self) -> Result<Vec<AccessEntry>> {
        self.flush_access_log().await?;
        let table = crate::lake::open_table(&self.root, &self.lake, ACCESS_TABLE).await?;
        if table.version().is_none() {
            return Ok(Vec::new());
        }
        let ctx = deltalake::datafusion::prelude::SessionContext::new();
        let failed = |e: deltalake::datafusion::error::DataFusionError| {
            StoreError::Invalid(format!("access log: {e}"))
        };
        ctx.register_table("access_log", table.table_provider().await.map_err(failed)?)
            .map_err(failed)?;
        let batches = ctx
            .sql("SELECT * FROM access_log ORDER BY at")
            .await
            .map_err(failed)?
            .collect()
            .await
            .map_err(failed)?;
        let mut out = Vec::new();
        for b in &batches {
            access_entries(b, &mut out)?;
        }
        Ok(out)
    }
}
