"""One conversation turn, independent of Rasa: (intent, text, slots, audience) -> replies + slot updates.

The Rasa custom actions (actions/) only translate a tracker into a `Turn` and the `TurnResult`
back into dispatcher messages and SlotSet events; the web API, the CLI and the tests use this
module directly.
"""
from __future__ import annotations

import re

from dataclasses import dataclass, field
from typing import Dict, List, Mapping, Optional, Sequence, Tuple

from bot.engine import ANSWERS, UNKNOWN, DecisionEngine, Outcome, Question, UnknownTopic
from bot.knowledge.types import Demarche, Operator
from bot.signals import SignalPort
from bot.render import (
    AGENT,
    PUBLIC,
    Reply,
    normalise_audience,
    render_choose,
    render_out_of_scope,
    render_outcome,
    render_question,
)

ANSWER_INTENTS = {"affirm": "oui", "deny": "non", "je_ne_sais_pas": UNKNOWN}
MAX_CHOICES = 3
MAX_QUESTIONS = 3  # per request: then the answer, with what the other answers would change as caveats
# words of a document being asked for, looked for or lost (with an operator's `documents` pattern)
_ASKED_FOR = re.compile(
    r"\b(demande\w*|reclame\w*|veut|veulent|exige\w*|faut|besoin|fourni\w*|envoy\w*|renvoy\w*|retrouv\w*|trouv\w*"
    r"|telecharg\w*|recup\w*|obten\w*|imprim\w*|donn\w*|perdu\w*|paume\w*|ou est|ou sont)\b"
)
# lowest NLU confidence at which the likeliest topic names the operator of an urgent answer
RANKED_OPERATOR_MIN = 0.2
# Slots that describe the current request (reset when a new request starts).
REQUEST_SLOTS = ("topic", "request_text", "pending_question", "questions_asked")


@dataclass
class Turn:
    intent: str
    text: str = ""
    confidence: float = 1.0
    ranking: Sequence[Tuple[str, float]] = ()
    entities: Sequence[Mapping] = ()
    slots: Mapping[str, object] = field(default_factory=dict)
    audience: str = PUBLIC


@dataclass
class TurnResult:
    replies: List[Reply]
    slots: Dict[str, object] = field(default_factory=dict)


