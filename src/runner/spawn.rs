//! Starting an executor process: its own process group, three pipes, a chosen environment and
//! an optional working directory, at the lowest cost the kernel allows.
//!
//! std's `Command` already takes glibc's `posix_spawn` here (a `CLONE_VM | CLONE_VFORK` child,
//! no copy of the address space), but glibc's child then resets signal handlers one signal at
//! a time: it blocks every signal first, so it must ask the disposition of each of the 64 and
//! write most of them back, about 120 `rt_sigaction` calls before every `execve`, and 6
//! `getrlimit` calls to validate the three `dup2` actions. On Linux 5.5+ (x86_64), this module
//! clones the child itself with `clone3(CLONE_VM | CLONE_VFORK | CLONE_CLEAR_SIGHAND |
//! CLONE_PIDFD)`: the kernel resets every handled signal to its default in the new process
//! in one step, so no handler of ours can run on the shared memory before `execve` and no
//! signal needs to be blocked around the clone; the pidfd the supervisor polls comes with the
//! clone instead of from a `pidfd_open`. The child then makes seven system calls: `setpgid`,
//! three `dup2`, the default disposition for SIGPIPE (which std ignores and an ignored signal
//! stays ignored across `execve`), an empty signal mask, `execve`; `chdir` too for `--cwd`.
//! Every descriptor the runner opens is close-on-exec (std and this module open them so), so
//! none is closed one by one. If `execve` (or a step before it) fails, the child stores the
//! error where the waiting parent reads it and exits, so the caller gets the same
//! `io::Error` `Command::spawn` would return.
//!
//! Elsewhere (another architecture, an older kernel that answers `ENOSYS` or `EINVAL`, a
//! seccomp filter that answers `EPERM`), the same request goes through std's `Command`, as
//! before.

use std::ffi::{CString, OsStr, OsString};
use std::fs::File;
use std::io;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::process::{CommandExt, ExitStatusExt};
use std::path::Path;
use std::process::{Child, Command, ExitStatus, Stdio};

use super::unix::PidFd;

/// What to start: the program (a path, run without a shell), variables to add or replace,
/// variables to remove, and the working directory.
#[derive(Debug)]
pub struct Spec<'a> {
    pub program: &'a Path,
    pub set: &'a [(&'a str, String)],
    pub remove: &'a [&'a str],
    pub cwd: Option<&'a Path>,
}

/// A started executor: its pid (= its process group), the parent's ends of its pipes, and a
/// pidfd when the kernel gave one.
#[derive(Debug)]
pub struct Spawned {
    pid: u32,
    pub pidfd: Option<PidFd>,
    pub stdin: Option<File>,
    pub stdout: Option<File>,
    pub stderr: Option<File>,
    /// Set when std started it: its `wait` reaps it.
    std_child: Option<Child>,
}

impl Spawned {
    /// The process id, which is also its process group id.
    pub fn id(&self) -> u32 {
        self.pid
    }

    /// Waits for the process to exit and reaps it.
    pub fn wait(&mut self) -> io::Result<ExitStatus> {
        if let Some(child) = &mut self.std_child {
            return child.wait();
        }
        let pid = libc::pid_t::try_from(self.pid).map_err(io::Error::other)?;
        loop {
            let mut status = 0;
            // SAFETY: waitpid takes a pid of our own child and a valid place for the status.
            let rc = unsafe { libc::waitpid(pid, &mut status, 0) };
            if rc == pid {
                return Ok(ExitStatus::from_raw(status));
            }
            let e = io::Error::last_os_error();
            if e.kind() != io::ErrorKind::Interrupted {
                return Err(e);
            }
        }
    }
}

/// Starts `spec` with stdin, stdout and stderr piped, in a new process group.
pub fn spawn(spec: &Spec<'_>) -> io::Result<Spawned> {
    #[cfg(all(target_os = "linux", target_arch = "x86_64"))]
    {
        use std::sync::atomic::{AtomicBool, Ordering};
        /// Cleared once the kernel refuses `clone3` or one of its flags: std from then on.
        static CLONE3_WORKS: AtomicBool = AtomicBool::new(true);
        if CLONE3_WORKS.load(Ordering::Relaxed) {
            match linux::spawn(spec) {
                // ENOSYS/EINVAL: an older kernel; EPERM: a seccomp filter (some container
                // runtimes) that refuses clone3 outright.
                Err(e)
                    if matches!(
                        e.raw_os_error(),
                        Some(libc::ENOSYS | libc::EINVAL | libc::EPERM)
                    ) =>
                {
                    CLONE3_WORKS.store(false, Ordering::Relaxed);
                }
                other => return other,
            }
        }
    }
    spawn_std(spec)
}

