//! Crash injection for the fault tests: `DEFER_FAILPOINT=<name>` makes the process abort at
//! the named step, as a `kill -9` or power cut would stop it there.
//!
//! Compiled in only for debug builds (what `cargo test` runs) or with the `failpoints`
//! feature; in a release build [`hit`] is an empty function, so no environment variable can
//! make a production binary crash.

/// Aborts the process if `DEFER_FAILPOINT` names this point.
#[cfg(any(debug_assertions, feature = "failpoints"))]
pub fn hit(name: &str) {
    use std::sync::OnceLock;
    static ARMED: OnceLock<Option<String>> = OnceLock::new();
    let armed = ARMED.get_or_init(|| std::env::var("DEFER_FAILPOINT").ok());
    if armed.as_deref() == Some(name) {
        eprintln!("failpoint {name}: aborting");
        std::process::abort();
    }
}

/// Inert in release builds.
#[cfg(not(any(debug_assertions, feature = "failpoints")))]
#[inline(always)]
pub fn hit(_name: &str) {}