class Guichet:
    """The conversation logic over a knowledge repository (see bot.knowledge.repository)."""

    def __init__(self, repository, opening_hours: Optional[str] = None, departement: Optional[str] = None,
                 signals: Optional[SignalPort] = None):
        self.repo = repository
        self.departement = departement
        self.engine = DecisionEngine(repository, signals)
        self.conditions = self.engine.conditions
        self.operators: Dict[str, Operator] = {o.slug: o for o in repository.operators()}
        self.topics: Dict[str, List[str]] = repository.topics()
        self.situations = {s.id: s for s in repository.situations()}
        self._must_not = repository.out_of_scope_requests()  # each compiled once (OutOfScopeRequest.matches)
        self.opening_hours = opening_hours
        self._documents = [
            (re.compile(pattern), topic, o.slug) for o in self.operators.values() for pattern, topic in o.documents
        ]
        self._aliases = sorted(
            ((self.engine.normalise(alias), o.slug) for o in self.operators.values() for alias in (*o.aliases, o.slug)),
            key=lambda pair: -len(pair[0]),
        )

    # -- entry point ------------------------------------------------------------------

    def handle(self, turn: Turn) -> TurnResult:
        audience = normalise_audience(turn.audience)
        intent = turn.intent
        if self.engine.emergencies(turn.text) and intent not in self.topics:
            return self._distress(turn, audience)
        if intent not in ANSWER_INTENTS and intent != "choisir" and self.must_not_do(turn.text):
            return self.out_of_scope(turn)
        if intent in self.topics:
            if self._beyond_referentiel(turn, nlu_sure=True):
                return self.out_of_scope(Turn(**{**turn.__dict__, "intent": "hors_champ"}))
            return self._new_request(self.document_asked(turn.text, intent) or intent, turn.text, turn.slots, audience)
        if intent in ANSWER_INTENTS:
            return self._answer(ANSWER_INTENTS[intent], turn, audience)
        if intent == "choisir":
            return self._choose(turn, audience)
        if intent == "urgence":
            return self._distress(turn, audience)
        if intent == "nlu_fallback":
            return self.fallback(turn)
        if intent == "hors_champ" and not self.must_not_do(turn.text):
            # the intent alone is weak evidence (no listed request matched): hesitate instead
            ranking = [(name, score) for name, score in turn.ranking if name != "hors_champ"]
            return self.fallback(Turn(**{**turn.__dict__, "ranking": ranking}))
        if intent in ("out_of_scope", "hors_champ"):
            return self.out_of_scope(turn)
        raise ValueError(f"intent not handled by Guichet.handle: {intent}")

    # -- requests and answers ---------------------------------------------------------

    def _facts(self, slots: Mapping[str, object], keep_request: bool) -> Dict[str, str]:
        facts = {k: str(slots[k]) for k in self.conditions if slots.get(k) in ANSWERS}
        if not keep_request:
            facts = {k: v for k, v in facts.items() if self.conditions[k].persistent}
        return facts

    def _reset_request_facts(self) -> Dict[str, object]:
        return {k: None for k, c in self.conditions.items() if not c.persistent}

    def _new_request(self, topic: str, text: str, slots: Mapping[str, object], audience: str) -> TurnResult:
        facts = self._facts(slots, keep_request=False)
        result = self._decide(topic, facts, text, audience)
        result.slots = {**self._reset_request_facts(), **result.slots}
        return result

    def _answer(self, value: str, turn: Turn, audience: str) -> TurnResult:
        key = turn.slots.get("pending_question")
        topic = turn.slots.get("topic")
        if not key or not topic or topic not in self.topics:
            text = (
                "Pourriez-vous préciser votre demande ? Décrivez en quelques mots la démarche qui vous amène, "
                "ou écrivez « menu » pour voir les démarches possibles."
                if audience == PUBLIC
                else "Précisez la demande de l'usager (ou « menu » pour parcourir les démarches)."
            )
            return TurnResult([Reply(text)])
        facts = self._facts(turn.slots, keep_request=True)
        facts[str(key)] = value
        return self._decide(str(topic), facts, str(turn.slots.get("request_text") or ""), audience,
                            asked=turn.slots.get("questions_asked"))

    def _decide(self, topic: str, facts: Dict[str, str], text: str, audience: str, asked: object = 0) -> TurnResult:
        named = self.operators_named(text)
        named = named[0] if len(named) == 1 else None  # two organisations: the démarche asked for decides
        asked = int(float(asked or 0))
        result = self.engine.decide(topic, facts, text, operator=named, may_ask=asked < MAX_QUESTIONS)
        slots: Dict[str, object] = {"topic": topic, "request_text": text, "misses": 0.0}
        slots.update(facts)
        if isinstance(result, Question):
            slots["pending_question"] = result.key
            slots["questions_asked"] = float(asked + 1)
            return TurnResult([render_question(result, audience)], slots)
        return self._answer_result(result, audience, slots)

    def _answer_result(self, outcome: Outcome, audience: str, slots: Dict[str, object]) -> TurnResult:
        slots["pending_question"] = None
        for key, value in outcome.facts.items():
            if key in self.conditions and value in ANSWERS and self.conditions[key].persistent:
                slots[key] = value
        if outcome.demarche is not None:
            slots["last_demarche"] = outcome.demarche.id
            slots["last_operator"] = outcome.demarche.operator
            slots["last_category"] = outcome.demarche.category
        else:
            slots["last_category"] = "urgent"
        local = None
        if self.departement and outcome.demarche is not None:
            name, supplements = self.repo.local_supplements(self.departement, outcome.demarche)
            if supplements:
                local = (name, supplements)
        return TurnResult([render_outcome(outcome, audience, self.operators, self.conditions, local)], slots)

    def _choose(self, turn: Turn, audience: str) -> TurnResult:
        demarche_id = _entity(turn.entities, "demarche")
        demarche = self.repo.get(demarche_id) if demarche_id else None
        if demarche is None:
            return TurnResult([Reply("Cette démarche est introuvable. Pouvez-vous reformuler votre demande ?")])
        text = str(turn.slots.get("request_text") or demarche.title)
        return self._new_request(demarche.topic, text, turn.slots, audience)

    def _distress(self, turn: Turn, audience: str) -> TurnResult:
        # the operator is kept: named, else the likeliest démarche's, else the conversation's
        operator = self.operator_in(turn, ranked=True)
        outcome = self.engine.distress(turn.text, operator, self._facts(turn.slots, keep_request=False))
        slots: Dict[str, object] = {**self._reset_request_facts(), "detresse": "oui", "misses": 0.0, "topic": None}
        return self._answer_result(outcome, audience, slots)

    # -- hesitation, out of scope -------------------------------------------------------

    def representative(self, topic: str, text: str) -> Demarche:
        result = self.engine.decide(topic, {}, text)
        if isinstance(result, Outcome) and result.demarche is not None:
            return result.demarche
        rows = [r for r in self.repo.topic(topic) if r.id in result.candidates] if isinstance(result, Question) else []
        return rows[0] if rows else self.repo.topic(topic)[0]

    def fallback(self, turn: Turn) -> TurnResult:
        """Low NLU confidence: propose the likeliest démarches; after two misses, a search or a counsellor."""
        audience = normalise_audience(turn.audience)
        if self.engine.emergencies(turn.text):  # distress first, however the NLU hesitated
            return self._distress(turn, audience)
        if self.must_not_do(turn.text) or self._beyond_referentiel(turn, nlu_sure=False):
            return self.out_of_scope(Turn(**{**turn.__dict__, "intent": "hors_champ"}))
        asked = self.document_asked(turn.text)
        if asked:  # « la CAF me réclame mon avis d'impôt »: no hesitation, the document decides
            return self._new_request(asked, turn.text, turn.slots, audience)
        misses = int(float(turn.slots.get("misses") or 0)) + 1
        slots: Dict[str, object] = {"misses": float(misses), "request_text": turn.text, "pending_question": None}
        if misses >= 2:
            return self._second_miss(turn, audience, slots)
        topics = [name for name, _ in sorted(turn.ranking, key=lambda p: -p[1]) if name in self.topics][:MAX_CHOICES]
        if not topics:
            return TurnResult([Reply(self._rephrase(audience))], slots)
        options = []
        for topic in topics:
            row = self.representative(topic, turn.text)
            options.append((row.id, row.title))
        return TurnResult([render_choose(options, audience)], slots)

    def _second_miss(self, turn: Turn, audience: str, slots: Dict[str, object]) -> TurnResult:
        if audience == AGENT:
            hits = self.repo.search(turn.text, limit=MAX_CHOICES)
            if hits:
                reply = render_choose([(h.demarche.id, h.demarche.title) for h in hits], audience)
                reply.text = "Résultats de la recherche dans le référentiel :"
                return TurnResult([reply], slots)
            return TurnResult([Reply("Aucune démarche du référentiel ne correspond à cette recherche.")], slots)
        operator = self.operator_in(turn)
        lines = [
            "Je n'arrive pas à identifier votre démarche. Adressez-vous à un conseiller France services : "
            "il pourra vous aider directement."
        ]
        contact = self.public_contact(operator) if operator else None
        if operator and contact:
            lines.append(
                f"Vous pouvez aussi contacter {self.operators[operator].designation} : {contact.value} ({contact.label})."
            )
        if self.opening_hours:
            lines.append(self.opening_hours)
        reply = render_out_of_scope(" ".join(lines))
        reply.custom["unresolved"] = True  # the web pages offer « Parler à un conseiller » (bot/web/channel.py)
        return TurnResult([reply], slots)

    @staticmethod
    def _rephrase(audience: str) -> str:
        if audience == AGENT:
            return "Demande non reconnue : reformulez-la (organisme, démarche) ou tapez « menu »."
        return (
            "Je n'ai pas bien compris votre demande. Pouvez-vous la reformuler en quelques mots, "
            "en précisant l'organisme si vous le connaissez (CAF, impôts, Assurance maladie…) ?"
        )

    def document_asked(self, text: str, topic: Optional[str] = None) -> Optional[str]:
        """The topic of a document the person is asked for or looks for (knowledge: operator
        `documents`), when it belongs to another operator than `topic`'s rows: the document asked
        for decides the démarche, not the organisation that asks for it."""
        norm = self.engine.normalise(text)
        if not _ASKED_FOR.search(norm):
            return None
        current = set(_unique_operators(self.repo.topic(topic))) if topic else set()
        for pattern, asked, operator in self._documents:
            if pattern.search(norm) and asked in self.topics and operator not in current:
                return asked
        return None

    def _beyond_referentiel(self, turn: Turn, nlu_sure: bool) -> bool:
        """Out of the référentiel by the classifier, unless the person names one of the 12 operators."""
        return self.engine.beyond_referentiel(turn.text, nlu_sure) and not self.operator_slug(turn.text, anywhere=True)

    def must_not_do(self, text: str):
        """A request a counter must not handle (knowledge/hors_champ.yml), if the text is one."""
        norm = self.engine.normalise(text)
        return next((request for request in self._must_not if request.matches(norm)), None)

    def out_of_scope(self, turn: Turn) -> TurnResult:
        audience = normalise_audience(turn.audience)
        if self.engine.emergencies(turn.text):  # distress first: never "not our business"
            return self._distress(turn, audience)
        request = self.must_not_do(turn.text)
        if request is not None:
            redirect = request.redirect_agent if audience == AGENT else request.redirect_public
            reply = render_out_of_scope(redirect)
            reply.custom.update({"request": request.id, "title": request.title,
                                 "source": {"file": request.document, "section": request.section, "line": request.line}})
            return TurnResult([reply], {"misses": 0.0})
        if turn.intent == "hors_champ":
            redirect = (
                "Cette demande ne fait pas partie de ce qu'un espace France services peut prendre en charge. "
                "Un conseiller France services peut vous indiquer à qui vous adresser."
            )
            return TurnResult([render_out_of_scope(redirect)], {"misses": 0.0})
        redirect = (
            "Je suis Guichet, l'assistant des espaces France services. Je vous aide pour les démarches auprès des "
            "12 organismes partenaires (CAF, Assurance maladie, Assurance retraite, Finances publiques, France Travail, "
            "MSA, La Poste, France Titres, Chèque énergie, France Rénov', Point-justice, Urssaf). Votre demande n'en fait "
            "pas partie : un conseiller France services peut vous indiquer à qui vous adresser."
        )
        return TurnResult([render_out_of_scope(redirect)], {"misses": 0.0})

    def counsellor(self, turn: Turn) -> TurnResult:
        audience = normalise_audience(turn.audience)
        if self.engine.emergencies(turn.text):
            return self._distress(turn, audience)
        if audience == AGENT:
            text = (
                "Pour un cas complexe, contactez le correspondant en back-office de l'opérateur concerné selon les "
                "modalités définies localement (Administration+ quand le référentiel le prévoit)."
            )
        else:
            text = (
                "Un conseiller France services peut vous recevoir et vous accompagner gratuitement dans vos démarches, "
                "et contacter directement l'organisme si nécessaire."
            )
            if self.opening_hours:
                text += " " + self.opening_hours
        return TurnResult([Reply(text, custom={"type": "counsellor", "text": text})])

    def menu(self, turn: Turn) -> TurnResult:
        """Browse: life situations and the 12 operators, then the démarches of one of them."""
        audience = normalise_audience(turn.audience)
        situation = self.situations.get(_entity(turn.entities, "situation") or "")
        if situation is not None:
            options = []
            for topic in situation.topics:
                if topic in self.topics:
                    row = self.representative(topic, "")
                    options.append((row.id, row.title))
            reply = render_choose(options, audience)
            reply.text = f"« {situation.title} » : quelle démarche vous concerne ?"
            return TurnResult([reply], {"misses": 0.0})
        operator = self.operator_in(Turn(intent="menu", text=turn.text, entities=turn.entities))
        if operator:
            options = []
            for topic in self.topics:
                rows = [r for r in self.repo.topic(topic) if r.operator == operator]
                if rows and any(r.category != "urgent" or not r.conditions for r in rows):
                    options.append((rows[0].id, rows[0].title))
            reply = render_choose(options, audience)
            reply.text = f"Démarches auprès de {self.operators[operator].designation} :"
            return TurnResult([reply], {"misses": 0.0})
        situations = [{"situation": s.id, "title": s.title} for s in self.situations.values()]
        operators = [{"operator": slug, "title": op.title} for slug, op in self.operators.items()]
        text = (
            "Choisissez la situation qui vous amène, ou l'organisme concerné ; vous pouvez aussi décrire "
            "directement votre démarche."
        )
        buttons = [{"title": o["title"], "payload": f'/menu{{"situation": "{o["situation"]}"}}'} for o in situations]
        buttons += [{"title": o["title"], "payload": f'/menu{{"operator": "{o["operator"]}"}}'} for o in operators]
        custom = {"type": "menu", "situations": situations, "options": operators}
        return TurnResult([Reply(text, buttons, custom)], {"misses": 0.0})

    # -- helpers ------------------------------------------------------------------------

    def operator_in(self, turn: Turn, ranked: bool = False) -> Optional[str]:
        """The operator named by an entity, the text (aliases), with `ranked` the operator of the
        likeliest démarche topic of the NLU ranking, or the last answer's."""
        value = _entity(turn.entities, "operator")
        if value:
            slug = self.operator_slug(value)
            if slug:
                return slug
        slug = self.operator_slug(turn.text, anywhere=True)
        if slug:
            return slug
        if ranked:
            for name, score in sorted(turn.ranking, key=lambda p: -p[1]):
                if name in self.topics and score >= RANKED_OPERATOR_MIN:
                    operators = _unique_operators(self.repo.topic(name))
                    return self.engine.operator_for_distress(operators, self.engine.implied_facts(turn.text))
        last = turn.slots.get("last_operator")
        return str(last) if last in self.operators else None

    def operators_named(self, text: str) -> List[str]:
        """Every operator the text names (longest aliases first, a word never counted twice)."""
        norm = f" {self.engine.normalise(text)} "
        found: List[str] = []
        for alias, slug in self._aliases:
            if alias and f" {alias} " in norm:
                norm = norm.replace(f" {alias} ", " | ")
                if slug not in found:
                    found.append(slug)
        return found

    def operator_slug(self, text: str, anywhere: bool = False) -> Optional[str]:
        norm = self.engine.normalise(text)
        for alias, slug in self._aliases:
            if alias and ((anywhere and f" {alias} " in f" {norm} ") or alias == norm):
                return slug
        return None

    def public_contact(self, operator: str):
        rows = self.repo.list(operator=operator)
        for kind in ("phone", "url"):
            for row in rows:
                for contact in row.contacts:
                    if contact.kind == kind and contact.audience == PUBLIC:
                        return contact
        return None


def _unique_operators(rows: Sequence[Demarche]) -> List[str]:
    return list(dict.fromkeys(r.operator for r in rows))


def _entity(entities: Sequence[Mapping], name: str) -> Optional[str]:
    for entity in entities or ():
        if entity.get("entity") == name and entity.get("value"):
            return str(entity["value"])
    return None
