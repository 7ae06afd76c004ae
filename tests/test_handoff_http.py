"""A counsellor takes over (issue 13), over real servers: an action server and a Rasa server started as
`make run` starts them (the channels of credentials.yml), open every day all day, and python-socketio
clients speaking as the pages do (a person on /chat or /borne, counsellors on /conseiller).

Outside opening hours: tests/test_access_http.py (no GUICHET_OPENING_HOURS: closed).
In a real browser: tests/test_browser.py. On two instances: tests/test_scaleout.py.
"""
import asyncio
import json
import shutil
import sqlite3
import subprocess
import sys
import threading
import time

import pytest
from sqlalchemy import select

from bot import handoff
from bot.db import make_engine
from bot.report import build_report, current_quarter

from servers import ROOT, Processes, base_env, model_copy, start_stacks
from test_access_http import call, login

CODE = "code-conseiller-relais"
CARTE_GRISE = "je dois refaire ma carte grise"


@pytest.fixture(scope="module")
def site(kb_engine, tmp_path_factory):
    logs = tmp_path_factory.mktemp("handoff")
    database = logs / "guichet.db"
    shutil.copyfile(kb_engine.url.database, database)
    processes = Processes(logs)
    env = base_env(GUICHET_DB_URL=f"sqlite:///{database}", GUICHET_TRACKER_DB=str(logs / "tracker.db"),
                   GUICHET_AGENT_TOKEN=CODE, GUICHET_OPENING_HOURS="tous les jours de 0 h à 24 h",
                   GUICHET_HANDOFF_GRACE_SECONDS=str(GRACE))
    try:
        [base] = start_stacks(processes, logs, model_copy(logs), env, credentials=ROOT / "credentials.yml")
        host, port = base.rsplit("//", 1)[1].split(":")
        yield {"base": base, "host": host, "port": int(port), "db": database, "tracker": logs / "tracker.db",
               "env": env}
    finally:
        processes.stop()


GRACE = 3  # seconds a disconnected person keeps a place in the queue (GUICHET_HANDOFF_GRACE_SECONDS)


class Client:
    """One socket.io client as a page holds it; every event kept in a queue per event name."""

    def __init__(self, site, channel, cookie=None):
        import socketio

        self.site, self.channel, self.cookie = site, channel, cookie
        self.sio = socketio.AsyncClient(reconnection=False)
        self.events = {}
        self.session_id = None
        for name in ("bot_uttered", "queue", "case_opened", "case_message", "case_refused", "case_ended",
                     "handoff_state", "session_confirm"):
            self.sio.on(name, self._keeper(name))

    def _keeper(self, name):
        async def keep(data=None):
            self.events.setdefault(name, asyncio.Queue()).put_nowait(data)
        return keep

    def queue_of(self, name):
        return self.events.setdefault(name, asyncio.Queue())

    async def connect(self, session_id=None):
        headers = {"Origin": self.site["base"], **({"Cookie": self.cookie} if self.cookie else {})}
        await self.sio.connect(self.site["base"], headers=headers, auth={"channel": self.channel},
                               transports=["polling"], socketio_path="/socket.io", wait_timeout=30)
        await self.sio.emit("session_request", {"session_id": session_id})
        self.session_id = await self.next("session_confirm")
        return self

    async def next(self, name, timeout=60):
        return await asyncio.wait_for(self.queue_of(name).get(), timeout)

    async def nothing(self, name, seconds):
        try:
            item = await asyncio.wait_for(self.queue_of(name).get(), seconds)
        except asyncio.TimeoutError:
            return True
        raise AssertionError(f"unexpected {name}: {item}")

    async def say(self, text):
        await self.sio.emit("user_uttered", {"message": text})

    async def until(self, name, predicate, timeout=60):
        end = time.time() + timeout
        while True:
            item = await self.next(name, max(0.1, end - time.time()))
            if predicate(item):
                return item

    async def close(self):
        await self.sio.eio.disconnect(abort=True)  # no wait for the pending long-poll

    @property
    def sender(self):
        return f"{self.channel}-{self.session_id}"


