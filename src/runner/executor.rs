//! Running `DEFER_EXECUTOR` for one task (SPEC §8.3).
//!
//! The executor is executed directly, never through a shell, with the task JSON on stdin.
//! It runs in its own process group so that a timeout kills everything it started (TERM, a
//! short grace, then KILL); `spawn` starts it. stdout and stderr are drained as they come (one
//! thread polling both pipes and a pidfd), so a chatty executor never blocks on a full pipe,
//! and kept apart: stdout is the result, stderr the explanation of a failure. Each chunk goes
//! to the attempt's file at once ([`StreamFile`]), so what an executor prints can be followed
//! while it runs; memory keeps only the beginning each record needs.

use std::io::{Read, Write};
use std::os::unix::process::ExitStatusExt;
use std::path::{Path, PathBuf};
use std::process::ExitStatus;
use std::sync::mpsc::{self, RecvTimeoutError};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant};

use super::spawn::{self, Spawned};
use super::stream::StreamFile;
use super::unix;

/// How long a timed-out executor gets between SIGTERM and SIGKILL.
const KILL_GRACE: Duration = Duration::from_secs(3);
/// How long to wait for the pipes to close after the executor exits (a background child may
/// hold them open); after that, what was read so far is used.
const PIPE_GRACE: Duration = Duration::from_secs(2);
/// stdout bytes kept in memory: the record's copy (the whole output is in the attempt's file).
pub const STDOUT_KEEP: usize = 64 * 1024;
/// stderr bytes kept in memory: the failure's explanation in the record.
pub const STDERR_KEEP: usize = 64 * 1024;
/// Input up to this size is written before any thread is started: an empty pipe always holds
/// at least one page.
const INLINE_STDIN: usize = 4096;

/// What one run produced.
#[derive(Debug)]
pub struct Finished {
    pub status: Option<ExitStatus>,
    pub timed_out: bool,
    pub stdout: Captured,
    pub stderr: Captured,
    /// The attempt's output files, every byte written; `finish` them.
    pub files: [StreamFile; 2],
}

impl Finished {
    /// Exit 0 within the time limit.
    pub fn success(&self) -> bool {
        !self.timed_out && self.status.is_some_and(|s| s.success())
    }

    /// The exit code, if it exited (rather than being killed).
    pub fn exit_code(&self) -> Option<i32> {
        self.status.and_then(|s| s.code())
    }

    /// The signal that ended it, if any.
    pub fn signal(&self) -> Option<i32> {
        self.status.and_then(|s| s.signal())
    }
}

/// Bytes read from a pipe, up to a limit, and how many there were in all.
#[derive(Debug, Default, Clone)]
pub struct Captured {
    pub bytes: Vec<u8>,
    pub total: u64,
}

/// Why the executor could not be run at all.
#[derive(Debug)]
pub struct Unusable(pub String);

/// Checks that `path` names an executable regular file (or a program on `PATH` when it has
/// no slash), saying which of those it is not, so a setup fault stops a run before it claims
/// anything.
pub fn check_usable(path: &Path) -> Result<PathBuf, Unusable> {
    let resolved = if path.components().count() == 1 && !path.to_string_lossy().contains('/') {
        search_path(path).ok_or_else(|| {
            Unusable(format!(
                "DEFER_EXECUTOR {} was not found on PATH; set it to the program's absolute path",
                path.display()
            ))
        })?
    } else {
        path.to_path_buf()
    };
    let shown = resolved.display();
    match std::fs::metadata(&resolved) {
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Err(Unusable(format!(
            "DEFER_EXECUTOR {shown} does not exist; set it to the path of an executable program"
        ))),
        Err(e) => Err(Unusable(format!(
            "DEFER_EXECUTOR {shown} cannot be read: {e}"
        ))),
        Ok(meta) if !meta.is_file() => Err(Unusable(format!(
            "DEFER_EXECUTOR {shown} is not a regular file; point it at an executable program"
        ))),
        // The metadata just read: one `stat` per attempt, not two.
        Ok(meta) if !unix::is_executable(&meta) => Err(Unusable(format!(
            "DEFER_EXECUTOR {shown} is not executable; make it so with chmod +x {shown}"
        ))),
        Ok(_) => Ok(resolved),
    }
}

fn search_path(name: &Path) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|dir| dir.join(name))
        .find(|p| unix::is_executable_file(p))
}

/// Variables removed from the executor's environment unless `DEFER_EXECUTOR_KEEP_SECRETS=1`:
/// the database URL may carry a password, and libpq reads these to log in. The executor runs
/// untrusted task text; a secret in its environment reaches everything it starts and every
/// transcript that prints the environment. The runner gives back the URL without its
/// password (`attempt::Handoff`); `PGPASSFILE` is not removed: it names a file (which the
/// executor, running as the same user, could read anyway), and the `defer` an executor runs
/// logs in through it.
pub const SECRET_VARS: &[&str] = &[
    "DEFER_DATABASE_URL",
    "DEFER_TEST_DATABASE_URL",
    "PGPASSWORD",
    "PGSERVICEFILE",
    "PGSERVICE",
    "PGSSLKEY",
    "PGSSLPASSWORD",
    "PGSSLCERT",
    "PGKRBSRVNAME",
    "PGGSSLIB",
];

