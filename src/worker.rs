//! `vergleichsring worker`: the process that decodes uploads and runs
//! analysts' SQL for the server (`vergleichsring_engine::worker`). It is
//! started by the server, not by people.

use anyhow::Context;

/// Limits and confines this process, then answers requests on stdin until it closes.
pub(crate) fn run(memory_mib: u64, cpu_seconds: u64) -> anyhow::Result<()> {
    // The limits are set before any untrusted byte is read, and the hard
    // limits too, so that nothing in this process can raise them again.
    let memory = memory_mib.saturating_mul(1024 * 1024);
    rlimit::setrlimit(rlimit::Resource::AS, memory, memory)
        .context("limiting the worker's address space")?;
    rlimit::setrlimit(
        rlimit::Resource::CPU,
        cpu_seconds,
        cpu_seconds.saturating_add(5),
    )
    .context("limiting the worker's CPU seconds")?;
    // A core file of a crashed decoder would hold the upload.
    rlimit::setrlimit(rlimit::Resource::CORE, 0, 0).context("disabling core files")?;
    // A decoder opens no files of its own; DataFusion may spill a few.
    rlimit::setrlimit(rlimit::Resource::NOFILE, 64, 64).context("limiting open files")?;
    // Counted per user, threads included, and not enforced for root: the
    // seccomp filter below is what stops new processes; this bounds the
    // threads a worker may add when the service runs as its own user.
    rlimit::setrlimit(rlimit::Resource::NPROC, 256, 256).context("limiting processes")?;
    // No new privileges, no programs, processes, sockets or signals to
    // others (`sandbox.rs`); the process is single-threaded here, and the
    // filter holds for every thread it starts.
    crate::sandbox::confine().context("confining the worker")?;
    // A decoder that panics on a damaged file is caught and the file
    // refused; one line says so, not a backtrace per hostile upload.
    std::panic::set_hook(Box::new(|info| {
        eprintln!("worker: a decoder panicked on an upload (the upload is refused): {info}");
    }));
    let stdin = std::io::stdin().lock();
    let stdout = std::io::stdout().lock();
    vergleichsring_engine::worker::serve(stdin, stdout).context("serving the server's requests")
}
