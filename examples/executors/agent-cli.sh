#!/bin/sh
# agent-cli.sh — a `defer` executor that hands the rehydration prompt to an AI agent CLI.
#
# Usage:
#   DEFER_EXECUTOR=/abs/path/to/examples/executors/agent-cli.sh defer run
#
# What it does:
#   The runner writes the prompt to $DEFER_PROMPT_FILE and passes the task JSON on stdin
#   (this executor does not need the JSON; it reads the prompt file). The prompt goes to the
#   first agent CLI found on PATH, always on the agent's stdin, never as an argument: an
#   argument can be read by any user on the host (/proc/PID/cmdline, `ps`), and a long prompt
#   would fail with "Argument list too long". In this order:
#     1. claude -p [DEFER_AGENT_FLAGS]          (Claude Code, print mode: reads the prompt on stdin)
#     2. codex exec [DEFER_AGENT_FLAGS] -       (OpenAI Codex CLI: "-" reads the prompt on stdin)
#     3. llm [DEFER_AGENT_FLAGS]                (Simon Willison's llm)
#   Set DEFER_AGENT_CMD to use any other command instead: it is run by /bin/sh and receives the
#   prompt text on stdin, e.g. DEFER_AGENT_CMD='ollama run llama3' or DEFER_AGENT_CMD=cat.
#
# Resuming a session: a task scheduled with `--session ID` (MCP/API `session`) reaches this
# script as DEFER_TASK_SESSION. claude and codex then continue that session instead of starting
# afresh, still with the prompt on stdin:
#     claude -p --resume ID [DEFER_AGENT_FLAGS]
#     codex exec [DEFER_AGENT_FLAGS] resume ID -
# If the agent exits non-zero saying the session is gone ("No conversation found with session
# ID", "session not found", ...), the run starts again without it, from the rehydration prompt
# alone, and only that run's output becomes the result. Any other failure of the resumed run is
# the task's failure. llm and DEFER_AGENT_CMD get no resume flags (a DEFER_AGENT_CMD can read
# DEFER_TASK_SESSION itself).
#
# Working directory: the agent runs in $DEFER_TASK_CWD when the runner sets it (the task's
# directory); otherwise where the runner started it (cron: your home directory). A
# DEFER_TASK_CWD that is not a directory fails the task with a message saying so.
#
# Unattended runs: nobody is there to answer a permission prompt, so say up front what the
# agent may do, in DEFER_AGENT_FLAGS (split on spaces; put it on the runner's line with
# `defer cron install --env DEFER_AGENT_FLAGS`):
#   claude -p   --allowedTools "Read,Edit,Bash(git diff:*)"  (tools it may use without asking;
#               others are refused, not asked about), or --permission-mode acceptEdits;
#               --max-turns N bounds the run; --output-format text|json|stream-json;
#               --dangerously-skip-permissions only inside a sandbox or container.
#   codex exec  read-only sandbox by default; --sandbox workspace-write (or --full-auto) to
#               let it edit files; --skip-git-repo-check outside a git repository;
#               --ephemeral to keep no session files. It never asks for approval in exec mode.
#   Both need their own credentials (a login or an API key variable) visible to the runner.
#
# Contract: exit 0 = success and stdout becomes the task's result.output; non-zero = failure,
# stderr explains why (the task is retried if it has retries left, otherwise it is failed).
# If no agent CLI is installed this exits 1 with a message saying so — the task is never
# silently marked done.
#
# Environment from the runner: DEFER_TASK_ID, DEFER_PROMPT_FILE, DEFER_ATTEMPT, DEFER_RUNTIME_DIR,
# DEFER_TASK_CWD and DEFER_TASK_SESSION (when set). A `defer schedule` the agent runs records
# this task as its parent (DEFER_TASK_ID) and writes to the runner's store.
set -eu

task_id=${DEFER_TASK_ID:-unknown}
attempt=${DEFER_ATTEMPT:-1}
prompt_file=${DEFER_PROMPT_FILE:-}
session=${DEFER_TASK_SESSION:-}

# The session id goes on the agent's command line: only the alphabet `defer` accepts for one
# (a hand-edited record could hold anything), and never a leading '-' an agent would read as
# a flag.
case "$session" in
    '') ;;
    -* | .* | *[!A-Za-z0-9._-]*)
        echo "agent-cli.sh: task $task_id (attempt $attempt): DEFER_TASK_SESSION is not a session id; starting a fresh run" >&2
        session= ;;
esac

# Drain the task JSON from stdin so the runner never blocks writing it.
cat >/dev/null

if [ -z "$prompt_file" ] || [ ! -r "$prompt_file" ]; then
    echo "agent-cli.sh: task $task_id (attempt $attempt): prompt file not readable: '${prompt_file}' (is DEFER_PROMPT_FILE set by 'defer run'?)" >&2
    exit 1
fi

if [ -n "${DEFER_TASK_CWD:-}" ]; then
    cd "$DEFER_TASK_CWD" 2>/dev/null || {
        echo "agent-cli.sh: task $task_id (attempt $attempt): DEFER_TASK_CWD is not a directory I can enter: '$DEFER_TASK_CWD'" >&2
        exit 1
    }
fi

if [ -n "${DEFER_AGENT_CMD:-}" ]; then
    exec /bin/sh -c "$DEFER_AGENT_CMD" <"$prompt_file"
fi

# resume AGENT ARGS...: runs the agent resuming $session, the prompt on stdin. Its output is
# held back (in private temporary files) until it is known whether the session still exists:
# on success it is passed on and the script exits with the agent's status; when the agent
# says the session is gone, it is dropped and this returns, so the caller starts a fresh run.
resume() {
    out=$(mktemp) && err=$(mktemp) || exit 1
    trap 'rm -f "$out" "$err"' EXIT
    trap 'rm -f "$out" "$err"; exit 143' TERM
    status=0
    "$@" <"$prompt_file" >"$out" 2>"$err" || status=$?
    if [ "$status" -ne 0 ] && grep -qiE \
        'no (conversation|session|saved session|rollout|thread) found|(session|conversation|thread|rollout)[^.]*(not found|does not exist|no longer exists)' "$err"; then
        echo "agent-cli.sh: task $task_id (attempt $attempt): session $session could not be resumed ($(head -c 300 "$err" | tr '\n' ' ')); starting a fresh run from the prompt" >&2
        rm -f "$out" "$err"
        trap - EXIT TERM
        return 0
    fi
    cat "$out"
    cat "$err" >&2
    rm -f "$out" "$err"
    exit "$status"
}

# Word-split on purpose: DEFER_AGENT_FLAGS is a list of flags. No globbing.
set -f
# shellcheck disable=SC2086
if command -v claude >/dev/null 2>&1; then
    [ -z "$session" ] || resume claude -p --resume "$session" ${DEFER_AGENT_FLAGS:-}
    exec claude -p ${DEFER_AGENT_FLAGS:-} <"$prompt_file"
elif command -v codex >/dev/null 2>&1; then
    [ -z "$session" ] || resume codex exec ${DEFER_AGENT_FLAGS:-} resume "$session" -
    exec codex exec ${DEFER_AGENT_FLAGS:-} - <"$prompt_file"
elif command -v llm >/dev/null 2>&1; then
    exec llm ${DEFER_AGENT_FLAGS:-} <"$prompt_file"
fi

echo "agent-cli.sh: no agent CLI found for task $task_id (attempt $attempt): none of 'claude', 'codex', 'llm' is on PATH ($PATH); install one or set DEFER_AGENT_CMD (a command that reads the prompt on stdin)" >&2
exit 1
