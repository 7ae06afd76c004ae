"""`rasa shell` ends at the end of its input, as a command line tool should.

With Rasa 3.6, `echo bonjour | rasa shell` prints the answer, then hangs: at the end of standard
input prompt_toolkit raises EOFError in Rasa's console task, which dies without stopping the
server. Here the end of the input is read as Rasa's own `/stop`. Installed by the pipeline's
Guichet component (bot.nlu_components.EmergencyIntent) when Rasa loads the model: the only Guichet
code that runs in a `rasa shell` process. Tested in tests/test_rasa_cli.py.
"""
from __future__ import annotations

from typing import Any, Dict, Optional, Text


def install() -> None:
    from rasa.core.channels import console

    original = console._get_user_input
    if getattr(original, "guichet_eof", False):
        return

    async def _get_user_input(previous_response: Optional[Dict[Text, Any]]) -> Optional[Text]:
        try:
            return await original(previous_response)
        except EOFError:
            return None  # what `/stop` does: record_messages ends, Rasa stops the server

    _get_user_input.guichet_eof = True  # type: ignore[attr-defined]
    console._get_user_input = _get_user_input