/// The portable path: std's `Command` (glibc's `posix_spawn` on Linux).
fn spawn_std(spec: &Spec<'_>) -> io::Result<Spawned> {
    let mut command = Command::new(spec.program);
    command
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .process_group(0);
    for key in spec.remove {
        command.env_remove(key);
    }
    for (key, value) in spec.set {
        command.env(key, value);
    }
    if let Some(dir) = spec.cwd {
        command.current_dir(dir);
    }
    let mut child = command.spawn()?;
    let pid = child.id();
    Ok(Spawned {
        pid,
        pidfd: PidFd::open(pid),
        stdin: child
            .stdin
            .take()
            .map(|p| File::from(std::os::fd::OwnedFd::from(p))),
        stdout: child
            .stdout
            .take()
            .map(|p| File::from(std::os::fd::OwnedFd::from(p))),
        stderr: child
            .stderr
            .take()
            .map(|p| File::from(std::os::fd::OwnedFd::from(p))),
        std_child: Some(child),
    })
}

/// The environment the child gets: ours, less `remove` and the keys of `set`, plus `set`.
fn environment(spec: &Spec<'_>) -> io::Result<Vec<CString>> {
    let replaced = |key: &OsStr| {
        spec.remove.iter().any(|k| OsStr::new(k) == key)
            || spec.set.iter().any(|(k, _)| OsStr::new(k) == key)
    };
    let mut env = Vec::new();
    for (key, value) in std::env::vars_os() {
        if !replaced(&key) {
            env.push(pair(&key, &value)?);
        }
    }
    for (key, value) in spec.set {
        env.push(pair(OsStr::new(key), &OsString::from(value))?);
    }
    Ok(env)
}

fn pair(key: &OsStr, value: &OsStr) -> io::Result<CString> {
    let mut bytes = Vec::with_capacity(key.len() + value.len() + 1);
    bytes.extend_from_slice(key.as_bytes());
    bytes.push(b'=');
    bytes.extend_from_slice(value.as_bytes());
    c_string(bytes)
}

fn c_string(bytes: Vec<u8>) -> io::Result<CString> {
    CString::new(bytes).map_err(|_| {
        io::Error::new(
            io::ErrorKind::InvalidInput,
            "nul byte found in provided data",
        )
    })
}

#[cfg(all(target_os = "linux", target_arch = "x86_64"))]
mod linux {
    use std::ffi::CString;
    use std::fs::File;
    use std::io;
    use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
    use std::os::unix::ffi::OsStrExt;
    use std::sync::atomic::{AtomicI32, Ordering};

    use super::{Spawned, Spec, c_string, environment};
    use crate::runner::unix::PidFd;

    /// `CLONE_CLEAR_SIGHAND` (Linux 5.5): handled signals start at their default in the child.
    const CLONE_CLEAR_SIGHAND: u64 = 0x1_0000_0000;
    /// Stack for the child until `execve`: it makes a few system calls and nothing else.
    const CHILD_STACK: usize = 64 * 1024;

    thread_local! {
        /// Each thread's child stack, allocated once: a thread starts one child at a time and
        /// is suspended until that child has called `execve` (or exited).
        static STACK: std::cell::RefCell<Box<[std::mem::MaybeUninit<u8>]>> =
            std::cell::RefCell::new(Box::new_uninit_slice(CHILD_STACK));
    }

    /// What the child needs, prepared by the parent (the child allocates nothing).
    struct ChildArgs {
        /// The child's ends of the stdin, stdout and stderr pipes (all above 2).
        fds: [RawFd; 3],
        path: *const libc::c_char,
        argv: *const *const libc::c_char,
        envp: *const *const libc::c_char,
        /// Null: stay in the runner's directory.
        cwd: *const libc::c_char,
        /// The errno of the step that failed; 0 while none did.
        error: AtomicI32,
    }

    /// A pipe whose both ends are close-on-exec.
    fn pipe() -> io::Result<(OwnedFd, OwnedFd)> {
        let mut fds = [0; 2];
        // SAFETY: fds is a valid place for two descriptors.
        if unsafe { libc::pipe2(fds.as_mut_ptr(), libc::O_CLOEXEC) } != 0 {
            return Err(io::Error::last_os_error());
        }
        // SAFETY: pipe2 returned two fresh descriptors that nothing else owns.
        Ok(unsafe { (OwnedFd::from_raw_fd(fds[0]), OwnedFd::from_raw_fd(fds[1])) })
    }

