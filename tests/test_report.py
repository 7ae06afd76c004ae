"""The quarterly report on conversations written by Rasa's own SQL tracker store."""
import asyncio
import csv
import subprocess
import sys
from datetime import datetime, timezone
from pathlib import Path

import pytest
from rasa.core.tracker_store import SQLTrackerStore
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import ActionExecuted, BotUttered, UserUttered
from rasa.shared.core.trackers import DialogueStateTracker

from bot.report import ReportError, build_report, quarter_bounds, tracker_engine

ROOT = Path(__file__).resolve().parent.parent
IN_Q4 = datetime(2026, 11, 2, 10, tzinfo=timezone.utc).timestamp()
IN_Q3 = datetime(2026, 8, 2, 10, tzinfo=timezone.utc).timestamp()


def user(text, intent, ts, channel="rest", **metadata):
    return UserUttered(text, {"name": intent, "confidence": 0.9}, timestamp=ts, input_channel=channel, metadata=metadata)


def bot(custom, ts):
    return BotUttered("…", {"custom": custom}, timestamp=ts)


def answer(operator, demarche, category):
    return {"type": "answer", "operator": operator, "demarche": demarche, "category": category}


QUESTION = {"type": "question", "key": "detresse"}

CONVERSATIONS = {
    # sender: events (timestamps offset inside the quarter)
    "borne-1": [user("carte grise", "titres_en_ligne", IN_Q4, channel="rest", channel_hint=None, structure="dole"),
                bot(answer("france_titres", "france_titres.demarches_en_ligne", "niveau_1"), IN_Q4 + 1)],
    "chat-1": [user("rsa coupé", "rsa_prime_activite", IN_Q4 + 10, channel="socketio", structure="dole"),
               bot(QUESTION, IN_Q4 + 11), user("oui", "affirm", IN_Q4 + 12, channel="socketio"),
               bot(answer("caf", "caf.urgence_rupture_droits", "urgent"), IN_Q4 + 13)],
    "chat-2": [user("rsa coupé", "rsa_prime_activite", IN_Q4 + 20, channel="socketio", structure="lons"),
               bot(QUESTION, IN_Q4 + 21), user("non", "deny", IN_Q4 + 22, channel="socketio"),
               bot(answer("caf", "caf.ressources_questions", "niveau_2"), IN_Q4 + 23)],
    "console-1": [user("usager veut parler à quelqu'un", "demander_conseiller", IN_Q4 + 30, channel="rest",
                       channel_name="console", structure="lons")],
    "old-1": [user("carte grise", "titres_en_ligne", IN_Q3),
              bot(answer("france_titres", "france_titres.demarches_en_ligne", "niveau_1"), IN_Q3 + 1)],
}


@pytest.fixture(scope="module")
def tracker_db(tmp_path_factory):
    path = tmp_path_factory.mktemp("trackers") / "tracker.db"
    domain = Domain.load(str(ROOT / "domain"))
    store = SQLTrackerStore(domain, dialect="sqlite", db=str(path))
    loop = asyncio.new_event_loop()
    for sender, events in CONVERSATIONS.items():
        tracker = DialogueStateTracker.from_events(sender, [ActionExecuted("action_listen", timestamp=events[0].timestamp - 1)] + events)
        loop.run_until_complete(store.save(tracker))
    return f"sqlite:///{path}"


def test_quarter_bounds():
    assert quarter_bounds("2026-T4") == (
        datetime(2026, 10, 1, tzinfo=timezone.utc).timestamp(),
        datetime(2027, 1, 1, tzinfo=timezone.utc).timestamp(),
    )
    with pytest.raises(ReportError):
        quarter_bounds("2026-Q4")


def test_counts_match_the_seeded_conversations(tracker_db):
    report = build_report(tracker_engine(tracker_db), "2026-T4")
    assert report.conversations == 4
    assert report.by_channel == {"rest": 2, "socketio": 2}
    assert report.by_operator == {"france_titres": 1, "caf": 2}
    assert report.by_category == {"niveau_1": 1, "urgent": 1, "niveau_2": 1}
    assert report.by_demarche["caf.ressources_questions"] == 1
    assert report.by_outcome == {"resolu": 1, "reoriente": 3}
    assert report.mean_questions == pytest.approx(2 / 4)


def test_structure_filter_and_other_quarter(tracker_db):
    dole = build_report(tracker_engine(tracker_db), "2026-T4", structure="dole")
    assert dole.conversations == 2 and dole.by_outcome == {"resolu": 1, "reoriente": 1}
    q3 = build_report(tracker_engine(tracker_db), "2026-T3")
    assert q3.conversations == 1 and q3.by_outcome == {"resolu": 1}


