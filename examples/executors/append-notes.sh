#!/bin/sh
# append-notes.sh — a `defer` executor that appends a dated markdown entry to a notes file.
#
# Usage:
#   DEFER_EXECUTOR=/abs/path/to/examples/executors/append-notes.sh defer run
#   DEFER_NOTES_FILE=~/notes/inbox.md DEFER_EXECUTOR=/abs/path/to/append-notes.sh defer run
#
# What it does:
#   Reads the task JSON from stdin, takes context.summary from it (with python3 or jq if either
#   is installed, else a grep/sed fallback), and appends to ${DEFER_NOTES_FILE:-$HOME/deferred-notes.md}:
#
#     ## 2026-11-27 09:00 UTC — task_20261126_...
#     - Summary: Resume the architecture review
#     - Prompt: /home/me/data/runtime/logs/task_....prompt.txt
#     - Attempt: 1 (runtime dir /home/me/data/runtime)
#
#   It prints one line saying where it wrote (that line becomes the task's result.output).
#   A failure to write the file exits non-zero (stderr says why), so the task is retried/failed.
#
# Environment from the runner: DEFER_TASK_ID, DEFER_PROMPT_FILE, DEFER_ATTEMPT, DEFER_RUNTIME_DIR.
set -eu

notes=${DEFER_NOTES_FILE:-$HOME/deferred-notes.md}
task_json=$(cat)

summary=""
if command -v python3 >/dev/null 2>&1; then
    summary=$(printf '%s' "$task_json" | python3 -c '
import json, sys
t = json.load(sys.stdin)
print(((t.get("context") or {}).get("summary") or t.get("summary") or "").replace("\n", " "))
') || summary=""
elif command -v jq >/dev/null 2>&1; then
    summary=$(printf '%s' "$task_json" | jq -r '(.context.summary // .summary // "") | gsub("\n"; " ")') || summary=""
fi
if [ -z "$summary" ]; then
    # Fallback: first "summary":"..." in the one-line JSON (stops at an escaped quote).
    summary=$(printf '%s' "$task_json" | grep -o '"summary": *"[^"]*"' | head -n 1 \
        | sed 's/^"summary": *"//; s/"$//') || summary=""
fi

task_id=${DEFER_TASK_ID:-}
if [ -z "$task_id" ]; then
    task_id=$(printf '%s' "$task_json" | grep -o '"id": *"[^"]*"' | head -n 1 | sed 's/^"id": *"//; s/"$//') || task_id=unknown
fi

mkdir -p "$(dirname "$notes")"
{
    printf '\n## %s — %s\n' "$(date -u '+%Y-%m-%d %H:%M UTC')" "$task_id"
    printf -- '- Summary: %s\n' "${summary:-(none)}"
    printf -- '- Prompt: %s\n' "${DEFER_PROMPT_FILE:-(none)}"
    printf -- '- Attempt: %s (runtime dir %s)\n' "${DEFER_ATTEMPT:-1}" "${DEFER_RUNTIME_DIR:-(unset)}"
} >>"$notes"

echo "appended task $task_id to $notes"
