"""The out-of-scope check of bot.signals through the conversation (issue 10, kind 3): requests that
are none of the référentiel's démarches are said to be so, whatever topic the NLU guessed; short or
operator-naming messages are never refused. New sentences, in no training file (checked)."""
import pytest

from bot import services
from bot.config import get_settings
from bot.conversation import Guichet, Turn
from bot.text import fold

BEYOND = [
    "vous savez s il va pleuvoir ce week end sur lons le saunier",
    "c est quoi la recette de la blanquette de veau de ma grand mere",
    "mon forfait mobile a augmente sans prevenir je veux changer d operateur",
    "je cherche un club de foot pour mon fils de 9 ans",
]
IN_SCOPE = [
    ("aide_logement", "les sous du loyer"),  # short: hesitate, never refuse
    ("aide_logement", "logement"),
    ("rsa_prime_activite", "la caf veut plus me donner le rsa et je sais pas pourquoi"),  # names an operator
    ("impot_revenu", "je dois declarer mes revenus de l annee derniere et je comprends rien"),
]


@pytest.fixture(scope="module")
def guichet(repo):
    return Guichet(repo, signals=services.signals())


@pytest.mark.parametrize("text", BEYOND)
def test_requests_beyond_the_referentiel_are_said_so_whatever_the_nlu_guessed(guichet, text):
    for intent in ("rsa_prime_activite", "nlu_fallback"):
        reply = guichet.handle(Turn(intent, text, ranking=[("rsa_prime_activite", 0.3)])).replies[0]
        assert reply.custom["type"] == "out_of_scope", (intent, text, reply.custom)
        assert "12 organismes" in reply.text or "France services" in reply.text


@pytest.mark.parametrize("topic, text", IN_SCOPE)
def test_in_scope_requests_are_not_refused(guichet, repo, topic, text):
    assert topic in guichet.topics
    reply = guichet.handle(Turn(topic, text)).replies[0]
    assert reply.custom["type"] != "out_of_scope", text


def test_these_sentences_are_not_training_data():
    settings = get_settings()
    seen = []
    for path in list(settings.signals_dir.glob("*.yml")) + list(settings.nlu_dir.rglob("*.yml")):
        seen.append(fold(path.read_text(encoding="utf-8")))
    for text in BEYOND + [t for _, t in IN_SCOPE[2:]]:
        assert not any(fold(text) in content for content in seen), text
