"""Guichet's own Rasa NLU components (declared in config.yml).

`TopicBlend` (after DIETClassifier): a second opinion on the démarche topic. A linear model on
TF-IDF of words and characters (bot.multi.TopicClassifier: robust to typos, missing accents and SMS
spelling, where DIET is strong on paraphrases) is trained on the same examples; the two readings of
the démarche topics are combined as a product of experts (a weighted geometric mean of the two
probabilities, renormalised over the topics), so a topic wins when both find it likely. The
probability DIET gives to the conversational intents (greeting, affirm, out of scope…) is kept as
it is: the blend only re-ranks the topics inside the share DIET gave them.

`EmergencyIntent`:

Distress first, whatever the intent: a message that matches a pattern of `knowledge/emergency.yml`
(suicidal thoughts, violence, a child in danger, no roof, nothing left to eat…) but was classified
as a conversational intent (greeting, thanks, out of scope, low confidence…) is given the `urgence`
intent, so that the urgent path answers instead of a greeting or a choice of démarches. Topic
intents are kept: for them the decision engine already puts the distress first, with the
operator's urgent row.
"""
from __future__ import annotations

import math
import pickle
import re
from contextlib import contextmanager
from typing import Any, Dict, Iterator, List, Optional, Text

import numpy as np

from rasa.engine.graph import ExecutionContext, GraphComponent
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.nlu.classifiers.classifier import IntentClassifier
from rasa.nlu.classifiers.diet_classifier import DIETClassifier
from rasa.utils import train_utils
from rasa.utils.tensorflow.constants import SEQUENCE_LENGTH
from rasa.utils.tensorflow.data_generator import RasaBatchDataGenerator
from rasa.utils.tensorflow.model_data import Data
from rasa.shared.nlu.constants import INTENT, INTENT_NAME_KEY, INTENT_RANKING_KEY, PREDICTED_CONFIDENCE_KEY, TEXT
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData

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


_BLEND_FILE = "topic_blend.pkl"


@DefaultV1Recipe.register(DefaultV1Recipe.ComponentType.INTENT_CLASSIFIER, is_trainable=True)
class TopicBlend(GraphComponent, IntentClassifier):
    @staticmethod
    def get_default_config() -> Dict[Text, Any]:
        from bot.multi import CONVERSATIONAL

        return {
            # weight of the TF-IDF model in the geometric mean (DIET has 1 - weight); chosen on the dev
            # half of the challenge sets (bench/RESULTS.md)
            "weight": 0.3,
            # probability floor of a topic missing from DIET's ranking (ranking_length)
            "floor": 1e-4,
            # intents that are not démarche topics: never blended
            "exclude_intents": sorted(CONVERSATIONAL | {"nlu_fallback"}),
            "ranking_length": 10,
        }

    def __init__(self, config: Dict[Text, Any], model_storage: ModelStorage, resource: Resource,
                 classifier: Optional[Any] = None) -> None:
        self._config = config
        self._storage = model_storage
        self._resource = resource
        self._classifier = classifier

    @classmethod
    def create(cls, config: Dict[Text, Any], model_storage: ModelStorage, resource: Resource,
               execution_context: ExecutionContext) -> "TopicBlend":
        return cls(config, model_storage, resource)

    @classmethod
    def load(cls, config: Dict[Text, Any], model_storage: ModelStorage, resource: Resource,
             execution_context: ExecutionContext, **kwargs: Any) -> "TopicBlend":
        classifier = None
        try:
            with model_storage.read_from(resource) as directory:
                classifier = pickle.loads((directory / _BLEND_FILE).read_bytes())
        except (ValueError, FileNotFoundError):
            pass  # nothing trained (no topic examples): DIET's reading is kept
        return cls(config, model_storage, resource, classifier)

    def train(self, training_data: TrainingData) -> Resource:
        from bot.multi import TopicClassifier

        excluded = set(self._config["exclude_intents"])
        examples = [(m.get(TEXT), m.get(INTENT)) for m in training_data.intent_examples
                    if m.get(TEXT) and m.get(INTENT) not in excluded]
        if len({label for _, label in examples}) >= 2:
            self._classifier = TopicClassifier(examples)
            with self._storage.write_to(self._resource) as directory:
                (directory / _BLEND_FILE).write_bytes(pickle.dumps(self._classifier))
        return self._resource

    def blend(self, text: str, ranking: List[Dict[Text, Any]]) -> List[Dict[Text, Any]]:
        """DIET's ranking with the démarche topics re-ranked by the product of the two readings."""
        if self._classifier is None or not ranking or not text.strip() or text.startswith("/"):
            return ranking
        topics = set(self._classifier.topics)
        diet = {r[INTENT_NAME_KEY]: float(r[PREDICTED_CONFIDENCE_KEY]) for r in ranking}
        mass = sum(p for name, p in diet.items() if name in topics)
        if mass <= 0:
            return ranking
        weight, floor = float(self._config["weight"]), float(self._config["floor"])
        # each reading contributes its first `ranking_length` topics; the others get the floor (a topic
        # neither reading ranks high stays out of the way)
        second = dict(self._classifier.rank(text, top=int(self._config["ranking_length"])))
        product = {t: math.exp((1 - weight) * math.log(diet.get(t, 0.0) + floor)
                               + weight * math.log(second.get(t, 0.0) + floor)) for t in topics}
        total = sum(product.values())
        scores = {name: p for name, p in diet.items() if name not in topics}
        scores.update({t: mass * p / total for t, p in product.items()})
        best = sorted(scores.items(), key=lambda item: -item[1])[: int(self._config["ranking_length"])]
        return [{INTENT_NAME_KEY: name, PREDICTED_CONFIDENCE_KEY: p} for name, p in best]

    def process(self, messages: List[Message]) -> List[Message]:
        for message in messages:
            ranking = message.get(INTENT_RANKING_KEY) or []
            blended = self.blend(message.get(TEXT) or "", ranking)
            if blended is not ranking:
                message.set(INTENT, dict(blended[0]), add_to_output=True)
                message.set(INTENT_RANKING_KEY, blended, add_to_output=True)
        return messages


