//! One claimed task, start to finish: the prompt artifact, then the executor if one is
//! configured, turned into what happened for the lifecycle to decide on.

use super::files::{self, Stream};
use super::stream::StreamFile;
use super::{RECORD_OUTPUT_CAP, executor, prompt, prompt_path};
use crate::config::Config;
use crate::fsutil;
use crate::lifecycle::{self, Change, ExecutorRun, Happened, Prepared};
use crate::record::{Task, validate_id};

/// What the runner tells every executor about its store, so that a `defer schedule` the
/// executor runs writes a follow-up where this runner will find it (SECURITY.md,
/// "Executors and the store"):
///
/// - `DEFER_RUNNER_STORE`: [`crate::store::Store::identity`], which that `defer` compares
///   with its own store and refuses to write elsewhere;
/// - for a database store whose secrets the executor does not get, `DEFER_DATABASE_URL`
///   again, with the password taken out: it logs in through libpq's password file, so no
///   secret is in the environment of the executor and everything it starts.
#[derive(Debug, Clone, Default)]
pub struct Handoff {
    vars: Vec<(&'static str, String)>,
}

impl Handoff {
    /// The handoff for `store`, opened with `config`.
    pub fn of(config: &Config, store: &dyn crate::store::Store) -> Handoff {
        let mut vars = vec![("DEFER_RUNNER_STORE", store.identity())];
        if !config.executor_keep_secrets
            && let Some(url) = crate::store::executor_database_url(config)
        {
            vars.push(("DEFER_DATABASE_URL", url));
        }
        Handoff { vars }
    }
}

/// Runs one claimed task, unless the lifecycle says it is to be skipped as missed.
/// `started` is asked first, and an executor starts only if it agrees (a database store
/// records the start).
pub(super) fn execute_one(
    config: &Config,
    attempts: &super::outcomes::Attempts<'_>,
    task: Task,
    started: &dyn Fn(&str) -> Result<(), String>,
) -> Change {
    let now = config.clock.now();
    let policy = attempts.policy;
    match lifecycle::prepare(task, policy, now) {
        Prepared::Skip(change) => change,
        Prepared::Run { task, warning } => {
            let mut change = run_task(config, attempts, task, started);
            if change.warning.is_none() {
                change.warning = warning;
            }
            change
        }
    }
}

/// Prompt artifact first, always; then the executor, if one is configured.
fn run_task(
    config: &Config,
    attempts: &super::outcomes::Attempts<'_>,
    task: Task,
    started: &dyn Fn(&str) -> Result<(), String>,
) -> Change {
    let (policy, journal) = (attempts.policy, attempts.journal);
    let prompt_path = prompt_path(config, &task.id);
    let prompt_str = prompt_path.display().to_string();
    let finish = |task: Task, happened: Happened| {
        lifecycle::finish(task, happened, &prompt_str, policy, config.clock.now())
    };
    if let Err(e) = validate_id(&task.id) {
        let error = e.to_string();
        return finish(task, Happened::InvalidId { error });
    }
    // Recorded before anything can happen, so that recovery after a crash knows this task
    // may have done something.
    if let Some(Err(e)) = journal.map(|j| j.started(&task.id)) {
        let error = format!(
            "could not write the start journal: {}",
            crate::error::chain(&e)
        );
        return finish(task, Happened::HostFault { error });
    }
    if let Err(error) = started(&task.id) {
        return lifecycle::start_unrecorded(task, config.clock.now(), &error);
    }
    if let Err(e) = fsutil::write_private(&prompt_path, prompt::render(&task).as_bytes()) {
        let error = format!(
            "could not write the prompt artifact: {}",
            crate::error::chain(&e)
        );
        return finish(task, Happened::HostFault { error });
    }
    let Some(executor) = &config.executor else {
        return finish(task, Happened::PromptPrepared);
    };
    let program = match executor::check_usable(executor) {
        Ok(program) => program,
        Err(executor::Unusable(error)) => {
            return finish(task, Happened::HostFault { error });
        }
    };
    // The task's directory belongs to its project: one that vanished is the task's problem
    // (a failed attempt that says so), not the host's.
    let cwd = task.cwd.as_deref().map(std::path::Path::new);
    if let Some(dir) = cwd.filter(|d| !d.is_dir()) {
        let run = ExecutorRun {
            error: Some(format!(
                "the task's working directory {} no longer exists (scheduled with --cwd)",
                dir.display()
            )),
            ..ExecutorRun::default()
        };
        return finish(
            task,
            Happened::ExecutorRan {
                run,
                success: false,
            },
        );
    }
    let mut env = vec![
        ("DEFER_TASK_ID", task.id.clone()),
        ("DEFER_PROMPT_FILE", prompt_str.clone()),
        ("DEFER_ATTEMPT", (task.attempts + 1).to_string()),
        (
            "DEFER_LATENESS_SECONDS",
            lifecycle::lateness(&task, config.clock.now()).to_string(),
        ),
        (
            "DEFER_RUNTIME_DIR",
            config.runtime_dir.display().to_string(),
        ),
    ];
    if let Some(dir) = &task.cwd {
        env.push(("DEFER_TASK_CWD", dir.clone()));
    }
    // Only a session id of the safe alphabet: executors put it on an agent's command line.
    if let Some(session) = task
        .session
        .as_ref()
        .filter(|s| crate::record::session_problem(s).is_none())
    {
        env.push(("DEFER_TASK_SESSION", session.clone()));
    }
    env.extend(attempts.handoff.vars.iter().cloned());
    let mut stdin = task.to_line().into_bytes();
    stdin.push(b'\n');
    let attempt = task
        .history
        .last()
        .filter(|a| a.is_open())
        .map_or_else(|| lifecycle::attempts::next_number(&task), |a| a.attempt);
    let files = [Stream::Stdout, Stream::Stderr]
        .map(|s| StreamFile::new(files::output_path(config, &task.id, attempt, s)));
    let finished = match executor::execute(
        &program,
        stdin,
        &env,
        config.executor_timeout,
        !config.executor_keep_secrets,
        cwd,
        files,
    ) {
        Ok(f) => f,
        Err(executor::Unusable(error)) => {
            return finish(task, Happened::HostFault { error });
        }
    };
    let success = finished.success();
    let run = summarize(config, &task.id, attempt, finished);
    finish(task, Happened::ExecutorRan { run, success })
}

/// Closes the attempt's output files (written as the executor printed), caps stdout for the
/// record and words the error.
fn summarize(config: &Config, id: &str, attempt: u32, f: executor::Finished) -> ExecutorRun {
    let success = f.success();
    let executor::Finished {
        status,
        timed_out,
        stdout: out,
        stderr: err,
        files: [out_file, err_file],
    } = f;
    let f = Outcome {
        status,
        timed_out,
        success,
        stdout: out,
        stderr: err,
    };
    let f = &f;
    let stdout = String::from_utf8_lossy(&f.stdout.bytes);
    let stderr = String::from_utf8_lossy(&f.stderr.bytes);
    let mut run = ExecutorRun {
        exit_code: f.exit_code(),
        signal: f.signal(),
        timed_out: f.timed_out,
        stdout_path: kept(id, attempt, out_file),
        stderr_path: kept(id, attempt, err_file),
        ..ExecutorRun::default()
    };
    let capped = f.stdout.total as usize > RECORD_OUTPUT_CAP;
    if capped {
        run.output_path = run.stdout_path.clone();
        let head = truncate_chars(&stdout, RECORD_OUTPUT_CAP);
        run.output = format!(
            "{head}\n[defer: output truncated at {} of {} bytes; full text in {}]",
            head.len(),
            f.stdout.total,
            run.output_path.as_deref().unwrap_or("(not saved)")
        );
    } else {
        run.output = stdout.to_string();
    }
    if !f.success() {
        let detail = if !stderr.trim().is_empty() {
            stderr.trim_end().to_string()
        } else {
            stdout.trim_end().to_string()
        };
        let detail = truncate_chars(&detail, RECORD_OUTPUT_CAP).to_string();
        let error = if f.timed_out {
            let secs = config.executor_timeout.as_secs();
            if detail.is_empty() {
                format!("executor timed out after {secs}s and was killed")
            } else {
                format!("executor timed out after {secs}s and was killed: {detail}")
            }
        } else if let Some(signal) = f.signal() {
            // Said whatever the executor printed: a crash or an OOM kill is the fact that
            // matters, and the output alone would hide it.
            let name = signal_name(signal)
                .map(|n| format!(" ({n})"))
                .unwrap_or_default();
            if detail.is_empty() {
                format!("executor was killed by signal {signal}{name}")
            } else {
                format!("executor was killed by signal {signal}{name}: {detail}")
            }
        } else if !detail.is_empty() {
            detail
        } else {
            format!(
                "executor exited with status {}",
                f.exit_code().unwrap_or(-1)
            )
        };
        run.error = Some(error);
    }
    run
}

/// What [`summarize`] reads of a finished run once its files are taken.
struct Outcome {
    status: Option<std::process::ExitStatus>,
    timed_out: bool,
    success: bool,
    stdout: executor::Captured,
    stderr: executor::Captured,
}

impl Outcome {
    fn exit_code(&self) -> Option<i32> {
        self.status.and_then(|s| s.code())
    }

