# Environment shared by serve.sh and chat.sh (sourced from the project root).
export GUICHET_ACTION_URL="${GUICHET_ACTION_URL:-http://localhost:${GUICHET_ACTION_PORT:-5055}/webhook}"
export GUICHET_TRACKER_DB="${GUICHET_TRACKER_DB:-$PWD/var/tracker.db}"
export PYTHONPATH="$PWD${PYTHONPATH:+:$PYTHONPATH}"
export SQLALCHEMY_SILENCE_UBER_WARNING=1
mkdir -p var
