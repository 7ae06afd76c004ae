"""Scale-out: two Rasa instances and two action-server replicas sharing one PostgreSQL tracker store
and one Redis lock store, all started for real (docs/deploy.md).

Topology: instance A -> action replica 1, instance B -> action replica 2; both instances share the
PostgreSQL tracker store (GUICHET_TRACKER_URL) and the Redis lock store (GUICHET_LOCK_STORE_URL);
both action replicas read the same knowledge database. Conversations are driven alternately
through A and B (as a load balancer without stickiness would), then compared with the trackers.

PostgreSQL 15 and Redis 7 must be installed (scripts/system-deps.sh): without them this file fails.
"""
from __future__ import annotations

import asyncio
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timezone

import pytest

from servers import ROOT, Postgres, Processes, Redis, base_env, get_json, model_copy, post, require_binaries, start_stacks

RSA = "la caf ne me verse plus le rsa depuis trois mois"
CARTE_GRISE = "je dois refaire ma carte grise"
API_TOKEN = "jeton-api-scaleout-0123456789"
COUNSELLOR_CODE = "code-conseiller-scaleout"


class Cluster:
    def __init__(self, instances, pg, redis, env, guichet_db):
        self.instances, self.pg, self.redis, self.env, self.guichet_db = instances, pg, redis, env, guichet_db

    def webhook(self, i: int) -> str:
        return f"{self.instances[i % 2]}/webhooks/rest/webhook"

    def tracker(self, sender: str, i: int = 0) -> dict:
        return get_json(f"{self.instances[i % 2]}/conversations/{sender}/tracker?token={API_TOKEN}")


@pytest.fixture(scope="module")
def cluster(tmp_path_factory):
    try:
        _pg_bin, redis_server = require_binaries()
    except RuntimeError as exc:
        pytest.fail(str(exc), pytrace=False)
    logs = tmp_path_factory.mktemp("scaleout")
    model = model_copy(logs)
    processes = Processes(logs)
    pg = Postgres(processes)
    redis = Redis(processes)
    try:
        pg.start()
        redis.start(redis_server)
        pg.wait()
        redis.wait()
        # Guichet's database (knowledge, counsellor sessions, the take-over queue, callbacks) is one PostgreSQL
        # database shared by both instances, built as in production (docs/deploy.md): `python -m bot kb build`.
        guichet_db = pg.database("guichet_kb")
        built = subprocess.run([sys.executable, "-m", "bot", "kb", "build"], cwd=ROOT, capture_output=True, text=True,
                               env=base_env(GUICHET_DB_URL=guichet_db), timeout=300)
        assert built.returncode == 0, built.stdout + built.stderr
        common = base_env(GUICHET_DB_URL=guichet_db, GUICHET_TRACKER_URL=pg.url,
                          GUICHET_LOCK_STORE_URL=redis.url,
                          GUICHET_API_TOKEN=API_TOKEN,  # the trackers are read through Rasa's HTTP API
                          GUICHET_AGENT_TOKEN=COUNSELLOR_CODE, GUICHET_OPENING_HOURS="tous les jours de 0 h à 24 h")
        # The four processes start in parallel; all the channels of `make run` (REST, socket.io, pages).
        urls = start_stacks(processes, logs, model, common, names=("-a", "-b"), credentials=ROOT / "credentials.yml")
        yield Cluster(urls, pg, redis, common, guichet_db)
    finally:
        processes.stop()
        pg.cleanup()


def say(url: str, sender: str, message: str, **metadata):
    status, messages = post(url, {"sender": sender, "message": message, "metadata": metadata})
    assert status == 200, (status, messages)
    assert isinstance(messages, list) and messages, messages
    return messages


def custom(messages, kind=None):
    found = [m["custom"] for m in messages if "custom" in m]
    assert found, messages
    if kind:
        assert found[-1].get("type") == kind, messages
    return found[-1]


def turns(tracker: dict):
    """[(user text, [bot texts of that turn], complete?)] from a tracker's events, in order."""
    result = []
    for event in tracker["events"]:
        if event["event"] == "user":
            result.append([event.get("text"), [], False])
        elif result and event["event"] == "bot":
            if event.get("text"):
                result[-1][1].append(event["text"])
            result[-1][2] = False
        elif result and event["event"] == "action":
            result[-1][2] = event.get("name") == "action_listen"
    return [tuple(t) for t in result]


