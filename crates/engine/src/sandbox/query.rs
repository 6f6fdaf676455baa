//! SQL for analysts: one query statement over the table `comparisons`, which
//! holds only statistics that passed disclosure control for the analyst
//! audience. The session knows no other table, no files and no functions
//! that read files; DDL, DML and other statements are refused before
//! planning; time and memory are bounded.
//!
//! DataFusion's memory pool accounts for operators, not for what a scalar
//! function allocates (`repeat('x', 3000000000)`, a chain of `||`), and a
//! join without an equality condition multiplies rows. So the query is
//! also checked before it runs: functions from an allow-list only (none
//! that makes its output longer than its input), no string concatenation,
//! no table functions (`generate_series`, `range`, `unnest`), no cross or
//! nested-loop joins, and at most `MAX_SQL_BYTES` of text.

use std::ops::ControlFlow;
use std::sync::Arc;
use std::time::Duration;

use arrow::array::RecordBatch;
use arrow::datatypes::SchemaRef;
use datafusion::execution::runtime_env::RuntimeEnvBuilder;
use datafusion::physical_plan::ExecutionPlan;
use datafusion::prelude::{SessionConfig, SessionContext};
use datafusion::sql::parser::{DFParser, Statement as DfStatement};
use datafusion::sql::sqlparser::ast::{
    BinaryOperator, Expr, Statement, TableFactor, Visit, Visitor,
};

use crate::error::EngineError;

/// Memory one analyst query may use.
pub const QUERY_MEMORY: usize = 256 * 1024 * 1024;
/// Time one analyst query may take.
pub const QUERY_TIMEOUT: Duration = Duration::from_secs(10);
/// Rows one answer may hold.
pub const MAX_ROWS: usize = 100_000;
/// Length of one query's text.
pub const MAX_SQL_BYTES: usize = 20_000;

/// The functions a query may call: aggregates, window functions, and
/// scalar functions whose output is no longer than their input.
pub const ALLOWED_FUNCTIONS: &[&str] = &[
    // Aggregates.
    "count",
    "sum",
    "avg",
    "mean",
    "min",
    "max",
    "median",
    "stddev",
    "stddev_samp",
    "stddev_pop",
    "var",
    "var_samp",
    "var_pop",
    "variance",
    "variance_samp",
    "variance_pop",
    "approx_median",
    "approx_percentile_cont",
    "percentile_cont",
    "approx_distinct",
    "corr",
    "covar",
    "covar_samp",
    "covar_pop",
    "regr_slope",
    "regr_intercept",
    "regr_r2",
    "regr_count",
    "bool_and",
    "bool_or",
    "first_value",
    "last_value",
    "nth_value",
    // Window functions.
    "row_number",
    "rank",
    "dense_rank",
    "percent_rank",
    "cume_dist",
    "ntile",
    "lag",
    "lead",
    // Numbers.
    "abs",
    "round",
    "trunc",
    "floor",
    "ceil",
    "sqrt",
    "cbrt",
    "power",
    "pow",
    "exp",
    "ln",
    "log",
    "log2",
    "log10",
    "sign",
    "signum",
    "greatest",
    "least",
    "isnan",
    "iszero",
    "pi",
    "nanvl",
    // Conditions and types.
    "coalesce",
    "nullif",
    "nvl",
    "ifnull",
    "arrow_typeof",
    // Text that gets no longer.
    "lower",
    "upper",
    "length",
    "char_length",
    "character_length",
    "octet_length",
    "trim",
    "ltrim",
    "rtrim",
    "btrim",
    "substr",
    "substring",
    "left",
    "right",
    "starts_with",
    "ends_with",
    "strpos",
    "position",
    "split_part",
];

/// What a query may not contain, found by walking its syntax tree.
struct Guard;

impl Visitor for Guard {
    type Break = String;

    fn pre_visit_table_factor(&mut self, factor: &TableFactor) -> ControlFlow<String> {
        match factor {
            TableFactor::Table { args: None, .. }
            | TableFactor::Derived { .. }
            | TableFactor::NestedJoin { .. } => ControlFlow::Continue(()),
            other => ControlFlow::Break(format!(
                "'{other}' is a table function; queries read the table comparisons (and their own WITH tables) only"
            )),
        }
    }

    fn pre_visit_expr(&mut self, expr: &Expr) -> ControlFlow<String> {
        match expr {
            Expr::Function(f) => {
                let name = f
                    .name
                    .0
                    .last()
                    .map(|p| p.to_string().to_lowercase())
                    .unwrap_or_default();
                if ALLOWED_FUNCTIONS.contains(&name.trim_matches('"')) {
                    ControlFlow::Continue(())
                } else {
                    ControlFlow::Break(format!(
                        "the function {name} is not allowed in analysts' SQL; allowed are {}",
                        ALLOWED_FUNCTIONS.join(", ")
                    ))
                }
            }
            Expr::BinaryOp {
                op: BinaryOperator::StringConcat,
                ..
            } => ControlFlow::Break(
                "string concatenation (||) is not allowed in analysts' SQL".into(),
            ),
            _ => ControlFlow::Continue(()),
        }
    }
}

