"""`python -m bot serve`: Rasa's HTTP server started with Guichet's settings (what `make run` runs).

Closed by default:
- Rasa's HTTP API (trackers, event injection, model replacement, training…) is only switched on
  when GUICHET_API_TOKEN is set, and then every API route asks for that token (`--auth-token`).
  The pages, the REST webhook and socket.io are input channels: always served.
- No CORS for anyone unless listed in GUICHET_ALLOWED_ORIGINS (never `*`).
- The counsellor code is created if needed and whoever starts the server is told where it is.

Rasa is run in this process (its own command line, built here), so the API token never appears
in the process list.
"""
from __future__ import annotations

import sys
from pathlib import Path
from typing import List, Optional

from bot.config import MIN_API_TOKEN, PROJECT_ROOT, Settings, get_settings


def problems(settings: Settings) -> List[str]:
    """Settings that make the server refuse to start (French, for whoever runs it)."""
    found = []
    for item in settings.invalid_origins:
        if item == "*":
            found.append("GUICHET_ALLOWED_ORIGINS : « * » n'est pas accepté ; indiquez les sites autorisés, "
                         "par exemple https://www.mairie-exemple.fr")
        else:
            found.append(f"GUICHET_ALLOWED_ORIGINS : « {item} » n'est pas une origine (https://site[:port], sans chemin)")
    if settings.opening_error:
        found.append(settings.opening_error)
    try:
        from zoneinfo import ZoneInfo

        ZoneInfo(settings.timezone)
    except Exception:  # noqa: BLE001 - any unknown or malformed zone name
        found.append(f"GUICHET_TIMEZONE : fuseau horaire inconnu « {settings.timezone} » (par exemple Europe/Paris, "
                     "America/Cayenne, Indian/Reunion)")
    if settings.api_token is not None and len(settings.api_token) < MIN_API_TOKEN:
        found.append(f"GUICHET_API_TOKEN est trop court : {MIN_API_TOKEN} caractères au moins "
                     "(par exemple : python3 -c 'import secrets; print(secrets.token_urlsafe(32))')")
    return found


def rasa_arguments(settings: Settings, model: str, endpoints: str, credentials: str, port: int) -> List[str]:
    """Rasa's `run` command line for these settings (tests/test_access.py checks what it opens)."""
    args = ["run", "--port", str(port), "--model", model, "--endpoints", endpoints, "--credentials", credentials]
    if settings.api_token:
        args += ["--enable-api", "--auth-token", settings.api_token]
    if settings.allowed_origins:
        args += ["--cors", *settings.allowed_origins]
    return args


def banner(settings: Settings, port: int) -> List[str]:
    from bot.access import where_is_the_code

    lines = [
        "Guichet démarre (une trentaine de secondes). Ensuite, ouvrez :",
        f"  http://localhost:{port}/chat        discussion en ligne",
        f"  http://localhost:{port}/borne       borne libre-service",
        f"  http://localhost:{port}/conseiller  console des conseillers",
        f"  API REST : http://localhost:{port}/webhooks/rest/webhook (docs/api.md)",
        where_is_the_code(settings),
    ]
    if settings.api_token:
        lines.append("API HTTP de Rasa : activée, protégée par le jeton GUICHET_API_TOKEN (paramètre ?token=).")
    else:
        lines.append("API HTTP de Rasa : désactivée (définissez GUICHET_API_TOKEN pour l'activer).")
    if settings.allowed_origins:
        lines.append("Sites autorisés à intégrer la discussion : " + ", ".join(settings.allowed_origins))
    return lines


def run(model: Optional[str], endpoints: Optional[str], credentials: Optional[str], port: Optional[int]) -> int:
    settings = get_settings()
    found = problems(settings)
    if found:
        for problem in found:
            print(f"Erreur : {problem}", file=sys.stderr)
        return 2
    port = port or settings.rasa_port
    if endpoints is None:
        from bot.endpoints import describe, write

        endpoints = str(write(PROJECT_ROOT / "var" / "endpoints.yml"))
        print(f"{endpoints} écrit — {describe()}", file=sys.stderr)
    for line in banner(settings, port):
        print(line, file=sys.stderr)
    args = rasa_arguments(
        settings,
        model or str(PROJECT_ROOT / "models" / "guichet.tar.gz"),
        endpoints,
        credentials or str(PROJECT_ROOT / "credentials.yml"),
        port,
    )
    return _rasa(args)


def _rasa(args: List[str]) -> int:
    """Rasa's command line, run in this process (its arguments never appear in the process list)."""
    from rasa.__main__ import main as rasa_main

    sys.argv = [str(Path(sys.executable).parent / "rasa"), *args]
    rasa_main()
    return 0


def run_actions(port: Optional[int]) -> int:
    """`rasa run actions` for Guichet's actions, listening on GUICHET_ACTION_HOST only (this machine
    unless set: rasa_sdk itself would listen on every interface, read from SANIC_HOST)."""
    import os
    import threading

    from bot import services

    settings = get_settings()
    os.environ["SANIC_HOST"] = settings.action_host
    threading.Thread(target=services.warm_up, name="guichet-warm-up", daemon=True).start()
    return _rasa(["run", "actions", "--actions", "actions", "--port", str(port or settings.action_port)])
