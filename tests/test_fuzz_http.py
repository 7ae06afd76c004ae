"""Fuzz: 10,000 generated requests to the REST webhook of a real Rasa server (bot/channels.py).

Random unicode (lone surrogates, astral planes, combining and bidi marks), emoji, huge strings,
invalid UTF-8 bodies, HTML/JS, SQL fragments, button payloads with broken JSON, random JSON types
for sender/message/metadata, whitespace, control characters, numbers, deep nesting. Deterministic
(seed below). Never a 5xx; a 200 is always a non-empty JSON list of messages, an error a JSON object
with `error`; the action server never fails; the server still answers normally at the end.
"""
from __future__ import annotations

import json
import os
import random
import string
import threading
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from typing import List, Optional, Tuple

import pytest

from servers import Processes, base_env, model_copy, post, start_stacks

SEED = 20261125
N = int(os.environ.get("GUICHET_FUZZ_N", "10000"))
WORKERS = 8
STACKS = ("-1", "-2")  # two independent action + Rasa pairs (one SQLite tracker each): one per core

WORDS = ("je dois refaire ma carte grise caf rsa ne me verse plus depuis trois mois retraite carsat impots "
         "declaration ameli carte vitale permis de conduire pole emploi france travail msa logement apl "
         "allocations familiales prime activite urgence aide conseiller menu oui non merci bonjour "
         "je ne sais pas peut-etre arret maladie invalidite pension passeport titre de sejour").split()
HTML = ["<script>alert('x')</script>", "<img src=x onerror=alert(1)>", "javascript:alert(document.cookie)",
        "<iframe src='//evil'></iframe>", "</textarea><svg/onload=alert(1)>", "{{7*7}}", "${7*7}", "<%= 7*7 %>",
        "<a href=\"#\" onclick=\"fetch('/conversations')\">carte grise</a>", "&lt;b&gt;&#x27;&amp;"]
SQL = ["'; DROP TABLE events; --", "\" OR \"1\"=\"1", "1; SELECT pg_sleep(10); --", "' UNION SELECT * FROM events --",
       "carte grise' OR 1=1 --", "admin'--", "'); DELETE FROM events WHERE ('1'='1", "%' AND 1=0 UNION SELECT sqlite_version() --",
       "\\x00\\'", "`rm -rf /`", "$(reboot)", "../../etc/passwd", "%00%0a%0d"]
PII = ["1 85 05 78 006 084 36", "FR76 3000 6000 0112 3456 7890 189", "06 12 34 56 78", "+33 6 12 34 56 78",
       "jean.dupont@example.org", "né le 12/03/1985", "12.03.85", "2A 123 456"]
PAYLOADS = ["/affirm", "/deny", "/je_ne_sais_pas", "/menu", "/choisir", "/greet", "/nlu_fallback", "/restart",
            "/session_start", "/action_listen", "/inexistant", "/", "//", "/choisir{", "/choisir{}", "/menu{\"operator\": \"caf\"}"]
ENTITY_VALUES = [None, 0, -1, 1e308, True, [], {}, ["caf"], {"a": 1}, "", "caf", "inconnu", "x" * 300,
                 "caf.logement_demarches", "caf.inexistant", "../..", "😀", "\u0000"]


def rand_char(rng: random.Random) -> str:
    ranges = [(0x20, 0x7E), (0xA0, 0xFF), (0x100, 0x24F), (0x300, 0x36F), (0x590, 0x6FF), (0x900, 0x97F),
              (0x2000, 0x206F), (0x3040, 0x30FF), (0x4E00, 0x9FFF), (0xD800, 0xDFFF), (0xE000, 0xF8FF),
              (0xFE00, 0xFFFF), (0x1F300, 0x1FAFF), (0x10000, 0x10FFFF), (0x0, 0x1F), (0x7F, 0x9F)]
    low, high = rng.choice(ranges)
    return chr(rng.randint(low, high))


def rand_unicode(rng: random.Random, n: Optional[int] = None) -> str:
    return "".join(rand_char(rng) for _ in range(n if n is not None else rng.randint(0, 60)))


def emoji(rng: random.Random) -> str:
    pool = ["😀", "🙏", "👍🏽", "👨‍👩‍👧‍👦", "🏳️‍🌈", "🇫🇷", "❤️", "🤷‍♀️", "\u200d", "\ufe0f", "🆘", "📄"]
    return "".join(rng.choice(pool) for _ in range(rng.randint(1, 12)))


