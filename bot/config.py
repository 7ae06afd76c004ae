"""All configuration read from the environment, in one place.

Nothing is read at import time: call `get_settings()` when needed.
"""
from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from pathlib import Path
import unicodedata
from typing import List, Mapping, Optional, Tuple

PROJECT_ROOT = Path(__file__).resolve().parent.parent

# The defaults, in one place. The versioned endpoints.yml holds the same values literally (for the
# Rasa CLI run from the project root with no variable set; tests/test_endpoints.py checks it), and
# `python -m bot endpoints` writes a deployment's file from them and the GUICHET_* variables.
DEFAULT_ACTION_PORT = 5055  # Rasa's own default for `rasa run actions`
DEFAULT_ACTION_HOST = "127.0.0.1"  # the action server listens on this machine only (rasa_sdk: every interface)
DEFAULT_TRACKER_DB = "var/tracker.db"  # relative to the project root (where the Rasa CLI is run)
DEFAULT_RASA_PORT = 5005  # Rasa's own default
DEFAULT_AGENT_CODE_FILE = "var/code-conseiller.txt"  # created at first use when GUICHET_AGENT_TOKEN is unset
DEFAULT_AGENT_SESSION_S = 10 * 3600  # a counsellor session lasts a working day
DEFAULT_HANDOFF_GRACE_S = 120  # a person disconnected that long leaves the counsellors' queue
DEFAULT_TIMEZONE = "Europe/Paris"
MIN_API_TOKEN = 16  # characters of GUICHET_API_TOKEN, at least

# An origin as browsers send it: scheme, host, optional port; no path, no wildcard.
_ORIGIN = re.compile(r"^https?://(?:[a-z0-9](?:[a-z0-9-]*[a-z0-9])?(?:\.[a-z0-9](?:[a-z0-9-]*[a-z0-9])?)*|\[[0-9a-f:.]+\])(?::\d{1,5})?$")


@dataclass(frozen=True)
class Settings:
    db_url: str
    knowledge_dir: Path
    opening_hours: Optional[str]  # GUICHET_OPENING_HOURS as written (shown to the person)
    departement: Optional[str]  # switches on knowledge/local/<département>.yml (e.g. "39")
    tracker_url: str  # Rasa's SQL tracker store (conversations), read by the quarterly report
    tracker_url_set: bool  # GUICHET_TRACKER_URL given (otherwise the SQLite file tracker_db)
    tracker_db: str  # SQLite file of the conversations when GUICHET_TRACKER_URL is unset
    lock_store_url: Optional[str]  # Redis lock store shared by several Rasa instances (unset: in memory)
    action_url: str  # the action server this Rasa instance calls
    action_host: str  # GUICHET_ACTION_HOST: the interface `python -m bot actions` listens on
    action_port: int  # GUICHET_ACTION_PORT: its port
    agent_token: Optional[str] = field(repr=False)  # the counsellor code, when given (otherwise: generated in agent_code_file)
    agent_code_file: Path  # where the generated counsellor code is kept (bot.access)
    agent_session_s: int  # lifetime of a counsellor session of the console
    rasa_port: int  # port of `python -m bot serve`
    api_token: Optional[str] = field(repr=False)  # Rasa's HTTP API, only when set, and then only with this token
    allowed_origins: Tuple[str, ...]  # sites allowed to embed the web chat and read answers (CORS)
    invalid_origins: Tuple[str, ...]  # what GUICHET_ALLOWED_ORIGINS held that is not an origin (refused)
    opening_schedule: Tuple[Tuple[int, int, int], ...] = ()  # (weekday 0=Monday, start, end minutes)
    opening_error: Optional[str] = None  # why GUICHET_OPENING_HOURS could not be read (French)
    timezone: str = DEFAULT_TIMEZONE  # GUICHET_TIMEZONE: the structure's local time
    handoff_grace_s: int = DEFAULT_HANDOFF_GRACE_S  # a person disconnected that long leaves the queue
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


DAYS = ("lundi", "mardi", "mercredi", "jeudi", "vendredi", "samedi", "dimanche")
_TIME = r"(\d{1,2})\s*(?:h|:)\s*(\d{2})?"
_TIME_RANGE = re.compile(_TIME + r"\s*(?:a|-|\u2013|au|jusqu'a)\s*" + _TIME)
_DAY = "(" + "|".join(DAYS) + ")s?"
_DAY_RANGE = re.compile(r"(?:du\s+)?" + _DAY + r"\s*(?:au|a|-|\u2013)\s*" + _DAY)
_ONE_DAY = re.compile(_DAY)
HOURS_EXAMPLE = "du lundi au vendredi, de 9 h à 12 h et de 14 h à 17 h ; samedi de 9 h à 12 h"


class OpeningHoursError(ValueError):
    """GUICHET_OPENING_HOURS cannot be read (French message, for whoever runs Guichet)."""


def _fold(text: str) -> str:
    text = unicodedata.normalize("NFD", text.lower())
    return "".join(ch for ch in text if unicodedata.category(ch) != "Mn").replace("\u2019", "'")