/// Runs the executor to completion or timeout, writing its stdout and stderr to `files` as
/// they come; `strip_secrets` removes [`SECRET_VARS`] from the environment it inherits.
pub fn execute(
    program: &Path,
    stdin: Vec<u8>,
    env: &[(&str, String)],
    timeout: Duration,
    strip_secrets: bool,
    cwd: Option<&Path>,
    files: [StreamFile; 2],
) -> Result<Finished, Unusable> {
    // Counted before the spawn, so no sweep can take the new executor for an orphan.
    let _running = Running::start();
    let spec = spawn::Spec {
        program,
        set: env,
        remove: if strip_secrets { SECRET_VARS } else { &[] },
        cwd,
    };
    let mut child = spawn::spawn(&spec).map_err(|e| {
        Unusable(format!(
            "Configured DEFER_EXECUTOR could not be started: {}: {e}",
            program.display()
        ))
    })?;

    // The writer signals when it is done; a descendant that holds stdin open without reading
    // must not keep the runner waiting, so the wait for it is bounded like the readers'.
    let mut writer = None;
    if let Some(mut pipe) = child.stdin.take() {
        if stdin.len() <= INLINE_STDIN {
            // An executor that exits without reading closes the pipe: not our error.
            let _ = pipe.write_all(&stdin);
        } else {
            let (done_tx, done_rx) = mpsc::channel::<()>();
            thread::spawn(move || {
                let _ = pipe.write_all(&stdin);
                drop(pipe);
                let _ = done_tx.send(());
            });
            writer = Some(done_rx);
        }
    }
    let status_and_output = match child.pidfd.take() {
        Some(pidfd) => supervise_polling(child, &pidfd, timeout, files),
        None => supervise_threads(child, timeout, files),
    };
    let (status, timed_out, [stdout, stderr], files) = status_and_output;
    if let Some(done) = writer
        && !timed_out
    {
        let _ = done.recv_timeout(PIPE_GRACE);
    }
    Ok(Finished {
        status,
        timed_out,
        stdout,
        stderr,
        files,
    })
}

/// How many executors this process is running. While one runs, a child of ours may be its
/// executor; when the count falls to zero, every child left is an orphan some executor
/// abandoned (a `setsid` grandchild the group kill missed, a daemon it left behind), and the
/// last one out kills and reaps them ([`unix::kill_orphans`]).
static RUNNING: std::sync::Mutex<usize> = std::sync::Mutex::new(0);

/// One executor counted in [`RUNNING`] for as long as the guard lives.
struct Running;

impl Running {
    fn start() -> Running {
        *RUNNING.lock().unwrap_or_else(|e| e.into_inner()) += 1;
        Running
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        let mut running = RUNNING.lock().unwrap_or_else(|e| e.into_inner());
        *running = running.saturating_sub(1);
        if *running == 0 {
            // Under the lock: no executor can be spawned while the sweep runs.
            unix::kill_orphans();
        }
    }
}

type Supervised = (Option<ExitStatus>, bool, [Captured; 2], [StreamFile; 2]);

/// Waits for the executor and drains its pipes from this thread alone, with `poll` on the
/// two pipes and a pidfd (Linux 5.3+): no helper threads, no sleeping, so a fast executor
/// costs little more than its own spawn.
fn supervise_polling(
    mut child: Spawned,
    pidfd: &unix::PidFd,
    timeout: Duration,
    mut files: [StreamFile; 2],
) -> Supervised {
    let pgid = child.id();
    let mut pipes = [
        child.stdout.take().map(|p| Box::new(p) as Box<dyn ReadFd>),
        child.stderr.take().map(|p| Box::new(p) as Box<dyn ReadFd>),
    ];
    let keep = [STDOUT_KEEP, STDERR_KEEP];
    let mut captured = [Captured::default(), Captured::default()];
    let deadline = Instant::now() + timeout;
    let mut status = None;
    let mut exited_at: Option<Instant> = None;
    let mut timed_out = false;
    let mut kill_at: Option<Instant> = None;
    let mut buf = vec![0u8; 64 * 1024];
    loop {
        let now = Instant::now();
        if exited_at.is_none() && !timed_out && now >= deadline {
            timed_out = true;
            unix::signal_group(pgid, libc::SIGTERM);
            kill_at = Some(now + KILL_GRACE);
        }
        if let Some(at) = kill_at
            && now >= at
        {
            unix::signal_group(pgid, libc::SIGKILL);
            kill_at = None;
        }
        if let Some(at) = exited_at
            && (pipes.iter().all(Option::is_none) || now >= at + PIPE_GRACE)
        {
            break;
        }
        // Sleep in poll until output, the exit, or the next deadline.
        let wake = [
            (exited_at.is_none() && !timed_out).then_some(deadline),
            kill_at,
            exited_at.map(|at| at + PIPE_GRACE),
        ]
        .into_iter()
        .flatten()
        .min();
        let wait_ms = wake.map_or(-1, |w| {
            let ms = w.saturating_duration_since(now).as_millis() + 1;
            i32::try_from(ms).unwrap_or(i32::MAX)
        });
        let mut fds = Vec::with_capacity(3);
        for pipe in pipes.iter().flatten() {
            fds.push(unix::readable(pipe.fd()));
        }
        if exited_at.is_none() {
            fds.push(unix::readable(pidfd.fd()));
        }
        if !unix::poll(&mut fds, wait_ms) {
            continue;
        }
        let mut next = 0;
        for (i, pipe) in pipes.iter_mut().enumerate() {
            let Some(p) = pipe else { continue };
            let ready = unix::is_ready(&fds[next]);
            next += 1;
            if !ready {
                continue;
            }
            match p.read(&mut buf) {
                Ok(0) => *pipe = None,
                Ok(n) => {
                    files[i].write(&buf[..n]);
                    let c = &mut captured[i];
                    c.total += n as u64;
                    let room = keep[i].saturating_sub(c.bytes.len());
                    c.bytes.extend_from_slice(&buf[..n.min(room)]);
                }
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                Err(_) => *pipe = None,
            }
        }
        if exited_at.is_none() && unix::is_ready(&fds[next]) {
            status = child.wait().ok();
            exited_at = Some(Instant::now());
        }
    }
    if timed_out {
        // Children that ignored TERM, or outlived the leader, go too.
        unix::signal_group(pgid, libc::SIGKILL);
    }
    (status, timed_out, captured, files)
}

