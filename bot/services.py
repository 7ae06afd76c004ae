"""Process-wide services, created on first use (never at import time)."""
from __future__ import annotations

import hmac
import os
import threading
from typing import Mapping, Optional

from bot.config import get_settings
from bot.conversation import Guichet
from bot.db import make_engine, make_session_factory
from bot.inputs import agent_proof
from bot.knowledge.repository import KnowledgeRepository
from bot.render import AGENT, PUBLIC

_lock = threading.Lock()
_guichet: Optional[Guichet] = None


def guichet() -> Guichet:
    global _guichet
    with _lock:
        if _guichet is None:
            settings = get_settings()
            repo = KnowledgeRepository(make_session_factory(make_engine(settings.db_url)))
            repo.ensure_ready()
            _guichet = Guichet(repo, opening_hours=settings.opening_hours, departement=settings.departement)
        return _guichet


def reset() -> None:
    """Forget the services (tests switch databases)."""
    global _guichet
    with _lock:
        _guichet = None


def audience_from_metadata(metadata: Optional[Mapping], sender: Optional[str] = None) -> str:
    """`agent` only when asked for and, if GUICHET_AGENT_TOKEN is set, proven: either the token itself
    or the proof that Guichet's input channel leaves in its place (bot.inputs.agent_proof)."""
    metadata = metadata or {}
    if metadata.get("audience") != AGENT:
        return PUBLIC
    secret = os.environ.get("GUICHET_AGENT_TOKEN")
    if not secret:
        return AGENT
    token = metadata.get("agent_token")
    if isinstance(token, str) and hmac.compare_digest(token.encode(), secret.encode()):
        return AGENT
    proof = metadata.get("agent_proof")
    if isinstance(proof, str) and sender and hmac.compare_digest(proof, agent_proof(secret, sender)):
        return AGENT
    return PUBLIC
