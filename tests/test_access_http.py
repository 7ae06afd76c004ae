"""Closed by default, over HTTP: an action server and a Rasa server started as `make run` starts them
(`python -m bot serve`, the channels of credentials.yml), with no GUICHET_AGENT_TOKEN and no
GUICHET_API_TOKEN — what a structure gets from the README's command.

Rasa's HTTP API with GUICHET_API_TOKEN set: tests/test_e2e_http.py::test_rasa_api_asks_for_the_token.
The widget from a listed / an unlisted site in a browser: tests/test_browser.py.
"""
import asyncio
import http.client
import json
import os
import shutil
import socket
import stat
import time

import pytest

from servers import ROOT, Processes, base_env, free_port, model_copy, start_stacks, wait_until

LISTED = "https://www.mairie-exemple.fr"
SESSION_S = 15  # short console sessions, to see one expire
CARTE_GRISE = "je dois refaire ma carte grise"


@pytest.fixture(scope="module")
def site(kb_engine, tmp_path_factory):
    logs = tmp_path_factory.mktemp("access")
    # Its own copy of the knowledge database: login failures and sessions are stored there.
    database = logs / "guichet.db"
    shutil.copyfile(kb_engine.url.database, database)
    code_file = logs / "var" / "code-conseiller.txt"
    processes = Processes(logs)
    env = base_env(GUICHET_DB_URL=f"sqlite:///{database}", GUICHET_TRACKER_DB=str(logs / "tracker.db"),
                   GUICHET_AGENT_CODE_FILE=str(code_file), GUICHET_ALLOWED_ORIGINS=LISTED,
                   GUICHET_AGENT_SESSION_SECONDS=str(SESSION_S))
    try:
        [base] = start_stacks(processes, logs, model_copy(logs), env, credentials=ROOT / "credentials.yml")
        host, port = base.rsplit("//", 1)[1].split(":")
        yield {"base": base, "host": host, "port": int(port), "code_file": code_file, "processes": processes}
    finally:
        processes.stop()


def call(site, method, path, body=None, headers=None):
    conn = http.client.HTTPConnection(site["host"], site["port"], timeout=60)
    data = body if isinstance(body, (bytes, type(None))) else json.dumps(body).encode()
    conn.request(method, path, body=data, headers={"Content-Type": "application/json", **(headers or {})})
    resp = conn.getresponse()
    raw = resp.read()
    try:
        payload = json.loads(raw or b"null")
    except ValueError:
        payload = raw
    return resp.status, {k.lower(): v for k, v in resp.getheaders()}, payload


def say(site, sender, message, **metadata):
    status, _, messages = call(site, "POST", "/webhooks/rest/webhook", {"sender": sender, "message": message,
                                                                         "metadata": metadata})
    assert status == 200, messages
    return messages


def answer_of(messages):
    found = [m["custom"] for m in messages if (m.get("custom") or {}).get("type") == "answer"]
    assert found, messages
    return found[0]


def login(site, code):
    status, headers, body = call(site, "POST", "/api/conseiller/session", {"code": code})
    cookie = headers.get("set-cookie", "")
    return status, body, cookie.split(";")[0] if cookie else None


async def socket_turns(site, messages, cookie=None, channel="conseiller"):
    """socket.io as the console page speaks it; returns the bot_uttered events of each message."""
    import socketio

    client = socketio.AsyncClient(reconnection=False)
    replies, confirmed = asyncio.Queue(), asyncio.Event()
    client.on("bot_uttered", replies.put_nowait)
    client.on("session_confirm", lambda _id: confirmed.set())
    headers = {"Origin": site["base"], **({"Cookie": cookie} if cookie else {})}
    await client.connect(site["base"], headers=headers, auth={"channel": channel}, transports=["polling"],
                         socketio_path="/socket.io", wait_timeout=30)
    try:
        await client.emit("session_request", {"session_id": None})
        await asyncio.wait_for(confirmed.wait(), 30)
        turns = []
        for message in messages:
            if callable(message):  # something to do between two messages (log out…)
                message()
                continue
            await client.emit("user_uttered", {"message": message})
            events = [await asyncio.wait_for(replies.get(), 120)]
            while (events[-1].get("custom") or {}).get("type") not in ("answer", "question", "session_ended", "choose"):
                events.append(await asyncio.wait_for(replies.get(), 120))
            turns.append(events)
        return turns
    finally:
        # abort: do not wait for the pending long-poll request to time out (about 25 s)
        await client.eio.disconnect(abort=True)


# -- 1. Rasa's HTTP API is off; pages, REST and socket.io are served ---------------------------------


API_PROBES = [
    ("GET", "/conversations/acces-1/tracker", None),
    ("POST", "/conversations/acces-1/tracker/events", {"event": "slot", "name": "topic", "value": "x"}),
    ("PUT", "/conversations/acces-1/tracker/events", []),
    ("DELETE", "/model", None),
    ("PUT", "/model", {"model_file": "/tmp/autre.tar.gz"}),
    ("POST", "/model/train", {}),
    ("GET", "/status", None),
    ("GET", "/domain", None),
]


