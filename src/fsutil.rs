//! File operations with the durability and privacy rules of SPEC §2 and §9.
//!
//! Directories we create are `0700`, files `0600`; no open for writing follows a symlink
//! (`O_NOFOLLOW`), so a link planted where we write cannot redirect task text elsewhere.
//! Whole-file replacement is temp file → fsync → rename → fsync of the directory, so a crash
//! leaves the old file or the new one, never a torn one.

use std::fs::{self, DirBuilder, File, OpenOptions};
use std::io::{self, BufWriter, Write};
use std::os::unix::fs::{DirBuilderExt, FileExt, MetadataExt, OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use crate::error::{Error, PathProblem, Result};

/// Creates `dir` and any missing parents with mode `0700`.
pub fn ensure_dir(dir: &Path) -> Result<()> {
    if dir.as_os_str().is_empty() || dir.is_dir() {
        return Ok(());
    }
    DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(dir)
        .map_err(Error::io("creating directory", dir))
}

/// Opens `path` for appending (and reading, to inspect its last byte), creating it `0600`,
/// refusing a symlink in its place.
pub fn open_append(path: &Path) -> Result<File> {
    if let Some(parent) = path.parent() {
        ensure_dir(parent)?;
    }
    let file = OpenOptions::new()
        .read(true)
        .append(true)
        .create(true)
        .mode(0o600)
        .custom_flags(libc::O_NOFOLLOW | libc::O_CLOEXEC)
        .open(path)
        .map_err(|e| refine_open_error(e, "opening for append", path))?;
    make_private(&file, path)?;
    Ok(file)
}

/// Opens an existing or new file for reading and writing (lock files), `0600`, no symlinks.
pub fn open_rw(path: &Path) -> Result<File> {
    if let Some(parent) = path.parent() {
        ensure_dir(parent)?;
    }
    OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .mode(0o600)
        .custom_flags(libc::O_NOFOLLOW | libc::O_CLOEXEC)
        .open(path)
        .map_err(|e| refine_open_error(e, "opening", path))
}

/// Writes a small file whole (prompt artifacts, outputs): `0600`, no symlinks, truncating.
///
/// An existing file is checked before it is truncated: one that belongs to another user is
/// refused, and looser permissions (a file left by the reference tool) are narrowed to `0600`.
pub fn write_private(path: &Path, data: &[u8]) -> Result<()> {
    let mut file = create_private(path)?;
    file.write_all(data).map_err(Error::io("writing", path))
}

/// Opens a file to be written from its start, as [`write_private`] does, and hands it over
/// (an attempt's output, written as it comes).
pub fn create_private(path: &Path) -> Result<File> {
    if let Some(parent) = path.parent() {
        ensure_dir(parent)?;
    }
    let file = OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(false)
        .mode(0o600)
        .custom_flags(libc::O_NOFOLLOW | libc::O_CLOEXEC)
        .open(path)
        .map_err(|e| refine_open_error(e, "writing", path))?;
    if make_private(&file, path)?.is_file() {
        file.set_len(0).map_err(Error::io("truncating", path))?;
    }
    Ok(file)
}

/// Refuses a file another user owns (task text must not be written where they can read it)
/// and narrows the permissions of one of ours to `0600` if they are looser. Anything but a
/// regular file (`DEFER_LOG_FILE=/dev/null`) is the user's explicit choice and left alone.
/// Returns the file's metadata.
fn make_private(file: &File, path: &Path) -> Result<fs::Metadata> {
    let meta = file
        .metadata()
        .map_err(Error::io("reading metadata of", path))?;
    if !meta.is_file() {
        return Ok(meta);
    }
    let uid = effective_uid();
    if meta.uid() != uid && uid != 0 {
        return Err(Error::unsafe_path(
            path,
            PathProblem::OwnedByOther { uid: meta.uid() },
        ));
    }
    if meta.mode() & 0o077 != 0 {
        file.set_permissions(fs::Permissions::from_mode(0o600))
            .map_err(Error::io("restricting the permissions of", path))?;
    }
    Ok(meta)
}

/// Refuses to use `dir` when someone other than its owner could change what is in it, as ssh
/// refuses a private key with loose permissions: whoever can create files in the runtime
/// directory can plant tasks that the runner hands to the executor, or files that task text is
/// then written into.
///
/// `dir` (if it exists) must be owned by the current user or root and not be writable by group
/// or others. Each existing ancestor must be owned by the current user or root and, unless it
/// has the sticky bit (like `/tmp`), not be writable by others, since whoever can write an
/// ancestor can replace the directory. A directory that does not exist yet passes; defer
/// creates it `0700`.
pub fn check_private_dir(dir: &Path) -> Result<()> {
    let dir = dir_or_dot(dir);
    let uid = effective_uid();
    let ancestors_from = match dir.canonicalize() {
        Ok(real) => {
            let meta =
                fs::metadata(&real).map_err(Error::io("checking the permissions of", dir))?;
            check_owner(dir, &meta, uid)?;
            let mode = meta.mode() & 0o7777;
            if mode & 0o022 != 0 {
                let who = match (mode & 0o020 != 0, mode & 0o002 != 0) {
                    (true, true) => "group and others",
                    (true, false) => "its group",
                    _ => "others",
                };
                // A shared directory (sticky, like /tmp) must stay writable by everyone:
                // advising `chmod 700` on it would break every other user of the machine.
                if is_shared_dir(&real, &meta, uid) {
                    return Err(Error::unsafe_path(dir, PathProblem::SharedDir { mode }));
                }
                return Err(Error::unsafe_path(
                    dir,
                    PathProblem::WritableDir { who, mode },
                ));
            }
            // A symlink can be swapped by whoever can write where the link itself lives.
            if fs::symlink_metadata(dir).is_ok_and(|m| m.file_type().is_symlink())
                && let Some(link_parent) = std::path::absolute(dir)
                    .ok()
                    .and_then(|a| a.parent().map(Path::to_path_buf))
            {
                check_ancestors(dir, &link_parent, uid)?;
            }
            real.parent().map(Path::to_path_buf)
        }
        // Not there yet: it will be created 0700; what matters is who can write above it.
        Err(_) => dir
            .ancestors()
            .skip(1)
            .find_map(|p| dir_or_dot(p).canonicalize().ok()),
    };
    match ancestors_from {
        Some(from) => check_ancestors(dir, &from, uid),
        None => Ok(()),
    }
}

/// A directory the system shares between users: `/tmp`, `/var/tmp`, `/dev/shm`, or a sticky
/// one that belongs to someone else (root). A sticky directory of the user's own is theirs to
/// `chmod`.
fn is_shared_dir(real: &Path, meta: &fs::Metadata, uid: u32) -> bool {
    (meta.mode() & 0o1000 != 0 && meta.uid() != uid)
        || ["/tmp", "/var/tmp", "/dev/shm"]
            .iter()
            .any(|shared| real == Path::new(shared))
}

/// `from` and every directory above it: owned by the user or root, and not writable by others
/// unless sticky.
fn check_ancestors(dir: &Path, from: &Path, uid: u32) -> Result<()> {
    for ancestor in from.ancestors() {
        if ancestor.as_os_str().is_empty() {
            continue;
        }
        let meta =
            fs::metadata(ancestor).map_err(Error::io("checking the permissions of", ancestor))?;
        check_owner(ancestor, &meta, uid)?;
        let mode = meta.mode() & 0o7777;
        if mode & 0o002 != 0 && mode & 0o1000 == 0 {
            return Err(Error::unsafe_path(
                ancestor,
                PathProblem::WritableAncestor {
                    below: dir.to_path_buf(),
                    mode,
                },
            ));
        }
    }
    Ok(())
}

/// Refuses an existing file (the task store) that group or others may write.
pub fn check_private_file(path: &Path) -> Result<()> {
    let meta = match fs::metadata(path) {
        Ok(meta) => meta,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(()),
        Err(e) => return Err(Error::io("checking the permissions of", path)(e)),
    };
    if !meta.is_file() {
        return Ok(());
    }
    check_owner(path, &meta, effective_uid())?;
    let mode = meta.mode() & 0o7777;
    if mode & 0o022 != 0 {
        return Err(Error::unsafe_path(path, PathProblem::WritableFile { mode }));
    }
    Ok(())
}

fn check_owner(path: &Path, meta: &fs::Metadata, uid: u32) -> Result<()> {
    if meta.uid() == uid || meta.uid() == 0 {
        return Ok(());
    }
    Err(Error::unsafe_path(
        path,
        PathProblem::Owner {
            uid: meta.uid(),
            me: uid,
        },
    ))
}

fn dir_or_dot(dir: &Path) -> &Path {
    if dir.as_os_str().is_empty() {
        Path::new(".")
    } else {
        dir
    }
}

fn effective_uid() -> u32 {
    // SAFETY: geteuid has no preconditions and cannot fail.
    unsafe { libc::geteuid() }
}

/// Replaces `path` with `data` atomically and durably.
pub fn replace_file(path: &Path, data: &[u8]) -> Result<()> {
    replace_file_with(path, |w| w.write_all(data))
}

/// Writes a small record over the one at `path`, in place, unflushed: for a record rewritten
/// often whose loss in a crash costs nothing (the runner's wake record, which an idle watcher
/// rewrites at every rescan). A rename would free the old file's blocks each time, and on a
/// filesystem mounted with `discard` the writer then waits for the disk: most of an idle
/// watcher's wake-ups. Shorter content is padded with spaces (JSON ignores them), so the
/// file never shrinks and nothing is freed. A reader racing the single `pwrite` could see a
/// mix of two records; [`read_record`] reads again when what it read does not parse. A
/// missing file is created atomically.
pub fn overwrite_record(path: &Path, data: &[u8]) -> Result<()> {
    let replace = || {
        let mut staged = Staged::create(path)?;
        staged
            .writer()
            .write_all(data)
            .map_err(Error::io("writing temporary file", &staged.tmp))?;
        staged.put_in_place()
    };
    let file = match OpenOptions::new()
        .write(true)
        // Non-blocking: a FIFO planted there must not hang the runner (it is refused below).
        .custom_flags(libc::O_NOFOLLOW | libc::O_CLOEXEC | libc::O_NONBLOCK)
        .open(path)
    {
        Ok(file) => file,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return replace(),
        Err(e) => return Err(Error::io("opening", path)(e)),
    };
    let meta = file
        .metadata()
        .map_err(Error::io("reading metadata of", path))?;
    if let Some(what) = not_regular(&meta) {
        return Err(Error::io("writing", path)(io::Error::other(format!(
            "it is {what}, not a regular file"
        ))));
    }
    let old = usize::try_from(meta.len()).unwrap_or(usize::MAX);
    if old > RECORD_PAD_MAX {
        // Not a record of ours (or a huge one): padding it would keep it huge.
        return replace();
    }
    let mut padded = data.to_vec();
    if old > padded.len() {
        padded.resize(old, b' ');
    }
    file.write_all_at(&padded, 0)
        .map_err(Error::io("writing", path))
}

/// The largest file [`overwrite_record`] pads; a larger one is replaced instead.
const RECORD_PAD_MAX: usize = 64 * 1024;

/// Reads a record [`overwrite_record`] writes, parsed; reads again (up to three times) when
/// what it read does not parse, which a write racing the read can cause.
pub fn read_record<T: serde::de::DeserializeOwned>(path: &Path) -> Option<T> {
    for _ in 0..3 {
        let bytes = fs::read(path).ok()?;
        if let Ok(value) = serde_json::from_slice(&bytes) {
            return Some(value);
        }
    }
    None
}

/// Replaces `path` with what `write` produces, atomically and durably (see [`Staged`]).
pub fn replace_file_with(
    path: &Path,
    write: impl FnOnce(&mut BufWriter<File>) -> io::Result<()>,
) -> Result<()> {
    let mut staged = Staged::create(path)?;
    write(staged.writer()).map_err(Error::io("writing temporary file", &staged.tmp))?;
    staged.commit()
}

/// The new content of a file, written beside it until [`Staged::commit`] puts it in place.
///
/// The content is streamed through a buffer into a sibling temp file (same filesystem, so
/// `rename` is atomic) created with `O_EXCL`, so nothing planted there can be written
/// through; on commit it is flushed to disk, renamed over the file, and the directory is
/// flushed. Dropped without a commit (an error on the way), the temp file is removed and the
/// file is untouched, so several files can be prepared and put in place only once all of
/// them were written (`defer import`).
#[derive(Debug)]
pub struct Staged {
    path: PathBuf,
    tmp: PathBuf,
    writer: BufWriter<File>,
    /// Renamed into place: nothing to clean up.
    done: bool,
}

impl Staged {
    /// Starts the new content of `path` (its directory is created if missing).
    pub fn create(path: &Path) -> Result<Staged> {
        ensure_dir(parent_dir(path))?;
        remove_stale_temps(path);
        let tmp = temp_sibling(path);
        let file = OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .custom_flags(libc::O_NOFOLLOW | libc::O_CLOEXEC)
            .open(&tmp)
            .map_err(Error::io("creating temporary file", &tmp))?;
        Ok(Staged {
            path: path.to_path_buf(),
            tmp,
            writer: BufWriter::with_capacity(256 * 1024, file),
            done: false,
        })
    }

    /// Where the content goes; write errors are the caller's to report (with [`Staged::tmp`]).
    pub fn writer(&mut self) -> &mut BufWriter<File> {
        &mut self.writer
    }

    /// The temp file being written, for error messages.
    pub fn tmp(&self) -> &Path {
        &self.tmp
    }

    /// Writes `bytes` and a newline: one line of a JSONL file.
    pub fn write_line(&mut self, bytes: &[u8]) -> Result<()> {
        let w = &mut self.writer;
        w.write_all(bytes)
            .and_then(|()| w.write_all(b"\n"))
            // Lazily: the path is copied only when there is an error to report.
            .map_err(|e| Error::io("writing temporary file", &self.tmp)(e))
    }

    /// Flushes the content to disk and renames it over the file.
    pub fn commit(mut self) -> Result<()> {
        self.writer
            .flush()
            .map_err(Error::io("writing temporary file", &self.tmp))?;
        crate::failpoint::hit("store-temp-written");
        self.writer
            .get_ref()
            .sync_all()
            .map_err(Error::io("flushing temporary file", &self.tmp))?;
        crate::failpoint::hit("store-temp-flushed");
        self.put_in_place()?;
        crate::failpoint::hit("store-renamed");
        sync_dir(parent_dir(&self.path))
    }

    /// Renames the written content over the file (unflushed unless the caller flushed it).
    fn put_in_place(&mut self) -> Result<()> {
        self.writer
            .flush()
            .map_err(Error::io("writing temporary file", &self.tmp))?;
        fs::rename(&self.tmp, &self.path)
            .map_err(Error::io("renaming temporary file over", &self.path))?;
        self.done = true;
        Ok(())
    }
}

impl Drop for Staged {
    fn drop(&mut self) {
        // Not committed, or the commit failed before the rename: the original is untouched
        // and the temp file must not be left behind. Best effort.
        if !self.done {
            let _ = fs::remove_file(&self.tmp);
        }
    }
}

/// Removes temp siblings of `path` (see [`temp_sibling`]) whose writer is dead: a crash
/// between writing a temp file and renaming it leaves one behind, and nothing else would ever
/// remove it. Temp files of live processes are left alone. Best effort: the sweep must never
/// fail the write it precedes.
fn remove_stale_temps(path: &Path) {
    let Some(name) = path.file_name().map(|n| n.to_string_lossy().into_owned()) else {
        return;
    };
    let prefix = format!(".{name}.tmp.");
    let Ok(entries) = fs::read_dir(parent_dir(path)) else {
        return;
    };
    for entry in entries.filter_map(|e| e.ok()) {
        let file_name = entry.file_name();
        let Some(pid) = file_name
            .to_str()
            .and_then(|n| n.strip_prefix(&prefix))
            .and_then(|rest| rest.split('.').next())
            .and_then(|pid| pid.parse::<u32>().ok())
        else {
            continue;
        };
        if pid > 0 && !crate::process::exists(pid) {
            let _ = fs::remove_file(entry.path());
        }
    }
}

/// Makes a rename or a file creation in `dir` durable.
pub fn sync_dir(dir: &Path) -> Result<()> {
    File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(Error::io("flushing directory", dir))
}

/// The directory holding `path` (`.` for a bare file name).
pub fn parent_dir(path: &Path) -> &Path {
    match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    }
}

