"""Retention (RGPD): delete conversations whose last event is older than a duration."""
from __future__ import annotations

import re
import time
from typing import Optional, Tuple

from sqlalchemy import MetaData, Table, delete, func, select
from sqlalchemy.engine import Engine
from sqlalchemy.exc import NoSuchTableError

DURATION_RE = re.compile(r"^(\d+)\s*(j|d|jours?|days?)$")


class RetentionError(ValueError):
    pass


def parse_days(text: str) -> int:
    match = DURATION_RE.match((text or "").strip().lower())
    if not match or int(match.group(1)) < 1:
        raise RetentionError(f"durée invalide « {text} » : attendu un nombre de jours, par exemple 90d ou 90j")
    return int(match.group(1))


def purge(engine: Engine, days: int, now: Optional[float] = None) -> Tuple[int, int]:
    """Delete every conversation inactive for `days` days. Returns (conversations, events) deleted."""
    cutoff = (now if now is not None else time.time()) - days * 86400
    try:
        events = Table("events", MetaData(), autoload_with=engine)
    except NoSuchTableError:
        return 0, 0
    with engine.begin() as conn:
        old = (
            select(events.c.sender_id)
            .group_by(events.c.sender_id)
            .having(func.max(events.c.timestamp) < cutoff)
        )
        senders = [row[0] for row in conn.execute(old)]
        deleted = 0
        for start in range(0, len(senders), 500):
            chunk = senders[start : start + 500]
            deleted += conn.execute(delete(events).where(events.c.sender_id.in_(chunk))).rowcount
    return len(senders), deleted
