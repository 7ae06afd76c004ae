"""Guichet's own Rasa NLU component (declared in config.yml).

Distress first, whatever the intent: a message that matches a pattern of `knowledge/emergency.yml`
(suicidal thoughts, violence, a child in danger, no roof, nothing left to eat…) but was classified
as a conversational intent (greeting, thanks, out of scope, low confidence…) is given the `urgence`
intent, so that the urgent path answers instead of a greeting or a choice of démarches. Topic
intents are kept: for them the decision engine already puts the distress first, with the
operator's urgent row.
"""
from __future__ import annotations

import re
from typing import Any, Dict, List, Optional, Text

from rasa.engine.graph import ExecutionContext, GraphComponent
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.nlu.classifiers.classifier import IntentClassifier
from rasa.shared.nlu.constants import INTENT, INTENT_NAME_KEY, INTENT_RANKING_KEY, PREDICTED_CONFIDENCE_KEY, TEXT
from rasa.shared.nlu.training_data.message import Message

URGENT_INTENT = "urgence"


@DefaultV1Recipe.register(DefaultV1Recipe.ComponentType.INTENT_CLASSIFIER, is_trainable=False)
class EmergencyIntent(GraphComponent, IntentClassifier):
    @staticmethod
    def get_default_config() -> Dict[Text, Any]:
        return {
            # intents that the distress patterns override (everything but the démarche topics)
            "override_intents": [
                "greet", "goodbye", "thanks", "affirm", "deny", "je_ne_sais_pas", "menu",
                "demander_conseiller", "out_of_scope", "hors_champ", "nlu_fallback", "suivante", "synthese",
            ],
        }

    def __init__(self, config: Dict[Text, Any], patterns: Optional[List[re.Pattern]] = None) -> None:
        self._override = set(config.get("override_intents") or [])
        self._patterns = patterns  # loaded on first use from the knowledge directory

    @classmethod
    def create(
        cls,
        config: Dict[Text, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
    ) -> "EmergencyIntent":
        from bot.rasa_console import install

        install()  # `echo bonjour | rasa shell` ends after the answer (Rasa 3.6 hangs at the end of input)
        return cls(config)

    def _distress(self, text: str) -> bool:
        from bot.engine import DecisionEngine

        if self._patterns is None:
            from bot.config import get_settings
            from bot.knowledge.loader import load_emergency_kinds

            kinds = load_emergency_kinds(get_settings().knowledge_dir)
            self._patterns = [re.compile(p) for kind in kinds.values() for p in kind.patterns]
        norm = DecisionEngine.normalise(text)
        return any(p.search(norm) for p in self._patterns)

    def process(self, messages: List[Message]) -> List[Message]:
        for message in messages:
            intent = message.get(INTENT) or {}
            text = message.get(TEXT) or ""
            if intent.get(INTENT_NAME_KEY) not in self._override or text.startswith("/") or not self._distress(text):
                continue
            urgent = {INTENT_NAME_KEY: URGENT_INTENT, PREDICTED_CONFIDENCE_KEY: 1.0}
            ranking = [r for r in message.get(INTENT_RANKING_KEY) or [] if r.get(INTENT_NAME_KEY) != URGENT_INTENT]
            message.set(INTENT, urgent, add_to_output=True)
            message.set(INTENT_RANKING_KEY, [urgent] + ranking, add_to_output=True)
        return messages