def pg_user_texts(cluster: Cluster, sender: str):
    import json

    import psycopg2

    pg = cluster.pg
    with psycopg2.connect(host="127.0.0.1", port=pg.port, user=pg.user, password=pg.password, dbname=pg.db) as conn:
        with conn.cursor() as cur:
            cur.execute("select type_name, data from events where sender_id = %s order by id", (sender,))
            return [json.loads(data).get("text") for type_name, data in cur.fetchall() if type_name == "user"]


def test_lock_store_is_redis_and_tracker_store_is_postgresql(cluster):
    say(cluster.webhook(0), "probe", CARTE_GRISE)
    import redis

    client = redis.StrictRedis(host="127.0.0.1", port=cluster.redis.port, password=cluster.redis.password)
    stats = client.info("commandstats")
    assert stats.get("cmdstat_set", {}).get("calls", 0) > 0, stats  # the ticket lock was taken in Redis
    assert pg_user_texts(cluster, "probe") == [CARTE_GRISE]


def test_conversation_alternates_between_instances(cluster):
    sender = "alt-1"
    sent, replies = [], []

    def turn(i, text):
        messages = say(cluster.webhook(i), sender, text)
        sent.append(text)
        replies.append([m["text"] for m in messages if m.get("text")])
        return messages

    assert custom(turn(0, RSA), "question")["key"] == "detresse"  # instance A asks
    # instance B knows the pending question (slots in PostgreSQL) and asks the calm case's next one
    assert custom(turn(1, "non"), "question")["key"] == "prestation_interrompue"
    answer = custom(turn(0, "non"), "answer")
    assert answer["operator"] == "caf" and answer["category"] == "niveau_2"
    carte = custom(turn(0, CARTE_GRISE), "answer")
    assert carte["operator"] == "france_titres" and carte["category"] == "niveau_1"
    assert custom(turn(1, "ma CAF ne me verse plus le RSA depuis trois mois"))["type"] in ("question", "answer")
    turn(0, "merci")
    for i in (0, 1):
        tracker_turns = turns(cluster.tracker(sender, i))
        assert [t[0] for t in tracker_turns] == sent
        assert [t[1] for t in tracker_turns] == replies  # each reply stored after its own message
        assert all(t[2] for t in tracker_turns)  # every turn finished with action_listen
    assert pg_user_texts(cluster, sender) == sent


def _scripted(cluster: Cluster, sender: str, offset: int):
    """One person's conversation, each message through the other instance than the previous one."""
    # distress (odd offsets): one question; calm (even offsets): a second question, then the answer
    answers = [("oui", "answer")] if offset % 2 else [("non", "question"), ("non", "answer")]
    script = [(RSA, "question"), *answers, (CARTE_GRISE, "answer"), (f"merci {offset}", None), (RSA, None),
              ("au revoir", None)]
    replies, customs = [], []
    for i, (text, kind) in enumerate(script):
        messages = say(cluster.webhook(i + offset), sender, text)
        replies.append([m["text"] for m in messages if m.get("text")])
        customs.append(custom(messages, kind) if kind else None)
    return [text for text, _ in script], replies, customs


def test_concurrent_conversations_through_both_instances(cluster):
    senders = [f"conc-{n}" for n in range(8)]
    with ThreadPoolExecutor(max_workers=len(senders)) as pool:
        results = list(pool.map(lambda n: _scripted(cluster, senders[n], n), range(len(senders))))
    for n, (sender, (sent, replies, customs)) in enumerate(zip(senders, results)):
        assert customs[0]["key"] == "detresse"
        if n % 2 == 0:
            assert customs.pop(1)["key"] == "prestation_interrompue", sender
        expected = ("urgent", "caf.urgence_rupture_droits") if n % 2 else ("niveau_2", None)
        assert customs[1]["category"] == expected[0] and customs[1]["operator"] == "caf", (sender, customs[1])
        if expected[1]:
            assert customs[1]["demarche"] == expected[1]
        assert customs[2]["operator"] == "france_titres"
        tracker_turns = turns(cluster.tracker(sender, n))
        assert [t[0] for t in tracker_turns] == sent, sender
        assert [t[1] for t in tracker_turns] == replies, sender
        assert all(t[2] for t in tracker_turns), sender
        assert pg_user_texts(cluster, sender) == sent


