"""Signals that cut across démarches: distress, rupture (a payment or right that stopped, a blocked
file) and out-of-scope requests, in any words.

The cue lists of `knowledge/` (conditions.yml `implied_by`, emergency.yml) are the floor: precise
and explainable, but they only know the words someone thought of. This module adds a classifier per
signal, trained on hundreds of varied phrasings (`data/signals/*.yml`, written for this purpose and
never taken from the evaluation sets): TF-IDF of words (1–2 grams) and characters (2–5 grams, robust
to typos, missing accents and SMS spelling) on the folded text, then a logistic regression.

Pure Python + scikit-learn, no Rasa import; trained on first use (about two seconds), once per
process (`bot.services.signals()`), deterministic.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Dict, Iterable, List, Mapping, Protocol, Sequence, Tuple

import yaml

from bot.text import fold

# signal -> (positive groups, negative groups) of the training file
SIGNALS: Mapping[str, Tuple[Tuple[str, ...], Tuple[str, ...]]] = {
    "detresse": (("detresse",), ("rupture", "calme", "hors_champ", "demarches")),
    "rupture": (("rupture",), ("calme", "hors_champ")),
    "hors_champ": (("hors_champ",), ("detresse", "rupture", "calme", "demarches")),
}


class SignalPort(Protocol):
    def scores(self, text: str) -> Dict[str, float]: ...


class NoSignals:
    """No classifier: the cue lists of knowledge/ alone decide."""

    def scores(self, text: str) -> Dict[str, float]:
        return {}


@dataclass
class _Model:
    vectorizer: object
    classifier: object


class SignalDetector:
    """One binary classifier per signal; `scores(text)` gives each signal's probability."""

    def __init__(self, groups: Mapping[str, Sequence[str]]):
        self._models: Dict[str, _Model] = {}
        for signal, (positive, negative) in SIGNALS.items():
            pos = _texts(groups, positive)
            neg = _texts(groups, negative)
            if pos and neg:
                self._models[signal] = _train(pos, neg)

    @classmethod
    def from_directory(cls, directory: Path, extra: Mapping[str, Sequence[str]] = ()) -> "SignalDetector":
        """`directory`: YAML files with a `signals:` mapping of group -> phrasings (merged)."""
        groups: Dict[str, List[str]] = {}
        for path in sorted(Path(directory).glob("*.yml")):
            data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
            for group, texts in (data.get("signals") or {}).items():
                groups.setdefault(group, []).extend(str(t) for t in texts or ())
        for group, texts in dict(extra or {}).items():
            groups.setdefault(group, []).extend(texts)
        return cls(groups)

    @property
    def signals(self) -> Tuple[str, ...]:
        return tuple(self._models)

    def scores(self, text: str) -> Dict[str, float]:
        folded = fold(text or "")
        if not folded.strip():
            return {}
        return {
            signal: float(model.classifier.predict_proba(model.vectorizer.transform([folded]))[0][1])
            for signal, model in self._models.items()
        }


def topic_examples(nlu_dir: Path) -> List[str]:
    """The démarche phrasings of Rasa's NLU data (`- intent: <topic>` examples), in-scope and calm or
    merely blocked: negatives for the distress and out-of-scope classifiers. Conversational intents
    (greetings, answers, urgence, hors_champ, out_of_scope…) are left out."""
    skip = {"urgence", "hors_champ", "out_of_scope", "greet", "goodbye", "thanks", "affirm", "deny",
            "je_ne_sais_pas", "menu", "choisir", "demander_conseiller", "suivante", "synthese"}
    texts: List[str] = []
    for path in sorted(Path(nlu_dir).glob("*.yml")):
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        for block in data.get("nlu") or ():
            if isinstance(block, dict) and block.get("intent") and block["intent"] not in skip:
                for line in str(block.get("examples") or "").splitlines():
                    line = line.strip()
                    if line.startswith("- "):
                        texts.append(_strip_annotations(line[2:]))
    return texts


def _strip_annotations(example: str) -> str:
    """`[CAF](operator)` -> `CAF` (Rasa's entity markup)."""
    import re

    return re.sub(r"\[([^\]]*)\]\([^)]*\)|\[([^\]]*)\]\{[^}]*\}", lambda m: m.group(1) or m.group(2), example)


def _texts(groups: Mapping[str, Sequence[str]], names: Iterable[str]) -> List[str]:
    return list(dict.fromkeys(fold(t) for name in names for t in groups.get(name, ()) if str(t).strip()))


def _train(positive: List[str], negative: List[str]) -> _Model:
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import FeatureUnion

    vectorizer = FeatureUnion([
        ("words", TfidfVectorizer(analyzer="word", ngram_range=(1, 2), token_pattern=r"[a-z0-9]+", sublinear_tf=True,
                                  min_df=1)),
        ("chars", TfidfVectorizer(analyzer="char_wb", ngram_range=(2, 5), sublinear_tf=True, min_df=2)),
    ])
    texts = positive + negative
    labels = [1] * len(positive) + [0] * len(negative)
    features = vectorizer.fit_transform(texts)
    classifier = LogisticRegression(C=8.0, class_weight="balanced", max_iter=2000, solver="liblinear")
    classifier.fit(features, labels)
    return _Model(vectorizer, classifier)
