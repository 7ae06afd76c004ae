"""Several requests in one message: scored per request (bot.multi through bot.conversation.Guichet).

The set is a YAML list (or `{cases: [...]}`) of
    {id, voice, text, facts, requests: [{operator, category, what}]}
Each message goes through `Guichet.detect_requests` (in-process, on the real knowledge base built from
knowledge/); a message where fewer than two requests are found counts as one request, the first
reading of the likeliest topic of the whole message (what the single-request path would answer).
Predicted requests are matched to expected ones by operator (same category preferred, then the most
words shared between `what` and the démarche's title), each at most once.

Reported: request recall (expected requests found), precision (found requests that were expected),
category accuracy of the matched requests (first reading), urgent requests found, and cases whose
urgent requests all come first; per voice as well. With `--singles tests/nlu_heldout.yml`, also the
rate of single-request messages wrongly split into several.

    .venv/bin/python bench/multi.py bench/challenge/multi.yml [--singles tests/nlu_heldout.yml] [--out var/multi.json]
"""
from __future__ import annotations

import argparse
import json
import sys
import tempfile
from collections import defaultdict
from pathlib import Path
from typing import Dict, List, Optional, Sequence

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import yaml  # noqa: E402

from bot.text import terms  # noqa: E402

TARGETS = {"recall": 0.9, "precision": 0.9, "urgent_found": 1.0, "urgent_first": 1.0}


def load_cases(path: Path) -> List[dict]:
    data = yaml.safe_load(Path(path).read_text(encoding="utf-8"))
    cases = (data.get("cases") or data.get("messages")) if isinstance(data, dict) else data
    for case in cases:
        if not case.get("text") or not isinstance(case.get("requests"), list):
            raise ValueError(f"cas invalide : {case.get('id')}")
    return cases


def predict(guichet, text: str) -> List[dict]:
    """The requests Guichet finds in `text`, in the order it would work through them. (A case's
    `facts` are the answers the person would give if asked: a first reading knows none of them.)"""
    requests = guichet.detect_requests(text)
    if requests:
        return [{"topic": r.topic, "operator": r.operator, "category": r.category, "title": r.title or r.topic,
                 "urgent": r.urgent} for r in requests]
    ranking = guichet.multi.rank(text) if guichet.multi else []
    if not ranking:
        return []
    from bot.multi import Request

    request = Request(ranking[0][0], text, ranking[0][1])
    guichet.multi._first_reading(request, guichet.multi.shared_facts(text))
    return [{"topic": request.topic, "operator": request.operator, "category": request.category,
             "title": request.title or request.topic, "urgent": request.urgent}]


def match(expected: Sequence[dict], predicted: Sequence[dict]) -> Dict[int, int]:
    """expected index -> predicted index: same operator, then same category, then shared words.

    Two passes: first the pairs of the same operator and category, then the rest by operator — so that
    an earlier expected request of another category never takes the predicted request that matches a
    later one exactly (an urgent request found, credited to a niveau 1 request of its organisation)."""
    pairs: Dict[int, int] = {}
    used = set()
    for same_category in (True, False):
        for i, want in enumerate(expected):
            if i in pairs:
                continue
            options = [j for j, got in enumerate(predicted) if j not in used and got.get("operator") == want.get("operator")
                       and (not same_category or got.get("category") == want.get("category"))]
            if not options:
                continue
            want_words = set(terms(str(want.get("what") or "")))

            def score(j: int):
                return len(want_words & set(terms(str(predicted[j].get("title"))))), -j

            best = max(options, key=score)
            pairs[i] = best
            used.add(best)
    return pairs


def score_case(case: dict, predicted: List[dict]) -> dict:
    expected = case["requests"]
    pairs = match(expected, predicted)
    urgent_expected = [i for i, r in enumerate(expected) if r.get("category") == "urgent"]
    urgent_found = [i for i in urgent_expected if i in pairs]
    positions = sorted(pairs[i] for i in urgent_found)
    urgent_first = bool(urgent_expected) and len(urgent_found) == len(urgent_expected) and positions == list(
        range(len(positions)))
    return {
        "id": case.get("id"),
        "voice": case.get("voice"),
        "expected": len(expected),
        "predicted": len(predicted),
        "matched": len(pairs),
        "category_right": sum(1 for i, j in pairs.items() if predicted[j].get("category") == expected[i].get("category")),
        "urgent_expected": len(urgent_expected),
        "urgent_found": len(urgent_found),
        "has_urgent": bool(urgent_expected),
        "urgent_first": urgent_first,
        "found": [{"operator": p.get("operator"), "category": p.get("category"), "title": p.get("title")} for p in predicted],
        "missed": [expected[i].get("what") for i in range(len(expected)) if i not in pairs],
    }


