#!/usr/bin/env bash
# rasa shell against the local action server (started here, stopped on exit).
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/env.sh
# Same endpoints as `make run` (SQLite by default, PostgreSQL / Redis when configured).
.venv/bin/python -m bot endpoints --out var/endpoints.yml
.venv/bin/rasa run actions --actions actions ${GUICHET_ACTION_PORT:+--port "$GUICHET_ACTION_PORT"} > var/actions-chat.log 2>&1 &
actions_pid=$!
trap 'kill $actions_pid 2>/dev/null || true' EXIT INT TERM
.venv/bin/rasa shell --model models/guichet.tar.gz --endpoints var/endpoints.yml
