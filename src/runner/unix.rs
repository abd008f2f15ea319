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
    std::fs::metadata(path).is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
}

/// A file descriptor that becomes readable when a process exits (`pidfd_open`, Linux 5.3+).
#[derive(Debug)]
pub struct PidFd(OwnedFd);

impl PidFd {
    /// `None` where the kernel lacks pidfds; callers fall back to a waiting thread.
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
    // Only an atomic store: the one thing a signal handler may safely do here.
    STOP.store(true, std::sync::atomic::Ordering::Relaxed);
}

/// Makes SIGTERM, SIGINT and SIGHUP (a closed terminal) set a flag instead of killing the
/// process, so a runner can finish what it started and give back what it did not; returns
/// the flag.
pub fn stop_on_signals() -> &'static std::sync::atomic::AtomicBool {
    let handler: extern "C" fn(libc::c_int) = on_stop_signal;
    for signal in [libc::SIGTERM, libc::SIGINT, libc::SIGHUP] {
        // SAFETY: the handler only stores to an atomic, which is async-signal-safe; `sa` is
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
