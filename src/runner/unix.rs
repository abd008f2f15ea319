//! The Unix calls the runner needs: process-group signals and the executable check.

use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::os::unix::fs::PermissionsExt;
use std::path::Path;

/// Sends `signal` to every process in group `pgid`. A group that is already gone is fine.
pub fn signal_group(pgid: u32, signal: libc::c_int) {
    let Ok(pgid) = libc::pid_t::try_from(pgid) else {
        return;
    };
    if pgid <= 1 {
        // Never signal "every process" (0) or init's group by accident.
        return;
    }
    // SAFETY: killpg has no memory-safety preconditions; errors (ESRCH) are ignored on purpose.
    unsafe {
        libc::killpg(pgid, signal);
    }
}

/// A regular file with at least one execute bit (what `[ -x ]` checks for root, and close
/// enough for others: a permission error at spawn is reported too).
pub fn is_executable_file(path: &Path) -> bool {
    std::fs::metadata(path).is_ok_and(|m| is_executable(&m))
}

/// [`is_executable_file`] on metadata already read.
pub fn is_executable(meta: &std::fs::Metadata) -> bool {
    meta.is_file() && meta.permissions().mode() & 0o111 != 0
}

/// A file descriptor that becomes readable when a process exits (`pidfd_open`, Linux 5.3+).
#[derive(Debug)]
pub struct PidFd(OwnedFd);

impl PidFd {
    /// `None` where the kernel lacks pidfds (and off Linux); callers fall back to a waiting
    /// thread.
    #[cfg(target_os = "linux")]
    pub fn open(pid: u32) -> Option<PidFd> {
        let pid = libc::pid_t::try_from(pid).ok()?;
        // SAFETY: pidfd_open takes a pid and flags and returns a new fd or -1.
        let fd = unsafe { libc::syscall(libc::SYS_pidfd_open, pid, 0u32) };
        if fd < 0 {
            return None;
        }
        let fd = RawFd::try_from(fd).ok()?;
        // SAFETY: the syscall returned a fresh descriptor that nothing else owns.
        Some(PidFd(unsafe { OwnedFd::from_raw_fd(fd) }))
    }

    /// No pidfds off Linux: the caller waits with a thread.
    #[cfg(not(target_os = "linux"))]
    pub fn open(_pid: u32) -> Option<PidFd> {
        None
    }

    /// A pidfd the kernel already gave (`clone3` with `CLONE_PIDFD`).
    pub fn from_owned(fd: OwnedFd) -> PidFd {
        PidFd(fd)
    }

    pub fn fd(&self) -> RawFd {
        self.0.as_raw_fd()
    }
}

/// A `pollfd` waiting for input (or hang-up) on `fd`.
pub fn readable(fd: RawFd) -> libc::pollfd {
    libc::pollfd {
        fd,
        events: libc::POLLIN,
        revents: 0,
    }
}

/// Whether `poll` reported `fd` ready (data, end of file or an error: a read will not block).
pub fn is_ready(fd: &libc::pollfd) -> bool {
    fd.revents & (libc::POLLIN | libc::POLLHUP | libc::POLLERR | libc::POLLNVAL) != 0
}

/// Waits up to `timeout_ms` (-1: forever) for any of `fds`; false if interrupted or failed, in
/// which case the caller simply loops.
pub fn poll(fds: &mut [libc::pollfd], timeout_ms: i32) -> bool {
    let Ok(n) = libc::nfds_t::try_from(fds.len()) else {
        return false;
    };
    // SAFETY: fds points to n valid pollfd structs for the duration of the call.
    let rc = unsafe { libc::poll(fds.as_mut_ptr(), n, timeout_ms) };
    rc >= 0
}

/// Set by SIGTERM, SIGINT or SIGHUP once [`stop_on_signals`] has run.
static STOP: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

extern "C" fn on_stop_signal(_: libc::c_int) {
    // An atomic store and `write`s to the wakers' pipes: what a signal handler may do.
    STOP.store(true, std::sync::atomic::Ordering::Relaxed);
    crate::wake::signal_all();
}

/// Whether a stop signal has arrived (once [`stop_on_signals`] is in place).
pub fn stop_requested() -> bool {
    STOP.load(std::sync::atomic::Ordering::Relaxed)
}

