"""Urgency as a cross-cutting check (issue 10): whatever the topic, a rupture or a sign of distress
brings the operator's urgent rows in and the distress question first; violence numbers never wait."""
import pytest

from bot.conversation import Guichet, Turn
from bot.engine import DecisionEngine, Outcome, Question
from bot.knowledge.memory import InMemoryKnowledge
from bot.knowledge.types import Demarche, Knowledge, Source
from bot.signals import SignalDetector


class FakeSignals:
    """Scores given by the test: {signal: probability} for any text containing a key word."""

    def __init__(self, **by_word):
        self.by_word = by_word

    def scores(self, text):
        result = {}
        for word, scores in self.by_word.items():
            if word in text:
                result.update(scores)
        return result


def row(id, topic, category, operator="caf", **conditions):
    return Demarche(
        id=f"{operator}.{id}", operator=operator, topic=topic, title=id.replace("_", " "), section="s",
        label=id.replace("_", " "), category=category, action=f"action {id}",
        source=Source("doc", operator, "s", 1), conditions=conditions,
    )


@pytest.fixture
def make(knowledge):
    def make(*rows, signals=None):
        k = Knowledge(knowledge.operators, list(rows), knowledge.conditions, knowledge.documents, {}, knowledge.emergency)
        return DecisionEngine(InMemoryKnowledge(k), signals)

    return make


ROWS = (
    row("declarer", "ressources", "niveau_1"),
    row("urgence_sociale", "urgence_caf", "urgent", detresse="oui"),
    row("urgence_rupture", "rupture_caf", "urgent", detresse="oui", bloquee="oui"),
    row("mon_compte", "compte_msa", "niveau_1", operator="msa"),
    row("urgence", "urgence_msa", "urgent", operator="msa", detresse="oui"),
)


def test_calm_request_gets_its_card_without_question(make):
    eng = make(*ROWS, signals=FakeSignals())
    out = eng.decide("ressources", {}, "je veux declarer mes ressources")
    assert isinstance(out, Outcome) and out.demarche.id == "caf.declarer"


def test_distress_in_everyday_words_asks_the_distress_question_first(make):
    eng = make(*ROWS, signals=FakeSignals(tiens={"detresse": 0.9}))
    q = eng.decide("ressources", {}, "je tiens plus le coup avec ces declarations")
    assert isinstance(q, Question) and q.key == "detresse"
    urgent = eng.decide("ressources", {"detresse": "oui"}, "je tiens plus le coup avec ces declarations")
    assert urgent.demarche.category == "urgent" and urgent.demarche.operator == "caf"
    calm = eng.decide("ressources", {"detresse": "non"}, "je tiens plus le coup avec ces declarations")
    assert calm.demarche.id == "caf.declarer"


def test_a_rupture_in_any_words_brings_the_operators_urgent_rows_and_the_question(make):
    eng = make(*ROWS, signals=FakeSignals(arrete={"rupture": 0.95}))
    q = eng.decide("ressources", {}, "ils ont arrete de me payer")
    assert isinstance(q, Question) and q.key == "detresse"
    out = eng.decide("ressources", {"detresse": "oui"}, "ils ont arrete de me payer")
    assert out.demarche.id in ("caf.urgence_rupture", "caf.urgence_sociale")


def test_weak_signals_change_nothing(make):
    eng = make(*ROWS, signals=FakeSignals(papiers={"detresse": 0.2, "rupture": 0.3}))
    out = eng.decide("ressources", {}, "ces papiers m'embetent un peu")
    assert isinstance(out, Outcome) and out.demarche.id == "caf.declarer"


