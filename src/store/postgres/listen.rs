//! A watcher's ear on the database: a thread of its own holds a second connection that
//! `LISTEN`s on the store's channel (every change of a task or the pause sends a `NOTIFY` in
//! its transaction) and pokes a [`Waker`] at each notification, so the watcher sleeps until
//! one arrives, its next due time, or a stop signal — not on a timer.
//!
//! A connection that breaks is reported to the next waiter (a fault of its wake, retried with
//! its backoff) and opened again by the thread after a pause.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use postgres::fallible_iterator::FallibleIterator;

use crate::error::{Error, Result};
use crate::wake::Waker;

/// The longest one `LISTEN` wait lasts before the thread looks whether its store is gone:
/// each look wakes an idle process, so it is rare; a dropped store's thread and connection
/// linger at most this long.
const LISTEN_SLICE: Duration = Duration::from_secs(10 * 60);

/// The listening thread's side of a store.
#[derive(Debug)]
pub struct Listener {
    waker: Arc<Waker>,
    /// The last failure to listen, for the next waiter to report.
    failed: Arc<Mutex<Option<Error>>>,
    /// Set when the store is dropped: the thread ends at its next look.
    closed: Arc<AtomicBool>,
}

impl Listener {
    /// Starts the thread listening on `channel` through a connection to `url`; `connect`
    /// opens one (the store's own way, TLS and timeouts included).
    pub fn start(
        channel: String,
        connect: impl Fn() -> Result<postgres::Client> + Send + 'static,
    ) -> Result<Listener> {
        let waker = Arc::new(Waker::new().map_err(Error::io("starting a change watch", "a pipe"))?);
        let failed = Arc::new(Mutex::new(None));
        let closed = Arc::new(AtomicBool::new(false));
        let (poke, report, gone) = (Arc::clone(&waker), Arc::clone(&failed), Arc::clone(&closed));
        std::thread::Builder::new()
            .name("defer-listen".into())
            .spawn(move || listen(&channel, &connect, &poke, &report, &gone))
            .map_err(Error::io("starting the thread of", "the change watch"))?;
        Ok(Listener {
            waker,
            failed,
            closed,
        })
    }

    /// Sleeps until a notification, a stop signal or `timeout`; whether the store changed.
    /// A failure of the listening connection since the last wait is returned instead.
    pub fn wait(&self, timeout: Duration) -> Result<bool> {
        if let Some(e) = self.take_failure() {
            return Err(e);
        }
        let changed = self.waker.wait(timeout);
        match self.take_failure() {
            Some(e) => Err(e),
            None => Ok(changed),
        }
    }

    fn take_failure(&self) -> Option<Error> {
        self.failed.lock().unwrap_or_else(|p| p.into_inner()).take()
    }
}

impl Drop for Listener {
    fn drop(&mut self) {
        self.closed.store(true, Ordering::Relaxed);
    }
}

/// The thread: connect, `LISTEN`, poke at each notification; on a failure report it, wait,
/// and connect again.
fn listen(
    channel: &str,
    connect: &dyn Fn() -> Result<postgres::Client>,
    poke: &Waker,
    report: &Mutex<Option<Error>>,
    gone: &AtomicBool,
) {
    let mut pause = Duration::from_millis(500);
    while !gone.load(Ordering::Relaxed) {
        let outcome = connect().and_then(|mut client| {
            client
                .batch_execute(&format!("LISTEN \"{channel}\""))
                .map_err(super::db("listening for changes"))?;
            // Anything missed before LISTEN took effect: one look.
            poke.changed();
            loop {
                if gone.load(Ordering::Relaxed) {
                    return Ok(());
                }
                let mut notifications = client.notifications();
                let heard = notifications
                    .timeout_iter(LISTEN_SLICE)
                    .next()
                    .map_err(super::db("waiting for changes"))?;
                if heard.is_some() {
                    // Several changes at once need one pass.
                    while let Ok(Some(_)) = notifications.iter().next() {}
                    poke.changed();
                }
            }
        });
        match outcome {
            Ok(()) => return,
            Err(e) => {
                *report.lock().unwrap_or_else(|p| p.into_inner()) = Some(e);
                poke.changed();
                std::thread::sleep(pause);
                pause = (pause * 2).min(Duration::from_secs(30));
            }
        }
    }
}