/// Makes SIGTERM, SIGINT and SIGHUP (a closed terminal) set a flag instead of killing the
/// process, so a runner can finish what it started and give back what it did not; returns
/// the flag.
pub fn stop_on_signals() -> &'static std::sync::atomic::AtomicBool {
    let handler: extern "C" fn(libc::c_int) = on_stop_signal;
    for signal in [libc::SIGTERM, libc::SIGINT, libc::SIGHUP] {
        // SAFETY: the handler only stores to an atomic and writes to pipes, both
        // async-signal-safe; `sa` is
        // fully initialised (zeroed, then the handler and an empty mask are set).
        unsafe {
            let mut sa: libc::sigaction = std::mem::zeroed();
            sa.sa_sigaction = handler as libc::sighandler_t;
            libc::sigemptyset(&mut sa.sa_mask);
            sa.sa_flags = libc::SA_RESTART;
            libc::sigaction(signal, &sa, std::ptr::null_mut());
        }
    }
    &STOP
}

/// Makes this process the reaper of its orphaned descendants (Linux `PR_SET_CHILD_SUBREAPER`):
/// a grandchild of an executor that called `setsid` leaves the executor's process group, so
/// the timeout's `killpg` misses it; as a subreaper, the runner inherits it when its parent
/// dies and [`kill_orphans`] can end it. Elsewhere nothing changes (such a grandchild goes to
/// init, as before).
pub fn become_subreaper() {
    #[cfg(target_os = "linux")]
    {
        // SAFETY: prctl with PR_SET_CHILD_SUBREAPER takes plain integers and touches no memory.
        let done = unsafe { libc::prctl(libc::PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) };
        if done == 0 {
            SUBREAPER.store(true, std::sync::atomic::Ordering::Relaxed);
        }
    }
}

/// Set once this process is a subreaper: only then does [`kill_orphans`] act, so a program
/// that uses the library without `runner::run` never has its own children killed.
static SUBREAPER: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

/// Kills and reaps every child of this process: called only when no executor is running, so
/// every child left is a descendant some executor abandoned (re-parented to us as subreaper).
/// Safe against pid reuse: a child's pid cannot be reused before we reap it, and only the
/// runner reaps its children. Killing a child re-parents its own children to us, so this
/// repeats until none are left (bounded, in case something keeps forking).
pub fn kill_orphans() -> usize {
    if !SUBREAPER.load(std::sync::atomic::Ordering::Relaxed) || !has_children() {
        return 0;
    }
    let me = std::process::id();
    let mut killed = 0;
    for _ in 0..32 {
        let pids: Vec<libc::pid_t> = children()
            .into_iter()
            .filter(|&pid| pid > 1 && pid != me)
            .filter_map(|pid| libc::pid_t::try_from(pid).ok())
            .collect();
        if pids.is_empty() {
            break;
        }
        for &pid in &pids {
            // SAFETY: kill and waitpid take plain integers; `pid` is our own unreaped child,
            // never 0, 1 or negative, so the signal reaches that process alone.
            unsafe {
                libc::kill(pid, libc::SIGKILL);
            }
        }
        for &pid in &pids {
            let mut status = 0;
            // SAFETY: as above; `status` is a valid place for the kernel to write.
            unsafe {
                libc::waitpid(pid, &mut status, 0);
            }
        }
        killed += pids.len();
    }
    killed
}

/// Whether this process has a child at all, running or not yet reaped: one `waitid` that
/// reaps nothing. Almost always there is none (the executor that just ended was reaped), and
/// reading `/proc` for [`children`] costs a dozen system calls per task.
fn has_children() -> bool {
    // SAFETY: an all-zero siginfo_t is a valid value for waitid to overwrite.
    let mut info: libc::siginfo_t = unsafe { std::mem::zeroed() };
    // SAFETY: waitid with WNOWAIT | WNOHANG only reports; `info` is valid for writes.
    let rc = unsafe {
        libc::waitid(
            libc::P_ALL,
            0,
            &mut info,
            libc::WEXITED | libc::WNOHANG | libc::WNOWAIT,
        )
    };
    !(rc == -1 && std::io::Error::last_os_error().raw_os_error() == Some(libc::ECHILD))
}

/// This process's children, from `/proc/self/task/*/children` (every thread's: a child
/// belongs to the thread that forked it, an adopted orphan to one of them). Empty where
/// `/proc` does not say.
fn children() -> Vec<u32> {
    let mut pids = Vec::new();
    let Ok(tasks) = std::fs::read_dir("/proc/self/task") else {
        return pids;
    };
    for task in tasks.flatten() {
        if let Ok(text) = std::fs::read_to_string(task.path().join("children")) {
            pids.extend(
                text.split_whitespace()
                    .filter_map(|p| p.parse::<u32>().ok()),
            );
        }
    }
    pids.sort_unstable();
    pids.dedup();
    pids
}
