"""All configuration read from the environment, in one place.

Nothing is read at import time: call `get_settings()` when needed.
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Mapping, Optional

PROJECT_ROOT = Path(__file__).resolve().parent.parent

# The defaults, in one place. The versioned endpoints.yml holds the same values literally (for the
# Rasa CLI run from the project root with no variable set; tests/test_endpoints.py checks it), and
# `python -m bot endpoints` writes a deployment's file from them and the GUICHET_* variables.
DEFAULT_ACTION_PORT = 5055  # Rasa's own default for `rasa run actions`
DEFAULT_TRACKER_DB = "var/tracker.db"  # relative to the project root (where the Rasa CLI is run)


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
    agent_token: Optional[str]  # the counsellor code: agent audience only with it (unset: development)


def default_db_url() -> str:
    return f"sqlite:///{PROJECT_ROOT / 'var' / 'guichet.db'}"


def get_settings(environ: Optional[Mapping[str, str]] = None) -> Settings:
    """The settings from `environ` (default: the process environment)."""
    env = os.environ if environ is None else environ
    tracker_db = env.get("GUICHET_TRACKER_DB") or str(PROJECT_ROOT / DEFAULT_TRACKER_DB)
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
    )
