"""All configuration read from the environment, in one place.

Nothing is read at import time: call `get_settings()` when needed.
"""
from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Mapping, Optional, Tuple

PROJECT_ROOT = Path(__file__).resolve().parent.parent

# The defaults, in one place. The versioned endpoints.yml holds the same values literally (for the
# Rasa CLI run from the project root with no variable set; tests/test_endpoints.py checks it), and
# `python -m bot endpoints` writes a deployment's file from them and the GUICHET_* variables.
DEFAULT_ACTION_PORT = 5055  # Rasa's own default for `rasa run actions`
DEFAULT_TRACKER_DB = "var/tracker.db"  # relative to the project root (where the Rasa CLI is run)
DEFAULT_RASA_PORT = 5005  # Rasa's own default
DEFAULT_AGENT_CODE_FILE = "var/code-conseiller.txt"  # created at first use when GUICHET_AGENT_TOKEN is unset
DEFAULT_AGENT_SESSION_S = 10 * 3600  # a counsellor session lasts a working day
MIN_API_TOKEN = 16  # characters of GUICHET_API_TOKEN, at least

# An origin as browsers send it: scheme, host, optional port; no path, no wildcard.
_ORIGIN = re.compile(r"^https?://(?:[a-z0-9](?:[a-z0-9-]*[a-z0-9])?(?:\.[a-z0-9](?:[a-z0-9-]*[a-z0-9])?)*|\[[0-9a-f:.]+\])(?::\d{1,5})?$")


@dataclass(frozen=True)
class Settings:
    db_url: str
    knowledge_dir: Path
    opening_hours: Optional[str]  # shown when a counsellor is asked for (web chat after hours)
    departement: Optional[str]  # switches on knowledge/local/<département>.yml (e.g. "39")
    tracker_url: str  # Rasa's SQL tracker store (conversations), read by the quarterly report
    tracker_url_set: bool  # GUICHET_TRACKER_URL given (otherwise the SQLite file tracker_db)
    tracker_db: str  # SQLite file of the conversations when GUICHET_TRACKER_URL is unset
    lock_store_url: Optional[str]  # Redis lock store shared by several Rasa instances (unset: in memory)
    action_url: str  # the action server this Rasa instance calls
    agent_token: Optional[str] = field(repr=False)  # the counsellor code, when given (otherwise: generated in agent_code_file)
    agent_code_file: Path  # where the generated counsellor code is kept (bot.access)
    agent_session_s: int  # lifetime of a counsellor session of the console
    rasa_port: int  # port of `python -m bot serve`
    api_token: Optional[str] = field(repr=False)  # Rasa's HTTP API, only when set, and then only with this token
    allowed_origins: Tuple[str, ...]  # sites allowed to embed the web chat and read answers (CORS)
    invalid_origins: Tuple[str, ...]  # what GUICHET_ALLOWED_ORIGINS held that is not an origin (refused)
    signals_dir: Path = PROJECT_ROOT / "data" / "signals"  # phrasings of bot.signals' classifiers
    nlu_dir: Path = PROJECT_ROOT / "data" / "nlu"  # Rasa NLU data (démarche phrasings: negatives of bot.signals)


def default_db_url() -> str:
    return f"sqlite:///{PROJECT_ROOT / 'var' / 'guichet.db'}"


def _int(value: Optional[str], default: int) -> int:
    try:
        return int(value) if value else default
    except ValueError:
        return default


def split_origins(text: Optional[str]) -> Tuple[Tuple[str, ...], Tuple[str, ...]]:
    """GUICHET_ALLOWED_ORIGINS (separated by spaces or commas) as (valid origins, refused items)."""
    valid, invalid = [], []
    for item in re.split(r"[\s,]+", text or ""):
        if not item:
            continue
        origin = item.rstrip("/").lower()
        if _ORIGIN.match(origin):
            if origin not in valid:
                valid.append(origin)
        else:
            invalid.append(item)
    return tuple(valid), tuple(invalid)


def get_settings(environ: Optional[Mapping[str, str]] = None) -> Settings:
    """The settings from `environ` (default: the process environment)."""
    env = os.environ if environ is None else environ
    tracker_db = env.get("GUICHET_TRACKER_DB") or str(PROJECT_ROOT / DEFAULT_TRACKER_DB)
    origins, invalid_origins = split_origins(env.get("GUICHET_ALLOWED_ORIGINS"))
    return Settings(
        db_url=env.get("GUICHET_DB_URL") or default_db_url(),
        knowledge_dir=Path(env.get("GUICHET_KNOWLEDGE_DIR") or PROJECT_ROOT / "knowledge"),
        opening_hours=env.get("GUICHET_OPENING_HOURS") or None,
        departement=env.get("GUICHET_DEPARTEMENT") or None,
        tracker_url=env.get("GUICHET_TRACKER_URL") or f"sqlite:///{tracker_db}",
        tracker_url_set=bool(env.get("GUICHET_TRACKER_URL")),
        tracker_db=tracker_db,
        lock_store_url=env.get("GUICHET_LOCK_STORE_URL") or None,
        action_url=env.get("GUICHET_ACTION_URL")
        or f"http://localhost:{env.get('GUICHET_ACTION_PORT') or DEFAULT_ACTION_PORT}/webhook",
        agent_token=env.get("GUICHET_AGENT_TOKEN") or None,
        agent_code_file=Path(env.get("GUICHET_AGENT_CODE_FILE") or PROJECT_ROOT / DEFAULT_AGENT_CODE_FILE),
        agent_session_s=max(1, _int(env.get("GUICHET_AGENT_SESSION_SECONDS"), DEFAULT_AGENT_SESSION_S)),
        rasa_port=_int(env.get("GUICHET_RASA_PORT"), DEFAULT_RASA_PORT),
        api_token=env.get("GUICHET_API_TOKEN") or None,
        allowed_origins=origins,
        invalid_origins=invalid_origins,
    )