/// `.<name>.tmp.<pid>.<n>` beside `path`: unique per process and call, hidden from globs.
fn temp_sibling(path: &Path) -> PathBuf {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    parent_dir(path).join(format!(".{name}.tmp.{}.{n}", std::process::id()))
}

/// Reads a whole file; a missing file reads as empty (the store is created on first write).
/// Anything but a regular file is refused (see [`open_regular`]).
pub fn read_or_empty(path: &Path) -> Result<Vec<u8>> {
    let Some(mut file) = open_regular(path)? else {
        return Ok(Vec::new());
    };
    let mut data = Vec::new();
    io::Read::read_to_end(&mut file, &mut data).map_err(Error::io("reading", path))?;
    Ok(data)
}

/// Opens `path` for reading if it is a regular file; `None` if it does not exist.
///
/// A store or context file that is a FIFO would block `list` forever (opening it waits for a
/// writer, reading it waits for data), and a device such as `/dev/zero` never ends, so it
/// would be read until memory runs out. The open is non-blocking, so a FIFO is seen and
/// refused at once; the check is on the opened descriptor, so nothing can swap the file
/// between the check and the read.
pub fn open_regular(path: &Path) -> Result<Option<File>> {
    let file = match OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NONBLOCK | libc::O_CLOEXEC)
        .open(path)
    {
        Ok(file) => file,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(refine_open_error(e, "reading", path)),
    };
    let meta = file
        .metadata()
        .map_err(Error::io("reading metadata of", path))?;
    match not_regular(&meta) {
        None => Ok(Some(file)),
        Some(what) => Err(Error::unsafe_path(path, PathProblem::NotRegular { what })),
    }
}

