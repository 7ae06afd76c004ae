"""The distress override of the NLU pipeline (bot/nlu_components.py), without training a model."""
from rasa.shared.nlu.constants import INTENT, INTENT_RANKING_KEY, TEXT
from rasa.shared.nlu.training_data.message import Message

from bot.nlu_components import EmergencyIntent


def classified(text, intent, confidence=0.9):
    message = Message(data={TEXT: text})
    message.set(INTENT, {"name": intent, "confidence": confidence})
    message.set(INTENT_RANKING_KEY, [{"name": intent, "confidence": confidence}, {"name": "urgence", "confidence": 0.01}])
    return message


def test_conversational_intents_with_distress_become_urgent():
    component = EmergencyIntent(EmergencyIntent.get_default_config())
    messages = [
        classified("bonjour, je veux en finir", "greet"),
        classified("merci, mon mari me frappe", "thanks"),
        classified("je dors dehors depuis hier", "nlu_fallback", 0.3),
        classified("mon enfant est en danger", "out_of_scope"),
    ]
    for message in component.process(messages):
        assert message.get(INTENT) == {"name": "urgence", "confidence": 1.0}
        ranking = message.get(INTENT_RANKING_KEY)
        assert ranking[0]["name"] == "urgence" and [r["name"] for r in ranking].count("urgence") == 1


def test_topics_buttons_and_ordinary_messages_are_untouched():
    component = EmergencyIntent(EmergencyIntent.get_default_config())
    cases = [
        classified("la caf ne me verse plus le rsa et je veux en finir", "rsa_prime_activite"),  # the engine handles it
        classified("/affirm", "affirm"),
        classified("bonjour", "greet"),
        classified("merci pour les coups de main", "thanks"),
    ]
    expected = [m.get(INTENT)["name"] for m in cases]
    assert [m.get(INTENT)["name"] for m in component.process(cases)] == expected
