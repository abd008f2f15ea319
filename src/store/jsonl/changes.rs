//! How a JSONL store hears that it changed: the kernel tells (inotify on Linux; kqueue on the
//! BSDs and macOS, through the `notify` crate) when the store file or the pause file is
//! written, replaced or removed, and a waiter sleeps until then. On a network filesystem the
//! local kernel does not see other hosts' writes, so there (and wherever notifications cannot
//! be had) the files are looked at every [`POLL`] instead, and [`ChangeWatch::polled`] says
//! why, for `run -v` and `doctor`.
//!
//! On Linux the waiter reads the inotify descriptor itself, with no thread between: the
//! events a runner's own pass causes in the directory (its lock files, the wake record, the
//! start journal) queue up while it works and are read without sleeping, so an idle watcher
//! sleeps once per rescan and nothing else wakes it. The mask asks only for what can change a
//! file's contents or name; opening and closing (every lock taken) are not asked for.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use super::FileIdent;
use crate::wake::Waker;

/// How often the files are looked at when they are polled.
pub const POLL: Duration = Duration::from_millis(250);

/// The watch over one store's files.
#[derive(Debug)]
pub struct ChangeWatch {
    waker: Arc<Waker>,
    source: Source,
}

/// Where news of a change comes from.
#[derive(Debug)]
enum Source {
    #[cfg(target_os = "linux")]
    Inotify(kernel::DirWatch),
    /// Held for its lifetime: dropping it ends the notifications.
    #[cfg(not(target_os = "linux"))]
    Notify(notify::RecommendedWatcher),
    /// Polled: why, and the files' identities at the last look.
    Polled(String, Vec<Looked>),
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
        let polled = |why: String| {
            Source::Polled(
                why,
                files
                    .iter()
                    .map(|f| (f.clone(), FileIdent::of(f)))
                    .collect(),
            )
        };
        let source = if let Some(fs) = network_filesystem(&dir) {
            polled(format!(
                "{} is on a network filesystem ({fs}), where this host's kernel does not see \
                 other hosts' writes",
                dir.display()
            ))
        } else {
            match kernel_source(&dir, files, &waker) {
                Ok(source) => source,
                Err(why) => polled(why),
            }
        };
        Ok(ChangeWatch { waker, source })
    }

    /// Sleeps until a file changes, a stop signal, or `timeout`; whether a file changed.
    pub fn wait(&mut self, timeout: Duration) -> bool {
        match &mut self.source {
            #[cfg(target_os = "linux")]
            Source::Inotify(watch) => watch.wait(&self.waker, timeout),
            #[cfg(not(target_os = "linux"))]
            Source::Notify(_) => self.waker.wait(timeout),
            Source::Polled(_, idents) => poll_files(&self.waker, idents, timeout),
        }
    }

    /// Why the files are polled rather than notified, when they are.
    pub fn polled(&self) -> Option<&str> {
        match &self.source {
            Source::Polled(why, _) => Some(why.as_str()),
            _ => None,
        }
    }
}

/// Looks at the files every [`POLL`] until one differs from its last look or `timeout`.
fn poll_files(waker: &Waker, idents: &mut [Looked], timeout: Duration) -> bool {
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
        waker.wait(left.min(POLL));
        if Instant::now() < deadline && crate::runner::stop_requested() {
            return false;
        }
    }
}

/// inotify on the directory (not the file: every rewrite replaces the file by a rename), or
/// why not.
#[cfg(target_os = "linux")]
fn kernel_source(dir: &Path, files: &[PathBuf], _waker: &Arc<Waker>) -> Result<Source, String> {
    kernel::DirWatch::start(dir, files)
        .map(Source::Inotify)
        .map_err(|e| format!("{} cannot be watched for changes ({e})", dir.display()))
}

