#!/usr/bin/env bash
# test-examples.sh — run every example in examples/ and exercise each executor through `defer run`.
#
# Usage (from the repository root, after `cargo build`):
#   bash examples/test-examples.sh
#   DEFER_BIN=/path/to/defer bash examples/test-examples.sh
#
# Everything happens in temporary directories; the only network traffic is to a throwaway HTTP
# server on 127.0.0.1. Exits non-zero if any check fails; on success the last line is
# "N passed, 0 failed".
set -eu

here=$(cd "$(dirname "$0")" && pwd)
# `cargo build` puts it under target/<host triple>/ (.cargo/config.toml).
bin=${DEFER_BIN:-target/$(rustc -vV | sed -n 's/^host: //p')/debug/defer}
case "$bin" in
    */*) bin=$(cd "$(dirname "$bin")" && pwd)/$(basename "$bin") ;;
    *) bin=$(command -v "$bin") ;;
esac
if [ ! -x "$bin" ]; then
    echo "test-examples.sh: defer binary not found or not executable: $bin (run 'cargo build' or set DEFER_BIN)" >&2
    exit 1
fi
command -v python3 >/dev/null 2>&1 || { echo "test-examples.sh: python3 is required" >&2; exit 1; }

# A clean, deterministic environment: nothing from the caller's defer setup leaks in.
unset DEFER_TASKS_FILE DEFER_ARCHIVE_DIR DEFER_LOG_DIR DEFER_LOG_FILE DEFER_EXECUTOR \
    DEFER_CONTEXT_FILE DEFER_NOW DEFER_PROJECTS_DIR DEFER_WEBHOOK_URL DEFER_AGENT_CMD \
    DEFER_NOTES_FILE DEFER_CONCURRENCY DEFER_EXECUTOR_TIMEOUT_SECONDS DEFER_RETRY_DELAY_SECONDS \
    http_proxy HTTP_PROXY https_proxy HTTPS_PROXY all_proxy ALL_PROXY 2>/dev/null || true
export DEFER_TIMEZONE=UTC
export DEFER_BIN="$bin"

work=$(mktemp -d)
server_pid=""
cleanup() {
    if [ -n "$server_pid" ]; then kill "$server_pid" 2>/dev/null || true; wait "$server_pid" 2>/dev/null || true; fi
    rm -rf "$work"
}
trap cleanup EXIT
# Examples default to `mktemp -d`; keep those throwaway dirs inside $work.
export TMPDIR="$work"

passed=0
failed=0
pass() { passed=$((passed + 1)); echo "ok   - $1"; }
fail() { failed=$((failed + 1)); echo "FAIL - $1"; [ $# -lt 2 ] || printf '       %s\n' "$2"; }

# fresh_runtime NAME: a new runtime dir, exported as DEFER_RUNTIME_DIR.
fresh_runtime() { DEFER_RUNTIME_DIR="$work/rt-$1"; mkdir -p "$DEFER_RUNTIME_DIR"; export DEFER_RUNTIME_DIR; }

# field ID PYEXPR: evaluate a python expression over the task record `t` (active store or archive).
# Never fails (a failing command substitution would stop the script under set -e); a missing
# task or field yields a marker that no expectation matches.
field() {
    "$bin" show --compact "$1" 2>&1 | python3 -c '
import json, sys
text = sys.stdin.read()
try:
    t = json.loads(text)
    r = eval(sys.argv[1])
    print(r if isinstance(r, str) else json.dumps(r))
except Exception as e:
    print("<field %s: %s: %s>" % (sys.argv[1], type(e).__name__, text.strip()))' "$2" || echo "<field $2 failed>"
}

# schedule_now ID SUMMARY [extra flags...]
schedule_now() {
    local id=$1 summary=$2; shift 2
    "$bin" schedule --when now --id "$id" --summary "$summary" --compact "$@" >/dev/null 2>&1
}

# expect NAME ACTUAL EXPECTED
expect() {
    if [ "$2" = "$3" ]; then pass "$1"; else fail "$1" "expected [$3], got [$2]"; fi
}
# expect_contains NAME HAYSTACK NEEDLE
expect_contains() {
    case "$2" in *"$3"*) pass "$1" ;; *) fail "$1" "expected to contain [$3], got [$2]" ;; esac
}

# --- 0. the files themselves -------------------------------------------------------------
ok=1
for f in reminder.sh resume-analysis.sh scheduled-reorient.sh executors/agent-cli.sh \
    executors/webhook.sh executors/append-notes.sh; do
    if [ ! -x "$here/$f" ]; then ok=0; fail "$f is executable"; fi
    if ! sh -n "$here/$f" 2>/dev/null && ! bash -n "$here/$f" 2>/dev/null; then ok=0; fail "$f parses"; fi
done
if [ "$ok" = 1 ]; then pass "all examples and executors are executable and parse"; fi

# --- 1. scheduling examples --------------------------------------------------------------
fresh_runtime reminder
if out=$("$here/reminder.sh" 2>"$work/err"); then
    n=$(printf '%s' "$out" | python3 -c '
import json, sys
text = sys.stdin.read()
dec = json.JSONDecoder(); i = 0; docs = []
while i < len(text):
    if text[i].isspace(): i += 1; continue
    d, i = dec.raw_decode(text, i); docs.append(d)
task, listed = docs[0], docs[-1]
ok = (task["intent"] == "notify" and task["when"] == "in 30m"
      and len(listed) == 1 and listed[0]["id"] == task["id"] and listed[0]["status"] == "scheduled")
print("yes" if ok else "no: " + text)' 2>&1 || true)
    expect "reminder.sh schedules a notify task in 30m and lists it" "$n" "yes"
else
    fail "reminder.sh runs" "$(cat "$work/err")"
fi

# The default (no DEFER_RUNTIME_DIR): a throwaway dir, nothing written anywhere else.
if out=$(env -u DEFER_RUNTIME_DIR "$here/reminder.sh" 2>"$work/err"); then
    expect_contains "reminder.sh defaults to a throwaway runtime dir" "$(cat "$work/err")" "runtime dir: $work/"
else
    fail "reminder.sh runs without DEFER_RUNTIME_DIR" "$(cat "$work/err")"
fi

fresh_runtime analysis
if out=$("$here/resume-analysis.sh" 2>"$work/err"); then
    n=$(printf '%s' "$out" | python3 -c '
import json, sys
t = json.load(sys.stdin)
c = t["context"]
ok = (t["status"] == "scheduled" and t["max_retries"] == 2 and t["when"] == "tomorrow 9am"
      and t["run_at"].endswith("T09:00:00Z") and len(c["key_points"]) >= 1
      and len(c["artifacts"]) >= 1 and len(c["constraints"]) >= 1
      and t["execution"]["prompt_template"] != c["summary"])
print("yes" if ok else "no: " + json.dumps(t))' 2>&1 || true)
    expect "resume-analysis.sh schedules tomorrow 9am with a full snapshot and shows it" "$n" "yes"
else
    fail "resume-analysis.sh runs" "$(cat "$work/err")"
fi

fresh_runtime reorient
if out=$("$here/scheduled-reorient.sh" 2>"$work/err"); then
    n=$(printf '%s' "$out" | python3 -c '
import json, sys, datetime
text = sys.stdin.read()
dec = json.JSONDecoder(); i = 0; docs = []
while i < len(text):
    if text[i].isspace(): i += 1; continue
    d, i = dec.raw_decode(text, i); docs.append(d)
snap, t = docs
run_at = datetime.datetime.strptime(t["run_at"], "%Y-%m-%dT%H:%M:%SZ")
ok = (snap["reoriented_from"].endswith("CONTEXT.md")
      and any(k.startswith("Open question: ") for k in snap["key_points"])
      and any(c.startswith("Decision: ") for c in snap["constraints"])
      and any(c.startswith("Avoid: ") for c in snap["constraints"])
      and len(snap["artifacts"]) == 2
      and t["reorient_requested"] is True
      and t["context"]["summary"] == snap["summary"]
      and t["context"]["reoriented_from"] == snap["reoriented_from"]
      and run_at.weekday() == 0 and run_at.hour == 9)
print("yes" if ok else "no: " + text)' 2>&1 || true)
    expect "scheduled-reorient.sh prints the snapshot and schedules next monday 9am from it" "$n" "yes"
else
    fail "scheduled-reorient.sh runs" "$(cat "$work/err")"
fi

# --- 2. append-notes executor ------------------------------------------------------------
fresh_runtime notes
notes="$work/notes/deferred-notes.md"
schedule_now notes_1 'Review the "draft" memo'
if DEFER_EXECUTOR="$here/executors/append-notes.sh" DEFER_NOTES_FILE="$notes" "$bin" run 2>"$work/err"; then
    prompt="$DEFER_RUNTIME_DIR/logs/notes_1.prompt.txt"
    got=$(field notes_1 't["status"] + " " + t["result"]["type"]')
    expect "append-notes: task archived as completed" "$got" "completed executor_output"
    expect "append-notes: result.output says where it wrote" "$(field notes_1 't["result"]["output"].strip()')" \
        "appended task notes_1 to $notes"
    body=$(cat "$notes" 2>/dev/null || true)
    if grep -q '^## .* — notes_1$' "$notes" 2>/dev/null && grep -qF -- '- Summary: Review the "draft" memo' "$notes" \
        && grep -qF -- "- Prompt: $prompt" "$notes"; then
        pass "append-notes: notes file has the dated entry (id, summary, prompt path)"
    else
        fail "append-notes: notes file has the dated entry" "$body"
    fi
    archived=$(cat "$DEFER_RUNTIME_DIR"/archive/deferred_*.jsonl 2>/dev/null | grep -c '"id":"notes_1"' || true)
    expect "append-notes: the completed task is in the archive, not the active store" \
        "$archived $(grep -c notes_1 "$DEFER_RUNTIME_DIR/deferred.jsonl" || true)" "1 0"
else
    fail "append-notes: defer run" "$(cat "$work/err")"
fi

# Fallback parser: neither python3 nor jq on PATH.
mini="$work/minibin"; mkdir -p "$mini"
for tool in cat grep sed head date mkdir dirname; do ln -s "$(command -v "$tool")" "$mini/$tool"; done
schedule_now notes_2 'Fallback summary parse'
PATH="$mini" DEFER_EXECUTOR="$here/executors/append-notes.sh" DEFER_NOTES_FILE="$notes" "$bin" run 2>"$work/err" || true
if [ "$(field notes_2 't["status"]')" = completed ] && grep -qF -- '- Summary: Fallback summary parse' "$notes"; then
    pass "append-notes: grep/sed fallback without python3 or jq"
else
    fail "append-notes: grep/sed fallback without python3 or jq" "$(field notes_2 't')"
fi

# --- 3. webhook executor -----------------------------------------------------------------
fresh_runtime webhook
cat >"$work/server.py" <<'PY'
import http.server, os, sys
received, port_file = sys.argv[1], sys.argv[2]
class Handler(http.server.BaseHTTPRequestHandler):
    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        with open(received, "ab") as f:
            f.write(self.headers.get("Content-Type", "").encode() + b"\t" + body + b"\n")
        code = 500 if self.path.startswith("/fail") else 200
        reply = b"hook says: accepted" if code == 200 else b"boom"
        self.send_response(code)
        self.send_header("Content-Type", "text/plain")
        self.send_header("Content-Length", str(len(reply)))
        self.end_headers()
        self.wfile.write(reply)
    def log_message(self, *args):
        pass
server = http.server.HTTPServer(("127.0.0.1", 0), Handler)
with open(port_file + ".tmp", "w") as f:
    f.write(str(server.server_address[1]))
os.rename(port_file + ".tmp", port_file)
server.serve_forever()
PY
python3 "$work/server.py" "$work/received" "$work/port" &
server_pid=$!
for _ in $(seq 50); do [ -s "$work/port" ] && break; sleep 0.1; done
if [ ! -s "$work/port" ]; then
    fail "webhook: local test server started"
else
    url="http://127.0.0.1:$(cat "$work/port")/hook"
    schedule_now hook_1 'Tell the webhook'
    DEFER_EXECUTOR="$here/executors/webhook.sh" DEFER_WEBHOOK_URL="$url" "$bin" run 2>"$work/err" || true
    expect "webhook: task completed with the response body as result.output" \
        "$(field hook_1 't["status"] + "|" + t["result"]["type"] + "|" + t["result"].get("output", "")')" \
        "completed|executor_output|hook says: accepted"
    posted=$(python3 -c '
import json, sys
line = open(sys.argv[1]).read().splitlines()[0]
ctype, body = line.split("\t", 1)
t = json.loads(body)
print(ctype + " " + t["id"] + " " + t["context"]["summary"])' "$work/received" 2>&1 || true)
    expect "webhook: the server got the task JSON as application/json" "$posted" "application/json hook_1 Tell the webhook"

    schedule_now hook_2 'Server error'
    DEFER_EXECUTOR="$here/executors/webhook.sh" DEFER_WEBHOOK_URL="${url%/hook}/fail" "$bin" run 2>"$work/err" || true
    got=$(field hook_2 't["status"] + "|" + t["error"]')
    expect_contains "webhook: an HTTP 500 fails the task with curl's error" "$got" "failed|curl: (22)"
fi

schedule_now hook_3 'No URL configured'
DEFER_EXECUTOR="$here/executors/webhook.sh" "$bin" run 2>"$work/err" || true
got=$(field hook_3 't["status"] + "|" + t["error"]')
expect_contains "webhook: DEFER_WEBHOOK_URL unset fails the task with a clear error" "$got" \
    "failed|webhook.sh: DEFER_WEBHOOK_URL is not set"

# --- 4. agent-cli executor ---------------------------------------------------------------
fresh_runtime agent
nobin="$work/nobin"; mkdir -p "$nobin"; ln -s "$(command -v cat)" "$nobin/cat"
schedule_now agent_1 'Nobody to hand this to'
PATH="$nobin" DEFER_EXECUTOR="$here/executors/agent-cli.sh" "$bin" run 2>"$work/err" || true
got=$(field agent_1 't["status"] + "|" + t["error"]')
expect_contains "agent-cli: no agent CLI on PATH fails the task with a clear message" "$got" \
    "failed|agent-cli.sh: no agent CLI found for task agent_1"

schedule_now agent_2 'Retry when no agent' --max-retries 1
PATH="$nobin" DEFER_EXECUTOR="$here/executors/agent-cli.sh" "$bin" run 2>"$work/err" || true
expect "agent-cli: with retries left the task is rescheduled, not done" \
    "$(field agent_2 't["status"] + "|" + t["result"]["type"] + "|" + str(t["attempts"])')" \
    "scheduled|retry_scheduled|1"
"$bin" cancel --id agent_2 >/dev/null 2>&1 || true

schedule_now agent_3 'Echo the prompt back' --key-point 'one point' --artifact 'a.txt'
DEFER_AGENT_CMD=cat DEFER_EXECUTOR="$here/executors/agent-cli.sh" "$bin" run 2>"$work/err" || true
prompt_text=$(cat "$DEFER_RUNTIME_DIR/logs/agent_3.prompt.txt" 2>/dev/null || echo "(no prompt file)")
expect "agent-cli: DEFER_AGENT_CMD=cat completes with the prompt text as output" \
    "$(field agent_3 't["status"] + "|" + t["result"]["output"]')" "completed|$prompt_text"

# The prompt goes on the agent's stdin, never in its argv (other users can read argv, and a
# long one fails with "Argument list too long"); a 1 MiB prompt works; DEFER_TASK_CWD is honoured.
stubs="$work/stubs"; mkdir -p "$stubs" "$work/task-cwd"
for agent in claude codex; do
    mkdir -p "$stubs/$agent"
    cat >"$stubs/$agent/$agent" <<STUB
#!/bin/sh
# A stand-in agent: records its argv, how much it read on stdin, and where it ran.
printf '%s\n' "\$@" >"$work/$agent.argv"
bytes=\$(cat | tee "$work/$agent.stdin" | wc -c | tr -d ' ')
echo "$agent read \$bytes bytes in \$(pwd)"
STUB
    chmod +x "$stubs/$agent/$agent"
done
big_task() { # big_task ID: a scheduled record whose summary is 1 MiB, written straight to the store
    python3 - "$DEFER_RUNTIME_DIR/deferred.jsonl" "$1" <<'PY'
import json, sys
path, task_id = sys.argv[1], sys.argv[2]
summary = "SECRET-MARKER " + "x" * (1024 * 1024)
record = {"id": task_id, "created_at": "2026-01-01T00:00:00Z", "run_at": "2026-01-01T00:00:00Z",
          "type": "deferred_task", "intent": "resume_task",
          "context": {"summary": summary, "key_points": [], "artifacts": [], "constraints": []},
          "execution": {"mode": "fresh", "prompt_template": "Finish the SECRET-MARKER job", "aura_level": "low"},
          "status": "scheduled", "attempts": 0, "max_retries": 0, "reorient_requested": False}
with open(path, "a") as f:
    f.write(json.dumps(record) + "\n")
PY
}
for agent in claude codex; do
    if [ "$agent" = codex ] && command -v claude >/dev/null 2>&1; then
        continue # a real claude on PATH would be chosen first
    fi
    big_task "agent_big_$agent"
    PATH="$stubs/$agent:$PATH" DEFER_TASK_CWD="$work/task-cwd" DEFER_AGENT_FLAGS="--max-turns 3" \
        DEFER_EXECUTOR="$here/executors/agent-cli.sh" "$bin" run 2>"$work/err" || true
    expect "agent-cli ($agent): a 1 MiB prompt completes the task, read on stdin in DEFER_TASK_CWD" \
        "$(field "agent_big_$agent" 't["status"] + "|" + t["result"]["output"].strip()')" \
        "completed|$agent read $(wc -c <"$DEFER_RUNTIME_DIR/logs/agent_big_$agent.prompt.txt" | tr -d ' ') bytes in $work/task-cwd"
    if cmp -s "$work/$agent.stdin" "$DEFER_RUNTIME_DIR/logs/agent_big_$agent.prompt.txt" \
        && [ "$(wc -c <"$work/$agent.stdin")" -gt 1048576 ]; then
        pass "agent-cli ($agent): the agent's stdin is the whole prompt file (over 1 MiB)"
    else
        fail "agent-cli ($agent): the agent's stdin is the whole prompt file" "$(wc -c <"$work/$agent.stdin" 2>&1)"
    fi
    argv=$(tr '\n' ' ' <"$work/$agent.argv")
    case "$argv" in
        *SECRET-MARKER*) fail "agent-cli ($agent): no task text in the agent's argv" "$argv" ;;
        *) if [ "$agent" = claude ]; then want="-p --max-turns 3 "; else want="exec --max-turns 3 - "; fi
           expect "agent-cli ($agent): argv is only the flags, no task text" "$argv" "$want" ;;
    esac
done

schedule_now agent_cwd 'Bad cwd'
PATH="$stubs/claude:$PATH" DEFER_TASK_CWD="$work/no-such-dir" DEFER_EXECUTOR="$here/executors/agent-cli.sh" \
    "$bin" run 2>"$work/err" || true
expect_contains "agent-cli: a DEFER_TASK_CWD that is not a directory fails the task, saying so" \
    "$(field agent_cwd 't["status"] + "|" + t["error"]')" "failed|agent-cli.sh: task agent_cwd (attempt 1): DEFER_TASK_CWD is not a directory"

# ------------------------------------------------------------------------------------------
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
