//! Crash injection for the fault tests: `DEFER_FAILPOINT=<name>` makes the process abort at
//! the named step, as a `kill -9` or power cut would stop it there.
//!
//! Compiled in only for debug builds (what `cargo test` runs) or with the `failpoints`
//! feature; in a release build [`hit`] is an empty function, so no environment variable can
//! make a production binary crash.

/// Aborts the process if `DEFER_FAILPOINT` names this point.
///
/// `DEFER_FAILPOINT=<name>` aborts at the first hit; `<name>@<n>` at the `n`th (counting
/// from 1), which is how a test reaches a later step that passes the same point — the store
/// rewrite points are hit by every rewrite: recover, claim, outcomes, archive, cancel.
#[cfg(any(debug_assertions, feature = "failpoints"))]
pub fn hit(name: &str) {
    use std::sync::OnceLock;
    use std::sync::atomic::{AtomicU64, Ordering};
    static ARMED: OnceLock<Option<(String, u64)>> = OnceLock::new();
    static HITS: AtomicU64 = AtomicU64::new(0);
    let armed = ARMED.get_or_init(|| {
        let spec = std::env::var("DEFER_FAILPOINT").ok()?;
        Some(match spec.rsplit_once('@') {
            Some((point, n)) => (point.to_string(), n.parse().unwrap_or(1)),
            None => (spec, 1),
        })
    });
    if let Some((point, nth)) = armed
        && point == name
        && HITS.fetch_add(1, Ordering::Relaxed) + 1 == *nth
    {
        eprintln!("failpoint {name}: aborting");
        std::process::abort();
    }
}

/// Inert in release builds.
#[cfg(not(any(debug_assertions, feature = "failpoints")))]
#[inline(always)]
pub fn hit(_name: &str) {}