def test_one_sender_many_simultaneous_messages_are_serialised(cluster):
    """2 conversations x 25 messages sent at once, alternately through both instances: the Redis lock
    serialises each conversation — no message lost or duplicated, each turn complete and holding the
    reply its sender received. (With Rasa's own RedisLockStore, whose tickets are not atomic, this
    lost messages in 3 runs of 5: hence bot.lockstore.)"""
    senders = ["burst-1", "burst-2"]
    texts = [f"carte grise numero {n}" for n in range(25)]
    jobs = [(sender, n) for n in range(25) for sender in senders]
    with ThreadPoolExecutor(max_workers=20) as pool:
        results = list(pool.map(lambda job: (job, say(cluster.webhook(job[1]), job[0], texts[job[1]])), jobs))
    for sender in senders:
        tracker_turns = turns(cluster.tracker(sender))
        assert sorted(t[0] for t in tracker_turns) == sorted(texts), sender
        assert all(t[2] for t in tracker_turns), sender
        received = {texts[n]: [m["text"] for m in messages if m.get("text")] for (s, n), messages in results if s == sender}
        for text, bot_texts, _complete in tracker_turns:
            assert bot_texts == received[text], (sender, text)
        assert sorted(pg_user_texts(cluster, sender)) == sorted(texts)


def _current_quarter() -> str:
    now = datetime.now(timezone.utc)
    return f"{now.year}-T{(now.month - 1) // 3 + 1}"


