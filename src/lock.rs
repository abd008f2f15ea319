//! Exclusive advisory locks on separate `.lock` files (`std::fs::File::lock`, i.e. `flock`).
//!
//! The lock lives in its own file, not on the store, because the store is replaced by
//! rename: a lock on the old inode would not exclude a writer of the new one. The kernel drops
//! a `flock` when its holder dies, so a `kill -9` can never leave a stale lock behind (the
//! reference tool's `mkdir` locks can).

use std::fs::{File, TryLockError};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use crate::error::{Error, Result};
use crate::fsutil;

/// Held while the lock is ours; dropping it (or dying) releases it.
#[derive(Debug)]
pub struct LockGuard {
    file: File,
    path: PathBuf,
}

impl LockGuard {
    /// Waits up to `timeout` for the lock, polling with a short backoff.
    ///
    /// Polling (rather than a blocking `lock()`) is what makes the timeout possible; the
    /// store's critical sections last milliseconds, so waits are short.
    pub fn acquire(path: &Path, timeout: Duration) -> Result<LockGuard> {
        let file = fsutil::open_rw(path)?;
        let deadline = Instant::now() + timeout;
        let mut pause = Duration::from_micros(200);
        loop {
            match file.try_lock() {
                Ok(()) => {
                    return Ok(LockGuard {
                        file,
                        path: path.to_path_buf(),
                    });
                }
                Err(TryLockError::WouldBlock) => {
                    if Instant::now() >= deadline {
                        return Err(Error::LockTimeout {
                            path: path.to_path_buf(),
                            seconds: timeout.as_secs(),
                        });
                    }
                    std::thread::sleep(pause);
                    pause = (pause * 2).min(Duration::from_millis(20));
                }
                Err(TryLockError::Error(e)) => return Err(Error::io("locking", path)(e)),
            }
        }
    }

    /// Takes the lock only if it is free now.
    pub fn try_acquire(path: &Path) -> Result<Option<LockGuard>> {
        let file = fsutil::open_rw(path)?;
        match file.try_lock() {
            Ok(()) => Ok(Some(LockGuard {
                file,
                path: path.to_path_buf(),
            })),
            Err(TryLockError::WouldBlock) => Ok(None),
            Err(TryLockError::Error(e)) => Err(Error::io("locking", path)(e)),
        }
    }

    /// The lock file's path.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Whether the file this guard locks is no longer the one at its path (deleted, or
    /// replaced by `rm -rf` of the runtime dir and a new file): another process could then
    /// take a "fresh" lock beside ours, so the holder must stop relying on it.
    pub fn lost(&self) -> bool {
        use std::os::unix::fs::MetadataExt;
        let Ok(held) = self.file.metadata() else {
            return true;
        };
        match std::fs::symlink_metadata(&self.path) {
            Ok(now) => now.dev() != held.dev() || now.ino() != held.ino(),
            Err(_) => true,
        }
    }
}

impl Drop for LockGuard {
    fn drop(&mut self) {
        // Closing the file would release it too; unlocking first makes the release explicit.
        let _ = self.file.unlock();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn second_holder_is_refused_until_release() {
        let tmp = tempfile::tempdir().expect("tempdir");
        let path = tmp.path().join(".x.lock");
        let first = LockGuard::try_acquire(&path).expect("lock").expect("free");
        assert!(LockGuard::try_acquire(&path).expect("try").is_none());
        let err = LockGuard::acquire(&path, Duration::from_millis(30)).expect_err("timeout");
        assert!(err.to_string().contains("timed out"), "{err}");
        drop(first);
        assert!(LockGuard::try_acquire(&path).expect("try").is_some());
    }
}
