"""Facts said in plain words (issue 10, kind 5): the cue lists of knowledge/conditions.yml read what
people type, and never fire inside another word. New sentences, not taken from any data set."""
import pytest

from bot.engine import DecisionEngine
from bot.knowledge.memory import InMemoryKnowledge


@pytest.fixture(scope="module")
def engine(knowledge):
    return DecisionEngine(InMemoryKnowledge(knowledge))


@pytest.mark.parametrize("text, key, value", [
    ("ma tante sait pas du tout se servir d'internet", "autonome_numerique", "non"),
    ("je ne sais pas me servir d'un ordinateur", "autonome_numerique", "non"),
    ("usager illettré, aucun ordinateur chez lui", "autonome_numerique", "non"),
    ("je suis complètement larguée avec l'informatique", "autonome_numerique", "non"),
    ("je le fais en ligne d'habitude", "autonome_numerique", "oui"),
    ("mon père touche une petite retraite agricole", "msa", "oui"),
    ("je bosse dans les vignes depuis 3 ans", "msa", "oui"),
    ("elle est cotisante à la mutualité agricole", "msa", "oui"),
    ("je dois partir dans 6 jours pour un enterrement au Maroc", "demande_urgente", "oui"),
    ("mon frere est en reanimation, il me faut un passeport le plus vite possible", "demande_urgente", "oui"),
    # whether what happened to the person is lawful: a question on their own case
    ("mon ancien employeur garde mon dernier bulletin de salaire, il a le droit ?", "question_dossier", "oui"),
    ("le bailleur garde les 600 euros, c'est légal ça ?", "question_dossier", "oui"),
])
def test_facts_in_plain_words(engine, text, key, value):
    assert engine.implied_facts(text).get(key) == value


@pytest.mark.parametrize("text, key", [
    ("ma qualité de vie a baissé, je voudrais la mutualité agricole", "demande_urgente"),  # mutu-alite
    ("je suis à la caf depuis longtemps", "autonome_numerique"),
    ("vingt ans dans le bâtiment, je veux ma retraite", "detresse"),  # le bat-iment
])
def test_cues_never_fire_inside_another_word(engine, text, key):
    assert key not in engine.implied_facts(text)


def test_whether_someone_else_may_do_something_is_no_question_on_ones_file(engine):
    text = "le garagiste se demande s'il a le droit d'accepter le chèque énergie pour la réparation du chauffage"
    assert "question_dossier" not in engine.implied_facts(text)


def test_no_emergency_in_ordinary_words(engine):
    for text in ("20 ans dans le batiment", "il n'y a aucun danger immédiat", "un coup de main pour ma carte grise",
                 "j'ai perdu le fil de mon dossier"):
        assert engine.emergencies(text) == (), text


@pytest.mark.parametrize("text, key", [
    ("je suis en france depuis 5 mois sans papiers, je veux l'ame", "bloquee"),  # a duration is no blockage
    ("je suis en france depuis 5 mois sans papiers, je veux l'ame", "autonome_numerique"),  # « sans papiers »
])
def test_a_duration_or_undocumented_status_is_no_fact(engine, text, key):
    assert key not in engine.implied_facts(text)


@pytest.mark.parametrize("text, key, never", [
    # what the person does not have, followed by how long they have been here, is no wait
    ("réfugiée sans titre de séjour, arrivée en France depuis six mois, elle veut se soigner", "bloquee", "oui"),
    # letters that stopped coming by post are no interrupted payment
    ("depuis que j'ai mon espace en ligne je reçois plus de courrier de ma caisse", "bloquee", "oui"),
    ("je reçois plus les relevés par la poste, je voudrais les avoir en papier", "bloquee", "oui"),
    # an urgency the person denies is no urgent request
    ("rien d'urgent, c'est pour refaire ma carte d'identité qui expire l'an prochain", "demande_urgente", "oui"),
    ("ce n'est pas urgent du tout, je voudrais un passeport pour cet été", "demande_urgente", "oui"),
    # « sur le site » said with « n'y arrive pas seule » is no digital autonomy
    ("elle doit déclarer la perte sur le site mais elle n'y arrive pas seule", "autonome_numerique", "oui"),
])
def test_what_the_text_denies_or_does_not_say_is_no_fact(engine, text, key, never):
    assert engine.implied_facts(text).get(key) != never


def test_a_wait_with_a_duration_is_a_blockage(engine):
    for text in ("toujours aucune réponse depuis deux mois", "depuis 3 mois j'attends le virement",
                 "sans aucun versement depuis cinq semaines", "je ne reçois plus mon allocation"):
        assert engine.implied_facts(text).get("bloquee") == "oui", text


def test_sleeping_in_a_car_is_no_shelter(engine):
    assert [k.label for k in engine.emergencies("on dort dans notre voiture avec les enfants")] == [
        "Sans solution d'hébergement"]


@pytest.mark.parametrize("text", [
    "son fils le menace et l'a frappé la semaine dernière, il veut sa carte vitale",
    "mon ex m'a giflée devant les enfants, je dois refaire mes papiers",
    "elle a peur de rentrer chez elle le soir, elle demande la prime d'activité",
    "son compagnon la menace et elle n'ose plus rentrer chez elle",
])
def test_violence_told_in_the_past_or_by_its_fear_is_an_emergency(engine, text):
    assert [k.label for k in engine.emergencies(text)] == ["Violences conjugales ou intrafamiliales"], text


def test_a_threat_that_is_a_noun_or_a_push_by_a_horse_is_no_violence(engine):
    for text in ("la menace d'une coupure d'électricité", "le cheval l'a bousculée, elle s'est cassé le bras",
                 "les menaces de saisie de la banque",
                 "elle vit sous la menace d'une expulsion"):
        assert engine.emergencies(text) == (), text
