"""End-to-end benchmark on the independent challenge sets (bench/challenge/*.yml).

The sets were written from the seed documents by writers who never saw data/nlu/, tests/ or any
result (see bench/challenge/README.md). Each conversation is driven over the REST contract
(docs/api.md) against real Rasa + action servers: the opening message is sent, every question the
bot asks is answered from the conversation's `facts` ("je ne sais pas" when the writer gave none),
alternately by button payload and in words; a list of démarches to choose from is answered by
picking, as a person reading the titles would, the option of the expected operator whose title shares
the most words with the message (else « Aucune de ces démarches » when offered, else the first one). Counsellor-voice
conversations are sent with the counsellor audience.

    .venv/bin/python bench/challenge.py bench/challenge/dev.yml [--out var/challenge-dev.json]
    .venv/bin/python bench/challenge.py bench/challenge/dev.yml --url http://127.0.0.1:5005 --token T

Without --url, servers are started on free ports with models/guichet.tar.gz (as the tests do).
"""
from __future__ import annotations

import argparse
import hashlib
import json
import sys
import tempfile
import time
from collections import Counter, defaultdict
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Dict, List, Optional

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import yaml  # noqa: E402

from bot.render import NONE_OF_THESE  # noqa: E402

ANSWER_BUTTON = {"oui": "/affirm", "non": "/deny", "inconnu": "/je_ne_sais_pas"}
ANSWER_WORDS = {
    "oui": ["oui", "oui c'est ça", "ben oui", "oui tout a fait"],
    "non": ["non", "non pas du tout", "nan", "non je crois pas"],
    "inconnu": ["je sais pas", "aucune idée", "je ne sais pas trop", "jsp"],
}
MAX_TURNS = 6
OUT_OF_SCOPE = "hors_champ"
BENCH_TOKEN = "bench-challenge-token"


def _variant(case_id: str, turn: int) -> int:
    return int(hashlib.sha256(f"{case_id}:{turn}".encode()).hexdigest(), 16)


def load_set(path: Path) -> List[dict]:
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    return data["conversations"] if isinstance(data, dict) else data


def agent_only_values() -> set:
    """Every contact value the knowledge marks `agent` (back-office lines, Administration+…)."""
    values = set()
    for path in (ROOT / "knowledge").rglob("*.yml"):
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        stack = [data]
        while stack:
            node = stack.pop()
            if isinstance(node, dict):
                if node.get("audience") == "agent" and isinstance(node.get("value"), str):
                    values.add(node["value"])
                stack.extend(node.values())
            elif isinstance(node, list):
                stack.extend(node)
    return values


