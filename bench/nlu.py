"""NLU + dialogue benchmark on the held-out set (tests/nlu_heldout.yml).

For each held-out case, the text is classified, then the conversation is simulated with the real
engine (bot.conversation.Guichet): each question the bot asks is answered from the case's
`answers` ("je ne sais pas" when the case does not say); a "choose" reply is answered by picking
the case's démarche when it is offered. Reported side by side for the trained Rasa model and a
TF-IDF + logistic-regression baseline trained on the same data/nlu/ examples in the same run:
top-1 démarche accuracy, operator and category accuracy after the dialogue, topic accuracy, mean
number of questions, fallback rate, parse latency.

    .venv/bin/python bench/nlu.py [--model models/guichet.tar.gz] [--out bench/results/nlu.json]
"""
from __future__ import annotations

import argparse
import asyncio
import json
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from statistics import mean
from typing import Callable, Dict, List, Optional, Sequence, Tuple

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import yaml  # noqa: E402

from bot.conversation import Guichet, Turn  # noqa: E402
from bot.db import make_engine, make_session_factory  # noqa: E402
from bot.knowledge.build import build  # noqa: E402
from bot.knowledge.loader import load_knowledge  # noqa: E402
from bot.knowledge.repository import KnowledgeRepository  # noqa: E402

ANSWER_INTENT = {"oui": "affirm", "non": "deny", "inconnu": "je_ne_sais_pas"}
Parse = Callable[[str], Tuple[str, float, List[Tuple[str, float]], list]]


