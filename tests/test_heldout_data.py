"""The held-out set: well-formed, never trained on, and solved by the engine when the topic is known."""
from pathlib import Path

import pytest
import yaml

from bot.conversation import Guichet, Turn
from bot.text import fold

ROOT = Path(__file__).resolve().parent.parent
CASES = yaml.safe_load((ROOT / "tests" / "nlu_heldout.yml").read_text(encoding="utf-8"))["cases"]
ANSWER_INTENT = {"oui": "affirm", "non": "deny", "inconnu": "je_ne_sais_pas"}


def training_texts():
    texts = set()
    for path in (ROOT / "data" / "nlu").glob("*.yml"):
        for item in yaml.safe_load(path.read_text(encoding="utf-8")).get("nlu", []):
            for line in (item.get("examples") or "").splitlines():
                texts.add(" ".join(fold(line.lstrip("- ")).replace("[", "").replace("]", "").split()))
    return texts


def test_cases_are_well_formed(knowledge):
    ids = {d.id: d for d in knowledge.demarches}
    for case in CASES:
        assert set(case) <= {"text", "topic", "demarche", "answers"}, case
        if case["topic"] in ("urgence", "out_of_scope"):
            assert case["demarche"] is None or ids[case["demarche"]].category == "urgent"
            continue
        assert ids[case["demarche"]].topic == case["topic"], case
        assert set(case.get("answers") or {}) <= set(knowledge.conditions), case


def test_no_held_out_text_is_in_the_training_data():
    trained = training_texts()
    leaked = [c["text"] for c in CASES if " ".join(fold(c["text"]).split()) in trained]
    assert leaked == []


@pytest.fixture(scope="module")
def guichet(repo):
    return Guichet(repo)


def test_with_the_right_topic_the_engine_finds_operator_and_category(guichet, repo):
    """Dialogue quality with a perfect NLU: questions answered as the held-out case says."""
    routed = [c for c in CASES if c["demarche"]]
    operator_ok = category_ok = questions = 0
    for case in routed:
        expected = repo.get(case["demarche"])
        intent = case["topic"]
        result = guichet.handle(Turn(intent=intent, text=case["text"]))
        slots = {}
        for _ in range(6):
            slots.update(result.slots)
            custom = next(r.custom for r in result.replies if r.custom)
            if custom["type"] != "question":
                break
            questions += 1
            value = (case.get("answers") or {}).get(custom["key"], "inconnu")
            result = guichet.handle(Turn(intent=ANSWER_INTENT[value], text=value, slots=slots))
        assert custom["type"] == "answer", case
        operator_ok += custom["operator"] == expected.operator
        category_ok += custom["category"] == expected.category
    n = len(routed)
    assert operator_ok / n >= 0.99
    assert category_ok / n >= 0.99
    assert questions / n <= 0.8
