"""Rasa's Redis lock store, made safe for several Rasa processes.

Rasa 3.6's `RedisLockStore` keeps each conversation's ticket lock as one JSON value and updates it
with GET, change, SET. Two Rasa processes issuing a ticket for the same conversation at the same
moment can both read the same lock and both take the same ticket: the two messages are then
processed at the same time and one turn is lost from the tracker (seen in tests/test_scaleout.py,
one message of 20 lost). Rasa's fix (a "concurrent" Redis lock store, RasaHQ/rasa#11256) is not in
Rasa Open Source. Here every read-change-write of a lock runs under a short Redis mutex
(`SET NX PX` with a token, redis-py's `Lock`), so tickets are unique across processes.

Selected by `python -m bot endpoints` when GUICHET_LOCK_STORE_URL is set
(`lock_store: type: bot.lockstore.AtomicRedisLockStore`).
"""
from __future__ import annotations

from typing import Optional, Text

from rasa.core.lock_store import LOCK_LIFETIME, RedisLockStore
from rasa.utils.endpoints import EndpointConfig

MUTEX_TIMEOUT_S = 10  # a mutex left by a dead process expires after this
MUTEX_WAIT_S = 10


class AtomicRedisLockStore(RedisLockStore):
    def __init__(self, endpoint_config: Optional[EndpointConfig] = None, **kwargs) -> None:
        if endpoint_config is not None:  # loaded by Rasa from the endpoints file
            kwargs = {"host": endpoint_config.url or "localhost", **endpoint_config.kwargs}
        kwargs.pop("type", None)
        super().__init__(**kwargs)

    def _mutex(self, conversation_id: Text):
        return self.red.lock(
            f"{self.key_prefix}{conversation_id}:mutex", timeout=MUTEX_TIMEOUT_S, blocking_timeout=MUTEX_WAIT_S, sleep=0.002
        )

    def issue_ticket(self, conversation_id: Text, lock_lifetime: float = LOCK_LIFETIME) -> int:
        with self._mutex(conversation_id):
            return super().issue_ticket(conversation_id, lock_lifetime)

    def update_lock(self, conversation_id: Text) -> None:
        with self._mutex(conversation_id):
            super().update_lock(conversation_id)

    def cleanup(self, conversation_id: Text, ticket_number: int) -> None:
        # finish_serving + delete when nobody waits: one step, or a ticket issued in between is dropped
        with self._mutex(conversation_id):
            super().cleanup(conversation_id, ticket_number)
