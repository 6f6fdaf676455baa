//! The system calls a worker may not make, as a seccomp filter that the
//! worker installs on itself before it reads any untrusted byte (after
//! `PR_SET_NO_NEW_PRIVS`, which `seccompiler` sets and which also keeps any
//! program it could start from gaining privileges).
//!
//! A deny list, not an allow list: the decoders and DataFusion make calls
//! that differ between versions and C libraries (memory, futexes, clocks,
//! reading `/proc` and the cgroup files for the number of cores), and an
//! allow list that misses one kills uploads in production. What is denied
//! is what a subverted decoder would need to get out: starting programs or
//! processes, touching other processes (signals, ptrace, their memory),
//! the network (the cloud's metadata address hands out credentials), the
//! kernel's administration, and io_uring, whose operations seccomp does
//! not see. Threads stay allowed.

use std::collections::BTreeMap;

use anyhow::Context;
use seccompiler::{
    BpfProgram, SeccompAction, SeccompCmpArgLen, SeccompCmpOp, SeccompCondition, SeccompFilter,
    SeccompRule,
};

/// Calls denied whatever their arguments.
const DENIED: &[i64] = &[
    libc::SYS_execve,
    libc::SYS_execveat,
    libc::SYS_ptrace,
    libc::SYS_process_vm_readv,
    libc::SYS_process_vm_writev,
    libc::SYS_kcmp,
    libc::SYS_tkill,
    libc::SYS_pidfd_open,
    libc::SYS_pidfd_send_signal,
    libc::SYS_pidfd_getfd,
    libc::SYS_socket,
    libc::SYS_socketpair,
    libc::SYS_connect,
    libc::SYS_bind,
    libc::SYS_listen,
    libc::SYS_accept,
    libc::SYS_accept4,
    libc::SYS_mount,
    libc::SYS_umount2,
    libc::SYS_pivot_root,
    libc::SYS_chroot,
    libc::SYS_unshare,
    libc::SYS_setns,
    libc::SYS_keyctl,
    libc::SYS_add_key,
    libc::SYS_request_key,
    libc::SYS_bpf,
    libc::SYS_perf_event_open,
    libc::SYS_userfaultfd,
    libc::SYS_kexec_load,
    libc::SYS_init_module,
    libc::SYS_finit_module,
    libc::SYS_delete_module,
    libc::SYS_reboot,
    libc::SYS_swapon,
    libc::SYS_swapoff,
    libc::SYS_io_uring_setup,
    libc::SYS_io_uring_enter,
    libc::SYS_io_uring_register,
    #[cfg(target_arch = "x86_64")]
    libc::SYS_fork,
    #[cfg(target_arch = "x86_64")]
    libc::SYS_vfork,
];

/// Installs the filters on every thread of this process.
pub(crate) fn confine() -> anyhow::Result<()> {
    let arch = std::env::consts::ARCH
        .try_into()
        .map_err(|e| anyhow::anyhow!("no seccomp filter for this architecture: {e}"))?;
    let deny = |rules, errno: i32| -> anyhow::Result<BpfProgram> {
        let filter = SeccompFilter::new(
            rules,
            SeccompAction::Allow,
            SeccompAction::Errno(errno as u32),
            arch,
        )?;
        Ok(BpfProgram::try_from(filter)?)
    };
    let main = deny(denied()?, libc::EPERM).context("building the worker's seccomp filter")?;
    // clone3 passes its flags in memory, which a filter cannot read: it
    // answers "not implemented", and the C library falls back to clone,
    // which the filter above judges.
    let clone3 = deny(
        BTreeMap::from([(libc::SYS_clone3, Vec::new())]),
        libc::ENOSYS,
    )
    .context("building the worker's seccomp filter")?;
    seccompiler::apply_filter_all_threads(&main).context("installing the seccomp filter")?;
    seccompiler::apply_filter_all_threads(&clone3).context("installing the seccomp filter")?;
    Ok(())
}

/// The calls the main filter denies, with the arguments that deny them.
fn denied() -> anyhow::Result<BTreeMap<i64, Vec<SeccompRule>>> {
    let me = u64::from(std::process::id());
    // An empty list of rules denies the call whatever its arguments.
    let mut denied: BTreeMap<i64, Vec<SeccompRule>> =
        DENIED.iter().map(|call| (*call, Vec::new())).collect();
    // A new process, but not a new thread of this one.
    denied.insert(
        libc::SYS_clone,
        vec![rule(
            0,
            SeccompCmpArgLen::Qword,
            SeccompCmpOp::MaskedEq(libc::CLONE_THREAD as u64),
            0,
        )?],
    );
    // Signals to this process (an abort raises SIGABRT) but to no other.
    denied.insert(
        libc::SYS_kill,
        vec![rule(0, SeccompCmpArgLen::Dword, SeccompCmpOp::Ne, me)?],
    );
    denied.insert(
        libc::SYS_tgkill,
        vec![rule(0, SeccompCmpArgLen::Dword, SeccompCmpOp::Ne, me)?],
    );
    Ok(denied)
}

fn rule(
    arg: u8,
    len: SeccompCmpArgLen,
    op: SeccompCmpOp,
    value: u64,
) -> anyhow::Result<SeccompRule> {
    Ok(SeccompRule::new(vec![SeccompCondition::new(
        arg, len, op, value,
    )?])?)
}

#[cfg(test)]
mod tests {
    use std::process::Command;

    /// Runs this test binary again, as the confined process, with only the
    /// test `name` (which checks the variable below and does the work).
    fn run_confined(name: &str) -> std::process::Output {
        Command::new(std::env::current_exe().unwrap())
            .args([name, "--exact", "--nocapture", "--test-threads=1"])
            .env("VERGLEICHSRING_TEST_CONFINED", "1")
            .output()
            .unwrap()
    }

    fn confined() -> bool {
        std::env::var_os("VERGLEICHSRING_TEST_CONFINED").is_some()
    }

    /// Inside the filter: no program, no process, no socket, no signal to
    /// the parent; threads, files and pipes still work.
    #[test]
    fn the_filter_denies_escapes_and_allows_the_work() {
        if !confined() {
            let out = run_confined("sandbox::tests::the_filter_denies_escapes_and_allows_the_work");
            let text = String::from_utf8_lossy(&out.stdout);
            assert!(
                out.status.success(),
                "{text}{}",
                String::from_utf8_lossy(&out.stderr)
            );
            assert!(text.contains("confined: all checked"), "{text}");
            return;
        }
        super::confine().unwrap();
        let status = std::fs::read_to_string("/proc/self/status").unwrap();
        assert!(status.contains("NoNewPrivs:\t1"), "{status}");
        assert!(status.contains("Seccomp:\t2"), "{status}");
        let exec = Command::new("/bin/true").status();
        assert!(exec.is_err(), "a program started: {exec:?}");
        assert!(std::net::TcpStream::connect("127.0.0.1:9").is_err());
        assert!(std::net::UdpSocket::bind("127.0.0.1:0").is_err());
        assert!(
            std::os::unix::net::UnixStream::pair().is_err(),
            "no socket pairs"
        );
        let thread = std::thread::spawn(|| 6 * 7).join().unwrap();
        assert_eq!(thread, 42, "threads still start");
        assert!(
            std::fs::read("/proc/self/cmdline").is_ok(),
            "files are read"
        );
        println!("confined: all checked");
    }
}
