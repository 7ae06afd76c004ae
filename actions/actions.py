"""Rasa custom actions. They only translate: tracker -> bot.conversation.Turn -> events."""
from __future__ import annotations

import abc

from typing import Any, Dict, List, Text

from rasa_sdk import Action, Tracker
from rasa_sdk.events import SlotSet
from rasa_sdk.executor import CollectingDispatcher

from bot import services
from bot.conversation import Guichet, Turn, TurnResult
from bot.render import Reply


def turn_from_tracker(tracker: Tracker) -> Turn:
    message = tracker.latest_message or {}
    intent = (message.get("intent") or {}).get("name") or ""
    ranking = [(i.get("name"), float(i.get("confidence") or 0)) for i in message.get("intent_ranking") or []]
    audience = services.audience_from_metadata(message.get("metadata"), tracker.sender_id)
    return Turn(
        intent=intent,
        text=message.get("text") or "",
        confidence=float((message.get("intent") or {}).get("confidence") or 0),
        ranking=ranking,
        entities=message.get("entities") or [],
        slots=dict(tracker.current_slot_values()),
        audience=audience,
    )


def emit(dispatcher: CollectingDispatcher, result: TurnResult, audience: str) -> List[Dict[Text, Any]]:
    for reply in result.replies:
        send(dispatcher, reply)
    events = [SlotSet(key, value) for key, value in result.slots.items()]
    events.append(SlotSet("audience", audience))
    return events


def send(dispatcher: CollectingDispatcher, reply: Reply) -> None:
    dispatcher.utter_message(text=reply.text, buttons=reply.buttons or None)
    if reply.custom is not None:
        dispatcher.utter_message(json_message=reply.custom)


class GuichetAction(Action, abc.ABC):
    """A Rasa action that hands the turn to one method of bot.conversation.Guichet."""

    action_name: Text = ""

    def name(self) -> Text:
        return self.action_name

    @abc.abstractmethod
    def respond(self, guichet: Guichet, turn: Turn) -> TurnResult:
        """The Guichet method this action stands for."""

    def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[Text, Any]) -> List[Dict[Text, Any]]:
        turn = turn_from_tracker(tracker)
        return emit(dispatcher, self.respond(services.guichet(), turn), turn.audience)


class ActionGuichet(GuichetAction):
    action_name = "action_guichet"

    def respond(self, guichet: Guichet, turn: Turn) -> TurnResult:
        return guichet.handle(turn)


class ActionFallback(GuichetAction):
    action_name = "action_fallback"

    def respond(self, guichet: Guichet, turn: Turn) -> TurnResult:
        return guichet.fallback(turn)


class ActionHorsSujet(GuichetAction):
    action_name = "action_hors_sujet"

    def respond(self, guichet: Guichet, turn: Turn) -> TurnResult:
        return guichet.out_of_scope(turn)


class ActionConseiller(GuichetAction):
    action_name = "action_conseiller"

    def respond(self, guichet: Guichet, turn: Turn) -> TurnResult:
        return guichet.counsellor(turn)


class ActionMenu(GuichetAction):
    action_name = "action_menu"

    def respond(self, guichet: Guichet, turn: Turn) -> TurnResult:
        return guichet.menu(turn)