/// A pipe we can poll and read.
trait ReadFd: Read {
    fn fd(&self) -> std::os::fd::RawFd;
}

impl<T: Read + std::os::fd::AsRawFd> ReadFd for T {
    fn fd(&self) -> std::os::fd::RawFd {
        self.as_raw_fd()
    }
}

/// The portable fallback: a thread waits for the exit, one drains each pipe.
fn supervise_threads(mut child: Spawned, timeout: Duration, files: [StreamFile; 2]) -> Supervised {
    let pgid = child.id();
    let [out_file, err_file] = files;
    let stdout = reader(child.stdout.take(), STDOUT_KEEP, out_file);
    let stderr = reader(child.stderr.take(), STDERR_KEEP, err_file);

    let (tx, rx) = mpsc::channel();
    thread::spawn(move || {
        let _ = tx.send(child.wait());
    });

    let mut timed_out = false;
    let status = match rx.recv_timeout(timeout) {
        Ok(status) => status.ok(),
        Err(RecvTimeoutError::Timeout) => {
            timed_out = true;
            unix::signal_group(pgid, libc::SIGTERM);
            let status = match rx.recv_timeout(KILL_GRACE) {
                Ok(status) => status.ok(),
                Err(_) => {
                    unix::signal_group(pgid, libc::SIGKILL);
                    rx.recv().ok().and_then(Result::ok)
                }
            };
            // Children that ignored TERM, or outlived the leader, go too.
            unix::signal_group(pgid, libc::SIGKILL);
            status
        }
        Err(RecvTimeoutError::Disconnected) => None,
    };
    let (out, out_file) = stdout.collect();
    let (err, err_file) = stderr.collect();
    (status, timed_out, [out, err], [out_file, err_file])
}

/// What a reader thread shares: what it kept, and the file it writes (taken back at the end,
/// after which the thread writes nothing more).
type Shared = Arc<Mutex<(Captured, Option<StreamFile>)>>;

/// A pipe being drained on its own thread.
struct Reader {
    shared: Shared,
    path: std::path::PathBuf,
    done: mpsc::Receiver<()>,
}

impl Reader {
    /// What was read, and the file, once the pipe closed or the grace ran out.
    fn collect(self) -> (Captured, StreamFile) {
        let _ = self.done.recv_timeout(PIPE_GRACE);
        let mut shared = self.shared.lock().unwrap_or_else(|p| p.into_inner());
        let file = shared
            .1
            .take()
            .unwrap_or_else(|| StreamFile::new(self.path.clone()));
        (shared.0.clone(), file)
    }
}

fn reader(pipe: Option<impl Read + Send + 'static>, keep: usize, file: StreamFile) -> Reader {
    let path = file.path().to_path_buf();
    let shared: Shared = Arc::new(Mutex::new((Captured::default(), Some(file))));
    let (tx, done) = mpsc::channel();
    let sink = Arc::clone(&shared);
    thread::spawn(move || {
        let Some(mut pipe) = pipe else {
            let _ = tx.send(());
            return;
        };
        let mut buf = [0u8; 16 * 1024];
        loop {
            match pipe.read(&mut buf) {
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                Ok(0) | Err(_) => break,
                Ok(n) => {
                    let Ok(mut guard) = sink.lock() else { break };
                    let (c, file) = &mut *guard;
                    let Some(file) = file else { break };
                    file.write(&buf[..n]);
                    c.total += n as u64;
                    let room = keep.saturating_sub(c.bytes.len());
                    c.bytes.extend_from_slice(&buf[..n.min(room)]);
                }
            }
        }
        let _ = tx.send(());
    });
    Reader { shared, path, done }
}
