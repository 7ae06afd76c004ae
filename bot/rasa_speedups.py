"""One measured speed-up of Rasa 3.6, installed by Guichet's input channels when Rasa starts them.

Profiling the Rasa server under load (py-spy, bench/RESULTS.md) showed about a quarter of its CPU
in `RemoteAction._validate_action_result`: Rasa calls `jsonschema.validate()` on every action
server response, which re-checks the (constant) schema itself and rebuilds a validator each time.
The replacement validates against the same schema with one validator built once: same result, same
error message on invalid responses (tested in tests/test_rasa_speedups.py).
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
    _installed = True
