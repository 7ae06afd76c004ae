"""Counsellor access, closed by default: the code, the login limit, the console sessions.

- The counsellor code is GUICHET_AGENT_TOKEN when set; otherwise a strong code generated at first
  use in `var/code-conseiller.txt` (GUICHET_AGENT_CODE_FILE), readable by the server's user only,
  and shared by the processes started from the same folder (Rasa server, action server). Without a
  code there is no agent audience at all: there is no open mode.
- Login attempts are limited per client address: after MAX_FAILURES wrong codes within WINDOW_S,
  the address must wait (HTTP 429) until the oldest of them leaves the window.
- A console session is a random token in an HttpOnly cookie; the server keeps an HMAC of it (keyed
  with the code) and its expiry in Guichet's database, so a logout ends it on every Rasa instance
  that shares the database, and changing the code ends every session.

Failures and sessions live in Guichet's database (GUICHET_DB_URL, tables created on first use,
never touched by `kb build`), shared by every Rasa instance of a scaled-out deployment.
"""
from __future__ import annotations

import hashlib
import hmac
import math
import os
import secrets
import time
from pathlib import Path
from typing import Optional, Tuple

from sqlalchemy import Column, Float, Integer, MetaData, String, Table, delete, insert, select
from sqlalchemy.engine import Engine

from bot.config import Settings, get_settings
from bot.db import create_tables

MAX_FAILURES = 5
WINDOW_S = 15 * 60
CODE_ALPHABET = "abcdefghjkmnpqrstuvwxyz23456789"  # no 0/o, 1/l/i: read on a screen, typed by a person
CODE_GROUPS, CODE_GROUP_LENGTH = 5, 4  # 20 characters of 31: about 99 bits
MIN_CODE = 8

metadata = MetaData()
login_failures = Table(
    "counsellor_login_failures",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("address", String(64), nullable=False, index=True),
    Column("at", Float, nullable=False, index=True),  # Unix time
)
sessions = Table(
    "counsellor_sessions",
    metadata,
    Column("key", String(64), primary_key=True),  # HMAC-SHA256(code, token): never the token itself
    Column("created_at", Float, nullable=False),
    Column("expires_at", Float, nullable=False, index=True),
)


class AccessError(RuntimeError):
    """The counsellor code cannot be read or created (message in French, for whoever runs Guichet)."""


# -- the code ------------------------------------------------------------------------------------


def new_code() -> str:
    groups = ("".join(secrets.choice(CODE_ALPHABET) for _ in range(CODE_GROUP_LENGTH)) for _ in range(CODE_GROUPS))
    return "-".join(groups)


def ensure_code_file(path: Path) -> Tuple[str, bool]:
    """The code kept in `path`, created (mode 0600) when absent; (code, created now).

    Safe when several processes start together: the code is written to a private temporary file,
    then linked to `path` (which fails if another process was first: its code is read instead)."""
    try:
        return _read_code(path), False
    except FileNotFoundError:
        pass
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        temporary = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}")
        fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as handle:
                handle.write(new_code() + "\n")
                handle.flush()
                os.fsync(handle.fileno())
            try:
                os.link(temporary, path)
                created = True
            except FileExistsError:
                created = False
        finally:
            temporary.unlink(missing_ok=True)
        return _read_code(path), created
    except OSError as exc:
        raise AccessError(f"impossible de créer le code d'accès des conseillers dans {path} : {exc.strerror or exc}") from exc


def _read_code(path: Path) -> str:
    try:
        code = path.read_text(encoding="utf-8").strip()
    except FileNotFoundError:
        raise
    except (OSError, UnicodeDecodeError) as exc:
        raise AccessError(f"impossible de lire le code d'accès des conseillers dans {path} : {exc}") from exc
    if len(code) < MIN_CODE:
        raise AccessError(
            f"le code d'accès des conseillers de {path} est vide ou trop court ({MIN_CODE} caractères au moins) : "
            "supprimez ce fichier pour qu'un nouveau code soit créé au prochain démarrage"
        )
    return code


def agent_code(settings: Optional[Settings] = None) -> str:
    """The counsellor code: GUICHET_AGENT_TOKEN, or the generated one (created at first use)."""
    settings = settings or get_settings()
    if settings.agent_token:
        return settings.agent_token
    return ensure_code_file(settings.agent_code_file)[0]