def test_cli_writes_csv_and_png(tracker_db, tmp_path):
    env = {"GUICHET_TRACKER_URL": tracker_db, "PATH": "/usr/bin:/bin", "MPLBACKEND": "Agg"}
    result = subprocess.run(
        [sys.executable, "-m", "bot", "report", "--quarter", "2026-T4", "--out", str(tmp_path)],
        cwd=ROOT, env=env, capture_output=True, text=True,
    )
    assert result.returncode == 0, result.stderr
    assert "4 conversation(s)" in result.stdout
    rows = list(csv.reader((tmp_path / "motifs-2026-T4.csv").open(encoding="utf-8"), delimiter=";"))
    assert rows[0] == ["rubrique", "valeur", "nombre"] and ["total", "conversations", "4"] in rows
    assert ["categorie", "urgent", "1"] in rows
    png = (tmp_path / "motifs-2026-T4.png").read_bytes()
    assert png[:8] == b"\x89PNG\r\n\x1a\n" and len(png) > 10_000


def test_cli_without_conversations(tmp_path):
    env = {"GUICHET_TRACKER_URL": f"sqlite:///{tmp_path / 'none.db'}", "PATH": "/usr/bin:/bin"}
    result = subprocess.run([sys.executable, "-m", "bot", "report", "--quarter", "2026-T4"], cwd=ROOT, env=env,
                            capture_output=True, text=True)
    assert result.returncode == 2 and "Erreur" in result.stderr and "Traceback" not in result.stderr


def test_purge_deletes_only_old_conversations(tmp_path):
    import shutil

    from bot.retention import RetentionError, parse_days

    db = tmp_path / "purge.db"
    domain = Domain.load(str(ROOT / "domain"))
    store = SQLTrackerStore(domain, dialect="sqlite", db=str(db))
    loop = asyncio.new_event_loop()
    for sender, events in CONVERSATIONS.items():
        tracker = DialogueStateTracker.from_events(sender, events)
        loop.run_until_complete(store.save(tracker))
    assert parse_days("90d") == 90 and parse_days("30 jours") == 30
    with pytest.raises(RetentionError):
        parse_days("trois mois")
    # "now" is 2026-12-01: Q3's conversation (August) is older than 90 days, November's are not
    from bot.retention import purge

    now = datetime(2026, 12, 1, tzinfo=timezone.utc).timestamp()
    engine = tracker_engine(f"sqlite:///{db}")
    assert purge(engine, 90, now=now) == (1, 2)
    report = build_report(engine, "2026-T3")
    assert report.conversations == 0
    assert build_report(engine, "2026-T4").conversations == 4
    assert purge(engine, 90, now=now) == (0, 0)


def test_purge_cli(tmp_path):
    env = {"GUICHET_TRACKER_URL": f"sqlite:///{tmp_path / 'none.db'}", "PATH": "/usr/bin:/bin"}
    ok = subprocess.run([sys.executable, "-m", "bot", "purge", "--older-than", "90d"], cwd=ROOT, env=env,
                        capture_output=True, text=True)
    assert ok.returncode == 0 and "0 conversation(s)" in ok.stdout
    bad = subprocess.run([sys.executable, "-m", "bot", "purge", "--older-than", "bientôt"], cwd=ROOT, env=env,
                         capture_output=True, text=True)
    assert bad.returncode == 2 and "durée invalide" in bad.stderr


def test_feedback_from_guichet_database_is_counted(tracker_db, tmp_path):
    from bot import feedback

    db = tracker_engine(f"sqlite:///{tmp_path / 'guichet.db'}")
    feedback.record(db, feedback.make_feedback("chat-1", "caf.urgence_rupture_droits", "chat", True, None), now=IN_Q4 + 14)
    feedback.record(db, feedback.make_feedback("chat-2", "caf.ressources_questions", "chat", False, "bof"), now=IN_Q4 + 24)
    feedback.record(db, feedback.make_feedback("chat-2", "caf.ressources_questions", "chat", True, None), now=IN_Q4 + 25)
    feedback.record(db, feedback.make_feedback("old-1", None, "chat", True, None), now=IN_Q3 + 2)  # other quarter
    report = build_report(tracker_engine(tracker_db), "2026-T4", feedback_engine=db)
    assert report.feedback == {"utile": 2, "pas utile": 1}
    assert ("avis", "utile", 2) in [tuple(r) for r in report.rows()]
    lons = build_report(tracker_engine(tracker_db), "2026-T4", structure="lons", feedback_engine=db)
    assert lons.feedback == {"utile": 1, "pas utile": 1}