class Driver:
    def __init__(self, url: str, token: str):
        self.url, self.token = url.rstrip("/"), token

    def send(self, sender: str, message: str, audience: str) -> List[dict]:
        from tests.servers import post

        metadata = {"audience": audience}
        if audience == "agent":
            metadata["agent_token"] = self.token
        status, body = post(f"{self.url}/webhooks/rest/webhook", {"sender": sender, "message": message, "metadata": metadata})
        if status != 200 or not isinstance(body, list):
            raise RuntimeError(f"HTTP {status}: {body!r}")
        return body

    def run(self, case: dict, run_id: str) -> dict:
        audience = "agent" if case.get("voice") == "counsellor" else "public"
        sender = f"challenge-{run_id}-{case['id']}"
        facts = case.get("facts") or {}
        replies = self.send(sender, case["text"], audience)
        transcript, questions, asked = [replies], 0, []
        first_numbers = _numbers(replies)
        several = any((r.get("custom") or {}).get("type") == "requests" for r in replies if isinstance(r, dict))
        outcome = None
        for turn in range(MAX_TURNS):
            custom = _last_custom(replies)
            kind = custom.get("type")
            if kind in ("answer", "out_of_scope"):
                outcome = custom
                break
            if kind == "question":
                questions += 1
                asked.append(custom["key"])
                value = str(facts.get(custom["key"], "inconnu"))
                value = value if value in ANSWER_BUTTON else "inconnu"
                pick = _variant(case["id"], turn)
                message = ANSWER_BUTTON[value] if pick % 2 == 0 else ANSWER_WORDS[value][pick // 2 % 4]
            elif kind == "choose":
                questions += 1
                asked.append("choose")
                chosen = pick_option(custom["options"], case, custom.get("none"))
                if chosen is None:
                    break
                message = '/choisir{"demarche": "%s"}' % chosen
            else:
                break
            replies = self.send(sender, message, audience)
            transcript.append(replies)
        return {"case": case, "audience": audience, "outcome": outcome, "questions": questions, "asked": asked,
                "several": several,
                "first_numbers": first_numbers, "transcript": transcript}


def pick_option(options: List[dict], case: dict, none: Optional[dict] = None) -> Optional[str]:
    """The option of the expected operator whose title shares the most words with the message; when no
    option is of that operator (or the request is out of scope), « Aucune de ces démarches » if offered,
    else the first option."""
    from bot.text import terms

    if not options:
        return None
    words = set(terms(case["text"]))
    wanted = [o for o in options if o["demarche"].startswith(f"{case.get('operator')}.")]
    if not wanted and none is not None:
        return NONE_OF_THESE
    wanted = wanted or options[:1]
    return max(wanted, key=lambda o: (len(words & set(terms(o["title"]))), -wanted.index(o)))["demarche"]


def _last_custom(replies: List[dict]) -> dict:
    """What the person has to act on: the last reply, except that when Guichet read several requests
    (a list, then « Nous verrons ensuite… ») the card or question of the first one is what answers
    the message."""
    customs = [r["custom"] for r in replies if isinstance(r.get("custom"), dict)]
    while len(customs) > 1 and customs[-1].get("type") in ("next_request", "requests"):
        customs.pop()
    return customs[-1] if customs else {}


def _numbers(replies: List[dict]) -> List[str]:
    return [n["value"] for r in replies if isinstance(r.get("custom"), dict)
            for n in r["custom"].get("emergency_numbers") or []]


def predicted(outcome: Optional[dict]):
    """(operator, category) of the final reply; hors_champ for an out-of-scope answer."""
    if outcome is None:
        return None, None
    if outcome["type"] == "out_of_scope":
        return None, OUT_OF_SCOPE
    return outcome.get("operator"), outcome.get("category")


def score(results: List[dict], agent_values: set) -> Dict[str, object]:
    n = len(results)
    c = Counter()
    errors = []
    c["conversations"] = n
    for r in results:
        case = r["case"]
        op, cat = predicted(r["outcome"])
        want_op, want_cat = case.get("operator"), case["category"]
        in_scope = want_cat != OUT_OF_SCOPE
        c["questions"] += r["questions"]
        c["several"] += bool(r.get("several"))
        c["category_ok"] += cat == want_cat
        if in_scope:
            c["in_scope"] += 1
            c["operator_ok"] += op == want_op
            c["false_rejection"] += cat == OUT_OF_SCOPE
        else:
            c["oos"] += 1
            c["oos_ok"] += cat == OUT_OF_SCOPE
        if want_cat == "urgent":
            c["urgent"] += 1
            c["urgent_ok"] += cat == "urgent"
            c["urgent_operator_ok"] += cat == "urgent" and op == want_op
        else:
            c["not_urgent"] += 1
            c["false_urgent"] += cat == "urgent"
        if want_cat == "niveau_2":
            c["n2"] += 1
            c["n2_ok"] += cat == "niveau_2"
        key = case.get("key_fact")
        if key and in_scope:
            text = " ".join(m.get("text") or "" for m in r["transcript"][-1])
            c["key_cases"] += 1
            c["key_ok"] += str(key).lower() in text.lower()
        if r["audience"] == "public":
            shown = " ".join(m.get("text") or "" for replies in r["transcript"] for m in replies)
            leaked = [v for v in agent_values if v in shown]
            c["agent_leaks"] += bool(leaked)
        if cat != want_cat or (in_scope and op != want_op):
            errors.append({"id": case["id"], "text": case["text"], "voice": case.get("voice"),
                           "expected": [want_op, want_cat], "got": [op, cat], "asked": r["asked"],
                           "demarche": (r["outcome"] or {}).get("demarche"), "several": bool(r.get("several"))})

    def ratio(a: str, b: str) -> str:
        return f"{c[a] / c[b]:.3f} ({c[a]}/{c[b]})" if c[b] else "—"

    return {
        "conversations": n,
        "operator": ratio("operator_ok", "in_scope"),
        "category": ratio("category_ok", "conversations"),
        "urgent_recall": ratio("urgent_ok", "urgent"),
        "urgent_with_operator": ratio("urgent_operator_ok", "urgent"),
        "false_urgent": ratio("false_urgent", "not_urgent"),
        "niveau_2_recall": ratio("n2_ok", "n2"),
        "out_of_scope_recall": ratio("oos_ok", "oos"),
        "false_rejections": ratio("false_rejection", "in_scope"),
        "questions_per_conversation": round(c["questions"] / max(n, 1), 2),
        # one request read as several (the writers wrote one request per conversation)
        "read_as_several_requests": ratio("several", "conversations"),
        "key_fact": ratio("key_ok", "key_cases"),
        "agent_only_contacts_on_public_answers": c["agent_leaks"],
        "errors": errors,
    }


def start_servers(workdir: Path):
    from tests.servers import Processes, base_env, model_copy, start_stacks

    processes = Processes(workdir)
    # the knowledge base is the one `make kb` builds (var/guichet.db)
    env = base_env(GUICHET_AGENT_TOKEN=BENCH_TOKEN, GUICHET_TRACKER_DB=str(workdir / "tracker.db"))
    try:
        urls = start_stacks(processes, workdir, model_copy(workdir), env)
    except Exception:
        processes.stop()
        raise
    return processes, urls[0]


def main(argv: Optional[List[str]] = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("sets", nargs="+", type=Path)
    parser.add_argument("--url", help="a running Rasa server (default: start one)")
    parser.add_argument("--token", default=BENCH_TOKEN, help="counsellor code of that server")
    parser.add_argument("--out", type=Path, help="JSON file for the figures and the errors")
    parser.add_argument("--workers", type=int, default=4)
    parser.add_argument("--only", nargs="*", help="these conversation ids only, with their transcripts")
    args = parser.parse_args(argv)

    processes = None
    workdir = Path(tempfile.mkdtemp(prefix="guichet-challenge-"))
    url = args.url
    if url is None:
        processes, url = start_servers(workdir)
    driver = Driver(url, args.token)
    run_id = f"{int(time.time())}"
    agent_values = agent_only_values()
    report = {}
    try:
        for path in args.sets:
            cases = load_set(path)
            if args.only:
                cases = [c for c in cases if c["id"] in args.only]
            started = time.time()
            with ThreadPoolExecutor(args.workers) as pool:
                results = list(pool.map(lambda case: driver.run(case, run_id), cases))
            for result in results if args.only else ():
                print(result["case"]["id"], result["case"]["text"], result["case"].get("facts"))
                for replies in result["transcript"]:
                    for reply in replies:
                        custom = reply.get("custom") or {}
                        print("   ", custom.get("type"), custom.get("key") or custom.get("demarche") or "", (reply.get("text") or "")[:90])
            figures = score(results, agent_values)
            figures["seconds"] = round(time.time() - started, 1)
            report[path.stem] = figures
            summary = {k: v for k, v in figures.items() if k != "errors"}
            print(f"== {path} ==")
            for key, value in summary.items():
                print(f"  {key}: {value}")
            by_kind = Counter((tuple(e["expected"][1:]), tuple(e["got"][1:])) for e in figures["errors"])
            print("  confusions (expected category -> got):", dict(by_kind.most_common(12)))
    finally:
        if processes is not None:
            processes.stop()
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps(report, ensure_ascii=False, indent=1), encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
