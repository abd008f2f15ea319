//! How a JSONL store hears that it changed: the kernel tells (inotify on Linux, kqueue on the
//! BSDs and macOS, through the `notify` crate) when the store file or the pause file is
//! written, replaced or removed, and a waiter sleeps until then. On a network filesystem the
//! local kernel does not see other hosts' writes, so there (and wherever notifications cannot
//! be had) the files are looked at every [`POLL`] instead, and [`ChangeWatch::polled`] says
//! why, for `run -v` and `doctor`.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use notify::{EventKind, RecursiveMode, Watcher};

use super::FileIdent;
use crate::wake::Waker;

/// How often the files are looked at when they are polled.
pub const POLL: Duration = Duration::from_millis(250);

/// The watch over one store's files.
#[derive(Debug)]
pub struct ChangeWatch {
    waker: Arc<Waker>,
    /// Held for its lifetime: dropping it ends the notifications.
    notifier: Option<notify::RecommendedWatcher>,
    /// Polled: why, and the files' identities at the last look.
    polled: Option<(String, Vec<Looked>)>,
}

/// A polled file and what it was at the last look.
type Looked = (PathBuf, Option<FileIdent>);

impl ChangeWatch {
    /// Starts watching `files` (all in one directory).
    pub fn start(files: &[PathBuf]) -> std::io::Result<ChangeWatch> {
        let waker = Arc::new(Waker::new()?);
        let dir = files
            .first()
            .map(|f| crate::fsutil::parent_dir(f).to_path_buf())
            .unwrap_or_default();
        let poll = |why: String| ChangeWatch {
            waker: Arc::clone(&waker),
            notifier: None,
            polled: Some((
                why,
                files
                    .iter()
                    .map(|f| (f.clone(), FileIdent::of(f)))
                    .collect(),
            )),
        };
        if let Some(fs) = network_filesystem(&dir) {
            return Ok(poll(format!(
                "{} is on a network filesystem ({fs}), where this host's kernel does not see \
                 other hosts' writes",
                dir.display()
            )));
        }
        let wanted: Vec<PathBuf> = files.to_vec();
        let poke = Arc::clone(&waker);
        let notifier = notify::recommended_watcher(move |event: notify::Result<notify::Event>| {
            match event {
                // Reads (ours included) are not changes.
                Ok(e) if matches!(e.kind, EventKind::Access(_)) => {}
                Ok(e) if e.paths.iter().any(|p| wanted.iter().any(|w| w == p)) => poke.changed(),
                Ok(_) => {}
                // A lost event (an overflowed queue) may have been ours: look.
                Err(_) => poke.changed(),
            }
        });
        let mut notifier = match notifier {
            Ok(n) => n,
            Err(e) => return Ok(poll(format!("file notifications are not available ({e})"))),
        };
        // The directory, not the file: every rewrite replaces the file by a rename.
        if let Err(e) = notifier.watch(&dir, RecursiveMode::NonRecursive) {
            return Ok(poll(format!(
                "{} cannot be watched for changes ({e})",
                dir.display()
            )));
        }
        Ok(ChangeWatch {
            waker,
            notifier: Some(notifier),
            polled: None,
        })
    }

    /// Sleeps until a file changes, a stop signal, or `timeout`; whether a file changed.
    pub fn wait(&mut self, timeout: Duration) -> bool {
        let Some((_, idents)) = &mut self.polled else {
            return self.notifier.is_some() && self.waker.wait(timeout);
        };
        let deadline = Instant::now() + timeout;
        loop {
            let mut changed = false;
            for (path, ident) in idents.iter_mut() {
                let now = FileIdent::of(path);
                if now != *ident {
                    *ident = now;
                    changed = true;
                }
            }
            if changed {
                return true;
            }
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return false;
            }
            // A signal ends the wait early; the caller looks at its stop flag.
            self.waker.wait(left.min(POLL));
            if Instant::now() < deadline && crate::runner::stop_requested() {
                return false;
            }
        }
    }

    /// Why the files are polled rather than notified, when they are.
    pub fn polled(&self) -> Option<&str> {
        self.polled.as_ref().map(|(why, _)| why.as_str())
    }
}

/// The kind of network filesystem `dir` is on, when it is one (Linux: by `statfs`).
#[cfg(target_os = "linux")]
fn network_filesystem(dir: &Path) -> Option<&'static str> {
    use std::os::unix::ffi::OsStrExt;
    let path = std::ffi::CString::new(dir.as_os_str().as_bytes()).ok()?;
    // SAFETY: an all-zero statfs is a valid value for the kernel to overwrite.
    let mut fs: libc::statfs = unsafe { std::mem::zeroed() };
    // SAFETY: a valid C path and a valid place for the answer.
    if unsafe { libc::statfs(path.as_ptr(), &mut fs) } != 0 {
        return None;
    }
    // The magic numbers of linux/magic.h.
    #[allow(clippy::unnecessary_cast)]
    match fs.f_type as i64 {
        0x6969 => Some("nfs"),
        0x517B => Some("smb"),
        0xFE534D42 => Some("smb2"),
        0xFF534D42 => Some("cifs"),
        0x01021997 => Some("9p"),
        0x00C36400 => Some("ceph"),
        0x65735546 => Some("fuse"),
        0x0BD00BD0 => Some("lustre"),
        0x47504653 => Some("gpfs"),
        _ => None,
    }
}

#[cfg(not(target_os = "linux"))]
fn network_filesystem(_dir: &Path) -> Option<&'static str> {
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_write_replace_or_remove_of_a_watched_file_wakes_the_waiter() {
        let dir = tempfile::tempdir().expect("dir");
        let store = dir.path().join("deferred.jsonl");
        let other = dir.path().join("unrelated.txt");
        std::fs::write(&store, b"").expect("write");
        let mut watch = ChangeWatch::start(std::slice::from_ref(&store)).expect("watch");
        assert!(watch.polled().is_none(), "{:?}", watch.polled());
        std::fs::write(&other, b"x").expect("write");
        assert!(
            !watch.wait(Duration::from_millis(300)),
            "another file is not a change"
        );
        // Reading the store is not a change either.
        let _ = std::fs::read(&store).expect("read");
        assert!(!watch.wait(Duration::from_millis(300)));
        std::fs::write(&store, b"a").expect("write");
        assert!(watch.wait(Duration::from_secs(10)), "a write");
        let tmp = dir.path().join("tmp");
        std::fs::write(&tmp, b"b").expect("write");
        std::fs::rename(&tmp, &store).expect("rename");
        assert!(watch.wait(Duration::from_secs(10)), "a replacement");
        std::fs::remove_file(&store).expect("rm");
        assert!(watch.wait(Duration::from_secs(10)), "a removal");
    }
}
