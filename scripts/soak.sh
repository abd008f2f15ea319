#!/usr/bin/env bash
# The long fault run (RELIABILITY.md): every fault test against a release build with the
# failpoints compiled in, the random kill -9 soak at full size, and the property tests with
# 20 times their CI case count. Prints the figures RELIABILITY.md records.
#
#   scripts/soak.sh                 # 200 soak iterations
#   scripts/soak.sh 1000            # more
#   DEFER_SOAK_SEED=N scripts/soak.sh   # replay a failing run (the seed is printed)
#
# Needs root for the disk-full tests (they mount a small tmpfs; without root they are
# skipped with a note). CI runs the same tests at reduced size through `cargo test`.
set -euo pipefail
cd "$(dirname "$0")/.."

export DEFER_SOAK_ITERATIONS="${1:-${DEFER_SOAK_ITERATIONS:-200}}"
export PROPTEST_CASES="${PROPTEST_CASES:-5000}"

echo "== fault suite, release build with failpoints"
cargo test --release --features failpoints --test integration faults:: -- --nocapture
echo "== kill -9 soak: ${DEFER_SOAK_ITERATIONS} iterations"
cargo test --release --features failpoints --test integration faults::soak_kill9_full \
  -- --ignored --exact --nocapture
echo "== property tests (${PROPTEST_CASES} cases each)"
cargo test --release --test integration props::