    /// `fd` moved above 2 if it is a standard descriptor (possible only when this process was
    /// started with one closed), so that the child's `dup2` onto 0, 1 and 2 clobbers nothing.
    fn above_stdio(fd: OwnedFd) -> io::Result<OwnedFd> {
        if fd.as_raw_fd() > 2 {
            return Ok(fd);
        }
        // SAFETY: F_DUPFD_CLOEXEC duplicates a descriptor we own to a fresh one >= 3.
        let new = unsafe { libc::fcntl(fd.as_raw_fd(), libc::F_DUPFD_CLOEXEC, 3) };
        if new < 0 {
            return Err(io::Error::last_os_error());
        }
        // SAFETY: a fresh descriptor that nothing else owns.
        Ok(unsafe { OwnedFd::from_raw_fd(new) })
    }

    pub(super) fn spawn(spec: &Spec<'_>) -> io::Result<Spawned> {
        let path = c_string(spec.program.as_os_str().as_bytes().to_vec())?;
        let argv = [path.as_ptr(), std::ptr::null()];
        let env = environment(spec)?;
        let mut envp: Vec<*const libc::c_char> = env.iter().map(|v| v.as_ptr()).collect();
        envp.push(std::ptr::null());
        let cwd = spec
            .cwd
            .map(|d| c_string(d.as_os_str().as_bytes().to_vec()))
            .transpose()?;

        let (stdin_r, stdin_w) = pipe()?;
        let (stdout_r, stdout_w) = pipe()?;
        let (stderr_r, stderr_w) = pipe()?;
        let theirs = [
            above_stdio(stdin_r)?,
            above_stdio(stdout_w)?,
            above_stdio(stderr_w)?,
        ];

        let args = ChildArgs {
            fds: [
                theirs[0].as_raw_fd(),
                theirs[1].as_raw_fd(),
                theirs[2].as_raw_fd(),
            ],
            path: path.as_ptr(),
            argv: argv.as_ptr(),
            envp: envp.as_ptr(),
            cwd: cwd
                .as_ref()
                .map_or(std::ptr::null(), |c: &CString| c.as_ptr()),
            error: AtomicI32::new(0),
        };
        let mut pidfd: RawFd = -1;
        // SAFETY: an all-zero clone_args is valid; every field used is set below.
        let mut clone: libc::clone_args = unsafe { std::mem::zeroed() };
        clone.flags =
            (libc::CLONE_VM | libc::CLONE_VFORK | libc::CLONE_PIDFD) as u64 | CLONE_CLEAR_SIGHAND;
        clone.pidfd = std::ptr::addr_of_mut!(pidfd) as u64;
        clone.exit_signal = libc::SIGCHLD as u64;
        let pid = STACK.with_borrow_mut(|stack| {
            // The kernel starts the child's stack pointer at stack + stack_size, which must be
            // 16-aligned: start at an aligned address and use a multiple of 16 bytes.
            let base = stack.as_mut_ptr() as usize;
            let aligned = (base + 15) & !15;
            clone.stack = aligned as u64;
            clone.stack_size = ((CHILD_STACK - (aligned - base)) & !15) as u64;
            // SAFETY: `clone` describes a vfork-style child on this thread's stack buffer,
            // which runs `child` with `args`; CLONE_VFORK suspends this thread until the child
            // has called execve or exited, so `args`, the buffer and everything they point to
            // outlive the child's use of them.
            unsafe { clone3(&mut clone, &args) }
        });
        if pid < 0 {
            return Err(io::Error::from_raw_os_error(
                i32::try_from(-pid).unwrap_or(libc::EINVAL),
            ));
        }
        let pid = libc::pid_t::try_from(pid).map_err(io::Error::other)?;
        // SAFETY: with CLONE_PIDFD the kernel wrote a fresh, close-on-exec pidfd.
        let pidfd = (pidfd >= 0).then(|| PidFd::from_owned(unsafe { OwnedFd::from_raw_fd(pidfd) }));
        drop(theirs);
        let error = args.error.load(Ordering::Acquire);
        if error != 0 {
            // The child exited without running the program: reap it, report why.
            let mut status = 0;
            // SAFETY: pid is our own child; status is a valid place to write.
            unsafe { libc::waitpid(pid, &mut status, 0) };
            return Err(io::Error::from_raw_os_error(error));
        }
        Ok(Spawned {
            pid: pid.unsigned_abs(),
            pidfd,
            stdin: Some(File::from(stdin_w)),
            stdout: Some(File::from(stdout_r)),
            stderr: Some(File::from(stderr_r)),
            std_child: None,
        })
    }

