"""Departmental supplements: the Jura (39) booklet completes national answers, clearly labelled."""
import re
from pathlib import Path

import pytest

from bot.conversation import Guichet, Turn
from bot.text import fold

ROOT = Path(__file__).resolve().parent.parent
BOOKLET = (ROOT / "knowledge" / "sources" / "002_831733a73ebc3b83.txt").read_text(encoding="utf-8")


@pytest.fixture(scope="module")
def jura(knowledge):
    return knowledge.local["39"]


def test_jura_pack_is_loaded_with_kept_and_superseded_lines(jura):
    assert jura.name == "Jura" and jura.document == "002_831733a73ebc3b83.txt"
    statuses = {s.status for s in jura.supplements}
    assert statuses == {"kept", "superseded"}


def test_every_local_contact_is_in_the_booklet(jura):
    flat = re.sub(r"\s+", "", fold(BOOKLET))
    runs = [re.sub(r"[ .]", "", r) for r in re.findall(r"\d[\d .]*\d", BOOKLET)]
    missing = []
    for s in jura.supplements:
        for c in s.contacts:
            if c.kind == "phone" and not any(re.sub(r"\D", "", c.value) in run for run in runs):
                missing.append((s.id, c.value))
            elif c.kind in ("email", "url") and re.sub(r"\s+", "", fold(c.value)).rstrip("/") not in flat:
                missing.append((s.id, c.value))
    assert missing == []


def test_pole_emploi_lines_are_marked_against_the_national_text(jura):
    pole = [s for s in jura.supplements if "pole emploi" in fold(s.text + s.title)]
    assert pole, "the booklet's Pôle emploi section is transcribed"
    assert all(s.status == "superseded" or "france travail" in fold(s.note) for s in pole)


def first_answer(guichet, topic, text, audience="public"):
    out = guichet.handle(Turn(intent=topic, text=text, audience=audience))
    for _ in range(5):
        custom = next(r.custom for r in out.replies if r.custom)
        if custom["type"] != "question":
            return out, custom
        out = guichet.handle(Turn(intent="je_ne_sais_pas", text="je ne sais pas", slots=out.slots, audience=audience))
    raise AssertionError("no answer")


def test_jura_answer_shows_national_step_and_labelled_local_line(repo, jura):
    kept = [s for s in jura.supplements if s.status == "kept" and s.topics]
    sup = kept[0]
    topic = sup.topics[0]
    national = Guichet(repo)
    local = Guichet(repo, departement="39")
    out_n, answer_n = first_answer(national, topic, "")
    out_l, answer_l = first_answer(local, topic, "")
    assert answer_l["demarche"] == answer_n["demarche"] and answer_l["category"] == answer_n["category"]
    assert answer_l["next_step"] == answer_n["next_step"]  # never replaced
    assert answer_n["local"] == []
    assert any(l["id"] == sup.id for l in answer_l["local"])
    assert "Précision locale (Jura)" in out_l.replies[0].text and sup.text in out_l.replies[0].text


def test_superseded_lines_are_never_shown(repo, jura):
    local = Guichet(repo, departement="39")
    for sup in (s for s in jura.supplements if s.status == "superseded" and s.topics):
        _, answer = first_answer(local, sup.topics[0], "")
        assert sup.id not in [l["id"] for l in answer["local"]]


def test_public_never_sees_agent_only_local_contacts(repo, jura):
    local = Guichet(repo, departement="39")
    for sup in (s for s in jura.supplements if s.status == "kept" and s.topics):
        _, answer = first_answer(local, sup.topics[0], "")
        for line in answer["local"]:
            assert all(c["audience"] == "public" for c in line["contacts"])


def test_no_named_employee_in_the_local_files(jura):
    """The booklet's La Poste back-office contact is a named employee (e-mail, mobile): only the service is kept."""
    for path in (ROOT / "knowledge" / "local").glob("*.yml"):
        text = fold(path.read_text(encoding="utf-8"))
        assert "marchal" not in text and "0648205608" not in re.sub(r"\D", "", text), path.name
    back_office = next(s for s in jura.supplements if s.id == "jura.la_poste_back_office")
    assert [(c.kind, c.audience) for c in back_office.contacts] == [("service", "agent")]
    assert "personal data" in back_office.note