def test_an_urgent_row_whose_conditions_all_hold_answers_once_known(make):
    eng = make(row("pension", "paiement", "niveau_1", operator="assurance_retraite"),
               row("urgence", "urgence_retraite", "urgent", operator="assurance_retraite", bloquee="oui"),
               signals=FakeSignals(arrivee={"rupture": 0.9}))
    q = eng.decide("paiement", {}, "ma pension est pas arrivee ce mois ci")
    assert isinstance(q, Question) and q.key == "bloquee"  # the classifier asks, it never decides
    out = eng.decide("paiement", {"bloquee": "oui"}, "ma pension est pas arrivee ce mois ci")
    assert isinstance(out, Outcome) and out.demarche.id == "assurance_retraite.urgence"
    # a rupture in the words of the cue lists is a known fact: no question
    out = eng.decide("paiement", {}, "ma pension n'est plus versee")
    assert isinstance(out, Outcome) and out.demarche.id == "assurance_retraite.urgence"


def test_the_operator_named_decides_whose_urgent_rows(make):
    eng = make(*ROWS, signals=FakeSignals(tiens={"detresse": 0.9}))
    out = eng.decide("ressources", {"detresse": "oui"}, "je tiens plus, la msa", operator="msa")
    assert out.demarche.id == "msa.urgence"


def test_operator_without_urgent_rows_is_not_asked(make):
    eng = make(row("colis", "courrier", "niveau_1", operator="la_poste"), signals=FakeSignals(tiens={"detresse": 0.9}))
    out = eng.decide("courrier", {}, "je tiens plus, mon colis est perdu")
    assert isinstance(out, Outcome) and out.demarche.id == "la_poste.colis"


def test_distress_is_asked_once_per_conversation(repo):
    guichet = Guichet(repo, signals=FakeSignals(tiens={"detresse": 0.9}))
    first = guichet.handle(Turn("rsa_prime_activite", "je tiens plus le coup, je veux demander le RSA"))
    assert first.replies[0].custom["key"] == "detresse"
    slots = {**first.slots}
    answered = guichet.handle(Turn("deny", "non", slots=slots))
    while answered.replies[0].custom["type"] == "question":  # other questions of the request
        assert answered.replies[0].custom["key"] != "detresse"
        slots.update(answered.slots)
        answered = guichet.handle(Turn("je_ne_sais_pas", "je ne sais pas", slots=slots))
    assert answered.replies[0].custom["type"] == "answer"
    slots.update(answered.slots)
    again = guichet.handle(Turn("rsa_prime_activite", "je tiens plus, et la prime d'activite ?", slots=slots))
    assert again.replies[0].custom.get("key") != "detresse", "the distress question came back"


def test_violence_numbers_come_with_the_first_reply_even_before_a_question(repo):
    guichet = Guichet(repo)
    for audience in ("public", "agent"):
        result = guichet.handle(Turn("cheque_energie_reclamation_suivi",
                                     "mon cheque energie est pas arrive et mon mari me frappe", audience=audience))
        first = result.replies[0]
        numbers = [n["value"] for n in first.custom.get("emergency_numbers") or []]
        assert "3919" in numbers and "17" in numbers, first.custom
        assert "3919" in first.text


def test_urgent_answer_keeps_the_operator_of_the_likeliest_topic(repo):
    guichet = Guichet(repo)
    turn = Turn("urgence", "je veux en finir, plus rien ne tombe depuis deux mois",
                ranking=[("urgence", 0.6), ("paiement_retraite", 0.3), ("rsa_prime_activite", 0.05)])
    answer = guichet.handle(turn).replies[0].custom
    assert answer["category"] == "urgent" and answer["operator"] == "assurance_retraite"
    assert "3114" in [n["value"] for n in answer["emergency_numbers"]]


@pytest.fixture(scope="module")
def detector():
    from bot.config import get_settings
    from bot.signals import topic_examples

    settings = get_settings()
    return SignalDetector.from_directory(settings.signals_dir, extra={"demarches": topic_examples(settings.nlu_dir)})