def console_cookie(site):
    status, _, cookie = login(site, CODE)
    assert status == 200 and cookie
    return cookie


def is_handoff(state):
    return lambda m: (m.get("custom") or {}).get("type") == "handoff" and m["custom"].get("state") == state


def tracker_events(site, sender):
    with sqlite3.connect(site["tracker"]) as db:
        rows = db.execute("SELECT type_name, data FROM events WHERE sender_id = ? ORDER BY id", (sender,)).fetchall()
    return [(t, json.loads(d)) for t, d in rows]


def run(coroutine):
    return asyncio.run(coroutine)


def test_queue_take_write_pause_and_hand_back(site):
    async def scenario():
        counsellor = await Client(site, "conseiller", console_cookie(site)).connect()
        await counsellor.sio.emit("queue_request", {})
        first = await counsellor.next("queue")
        assert first["me"].startswith("conseiller-")
        person = await Client(site, "chat").connect()
        try:
            await person.say(CARTE_GRISE)
            await person.until("bot_uttered", lambda m: (m.get("custom") or {}).get("type") == "answer")
            waiting = asyncio.ensure_future(counsellor.until(
                "queue", lambda q: any(c["summary"]["texts"] == [CARTE_GRISE] for c in q["cases"]), timeout=30))
            asked = time.time()
            await person.say("/demander_conseiller")
            update = await waiting
            appeared = time.time() - asked
            assert appeared < 2, appeared  # the counsellor sees the case within 2 s
            queued = await person.until("bot_uttered", is_handoff("queued"))
            assert "un conseiller va prendre le relais" in queued["text"]
            [case] = [c for c in update["cases"] if c["summary"]["texts"] == [CARTE_GRISE]]
            assert case["channel"] == "chat" and case["status"] == "waiting" and "sender" not in case
            assert case["summary"]["card"]["title"] and case["summary"]["card"]["category"]
            # The counsellor takes it: the person is told who answers, the bot is paused.
            await counsellor.sio.emit("case_take", {"case": case["id"]})
            opened = await counsellor.next("case_opened", 10)
            assert opened["case"]["id"] == case["id"] and opened["case"]["taken_by"] == first["me"]
            assert any(item.get("text") == CARTE_GRISE for item in opened["history"])
            taken = await person.until("bot_uttered", is_handoff("taken"), timeout=10)
            assert taken["text"] == "Un conseiller France services vous répond."
            # The person writes: the counsellor reads it (redacted), the bot stays silent.
            await person.say("Bonjour, mon numéro est le 06 12 34 56 78")
            said = await counsellor.until("case_message", lambda m: m["from"] == "person", timeout=10)
            assert said["case"] == case["id"] and "[téléphone]" in said["text"] and "06 12" not in said["text"]
            await person.nothing("bot_uttered", 3)
            # The counsellor writes: the person reads it live, as text (escaped by the page like any message).
            words = "Bonjour, je regarde votre dossier <b>maintenant</b>."
            await counsellor.sio.emit("case_message", {"case": case["id"], "text": words})
            got = await person.next("bot_uttered", 10)
            assert got == {"text": words, "custom": {"type": "counsellor_message"}}
            # Hand back: the bot answers again.
            await counsellor.sio.emit("case_release", {"case": case["id"], "close": False})
            back = await person.until("bot_uttered", is_handoff("returned"), timeout=10)
            assert "Guichet vous répond de nouveau" in back["text"]
            await counsellor.until("case_ended", lambda m: m["case"] == case["id"], timeout=10)
            await person.say(CARTE_GRISE)
            again = await person.until("bot_uttered", lambda m: (m.get("custom") or {}).get("type") == "answer")
            assert again["custom"]["operator"] == "france_titres"
            return person.sender, case["id"], first["me"], appeared
        finally:
            await person.close()
            await counsellor.close()

    sender, case_id, who, appeared = run(scenario())
    print(f"request -> queue on one instance: {appeared * 1000:.0f} ms")
    events = tracker_events(site, sender)
    kinds = [t for t, _ in events]
    assert "pause" in kinds and "resume" in kinds and kinds.index("pause") < kinds.index("resume")
    pause = [d for t, d in events if t == "pause"][0]
    assert pause["metadata"]["counsellor"] == who and pause["metadata"]["case"] == case_id
    assert pause["metadata"]["handoff"] == "take" and pause["timestamp"] > 0
    between = kinds[kinds.index("pause"):kinds.index("resume")]
    bots = [d for t, d in events[kinds.index("pause"):kinds.index("resume")] if t == "bot"]
    # While paused: the person's message is stored, no action of the bot ran, only the counsellor spoke.
    assert "user" in between and "action" not in between
    assert [b["data"]["custom"]["type"] for b in bots] == ["handoff", "counsellor_message"]
    assert all(b["metadata"]["counsellor"] == who for b in bots)
    stored_user = [d["text"] for t, d in events[kinds.index("pause"):] if t == "user"][0]
    assert "06 12" not in stored_user
    with sqlite3.connect(site["db"]) as db:
        assert db.execute("SELECT status, taken_by FROM handoff_cases WHERE id = ?", (case_id,)).fetchone() == (
            "returned", who)
    # Counted in the quarterly report (demands, take-overs, messages, waiting time, by channel).
    report = build_report(make_engine(f"sqlite:///{site['tracker']}"), current_quarter())
    assert report.handoff["chat:demandes"] >= 1 and report.handoff["chat:pris_en_charge"] >= 1
    assert report.handoff["chat:messages"] >= 1 and report.handoff_wait["chat"] >= 0


