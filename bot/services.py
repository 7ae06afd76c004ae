"""Process-wide services, created on first use (never at import time)."""
from __future__ import annotations

import hmac
import logging
import threading
from typing import Mapping, Optional

from sqlalchemy.engine import Engine

from bot.access import agent_code
from bot.config import get_settings
from bot.conversation import Guichet
from bot.db import make_engine, make_session_factory
from bot.inputs import agent_proof
from bot.knowledge.repository import KnowledgeRepository
from bot.render import AGENT, PUBLIC
from bot.signals import SignalDetector, topic_examples

logger = logging.getLogger(__name__)

_lock = threading.RLock()
_guichet: Optional[Guichet] = None
_database: Optional[Engine] = None
_tracker_database: Optional[Engine] = None
_signals: Optional[SignalDetector] = None


def database() -> Engine:
    """Guichet's database (knowledge base, feedback): one engine (and pool) per process."""
    global _database
    with _lock:
        if _database is None:
            _database = make_engine(get_settings().db_url)
        return _database


def tracker_database() -> Engine:
    """Rasa's tracker store, read by the quarterly figures of the console."""
    global _tracker_database
    with _lock:
        if _tracker_database is None:
            from bot.report import tracker_engine

            _tracker_database = tracker_engine(get_settings().tracker_url)
        return _tracker_database


def guichet() -> Guichet:
    global _guichet
    with _lock:
        if _guichet is None:
            settings = get_settings()
            repo = KnowledgeRepository(make_session_factory(database()))
            repo.ensure_ready()
            hours = (f"Horaires d'ouverture de votre espace France services : {settings.opening_hours}."
                     if settings.opening_hours else None)
            _guichet = Guichet(repo, opening_hours=hours, departement=settings.departement,
                               signals=signals(), topic_classifier=lambda: topic_classifier(repo))
        return _guichet


def signals() -> SignalDetector:
    """The distress / rupture / out-of-scope classifiers, trained once per process on first use."""
    global _signals
    with _lock:
        if _signals is None:
            _signals = SignalDetector.from_directory(
                get_settings().signals_dir, extra={"demarches": topic_examples(get_settings().nlu_dir)}
            )
        return _signals


def topic_classifier(repo: KnowledgeRepository):
    """The démarche-topic classifier of bot.multi (several requests in one message), trained once per
    process on the first message that may hold several requests."""
    from bot.multi import classifier_for

    return classifier_for(get_settings().nlu_dir, repo.topics())


def warm_up() -> None:
    """Train the classifiers a first message needs (signals, démarche topics) before it arrives, so the
    first person to write does not wait for them. Run in the background when the action server starts;
    a failure here (no knowledge base yet…) is only logged: the first message meets it again and
    gets its clear error then."""
    try:
        topic_classifier(guichet().repo)
    except Exception:  # noqa: BLE001 - reported on the first message instead
        logger.warning("Préchargement de Guichet impossible ; il se fera au premier message.", exc_info=True)


def reset() -> None:
    """Forget the services (tests switch databases)."""
    global _guichet, _database, _tracker_database, _signals
    with _lock:
        _guichet = _database = _tracker_database = _signals = None


def audience_from_metadata(metadata: Optional[Mapping], sender: Optional[str] = None) -> str:
    """`agent` only when asked for and proven with the counsellor code (bot.access.agent_code): either
    the code itself or the proof that Guichet's input channel leaves in its place (bot.inputs.agent_proof)."""
    metadata = metadata or {}
    if metadata.get("audience") != AGENT:
        return PUBLIC
    secret = agent_code()
    token = metadata.get("agent_token")
    if isinstance(token, str) and hmac.compare_digest(token.encode(), secret.encode()):
        return AGENT
    proof = metadata.get("agent_proof")
    if isinstance(proof, str) and sender and hmac.compare_digest(proof, agent_proof(secret, sender)):
        return AGENT
    return PUBLIC