/// Checks that `sql` is exactly one query (SELECT, WITH, VALUES, set
/// operations) within the limits of analysts' SQL (see the module).
pub fn check_single_query(sql: &str) -> Result<(), EngineError> {
    if sql.len() > MAX_SQL_BYTES {
        return Err(EngineError::BadRequest(format!(
            "the query has {} bytes; at most {MAX_SQL_BYTES} are accepted",
            sql.len()
        )));
    }
    let statements = DFParser::parse_sql(sql)
        .map_err(|e| EngineError::BadRequest(format!("the SQL does not parse: {e}")))?;
    if statements.len() != 1 {
        return Err(EngineError::BadRequest(format!(
            "send exactly one query; found {} statements",
            statements.len()
        )));
    }
    match statements.front() {
        Some(DfStatement::Statement(s)) if matches!(**s, Statement::Query(_)) => {
            match s.visit(&mut Guard) {
                ControlFlow::Continue(()) => Ok(()),
                ControlFlow::Break(why) => Err(EngineError::BadRequest(why)),
            }
        }
        _ => Err(EngineError::BadRequest(
            "only queries (SELECT ...) are allowed; the table is read-only".into(),
        )),
    }
}

/// Refuses plans with a join that pairs every row with every row (no
/// equality condition): their size is the product of both sides.
fn check_plan(plan: &Arc<dyn ExecutionPlan>) -> Result<(), EngineError> {
    if matches!(plan.name(), "CrossJoinExec" | "NestedLoopJoinExec") {
        return Err(EngineError::BadRequest(
            "joins need an equality condition (e.g. a.figure = b.figure AND a.\"group\" = b.\"group\"); cross joins and joins on inequalities are refused".into(),
        ));
    }
    plan.children().into_iter().try_for_each(check_plan)
}

/// Runs one query against `comparisons` (the given batch) on the engine's
/// pool, within the time limit.
pub async fn run(
    sql: &str,
    comparisons: RecordBatch,
) -> Result<(SchemaRef, Vec<RecordBatch>), EngineError> {
    let sql = sql.to_string();
    // The time limit runs on the pool too, so that the query stops there
    // when it is reached.
    crate::sandbox::session::on_pool(async move {
        tokio::time::timeout(QUERY_TIMEOUT, execute(&sql, comparisons))
            .await
            .map_err(|_| too_slow())?
    })
    .await
}

/// The answer to a query that ran out of time.
pub(crate) fn too_slow() -> EngineError {
    EngineError::BadRequest(format!(
        "the query ran longer than {} s",
        QUERY_TIMEOUT.as_secs()
    ))
}

/// Checks, plans and runs one query against `comparisons`, without a time
/// limit: the caller sets one (the pool's timeout, or the worker process
/// killed by its parent).
pub async fn execute(
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
    let df = ctx.sql_with_options(sql, options).await.map_err(|e| {
        EngineError::BadRequest(format!("the query cannot be planned: {}", e.find_root()))
    })?;
    // At most one row more than an answer may have, so that collecting
    // is bounded and an oversized answer is recognised.
    let df = df.limit(0, Some(MAX_ROWS + 1))?;
    let schema: SchemaRef = Arc::new(df.schema().as_arrow().clone());
    let task = Arc::new(df.task_ctx());
    let plan = df.create_physical_plan().await.map_err(|e| {
        EngineError::BadRequest(format!("the query cannot be planned: {}", e.find_root()))
    })?;
    check_plan(&plan)?;
    let batches = datafusion::physical_plan::collect(plan, task)
        .await
        .map_err(|e| match EngineError::from(e) {
            // The memory limit is the service's (503), not the query's.
            e if e.is_resources_exhausted() => e,
            EngineError::DataFusion(e) => {
                EngineError::BadRequest(format!("the query failed: {}", e.find_root()))
            }
            e => e,
        })?;
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

    fn refusal(sql: &str) -> String {
        match check_single_query(sql) {
            Err(EngineError::BadRequest(m)) => m,
            other => panic!("{sql}: expected a refusal, got {other:?}"),
        }
    }

    #[test]
    fn generators_and_growing_functions_are_refused_before_planning() {
        for (sql, names) in [
            (
                "SELECT cardinality(generate_series(1, 500000000))",
                "cardinality",
            ),
            ("SELECT repeat('x', 3000000000)", "repeat"),
            ("SELECT lpad('x', 2000000000, 'y')", "lpad"),
            (
                "SELECT * FROM generate_series(1, 1000000000)",
                "generate_series",
            ),
            ("SELECT * FROM range(1000000000)", "range"),
            ("SELECT * FROM unnest([1, 2])", "unnest"),
            ("SELECT \"group\" || \"group\" FROM comparisons", "||"),
            (
                "SELECT concat(\"group\", \"group\") FROM comparisons",
                "concat",
            ),
        ] {
            let m = refusal(sql);
            assert!(m.to_lowercase().contains(names), "{sql}: {m}");
        }
        assert!(refusal(&format!("SELECT 1 {}", " ".repeat(MAX_SQL_BYTES))).contains("bytes"));
        // What analysts need passes.
        for ok in [
            "SELECT figure, median, round(p75 - p25, 2) AS iqr FROM comparisons WHERE year = 2024",
            "SELECT year, count(*), avg(median) FROM comparisons GROUP BY year ORDER BY year",
            "WITH a AS (SELECT * FROM comparisons) SELECT lower(\"group\"), rank() OVER (ORDER BY median) FROM a",
            "SELECT a.median - b.median FROM comparisons a JOIN comparisons b ON a.figure = b.figure AND a.\"group\" = b.\"group\" AND a.year = b.year + 1",
        ] {
            assert!(
                check_single_query(ok).is_ok(),
                "{ok}: {:?}",
                check_single_query(ok)
            );
        }
    }
}
