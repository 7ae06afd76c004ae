"""Feedback on answers (« utile » / « pas utile » + optional comment), stored in Guichet's database.

The table lives beside the knowledge tables but is never dropped by `kb build`; it is created on
first use. Comments are cleaned, cut and redacted (bot.inputs) before storage, like messages.
"""
from __future__ import annotations

import time
from dataclasses import dataclass
from typing import List, Optional, Tuple

from sqlalchemy import Boolean, Column, Float, Integer, MetaData, String, Table, Text, delete, insert, inspect, select
from sqlalchemy.engine import Engine

from bot.db import create_tables
from bot.inputs import ALLOWED_CHANNELS, clean, redact

MAX_COMMENT = 500

metadata = MetaData()
feedback_table = Table(
    "feedback",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("created_at", Float, nullable=False, index=True),  # Unix time, like Rasa's events
    Column("sender_id", String(160), nullable=False, index=True),  # the conversation
    Column("demarche_id", String(120)),  # null for a distress answer without démarche
    Column("channel", String(20), nullable=False),
    Column("useful", Boolean, nullable=False),
    Column("comment", Text),
)


class FeedbackError(ValueError):
    """Invalid feedback (message in French, for the person)."""


@dataclass(frozen=True)
class Feedback:
    sender_id: str
    demarche_id: Optional[str]
    channel: str
    useful: bool
    comment: Optional[str]


def make_feedback(sender_id: object, demarche_id: object, channel: object, useful: object, comment: object) -> Feedback:
    """Validates what a front end sent; raises FeedbackError with a French message."""
    if not isinstance(sender_id, str) or not sender_id.strip() or len(sender_id) > 160:
        raise FeedbackError("Conversation inconnue.")
    if channel not in ALLOWED_CHANNELS:
        raise FeedbackError("Canal inconnu.")
    if not isinstance(useful, bool):
        raise FeedbackError("Indiquez si la réponse était utile (oui ou non).")
    if demarche_id is not None and (not isinstance(demarche_id, str) or len(demarche_id) > 120):
        raise FeedbackError("Démarche inconnue.")
    text: Optional[str] = None
    if comment is not None:
        if not isinstance(comment, str):
            raise FeedbackError("Le commentaire doit être un texte.")
        text = redact(clean(comment)[:MAX_COMMENT]) or None
    return Feedback(sender_id.strip(), demarche_id, str(channel), useful, text)


def record(engine: Engine, feedback: Feedback, now: Optional[float] = None) -> None:
    with engine.begin() as conn:
        create_tables(conn, metadata)
        conn.execute(
            insert(feedback_table).values(
                created_at=now if now is not None else time.time(),
                sender_id=feedback.sender_id,
                demarche_id=feedback.demarche_id,
                channel=feedback.channel,
                useful=feedback.useful,
                comment=feedback.comment,
            )
        )


def between(engine: Engine, start: float, end: float) -> List[Tuple[str, Optional[str], str, bool]]:
    """(sender, démarche, channel, useful) of the feedback given in [start, end)."""
    with engine.begin() as conn:
        if not inspect(conn).has_table("feedback"):
            return []
        rows = conn.execute(
            select(feedback_table.c.sender_id, feedback_table.c.demarche_id, feedback_table.c.channel, feedback_table.c.useful)
            .where(feedback_table.c.created_at >= start, feedback_table.c.created_at < end)
            .order_by(feedback_table.c.id)
        ).all()
    return [tuple(row) for row in rows]


def purge(engine: Engine, cutoff: float) -> int:
    """Deletes feedback older than `cutoff` (Unix time); returns the number of rows."""
    with engine.begin() as conn:
        if not inspect(conn).has_table("feedback"):
            return 0
        return conn.execute(delete(feedback_table).where(feedback_table.c.created_at < cutoff)).rowcount
