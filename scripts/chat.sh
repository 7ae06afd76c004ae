#!/usr/bin/env bash
# rasa shell against the local action server (started here, stopped on exit).
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/env.sh
# Same endpoints as `make run` (SQLite by default, PostgreSQL / Redis when configured).
.venv/bin/python -m bot endpoints --out var/endpoints.yml
# The action server (bot/serve.py run_actions) listens on this machine only, unless GUICHET_ACTION_HOST
# says otherwise (docs/deploy.md); GUICHET_ACTION_PORT, 5055 by default.
.venv/bin/python -m bot actions > var/actions-chat.log 2>&1 &
actions_pid=$!
trap 'kill $actions_pid 2>/dev/null || true' EXIT INT TERM
.venv/bin/rasa shell --model models/guichet.tar.gz --endpoints var/endpoints.yml
