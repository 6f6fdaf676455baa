//! The DataFusion session used for every query: bounded memory, small batches
//! of work. The service's tables are small per domain, so one partition keeps
//! plans simple and avoids repartitioning costs on 2-core machines.

use std::sync::Arc;

use datafusion::execution::runtime_env::RuntimeEnvBuilder;
use datafusion::prelude::{SessionConfig, SessionContext};

/// Memory DataFusion may use per query before it fails with "resources exhausted".
pub const MEMORY_LIMIT: usize = 2 * 1024 * 1024 * 1024;

/// A fresh session with the service's limits.
pub fn new_context() -> SessionContext {
    let config = SessionConfig::new()
        .with_target_partitions(2)
        .with_information_schema(false);
    match RuntimeEnvBuilder::new()
        .with_memory_limit(MEMORY_LIMIT, 1.0)
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
