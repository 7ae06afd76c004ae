"""A counsellor takes over: the queue of conversations waiting for a person, and callback requests.

Pure storage and wording, no web framework and no Rasa import (bot/web/channel.py drives it):
- `handoff_cases`: one row per request for a counsellor made during opening hours (kiosk or web
  chat): its summary (what the person wrote, already redacted; channel; démarche; category; facts;
  the card shown), then who took it and when. Taking is one atomic
  `UPDATE … WHERE id = ? AND taken_by IS NULL`: of two counsellors, exactly one wins, on any
  number of Rasa instances sharing the database.
- `callback_requests`: outside opening hours, a way to reach the person, stored only with their
  explicit consent, apart from the conversation (no conversation id), deleted once handled or by
  `python -m bot purge`.

Tables live in Guichet's database (GUICHET_DB_URL), created on first use, never touched by `kb build`.
"""
from __future__ import annotations

import json
import re
import time
from datetime import datetime, timedelta
from typing import Any, Dict, List, Mapping, Optional, Sequence, Tuple

from sqlalchemy import Boolean, Column, Float, Integer, MetaData, String, Table, Text, delete, func, insert, select, update
from sqlalchemy.engine import Engine

from bot.config import DAYS, Settings
from bot.db import create_tables, writing

WAITING, TAKEN = "waiting", "taken"
RETURNED, CLOSED, LEFT = "returned", "closed", "left"
ACTIVE = (WAITING, TAKEN)
FACTS = ("detresse", "bloquee", "autonome_numerique", "msa", "exploitant_agricole")
FACT_LABELS = {
    "detresse": "situation de détresse",
    "bloquee": "situation bloquée",
    "autonome_numerique": "autonome avec le numérique",
    "msa": "relève de la MSA",
    "exploitant_agricole": "exploitant agricole",
}
MAX_TEXTS = 5
MAX_COUNSELLOR_MESSAGE = 1000
MAX_CONTACT = 120
MAX_NOTE = 500
# callback requests waiting at once, all channels: beyond it, a public form cannot fill the table
MAX_PENDING_CALLBACKS = 200

metadata = MetaData()
cases = Table(
    "handoff_cases",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("sender", String(160), nullable=False, index=True),
    Column("channel", String(16), nullable=False),
    Column("status", String(16), nullable=False, index=True),
    Column("urgent", Boolean, nullable=False, default=False),
    Column("summary", Text, nullable=False),  # JSON, see summarise()
    Column("created_at", Float, nullable=False),
    Column("taken_by", String(64), nullable=True),
    Column("taken_at", Float, nullable=True),
    Column("ended_at", Float, nullable=True),
)
callbacks = Table(
    "callback_requests",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("channel", String(16), nullable=False),
    Column("contact", String(MAX_CONTACT), nullable=False),  # given with consent: the only personal data
    Column("note", Text, nullable=True),  # the démarche, redacted
    Column("consent_at", Float, nullable=False),
    Column("created_at", Float, nullable=False, index=True),
)


class CallbackError(ValueError):
    """A callback request that cannot be stored (French message for the person)."""


def _ready(conn) -> None:
    create_tables(conn, metadata)


# -- summary ----------------------------------------------------------------------------------------


def summarise(events: Sequence[Mapping[str, Any]], slots: Mapping[str, Any], channel: str) -> Dict[str, Any]:
    """What a counsellor reads in ten seconds, from the tracker's events (texts already redacted)."""
    texts: List[str] = []
    answer: Optional[Mapping[str, Any]] = None
    urgent = False
    for event in events:
        kind = event.get("event")
        if kind == "user":
            text = event.get("text") or ""
            if text and not text.startswith("/"):
                texts.append(text)
        elif kind == "bot":
            custom = (event.get("data") or {}).get("custom") or {}
            if custom.get("type") == "answer":
                answer = custom
                urgent = urgent or custom.get("category") == "urgent" or bool(custom.get("emergency_numbers"))
    facts = {FACT_LABELS[k]: str(slots.get(k)) for k in FACTS if slots.get(k) not in (None, "", "inconnu")}
    urgent = urgent or slots.get("detresse") == "oui"
    card = None
    if answer:
        card = {key: answer.get(key) for key in ("demarche", "title", "operator_name", "category", "category_label",
                                                  "next_step")}
    return {"channel": channel, "texts": texts[-MAX_TEXTS:], "facts": facts, "card": card, "urgent": urgent}


# -- the queue --------------------------------------------------------------------------------------


