#!/usr/bin/env bash
# The whole loop on the embedded default store, in a throwaway runtime directory:
# build, schedule a task due now and one for later, run the due one, and show the results.
set -euo pipefail
cd "$(dirname "$0")/.."

cargo build --release --quiet
# Built for the host triple (.cargo/config.toml), so under target/<triple>/.
defer="target/$(rustc -vV | sed -n 's/^host: //p')/release/defer"
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
