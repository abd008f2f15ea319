#!/bin/sh
# scheduled-reorient.sh — schedule a check-in that rebuilds its context from a project's
# CONTEXT.md instead of from a chat transcript.
#
# Usage (from the repository root):
#   DEFER_BIN=target/$(rustc -vV | sed -n 's/^host: //p')/debug/defer examples/scheduled-reorient.sh
#   examples/scheduled-reorient.sh            # uses `defer` from PATH
#
# It writes a small CONTEXT.md into a temporary project directory, prints the snapshot
# `defer reorient --context-file ...` builds from it, then schedules a task for next Monday 9am
# with `--reorient --context-file ...` (the snapshot's summary, key points, artifacts and
# constraints become the task's context). By default everything happens in a throwaway runtime
# directory (mktemp -d); export DEFER_RUNTIME_DIR to use a real one.
set -eu

DEFER_BIN=${DEFER_BIN:-defer}
DEFER_RUNTIME_DIR=${DEFER_RUNTIME_DIR:-$(mktemp -d)}
export DEFER_RUNTIME_DIR
echo "runtime dir: $DEFER_RUNTIME_DIR" >&2

project_dir=$(mktemp -d)
context_file="$project_dir/CONTEXT.md"
cat >"$context_file" <<'MD'
# Search relevance project

## What this is
Improve search relevance for the docs site by replacing BM25-only ranking with a hybrid ranker.

## Current state
- Offline eval harness works (nDCG@10 on 400 labelled queries)
- Hybrid ranker prototype beats BM25 by 6 points offline
- Latency of the embedding call is not yet measured

## Open questions
- Is the p95 latency acceptable for the search box?
- Do we need per-language models?

## Key constraints
- p95 search latency must stay under 150 ms
- No user query text leaves our infrastructure

## Decisions already made
- Keep BM25 as the first-stage retriever
- Evaluate on the frozen 2026-10 query set only

## What we should not do
- Tune on the test queries
- Ship without an A/B test

## Key references
- eval/run_eval.py
- docs/ranking-design.md
MD

echo "== snapshot built from $context_file" >&2
"$DEFER_BIN" reorient --context-file "$context_file"

echo "== scheduling the check-in" >&2
"$DEFER_BIN" schedule \
    --when "next monday 9am" \
    --reorient --context-file "$context_file" \
    --prompt-template "Re-read the project context, measure the hybrid ranker's p95 latency, and decide whether it can go to an A/B test."