    /// `clone3` with a new stack: the child starts on it inside this function and calls
    /// `child(args)`, which never returns; the parent gets the child's pid or `-errno`.
    ///
    /// # Safety
    /// `clone` must describe a valid stack and flags that include `CLONE_VM | CLONE_VFORK`
    /// (the child runs on this process's memory while this thread waits).
    unsafe fn clone3(clone: &mut libc::clone_args, args: &ChildArgs) -> i64 {
        let ret: i64;
        // SAFETY: the caller's contract; the child path never returns into compiled code.
        unsafe {
            std::arch::asm!(
                "syscall",
                "test rax, rax",
                "jnz 2f",
                // The child, on its own stack: call child(args); it ends in execve or _exit.
                "mov rdi, r12",
                "call r13",
                "ud2",
                "2:",
                inlateout("rax") libc::SYS_clone3 => ret,
                in("rdi") clone as *mut libc::clone_args,
                in("rsi") std::mem::size_of::<libc::clone_args>(),
                in("r12") args as *const ChildArgs,
                in("r13") child as extern "C" fn(*const ChildArgs) -> !,
                lateout("rcx") _,
                lateout("r11") _,
                options(nostack),
            );
        }
        ret
    }

    /// The child between clone and execve. It shares the parent's memory, so it only reads
    /// what the parent prepared and makes system calls; on failure it stores errno for the
    /// parent and exits.
    extern "C" fn child(args: *const ChildArgs) -> ! {
        // SAFETY: the parent passed a valid ChildArgs and waits (CLONE_VFORK) while we use it.
        let args = unsafe { &*args };
        let fail = || -> ! {
            let errno = io::Error::last_os_error()
                .raw_os_error()
                .unwrap_or(libc::EINVAL);
            args.error.store(errno.max(1), Ordering::Release);
            // SAFETY: _exit ends this process at once, running nothing of the parent's.
            unsafe { libc::_exit(127) }
        };
        // SAFETY: each call below takes plain integers or pointers the parent keeps valid.
        unsafe {
            if libc::setpgid(0, 0) != 0 {
                fail();
            }
            for (fd, target) in args.fds.iter().zip([0, 1, 2]) {
                // dup2 gives `target` without close-on-exec; `fd` itself closes at execve.
                if libc::dup2(*fd, target) < 0 {
                    fail();
                }
            }
            if !args.cwd.is_null() && libc::chdir(args.cwd) != 0 {
                fail();
            }
            let mut default: libc::sigaction = std::mem::zeroed();
            default.sa_sigaction = libc::SIG_DFL;
            if libc::sigaction(libc::SIGPIPE, &default, std::ptr::null_mut()) != 0 {
                fail();
            }
            let mut none: libc::sigset_t = std::mem::zeroed();
            libc::sigemptyset(&mut none);
            if libc::sigprocmask(libc::SIG_SETMASK, &none, std::ptr::null_mut()) != 0 {
                fail();
            }
            libc::execve(args.path, args.argv, args.envp);
        }
        fail()
    }
}

#[cfg(test)]
mod tests {
    use std::io::{Read, Write};
    use std::os::unix::fs::PermissionsExt;

    use super::*;