def _this_machines_network_address() -> str:
    """The address other machines of the network reach this one at (no packet is sent)."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        probe.connect(("10.255.255.255", 1))
        return probe.getsockname()[0]


def _answers(host: str, port: int) -> bool:
    try:
        conn = http.client.HTTPConnection(host, port, timeout=5)
        conn.request("GET", "/health")
        return conn.getresponse().status == 200
    except OSError:
        return False


def test_the_action_server_listens_on_this_machine_only(kb_engine, tmp_path):
    """`python -m bot actions` (what `make run` starts) is not reachable from the network by default;
    GUICHET_ACTION_HOST opens it to a chosen interface."""
    address = _this_machines_network_address()
    assert not address.startswith("127."), address  # a machine with a network interface
    processes = Processes(tmp_path)
    try:
        env = base_env(GUICHET_DB_URL=str(kb_engine.url))
        closed, opened = free_port(), free_port()
        first = processes.actions("actions-default", closed, env)
        second = processes.actions("actions-opened", opened, {**env, "GUICHET_ACTION_HOST": address})
        wait_until(f"http://127.0.0.1:{closed}/health", 120, first, processes.log("actions-default"))
        wait_until(f"http://{address}:{opened}/health", 120, second, processes.log("actions-opened"))
        assert _answers("127.0.0.1", closed) and not _answers(address, closed)
        assert _answers(address, opened) and not _answers("127.0.0.1", opened)
    finally:
        processes.stop()


def test_rasa_api_is_off_while_pages_rest_and_socketio_work(site):
    assert answer_of(say(site, "acces-1", CARTE_GRISE))["operator"] == "france_titres"
    for method, path, body in API_PROBES:
        status, _, _ = call(site, method, path, body)
        assert status in (404, 405), (method, path, status)
    for page in ("/chat", "/borne", "/conseiller"):
        assert call(site, "GET", page)[0] == 200, page
    # Nothing changed: the model still answers and the conversation holds no injected event.
    assert answer_of(say(site, "acces-1", CARTE_GRISE))["operator"] == "france_titres"
    [turn] = asyncio.run(socket_turns(site, [CARTE_GRISE], channel="chat"))
    assert turn[-1]["custom"]["operator"] == "france_titres" and turn[-1]["custom"]["audience"] == "public"


# -- 2. CORS: the listed site only -------------------------------------------------------------------


def test_answers_are_readable_by_a_listed_site_only(site):
    body = {"sender": "acces-cors", "message": CARTE_GRISE}
    status, headers, _ = call(site, "POST", "/webhooks/rest/webhook", body, {"Origin": LISTED})
    assert status == 200 and headers.get("access-control-allow-origin") == LISTED
    for origin in ("https://site-malveillant.example", "null", LISTED + ".example.com", "http://www.mairie-exemple.fr"):
        status, headers, _ = call(site, "POST", "/webhooks/rest/webhook", body, {"Origin": origin})
        assert "access-control-allow-origin" not in headers, origin  # the browser keeps the answer from the page
    # Preflight of a JSON request (what a page's fetch() sends first)
    preflight = {"Origin": "https://site-malveillant.example", "Access-Control-Request-Method": "POST",
                 "Access-Control-Request-Headers": "content-type"}
    assert "access-control-allow-origin" not in call(site, "OPTIONS", "/webhooks/rest/webhook", None, preflight)[1]
    assert call(site, "OPTIONS", "/webhooks/rest/webhook", None, {**preflight, "Origin": LISTED})[1].get(
        "access-control-allow-origin") == LISTED
    # The web chat may be framed by Guichet and the listed site, by no one else.
    csp = call(site, "GET", "/chat")[1]["content-security-policy"]
    assert f"frame-ancestors 'self' {LISTED}" in csp and "*" not in csp
    assert "frame-ancestors 'self'" in call(site, "GET", "/conseiller")[1]["content-security-policy"]


def test_socketio_refuses_other_sites(site):
    handshake = "/socket.io/?EIO=4&transport=polling"
    assert call(site, "GET", handshake, None, {"Origin": "https://site-malveillant.example"})[0] == 400
    assert call(site, "GET", handshake, None, {"Origin": LISTED})[0] == 200
    assert call(site, "GET", handshake, None, {"Origin": site["base"]})[0] == 200  # Guichet's own pages


def test_outside_opening_hours_a_callback_is_offered_not_the_queue(site):
    # No GUICHET_OPENING_HOURS on this server: no counsellor is promised, the person may leave a callback.
    async def ask():
        import socketio

        client = socketio.AsyncClient(reconnection=False)
        replies, confirmed = asyncio.Queue(), asyncio.Event()
        client.on("bot_uttered", replies.put_nowait)
        client.on("session_confirm", lambda _id: confirmed.set())
        await client.connect(site["base"], headers={"Origin": site["base"]}, auth={"channel": "borne"},
                             transports=["polling"], socketio_path="/socket.io", wait_timeout=30)
        try:
            await client.emit("session_request", {"session_id": None})
            await asyncio.wait_for(confirmed.wait(), 30)
            await client.emit("user_uttered", {"message": "/demander_conseiller"})
            while True:
                reply = await asyncio.wait_for(replies.get(), 120)
                if (reply.get("custom") or {}).get("type") == "handoff":
                    return reply
        finally:
            await client.eio.disconnect(abort=True)

    reply = asyncio.run(ask())
    assert reply["custom"] == {"type": "handoff", "state": "closed", "opens": None, "callback": True}
    assert reply["text"].startswith("Les conseillers France services ne sont pas disponibles en ce moment.")
    assert "laissez un numéro de téléphone ou une adresse électronique" in reply["text"]


# -- 3. Counsellor access: generated code, agent claims, sessions, login limit ------------------------


def test_first_start_generated_a_strong_private_code_and_said_where(site):
    path = site["code_file"]
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    code = path.read_text().strip()
    assert len(code) >= 20
    log = site["processes"].log("rasa").read_text(errors="replace")
    assert f"code d'accès dans {path} (créé à l'instant" in log and code not in log


def test_rest_callers_claiming_the_agent_audience_are_public_without_the_code(site):
    assert answer_of(say(site, "acces-agent-1", CARTE_GRISE, audience="agent"))["audience"] == "public"
    assert answer_of(say(site, "acces-agent-2", CARTE_GRISE, audience="agent", agent_token="devine"))["audience"] == "public"
    code = site["code_file"].read_text().strip()
    assert answer_of(say(site, "acces-agent-3", CARTE_GRISE, audience="agent", agent_token=code))["audience"] == "agent"


def test_console_is_closed_without_a_session(site):
    assert call(site, "GET", "/api/conseiller/session")[2] == {"counsellor": False, "code_required": True}
    assert call(site, "GET", "/api/recherche?q=carte+grise")[0] == 401
    assert call(site, "GET", "/api/bilan")[0] == 401
    [turn] = asyncio.run(socket_turns(site, [CARTE_GRISE]))  # the console's socket without a session
    assert turn[-1]["custom"]["audience"] == "public"


def test_logout_ends_the_session_on_the_server(site):
    code = site["code_file"].read_text().strip()
    status, body, cookie = login(site, code)
    assert status == 200 and body["counsellor"] and cookie
    assert call(site, "GET", "/api/recherche?q=carte+grise", None, {"Cookie": cookie})[0] == 200

    def logout():
        assert call(site, "DELETE", "/api/conseiller/session", None, {"Cookie": cookie})[0] == 200

    before, after = asyncio.run(socket_turns(site, [CARTE_GRISE, logout, CARTE_GRISE], cookie=cookie))
    assert before[-1]["custom"]["audience"] == "agent"
    assert after[-1]["custom"] == {"type": "session_ended"} and "saisissez de nouveau le code" in after[-1]["text"]
    # The cookie, replayed after the logout, opens nothing any more.
    assert call(site, "GET", "/api/recherche?q=carte+grise", None, {"Cookie": cookie})[0] == 401
    assert call(site, "GET", "/api/conseiller/session", None, {"Cookie": cookie})[2]["counsellor"] is False


def test_sessions_expire(site):
    code = site["code_file"].read_text().strip()
    started = time.time()
    status, _, cookie = login(site, code)
    assert status == 200
    assert call(site, "GET", "/api/recherche?q=carte+grise", None, {"Cookie": cookie})[0] == 200
    time.sleep(max(0.0, SESSION_S + 1 - (time.time() - started)))
    assert call(site, "GET", "/api/recherche?q=carte+grise", None, {"Cookie": cookie})[0] == 401


def test_five_wrong_codes_block_the_address_for_15_minutes(site):
    # Last test of the module: it blocks 127.0.0.1 on this server.
    code = site["code_file"].read_text().strip()
    statuses = []
    for attempt in range(5):
        status, body, _ = login(site, f"mauvais-code-{attempt}")
        statuses.append(status)
    assert statuses == [403, 403, 403, 403, 429]
    status, headers, body = call(site, "POST", "/api/conseiller/session", {"code": code})
    assert status == 429 and int(headers["retry-after"]) > 14 * 60  # even the right code, now
    assert body["error"].endswith("Réessayez dans 15 minutes.") and "Trop de codes incorrects" in body["error"]
    # A forwarded address is not trusted unless the server is told to (SANIC_PROXIES_COUNT…)
    assert call(site, "POST", "/api/conseiller/session", {"code": code}, {"X-Forwarded-For": "10.1.2.3"})[0] == 429
