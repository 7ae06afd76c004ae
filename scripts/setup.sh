#!/usr/bin/env bash
# Creates .venv with Python 3.10 and installs the pinned dependencies, then the web front's assets
# (package-lock.json: DSFR, socket.io client, axe-core) into node_modules/ — served by Guichet itself.
# Idempotent: does nothing when .venv and node_modules already match the lock files.
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

install_assets() {
    local stamp=node_modules/.guichet-installed want
    want=$(cat package.json package-lock.json | sha256sum | cut -d' ' -f1)
    if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ]; then
        return 0
    fi
    if ! command -v npm >/dev/null 2>&1; then
        echo "ERREUR : npm est introuvable ; il sert à installer le système de design de l'État (DSFR)." >&2
        echo "Installez Node.js et npm (par exemple : apt-get install nodejs npm)." >&2
        exit 1
    fi
    echo "Installation des ressources de l'interface web (npm ci) …"
    # --ignore-scripts: the DSFR's preinstall script is for projects built with its own tool.
    npm ci --ignore-scripts --no-audit --no-fund --loglevel=error
    echo "$want" > "$stamp"
}

stamp=.venv/.guichet-installed
want=$(cat requirements.in requirements.lock | sha256sum | cut -d' ' -f1)
if [ -x .venv/bin/python ] && [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ]; then
    install_assets
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
install_assets
echo "Environnement prêt."