# New sentences, in none of data/signals or data/nlu (checked by the last test).
DISTRESS = [
    "j en peux vraiment plus de cette situation, la caf me reclame de l argent et j ai deux gosses",
    "franchement je craque nerveusement, mon chomage a pas ete verse et le proprio menace",
    "je sais plus vers qui me tourner, je suis a sec et ma pension est en retard",
]
RUPTURE = [
    "mon virement de la caf est pas tombe ce mois ci",
    "la retraite complementaire a cesse de m etre versee en fevrier",
    "mes indemnites journalieres sont bloquees depuis six semaines",
]
CALM = [
    "je voudrais savoir comment declarer mes revenus en ligne",
    "comment on fait pour changer d adresse a la poste",
    "je souhaite demander une carte vitale pour mon fils",
]


def test_the_trained_signals_see_new_phrasings(detector):
    from bot.engine import Thresholds

    t = Thresholds()
    assert set(detector.signals) >= {"detresse", "rupture", "hors_champ"}
    for text in DISTRESS:
        assert detector.scores(text)["detresse"] >= t.distress_ask, text
    for text in RUPTURE:
        assert detector.scores(text)["rupture"] >= t.rupture_ask, text
    for text in CALM:
        scores = detector.scores(text)
        assert scores["detresse"] < t.distress_ask and scores["rupture"] < t.rupture_ask, (text, scores)


def test_the_test_sentences_are_not_training_data():
    from bot.config import get_settings
    from bot.text import fold
    import yaml

    settings = get_settings()
    seen = set()
    for path in list(settings.signals_dir.glob("*.yml")) + list(settings.nlu_dir.glob("*.yml")):
        seen.update(fold(line) for line in path.read_text(encoding="utf-8").splitlines())
    for text in DISTRESS + RUPTURE + CALM:
        assert not any(fold(text) in line for line in seen), text


def test_a_closed_right_at_the_assurance_maladie_is_urgent_without_distress(repo):
    """Seed 001 line 117: « Toute urgence concernant la situation d'un assuré (rupture de droit, de
    paiement, mal-être...) »: the rupture alone reaches the urgent row, the calm complex case does not."""
    engine = Guichet(repo).engine
    text = "la pharmacie refuse ma carte vitale, mes droits a la secu sont fermes depuis le 1er"
    out = engine.decide("assurance_maladie_situation", {"bloquee": "oui", "detresse": "non"}, text)
    assert out.demarche.id == "assurance_maladie.urgence_rupture" and out.demarche.category == "urgent"
    calm = engine.decide("assurance_maladie_situation", {"bloquee": "non", "detresse": "non",
                                                        "autonome_numerique": "oui"}, text)
    assert calm.demarche.category == "niveau_2"


def test_at_most_three_questions_per_request_then_the_answer(repo):
    guichet = Guichet(repo, signals=FakeSignals(tiens={"detresse": 0.9}))
    result = guichet.handle(Turn("rsa_prime_activite", "je tiens plus, la caf a arrete le rsa et je comprends pas"))
    slots, keys = {}, []
    while result.replies[0].custom["type"] == "question":
        keys.append(result.replies[0].custom["key"])
        slots.update(result.slots)
        result = guichet.handle(Turn("je_ne_sais_pas", "je ne sais pas", slots=slots))
    assert 1 <= len(keys) <= 3 and len(set(keys)) == len(keys), keys
    assert result.replies[0].custom["type"] == "answer"


@pytest.mark.parametrize("intent", ["nlu_fallback", "maprimerenov"])
def test_the_benefit_that_stopped_names_the_operator(repo, intent):
    """« le RSA a sauté »: no organisation named, the NLU hesitates or reads another organisation's
    démarche — the benefit decides whose urgent rows apply (the CAF's)."""
    guichet = Guichet(repo, signals=FakeSignals(saute={"rupture": 0.9}))
    turn = Turn(intent, "le rsa a saute depuis le mois dernier, plus rien sur le compte",
                ranking=[("maprimerenov", 0.3), ("rsa_prime_activite", 0.2)])
    first = guichet.handle(turn)
    assert first.replies[0].custom["type"] == "question" and first.slots["topic"] == "rsa_prime_activite"
    answered = guichet.handle(Turn("affirm", "oui", slots={**first.slots}))
    while answered.replies[0].custom["type"] == "question":
        answered = guichet.handle(Turn("affirm", "oui", slots={**first.slots, **answered.slots}))
    assert answered.replies[0].custom["operator"] == "caf" and answered.replies[0].custom["category"] == "urgent"


