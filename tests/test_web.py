"""Web front pieces without a browser: reply merging, history replay, the session cookie,
feedback storage, page rendering (escaping). Counsellor access: tests/test_access.py."""
import time

import pytest
from sqlalchemy import create_engine

from bot import feedback, services
from bot.web import security
from bot.web.channel import history_from_events, merge_replies
from bot.web.pages import render_page

QUESTION = {"type": "question", "key": "detresse"}
BUTTONS = [{"title": "Oui", "payload": "/affirm"}, {"title": "Non", "payload": "/deny"}]


def test_text_and_custom_of_one_reply_are_merged():
    messages = [
        {"recipient_id": "s", "text": "Notice"},
        {"recipient_id": "s", "text": "Question ?", "buttons": BUTTONS},
        {"recipient_id": "s", "custom": QUESTION},
        {"recipient_id": "s", "custom": {"type": "menu"}},
    ]
    assert merge_replies(messages) == [
        {"text": "Notice"},
        {"text": "Question ?", "buttons": BUTTONS, "custom": QUESTION},
        {"custom": {"type": "menu"}},
    ]


def test_history_shows_button_titles_and_merged_replies():
    events = [
        {"event": "action", "name": "action_listen"},
        {"event": "user", "text": "rsa coupé depuis trois mois [téléphone]"},
        {"event": "bot", "text": "Question ?", "data": {"buttons": BUTTONS}},
        {"event": "bot", "text": None, "data": {"custom": QUESTION}},
        {"event": "user", "text": "/deny"},
        {"event": "bot", "text": "Réponse", "data": {}},
        {"event": "bot", "data": {"custom": {"type": "answer", "category": "niveau_2"}}},
        {"event": "user", "text": '/menu{"situation": "emploi"}'},  # sent by a kiosk button: not shown
    ]
    assert history_from_events(events) == [
        {"from": "user", "text": "rsa coupé depuis trois mois [téléphone]"},
        {"from": "bot", "text": "Question ?", "buttons": BUTTONS, "custom": QUESTION},
        {"from": "user", "text": "Non"},
        {"from": "bot", "text": "Réponse", "custom": {"type": "answer", "category": "niveau_2"}},
    ]


def test_session_cookie_is_read_from_the_header():
    assert security.cookie_from_header(f"a=b; {security.COOKIE}=tok-en_123") == "tok-en_123"
    assert security.cookie_from_header('bad"cookie') is None
    assert security.cookie_from_header(None) is None and security.cookie_from_header("a=b") is None


def test_feedback_is_validated_redacted_and_purged(tmp_path):
    with pytest.raises(feedback.FeedbackError):
        feedback.make_feedback("chat-1", "caf.x", "telegram", True, None)
    with pytest.raises(feedback.FeedbackError):
        feedback.make_feedback("chat-1", "caf.x", "chat", "oui", None)
    with pytest.raises(feedback.FeedbackError):
        feedback.make_feedback("", "caf.x", "chat", True, None)
    item = feedback.make_feedback("chat-1", "caf.x", "chat", False, "Écrivez-moi à jean.dupont@example.org " + "x" * 900)
    assert "[adresse électronique]" in item.comment and "@" not in item.comment
    assert len(item.comment) <= feedback.MAX_COMMENT
    engine = create_engine(f"sqlite:///{tmp_path / 'g.db'}", future=True)
    assert feedback.between(engine, 0, time.time() + 1) == []  # no table yet: nothing, no error
    feedback.record(engine, item, now=100.0)
    feedback.record(engine, feedback.make_feedback("borne-2", None, "borne", True, None), now=200.0)
    assert feedback.between(engine, 0, 150) == [("chat-1", "caf.x", "chat", False)]
    assert feedback.purge(engine, cutoff=150) == 1
    assert feedback.between(engine, 0, 1000) == [("borne-2", None, "borne", True)]


@pytest.fixture
def web_services(kb_engine, monkeypatch):
    monkeypatch.setenv("GUICHET_DB_URL", str(kb_engine.url))
    monkeypatch.setenv("GUICHET_OPENING_HOURS", "<script>alert(1)</script> de 9 h à 17 h")
    services.reset()
    yield
    services.reset()


def test_pages_escape_configuration_and_carry_no_inline_script(web_services):
    chat = render_page("chat")
    assert "<script>alert(1)" not in chat and "&lt;script&gt;alert(1)" in chat
    for name in ("chat", "borne", "conseiller"):
        html = render_page(name)
        assert '<html lang="fr"' in html
        # Scripts only by src (strict CSP), no inline handlers.
        assert "<script>" not in html and " onclick=" not in html
    borne = render_page("borne")
    assert borne.count('data-payload="/menu{&quot;situation&quot;') >= 16
    assert borne.count('data-payload="/menu{&quot;operator&quot;') == 12
    assert "Administration+" not in borne
