"""End to end: the action server and the Rasa server, started for real, spoken to over HTTP (REST channel)."""
import json
import urllib.error
import urllib.request

import pytest

from servers import ROOT, Processes, base_env, model_copy, start_stacks

E2E = {}
API_TOKEN = "jeton-api-e2e-0123456789abcdef"  # this server runs with Rasa's HTTP API, as an operator may


def post(url, body, timeout=30):
    request = urllib.request.Request(url, data=json.dumps(body).encode(), headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=timeout) as response:
        return response.status, json.loads(response.read().decode())


@pytest.fixture(scope="module")
def server(kb_engine, tmp_path_factory):
    logs = tmp_path_factory.mktemp("e2e")
    processes = Processes(logs)
    env = base_env(GUICHET_DB_URL=str(kb_engine.url), GUICHET_AGENT_TOKEN="jeton-e2e",
                   GUICHET_TRACKER_DB=str(logs / "tracker.db"), GUICHET_API_TOKEN=API_TOKEN)
    try:
        # The channels of `make run` (credentials.yml), endpoints from `python -m bot endpoints`.
        [base] = start_stacks(processes, logs, model_copy(logs), env, credentials=ROOT / "credentials.yml")
        E2E["tracker_db"] = logs / "tracker.db"
        yield f"{base}/webhooks/rest/webhook"
    finally:
        processes.stop()


def say(url, sender, message, **metadata):
    status, messages = post(url, {"sender": sender, "message": message, "metadata": metadata})
    assert status == 200
    return messages


def custom(messages, kind):
    found = [m["custom"] for m in messages if "custom" in m and m["custom"].get("type") == kind]
    assert found, messages
    return found[0]


def test_question_then_answer_over_rest(server):
    first = say(server, "e2e-1", "ma CAF ne me verse plus le RSA depuis trois mois")
    question = custom(first, "question")
    assert question["key"] == "detresse"
    assert [o["value"] for o in question["options"]] == ["oui", "non", "inconnu"]
    assert any(m.get("buttons") for m in first)
    # calm: is the benefit interrupted for 3 months although a new document is in the file?
    assert custom(say(server, "e2e-1", "/deny"), "question")["key"] == "prestation_interrompue"
    answer = custom(say(server, "e2e-1", "/deny"), "answer")
    assert answer["category"] == "niveau_2" and answer["operator"] == "caf"
    assert answer["source"]["section"] and answer["contacts"] is not None


def test_typed_answer_and_agent_audience(server):
    custom(say(server, "e2e-2", "la caf ne me verse plus le rsa depuis trois mois", audience="agent", agent_token="jeton-e2e"), "question")
    messages = say(server, "e2e-2", "oui", audience="agent", agent_token="jeton-e2e")
    answer = custom(messages, "answer")
    assert answer["category"] == "urgent" and answer["audience"] == "agent"
    assert "Administration+" in answer["next_step"]


def test_agent_claim_without_token_is_public(server):
    say(server, "e2e-3", "la caf ne me verse plus le rsa depuis trois mois", audience="agent")
    answer = custom(say(server, "e2e-3", "oui", audience="agent"), "answer")
    assert answer["audience"] == "public" and "Administration+" not in json.dumps(answer, ensure_ascii=False)


def test_direct_answer_and_distress(server):
    answer = custom(say(server, "e2e-4", "je dois refaire ma carte grise"), "answer")
    assert answer["operator"] == "france_titres" and answer["category"] == "niveau_1"
    urgent = custom(say(server, "e2e-5", "je veux en finir, je n'en peux plus"), "answer")
    assert urgent["category"] == "urgent" and "3114" in [n["value"] for n in urgent["emergency_numbers"]]


def test_slots_are_kept_per_conversation(server):
    say(server, "e2e-6", "la caf ne me verse plus le rsa depuis trois mois")
    base = server.rsplit("/webhooks", 1)[0]
    with urllib.request.urlopen(f"{base}/conversations/e2e-6/tracker?token={API_TOKEN}", timeout=10) as response:
        tracker = json.loads(response.read().decode())
    assert tracker["slots"]["pending_question"] == "detresse"
    assert tracker["slots"]["topic"] == "rsa_prime_activite"


