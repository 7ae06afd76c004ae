#!/usr/bin/env bash
# Installs the Debian packages the test suite needs (headless Chromium for the browser tests,
# PostgreSQL 15 and Redis 7 servers for the scale-out tests); the front-end assets from the npm
# registry are installed by scripts/setup.sh. Idempotent and quick when done.
set -euo pipefail
cd "$(dirname "$0")/.."

need=()
command -v chromium >/dev/null 2>&1 || need+=(chromium)
[ -x /usr/lib/postgresql/15/bin/postgres ] || need+=(postgresql-15)
command -v redis-server >/dev/null 2>&1 || need+=(redis-server)
if [ ${#need[@]} -gt 0 ]; then
    if [ "$(id -u)" != 0 ] && ! command -v sudo >/dev/null 2>&1; then
        echo "ERREUR : paquets Debian manquants (${need[*]}) ; installez-les : apt-get install ${need[*]}" >&2
        exit 1
    fi
    sudo_cmd=""
    [ "$(id -u)" = 0 ] || sudo_cmd=sudo
    echo "Installation des paquets Debian : ${need[*]} …"
    $sudo_cmd apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $sudo_cmd apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
fi
# The tests start their own PostgreSQL and Redis servers on free loopback ports (tests/servers.py).
