//! Whether another process is alive: one answer for every caller (stale temp files, the
//! watcher `doctor` reports, a runner whose start journal is being read).

/// Whether a process with id `pid` exists. A process of another user counts (the kernel says
/// it exists but refuses the signal); pid 0 and negative ids never name one process, so they
/// are never alive.
pub fn exists(pid: u32) -> bool {
    if pid == std::process::id() {
        return true;
    }
    let Ok(raw) = libc::pid_t::try_from(pid) else {
        return false;
    };
    if raw <= 0 {
        return false;
    }
    // SAFETY: kill(2) with signal 0 delivers nothing; it only reports whether `raw` exists.
    let rc = unsafe { libc::kill(raw, 0) };
    rc == 0 || std::io::Error::last_os_error().raw_os_error() == Some(libc::EPERM)
}

/// Whether `pid` is a live `defer` process other than this one. On Linux the process name must
/// be `defer`, so a reused pid does not count; elsewhere any live process does (the caller then
/// waits, which is the safe side).
pub fn is_other_defer(pid: u32) -> bool {
    if pid == std::process::id() || pid <= 1 || !exists(pid) {
        return false;
    }
    match std::fs::read_to_string(format!("/proc/{pid}/comm")) {
        Ok(name) => name.trim() == "defer",
        Err(_) => true,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn this_process_is_alive_and_zero_is_nobody() {
        assert!(exists(std::process::id()));
        assert!(!exists(0));
        assert!(!is_other_defer(std::process::id()));
        assert!(!is_other_defer(1));
    }
}