def test_words_at_the_kiosk_and_a_counsellor_arrives(site):
    async def scenario():
        counsellor = await Client(site, "conseiller", console_cookie(site)).connect()
        person = await Client(site, "borne").connect()
        try:
            await person.say("je veux parler à quelqu'un")
            queued = await person.until("bot_uttered", is_handoff("queued"))
            assert queued["text"].startswith("Un conseiller France services arrive : restez près de la borne.")
            update = await counsellor.until("queue", lambda q: any(c["channel"] == "borne" and c["status"] == "waiting"
                                                                   for c in q["cases"]), timeout=5)
            case = [c for c in update["cases"] if c["channel"] == "borne"][-1]
            # The person leaves the queue: the case goes, the bot is still there.
            await person.sio.emit("handoff_leave", {})
            left = await person.until("bot_uttered", is_handoff("left"), timeout=10)
            assert "Vous avez quitté" in left["text"]
            update = await counsellor.until("queue", lambda q: all(c["id"] != case["id"] for c in q["cases"]), 10)
            return update
        finally:
            await person.close()
            await counsellor.close()

    run(scenario())


def test_a_person_gone_leaves_the_queue_after_the_grace_period_a_reload_does_not(site):
    engine = make_engine(f"sqlite:///{site['db']}")

    async def scenario():
        counsellor = await Client(site, "conseiller", console_cookie(site)).connect()
        person = await Client(site, "borne").connect()
        closing = []  # a clean disconnect is sent at once; the client then waits for its long-poll
        try:
            await person.say("je voudrais parler à un conseiller")
            await person.until("bot_uttered", is_handoff("queued"))
            sender, case = person.sender, handoff.active_case(engine, person.sender)
            assert case is not None
            # a reload: the page goes and comes back within the grace period, the place is kept
            closing.append(asyncio.ensure_future(person.sio.disconnect()))
            await asyncio.sleep(0.5)
            person = await Client(site, "borne").connect(session_id=person.session_id)
            assert person.sender == sender and (await person.next("handoff_state", 10))["state"] == "waiting"
            await asyncio.sleep(GRACE + 2)
            assert handoff.active_case(engine, sender) is not None
            # the kiosk left: after the grace period the case leaves every console's queue
            closing.append(asyncio.ensure_future(person.sio.disconnect()))
            await counsellor.until("queue", lambda q: all(c["id"] != case["id"] for c in q["cases"]), GRACE + 10)
            assert handoff.get_case(engine, case["id"])["status"] == handoff.LEFT
        finally:
            for task in closing:
                task.cancel()
            await person.close()
            await counsellor.close()

    run(scenario())


