"""Opening hours (GUICHET_OPENING_HOURS by days and hours) and the queue's storage, without servers."""
import time
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from bot import handoff
from bot.config import OpeningHoursError, get_settings, parse_opening_hours
from bot.db import make_engine
from bot.serve import problems

PARIS = ZoneInfo("Europe/Paris")


def at(*args) -> float:
    return datetime(*args, tzinfo=PARIS).timestamp()


def test_french_opening_hours_are_parsed():
    slots = parse_opening_hours("du lundi au vendredi, de 9 h à 12 h et de 14 h 30 à 17 h ; samedi 9h-12h")
    assert (0, 540, 720) in slots and (4, 870, 1020) in slots and (5, 540, 720) in slots
    assert not any(day == 6 for day, _s, _e in slots)
    assert parse_opening_hours("mardi et jeudi 09:00-12:30") == ((1, 540, 750), (3, 540, 750))
    assert len(parse_opening_hours("tous les jours de 0 h à 24 h")) == 7


@pytest.mark.parametrize("text, words", [
    ("de 9 h à 12 h", "aucun jour"),
    ("le lundi", "aucune plage horaire"),
    ("lundi de 14 h à 9 h", "plage horaire impossible"),
    ("lundi de 9 h à 25 h", "plage horaire impossible"),
])
def test_bad_opening_hours_are_refused_in_french(text, words):
    with pytest.raises(OpeningHoursError, match=words):
        parse_opening_hours(text)
    settings = get_settings({"GUICHET_OPENING_HOURS": text})
    assert settings.opening_error and any(words in p for p in problems(settings))


def test_open_now_and_next_opening():
    settings = get_settings({"GUICHET_OPENING_HOURS": "du lundi au vendredi, de 9 h à 12 h et de 14 h à 17 h"})
    monday = (2026, 10, 5)  # a Monday
    assert handoff.is_open(settings, at(*monday, 9, 0))
    assert not handoff.is_open(settings, at(*monday, 12, 0))
    assert handoff.next_opening(settings, at(*monday, 12, 30)) == "aujourd'hui à 14 h"
    assert handoff.next_opening(settings, at(*monday, 18, 0)) == "demain à 9 h"
    assert handoff.next_opening(settings, at(2026, 10, 9, 17, 30)) == "lundi à 9 h"  # Friday evening
    assert not handoff.is_open(get_settings({}), at(*monday, 10, 0))  # no hours: no counsellor promised
    assert handoff.next_opening(get_settings({}), at(*monday, 10, 0)) is None
    assert any("GUICHET_TIMEZONE" in p for p in problems(get_settings({"GUICHET_TIMEZONE": "Mars/Olympus"})))


def test_callbacks_need_consent_and_are_purged(tmp_path):
    engine = make_engine(f"sqlite:///{tmp_path / 'g.db'}")
    with pytest.raises(handoff.CallbackError, match="Sans votre accord"):
        handoff.record_callback(engine, "chat", "06 12 34 56 78", "oui", None)
    with pytest.raises(handoff.CallbackError, match="numéro de téléphone"):
        handoff.record_callback(engine, "chat", "<script>", True, None)
    assert handoff.pending_callbacks(engine) == []
    old = handoff.record_callback(engine, "chat", "a@example.fr", True, "né le 12/03/1980", now=time.time() - 91 * 86400)
    handoff.record_callback(engine, "borne", "+33 6 12 34 56 78", True, None)
    assert "12/03/1980" not in handoff.pending_callbacks(engine)[0]["note"]
    assert handoff.purge_callbacks(engine, 90) == 1
    assert [c["channel"] for c in handoff.pending_callbacks(engine)] == ["borne"]
    assert not handoff.handle_callback(engine, old)


def test_pending_callbacks_are_capped(tmp_path, monkeypatch):
    engine = make_engine(f"sqlite:///{tmp_path / 'g.db'}")
    monkeypatch.setattr(handoff, "MAX_PENDING_CALLBACKS", 3)
    for n in range(3):
        handoff.record_callback(engine, "chat", f"06 12 34 56 7{n}", True, None)
    with pytest.raises(handoff.CallbackError, match="trop nombreuses"):
        handoff.record_callback(engine, "borne", "06 12 34 56 79", True, None)
    assert len(handoff.pending_callbacks(engine)) == 3
    handoff.handle_callback(engine, handoff.pending_callbacks(engine)[0]["id"])  # one handled: room again
    handoff.record_callback(engine, "borne", "06 12 34 56 79", True, None)


def test_queue_order_take_and_hand_back(tmp_path):
    engine = make_engine(f"sqlite:///{tmp_path / 'g.db'}")
    calm, _ = handoff.open_case(engine, "chat-a", "chat", {"urgent": False}, now=100)
    urgent, _ = handoff.open_case(engine, "borne-b", "borne", {"urgent": True}, now=200)
    again, created = handoff.open_case(engine, "chat-a", "chat", {"urgent": False}, now=300)
    assert not created and again["id"] == calm["id"]
    assert [c["id"] for c in handoff.queue(engine)] == [urgent["id"], calm["id"]]
    assert handoff.take(engine, calm["id"], "conseiller-1") and not handoff.take(engine, calm["id"], "conseiller-2")
    assert not handoff.end(engine, calm["id"], "conseiller-2", handoff.RETURNED)
    assert handoff.end(engine, calm["id"], "conseiller-1", handoff.RETURNED)
    assert handoff.active_case(engine, "chat-a") is None
    assert handoff.leave(engine, "borne-b")["id"] == urgent["id"] and handoff.queue(engine) == []


def test_first_use_from_concurrent_threads_creates_the_tables_once(tmp_path):
    """The socket.io server reads the queue from several threads at once for a new conversation (session
    request and first message): on a fresh SQLite file, none of them may fail with "database is locked"."""
    import threading

    from bot import access

    for attempt in range(10):
        engine = make_engine(f"sqlite:///{tmp_path / f'guichet-{attempt}.db'}")
        failures = []

        def first_use(index: int) -> None:
            try:
                if index % 3 == 0:
                    assert handoff.active_case(engine, "chat-abc") is None
                elif index % 3 == 1:
                    assert handoff.queue(engine) == []
                else:
                    assert access.retry_after(engine, "198.51.100.7") is None
            except Exception as error:  # noqa: BLE001 - collected and reported below
                failures.append(repr(error))

        threads = [threading.Thread(target=first_use, args=(i,)) for i in range(6)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert failures == []
        case, created = handoff.open_case(engine, "chat-abc", "chat", {"urgent": False})
        assert created and handoff.active_case(engine, "chat-abc")["id"] == case["id"]