def french(rng: random.Random) -> str:
    return " ".join(rng.choice(WORDS) for _ in range(rng.randint(1, 14)))


def whitespace(rng: random.Random) -> str:
    return "".join(rng.choice([" ", "\t", "\n", "\r", "\u00a0", "\u2028", "\u2029", "\u3000", "\u200b", "\ufeff", "\x0b", "\x0c"])
                   for _ in range(rng.randint(0, 40)))


def control(rng: random.Random) -> str:
    return "".join(chr(rng.choice(list(range(0, 32)) + [127] + list(range(0x80, 0xA0)))) for _ in range(rng.randint(1, 30)))


def number(rng: random.Random) -> str:
    return rng.choice([str(rng.randint(-10**12, 10**12)), repr(rng.uniform(-1e6, 1e6)), "0", "-0", "1e999", "NaN",
                       "0x1F", "١٢٣", "½", str(10**200), "3,14", "1 000 000 €"])


def payload(rng: random.Random) -> str:
    base = rng.choice(PAYLOADS)
    roll = rng.random()
    if roll < 0.3:
        entity = rng.choice(["demarche", "operator", "topic", "pending_question", "audience", rng.choice(WORDS)])
        return f"/{rng.choice(['choisir', 'menu', 'affirm', 'deny'])}{json.dumps({entity: rng.choice(ENTITY_VALUES)})}"
    if roll < 0.45:
        return base + rand_unicode(rng, rng.randint(1, 20))
    if roll < 0.55:
        return "/choisir{\"demarche\": " + rng.choice(["", "\"", "[", "{", "null", "\"caf.logement_demarches\"}@0.3"])
    return base


def mixed(rng: random.Random) -> str:
    parts = [french, rand_unicode, emoji, lambda r: r.choice(HTML), lambda r: r.choice(SQL), lambda r: r.choice(PII),
             whitespace, control, number]
    return "".join(rng.choice(parts)(rng) for _ in range(rng.randint(2, 6)))