class LengthBucketedBatches(RasaBatchDataGenerator):
    """Rasa's batch generator, with each batch made of examples of similar length.

    A batch is padded to its longest example. With Rasa's shuffled and balanced batches, almost
    every batch holds one of the few long stories of the training data (3 % are over 40 tokens, the
    mean is 14), so the transformer mostly computes padding. After Rasa's shuffle and balance, the
    examples are sorted by length inside windows of `window` batches, cut into batches, and the
    batches of the epoch are shuffled: each batch still mixes the topics of its window, and each
    epoch holds the very examples Rasa's shuffle and balance chose.
    """

    window = 16

    def _shuffle_and_balance(self, batch_size: int) -> Data:
        data = super()._shuffle_and_balance(batch_size)
        lengths = np.asarray(data[TEXT][SEQUENCE_LENGTH][0])
        span = batch_size * self.window
        batches = []
        for start in range(0, len(lengths), span):
            ids = np.arange(start, min(start + span, len(lengths)))
            ids = ids[np.argsort(lengths[ids], kind="stable")]
            batches += [ids[i:i + batch_size] for i in range(0, len(ids), batch_size)]
        full = [b for b in batches if len(b) == batch_size]
        rest = [b for b in batches if len(b) != batch_size]  # a short batch stays last, as in Rasa
        order = [full[i] for i in np.random.permutation(len(full))] + rest
        return self.model_data._data_for_ids(data, np.concatenate(order))


@contextmanager
def _length_bucketed_batches() -> Iterator[None]:
    """DIETClassifier.train builds its generator through rasa.utils.train_utils: swap the class
    there for the length of one training (the graph trains its components one after another)."""
    saved = train_utils.RasaBatchDataGenerator
    train_utils.RasaBatchDataGenerator = LengthBucketedBatches
    try:
        yield
    finally:
        train_utils.RasaBatchDataGenerator = saved


@DefaultV1Recipe.register(
    [DefaultV1Recipe.ComponentType.INTENT_CLASSIFIER, DefaultV1Recipe.ComponentType.ENTITY_EXTRACTOR],
    is_trainable=True,
)
class BucketedDIETClassifier(DIETClassifier):
    """DIETClassifier trained on length-bucketed batches (`LengthBucketedBatches`): the same model,
    loss and epochs, 2.4 times less time per epoch on this data (bench/RESULTS.md). Prediction,
    persistence and loading are DIET's own."""

    def train(self, training_data: TrainingData) -> Resource:
        with _length_bucketed_batches():
            return super().train(training_data)
