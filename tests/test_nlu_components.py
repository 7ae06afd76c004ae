"""The distress override of the NLU pipeline (bot/nlu_components.py), without training a model."""
from rasa.shared.nlu.constants import INTENT, INTENT_RANKING_KEY, TEXT
from rasa.shared.nlu.training_data.message import Message

from bot.nlu_components import EmergencyIntent


def classified(text, intent, confidence=0.9):
    message = Message(data={TEXT: text})
    message.set(INTENT, {"name": intent, "confidence": confidence})
    message.set(INTENT_RANKING_KEY, [{"name": intent, "confidence": confidence}, {"name": "urgence", "confidence": 0.01}])
    return message


def test_conversational_intents_with_distress_become_urgent():
    component = EmergencyIntent(EmergencyIntent.get_default_config())
    messages = [
        classified("bonjour, je veux en finir", "greet"),
        classified("merci, mon mari me frappe", "thanks"),
        classified("je dors dehors depuis hier", "nlu_fallback", 0.3),
        classified("mon enfant est en danger", "out_of_scope"),
    ]
    for message in component.process(messages):
        assert message.get(INTENT) == {"name": "urgence", "confidence": 1.0}
        ranking = message.get(INTENT_RANKING_KEY)
        assert ranking[0]["name"] == "urgence" and [r["name"] for r in ranking].count("urgence") == 1


def test_topics_buttons_and_ordinary_messages_are_untouched():
    component = EmergencyIntent(EmergencyIntent.get_default_config())
    cases = [
        classified("la caf ne me verse plus le rsa et je veux en finir", "rsa_prime_activite"),  # the engine handles it
        classified("/affirm", "affirm"),
        classified("bonjour", "greet"),
        classified("merci pour les coups de main", "thanks"),
    ]
    expected = [m.get(INTENT)["name"] for m in cases]
    assert [m.get(INTENT)["name"] for m in component.process(cases)] == expected


# -- TopicBlend: DIET's reading of the topics blended with a TF-IDF model trained on the same data ---

from rasa.engine.graph import ExecutionContext, GraphSchema  # noqa: E402
from rasa.engine.storage.local_model_storage import LocalModelStorage  # noqa: E402
from rasa.engine.storage.resource import Resource  # noqa: E402
from rasa.shared.nlu.training_data.training_data import TrainingData  # noqa: E402

from bot.nlu_components import TopicBlend  # noqa: E402

TOPIC_EXAMPLES = {
    "carte_grise": ["je dois refaire ma carte grise", "changement de titulaire du certificat d'immatriculation",
                    "carte grise de ma voiture d'occasion", "immatriculer mon vehicule", "ma carte grise est perdue"],
    "carte_vitale": ["j'ai perdu ma carte vitale", "commander une nouvelle carte vitale",
                     "ma carte vitale ne marche plus", "carte vitale volee", "refaire la carte vitale de mon fils"],
    "greet": ["bonjour", "salut", "bonsoir"],
}


def diet_says(text, ranking):
    message = Message(data={TEXT: text})
    message.set(INTENT, {"name": ranking[0][0], "confidence": ranking[0][1]})
    message.set(INTENT_RANKING_KEY, [{"name": n, "confidence": c} for n, c in ranking])
    return message


def trained_blend(tmp_path):
    (tmp_path / "storage").mkdir()
    storage = LocalModelStorage(tmp_path / "storage")
    resource = Resource("topic_blend")
    context = ExecutionContext(GraphSchema({}), "test")
    component = TopicBlend.create(TopicBlend.get_default_config(), storage, resource, context)
    examples = [Message(data={TEXT: t, INTENT: i}) for i, texts in TOPIC_EXAMPLES.items() for t in texts]
    component.train(TrainingData(training_examples=examples))
    return TopicBlend.load(TopicBlend.get_default_config(), storage, resource, context)  # as Rasa loads it