def _row(row) -> Dict[str, Any]:
    summary = json.loads(row.summary or "{}")
    return {
        "id": row.id,
        "channel": row.channel,
        "status": row.status,
        "urgent": bool(row.urgent),
        "created_at": row.created_at,
        "taken_by": row.taken_by,
        "taken_at": row.taken_at,
        "summary": summary,
        "sender": row.sender,
    }


def open_case(engine: Engine, sender: str, channel: str, summary: Mapping[str, Any],
              now: Optional[float] = None) -> Tuple[Dict[str, Any], bool]:
    """The waiting case of this conversation, created if it has none; (case, created now)."""
    now = time.time() if now is None else now
    with writing(engine).begin() as conn:
        _ready(conn)
        existing = conn.execute(select(cases).where(cases.c.sender == sender, cases.c.status.in_(ACTIVE))).first()
        if existing is not None:
            return _row(existing), False
        result = conn.execute(insert(cases).values(
            sender=sender, channel=channel, status=WAITING, urgent=bool(summary.get("urgent")),
            summary=json.dumps(summary, ensure_ascii=False), created_at=now))
        row = conn.execute(select(cases).where(cases.c.id == result.inserted_primary_key[0])).first()
    return _row(row), True


def active_case(engine: Engine, sender: str) -> Optional[Dict[str, Any]]:
    with engine.begin() as conn:
        _ready(conn)
        row = conn.execute(select(cases).where(cases.c.sender == sender, cases.c.status.in_(ACTIVE))).first()
    return _row(row) if row is not None else None


def get_case(engine: Engine, case_id: int) -> Optional[Dict[str, Any]]:
    with engine.begin() as conn:
        _ready(conn)
        row = conn.execute(select(cases).where(cases.c.id == case_id)).first()
    return _row(row) if row is not None else None


def queue(engine: Engine) -> List[Dict[str, Any]]:
    """Cases waiting or held, urgent first, then the longest waiting first."""
    with engine.begin() as conn:
        _ready(conn)
        rows = conn.execute(select(cases).where(cases.c.status.in_(ACTIVE))
                            .order_by(cases.c.urgent.desc(), cases.c.created_at, cases.c.id)).all()
    return [_row(r) for r in rows]


def take(engine: Engine, case_id: int, counsellor: str, now: Optional[float] = None) -> bool:
    """One counsellor takes a waiting case; False when another one was first (or it is no longer waiting)."""
    now = time.time() if now is None else now
    with writing(engine).begin() as conn:
        _ready(conn)
        result = conn.execute(update(cases)
                              .where(cases.c.id == case_id, cases.c.taken_by.is_(None), cases.c.status == WAITING)
                              .values(taken_by=counsellor, taken_at=now, status=TAKEN))
    return result.rowcount == 1


def end(engine: Engine, case_id: int, counsellor: str, status: str, now: Optional[float] = None) -> bool:
    """The counsellor holding the case hands it back to the bot (`returned`) or closes it."""
    assert status in (RETURNED, CLOSED)
    now = time.time() if now is None else now
    with writing(engine).begin() as conn:
        _ready(conn)
        result = conn.execute(update(cases)
                              .where(cases.c.id == case_id, cases.c.taken_by == counsellor, cases.c.status == TAKEN)
                              .values(status=status, ended_at=now))
    return result.rowcount == 1


def leave(engine: Engine, sender: str, now: Optional[float] = None) -> Optional[Dict[str, Any]]:
    """The person leaves the queue or the exchange; returns the case as it was (None if there was none)."""
    now = time.time() if now is None else now
    with writing(engine).begin() as conn:
        _ready(conn)
        row = conn.execute(select(cases).where(cases.c.sender == sender, cases.c.status.in_(ACTIVE))).first()
        if row is None:
            return None
        conn.execute(update(cases).where(cases.c.id == row.id, cases.c.status.in_(ACTIVE))
                     .values(status=LEFT, ended_at=now))
    return _row(row)


def purge_cases(engine: Engine, days: int, now: Optional[float] = None) -> int:
    """Ended cases (their summaries hold redacted texts) older than `days` days."""
    cutoff = (time.time() if now is None else now) - days * 86400
    with writing(engine).begin() as conn:
        _ready(conn)
        return conn.execute(delete(cases).where(cases.c.status.notin_(ACTIVE), cases.c.created_at < cutoff)).rowcount


# -- callback requests ------------------------------------------------------------------------------

_PHONE = re.compile(r"^\+?[\d .-]{10,20}$")
_EMAIL = re.compile(r"^[^@\s]{1,64}@[^@\s]{1,100}\.[a-z]{2,}$", re.IGNORECASE)


