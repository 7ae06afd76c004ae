"""Departmental supplements: the Jura (39) booklet completes national answers, clearly labelled."""
import re
from pathlib import Path

import pytest

from bot.conversation import Guichet, Turn
from bot.render import local_wording
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
    title, text = local_wording(sup, "public")
    assert "Précision locale (Jura)" in out_l.replies[0].text and f"{title} : {text}" in out_l.replies[0].text
    out_a, _ = first_answer(local, topic, "", audience="agent")
    assert f"{sup.title} : {sup.text}" in out_a.replies[0].text  # counsellors read the booklet's wording


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


@pytest.mark.parametrize(
    "topic, text",
    [
        ("espace_msa", "j'arrive pas à me connecter à mon espace msa"),
        ("aide_logement", "la msa m'a refusé l'allocation logement"),
        ("espace_retraite", "je n'arrive pas à modifier mes informations sur mon espace retraite carsat"),
    ],
)
def test_local_supplements_show_the_public_only_what_it_may_see(repo, jura, topic, text):
    """Issue 11, point 13: counsellor wording and agent-only contacts of 39.yml never reach the public."""
    local = Guichet(repo, departement="39")
    agent_values = {c.value for s in jura.supplements for c in s.contacts if c.audience == "agent" and c.kind != "service"}
    out, answer = first_answer(local, topic, text)
    shown = out.replies[0].text + str(answer)
    assert not [v for v in agent_values if v in shown]
    for line in answer["local"]:
        sup = next(s for s in jura.supplements if s.id == line["id"])
        assert (line["title"], line["text"]) == local_wording(sup, "public")
        assert sup.audience == "public" or line["text"] != sup.text
    # counsellors still get the booklet's channels
    out_a, answer_a = first_answer(local, topic, text, audience="agent")
    assert [v for v in agent_values if v in out_a.replies[0].text]


def test_every_kept_supplement_has_an_audience_and_a_public_wording_without_agent_channels(jura):
    for sup in (s for s in jura.supplements if s.status == "kept"):
        assert sup.audience in ("agent", "public"), sup.id
        if sup.audience == "public":
            assert all(c.audience == "public" for c in sup.contacts), sup.id
        elif sup.public_text:
            wording = fold(sup.public_title + " " + sup.public_text)
            assert not any(w in wording for w in ("administration+", "back-office", "osmose")), sup.id
            assert not any(fold(c.value) in wording for c in sup.contacts if c.audience == "agent"), sup.id
