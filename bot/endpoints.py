"""Rasa's endpoints file written from Guichet's settings (`python -m bot endpoints --out FILE`).

The versioned `endpoints.yml` is the same file for the defaults of bot/config.py, written literally
(paths relative to the project root) so that the Rasa CLI works there with no variable set;
`static()` is what it must contain (tests/test_endpoints.py compares).

One setting per store, no Rasa knowledge needed by whoever deploys:
- `GUICHET_TRACKER_URL` (SQLAlchemy URL, e.g. `postgresql://guichet:secret@db:5432/guichet`): the
  conversations. Unset: SQLite file `GUICHET_TRACKER_DB` (default `var/tracker.db` of the project).
- `GUICHET_LOCK_STORE_URL` (`redis://[:password@]host[:port][/db]`, `rediss://` for TLS): the
  per-conversation lock shared by several Rasa instances. Unset: Rasa's in-memory lock store
  (fine for a single instance only).
- `GUICHET_ACTION_URL`: the action server (default `http://127.0.0.1:5055/webhook`).

The tracker store is Rasa's own `SQL` store; the lock store is Rasa's Redis lock store with its
ticket updates made atomic (`bot.lockstore`, Rasa's own is not safe across processes). The file
may hold passwords: it is written with mode 0600.
"""
from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Dict, Mapping, Optional
from urllib.parse import unquote, urlsplit

import yaml

from bot.config import DEFAULT_TRACKER_DB, Settings, get_settings

HEADER = "# Written by `python -m bot endpoints` from the GUICHET_* environment variables: do not edit.\n"


class EndpointsError(ValueError):
    pass


def tracker_store(settings: Settings) -> Dict[str, Any]:
    if not settings.tracker_url_set:
        return {"type": "SQL", "dialect": "sqlite", "db": settings.tracker_db}
    url = settings.tracker_url
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import ArgumentError

    try:
        parsed = make_url(url)
    except ArgumentError as exc:
        raise EndpointsError(f"GUICHET_TRACKER_URL invalide : attendu une URL SQLAlchemy ({exc})") from exc
    if parsed.get_backend_name() == "sqlite":
        return {"type": "SQL", "dialect": "sqlite", "db": parsed.database or ""}
    if not parsed.database:
        raise EndpointsError("GUICHET_TRACKER_URL invalide : nom de base manquant (…/guichet)")
    # Rasa's SQL tracker store hands a `url` containing "://" to SQLAlchemy unchanged.
    return {"type": "SQL", "url": url}


def lock_store(settings: Settings) -> Optional[Dict[str, Any]]:
    url = settings.lock_store_url
    if not url:
        return None
    parts = urlsplit(url)
    if parts.scheme not in ("redis", "rediss") or not parts.hostname:
        raise EndpointsError(
            f"GUICHET_LOCK_STORE_URL invalide « {parts.scheme}://… » : attendu redis://[:motdepasse@]hôte[:port][/base]"
        )
    try:
        port = parts.port or 6379
        db = int(parts.path.strip("/") or 0)
    except ValueError as exc:
        raise EndpointsError(f"GUICHET_LOCK_STORE_URL invalide : port ou numéro de base ({exc})") from exc
    store: Dict[str, Any] = {"type": "bot.lockstore.AtomicRedisLockStore", "url": parts.hostname, "port": port, "db": db}
    if parts.username:
        store["username"] = unquote(parts.username)
    if parts.password:
        store["password"] = unquote(parts.password)
    if parts.scheme == "rediss":
        store["use_ssl"] = True
    return store


def endpoints(env: Optional[Mapping[str, str]] = None) -> Dict[str, Any]:
    """Rasa's endpoints for the settings of `env` (default: the process environment)."""
    settings = get_settings(env)
    result: Dict[str, Any] = {"action_endpoint": {"url": settings.action_url}, "tracker_store": tracker_store(settings)}
    lock = lock_store(settings)
    if lock is not None:
        result["lock_store"] = lock
    return result


def static() -> Dict[str, Any]:
    """What the versioned endpoints.yml holds: the defaults, the SQLite path relative to the project root."""
    return endpoints({"GUICHET_TRACKER_DB": DEFAULT_TRACKER_DB})


def _no_variables(value: Any) -> Any:
    # Rasa expands ${VAR} in the values of the file: refuse rather than let a password be rewritten.
    if isinstance(value, dict):
        return {k: _no_variables(v) for k, v in value.items()}
    if isinstance(value, str) and "${" in value:
        raise EndpointsError("les URL ne peuvent pas contenir « ${ » (Rasa le lirait comme une variable)")
    return value


def render(env: Optional[Mapping[str, str]] = None) -> str:
    return HEADER + yaml.safe_dump(_no_variables(endpoints(env)), sort_keys=False, allow_unicode=True)


def write(path: Path, env: Optional[Mapping[str, str]] = None) -> Path:
    text = render(env)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write(text)
    os.chmod(path, 0o600)
    return path


def describe(env: Optional[Mapping[str, str]] = None) -> str:
    """One French line for the logs, without passwords."""
    config = endpoints(env)
    tracker = config["tracker_store"]
    if "url" in tracker:
        from sqlalchemy.engine import make_url

        where = make_url(tracker["url"]).render_as_string(hide_password=True)
    else:
        where = f"sqlite:///{tracker['db']}"
    lock = config.get("lock_store")
    locks = f"redis://{lock['url']}:{lock['port']}/{lock['db']}" if lock else "en mémoire (une seule instance)"
    return f"conversations : {where} ; verrous : {locks} ; actions : {config['action_endpoint']['url']}"