def summarise(rows: List[dict]) -> Dict[str, float]:
    expected = sum(r["expected"] for r in rows)
    predicted = sum(r["predicted"] for r in rows)
    matched = sum(r["matched"] for r in rows)
    urgent_expected = sum(r["urgent_expected"] for r in rows)
    with_urgent = [r for r in rows if r["has_urgent"]]
    return {
        "cases": len(rows),
        "requests": expected,
        "recall": round(matched / expected, 3) if expected else 0.0,
        "precision": round(matched / predicted, 3) if predicted else 0.0,
        "category": round(sum(r["category_right"] for r in rows) / matched, 3) if matched else 0.0,
        "urgent_found": round(sum(r["urgent_found"] for r in rows) / urgent_expected, 3) if urgent_expected else 1.0,
        "urgent_first": round(sum(r["urgent_first"] for r in with_urgent) / len(with_urgent), 3) if with_urgent else 1.0,
        "exact_count": round(sum(r["predicted"] == r["expected"] for r in rows) / len(rows), 3) if rows else 0.0,
    }


def evaluate(guichet, cases: List[dict]) -> dict:
    rows = [score_case(case, predict(guichet, case["text"])) for case in cases]
    by_voice: Dict[str, List[dict]] = defaultdict(list)
    for row in rows:
        by_voice[str(row["voice"] or "?")].append(row)
    return {"overall": summarise(rows), "by_voice": {v: summarise(r) for v, r in sorted(by_voice.items())},
            "cases": rows}


def false_splits(guichet, path: Path) -> dict:
    """Single-request messages (tests/nlu_heldout.yml format, or a challenge set of single requests:
    bench/challenge/dev.yml) wrongly read as several requests."""
    data = yaml.safe_load(Path(path).read_text(encoding="utf-8"))
    cases = (data.get("cases") or data.get("messages") or data.get("conversations")) if isinstance(data, dict) else data
    split = [c["text"] for c in cases if len(guichet.detect_requests(c["text"])) >= 2]
    return {"messages": len(cases), "split": len(split), "rate": round(len(split) / len(cases), 3) if cases else 0.0,
            "examples": split}


def make_guichet():
    """Guichet on a knowledge base built from knowledge/ in a temporary SQLite file."""
    from bot import services
    from bot.config import get_settings
    from bot.conversation import Guichet
    from bot.db import make_engine, make_session_factory
    from bot.knowledge.build import build
    from bot.knowledge.loader import load_knowledge
    from bot.knowledge.repository import KnowledgeRepository

    engine = make_engine(f"sqlite:///{tempfile.mkdtemp(prefix='guichet-multi-')}/kb.db")
    build(load_knowledge(get_settings().knowledge_dir), engine)
    repo = KnowledgeRepository(make_session_factory(engine))
    return Guichet(repo, signals=services.signals(), topic_classifier=lambda: services.topic_classifier(repo))


def table(report: dict) -> str:
    lines = ["| | cas | demandes | rappel | précision | catégorie | urgentes trouvées | urgentes en premier |",
             "|---|---|---|---|---|---|---|---|"]
    rows = [("ensemble", report["overall"])] + list(report["by_voice"].items())
    for name, s in rows:
        lines.append(f"| {name} | {s['cases']} | {s['requests']} | {s['recall']:.3f} | {s['precision']:.3f} | "
                     f"{s['category']:.3f} | {s['urgent_found']:.3f} | {s['urgent_first']:.3f} |")
    return "\n".join(lines)


def main(argv: Optional[List[str]] = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("set", type=Path)
    parser.add_argument("--singles", type=Path, help="single-request messages (tests/nlu_heldout.yml or a challenge set)")
    parser.add_argument("--out", type=Path)
    parser.add_argument("--details", action="store_true", help="print each case")
    args = parser.parse_args(argv)
    guichet = make_guichet()
    report = evaluate(guichet, load_cases(args.set))
    if args.singles:
        report["false_splits"] = false_splits(guichet, args.singles)
    print(table(report))
    if args.singles:
        fs = report["false_splits"]
        print(f"\nMessages à une seule demande lus comme plusieurs : {fs['split']} / {fs['messages']} ({fs['rate']:.3f})")
    if args.details:
        for row in report["cases"]:
            print(f"- {row['id']}: {row['matched']}/{row['expected']} trouvées, {row['predicted']} proposées; "
                  f"manquées {row['missed']}; {[f['title'] for f in row['found']]}")
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps(report, ensure_ascii=False, indent=2), encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