def request(method, url, body=None):
    req = urllib.request.Request(url, data=body, method=method, headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(req, timeout=30) as response:
            return response.status
    except urllib.error.HTTPError as error:
        return error.code


def test_rasa_api_asks_for_the_token(server):
    """GUICHET_API_TOKEN set: Rasa's HTTP API is on, every route of it refused without the token."""
    base = server.rsplit("/webhooks", 1)[0]
    say(server, "e2e-api", "je dois refaire ma carte grise")
    event = json.dumps({"event": "slot", "name": "topic", "value": "x"}).encode()
    probes = [("GET", "/conversations/e2e-api/tracker", None), ("POST", "/conversations/e2e-api/tracker/events", event),
              ("PUT", "/conversations/e2e-api/tracker/events", b"[]"), ("DELETE", "/model", None),
              ("PUT", "/model", b'{"model_file": "/tmp/x.tar.gz"}'), ("POST", "/model/train", b"{}"),
              ("GET", "/status", None)]
    for method, path, body in probes:
        assert request(method, base + path, body) == 401, (method, path)
        assert request(method, base + path + "?token=faux", body) == 401, (method, path)
    assert request("GET", f"{base}/conversations/e2e-api/tracker?token={API_TOKEN}") == 200
    # Nothing was changed by the refused calls: the model answers, the conversation is intact.
    assert custom(say(server, "e2e-api", "je dois refaire ma carte grise"), "answer")["operator"] == "france_titres"


def post_raw(url, body: bytes):
    request = urllib.request.Request(url, data=body, headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, json.loads(response.read().decode())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read().decode())


@pytest.mark.parametrize(
    "message, expected",
    [
        ("", "Votre message est vide"),
        ("   \n\t ", "Votre message est vide"),
        ("😀😀🙏", "pas trouvé de mots"),
        ("Hello, I need help with my tax return please", "ne comprend que le français"),
        ("Hola, necesito ayuda con mi pensión por favor", "ne comprend que le français"),
        ("مرحبا أحتاج مساعدة في ملف التقاعد", "ne comprend que le français"),
    ],
)
def test_bad_input_gets_a_polite_french_answer(server, message, expected):
    messages = say(server, "e2e-bad", message)
    assert expected in messages[0]["text"]


def test_long_message_is_cut_with_a_notice(server):
    messages = say(server, "e2e-long", "je dois refaire ma carte grise " + "blabla " * 15000)
    assert "premiers caractères" in messages[0]["text"]
    assert any(m.get("custom", {}).get("type") in ("answer", "choose", "question", "out_of_scope") for m in messages)


def test_html_sql_and_invalid_utf8_never_5xx(server):
    for text in ("<script>alert('x')</script>", "'; DROP TABLE events; --", "carte grise' OR 1=1 --"):
        status, messages = post(server, {"sender": "e2e-inj", "message": text})
        assert status == 200 and messages
    status, messages = post_raw(server, b'{"sender": "e2e-utf", "message": "carte grise \xff\xfe perdue"}')
    assert status == 200 and messages
    status, body = post_raw(server, b"not json at all")
    assert status == 400 and "JSON" in body["error"]


def test_personal_data_is_redacted_before_storage(server):
    text = ("mon numéro de sécu est 1 85 05 78 006 084 36, mon iban FR76 3000 6000 0112 3456 7890 189, "
            "joignable au 06 12 34 56 78 ou a jean.dupont@example.org, né le 12/03/1985, la caf ne me verse plus le rsa")
    say(server, "e2e-rgpd", text)
    import sqlite3

    rows = sqlite3.connect(E2E["tracker_db"]).execute("select data from events where sender_id = 'e2e-rgpd'").fetchall()
    stored = " ".join(r[0] for r in rows)
    assert "rsa" in stored
    for secret in ("006 084", "3000 6000", "06 12 34 56 78", "jean.dupont", "12/03/1985"):
        assert secret not in stored, secret
    assert "[numéro de sécurité sociale]" in stored or "num\\u00e9ro de s\\u00e9curit\\u00e9 sociale" in stored


def test_agent_token_is_never_stored(server):
    say(server, "e2e-token", "la caf ne me verse plus le rsa depuis trois mois", audience="agent", agent_token="jeton-e2e")
    import sqlite3

    rows = sqlite3.connect(E2E["tracker_db"]).execute("select data from events where sender_id = 'e2e-token'").fetchall()
    assert rows and "jeton-e2e" not in " ".join(r[0] for r in rows)


def test_burst_of_50_messages_from_one_sender(server):
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(max_workers=10) as pool:
        results = list(pool.map(lambda i: post(server, {"sender": "e2e-burst", "message": f"carte grise {i}"}), range(50)))
    assert all(status == 200 and messages for status, messages in results)
