"""What people really type (issue 10), end to end over the REST contract with the trained model:
one conversation per failure kind, with new sentences (in no training file: checked at the end)."""
import pytest

from bot.text import fold

from servers import ROOT, Processes, base_env, model_copy, post, start_stacks

CODE = "code-conseiller-comprehension"


@pytest.fixture(scope="module")
def url(kb_engine, tmp_path_factory):
    logs = tmp_path_factory.mktemp("understanding")
    processes = Processes(logs)
    env = base_env(GUICHET_DB_URL=str(kb_engine.url), GUICHET_AGENT_TOKEN=CODE,
                   GUICHET_TRACKER_DB=str(logs / "tracker.db"))
    try:
        [base] = start_stacks(processes, logs, model_copy(logs), env)
        yield f"{base}/webhooks/rest/webhook"
    finally:
        processes.stop()


class Person:
    def __init__(self, url, sender, audience="public"):
        self.url, self.sender, self.audience = url, sender, audience

    def say(self, text):
        metadata = {"audience": self.audience}
        if self.audience == "agent":
            metadata["agent_token"] = CODE
        status, replies = post(self.url, {"sender": self.sender, "message": text, "metadata": metadata})
        assert status == 200 and replies, replies
        customs = [r["custom"] for r in replies if isinstance(r.get("custom"), dict)]
        assert customs, replies
        return customs[-1], " ".join(r.get("text") or "" for r in replies)

    def answer_until_card(self, first, answers, limit=4):
        """Answer each question from `answers` (key -> /affirm, /deny, or words), 'je ne sais pas' else."""
        custom, asked = first, []
        while custom["type"] in ("question", "choose") and len(asked) < limit:
            if custom["type"] == "choose":
                return custom, asked
            asked.append(custom["key"])
            custom, _ = self.say(answers.get(custom["key"], "je sais pas"))
        return custom, asked


DISTRESS = "je tiens vraiment plus, ma prime d'activité de la caf a disparu et les factures s'entassent"
RUPTURE = "ma retraite de la carsat est pas tombée ce mois ci"
BEYOND = "est ce que vous pouvez me dire comment resilier mon abonnement a la salle de sport"
TWO_ORGS = "il me faut mon avis d'imposition car la caf le reclame pour mon dossier"
AUTONOMY = "je voudrais faire ma demande de retraite mais je sais pas du tout me servir d'un ordinateur"
VIOLENCE = "mon chèque énergie n'est jamais arrivé et mon compagnon me frappe quand on parle d'argent"
URGENT_OPERATOR = "je veux en finir, la caf m'a coupé le rsa"


def test_distress_in_everyday_words_is_asked_then_urgent_with_the_operator(url):
    person = Person(url, "kind-1")
    first, _ = person.say(DISTRESS)
    assert first["type"] == "question" and first["key"] == "detresse", first
    card, asked = person.answer_until_card(first, {"detresse": "/affirm", "bloquee": "oui"})
    assert card["type"] == "answer" and card["category"] == "urgent" and card["operator"] == "caf", (card, asked)
    calm = Person(url, "kind-1-calm")
    card, asked = calm.answer_until_card(calm.say(DISTRESS)[0], {"detresse": "non", "bloquee": "/deny"})
    assert card["category"] != "urgent" and card["operator"] == "caf", card


def test_a_rupture_without_keywords_reaches_the_urgent_route(url):
    person = Person(url, "kind-2")
    first, _ = person.say(RUPTURE)
    card, asked = person.answer_until_card(first, {"bloquee": "/affirm", "detresse": "/deny"})
    assert card["type"] == "answer" and card["category"] == "urgent", (card, asked)
    assert card["operator"] == "assurance_retraite" and len(asked) <= 3


def test_out_of_the_referentiel_is_said_plainly_without_invented_contact(url):
    custom, text = Person(url, "kind-3").say(BEYOND)
    assert custom["type"] == "out_of_scope", custom
    assert "France services" in text and "@" not in text


def test_the_document_asked_for_decides_the_operator(url):
    person = Person(url, "kind-4")
    card, asked = person.answer_until_card(person.say(TWO_ORGS)[0], {})
    if card["type"] == "choose":  # the NLU hesitated: the tax notice must come first
        first = card["options"][0]["demarche"]
        assert first.startswith("finances_publiques."), card
        card, asked = person.answer_until_card(person.say('/choisir{"demarche": "%s"}' % first)[0], {})
    assert card["type"] == "answer" and card["operator"] == "finances_publiques", card


def test_digital_autonomy_in_plain_words_counts(url):
    person = Person(url, "kind-5")
    card, asked = person.answer_until_card(person.say(AUTONOMY)[0], {})
    assert "autonome_numerique" not in asked, asked
    assert card["type"] == "answer" and card["operator"] == "assurance_retraite", card


@pytest.mark.parametrize("audience", ["public", "agent"])
def test_violence_numbers_come_in_the_first_reply(url, audience):
    custom, text = Person(url, f"kind-7-{audience}", audience).say(VIOLENCE)
    numbers = [n["value"] for n in custom.get("emergency_numbers") or []]
    assert "3919" in numbers and "17" in numbers, custom
    assert "3919" in text


def test_urgent_answer_keeps_the_operator(url):
    custom, text = Person(url, "kind-6").say(URGENT_OPERATOR)
    assert custom["type"] == "answer" and custom["category"] == "urgent", custom
    assert custom["operator"] == "caf" and "3114" in text


def test_these_sentences_are_new():
    seen = [fold(p.read_text(encoding="utf-8")) for p in (ROOT / "data").rglob("*.yml")]
    for text in (DISTRESS, RUPTURE, BEYOND, TWO_ORGS, AUTONOMY, VIOLENCE, URGENT_OPERATOR):
        assert not any(fold(text) in content for content in seen), text
