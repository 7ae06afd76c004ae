"""The Rasa custom actions, with rasa_sdk's real CollectingDispatcher, Tracker and the project's domain."""
import pytest
from rasa.shared.core.domain import Domain
from rasa_sdk import Tracker
from rasa_sdk.events import SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions.actions import ActionConseiller, ActionFallback, ActionGuichet, ActionHorsSujet, ActionMenu
from bot import services
from bot.access import agent_code


@pytest.fixture(scope="module")
def domain():
    return Domain.load("domain").as_dict()


@pytest.fixture(autouse=True)
def kb(kb_engine, monkeypatch):
    monkeypatch.setenv("GUICHET_DB_URL", str(kb_engine.url))
    monkeypatch.delenv("GUICHET_AGENT_TOKEN", raising=False)
    services.reset()
    yield
    services.reset()


def tracker(domain, intent, text, slots=None, metadata=None, entities=None, ranking=None):
    values = {name: None for name in domain["slots"]}
    values.update(slots or {})
    message = {
        "intent": {"name": intent, "confidence": 0.9},
        "intent_ranking": ranking or [{"name": intent, "confidence": 0.9}],
        "entities": entities or [],
        "text": text,
        "metadata": metadata or {},
    }
    return Tracker("test-sender", values, message, [], False, None, {}, "action_listen")


def run(action, domain, *args, **kwargs):
    dispatcher = CollectingDispatcher()
    events = action.run(dispatcher, tracker(domain, *args, **kwargs), domain)
    return dispatcher.messages, {e["name"]: e["value"] for e in events if e["event"] == "slot"}


def customs(messages):
    return [m["custom"] for m in messages if m.get("custom")]


def test_question_with_buttons_and_custom_payload(domain):
    messages, slots = run(ActionGuichet(), domain, "rsa_prime_activite", "ma CAF ne me verse plus le RSA depuis trois mois")
    assert messages[0]["text"].startswith("Êtes-vous dans une situation d'urgence")
    assert [b["payload"] for b in messages[0]["buttons"]] == ["/affirm", "/deny", "/je_ne_sais_pas"]
    assert customs(messages)[0]["type"] == "question" and customs(messages)[0]["key"] == "detresse"
    assert slots["pending_question"] == "detresse" and slots["audience"] == "public"
    assert set(slots) <= set(domain["slots"])


def test_answer_public_and_agent(domain):
    state = {"topic": "rsa_prime_activite", "pending_question": "detresse", "request_text": "la caf ne me verse plus le rsa depuis trois mois"}
    public, slots = run(ActionGuichet(), domain, "affirm", "oui", slots=state)
    answer = customs(public)[0]
    assert answer["type"] == "answer" and answer["category"] == "urgent" and answer["demarche"] == "caf.urgence_rupture_droits"
    assert "Administration+" not in public[0]["text"] and slots["last_category"] == "urgent"
    agent, _ = run(ActionGuichet(), domain, "affirm", "oui", slots=state,
                   metadata={"audience": "agent", "agent_token": agent_code()})
    assert "Administration+" in agent[0]["text"]


def test_agent_claim_without_token_is_served_as_public(domain, monkeypatch):
    monkeypatch.setenv("GUICHET_AGENT_TOKEN", "jeton")
    state = {"topic": "rsa_prime_activite", "pending_question": "detresse", "request_text": "rsa plus versé depuis 3 mois"}
    messages, slots = run(ActionGuichet(), domain, "affirm", "oui", slots=state, metadata={"audience": "agent"})
    assert "Administration+" not in messages[0]["text"] and slots["audience"] == "public"
    messages, slots = run(ActionGuichet(), domain, "affirm", "oui", slots=state, metadata={"audience": "agent", "agent_token": "jeton"})
    assert "Administration+" in messages[0]["text"] and slots["audience"] == "agent"


def test_fallback_action_offers_choices(domain):
    ranking = [{"name": "nlu_fallback", "confidence": 0.35}, {"name": "aide_logement", "confidence": 0.3},
               {"name": "famille_naissance", "confidence": 0.2}, {"name": "greet", "confidence": 0.1}]
    messages, slots = run(ActionFallback(), domain, "nlu_fallback", "les sous du loyer", ranking=ranking)
    custom = customs(messages)[0]
    assert custom["type"] == "choose" and len(custom["options"]) == 2
    # the two démarches, then « Aucune de ces démarches »
    assert len(messages[0]["buttons"]) == 3 and messages[0]["buttons"][-1] == custom["none"]
    assert slots["misses"] == 1.0


def test_out_of_scope_counsellor_and_menu_actions(domain):
    messages, _ = run(ActionHorsSujet(), domain, "out_of_scope", "quel temps fait-il ?")
    assert customs(messages)[0]["type"] == "out_of_scope"
    messages, _ = run(ActionConseiller(), domain, "demander_conseiller", "je veux parler à quelqu'un")
    assert "conseiller France services" in messages[0]["text"]
    messages, _ = run(ActionMenu(), domain, "menu", "menu")
    custom = customs(messages)[0]
    assert len(custom["options"]) == 12 and len(custom["situations"]) >= 16
    assert len(messages[0]["buttons"]) == 12 + len(custom["situations"])


def test_distress_action(domain):
    messages, slots = run(ActionGuichet(), domain, "urgence", "je veux en finir")
    assert "3114" in messages[0]["text"] and slots["detresse"] == "oui"


def test_warm_up_trains_what_the_first_message_needs(monkeypatch):
    """The action server calls services.warm_up when it starts: the engine, the signal classifiers and the
    démarche-topic classifier are then ready before the first person writes."""
    from bot import multi

    monkeypatch.setattr(multi, "_classifiers", {})
    services.warm_up()
    assert services._guichet is not None and services._signals is not None
    assert len(multi._classifiers) == 1


def test_warm_up_without_a_knowledge_base_only_logs(monkeypatch, tmp_path, caplog):
    monkeypatch.setenv("GUICHET_DB_URL", f"sqlite:///{tmp_path / 'absent' / 'guichet.db'}")
    services.reset()
    services.warm_up()
    assert services._guichet is None
    assert "Préchargement de Guichet impossible" in caplog.text
