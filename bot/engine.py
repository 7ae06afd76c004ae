"""The decision engine: from a topic and the facts known so far, the next question or the outcome.

Pure Python, no Rasa import. The knowledge comes through a small port (`KnowledgePort`),
implemented by `bot.knowledge.repository.KnowledgeRepository` and by in-memory fakes in tests.

Rules (the référentiel's decision logic):
- facts are `oui` / `non`, or `inconnu` once the person answered "je ne sais pas"; facts implied by
  the text (conditions.yml `implied_by`, emergency.yml) count as known, answers always win;
- a row is a candidate when none of its conditions contradicts a known fact; an urgent row with
  conditions is only considered once one of them is known to hold (urgency is never assumed);
- distress first: when `detresse` is `oui`, the topic's urgent rows, else the operator's urgent
  rows, answer — with the national emergency numbers of the kinds detected in the text;
- urgency cuts across topics: when the text shows a rupture (a payment or right that stopped, a
  blocked file: `bloquee` known `oui`) or a sign of distress (`bot.signals`), the urgent rows of the
  request's operator join the candidates whatever the topic; an urgent row whose conditions all hold
  answers; otherwise the distress question is asked first (once: `detresse` is kept for the whole
  conversation), since a missed urgent situation costs far more than a question;
- a question is asked only when it is decisive: its answers lead to different categories. Among
  decisive questions, the first in conditions.yml order that may be asked (`askable`, `ask_when`);
- a general row of an operator (`general_when`, « Présentation générale des démarches »: the MSA
  explains a refusal or a decision, whatever the benefit) answers instead of the topic's niveau 1
  rows when its facts are known to hold (said in the words or answered);
- when nothing decisive is left, unknown facts take their default, the row that fits the defaults
  and the person's words best is the outcome, and the rows the other answers would have led to
  become caveats ("si … : …").
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date
from typing import Callable, Dict, Iterable, List, Mapping, Optional, Protocol, Sequence, Tuple

from bot.knowledge.types import ConditionDef, Demarche, EmergencyKind, EmergencyNumber
from bot.signals import NoSignals, SignalPort
from bot.text import plain, spelled_durations, terms

UNKNOWN = "inconnu"
ANSWERS = ("oui", "non", UNKNOWN)
DISTRESS = "detresse"
MIN_TERMS_OUT_OF_SCOPE = 3  # content words below which a message is never refused as out of scope
BLOCKED = "bloquee"


@dataclass(frozen=True)
class Thresholds:
    """Probabilities of bot.signals above which a signal counts (chosen on the challenge dev half)."""

    distress_ask: float = 0.3  # a sign of distress: the distress question is asked
    rupture_ask: float = 0.4  # a rupture: the urgent rows join and the deciding questions are asked
    out_of_scope: float = 0.35  # not a démarche of the référentiel, although the NLU chose a topic
    out_of_scope_unsure: float = 0.25  # the same when the NLU hesitated (instead of a choice of démarches)
    # the surer the NLU of its topic, the more the out-of-scope classifier must say to refuse: per point of
    # NLU confidence above one half (at 0.9: 0.35 + 0.36); on dev + fresh 1–9 it kept every refusal of a
    # request out of the référentiel and spared 11 of 19 in-scope requests refused
    out_of_scope_per_confidence: float = 0.9


class KnowledgePort(Protocol):
    def topic(self, topic: str) -> List[Demarche]: ...

    def urgent_rows(self, operator: str) -> List[Demarche]: ...

    def general_rows(self, operator: str) -> List[Demarche]: ...

    def conditions(self) -> Dict[str, ConditionDef]: ...

    def emergency(self) -> Dict[str, EmergencyKind]: ...

    def expand_terms(self, text: str) -> List[str]: ...


@dataclass(frozen=True)
class Question:
    key: str
    topic: str
    condition: ConditionDef
    candidates: Tuple[str, ...]
    # violence, suicide, danger, no shelter detected: the numbers come with the question, never later
    emergencies: Tuple[EmergencyKind, ...] = ()

    @property
    def numbers(self) -> Tuple[EmergencyNumber, ...]:
        return _numbers(self.emergencies)


@dataclass(frozen=True)
class Caveat:
    """What the answer would be if fact `key` had value `value`."""

    key: str
    value: str
    demarche: Demarche


@dataclass(frozen=True)
class Outcome:
    demarche: Optional[Demarche]  # None: distress with no operator known
    topic: Optional[str]
    facts: Dict[str, str]
    assumed: Dict[str, str] = field(default_factory=dict)  # unknown facts that took their default
    caveats: Tuple[Caveat, ...] = ()
    emergencies: Tuple[EmergencyKind, ...] = ()

    @property
    def numbers(self) -> Tuple[EmergencyNumber, ...]:
        return _numbers(self.emergencies)


def _numbers(emergencies: Iterable[EmergencyKind]) -> Tuple[EmergencyNumber, ...]:
    seen, result = set(), []
    for kind in emergencies:
        for number in kind.numbers:
            if number.value not in seen:
                seen.add(number.value)
                result.append(number)
    return tuple(result)


class UnknownTopic(LookupError):
    pass


def _compiled(patterns: Iterable[str]) -> List[re.Pattern]:
    return [re.compile(p) for p in patterns]


class DecisionEngine:
    def __init__(self, knowledge: KnowledgePort, signals: Optional[SignalPort] = None,
                 thresholds: Thresholds = Thresholds(), today: Callable[[], date] = date.today):
        self.knowledge = knowledge
        self.today = today  # « depuis mars » is counted to today's month unless the text says which
        self.signals = signals or NoSignals()
        self.thresholds = thresholds
        self.conditions: Dict[str, ConditionDef] = knowledge.conditions()
        self.order = {key: i for i, key in enumerate(self.conditions)}
        self._implied = {
            key: {value: _compiled(patterns) for value, patterns in cond.implied_by.items()}
            for key, cond in self.conditions.items()
        }
        self.emergency_kinds = knowledge.emergency()
        self._emergency = {key: _compiled(kind.patterns) for key, kind in self.emergency_kinds.items()}

    # -- facts ------------------------------------------------------------------------

    @staticmethod
    def normalise(text: str) -> str:
        return plain(text)

    def emergencies(self, text: str) -> Tuple[EmergencyKind, ...]:
        norm = self.normalise(text)
        return tuple(
            self.emergency_kinds[key] for key, patterns in self._emergency.items() if any(p.search(norm) for p in patterns)
        )

    def implied_facts(self, text: str) -> Dict[str, str]:
        """Facts the text makes obvious ("je suis agriculteur" -> exploitant_agricole: oui, msa: oui)."""
        norm = spelled_durations(self.normalise(text), self.today().month)
        facts: Dict[str, str] = {}
        for key, by_value in self._implied.items():
            hits = [value for value, patterns in by_value.items() if any(p.search(norm) for p in patterns)]
            if len(hits) == 1:
                facts[key] = hits[0]
        if self.emergencies(text):
            facts[DISTRESS] = "oui"
        return self._close(facts)

    def _score(self, text: str, signal: str) -> float:
        return self.signals.scores(text).get(signal, 0.0) if text else 0.0

    def beyond_referentiel(self, text: str, nlu_sure: bool, confidence: float = 0.0) -> bool:
        """The request is none of the référentiel's démarches (bot.signals' out-of-scope classifier);
        `confidence`: the NLU's in the topic it chose, when `nlu_sure`."""
        if len(terms(text)) < MIN_TERMS_OUT_OF_SCOPE:  # « logement », « les sous du loyer »: too short to refuse
            return False
        if nlu_sure:
            threshold = self.thresholds.out_of_scope + self.thresholds.out_of_scope_per_confidence * max(
                0.0, confidence - 0.5)
        else:
            threshold = self.thresholds.out_of_scope_unsure
        return self._score(text, "hors_champ") >= threshold

    def alarm(self, text: str, distress: Optional[float] = None, rupture: Optional[float] = None) -> bool:
        """A sign of distress or of a rupture in any words (the classifiers), below the certainty of
        the cue lists: enough to consider the urgent rows and ask, never to answer urgent alone. By
        default at the thresholds where the engine asks; `distress`, `rupture`: other thresholds."""
        return (self._score(text, DISTRESS) >= (self.thresholds.distress_ask if distress is None else distress)
                or self._score(text, "rupture") >= (self.thresholds.rupture_ask if rupture is None else rupture))

    def interrupted(self, text: str, threshold: Optional[float] = None) -> bool:
        """A payment or a right that stopped, said in any words (the rupture classifier; by default at
        the threshold where the engine asks)."""
        return self._score(text, "rupture") >= (self.thresholds.rupture_ask if threshold is None else threshold)

    def _close(self, facts: Dict[str, str]) -> Dict[str, str]:
        """Add what known facts imply (conditions.yml `implies`); explicit facts are never overridden."""
        result = dict(facts)
        changed = True
        while changed:
            changed = False
            for key, value in list(result.items()):
                cond = self.conditions.get(key)
                for implied_key, implied_value in (cond.implies.get(value, {}) if cond else {}).items():
                    if implied_key not in result:
                        result[implied_key] = implied_value
                        changed = True
        return result

    def merge_facts(self, answers: Mapping[str, str], text: str) -> Dict[str, str]:
        """Answers (oui/non/inconnu) over facts implied by the text, then implications."""
        facts = {k: v for k, v in self.implied_facts(text).items()}
        for key, value in answers.items():
            if key in self.conditions and value in ANSWERS:
                facts[key] = value
        known = {k: v for k, v in facts.items() if v != UNKNOWN}
        closed = self._close(known)
        closed.update({k: v for k, v in facts.items() if v == UNKNOWN and k not in closed})
        return closed

    # -- decision ---------------------------------------------------------------------

    def decide(
        self, topic: str, answers: Mapping[str, str] = (), text: str = "", operator: Optional[str] = None,
        may_ask: bool = True,
    ) -> "Question | Outcome":
        """`operator`: the operator the person named, if any (preferred for the urgent path);
        `may_ask`: False once the question budget is spent (unknown facts then take their default)."""
        rows = self.knowledge.topic(topic)
        if not rows:
            raise UnknownTopic(topic)
        facts = self.merge_facts(dict(answers or {}), text)
        emergencies = self.emergencies(text)
        known = {k: v for k, v in facts.items() if v in ("oui", "non")}
        alarm = self.alarm(text)  # a sign of distress or a rupture

        candidates = [r for r in rows if self._compatible(r, known) and self._active(r, known)]
        # urgency cuts across topics: the urgent rows of the request's operator(s) join the candidates
        alarm = alarm or known.get(BLOCKED) == "oui" or known.get(DISTRESS) == "oui"
        if operator is None or not self.knowledge.urgent_rows(operator):
            # whose urgent route: the named operator's, else the request's (MSA only when known)
            operator = self.operator_for_distress(_unique(r.operator for r in (candidates or rows)), known)
        if alarm and operator:
            ids = {r.id for r in candidates}
            candidates += [r for r in self.knowledge.urgent_rows(operator) if r.id not in ids and self._compatible(r, known)]
        # never-asked facts, and those the person could not answer (« je ne sais pas »), at their default:
        # a procedure known to be blocked stays urgent when the distress question got « je ne sais pas »
        settled = {**self._assumed(facts), **known}
        if known.get(DISTRESS) == "oui":
            urgent = [r for r in candidates if r.category == "urgent" and (operator is None or r.operator == operator)]
            if urgent and not any(self._holds(r, settled) for r in urgent):
                # e.g. France Travail's Administration+ needs distress *and* a blocked procedure: ask
                pending = [k for r in urgent for k in r.conditions if k not in facts and self._askable(k, facts)]
                if pending and may_ask:
                    key = min(pending, key=lambda k: self.order.get(k, 99))
                    return Question(key, topic, self.conditions[key], tuple(r.id for r in candidates), emergencies)
            if urgent:
                return self._outcome(urgent, topic, facts, text, emergencies)
        # an urgent row whose conditions all hold answers
        holding = [r for r in candidates if r.category == "urgent" and r.conditions and self._holds(r, settled)]
        if holding:
            return self._outcome(holding, topic, facts, text, emergencies)
        if not candidates:
            candidates = [r for r in rows if self._compatible(r, known)] or list(rows)

        if may_ask and alarm and DISTRESS in self.conditions and DISTRESS not in facts and any(
            r.category == "urgent" and r.conditions.get(DISTRESS) == "oui" for r in candidates
        ):
            return Question(DISTRESS, topic, self.conditions[DISTRESS], tuple(r.id for r in candidates), emergencies)
        general = self._general_row(candidates, known)
        if general is not None:
            return self._outcome([general], topic, facts, text, emergencies)
        question = self._next_question(self._assume_unaskable(candidates, facts), facts) if may_ask else None
        if question is not None:
            return Question(question, topic, self.conditions[question], tuple(r.id for r in candidates), emergencies)
        outcome = self._outcome(candidates, topic, facts, text, emergencies)
        general = self._general_row([outcome.demarche], known) if outcome.demarche is not None else None
        return self._outcome([general], topic, facts, text, emergencies) if general is not None else outcome

    def _general_row(self, candidates: Sequence[Demarche], known: Mapping[str, str]) -> Optional[Demarche]:
        """The general row of the candidates' operator whose facts hold, when every candidate that is
        not urgent is a niveau 1 row of that operator (the topic has no distinction of its own left)."""
        plain_rows = [r for r in candidates if r.category != "urgent"]
        operators = {r.operator for r in plain_rows}
        if not plain_rows or len(operators) != 1 or any(r.category != "niveau_1" for r in plain_rows):
            return None
        for row in self.knowledge.general_rows(operators.pop()):
            if all(known.get(k) == v for k, v in row.general_when.items()) and self._compatible(row, known):
                return row
        return None

    def distress(self, text: str, operator: Optional[str] = None, answers: Mapping[str, str] = ()) -> Outcome:
        """The urgent path when no topic is known: the operator's urgent row if any, and the numbers."""
        facts = self.merge_facts(dict(answers or {}), text)
        facts["detresse"] = "oui"
        rows = self.knowledge.urgent_rows(operator) if operator else []
        known = {k: v for k, v in facts.items() if v in ("oui", "non")}
        rows = [r for r in rows if self._compatible(r, known)] or rows
        if rows:
            return self._outcome(rows, None, facts, text, self.emergencies(text))
        return Outcome(None, None, facts, emergencies=self.emergencies(text))

    def operator_for_distress(self, operators: Sequence[str], known: Mapping[str, str]) -> Optional[str]:
        if not operators:
            return None
        if "msa" in operators and len(operators) > 1:
            preferred = [o for o in operators if (o == "msa") == (known.get("msa") == "oui")]
            return preferred[0] if preferred else operators[0]
        return operators[0]

    @staticmethod
    def _compatible(row: Demarche, known: Mapping[str, str]) -> bool:
        return all(known.get(k, v) == v for k, v in row.conditions.items())

    @staticmethod
    def _active(row: Demarche, known: Mapping[str, str]) -> bool:
        """An urgent row with conditions is considered once one of them is known to hold.

        `msa: non` never counts: naming the CAF, the CPAM or the CARSAT implies it, and ruling out
        the MSA says nothing about urgency (a plain request would otherwise open the urgent path).
        """
        if row.category != "urgent" or not row.conditions:
            return True
        return any(known.get(k) == v for k, v in row.conditions.items() if (k, v) != ("msa", "non"))

    def _askable(self, key: str, facts: Mapping[str, str]) -> bool:
        cond = self.conditions[key]
        if key in facts or not cond.askable:
            return False
        return all(facts.get(k) == v for k, v in cond.ask_when.items())

    def _assume_unaskable(self, candidates: List[Demarche], facts: Mapping[str, str]) -> List[Demarche]:
        """Rows still open once facts that are never asked, or that the person could not answer
        (« je ne sais pas »), take their default (MSA, urgency of a title, distress…)."""
        assumed = self._assumed(facts)
        return [r for r in candidates if self._compatible(r, assumed)] or candidates

    def _assumed(self, facts: Mapping[str, str]) -> Dict[str, str]:
        """Never-asked facts and facts answered « je ne sais pas », at their default."""
        return {**self._unaskable_defaults(facts),
                **{k: self.conditions[k].default for k, v in facts.items() if v == UNKNOWN and k in self.conditions}}

    @staticmethod
    def _holds(row: Demarche, settled: Mapping[str, str]) -> bool:
        return all(settled.get(k) == v for k, v in row.conditions.items())

    def _unaskable_defaults(self, facts: Mapping[str, str]) -> Dict[str, str]:
        return {k: c.default for k, c in self.conditions.items() if not c.askable and facts.get(k, UNKNOWN) == UNKNOWN}

    def _next_question(self, candidates: List[Demarche], facts: Mapping[str, str]) -> Optional[str]:
        """The first askable key whose two answers keep different categories (both keeping a row).

        A key for which one answer leaves no candidate only points at rows that are not considered
        yet (an urgent row waiting for `bloquee: oui`): asking it would go looking for urgency.
        """
        if len({r.category for r in candidates}) <= 1:
            return None
        keys = sorted({k for r in candidates for k in r.conditions}, key=lambda k: self.order.get(k, 99))
        for key in keys:
            if not self._askable(key, facts):
                continue
            branches = {
                value: {r.category for r in candidates if r.conditions.get(key, value) == value}
                for value in ("oui", "non")
            }
            if all(branches.values()) and branches["oui"] != branches["non"]:
                return key
        return None

    def _outcome(
        self,
        candidates: List[Demarche],
        topic: Optional[str],
        facts: Mapping[str, str],
        text: str,
        emergencies: Tuple[EmergencyKind, ...],
    ) -> Outcome:
        unknown = {k for r in candidates for k in r.conditions if facts.get(k, UNKNOWN) == UNKNOWN}
        defaults = {k: self.conditions[k].default for k in unknown}
        words = set(self.knowledge.expand_terms(text)) if text else set()
        chosen = self._best(candidates, defaults, words)
        assumed = {k: v for k, v in defaults.items() if k in chosen.conditions or _splits(candidates, k)}
        caveats = []
        for key in sorted(assumed, key=lambda k: self.order.get(k, 99)):
            other = "non" if assumed[key] == "oui" else "oui"
            alternatives = [
                r
                for r in candidates
                if r.conditions.get(key) == other
                and (r.category != chosen.category or r.operator != chosen.operator)
                and self._compatible(r, {**{k: v for k, v in facts.items() if v != UNKNOWN}, **{
                    k: v for k, v in defaults.items() if k != key
                }})
            ]
            if alternatives:
                caveats.append(Caveat(key, other, self._best(alternatives, {}, words)))
        return Outcome(
            demarche=chosen,
            topic=topic,
            facts=dict(facts),
            assumed=assumed,
            caveats=tuple(caveats),
            emergencies=emergencies,
        )

    @staticmethod
    def _best(candidates: List[Demarche], defaults: Mapping[str, str], words: set) -> Demarche:
        """Fewest conflicts with the defaults, then most words in common with the text, then order."""

        def score(indexed):
            index, row = indexed
            conflicts = sum(1 for k, v in row.conditions.items() if k in defaults and defaults[k] != v)
            row_words = set(terms(" ".join((row.title, row.label, *row.items))))
            return (conflicts, -len(words & row_words), index)

        return min(enumerate(candidates), key=score)[1]


def _splits(candidates: List[Demarche], key: str) -> bool:
    return len({r.conditions.get(key) for r in candidates if key in r.conditions}) > 1


def _unique(values: Iterable[str]) -> List[str]:
    return list(dict.fromkeys(values))