def test_report_reads_the_postgresql_tracker_store(cluster, tmp_path):
    result = subprocess.run([sys.executable, "-m", "bot", "report", "--quarter", _current_quarter(), "--out", str(tmp_path)],
                            cwd=ROOT, env=cluster.env, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    import psycopg2

    pg = cluster.pg
    with psycopg2.connect(host="127.0.0.1", port=pg.port, user=pg.user, password=pg.password, dbname=pg.db) as conn:
        with conn.cursor() as cur:
            cur.execute("select count(distinct sender_id) from events where type_name = 'user'")
            senders = cur.fetchone()[0]
    assert f": {senders} conversation(s)" in result.stdout, result.stdout
    assert senders >= 12
    assert "niveau_2" in result.stdout and "urgent" in result.stdout
    assert list(tmp_path.glob("motifs-*.csv")) and list(tmp_path.glob("motifs-*.png"))


def test_purge_on_the_postgresql_tracker_store(cluster):
    import psycopg2

    pg = cluster.pg
    connect = dict(host="127.0.0.1", port=pg.port, user=pg.user, password=pg.password, dbname=pg.db)
    with psycopg2.connect(**connect) as conn:
        with conn.cursor() as cur:
            cur.execute("update events set timestamp = timestamp - 100 * 86400 where sender_id = 'alt-1'")
            cur.execute("select count(*) from events where sender_id = 'alt-1'")
            old_events = cur.fetchone()[0]
    result = subprocess.run([sys.executable, "-m", "bot", "purge", "--older-than", "90d"], cwd=ROOT, env=cluster.env,
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith(f"1 conversation(s) inactive(s) depuis plus de 90 jours supprimée(s) ({old_events} événements)")
    assert pg_user_texts(cluster, "alt-1") == []
    assert pg_user_texts(cluster, "probe") == [CARTE_GRISE]
    # a purged conversation starts again from scratch, on either instance
    assert custom(say(cluster.webhook(1), "alt-1", RSA), "question")["key"] == "detresse"


def test_a_counsellor_on_instance_a_takes_over_a_person_on_instance_b(cluster):
    """socket.io across instances: python-socketio's Redis manager (GUICHET_LOCK_STORE_URL) carries the queue,
    the take-over and the messages between a console connected to A and a web chat connected to B."""
    from test_handoff_http import Client, is_handoff

    a, b = cluster.instances
    status, cookie = _login(a)
    assert status == 200

    async def scenario():
        counsellor = await Client({"base": a}, "conseiller", cookie).connect()
        person = await Client({"base": b}, "chat").connect()
        try:
            await counsellor.sio.emit("queue_request", {})
            await counsellor.next("queue", 30)
            await person.say(CARTE_GRISE)  # a first turn on B (warm), as a person would write before asking
            await person.until("bot_uttered", lambda m: (m.get("custom") or {}).get("type") == "answer", 60)
            waiting = asyncio.ensure_future(
                counsellor.until("queue", lambda q: any(c["status"] == "waiting" for c in q["cases"]), 30))
            asked = time.time()
            await person.say("/demander_conseiller")
            update = await waiting
            appeared = time.time() - asked
            assert appeared < 2, appeared
            await person.until("bot_uttered", is_handoff("queued"), 60)
            case_id = [c for c in update["cases"] if c["status"] == "waiting"][-1]["id"]
            await counsellor.sio.emit("case_take", {"case": case_id})
            await counsellor.next("case_opened", 10)
            await person.until("bot_uttered", is_handoff("taken"), 10)
            await counsellor.sio.emit("case_message", {"case": case_id, "text": "Bonjour, je vous réponds depuis A."})
            got = await person.next("bot_uttered", 10)
            assert got == {"text": "Bonjour, je vous réponds depuis A.", "custom": {"type": "counsellor_message"}}
            await person.say("Merci, je suis sur B")
            said = await counsellor.until("case_message", lambda m: m["from"] == "person", 10)
            assert said["text"] == "Merci, je suis sur B"
            await person.nothing("bot_uttered", 2)  # the bot stays silent, on B as well
            await counsellor.sio.emit("case_release", {"case": case_id, "close": False})
            await person.until("bot_uttered", is_handoff("returned"), 10)
            return person.sender, appeared
        finally:
            await person.close()
            await counsellor.close()

    sender, appeared = asyncio.run(scenario())
    print(f"request (instance B) -> queue (console on instance A): {appeared * 1000:.0f} ms")
    kinds = [e["event"] for e in cluster.tracker(sender, 0)["events"]]
    assert "pause" in kinds and "resume" in kinds


def _login(base):
    import json
    import urllib.request

    request = urllib.request.Request(f"{base}/api/conseiller/session", data=json.dumps({"code": COUNSELLOR_CODE}).encode(),
                                     headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=30) as response:
        return response.status, response.headers["Set-Cookie"].split(";")[0]


def test_queue_take_and_callbacks_run_on_postgresql(cluster):
    """The take-over queue and the callbacks are in the PostgreSQL database (GUICHET_DB_URL): the case taken
    above is there; of eight simultaneous takes, one wins; a callback is stored with consent, then handled;
    first uses on a fresh database (tables created by whichever instance comes first) do not collide."""
    from bot import handoff
    from bot.db import make_engine

    engine = make_engine(cluster.guichet_db)
    assert engine.dialect.name == "postgresql"
    with engine.connect() as conn:
        rows = conn.execute(handoff.cases.select()).all()
    assert any(r.status == handoff.RETURNED and r.taken_by and r.taken_at for r in rows), rows

    case, created = handoff.open_case(engine, "pg-take", "chat", {"urgent": True, "texts": ["aide"]})
    assert created and handoff.queue(engine)[0]["id"] == case["id"]  # urgent first
    with ThreadPoolExecutor(max_workers=8) as pool:
        wins = list(pool.map(lambda n: handoff.take(engine, case["id"], f"conseiller-{n}"), range(8)))
    assert wins.count(True) == 1, wins
    assert handoff.get_case(engine, case["id"])["taken_by"] == f"conseiller-{wins.index(True)}"
    assert handoff.end(engine, case["id"], f"conseiller-{wins.index(True)}", handoff.CLOSED)

    callback = handoff.record_callback(engine, "chat", "06 12 34 56 78", True, "carte grise")
    assert [c["id"] for c in handoff.pending_callbacks(engine)] == [callback]
    assert handoff.handle_callback(engine, callback) and handoff.pending_callbacks(engine) == []
    handoff.record_callback(engine, "borne", "nom@example.fr", True, None, now=time.time() - 40 * 86400)
    assert handoff.purge_callbacks(engine, 30) == 1
    engine.dispose()

    fresh = make_engine(cluster.pg.database("guichet_fresh"))
    try:
        with ThreadPoolExecutor(max_workers=6) as pool:
            results = list(pool.map(lambda n: handoff.queue(fresh), range(6)))
        assert results == [[]] * 6
    finally:
        fresh.dispose()