def code_matches(code: object, secret: str) -> bool:
    """Constant-time comparison of what a person typed with the code."""
    return isinstance(code, str) and bool(secret) and hmac.compare_digest(
        code.strip().encode(errors="surrogatepass"), secret.encode()
    )


def where_is_the_code(settings: Optional[Settings] = None) -> str:
    """One French line for whoever starts Guichet (the code itself is never printed nor logged)."""
    settings = settings or get_settings()
    if settings.agent_token:
        return "Console des conseillers : le code d'accès est celui de GUICHET_AGENT_TOKEN."
    path = settings.agent_code_file
    _code, created = ensure_code_file(path)
    try:
        shown = path.relative_to(Path.cwd())
    except ValueError:
        shown = path
    state = "créé à l'instant, " if created else ""
    return (f"Console des conseillers : code d'accès dans {shown} ({state}lisible seulement par l'utilisateur "
            f"qui lance Guichet) ; pour l'afficher : cat {shown}")


# -- login limit per client address -----------------------------------------------------------------


def retry_after(engine: Engine, address: str, now: Optional[float] = None) -> Optional[float]:
    """Seconds this address must still wait before trying a code, or None when it may try now."""
    now = time.time() if now is None else now
    with engine.begin() as conn:
        create_tables(conn, metadata)
        recent = conn.execute(
            select(login_failures.c.at)
            .where(login_failures.c.address == address, login_failures.c.at > now - WINDOW_S)
            .order_by(login_failures.c.at.desc())
            .limit(MAX_FAILURES)
        ).scalars().all()
    if len(recent) < MAX_FAILURES:
        return None
    return max(1.0, recent[-1] + WINDOW_S - now)


def record_failure(engine: Engine, address: str, now: Optional[float] = None) -> int:
    """Records a wrong code; returns how many attempts this address has left in the window."""
    now = time.time() if now is None else now
    with engine.begin() as conn:
        create_tables(conn, metadata)
        conn.execute(delete(login_failures).where(login_failures.c.at <= now - WINDOW_S))
        conn.execute(insert(login_failures).values(address=address[:64], at=now))
        count = len(conn.execute(select(login_failures.c.id).where(login_failures.c.address == address[:64])).all())
    return max(0, MAX_FAILURES - count)


def wait_message(seconds: float) -> str:
    minutes = max(1, math.ceil(seconds / 60))
    return (
        "Trop de codes incorrects ont été saisis depuis ce poste : par sécurité, la connexion est bloquée. "
        f"Réessayez dans {minutes} minute{'s' if minutes > 1 else ''}."
    )


# -- console sessions -------------------------------------------------------------------------------


def _key(secret: str, token: str) -> str:
    return hmac.new(secret.encode(), f"session:{token}".encode(), hashlib.sha256).hexdigest()


def open_session(engine: Engine, secret: str, lifetime_s: int, now: Optional[float] = None) -> str:
    """A new session; returns the token for the cookie."""
    now = time.time() if now is None else now
    token = secrets.token_urlsafe(32)
    with engine.begin() as conn:
        create_tables(conn, metadata)
        conn.execute(delete(sessions).where(sessions.c.expires_at <= now))
        conn.execute(insert(sessions).values(key=_key(secret, token), created_at=now, expires_at=now + lifetime_s))
    return token


def counsellor_id(secret: str, token: Optional[str]) -> str:
    """A pseudonym of one console session (counsellors share the code): who took a conversation."""
    return "conseiller-" + _key(secret, token or "")[:8]


def session_valid(engine: Engine, token: Optional[str], secret: str, now: Optional[float] = None) -> bool:
    if not token or not secret or len(token) > 100:
        return False
    now = time.time() if now is None else now
    with engine.begin() as conn:
        create_tables(conn, metadata)
        expires = conn.execute(select(sessions.c.expires_at).where(sessions.c.key == _key(secret, token))).scalar()
    return expires is not None and expires > now


def close_session(engine: Engine, token: Optional[str], secret: str) -> None:
    if not token or not secret or len(token) > 100:
        return
    with engine.begin() as conn:
        create_tables(conn, metadata)
        conn.execute(delete(sessions).where(sessions.c.key == _key(secret, token)))