/// What `meta` describes when it is not a regular file ("a FIFO", "a character device").
pub fn not_regular(meta: &fs::Metadata) -> Option<&'static str> {
    use std::os::unix::fs::FileTypeExt;
    let kind = meta.file_type();
    if kind.is_file() {
        None
    } else if kind.is_dir() {
        Some("a directory")
    } else if kind.is_fifo() {
        Some("a FIFO (named pipe)")
    } else if kind.is_char_device() {
        Some("a character device")
    } else if kind.is_block_device() {
        Some("a block device")
    } else if kind.is_socket() {
        Some("a socket")
    } else {
        Some("not a file")
    }
}

/// Turns the raw errno of a refused open into a message that says what to do.
fn refine_open_error(e: io::Error, action: &'static str, path: &Path) -> Error {
    let problem = match e.raw_os_error() {
        Some(libc::ELOOP) => Some(PathProblem::Symlink),
        Some(libc::EISDIR) => Some(PathProblem::NotRegular {
            what: "a directory",
        }),
        _ => None,
    };
    match problem {
        Some(problem) => Error::unsafe_path(path, problem),
        None => Error::Io {
            path: path.to_path_buf(),
            action,
            source: e,
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::{PermissionsExt, symlink};

    #[test]
    fn created_dirs_and_files_are_private() {
        let tmp = tempfile::tempdir().expect("tempdir");
        let dir = tmp.path().join("a/b");
        ensure_dir(&dir).expect("dir");
        let mode = fs::metadata(&dir).expect("meta").permissions().mode() & 0o777;
        assert_eq!(mode, 0o700);
        let file = dir.join("f");
        write_private(&file, b"x").expect("write");
        let mode = fs::metadata(&file).expect("meta").permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
        replace_file(&file, b"y").expect("replace");
        let mode = fs::metadata(&file).expect("meta").permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
        assert_eq!(fs::read(&file).expect("read"), b"y");
    }

    #[test]
    fn planted_symlinks_are_not_followed() {
        let tmp = tempfile::tempdir().expect("tempdir");
        let target = tmp.path().join("target");
        fs::write(&target, b"keep").expect("target");
        let link = tmp.path().join("link");
        symlink(&target, &link).expect("symlink");
        let err = write_private(&link, b"evil").expect_err("must refuse");
        assert!(err.to_string().contains("symbolic link"), "{err}");
        assert!(open_append(&link).is_err());
        assert_eq!(fs::read(&target).expect("read"), b"keep");
    }

    #[test]
    fn devices_are_written_but_never_chmodded() {
        // DEFER_LOG_FILE=/dev/null is a way to turn the audit log off; as root, narrowing
        // its mode would break the system.
        let before = fs::metadata("/dev/null")
            .expect("meta")
            .permissions()
            .mode();
        open_append(Path::new("/dev/null")).expect("append to /dev/null");
        write_private(Path::new("/dev/null"), b"x").expect("write /dev/null");
        let after = fs::metadata("/dev/null")
            .expect("meta")
            .permissions()
            .mode();
        assert_eq!(before, after);
    }

    #[test]
    fn stale_temp_files_are_swept_and_live_ones_kept() {
        let tmp = tempfile::tempdir().expect("tempdir");
        let file = tmp.path().join("store.jsonl");
        let dead = tmp.path().join(".store.jsonl.tmp.2147483646.0");
        let live = tmp
            .path()
            .join(format!(".store.jsonl.tmp.{}.99", std::process::id()));
        fs::write(&dead, b"left by a crash").expect("dead");
        fs::write(&live, b"ours").expect("live");
        replace_file(&file, b"1\n").expect("replace");
        assert!(!dead.exists(), "a dead writer's temp file is removed");
        assert!(live.exists(), "a live writer's temp file is kept");
    }

    #[test]
    fn a_record_is_overwritten_in_place_and_reads_back_whole() {
        let tmp = tempfile::tempdir().expect("tempdir");
        let path = tmp.path().join(".record.json");
        overwrite_record(&path, br#"{"a":"a long first value"}"#).expect("create");
        let mode = fs::metadata(&path).expect("meta").permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
        let inode = fs::metadata(&path).expect("meta").ino();
        overwrite_record(&path, br#"{"a":"short"}"#).expect("overwrite");
        let meta = fs::metadata(&path).expect("meta");
        assert_eq!(meta.ino(), inode, "the same file, not a replacement");
        assert_eq!(meta.len(), 26, "padded, never shrunk");
        let read: serde_json::Value = read_record(&path).expect("parses");
        assert_eq!(read["a"], "short");
        // Symlinks are not followed, and a FIFO neither hangs the writer nor is written.
        let target = tmp.path().join("target");
        let link = tmp.path().join("link.json");
        symlink(&target, &link).expect("symlink");
        assert!(overwrite_record(&link, b"{}").is_err());
        assert!(!target.exists());
        let fifo = tmp.path().join("fifo.json");
        let c = std::ffi::CString::new(fifo.as_os_str().as_encoded_bytes()).expect("path");
        // SAFETY: a valid C path.
        assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o600) }, 0);
        assert!(overwrite_record(&fifo, b"{}").is_err());
        // A file too large to pad is replaced, never left with old bytes after the new ones.
        let big = tmp.path().join("big.json");
        fs::write(&big, vec![b'x'; RECORD_PAD_MAX + 1]).expect("big");
        overwrite_record(&big, b"{}").expect("replace");
        assert_eq!(fs::read(&big).expect("read"), b"{}");
        assert_eq!(
            read_record::<serde_json::Value>(&tmp.path().join("none")),
            None
        );
    }

    #[test]
    fn replace_leaves_no_temp_files() {
        let tmp = tempfile::tempdir().expect("tempdir");
        let file = tmp.path().join("store.jsonl");
        replace_file(&file, b"1\n").expect("replace");
        replace_file(&file, b"2\n").expect("replace");
        let names: Vec<_> = fs::read_dir(tmp.path())
            .expect("ls")
            .map(|e| e.expect("entry").file_name())
            .collect();
        assert_eq!(names, vec![std::ffi::OsString::from("store.jsonl")]);
    }
}
