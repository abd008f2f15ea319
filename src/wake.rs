//! Sleeping until something happens. A long-lived runner (or `serve`'s change feed) waits for
//! a store change, its next due time, or a stop signal — not on a timer: an idle watcher
//! wakes about once a minute (its rescan), not twenty times a second.
//!
//! A [`Waker`] is a pipe: whatever has news writes a byte to it (a file-change notification,
//! a PostgreSQL `NOTIFY` listener, a signal handler) and the waiter sleeps in `poll` on the
//! other end. Signals reach every waker of the process: the handler writes to each registered
//! pipe, `write` being one of the few calls a signal handler may make.

use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::sync::atomic::{AtomicI32, Ordering};
use std::time::Duration;

/// The write ends a signal pokes (-1: free slot). More wakers than slots still work; they
/// are only not woken by signals (their waits end at their timeout).
static SIGNAL_SLOTS: [AtomicI32; 16] = [const { AtomicI32::new(-1) }; 16];

/// What a byte in the pipe says.
const CHANGED: u8 = b'c';
const SIGNALLED: u8 = b's';

/// What ended a [`Waker::wait_with`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Woke {
    /// The pipe: a change (`changed`) or only a signal (the caller looks at its stop flag).
    Poked { changed: bool },
    /// The other descriptor has something to read.
    Ready,
    /// The time ran out (or a signal interrupted the sleep).
    TimedOut,
}

/// A pipe to sleep on until something has news.
#[derive(Debug)]
pub struct Waker {
    read: OwnedFd,
    write: OwnedFd,
    slot: Option<usize>,
}

impl Waker {
    /// A new waker, registered to be woken by the stop signals.
    pub fn new() -> std::io::Result<Waker> {
        let mut fds = [0; 2];
        // SAFETY: fds is a valid place for two descriptors.
        if unsafe { libc::pipe(fds.as_mut_ptr()) } != 0 {
            return Err(std::io::Error::last_os_error());
        }
        // SAFETY: pipe returned two fresh descriptors that nothing else owns.
        let (read, write) = unsafe { (OwnedFd::from_raw_fd(fds[0]), OwnedFd::from_raw_fd(fds[1])) };
        for fd in [read.as_raw_fd(), write.as_raw_fd()] {
            // SAFETY: fcntl on our own descriptors; close-on-exec keeps them from executors,
            // non-blocking keeps a full pipe from blocking a writer (a byte is a byte).
            unsafe {
                libc::fcntl(fd, libc::F_SETFD, libc::FD_CLOEXEC);
                let flags = libc::fcntl(fd, libc::F_GETFL);
                libc::fcntl(fd, libc::F_SETFL, flags | libc::O_NONBLOCK);
            }
        }
        let slot = SIGNAL_SLOTS.iter().position(|s| {
            s.compare_exchange(-1, write.as_raw_fd(), Ordering::AcqRel, Ordering::Relaxed)
                .is_ok()
        });
        Ok(Waker { read, write, slot })
    }

    /// Something changed: the waiter wakes (and [`Waker::wait`] says so).
    pub fn changed(&self) {
        poke(self.write.as_raw_fd(), CHANGED);
    }

    /// Sleeps until a poke or `timeout`; `true` when a change was among the pokes (a signal
    /// alone wakes the waiter, which then looks at its stop flag).
    pub fn wait(&self, timeout: Duration) -> bool {
        let mut pfd = libc::pollfd {
            fd: self.read.as_raw_fd(),
            events: libc::POLLIN,
            revents: 0,
        };
        let ms = i32::try_from(timeout.as_millis()).unwrap_or(i32::MAX);
        // SAFETY: one valid pollfd.
        let ready = unsafe { libc::poll(&mut pfd, 1, ms) };
        if ready <= 0 {
            return false;
        }
        self.drain()
    }

    /// Sleeps until a poke, `other` is readable, or `timeout`. The caller reads `other`
    /// itself, so news that comes in while it works (its own writes seen by inotify) is read
    /// without going to sleep for it.
    pub fn wait_with(&self, other: RawFd, timeout: Duration) -> Woke {
        let mut fds = [
            libc::pollfd {
                fd: self.read.as_raw_fd(),
                events: libc::POLLIN,
                revents: 0,
            },
            libc::pollfd {
                fd: other,
                events: libc::POLLIN,
                revents: 0,
            },
        ];
        // Rounded up: a wait rounded down to 0 ms would return at once and be asked again.
        let ms = i32::try_from(timeout.as_micros().div_ceil(1000)).unwrap_or(i32::MAX);
        // SAFETY: two valid pollfds.
        let ready = unsafe { libc::poll(fds.as_mut_ptr(), 2, ms) };
        if ready <= 0 {
            Woke::TimedOut
        } else if fds[0].revents != 0 {
            Woke::Poked {
                changed: self.drain(),
            }
        } else {
            Woke::Ready
        }
    }

    /// Reads every byte waiting; whether one said "changed".
    pub fn drain(&self) -> bool {
        let mut changed = false;
        let mut buf = [0u8; 64];
        loop {
            // SAFETY: reads into a buffer we own, from our own non-blocking descriptor.
            let n =
                unsafe { libc::read(self.read.as_raw_fd(), buf.as_mut_ptr().cast(), buf.len()) };
            if n <= 0 {
                return changed;
            }
            let n = usize::try_from(n).unwrap_or(0);
            changed |= buf[..n].contains(&CHANGED);
        }
    }
}

impl Drop for Waker {
    fn drop(&mut self) {
        if let Some(slot) = self.slot {
            SIGNAL_SLOTS[slot].store(-1, Ordering::Release);
        }
    }
}

/// One byte into a pipe; a full pipe already holds a wake-up.
fn poke(fd: RawFd, byte: u8) {
    // SAFETY: write is async-signal-safe; a failed write (a full pipe) loses nothing.
    unsafe {
        libc::write(fd, (&byte as *const u8).cast(), 1);
    }
}

/// Wakes every registered waker: called from the stop-signal handler, so only atomics and
/// `write`.
pub fn signal_all() {
    for slot in &SIGNAL_SLOTS {
        let fd = slot.load(Ordering::Acquire);
        if fd >= 0 {
            poke(fd, SIGNALLED);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_change_wakes_the_waiter_and_a_signal_wakes_it_without_one() {
        let waker = Waker::new().expect("waker");
        assert!(!waker.wait(Duration::from_millis(1)), "nothing yet");
        waker.changed();
        assert!(waker.wait(Duration::from_secs(5)), "a change");
        assert!(!waker.wait(Duration::from_millis(1)), "drained");
        signal_all();
        let mut pfd = libc::pollfd {
            fd: waker.read.as_raw_fd(),
            events: libc::POLLIN,
            revents: 0,
        };
        // SAFETY: one valid pollfd.
        assert_eq!(
            unsafe { libc::poll(&mut pfd, 1, 0) },
            1,
            "a signal wakes it"
        );
        assert!(!waker.drain(), "but says no change");
    }
}