def test_urgent_answers_offer_a_counsellor_and_urgent_cases_come_first(site):
    async def scenario():
        calm = await Client(site, "chat").connect()
        urgent = await Client(site, "chat").connect()
        counsellor = await Client(site, "conseiller", console_cookie(site)).connect()
        try:
            await calm.say("/demander_conseiller")
            await calm.until("bot_uttered", is_handoff("queued"))
            await urgent.say("ma CAF ne me verse plus le RSA depuis trois mois")
            await urgent.until("bot_uttered", lambda m: m.get("buttons"))
            await urgent.say("/affirm")
            answer = await urgent.until("bot_uttered", lambda m: (m.get("custom") or {}).get("type") == "answer")
            assert answer["custom"]["category"] == "urgent" and answer["custom"]["offer_counsellor"] is True
            await urgent.say("/demander_conseiller")
            await urgent.until("bot_uttered", is_handoff("queued"))
            await counsellor.sio.emit("queue_request", {})
            q = await counsellor.until("queue", lambda q: sum(c["urgent"] for c in q["cases"]) >= 1, 10)
            assert q["cases"][0]["urgent"] is True
            assert q["cases"][0]["summary"]["facts"] and q["cases"][0]["summary"]["card"]["category"] == "urgent"
            for p in (calm, urgent):
                await p.sio.emit("handoff_leave", {})
                await p.until("bot_uttered", is_handoff("left"), 10)
        finally:
            for c in (calm, urgent, counsellor):
                await c.close()

    run(scenario())


