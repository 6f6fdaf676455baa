//! The DataFusion session used for every query: bounded memory, small batches
//! of work. The service's tables are small per domain, so one partition keeps
//! plans simple and avoids repartitioning costs on 2-core machines.

use std::sync::Arc;

use datafusion::execution::runtime_env::RuntimeEnvBuilder;
use datafusion::prelude::{SessionConfig, SessionContext};

/// Memory DataFusion may use per query before it fails with "resources
/// exhausted", unless the configuration sets another ([`set_memory_limit`]).
pub const MEMORY_LIMIT: usize = 1024 * 1024 * 1024;

static CONFIGURED_LIMIT: std::sync::atomic::AtomicUsize =
    std::sync::atomic::AtomicUsize::new(MEMORY_LIMIT);

/// Sets the memory DataFusion may use per query, for every session created
/// after the call (`limits.memory_limit_mib` of the configuration). It is
/// process-wide because the pool of DataFusion threads is.
pub fn set_memory_limit(bytes: usize) {
    CONFIGURED_LIMIT.store(bytes.max(1024 * 1024), std::sync::atomic::Ordering::Relaxed);
}

/// The memory DataFusion may use per query.
pub fn memory_limit() -> usize {
    CONFIGURED_LIMIT.load(std::sync::atomic::Ordering::Relaxed)
}

/// The engine's own threads for DataFusion work (snapshot loads, key
/// figures, rules, analysts' SQL), so that a long query never occupies the
/// threads that answer requests. One pool per process, never dropped.
static POOL: std::sync::OnceLock<Option<tokio::runtime::Runtime>> = std::sync::OnceLock::new();

fn pool() -> Option<&'static tokio::runtime::Runtime> {
    POOL.get_or_init(|| {
        let threads = std::thread::available_parallelism()
            .map_or(2, |n| n.get())
            .clamp(1, 4);
        tokio::runtime::Builder::new_multi_thread()
            .worker_threads(threads)
            .thread_name("datafusion")
            .enable_all()
            .build()
            .map_err(|e| tracing::warn!(error = %e, "no DataFusion pool; running on the request threads"))
            .ok()
    })
    .as_ref()
}

/// Runs DataFusion work on the engine's pool and waits for it.
pub async fn on_pool<T, F>(work: F) -> Result<T, crate::error::EngineError>
where
    F: std::future::Future<Output = Result<T, crate::error::EngineError>> + Send + 'static,
    T: Send + 'static,
{
    match pool() {
        Some(rt) => rt.spawn(work).await.map_err(|e| {
            crate::error::EngineError::Internal(format!("DataFusion task failed: {e}"))
        })?,
        None => work.await,
    }
}

/// Runs a query over one batch registered as `name` on the pool and
/// collects the answer (used where the answer is bounded by the input:
/// one row per input row).
pub async fn query_batch(
    name: &'static str,
    batch: arrow::array::RecordBatch,
    sql: String,
) -> Result<Vec<arrow::array::RecordBatch>, crate::error::EngineError> {
    on_pool(async move {
        let ctx = context_with(name, batch)?;
        Ok(ctx.sql(&sql).await?.collect().await?)
    })
    .await
}

/// A fresh session with the service's limits.
pub fn new_context() -> SessionContext {
    let config = SessionConfig::new()
        .with_target_partitions(2)
        .with_information_schema(false);
    match RuntimeEnvBuilder::new()
        .with_memory_limit(memory_limit(), 1.0)
        .build_arc()
    {
        Ok(runtime) => SessionContext::new_with_config_rt(config, runtime),
        // Building a runtime without disk manager options cannot fail in
        // practice; fall back to the default runtime rather than refuse work.
        Err(_) => SessionContext::new_with_config(config),
    }
}

/// Registers `batch` as table `name` in a fresh session.
pub fn context_with(
    name: &str,
    batch: arrow::array::RecordBatch,
) -> datafusion::error::Result<SessionContext> {
    let ctx = new_context();
    ctx.register_batch(name, batch)?;
    Ok(ctx)
}

pub(crate) fn _assert_send_sync() {
    fn is<T: Send + Sync>() {}
    is::<Arc<SessionContext>>();
}
