#!/usr/bin/env bash
# Creates .venv with Python 3.10 and installs the pinned dependencies.
# Idempotent: does nothing when .venv already matches requirements.lock.
set -euo pipefail
cd "$(dirname "$0")/.."

find_python310() {
    local candidate
    for candidate in "${GUICHET_PYTHON:-}" python3.10 /root/.pyenv/versions/3.10.*/bin/python /usr/local/bin/python3.10 /usr/bin/python3.10; do
        [ -n "$candidate" ] || continue
        if command -v "$candidate" >/dev/null 2>&1 \
            && "$candidate" -c 'import sys; sys.exit(0 if sys.version_info[:2] == (3, 10) else 1)' 2>/dev/null; then
            command -v "$candidate"
            return 0
        fi
    done
    return 1
}

stamp=.venv/.guichet-installed
want=$(cat requirements.in requirements.lock | sha256sum | cut -d' ' -f1)
if [ -x .venv/bin/python ] && [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ]; then
    exit 0
fi

if ! py=$(find_python310); then
    echo "ERREUR : Python 3.10 est introuvable (Rasa 3.6 ne fonctionne pas avec 3.11 ou plus)." >&2
    echo "Installez Python 3.10 (par exemple avec pyenv) ou indiquez son chemin dans GUICHET_PYTHON." >&2
    exit 1
fi
echo "Installation de l'environnement Python ($py) dans .venv …"
rm -rf .venv
"$py" -m venv .venv
.venv/bin/python -m pip install --quiet --disable-pip-version-check --upgrade "pip==24.0"
.venv/bin/python -m pip install --disable-pip-version-check --progress-bar off \
    -r requirements.in -c requirements.lock
.venv/bin/python -m pip check
echo "$want" > "$stamp"
echo "Environnement prêt."
