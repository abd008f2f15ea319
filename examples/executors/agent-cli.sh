#!/bin/sh
# agent-cli.sh — a `defer` executor that hands the rehydration prompt to an AI agent CLI.
#
# Usage:
#   DEFER_EXECUTOR=/abs/path/to/examples/executors/agent-cli.sh defer run
#
# What it does:
#   The runner writes the prompt to $DEFER_PROMPT_FILE and passes the task JSON on stdin
#   (this executor does not need the JSON; it reads the prompt file). The prompt is given to
#   the first agent CLI found on PATH, in this order:
#     1. claude -p        (Claude Code, non-interactive print mode)
#     2. codex exec       (OpenAI Codex CLI)
#     3. llm              (Simon Willison's llm)
#   Set DEFER_AGENT_CMD to use any other command instead: it is run by /bin/sh and receives the
#   prompt text on stdin, e.g. DEFER_AGENT_CMD='ollama run llama3' or DEFER_AGENT_CMD=cat.
#   Cron starts jobs in $HOME with a minimal environment: to run the agent inside a project, use
#   e.g. DEFER_AGENT_CMD='cd ~/src/myproject && claude -p', and make sure the agent's own
#   credentials/config are reachable from there.
#
# Contract: exit 0 = success and stdout becomes the task's result.output; non-zero = failure,
# stderr explains why (the task is retried if it has retries left, otherwise it is failed).
# If no agent CLI is installed this exits 1 with a message saying so — the task is never
# silently marked done.
#
# Environment from the runner: DEFER_TASK_ID, DEFER_PROMPT_FILE, DEFER_ATTEMPT, DEFER_RUNTIME_DIR.
set -eu

task_id=${DEFER_TASK_ID:-unknown}
attempt=${DEFER_ATTEMPT:-1}
prompt_file=${DEFER_PROMPT_FILE:-}

# Drain the task JSON from stdin so the runner never blocks writing it.
cat >/dev/null

if [ -z "$prompt_file" ] || [ ! -r "$prompt_file" ]; then
    echo "agent-cli.sh: task $task_id (attempt $attempt): prompt file not readable: '${prompt_file}' (is DEFER_PROMPT_FILE set by 'defer run'?)" >&2
    exit 1
fi

if [ -n "${DEFER_AGENT_CMD:-}" ]; then
    exec /bin/sh -c "$DEFER_AGENT_CMD" <"$prompt_file"
fi

if command -v claude >/dev/null 2>&1; then
    exec claude -p "$(cat "$prompt_file")" </dev/null
elif command -v codex >/dev/null 2>&1; then
    exec codex exec "$(cat "$prompt_file")" </dev/null
elif command -v llm >/dev/null 2>&1; then
    exec llm <"$prompt_file"
fi

echo "agent-cli.sh: no agent CLI found for task $task_id (attempt $attempt): none of 'claude', 'codex', 'llm' is on PATH ($PATH); install one or set DEFER_AGENT_CMD (a command that reads the prompt on stdin)" >&2
exit 1
