"""Two measured improvements of Rasa 3.6, installed by Guichet's input channels when Rasa creates
them (before it loads the model).

1. CPU. Profiling the Rasa server under load (py-spy, bench/RESULTS.md) showed about a quarter of
   its CPU in `RemoteAction._validate_action_result`: Rasa calls `jsonschema.validate()` on every
   action server response, which re-checks the (constant) schema itself and rebuilds a validator
   each time. The replacement validates against the same schema with one validator built once:
   same result, same error message on invalid responses.
2. Memory. The prediction graph instantiates `SpacyNLP` twice (the NLU pipeline and the
   end-to-end featurisation of the policies), so `fr_core_news_md` (~430 MB resident) was loaded
   twice. `SpacyNLP.load_model` now returns the same loaded model for the same name (the spaCy
   `Language` object is only read at prediction time), without its named-entity recogniser, which
   nothing here uses and which took half of spaCy's time.

Both are tested in tests/test_rasa_speedups.py.
"""
from __future__ import annotations

from typing import Any, Dict, Text

_installed = False


def install() -> None:
    global _installed
    if _installed:
        return
    from jsonschema import ValidationError
    from jsonschema.exceptions import best_match
    from jsonschema.validators import validator_for
    from rasa.core.actions.action import RemoteAction
    from rasa.shared.constants import DOCS_BASE_URL

    schema = RemoteAction.action_response_format_spec()
    validator = validator_for(schema)(schema)

    def _validate_action_result(self: RemoteAction, result: Dict[Text, Any]) -> bool:
        error = best_match(validator.iter_errors(result))
        if error is None:
            return True
        assert isinstance(error, ValidationError)
        error.message += (
            ". Failed to validate Action server response from API, make sure your response from the "
            f"Action endpoint is valid. For more information about the format visit {DOCS_BASE_URL}/custom-actions"
        )
        raise error

    RemoteAction._validate_action_result = _validate_action_result
    _share_spacy_models()
    _installed = True


def _share_spacy_models() -> None:
    from rasa.nlu.utils.spacy_utils import SpacyNLP

    load = SpacyNLP.load_model
    loaded: Dict[Text, Any] = {}

    def load_model(spacy_model_name: Text):
        if spacy_model_name not in loaded:
            model = load(spacy_model_name)
            # Nothing of Guichet's pipeline reads spaCy's named entities (tokens, lemmas and word
            # vectors do not depend on them): the NER was half of spaCy's time per message.
            if "ner" in model.model.pipe_names:
                model.model.disable_pipe("ner")
            loaded[spacy_model_name] = model
        return loaded[spacy_model_name]

    SpacyNLP.load_model = staticmethod(load_model)
