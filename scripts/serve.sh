#!/usr/bin/env bash
# Starts the action server and the Rasa server (pages, REST, socket.io) on this machine; Ctrl-C stops both.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/env.sh
# Fail early, in French, if the knowledge base cannot be read (database unreachable or not built).
.venv/bin/python -m bot kb summary > /dev/null
# The action server (bot/serve.py run_actions) listens on this machine only, unless GUICHET_ACTION_HOST
# says otherwise (docs/deploy.md); GUICHET_ACTION_PORT, 5055 by default.
.venv/bin/python -m bot actions &
actions_pid=$!
trap 'kill $actions_pid 2>/dev/null || true' EXIT INT TERM
# Rasa with Guichet's settings (bot/serve.py): endpoints written to var/endpoints.yml (SQLite by
# default, PostgreSQL / Redis when configured), Rasa's HTTP API only with GUICHET_API_TOKEN, CORS
# only for GUICHET_ALLOWED_ORIGINS, and where to find the counsellor code.
.venv/bin/python -m bot serve
