//! The Unix calls the runner needs: process-group signals and the executable check.

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