def huge(rng: random.Random) -> str:
    size = rng.choice([1_001, 5_000, 50_000, 300_000, 1_000_000, 1_900_000])
    unit = rng.choice(["a", "é", "😀", "carte grise ", " ", "\x00", "<b>", "9"])
    return (unit * (size // len(unit) + 1))[:size]


def foreign(rng: random.Random) -> str:
    return rng.choice(["Hello, I need help with my tax return please", "how do I get my pension, can you help me",
                       "Hola, necesito ayuda con mi pensión por favor", "quiero saber como puedo pedir la ayuda",
                       "مرحبا أحتاج مساعدة في ملف التقاعد", "السلام عليكم أريد بطاقة"]) + " " + rng.choice(["", emoji(rng), number(rng)])


# Weights: the input layer is what is fuzzed, so most inputs take the paths answered without the NLU
# (empty, no words, other language, bad JSON); about a quarter go through the NLU and the policies
# (~20 messages/s per Rasa process: 10,000 NLU turns would take 10 minutes on 2 cores).
TEXTS = [(emoji, 12), (whitespace, 10), (control, 10), (number, 10), (lambda r: "", 2), (foreign, 8),
         (rand_unicode, 4), (french, 3), (lambda r: r.choice(HTML), 3), (lambda r: r.choice(SQL), 3), (payload, 4),
         (mixed, 3), (lambda r: r.choice(PII) + " " + french(r), 2), (lambda r: r.choice(WORDS).upper() * r.randint(1, 5), 1)]


def rand_json(rng: random.Random, depth: int = 0):
    kinds = ["null", "bool", "int", "float", "str", "unicode"] + (["list", "dict"] if depth < 3 else [])
    kind = rng.choice(kinds)
    if kind == "null":
        return None
    if kind == "bool":
        return rng.random() < 0.5
    if kind == "int":
        return rng.choice([0, -1, 1, 2**31, -(2**63), 10**30, rng.randint(-1000, 1000)])
    if kind == "float":
        return rng.choice([0.0, -0.0, 1.5, 1e308, -1e-308, float("inf"), float("nan")])
    if kind == "str":
        return rng.choice(["", "agent", "public", "borne", "chat", "conseiller", "caf", " ", "default", french(rng)])
    if kind == "unicode":
        return rand_unicode(rng)
    if kind == "list":
        return [rand_json(rng, depth + 1) for _ in range(rng.randint(0, 4))]
    keys = ["audience", "agent_token", "channel", "structure", "sender", "message", "text", rand_unicode(rng, 5)]
    return {rng.choice(keys): rand_json(rng, depth + 1) for _ in range(rng.randint(0, 5))}


def metadata(rng: random.Random):
    roll = rng.random()
    if roll < 0.4:
        return {"audience": "public"}
    if roll < 0.7:
        return {"audience": rng.choice(["agent", "public", "admin", None, 1]), "agent_token": rand_json(rng),
                "channel": rng.choice(["borne", "chat", "conseiller", "tv", None, ["chat"], {"x": 1}, 3]),
                "structure": rng.choice(["dole", "", " ", None, 12, rand_unicode(rng), "x" * 500])}
    return rand_json(rng)


def sender(rng: random.Random, i: int):
    roll = rng.random()
    if roll < 0.75:
        return f"fuzz-{i % 1000}"
    if roll < 0.85:
        return rand_unicode(rng, rng.randint(0, 200))
    return rand_json(rng)


def encode(rng: random.Random, body) -> bytes:
    roll = rng.random()
    if roll < 0.5:
        return json.dumps(body).encode()  # ASCII, \uXXXX escapes (lone surrogates too)
    text = json.dumps(body, ensure_ascii=False)
    if roll < 0.9:
        return text.encode("utf-8", "surrogatepass")  # lone surrogates become invalid (CESU-8) bytes
    return text.encode("utf-16", "surrogatepass") if roll < 0.95 else text.encode("latin-1", "replace")


def raw(rng: random.Random) -> bytes:
    choices = [
        lambda: bytes(rng.randint(0, 255) for _ in range(rng.randint(0, 300))),
        lambda: b'{"sender": "fuzz-raw", "message": "carte grise ' + bytes(rng.randint(0x80, 0xFF) for _ in range(5)) + b'"}',
        lambda: b'{"sender": "fuzz-raw", "message": "\xc3\x28\xa0\xa1\xe2\x28\xa1\xf0\x28\x8c\xbc\xed\xa0\x80"}',
        lambda: b'\xef\xbb\xbf{"sender": "fuzz-bom", "message": "carte grise"}',
        lambda: json.dumps({"sender": "fuzz-raw", "message": "x"}).encode()[: rng.randint(0, 30)],
        lambda: b"[" * rng.choice([100, 5_000, 100_000]) + b"]" * rng.choice([0, 100]),
        lambda: b'{"message": ' * rng.choice([50, 3_000, 50_000]) + b'"x"' + b"}" * rng.choice([0, 50]),
        lambda: b'{"sender": "fuzz-raw", "message": "a", "message": "b", "message": 1}',
        lambda: b'{"sender": "fuzz-raw", "message": ' + b"9" * rng.choice([10, 5_000, 100_000]) + b"}",
        lambda: b'{"sender": "fuzz-raw", "message": 1e99999, "metadata": NaN}',
        lambda: rng.choice([b"", b"null", b"true", b"[]", b"\"carte grise\"", b"42", b"{}", b"{\"message\": null}", b" " * 10]),
        lambda: b"not json at all " + french(rng).encode(),
        lambda: ("\x00" * rng.randint(1, 50)).encode(),
    ]
    return rng.choice(choices)()


def case(i: int) -> Tuple[str, bytes]:
    rng = random.Random(SEED * 100_003 + i)
    roll = rng.random()
    if roll < 0.003:
        kind, message = "huge", huge(rng)
        return kind, json.dumps({"sender": f"fuzz-{i % 1000}", "message": message}, ensure_ascii=rng.random() < 0.5).encode()
    if roll < 0.20:
        return "raw", raw(rng)
    if roll < 0.29:
        body = {key: rand_json(rng) for key in ("sender", "message", "metadata") if rng.random() < 0.8}
        if rng.random() < 0.3:
            body[rng.choice(["extra", "", rand_unicode(rng, 3)])] = rand_json(rng)
        return "shape", encode(rng, body)
    generator = rng.choices([g for g, _ in TEXTS], weights=[w for _, w in TEXTS])[0]
    body = {"sender": sender(rng, i), "message": generator(rng), "metadata": metadata(rng)}
    return "text", encode(rng, body)


def check(status: int, reply) -> Optional[str]:
    """None if the answer keeps the contract, else what is wrong."""
    if status >= 500:
        return f"HTTP {status}"
    if isinstance(reply, bytes):
        return f"HTTP {status}, not JSON: {reply[:200]!r}"
    if status == 200:
        if not isinstance(reply, list) or not reply:
            return f"200 but not a non-empty list: {reply!r:.200}"
        for message in reply:
            if not isinstance(message, dict) or "recipient_id" not in message or not ({"text", "custom"} & set(message)):
                return f"200 with a malformed message: {message!r:.200}"
        return None
    if status in (400, 413):
        return None if isinstance(reply, dict) and isinstance(reply.get("error"), str) else f"{status} without error: {reply!r:.200}"
    return f"unexpected HTTP {status}: {reply!r:.200}"


@pytest.fixture(scope="module")
def server(kb_engine, tmp_path_factory):
    logs = tmp_path_factory.mktemp("fuzz")
    processes = Processes(logs)
    try:
        env = base_env(GUICHET_DB_URL=str(kb_engine.url), GUICHET_AGENT_TOKEN="jeton-fuzz")
        per_stack = {name: {"GUICHET_TRACKER_DB": str(logs / f"tracker{name}.db")} for name in STACKS}
        yield start_stacks(processes, logs, model_copy(logs), env, STACKS, per_stack), processes
    finally:
        processes.stop()


def test_fuzzed_requests_never_break_the_webhook(server):
    bases, processes = server
    urls = [f"{base}/webhooks/rest/webhook" for base in bases]
    cases = [case(i) for i in range(N)]
    assert len({body for _kind, body in cases}) > 0.8 * N  # really generated, not repeated
    failures: List[str] = []
    kinds, statuses, unavailable, seconds = Counter(kind for kind, _ in cases), Counter(), Counter(), Counter()
    lock = threading.Lock()
    started = time.time()

    def run(i: int) -> None:
        kind, body = cases[i]
        t0 = time.time()
        try:
            status, reply = post(urls[i % len(urls)], body, timeout=120)
        except Exception as exc:  # noqa: BLE001 - a connection error is a failure too
            status, reply = -1, None
            problem = f"{exc.__class__.__name__}: {exc}"
        else:
            problem = check(status, reply)
        with lock:
            seconds[kind] += time.time() - t0
            statuses[status] += 1
            if isinstance(reply, list) and any(isinstance(m, dict) and (m.get("custom") or {}).get("type") == "unavailable" for m in reply):
                unavailable[kind] += 1
                if b'"message": "/' not in body:  # "/restart", "/session_start"…: Rasa's own intents, no reply
                    problem = problem or "unavailable (Rasa produced nothing)"
            if problem:
                failures.append(f"case {i} ({kind}): {problem} — body {body[:160]!r}")

    with ThreadPoolExecutor(max_workers=WORKERS) as pool:
        list(pool.map(run, range(N)))
    elapsed = time.time() - started
    print(f"\n{N} requests in {elapsed:.0f} s ({N / elapsed:.0f}/s); kinds {dict(kinds)}; statuses {dict(statuses)}; "
          f"'unavailable' answers to button payloads {dict(unavailable)}; "
          f"mean latency by kind {({k: round(seconds[k] / kinds[k], 3) for k in kinds})}")
    (processes.logs / "failures.txt").write_text("\n".join(failures))
    assert not failures, f"{len(failures)} failure(s):\n" + "\n".join(failures[:30])
    assert statuses[200] > 0.7 * N and statuses[400] > 0

    for name, url in zip(STACKS, urls):
        rasa_log = processes.log(f"rasa{name}").read_text(errors="replace")
        actions_log = processes.log(f"actions{name}").read_text(errors="replace")
        assert "Traceback" not in rasa_log, rasa_log[rasa_log.index("Traceback") - 500:][:4000]
        assert "Traceback" not in actions_log, actions_log[actions_log.index("Traceback") - 500:][:4000]
        status, reply = post(url, {"sender": "fuzz-final", "message": "je dois refaire ma carte grise"})
        assert status == 200
        answer = [m["custom"] for m in reply if m.get("custom", {}).get("type") == "answer"]
        assert answer and answer[0]["operator"] == "france_titres"


def test_conversation_ids_are_storable():
    """Found by this fuzz: a sender with a lone surrogate made Rasa's SQL tracker store exit the server
    (UnicodeEncodeError caught as ValueError → sys.exit); NUL is refused by PostgreSQL."""
    from bot.inputs import conversation_id

    assert conversation_id("abc-123") == "abc-123"
    assert conversation_id(None) == conversation_id("") == "default"
    assert conversation_id(42) == "42"
    assert conversation_id("a\ud83d\x00b") == "a\ufffd\ufffdb"
    assert conversation_id("😀" * 500) == "😀" * 120
    conversation_id({"x": "\udc00"}).encode("utf-8")
