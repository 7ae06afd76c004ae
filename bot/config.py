"""All configuration read from the environment, in one place.

Nothing is read at import time: call `get_settings()` when needed.
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Optional

PROJECT_ROOT = Path(__file__).resolve().parent.parent


@dataclass(frozen=True)
class Settings:
    db_url: str
    knowledge_dir: Path
    opening_hours: Optional[str]  # shown when a counsellor is asked for (web chat after hours)
    departement: Optional[str]  # switches on knowledge/local/<département>.yml (e.g. "39")
    tracker_url: str  # Rasa's SQL tracker store (conversations), read by the quarterly report
    agent_token: Optional[str]  # the counsellor code: agent audience only with it (unset: development)
    signals_dir: Path = PROJECT_ROOT / "data" / "signals"  # phrasings of bot.signals' classifiers
    nlu_dir: Path = PROJECT_ROOT / "data" / "nlu"  # Rasa NLU data (démarche phrasings: negatives of bot.signals)


def default_db_url() -> str:
    return f"sqlite:///{PROJECT_ROOT / 'var' / 'guichet.db'}"


def get_settings() -> Settings:
    return Settings(
        db_url=os.environ.get("GUICHET_DB_URL") or default_db_url(),
        knowledge_dir=Path(os.environ.get("GUICHET_KNOWLEDGE_DIR") or PROJECT_ROOT / "knowledge"),
        opening_hours=os.environ.get("GUICHET_OPENING_HOURS") or None,
        departement=os.environ.get("GUICHET_DEPARTEMENT") or None,
        tracker_url=os.environ.get("GUICHET_TRACKER_URL")
        or f"sqlite:///{os.environ.get('GUICHET_TRACKER_DB') or PROJECT_ROOT / 'var' / 'tracker.db'}",
        agent_token=os.environ.get("GUICHET_AGENT_TOKEN") or None,
    )
