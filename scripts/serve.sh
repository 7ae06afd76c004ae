#!/usr/bin/env bash
# Starts the action server and the Rasa server (REST + socket.io) on localhost; Ctrl-C stops both.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/env.sh
# Fail early, in French, if the knowledge base cannot be read (database unreachable or not built).
.venv/bin/python -m bot kb summary > /dev/null
# Rasa's endpoints from the settings: SQLite + in-memory locks by default, PostgreSQL with
# GUICHET_TRACKER_URL, Redis locks with GUICHET_LOCK_STORE_URL (docs/deploy.md).
.venv/bin/python -m bot endpoints --out var/endpoints.yml
.venv/bin/rasa run actions --actions actions ${GUICHET_ACTION_PORT:+--port "$GUICHET_ACTION_PORT"} &
actions_pid=$!
trap 'kill $actions_pid 2>/dev/null || true' EXIT INT TERM
port="${GUICHET_RASA_PORT:-5005}"
echo "Guichet démarre (une trentaine de secondes). Ensuite, ouvrez :"
echo "  http://localhost:$port/chat        discussion en ligne"
echo "  http://localhost:$port/borne       borne libre-service"
echo "  http://localhost:$port/conseiller  console des conseillers"
echo "  API REST : http://localhost:$port/webhooks/rest/webhook (docs/api.md)"
.venv/bin/rasa run --enable-api --cors "*" --port "$port" \
    --model models/guichet.tar.gz --endpoints var/endpoints.yml --credentials credentials.yml