def test_a_benefit_merely_named_changes_nothing(repo):
    guichet = Guichet(repo, signals=FakeSignals())  # no rupture in the words
    result = guichet.handle(Turn("maprimerenov", "je touche le rsa, je veux faire isoler mes combles avec maprimerenov"))
    assert result.slots.get("topic") == "maprimerenov"


@pytest.mark.parametrize("topic", ["rsa_prime_activite", "aide_logement"])
def test_three_months_unpaid_after_a_document_sent_is_the_caf_urgent_row_without_a_question(knowledge, topic):
    """Line 80: « prestation interrompue depuis 3 mois avec une nouvelle pièce au dossier », said in
    plain words (both the months and the document), is urgent without distress and without asking."""
    engine = DecisionEngine(InMemoryKnowledge(knowledge))
    text = ("ca fait trois mois que je touche plus rien de la caf, ils voulaient mes fiches de paie, "
            "je les ai envoyées en septembre et depuis c'est bloqué")
    out = engine.decide(topic, {"detresse": "non"}, text)
    assert isinstance(out, Outcome) and out.demarche.id == "caf.urgence_prestation_interrompue"
    # months alone, or a document alone, say less: the question of line 80 stays to be asked
    assert engine.merge_facts({}, "ça fait 3 mois que j'attends ma prime d'activité").get("prestation_interrompue") is None
    assert engine.merge_facts({}, "j'ai envoyé mes fiches de paie à la caf").get("prestation_interrompue") is None
    # everyday words for a payment that stopped, and a lease as the document sent
    said = "l'allocation logement arrive plus depuis 4 mois alors que j'ai envoyé mon nouveau bail en janvier"
    assert engine.merge_facts({}, said).get("prestation_interrompue") == "oui"
    said = "depuis cinq mois le rsa tombe plus, j'ai pourtant renvoyé ma quittance et mes papiers"
    assert engine.merge_facts({}, said).get("prestation_interrompue") == "oui"


def test_a_duration_given_by_month_names_counts_to_the_month_said_or_today(knowledge):
    """« plus rien depuis février … on est fin mai » is three months: the CAF's line 80 holds. Without
    « on est … » the months are counted to today's (injected) date; the same month counts for nothing."""
    from datetime import date

    def engine_on(day):
        return DecisionEngine(InMemoryKnowledge(knowledge), today=lambda: day)

    said = ("les alloc familiales arrivent plus depuis fevrier, j'avais envoyé le certificat de scolarité "
            "du petit, on est fin mai et toujours rien")
    for day in (date(2026, 12, 2), date(2026, 3, 1)):  # the month said wins over today's
        assert engine_on(day).merge_facts({}, said).get("prestation_interrompue") == "oui"
    said = "plus d'apl depuis septembre alors que j'ai renvoyé mon attestation de loyer"
    assert engine_on(date(2026, 12, 2)).merge_facts({}, said).get("prestation_interrompue") == "oui"
    assert engine_on(date(2026, 10, 15)).merge_facts({}, said).get("prestation_interrompue") is None  # one month
    assert engine_on(date(2026, 9, 30)).merge_facts({}, said).get("prestation_interrompue") is None  # same month


def test_month_names_are_spelled_as_durations_only_after_depuis():
    from bot.text import plain, spelled_durations

    assert spelled_durations(plain("Rien reçu depuis le 15 octobre."), 12) == "rien recu depuis 2 mois le 15 octobre"
    assert spelled_durations(plain("depuis mars (on est en juin)"), 12) == "depuis 3 mois mars on est en juin"
    assert spelled_durations(plain("j'ai envoyé mon bail en mars"), 12) == "j ai envoye mon bail en mars"
    assert spelled_durations(plain("depuis décembre"), 12) == "depuis decembre"