def test_concurrent_takes_one_wins(site):
    async def scenario():
        person = await Client(site, "chat").connect()
        a = await Client(site, "conseiller", console_cookie(site)).connect()
        b = await Client(site, "conseiller", console_cookie(site)).connect()
        try:
            await person.say("/demander_conseiller")
            await person.until("bot_uttered", is_handoff("queued"))
            await a.sio.emit("queue_request", {})
            q = await a.until("queue", lambda q: any(c["status"] == "waiting" for c in q["cases"]), 10)
            case_id = [c for c in q["cases"] if c["status"] == "waiting"][-1]["id"]
            await asyncio.gather(a.sio.emit("case_take", {"case": case_id}), b.sio.emit("case_take", {"case": case_id}))

            async def outcome(client):
                done = asyncio.ensure_future(client.next("case_opened", 10))
                refused = asyncio.ensure_future(client.next("case_refused", 10))
                finished, pending = await asyncio.wait({done, refused}, return_when=asyncio.FIRST_COMPLETED)
                for p in pending:
                    p.cancel()
                winner = next(iter(finished))
                return "won" if winner is done and winner.exception() is None else "lost"

            results = sorted(await asyncio.gather(outcome(a), outcome(b)))
            assert results == ["lost", "won"]
            # The loser cannot write to the person.
            taken = await person.until("bot_uttered", is_handoff("taken"), 10)
            assert taken
            for client in (a, b):
                await client.sio.emit("case_message", {"case": case_id, "text": "Bonjour"})
            got = await person.next("bot_uttered", 10)
            assert got["custom"]["type"] == "counsellor_message"
            await person.nothing("bot_uttered", 2)  # one message only: the loser's was refused
            await person.sio.emit("handoff_leave", {})
        finally:
            for c in (person, a, b):
                await c.close()

    run(scenario())
    # The same race directly on the database: 8 threads, one winner.
    engine = make_engine(f"sqlite:///{site['db']}")
    case, _ = handoff.open_case(engine, "chat-course", "chat", {"texts": [], "urgent": False})
    wins = []
    start = threading.Barrier(8)

    def race(i):
        start.wait()
        wins.append(handoff.take(engine, case["id"], f"conseiller-{i}"))

    threads = [threading.Thread(target=race, args=(i,)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(wins) == [False] * 7 + [True]


def test_queue_and_writing_are_for_authenticated_counsellors_only(site):
    async def scenario():
        person = await Client(site, "chat").connect()
        intruder = await Client(site, "conseiller").connect()  # the console's socket, without a session
        public = await Client(site, "chat").connect()
        try:
            await person.say("/demander_conseiller")
            await person.until("bot_uttered", is_handoff("queued"))
            for client in (intruder, public):
                await client.sio.emit("queue_request", {})
                await client.sio.emit("case_take", {"case": 1})
                await client.sio.emit("case_message", {"case": 1, "text": "faux conseiller"})
                await client.nothing("queue", 2)
                await client.nothing("case_opened", 0.5)
            await person.nothing("bot_uttered", 1)
            await person.sio.emit("handoff_leave", {})
        finally:
            for c in (person, intruder, public):
                await c.close()

    run(scenario())


def test_callback_needs_consent_then_is_shown_handled_and_purged(site):
    engine = make_engine(f"sqlite:///{site['db']}")

    async def scenario():
        person = await Client(site, "chat").connect()
        counsellor = await Client(site, "conseiller", console_cookie(site)).connect()
        try:
            refused = await person.sio.call("callback_request", {"contact": "06 12 34 56 78", "consent": False})
            assert refused["ok"] is False and "Sans votre accord, rien n'est enregistré" in refused["error"]
            bad = await person.sio.call("callback_request", {"contact": "demain", "consent": True})
            assert bad["ok"] is False and "numéro de téléphone" in bad["error"]
            assert handoff.pending_callbacks(engine) == []
            ok = await person.sio.call("callback_request", {"contact": "06 12 34 56 78", "consent": True,
                                                            "note": "carte grise, né le 12/03/1980"})
            assert ok["ok"] is True and "recontactera" in ok["text"]
            q = await counsellor.until("queue", lambda q: q["callbacks"], 10)
            [callback] = q["callbacks"]
            assert callback["contact"] == "06 12 34 56 78" and "12/03/1980" not in callback["note"]
            # Nothing ties it to the conversation.
            with sqlite3.connect(site["db"]) as db:
                row = db.execute("SELECT * FROM callback_requests").fetchone()
            assert person.session_id not in json.dumps(row)
            # a page cannot fill the table: a second request is taken (a corrected number), not a third
            again = await person.sio.call("callback_request", {"contact": "06 12 34 56 79", "consent": True})
            third = await person.sio.call("callback_request", {"contact": "06 12 34 56 70", "consent": True})
            assert again["ok"] is True and third["ok"] is False and "déjà enregistrée" in third["error"]
            q = await counsellor.until("queue", lambda q: len(q["callbacks"]) == 2, 10)
            for done in q["callbacks"]:
                await counsellor.sio.emit("callback_done", {"case": done["id"]})
            await counsellor.until("queue", lambda q: not q["callbacks"], 10)
        finally:
            await person.close()
            await counsellor.close()

    run(scenario())
    assert handoff.pending_callbacks(engine) == []
    # Retention: `python -m bot purge` deletes old callback requests (and ended cases), keeps recent ones.
    old = time.time() - 100 * 86400
    handoff.record_callback(engine, "borne", "contact@example.fr", True, None, now=old)
    handoff.record_callback(engine, "chat", "07 00 00 00 00", True, None)
    env = {**site["env"]}
    done = subprocess.run([sys.executable, "-m", "bot", "purge", "--older-than", "90d"], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert "1 demande(s) de rappel" in done.stdout
    assert [c["contact"] for c in handoff.pending_callbacks(engine)] == ["07 00 00 00 00"]
    with engine.begin() as conn:
        conn.execute(handoff.callbacks.delete())