/// The `notify` crate's watcher (kqueue, FSEvents), poking the waker from its thread.
#[cfg(not(target_os = "linux"))]
fn kernel_source(dir: &Path, files: &[PathBuf], waker: &Arc<Waker>) -> Result<Source, String> {
    use notify::{EventKind, RecursiveMode, Watcher};
    let wanted: Vec<PathBuf> = files.to_vec();
    let poke = Arc::clone(waker);
    let mut notifier =
        notify::recommended_watcher(move |event: notify::Result<notify::Event>| match event {
            // Reads (ours included) are not changes.
            Ok(e) if matches!(e.kind, EventKind::Access(_)) => {}
            Ok(e) if e.paths.iter().any(|p| wanted.iter().any(|w| w == p)) => poke.changed(),
            Ok(_) => {}
            // A lost event (an overflowed queue) may have been ours: look.
            Err(_) => poke.changed(),
        })
        .map_err(|e| format!("file notifications are not available ({e})"))?;
    notifier
        .watch(dir, RecursiveMode::NonRecursive)
        .map_err(|e| format!("{} cannot be watched for changes ({e})", dir.display()))?;
    Ok(Source::Notify(notifier))
}

#[cfg(target_os = "linux")]
mod kernel {
    use std::ffi::OsString;
    use std::os::fd::AsRawFd;
    use std::path::{Path, PathBuf};
    use std::time::{Duration, Instant};

    use inotify::{EventMask, Inotify, WatchMask};

    use crate::wake::{Waker, Woke};

    /// What can change a watched file: a write or truncation, a file created, removed or
    /// renamed in or out; and the directory itself going away.
    const MASK: WatchMask = WatchMask::MODIFY
        .union(WatchMask::CREATE)
        .union(WatchMask::DELETE)
        .union(WatchMask::MOVED_FROM)
        .union(WatchMask::MOVED_TO)
        .union(WatchMask::DELETE_SELF)
        .union(WatchMask::MOVE_SELF)
        .union(WatchMask::ONLYDIR);

    /// An inotify watch on one directory, for some of its files' names.
    #[derive(Debug)]
    pub struct DirWatch {
        inotify: Inotify,
        dir: PathBuf,
        names: Vec<OsString>,
        /// The directory was removed or moved: its watch is gone and must be added again.
        lost: bool,
    }

    impl DirWatch {
        pub fn start(dir: &Path, files: &[PathBuf]) -> std::io::Result<DirWatch> {
            let inotify = Inotify::init()?;
            inotify.watches().add(dir, MASK)?;
            Ok(DirWatch {
                inotify,
                dir: dir.to_path_buf(),
                names: files
                    .iter()
                    .filter_map(|f| f.file_name().map(OsString::from))
                    .collect(),
                lost: false,
            })
        }

        /// Sleeps until a watched file changes, a stop signal, or `timeout`; whether a file
        /// changed. Events about other files are read and passed over without waking anyone.
        pub fn wait(&mut self, waker: &Waker, timeout: Duration) -> bool {
            if self.lost {
                // The directory may be back; until it is, every look is a change (the pass
                // that follows reports what is wrong), at the poll's pace.
                if self.inotify.watches().add(&self.dir, MASK).is_err() {
                    waker.wait(timeout.min(super::POLL));
                    return true;
                }
                self.lost = false;
                return true;
            }
            let deadline = Instant::now() + timeout;
            loop {
                let left = deadline.saturating_duration_since(Instant::now());
                match waker.wait_with(self.inotify.as_raw_fd(), left) {
                    Woke::Poked { changed } => return changed,
                    Woke::TimedOut => return false,
                    Woke::Ready => {
                        if self.read() {
                            return true;
                        }
                        if left.is_zero() {
                            return false;
                        }
                    }
                }
            }
        }

        /// Reads every queued event; whether one was about a watched file (or may have been:
        /// an overflowed queue, the directory gone).
        fn read(&mut self) -> bool {
            // Aligned for `inotify_event`; room for many events at once.
            #[repr(C, align(8))]
            struct Buffer([u8; 4096]);
            let mut buffer = Buffer([0; 4096]);
            let mut changed = false;
            loop {
                let events = match self.inotify.read_events(&mut buffer.0) {
                    Ok(events) => events,
                    Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => return changed,
                    Err(_) => return true,
                };
                for event in events {
                    if event.mask.contains(EventMask::Q_OVERFLOW) {
                        changed = true;
                    } else if event.mask.intersects(
                        EventMask::IGNORED | EventMask::DELETE_SELF | EventMask::MOVE_SELF,
                    ) {
                        self.lost = true;
                        changed = true;
                    } else if event
                        .name
                        .is_some_and(|name| self.names.iter().any(|n| n == name))
                    {
                        changed = true;
                    }
                }
            }
        }
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