def record_callback(engine: Engine, channel: object, contact: object, consent: object, note: object,
                    now: Optional[float] = None) -> int:
    """Stores a callback request given with explicit consent; raises CallbackError otherwise."""
    from bot.inputs import clean, redact

    if consent is not True:
        raise CallbackError("Pour être rappelé, cochez la case qui autorise l'espace France services à conserver "
                            "ce moyen de vous joindre. Sans votre accord, rien n'est enregistré.")
    if channel not in ("borne", "chat"):
        raise CallbackError("Canal inconnu.")
    contact = clean(contact) if isinstance(contact, str) else ""
    digits = re.sub(r"\D", "", contact)
    if not (_EMAIL.match(contact) or (_PHONE.match(contact) and 10 <= len(digits) <= 15)):
        raise CallbackError("Indiquez un numéro de téléphone (par exemple 06 12 34 56 78) ou une adresse "
                            "électronique valide.")
    text = redact(clean(note))[:MAX_NOTE] if isinstance(note, str) and note.strip() else None
    now = time.time() if now is None else now
    with writing(engine).begin() as conn:
        _ready(conn)
        pending = conn.execute(select(func.count()).select_from(callbacks)).scalar_one()
        if pending >= MAX_PENDING_CALLBACKS:
            raise CallbackError("Les demandes de rappel sont trop nombreuses pour le moment : rien n'a été enregistré. "
                                "Présentez-vous à votre espace France services pendant ses horaires d'ouverture.")
        result = conn.execute(insert(callbacks).values(channel=channel, contact=contact[:MAX_CONTACT], note=text,
                                                       consent_at=now, created_at=now))
    return int(result.inserted_primary_key[0])


def pending_callbacks(engine: Engine) -> List[Dict[str, Any]]:
    with engine.begin() as conn:
        _ready(conn)
        rows = conn.execute(select(callbacks).order_by(callbacks.c.created_at, callbacks.c.id)).all()
    return [{"id": r.id, "channel": r.channel, "contact": r.contact, "note": r.note, "created_at": r.created_at}
            for r in rows]


def handle_callback(engine: Engine, callback_id: int) -> bool:
    """A counsellor has called back: the request (and the contact with it) is deleted."""
    with writing(engine).begin() as conn:
        _ready(conn)
        return conn.execute(delete(callbacks).where(callbacks.c.id == callback_id)).rowcount == 1


def purge_callbacks(engine: Engine, days: int, now: Optional[float] = None) -> int:
    cutoff = (time.time() if now is None else now) - days * 86400
    with writing(engine).begin() as conn:
        _ready(conn)
        return conn.execute(delete(callbacks).where(callbacks.c.created_at < cutoff)).rowcount


# -- opening hours ----------------------------------------------------------------------------------


def local_now(settings: Settings, now: Optional[float] = None) -> datetime:
    from zoneinfo import ZoneInfo

    return datetime.fromtimestamp(time.time() if now is None else now, tz=ZoneInfo(settings.timezone))


def is_open(settings: Settings, now: Optional[float] = None) -> bool:
    """Counsellors are there now (GUICHET_OPENING_HOURS); without hours, never (no one to promise)."""
    if not settings.opening_schedule:
        return False
    moment = local_now(settings, now)
    minute = moment.hour * 60 + moment.minute
    return any(day == moment.weekday() and start <= minute < end for day, start, end in settings.opening_schedule)


def _clock(minute: int) -> str:
    hours, minutes = divmod(minute, 60)
    return f"{hours} h" + (f" {minutes:02d}" if minutes else "")


def next_opening(settings: Settings, now: Optional[float] = None) -> Optional[str]:
    """« aujourd'hui à 14 h », « demain à 9 h », « lundi à 9 h 30 », or None without hours."""
    if not settings.opening_schedule:
        return None
    moment = local_now(settings, now)
    minute = moment.hour * 60 + moment.minute
    for offset in range(0, 8):
        day = (moment + timedelta(days=offset)).weekday()
        starts = sorted(start for d, start, _end in settings.opening_schedule if d == day
                        and (offset > 0 or start > minute))
        if starts:
            when = "aujourd'hui" if offset == 0 else "demain" if offset == 1 else DAYS[day]
            return f"{when} à {_clock(starts[0])}"
    return None


def waiting_label(seconds: float) -> str:
    minutes = int(max(0, seconds) // 60)
    if minutes < 1:
        return "moins d'une minute"
    return f"{minutes} minute{'s' if minutes > 1 else ''}"

