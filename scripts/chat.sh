#!/usr/bin/env bash
# rasa shell against the local action server (started here, stopped on exit).
set -euo pipefail
cd "$(dirname "$0")/.."
export GUICHET_ACTION_URL="${GUICHET_ACTION_URL:-http://localhost:${GUICHET_ACTION_PORT:-5055}/webhook}"
export GUICHET_TRACKER_DB="${GUICHET_TRACKER_DB:-$PWD/var/tracker.db}"
mkdir -p var
export PYTHONPATH="$PWD${PYTHONPATH:+:$PYTHONPATH}"
.venv/bin/rasa run actions --actions actions --port "${GUICHET_ACTION_PORT:-5055}" > var/actions-chat.log 2>&1 &
actions_pid=$!
trap 'kill $actions_pid 2>/dev/null || true' EXIT INT TERM
.venv/bin/rasa shell --model models/guichet.tar.gz --endpoints endpoints.yml