@dataclass
class Result:
    name: str
    cases: int = 0
    demarche_ok: int = 0
    operator_ok: int = 0
    category_ok: int = 0
    topic_ok: int = 0
    with_demarche: int = 0  # cases whose expected answer is a row (operator and démarche known)
    routable: int = 0  # cases that expect an answer (every case but out_of_scope)
    out_of_scope: int = 0
    out_of_scope_ok: int = 0
    questions: List[int] = field(default_factory=list)
    fallbacks: int = 0
    latencies_ms: List[float] = field(default_factory=list)
    errors: List[dict] = field(default_factory=list)

    def table_row(self) -> Dict[str, float]:
        n = max(self.cases, 1)
        lat = sorted(self.latencies_ms) or [0.0]
        return {
            "cases": self.cases,
            "demarche_top1": round(100 * self.demarche_ok / max(self.with_demarche, 1), 1),
            "operator": round(100 * self.operator_ok / max(self.with_demarche, 1), 1),
            "category": round(100 * self.category_ok / max(self.routable, 1), 1),
            "topic": round(100 * self.topic_ok / max(self.routable, 1), 1),
            "out_of_scope_detected": round(100 * self.out_of_scope_ok / max(self.out_of_scope, 1), 1),
            "questions_per_case": round(mean(self.questions) if self.questions else 0.0, 2),
            "fallback_rate": round(100 * self.fallbacks / n, 1),
            "parse_ms_p50": round(lat[len(lat) // 2], 1),
            "parse_ms_p95": round(lat[min(len(lat) - 1, int(len(lat) * 0.95))], 1),
        }


def load_cases(path: Path) -> List[dict]:
    return yaml.safe_load(path.read_text(encoding="utf-8"))["cases"]


def simulate(guichet: Guichet, parse: Parse, case: dict, result: Result, repo: KnowledgeRepository) -> None:
    """Run one held-out case through parse + conversation; record what came out."""
    expected = repo.get(case["demarche"]) if case.get("demarche") else None
    started = time.perf_counter()
    intent, confidence, ranking, entities = parse(case["text"])
    result.latencies_ms.append(1000 * (time.perf_counter() - started))
    result.cases += 1
    slots: Dict[str, object] = {}
    questions = 0
    answer = None
    if intent == "nlu_fallback":
        result.fallbacks += 1
    turn = Turn(intent=intent, text=case["text"], confidence=confidence, ranking=ranking, entities=entities, slots=slots)
    if intent in guichet.topics or intent in ("urgence", "nlu_fallback", "out_of_scope"):
        out = guichet.handle(turn)
    else:
        out = None
    for _ in range(8):
        if out is None:
            break
        slots = {**slots, **out.slots}
        custom = next((r.custom for r in out.replies if r.custom), None) or {}
        kind = custom.get("type")
        if kind == "answer":
            answer = custom
            break
        if kind == "question":
            questions += 1
            value = (case.get("answers") or {}).get(custom["key"], "inconnu")
            out = guichet.handle(Turn(intent=ANSWER_INTENT[value], text=value, slots=slots))
            continue
        if kind == "choose" and expected is not None:
            ids = [o["demarche"] for o in custom["options"]]
            pick = next((i for i in ids if repo.get(i).topic == expected.topic), None)
            if pick is None:
                break
            entities = [{"entity": "demarche", "value": pick}]
            out = guichet.handle(Turn(intent="choisir", text=pick, entities=entities, slots=slots))
            continue
        break
    result.questions.append(questions)
    got_topic = slots.get("topic") if answer is None or answer.get("demarche") else "urgence"
    if case["topic"] == "out_of_scope":
        result.out_of_scope += 1
        ok = intent == "out_of_scope"
        result.out_of_scope_ok += ok
        if not ok:
            result.errors.append({"text": case["text"], "expected": "out_of_scope", "got": intent})
        return
    result.routable += 1
    result.with_demarche += expected is not None
    result.topic_ok += (intent == case["topic"]) or (case["topic"] == "urgence" and got_topic == "urgence")
    if answer is None:
        result.errors.append({"text": case["text"], "expected": case.get("demarche"), "got": intent, "no_answer": True})
        return
    if expected is None:  # distress without operator: an urgent answer is right
        result.category_ok += answer["category"] == "urgent"
        return
    result.demarche_ok += answer["demarche"] == expected.id
    result.operator_ok += answer["operator"] == expected.operator
    result.category_ok += answer["category"] == expected.category
    if answer["demarche"] != expected.id:
        result.errors.append(
            {"text": case["text"], "expected": expected.id, "got": answer["demarche"], "intent": intent, "answers": case.get("answers")}
        )


def quiet_rasa() -> None:
    import logging

    logging.getLogger().setLevel(logging.WARNING)
    try:
        from rasa.utils.log_utils import configure_structlog

        configure_structlog(logging.WARNING)
    except ImportError:  # pragma: no cover - older Rasa
        pass


def rasa_parser(model: Path) -> Parse:
    from rasa.core.agent import Agent

    quiet_rasa()
    agent = Agent.load(str(model))
    loop = asyncio.new_event_loop()

    def parse(text: str):
        data = loop.run_until_complete(agent.parse_message(text))
        ranking = [(i["name"], i["confidence"]) for i in data.get("intent_ranking", [])]
        return data["intent"]["name"], data["intent"]["confidence"], ranking, data.get("entities", [])

    return parse


def training_examples(nlu_dir: Path) -> Tuple[List[str], List[str]]:
    from rasa.shared.nlu.training_data.loading import load_data

    data = load_data(str(nlu_dir))
    texts, labels = [], []
    for message in data.intent_examples:
        texts.append(message.get("text"))
        labels.append(message.get("intent"))
    return texts, labels


def baseline_parser(texts: Sequence[str], labels: Sequence[str]) -> Parse:
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline

    model = make_pipeline(
        TfidfVectorizer(lowercase=True, strip_accents="unicode", ngram_range=(1, 2), sublinear_tf=True),
        LogisticRegression(max_iter=2000, C=10),
    )
    model.fit(list(texts), list(labels))
    classes = list(model.classes_)

    def parse(text: str):
        probs = model.predict_proba([text])[0]
        ranking = sorted(zip(classes, probs), key=lambda p: -p[1])
        return ranking[0][0], float(ranking[0][1]), [(c, float(p)) for c, p in ranking[:10]], []

    return parse


def main(argv: Optional[List[str]] = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default=str(ROOT / "models" / "guichet.tar.gz"))
    parser.add_argument("--heldout", default=str(ROOT / "tests" / "nlu_heldout.yml"))
    parser.add_argument("--out", default=str(ROOT / "bench" / "results" / "nlu.json"))
    parser.add_argument("--errors", type=int, default=15, help="errors to print per system")
    args = parser.parse_args(argv)

    db = ROOT / "var" / "bench-nlu.db"
    engine = make_engine(f"sqlite:///{db}")
    build(load_knowledge(ROOT / "knowledge"), engine)
    repo = KnowledgeRepository(make_session_factory(engine))
    guichet = Guichet(repo)
    cases = load_cases(Path(args.heldout))

    systems = {}
    t0 = time.perf_counter()
    texts, labels = training_examples(ROOT / "data" / "nlu")
    systems["baseline_tfidf_logreg"] = baseline_parser(texts, labels)
    baseline_train_s = time.perf_counter() - t0
    systems["rasa_diet"] = rasa_parser(Path(args.model))

    report = {"heldout_cases": len(cases), "training_examples": len(texts), "baseline_train_s": round(baseline_train_s, 1)}
    results = {}
    for name, parse in systems.items():
        result = Result(name)
        for case in cases:
            simulate(guichet, parse, case, result, repo)
        results[name] = result
        report[name] = result.table_row()
    print(f"{len(cases)} held-out cases, {len(texts)} training examples")
    header = ["system", "démarche top-1 %", "operator %", "category %", "topic %", "questions/case", "fallback %",
              "out-of-scope detected %", "parse p50 ms"]
    print(" | ".join(header))
    for name, result in results.items():
        row = result.table_row()
        print(
            f"{name} | {row['demarche_top1']} | {row['operator']} | {row['category']} | {row['topic']} | "
            f"{row['questions_per_case']} | {row['fallback_rate']} | {row['out_of_scope_detected']} | {row['parse_ms_p50']}"
        )
    for name, result in results.items():
        print(f"\nFirst errors of {name}:")
        for error in result.errors[: args.errors]:
            print("  ", json.dumps(error, ensure_ascii=False))
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    report["errors"] = {name: r.errors for name, r in results.items()}
    out.write_text(json.dumps(report, ensure_ascii=False, indent=2), encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