def parse_opening_hours(text: str) -> Tuple[Tuple[int, int, int], ...]:
    """French opening hours as (weekday, start minute, end minute) slots.

    Segments are separated by « ; » or a new line; each names days (« du lundi au vendredi »,
    « lundi-vendredi », « mardi et jeudi ») and time ranges (« de 9 h à 12 h », « 14h30-17h », « 9:00-12:00»).
    """
    slots: List[Tuple[int, int, int]] = []
    for raw in re.split(r"[;\n]+", text or ""):
        segment = _fold(raw).strip(" ,.")
        if not segment:
            continue
        ranges = []
        for match in _TIME_RANGE.finditer(segment):
            h1, m1, h2, m2 = (int(g) if g else 0 for g in match.groups())
            start, end = h1 * 60 + m1, h2 * 60 + m2
            if h1 > 24 or h2 > 24 or m1 > 59 or m2 > 59 or end > 24 * 60 or start >= end:
                raise OpeningHoursError(f"GUICHET_OPENING_HOURS : plage horaire impossible « {match.group(0)} » "
                                        f"dans « {raw.strip()} » (par exemple : {HOURS_EXAMPLE})")
            ranges.append((start, end))
        rest = _TIME_RANGE.sub(" ", segment)
        days: List[int] = []
        for match in _DAY_RANGE.finditer(rest):
            first, last = DAYS.index(match.group(1)), DAYS.index(match.group(2))
            days += list(range(first, last + 1)) if first <= last else list(range(first, 7)) + list(range(0, last + 1))
        for match in _ONE_DAY.finditer(_DAY_RANGE.sub(" ", rest)):
            days.append(DAYS.index(match.group(1)))
        if "tous les jours" in rest:
            days += list(range(7))
        if not ranges or not days:
            missing = "aucune plage horaire" if not ranges else "aucun jour"
            raise OpeningHoursError(f"GUICHET_OPENING_HOURS : {missing} dans « {raw.strip()} » "
                                    f"(par exemple : {HOURS_EXAMPLE})")
        slots += [(day, start, end) for day in sorted(set(days)) for start, end in ranges]
    if not slots:
        raise OpeningHoursError(f"GUICHET_OPENING_HOURS est vide (par exemple : {HOURS_EXAMPLE})")
    return tuple(sorted(set(slots)))


def get_settings(environ: Optional[Mapping[str, str]] = None) -> Settings:
    """The settings from `environ` (default: the process environment)."""
    env = os.environ if environ is None else environ
    tracker_db = env.get("GUICHET_TRACKER_DB") or str(PROJECT_ROOT / DEFAULT_TRACKER_DB)
    origins, invalid_origins = split_origins(env.get("GUICHET_ALLOWED_ORIGINS"))
    hours = (env.get("GUICHET_OPENING_HOURS") or "").strip() or None
    schedule: Tuple[Tuple[int, int, int], ...] = ()
    hours_error = None
    if hours:
        try:
            schedule = parse_opening_hours(hours)
        except OpeningHoursError as exc:
            hours_error = str(exc)
    timezone = env.get("GUICHET_TIMEZONE") or DEFAULT_TIMEZONE
    action_port = _int(env.get("GUICHET_ACTION_PORT"), DEFAULT_ACTION_PORT)
    return Settings(
        db_url=env.get("GUICHET_DB_URL") or default_db_url(),
        knowledge_dir=Path(env.get("GUICHET_KNOWLEDGE_DIR") or PROJECT_ROOT / "knowledge"),
        opening_hours=hours,
        opening_schedule=schedule,
        opening_error=hours_error,
        timezone=timezone,
        departement=env.get("GUICHET_DEPARTEMENT") or None,
        tracker_url=env.get("GUICHET_TRACKER_URL") or f"sqlite:///{tracker_db}",
        tracker_url_set=bool(env.get("GUICHET_TRACKER_URL")),
        tracker_db=tracker_db,
        lock_store_url=env.get("GUICHET_LOCK_STORE_URL") or None,
        action_url=env.get("GUICHET_ACTION_URL")
        or f"http://{DEFAULT_ACTION_HOST}:{action_port}/webhook",
        action_host=env.get("GUICHET_ACTION_HOST") or DEFAULT_ACTION_HOST,
        action_port=action_port,
        agent_token=env.get("GUICHET_AGENT_TOKEN") or None,
        agent_code_file=Path(env.get("GUICHET_AGENT_CODE_FILE") or PROJECT_ROOT / DEFAULT_AGENT_CODE_FILE),
        agent_session_s=max(1, _int(env.get("GUICHET_AGENT_SESSION_SECONDS"), DEFAULT_AGENT_SESSION_S)),
        handoff_grace_s=max(1, _int(env.get("GUICHET_HANDOFF_GRACE_SECONDS"), DEFAULT_HANDOFF_GRACE_S)),
        rasa_port=_int(env.get("GUICHET_RASA_PORT"), DEFAULT_RASA_PORT),
        api_token=env.get("GUICHET_API_TOKEN") or None,
        allowed_origins=origins,
        invalid_origins=invalid_origins,
    )
