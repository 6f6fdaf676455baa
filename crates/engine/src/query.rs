//! SQL for analysts: one query statement over the table `comparisons`, which
//! holds only statistics that passed disclosure control for the analyst
//! audience. The session knows no other table, no files and no functions
//! that read files; DDL, DML and other statements are refused before
//! planning; time and memory are bounded.

use std::sync::Arc;
use std::time::Duration;

use arrow::array::RecordBatch;
use arrow::datatypes::SchemaRef;
use datafusion::execution::runtime_env::RuntimeEnvBuilder;
use datafusion::prelude::{SessionConfig, SessionContext};
use datafusion::sql::parser::{DFParser, Statement as DfStatement};
use datafusion::sql::sqlparser::ast::Statement;

use crate::error::EngineError;

/// Memory one analyst query may use.
pub const QUERY_MEMORY: usize = 256 * 1024 * 1024;
/// Time one analyst query may take.
pub const QUERY_TIMEOUT: Duration = Duration::from_secs(10);
/// Rows one answer may hold.
pub const MAX_ROWS: usize = 100_000;

/// Checks that `sql` is exactly one query (SELECT, WITH, VALUES, set operations).
pub fn check_single_query(sql: &str) -> Result<(), EngineError> {
    let statements = DFParser::parse_sql(sql)
        .map_err(|e| EngineError::BadRequest(format!("the SQL does not parse: {e}")))?;
    if statements.len() != 1 {
        return Err(EngineError::BadRequest(format!(
            "send exactly one query; found {} statements",
            statements.len()
        )));
    }
    match statements.front() {
        Some(DfStatement::Statement(s)) if matches!(**s, Statement::Query(_)) => Ok(()),
        _ => Err(EngineError::BadRequest(
            "only queries (SELECT ...) are allowed; the table is read-only".into(),
        )),
    }
}

/// Runs one query against `comparisons` (the given batch).
pub async fn run(
    sql: &str,
    comparisons: RecordBatch,
) -> Result<(SchemaRef, Vec<RecordBatch>), EngineError> {
    check_single_query(sql)?;
    let config = SessionConfig::new().with_target_partitions(1);
    let runtime = RuntimeEnvBuilder::new()
        .with_memory_limit(QUERY_MEMORY, 1.0)
        .build_arc()?;
    let ctx = SessionContext::new_with_config_rt(config, runtime);
    ctx.register_batch("comparisons", comparisons)?;
    let options = datafusion::execution::context::SQLOptions::new()
        .with_allow_ddl(false)
        .with_allow_dml(false)
        .with_allow_statements(false);
    let sql = sql.to_string();
    let work = async move {
        let df = ctx.sql_with_options(&sql, options).await.map_err(|e| {
            EngineError::BadRequest(format!("the query cannot be planned: {}", e.find_root()))
        })?;
        // At most one row more than an answer may have, so that collecting
        // is bounded and an oversized answer is recognised.
        let df = df.limit(0, Some(MAX_ROWS + 1))?;
        let schema: SchemaRef = Arc::new(df.schema().as_arrow().clone());
        let batches = df.collect().await?;
        Ok::<_, EngineError>((schema, batches))
    };
    // The time limit runs on the pool too, so that the query stops there
    // when it is reached.
    let (schema, batches) = crate::session::on_pool(async move {
        tokio::time::timeout(QUERY_TIMEOUT, work)
            .await
            .map_err(|_| {
                EngineError::BadRequest(format!(
                    "the query ran longer than {} s",
                    QUERY_TIMEOUT.as_secs()
                ))
            })?
    })
    .await?;
    let rows: usize = batches.iter().map(|b| b.num_rows()).sum();
    if rows > MAX_ROWS {
        return Err(EngineError::BadRequest(format!(
            "the answer has more than {MAX_ROWS} rows; add a LIMIT or aggregate"
        )));
    }
    Ok((schema, batches))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_single_queries_pass() {
        assert!(check_single_query("SELECT 1").is_ok());
        assert!(check_single_query("WITH a AS (SELECT 1) SELECT * FROM a").is_ok());
        for bad in [
            "SELECT 1; SELECT 2",
            "CREATE EXTERNAL TABLE t STORED AS PARQUET LOCATION '/etc'",
            "DROP TABLE comparisons",
            "INSERT INTO comparisons VALUES (1)",
            "COPY comparisons TO '/tmp/x.csv'",
            "SET datafusion.execution.batch_size = 1",
            "EXPLAIN SELECT 1",
            "",
        ] {
            assert!(check_single_query(bad).is_err(), "{bad}");
        }
    }
}