    /// A script in a fresh directory, executable.
    fn script(dir: &Path, body: &str) -> std::path::PathBuf {
        let path = dir.join("executor.sh");
        std::fs::write(&path, format!("#!/bin/sh\n{body}\n")).expect("write script");
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).expect("chmod");
        path
    }

    /// Runs `spec` through `start`, feeding `input`, and returns (status, stdout, stderr).
    fn run(start: Start, spec: &Spec<'_>, input: &[u8]) -> (ExitStatus, String, String) {
        let mut child = start(spec).expect("spawn");
        let mut stdin = child.stdin.take().expect("stdin");
        stdin.write_all(input).expect("write stdin");
        drop(stdin);
        let (mut out, mut err) = (String::new(), String::new());
        child
            .stdout
            .take()
            .expect("stdout")
            .read_to_string(&mut out)
            .expect("stdout");
        child
            .stderr
            .take()
            .expect("stderr")
            .read_to_string(&mut err)
            .expect("stderr");
        (child.wait().expect("wait"), out, err)
    }

    /// A way to start a child: this module's, or std's.
    type Start = fn(&Spec<'_>) -> io::Result<Spawned>;

    const STARTS: [(&str, Start); 2] = [("spawn", spawn), ("std", spawn_std)];

    #[test]
    fn pipes_environment_and_directory_are_as_asked() {
        let dir = tempfile::tempdir().expect("tempdir");
        let work = tempfile::tempdir().expect("workdir");
        let program = script(
            dir.path(),
            "read line; echo \"in=$line\"; echo \"task=$DEFER_TASK_ID home=${HOME-unset} \
             secret=${PGPASSWORD-unset}\"; pwd; echo oops >&2; exit 3",
        );
        let set = [
            ("DEFER_TASK_ID", "t1".to_string()),
            ("PGPASSWORD", "x".to_string()),
        ];
        for (name, start) in STARTS {
            let spec = Spec {
                program: &program,
                set: &set[..1],
                remove: &["HOME"],
                cwd: Some(work.path()),
            };
            let (status, out, err) = run(start, &spec, b"hello\n");
            assert_eq!(status.code(), Some(3), "{name}");
            let real = work.path().canonicalize().expect("canonical");
            assert_eq!(
                out,
                format!(
                    "in=hello\ntask=t1 home=unset secret=unset\n{}\n",
                    real.display()
                ),
                "{name}"
            );
            assert_eq!(err, "oops\n", "{name}");
        }
    }

    /// No signal blocked, SIGPIPE at its default although this (Rust) process ignores it.
    #[test]
    fn the_child_starts_with_no_signal_blocked_and_sigpipe_at_its_default() {
        let dir = tempfile::tempdir().expect("tempdir");
        let program = script(dir.path(), "grep -E '^Sig(Blk|Ign)' /proc/self/status");
        for (name, start) in STARTS {
            let spec = Spec {
                program: &program,
                set: &[],
                remove: &[],
                cwd: None,
            };
            let (status, out, _) = run(start, &spec, b"");
            assert!(status.success(), "{name}");
            let mut lines = out.lines();
            let blocked = lines.next().expect("SigBlk");
            assert_eq!(blocked, "SigBlk:\t0000000000000000", "{name}");
            let ignored = lines.next().expect("SigIgn");
            let mask =
                u64::from_str_radix(ignored.trim_start_matches("SigIgn:\t"), 16).expect("hex mask");
            assert_eq!(mask & (1 << (libc::SIGPIPE - 1)), 0, "{name}: {ignored}");
        }
    }

    #[test]
    fn the_group_is_the_childs_pid() {
        let dir = tempfile::tempdir().expect("tempdir");
        let program = script(dir.path(), "cut -d' ' -f5 /proc/$$/stat");
        for (name, start) in STARTS {
            let spec = Spec {
                program: &program,
                set: &[],
                remove: &[],
                cwd: None,
            };
            let mut child = start(&spec).expect("spawn");
            let pid = child.id();
            drop(child.stdin.take());
            let mut out = String::new();
            child
                .stdout
                .take()
                .expect("stdout")
                .read_to_string(&mut out)
                .expect("read");
            assert!(child.wait().expect("wait").success());
            assert_eq!(out.trim(), pid.to_string(), "{name}");
        }
    }

    #[test]
    fn a_program_that_cannot_start_is_the_error_std_would_give() {
        let dir = tempfile::tempdir().expect("tempdir");
        let plain = dir.path().join("not-executable");
        std::fs::write(&plain, "#!/bin/sh\n").expect("write");
        let missing = dir.path().join("missing");
        let gone_dir = dir.path().join("gone");
        let program = script(dir.path(), "true");
        let cases = [
            (plain.as_path(), None, io::ErrorKind::PermissionDenied),
            (missing.as_path(), None, io::ErrorKind::NotFound),
            (
                program.as_path(),
                Some(gone_dir.as_path()),
                io::ErrorKind::NotFound,
            ),
        ];
        for (name, start) in STARTS {
            for (program, cwd, kind) in cases {
                let spec = Spec {
                    program,
                    set: &[],
                    remove: &[],
                    cwd,
                };
                let err = start(&spec).expect_err("must not start");
                assert_eq!(err.kind(), kind, "{name} {}: {err}", program.display());
            }
        }
    }
}
