#!/usr/bin/env bash
# The whole loop on the embedded default store, in a throwaway runtime directory:
# build, schedule a task due now and one for later, run the due one, and show the results.
#
# DEFER_BIN=defer ./scripts/quickstart.sh runs the same loop with an installed `defer` (the one on
# PATH, e.g. from `pipx install agent-defer`), or DEFER_BIN=/path/to/defer with that binary;
# nothing is built then, and cargo need not be installed.
set -euo pipefail
cd "$(dirname "$0")/.."

if [ -n "${DEFER_BIN:-}" ]; then
  defer="$DEFER_BIN"
  if ! command -v "$defer" >/dev/null; then
    echo "error: DEFER_BIN=$defer is not an executable (nor a command on PATH)" >&2
    exit 1
  fi
  echo "binary: $(command -v "$defer") ($("$defer" --version))"
else
  # cargo's own progress bar on a terminal; a line per crate when piped (a first build takes
  # several minutes on two cores: better seen than silent).
  echo "--- building defer (release; the first build takes a few minutes)"
  if [ -t 2 ]; then
    cargo build --release
  else
    build_log="$(mktemp)"
    if ! cargo build --release --color never 2>&1 | tee "$build_log" \
        | grep --line-buffered -E '^ *(Compiling|Finished)' >&2; then
      tail -n 30 "$build_log" >&2
      echo "error: the build failed (above)" >&2
      exit 1
    fi
    rm -f "$build_log"
  fi
  # Built for the host triple (.cargo/config.toml), so under target/<triple>/.
  defer="target/$(rustc -vV | sed -n 's/^host: //p')/release/defer"
fi
export DEFER_RUNTIME_DIR="${DEFER_RUNTIME_DIR:-$(mktemp -d)}"
echo "runtime dir: $DEFER_RUNTIME_DIR"

echo "--- schedule a task due now, and one for tomorrow 9am"
"$defer" schedule --when now --summary "Check build status" --id demo_1 \
  --key-point "CI was red on main" --artifact "https://ci.example/run/42" --compact
"$defer" schedule --when "tomorrow 9am" --summary "Write the weekly report" --compact

echo "--- pending"
"$defer" list --compact

echo "--- run (what cron does every minute)"
"$defer" run -v

echo "--- the archived record"
"$defer" show demo_1

echo "--- the prompt artifact"
cat "$DEFER_RUNTIME_DIR/logs/demo_1.prompt.txt"

echo "--- the audit log"
cat "$DEFER_RUNTIME_DIR/logs/deferred.log"
