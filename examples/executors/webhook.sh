#!/bin/sh
# webhook.sh — a `defer` executor that POSTs the task JSON to a webhook.
#
# Usage:
#   DEFER_WEBHOOK_URL=https://example.com/hooks/defer \
#   DEFER_EXECUTOR=/abs/path/to/examples/executors/webhook.sh defer run
#
# What it does:
#   Reads the task JSON (one line) from stdin and POSTs it to $DEFER_WEBHOOK_URL with
#   Content-Type: application/json, using curl --fail --silent --show-error --max-time 30.
#   The response body is printed to stdout, so it becomes the task's result.output.
#   An HTTP status >= 400, a timeout or a connection error makes curl (and this script) exit
#   non-zero; curl's message on stderr becomes the task's error (retried if retries remain).
#   The headers X-Defer-Task-Id and X-Defer-Attempt carry DEFER_TASK_ID and DEFER_ATTEMPT.
#
# Requires: curl. DEFER_WEBHOOK_URL must be set (the task fails with a clear error otherwise).
set -eu

if [ -z "${DEFER_WEBHOOK_URL:-}" ]; then
    echo "webhook.sh: DEFER_WEBHOOK_URL is not set; set it to the URL the task JSON should be POSTed to (task ${DEFER_TASK_ID:-unknown} not sent)" >&2
    exit 1
fi
if ! command -v curl >/dev/null 2>&1; then
    echo "webhook.sh: curl is not installed; install curl to use this executor" >&2
    exit 1
fi

exec curl --fail --silent --show-error --max-time 30 \
    -X POST \
    -H 'Content-Type: application/json' \
    -H "X-Defer-Task-Id: ${DEFER_TASK_ID:-}" \
    -H "X-Defer-Attempt: ${DEFER_ATTEMPT:-}" \
    --data-binary @- \
    "$DEFER_WEBHOOK_URL"
