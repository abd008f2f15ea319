#!/bin/sh
# reminder.sh — schedule a simple reminder 30 minutes from now, then list pending tasks.
#
# Usage (from the repository root):
#   DEFER_BIN=target/$(rustc -vV | sed -n 's/^host: //p')/debug/defer examples/reminder.sh
#   examples/reminder.sh                      # uses `defer` from PATH
#
# By default it works in a throwaway runtime directory (mktemp -d), so it never touches your
# real task store. Export DEFER_RUNTIME_DIR to schedule into a real one, e.g.
#   DEFER_RUNTIME_DIR=~/data/runtime examples/reminder.sh
# The reminder fires on the first `defer run` after it is due (see docs/scheduling.md).
set -eu

DEFER_BIN=${DEFER_BIN:-defer}
DEFER_RUNTIME_DIR=${DEFER_RUNTIME_DIR:-$(mktemp -d)}
export DEFER_RUNTIME_DIR
echo "runtime dir: $DEFER_RUNTIME_DIR" >&2

# Schedule it (the record is printed on stdout; a human confirmation line goes to stderr).
"$DEFER_BIN" schedule \
    --when "in 30m" \
    --intent notify \
    --summary "Stretch, drink some water, and check whether the long build finished"

# What is pending now.
"$DEFER_BIN" list
