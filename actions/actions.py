"""Rasa custom actions. They only translate: tracker -> bot.conversation.Turn -> events."""
from __future__ import annotations

from typing import Any, Dict, List, Text

from rasa_sdk import Action, Tracker
from rasa_sdk.events import SlotSet
from rasa_sdk.executor import CollectingDispatcher

from bot import services
from bot.conversation import Turn, TurnResult
from bot.render import Reply


def turn_from_tracker(tracker: Tracker) -> Turn:
    message = tracker.latest_message or {}
    intent = (message.get("intent") or {}).get("name") or ""
    ranking = [(i.get("name"), float(i.get("confidence") or 0)) for i in message.get("intent_ranking") or []]
    audience = services.audience_from_metadata(message.get("metadata"))
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


class ActionGuichet(Action):
    def name(self) -> Text:
        return "action_guichet"

    def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[Text, Any]) -> List[Dict[Text, Any]]:
        turn = turn_from_tracker(tracker)
        return emit(dispatcher, services.guichet().handle(turn), turn.audience)


class ActionFallback(Action):
    def name(self) -> Text:
        return "action_fallback"

    def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[Text, Any]) -> List[Dict[Text, Any]]:
        turn = turn_from_tracker(tracker)
        return emit(dispatcher, services.guichet().fallback(turn), turn.audience)


class ActionHorsSujet(Action):
    def name(self) -> Text:
        return "action_hors_sujet"

    def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[Text, Any]) -> List[Dict[Text, Any]]:
        turn = turn_from_tracker(tracker)
        return emit(dispatcher, services.guichet().out_of_scope(turn), turn.audience)


class ActionConseiller(Action):
    def name(self) -> Text:
        return "action_conseiller"

    def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[Text, Any]) -> List[Dict[Text, Any]]:
        turn = turn_from_tracker(tracker)
        return emit(dispatcher, services.guichet().counsellor(turn), turn.audience)


class ActionMenu(Action):
    def name(self) -> Text:
        return "action_menu"

    def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[Text, Any]) -> List[Dict[Text, Any]]:
        turn = turn_from_tracker(tracker)
        return emit(dispatcher, services.guichet().menu(turn), turn.audience)