def test_the_second_reading_settles_a_hesitation_of_diet_between_topics(tmp_path):
    blend = trained_blend(tmp_path)
    message = diet_says("g perdu ma carte vital au marche", [("carte_grise", 0.46), ("carte_vitale", 0.44), ("greet", 0.10)])
    blend.process([message])
    ranking = {r["name"]: r["confidence"] for r in message.get(INTENT_RANKING_KEY)}
    assert message.get(INTENT)["name"] == "carte_vitale"
    assert ranking["greet"] == 0.10  # a conversational intent keeps what DIET gave it
    assert abs(ranking["carte_grise"] + ranking["carte_vitale"] - 0.90) < 1e-9  # topics share DIET's mass


def test_a_topic_diet_is_sure_of_stays_and_buttons_are_untouched(tmp_path):
    blend = trained_blend(tmp_path)
    sure = diet_says("je dois refaire ma carte grise", [("carte_grise", 0.9), ("carte_vitale", 0.05), ("greet", 0.05)])
    button = diet_says("/carte_vitale", [("carte_vitale", 1.0)])
    greeting = diet_says("bonjour", [("greet", 0.97), ("carte_vitale", 0.03)])
    blend.process([sure, button, greeting])
    assert sure.get(INTENT)["name"] == "carte_grise" and sure.get(INTENT)["confidence"] > 0.9
    assert button.get(INTENT_RANKING_KEY) == [{"name": "carte_vitale", "confidence": 1.0}]
    assert greeting.get(INTENT)["name"] == "greet" and greeting.get(INTENT)["confidence"] == 0.97


# -- BucketedDIETClassifier: DIET trained on batches of examples of similar length ----------------

import numpy as np  # noqa: E402
from rasa.utils.tensorflow.constants import IDS, LABEL, SEQUENCE_LENGTH  # noqa: E402
from rasa.utils.tensorflow.data_generator import RasaBatchDataGenerator  # noqa: E402
from rasa.utils.tensorflow.model_data import FeatureArray, RasaModelData  # noqa: E402

from bot.nlu_components import LengthBucketedBatches  # noqa: E402


def training_like_data(n=900, seed=0):
    """Examples shaped like Guichet's: mostly short, 3 % long stories, a dozen topics."""
    rng = np.random.default_rng(seed)
    lengths = np.where(rng.random(n) < 0.03, rng.integers(45, 60, n), rng.integers(3, 25, n))
    return RasaModelData(label_key=LABEL, label_sub_key=IDS, data={
        TEXT: {SEQUENCE_LENGTH: [FeatureArray(lengths, number_of_dimensions=1)],
               "example": [FeatureArray(np.arange(n), number_of_dimensions=1)]},
        LABEL: {IDS: [FeatureArray(rng.integers(0, 12, n)[:, None], number_of_dimensions=2)]},
    })


def epoch_batches(generator):
    """(lengths, example numbers) of each batch of the generator's current epoch."""
    size = generator._current_batch_size
    lengths = np.asarray(generator._data[TEXT][SEQUENCE_LENGTH][0])
    examples = np.asarray(generator._data[TEXT]["example"][0])
    return [(lengths[i:i + size], examples[i:i + size]) for i in range(0, len(lengths), size)]


def test_bucketed_batches_hold_the_same_examples_with_far_less_padding():
    model_data = training_like_data()
    padded = {}
    for name, cls in (("rasa", RasaBatchDataGenerator), ("bucketed", LengthBucketedBatches)):
        np.random.seed(3)  # the same shuffle and balance of Rasa underneath
        generator = cls(model_data, batch_size=[64, 256], epochs=10, batch_strategy="balanced")
        seen, padding = [], 0
        for _ in range(3):
            batches = epoch_batches(generator)
            assert len(batches) == len(generator)
            padding += sum(int(lengths.max()) * len(lengths) for lengths, _ in batches)
            seen.append(sorted(int(e) for _, examples in batches for e in examples))
            generator.on_epoch_end()
        padded[name] = (padding, seen)
    assert padded["bucketed"][1] == padded["rasa"][1]  # every epoch: the very same examples
    assert padded["bucketed"][0] < 0.5 * padded["rasa"][0]