    fn signal(&self) -> Option<i32> {
        use std::os::unix::process::ExitStatusExt;
        self.status.and_then(|s| s.signal())
    }

    fn success(&self) -> bool {
        self.success
    }
}

/// The path of one stream's file once it is complete; nothing when the executor printed
/// nothing there, or when the file could not be written (said on stderr: the outcome still
/// counts).
fn kept(id: &str, attempt: u32, file: StreamFile) -> Option<String> {
    match file.finish() {
        Ok(path) => path.map(|p| p.display().to_string()),
        Err(e) => {
            eprintln!(
                "warning: the output of {} (attempt {attempt}) was not saved: {}",
                crate::output::escape(id),
                crate::output::escape(&e)
            );
            None
        }
    }
}

/// The usual name of a signal number (Linux and the BSDs agree on these).
fn signal_name(signal: i32) -> Option<&'static str> {
    Some(match signal {
        libc::SIGHUP => "SIGHUP",
        libc::SIGINT => "SIGINT",
        libc::SIGQUIT => "SIGQUIT",
        libc::SIGILL => "SIGILL",
        libc::SIGABRT => "SIGABRT",
        libc::SIGBUS => "SIGBUS",
        libc::SIGFPE => "SIGFPE",
        libc::SIGKILL => "SIGKILL",
        libc::SIGSEGV => "SIGSEGV",
        libc::SIGPIPE => "SIGPIPE",
        libc::SIGALRM => "SIGALRM",
        libc::SIGTERM => "SIGTERM",
        libc::SIGUSR1 => "SIGUSR1",
        libc::SIGUSR2 => "SIGUSR2",
        _ => return None,
    })
}

/// The longest prefix of `text` of at most `max` bytes that ends on a char boundary.
fn truncate_chars(text: &str, max: usize) -> &str {
    if text.len() <= max {
        return text;
    }
    let mut end = max;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    &text[..end]
}
