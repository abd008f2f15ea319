#!/bin/sh
# resume-analysis.sh — defer a half-finished analysis to tomorrow morning, with a full snapshot
# of intent (key points, artifacts, constraints), a prompt template and two retries, then show it.
#
# Usage (from the repository root):
#   DEFER_BIN=target/$(rustc -vV | sed -n 's/^host: //p')/debug/defer examples/resume-analysis.sh
#   examples/resume-analysis.sh               # uses `defer` from PATH
#
# By default it works in a throwaway runtime directory (mktemp -d); export DEFER_RUNTIME_DIR to
# use a real one. When the task comes due, `defer run` writes the rehydration prompt to
# $DEFER_RUNTIME_DIR/logs/<id>.prompt.txt and hands the task to $DEFER_EXECUTOR if one is set
# (try examples/executors/agent-cli.sh). A failing executor is retried up to twice.
set -eu

DEFER_BIN=${DEFER_BIN:-defer}
DEFER_RUNTIME_DIR=${DEFER_RUNTIME_DIR:-$(mktemp -d)}
export DEFER_RUNTIME_DIR
echo "runtime dir: $DEFER_RUNTIME_DIR" >&2

# A unique id, so the example can be run repeatedly against the same store.
id="analysis_$(date -u +%Y%m%d_%H%M%S)_$$"

"$DEFER_BIN" schedule \
    --id "$id" \
    --when "tomorrow 9am" \
    --intent resume_task \
    --summary "Finish the Q3 churn analysis and draft the findings memo" \
    --key-point "Cohort split by signup month is done; the 2026-05 cohort looks anomalous" \
    --key-point "Suspect the pricing change on 2026-05-14 rather than seasonality" \
    --key-point "Still need survival curves per plan tier" \
    --artifact "notebooks/churn_q3.ipynb" \
    --artifact "data/exports/subscriptions_2026q3.parquet" \
    --artifact "https://wiki.example.com/pricing-change-2026-05" \
    --constraint "Do not re-run the export: the warehouse snapshot is pinned to 2026-10-01" \
    --constraint "Keep the memo under one page" \
    --prompt-template "Re-open notebooks/churn_q3.ipynb, plot survival curves per plan tier, test the pricing-change hypothesis against seasonality, then draft a one-page memo of the findings." \
    --max-retries 2 \
    --compact >/dev/null

# Show the stored record.
"$DEFER_BIN" show "$id"
