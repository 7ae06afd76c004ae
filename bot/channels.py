"""Guichet's REST input channel for Rasa: same URL and contract as Rasa's `rest` channel, plus
- personal data redacted before the NLU, the tracker store and the logs see the text;
- bad input answered politely (empty, no words, another language, too long, invalid JSON/UTF-8);
- metadata reduced to what Guichet uses, the counsellor token checked and replaced by a proof
  (a caller claiming the agent audience without the code is served as public);
- never silence: if Rasa produced nothing (action server down…), a French message says so.
"""
from __future__ import annotations

import logging
from typing import Any, Awaitable, Callable, Dict, List, Optional, Text

from rasa.core.channels.channel import CollectingOutputChannel, UserMessage
from rasa.core.channels.rest import RestInput
from sanic import Blueprint, response
from sanic.request import Request
from sanic.response import HTTPResponse

from bot.access import agent_code
from bot.inputs import UNAVAILABLE, Prepared, conversation_id, json_object, prepare

logger = logging.getLogger(__name__)
MAX_BODY = 2_000_000


def _message(sender: str, text: str, custom: Optional[Dict[str, Any]] = None) -> List[Dict[str, Any]]:
    messages = [{"recipient_id": sender, "text": text}]
    if custom is not None:
        messages.append({"recipient_id": sender, "custom": custom})
    return messages


class GuichetRestInput(RestInput):
    @classmethod
    def name(cls) -> Text:
        return "rest"

    @classmethod
    def from_credentials(cls, credentials: Optional[Dict[Text, Any]]) -> "GuichetRestInput":
        from bot.rasa_speedups import install

        install()  # Rasa builds its input channels once, at start: the right moment to patch it
        return cls()

    def blueprint(self, on_new_message: Callable[[UserMessage], Awaitable[Any]]) -> Blueprint:
        webhook = Blueprint("guichet_rest_webhook", __name__)

        @webhook.route("/", methods=["GET"])
        async def health(_request: Request) -> HTTPResponse:
            return response.json({"status": "ok"})

        @webhook.route("/webhook", methods=["POST"])
        async def receive(request: Request) -> HTTPResponse:
            body = request.body or b""
            if len(body) > MAX_BODY:
                return response.json({"error": "Message trop volumineux."}, status=413)
            data = json_object(body)
            if data is None:
                return response.json({"error": "Requête invalide : un objet JSON est attendu."}, status=400)
            sender = conversation_id(data.get("sender"))
            prepared = prepare(data.get("message"), data.get("metadata"), sender, agent_code())
            return response.json(await converse(on_new_message, prepared, sender, self.name()))

        return webhook


async def converse(
    on_new_message: Callable[[UserMessage], Awaitable[Any]], prepared: Prepared, sender: str, input_channel: str
) -> List[Dict[str, Any]]:
    """Runs one prepared turn through Rasa and returns every reply (never an empty list)."""
    messages: List[Dict[str, Any]] = []
    for notice in prepared.notices:
        messages += _message(sender, notice)
    if prepared.reply is not None:
        return messages + _message(sender, prepared.reply, prepared.custom)
    collector = CollectingOutputChannel()
    try:
        await on_new_message(
            UserMessage(prepared.text, collector, sender, input_channel=input_channel, metadata=prepared.metadata)
        )
    except Exception:  # noqa: BLE001 - the person gets a message, the log gets the trace
        logger.exception("Guichet: message processing failed")
    if not collector.messages:
        return messages + _message(sender, UNAVAILABLE, {"type": "unavailable"})
    return messages + collector.messages
