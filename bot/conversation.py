"""One conversation turn, independent of Rasa: (intent, text, slots, audience) -> replies + slot updates.

The Rasa custom actions (actions/) only translate a tracker into a `Turn` and the `TurnResult`
back into dispatcher messages and SlotSet events; the web API, the CLI and the tests use this
module directly.
"""
from __future__ import annotations

import re

from dataclasses import dataclass, field
from typing import Callable, Dict, List, Mapping, Optional, Sequence, Tuple

from bot.engine import ANSWERS, UNKNOWN, DecisionEngine, Outcome, Question, UnknownTopic
from bot.knowledge.types import Demarche, Operator
from bot.multi import OUT_OF_SCOPE, MultiDetector, NEXT_WORDS, Request
from bot.signals import SignalPort
from bot.render import (
    AGENT,
    PUBLIC,
    Reply,
    normalise_audience,
    NONE_OF_THESE,
    render_choose,
    render_out_of_scope,
    render_outcome,
    render_question,
)
from bot import case as casefile
from bot.text import GENERIC_TERMS, terms

ANSWER_INTENTS = {"affirm": "oui", "deny": "non", "je_ne_sais_pas": UNKNOWN}
MAX_CHOICES = 3
MAX_QUESTIONS = 3  # per request: then the answer, with what the other answers would change as caveats
# words of a document being asked for, looked for or lost (with an operator's `documents` pattern)
_ASKED_FOR = re.compile(
    r"\b(demande\w*|reclame\w*|veut|veulent|exige\w*|faut|besoin|fourni\w*|envoy\w*|renvoy\w*|retrouv\w*|trouv\w*"
    r"|telecharg\w*|recup\w*|obten\w*|imprim\w*|donn\w*|perdu\w*|paume\w*|ou est|ou sont)\b"
)
# the 12 operators, as the public names them
PARTNERS = ("CAF, Assurance maladie, Assurance retraite, Finances publiques, France Travail, MSA, La Poste, "
            "France Titres, Chèque énergie, France Rénov', Point-justice, Urssaf")
# characters before and after a document's name where the words asking for it are looked for
ASKED_BEFORE, ASKED_AFTER = 35, 40
# lowest NLU confidence at which the likeliest topic names the operator of an urgent answer
RANKED_OPERATOR_MIN = 0.2
# lowest NLU probability of a topic of the organisation named that replaces a reading of another one
NAMED_TOPIC_MIN = 0.02
# NLU confidence from which a reading stands against the organisation named (« la sécu a pas tout pris en
# charge, je veux payer la facture de l'hôpital en ligne » is the Finances publiques' démarche)
NAMED_KEEPS_SURE_READING = 0.5
# a démarche named by its own words: the search's score and the words shared with its row (seen on
# the challenge sets: no request of another body reaches both)
NAMED_DEMARCHE_SCORE = 15.0
NAMED_DEMARCHE_TERMS = 3
# Point-justice orients every legal difficulty (référentiel 000:240, « leurs difficultés juridiques », and 000:241
# for the rest, « transmettre des informations juridiques, expliquer une décision de justice »): a sure reading
# of that topic is never out of the référentiel, whatever the dispute is about (a deposit kept by a private
# landlord, a family judge's ruling); the requests a counter must not handle stay refused (hors_champ.yml)
ANY_LEGAL_DIFFICULTY = "probleme_juridique"
LEGAL_READING_SURE = 0.5
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
                 signals: Optional[SignalPort] = None, topic_classifier: Optional[Callable[[], object]] = None):
        """`topic_classifier`: a factory of bot.multi.TopicClassifier (called once, on the first message
        that may hold several requests); without it every message is one request."""
        self.repo = repository
        self._topic_classifier = topic_classifier
        self._multi: Optional[MultiDetector] = None
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
        self._benefits = [
            (re.compile(pattern), topic) for o in self.operators.values() for pattern, topic in o.benefits
        ]
        self._aliases = sorted(
            ((self.engine.normalise(alias), o.slug) for o in self.operators.values() for alias in (*o.aliases, o.slug)),
            key=lambda pair: -len(pair[0]),
        )

    # -- entry point ------------------------------------------------------------------

    def handle(self, turn: Turn) -> TurnResult:
        audience = normalise_audience(turn.audience)
        intent = turn.intent
        case = casefile.Case.from_slots(turn.slots)
        if intent == "synthese":
            return self.summary(turn)
        if intent == "suivante" or (case.active and intent not in self.topics and NEXT_WORDS.match(_plain(turn.text))):
            return self.next_request(turn)
        if intent in self.topics or intent in ("nlu_fallback", "hors_champ", "urgence"):
            several = self.several_requests(turn, audience)
            if several is not None:
                return several
        if case.active and intent in self.topics:
            return self._case_step(case, self.handle_single(turn), turn, add_topic=intent)
        if case.active and intent in ANSWER_INTENTS:
            return self._case_step(case, self.handle_single(turn), turn)
        if case.active and intent == "choisir":
            return self._case_choose(case, turn, audience)
        return self.handle_single(turn)

    def handle_single(self, turn: Turn) -> TurnResult:
        """One request (the behaviour without a case of several requests)."""
        audience = normalise_audience(turn.audience)
        turn = self.within_operator_named(turn)
        intent = turn.intent
        if self.engine.emergencies(turn.text) and intent not in self.topics:
            return self._distress(turn, audience)
        if intent not in ANSWER_INTENTS and intent != "choisir" and self.must_not_do(turn.text):
            return self.out_of_scope(turn)
        stopped = self.benefit_stopped(turn) if intent not in ANSWER_INTENTS and intent != "choisir" else None
        if stopped is not None:
            return self._new_request(stopped, turn.text, turn.slots, audience)
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
        if demarche_id == NONE_OF_THESE:
            return self.none_of_these(turn, audience)
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

    # -- several requests in one message (bot.multi, bot.case) ---------------------------

    @property
    def multi(self) -> Optional[MultiDetector]:
        if self._multi is None and self._topic_classifier is not None:
            topic_operators = {t: {r.operator for r in self.repo.topic(t)} for t in self.topics}
            self._multi = MultiDetector(self.engine, self._topic_classifier(), operators_named=self.operators_named,
                                        topic_operators=topic_operators, benefit_topic=self.benefit_topic,
                                        out_of_scope=self.outside_request, document_asked=self.document_asked,
                                        search=lambda text: [h.demarche.topic for h in self.repo.search(text, limit=3)])
        return self._multi

    def detect_requests(self, text: str, slots: Mapping[str, object] = ()) -> List[Request]:
        """The requests of a message when it holds at least two (urgent first), else []."""
        if self.multi is None or not text:
            return []
        known = self._facts(dict(slots or {}), keep_request=False)
        requests = self.multi.detect(text, known).requests
        return [r for r in requests if r.topic in self.topics or r.topic == OUT_OF_SCOPE]

    def outside_request(self, clause: str, message: str = "") -> Optional[str]:
        """The title of a clause's request when it is one a counter must not handle (knowledge/hors_champ.yml)
        — unless the whole message holds one of the entry's near misses (« chèque énergie » for an energy
        supplier; the operators' names count in the clause only: the other clauses of the message name
        theirs) or the clause shows distress or a rupture (« la banque menace de fermer mon compte » in a
        story of unpaid benefits is part of that story) that the message does not set aside as the other
        body's (the entry's `contrasts`: « la base est bien versée, pas l'Agirc-Arrco »). The out-of-scope
        classifier is not used on clauses: on fragments it refuses too much (« elle ne sait pas comment elle
        va les nourrir »)."""
        request = self.must_not_do(clause)  # the regexes first: the classifiers only for a listed request
        if request is None:
            return None
        # (without a message, the clause itself: it matched, so it holds none of the entry's near misses)
        whole = self.engine.normalise(message or clause)
        if request.near_miss(whole):
            return None
        if self.engine.emergencies(clause) or (self.engine.alarm(clause) and not request.contrasted(whole)):
            return None
        return request.title

    def several_requests(self, turn: Turn, audience: str) -> Optional[TurnResult]:
        """A message with several requests: the list, then the first one (None: one request)."""
        requests = self.detect_requests(turn.text, turn.slots)
        if len(requests) < 2:
            return None
        if all(r.topic == OUT_OF_SCOPE for r in requests) or (
                self.must_not_do(turn.text) and not any(r.topic == OUT_OF_SCOPE for r in requests)):
            return None  # one request a counter must not handle, in several clauses
        shared = {k: v for k, v in self.multi.shared_facts(turn.text).items() if k != "detresse"}
        case = casefile.Case([{**r.as_slot(), "facts": {}} for r in requests], 0)
        slots: Dict[str, object] = {**self._reset_request_facts(), **shared}
        overview = self._overview(case, shared, audience, self.engine.emergencies(turn.text))
        first = self._start(case, 0, {**dict(turn.slots), **slots}, audience)
        first.replies.insert(0, overview)
        first.slots = {**slots, **first.slots}
        return first

    def _overview(self, case: "casefile.Case", shared: Mapping[str, str], audience: str, emergencies) -> Reply:
        from bot.render import _number_payload, _numbers_text
        from bot.engine import _numbers

        items = []
        for i, request in enumerate(case.requests):
            operator = self.operators.get(str(request.get("operator") or ""))
            items.append({
                "index": i + 1, "topic": request["topic"], "demarche": request.get("demarche"),
                "title": request.get("title") or request["topic"], "operator": request.get("operator"),
                "operator_name": operator.name if operator else None, "category": request.get("category"),
                "category_label": casefile.category_label(request.get("category")),
                "urgent": bool(request.get("urgent")),
            })
        numbers = _numbers(emergencies)
        lines = _numbers_text(numbers, audience)  # no blank line: Rasa would cut the message there
        n = len(items)
        if audience == AGENT:
            lines.append(f"{n} démarches repérées :")
            for item in items:
                operator = f" — {item['operator_name']}" if item["operator_name"] else ""
                category = f" ({item['category_label']}, première lecture)" if item["category_label"] else ""
                lines.append(f"{item['index']}. {item['title']}{operator}{category}")
            if any(item["urgent"] for item in items):
                lines.append("Les situations urgentes sont placées en premier.")
            if shared:
                lines.append("Pris en compte pour toutes les démarches : "
                             + " ; ".join(self.conditions[k].case(v, AGENT) for k, v in shared.items()
                                          if v in self.conditions[k].cases) + ".")
            lines.append(f"Démarche 1 sur {n} : {items[0]['title']}.")
        else:
            later = [f"« {item['title']} »" for item in items[1:]]
            lines.append(
                f"Vous avez {n} demandes. Nous allons les voir une par une, en commençant par "
                f"« {items[0]['title']} »." + (" C'est la plus urgente." if items[0]["urgent"] else "")
            )
            lines.append("Nous verrons ensuite " + _and_list(later) + ".")
        custom = {"type": "requests", "audience": audience, "count": n, "current": 1, "requests": items,
                  "shared_facts": dict(shared), "emergency_numbers": _number_payload(numbers)}
        buttons = [{"title": "Synthèse du dossier", "payload": "/synthese"}] if audience == AGENT else []
        return Reply("\n".join(lines), buttons, custom)

    def _start(self, case: "casefile.Case", index: int, slots: Mapping[str, object], audience: str) -> TurnResult:
        """Work on request `index` of the case: its question, or its card and what comes next."""
        case.index = index
        request = case.requests[index]
        request["status"] = casefile.CURRENT
        if request.get("topic") == OUT_OF_SCOPE:  # said plainly, with where to go when the seeds say it
            result = self.out_of_scope(Turn("hors_champ", str(request.get("text") or ""), slots=slots, audience=audience))
            request.update({"status": casefile.DONE, "category": OUT_OF_SCOPE, "operator": None})
            result.replies.append(self._what_next(case, normalise_audience(audience)))
            result.slots = {**self._reset_request_facts(), **result.slots, **case.slots()}
            return result
        facts = {**self._facts(slots, keep_request=False), **{k: str(v) for k, v in dict(request.get("facts") or {}).items()}}
        result = self._decide(str(request["topic"]), facts, str(request.get("text") or ""), audience)
        result.slots = {**self._reset_request_facts(), **result.slots}
        return self._case_step(case, result, None, audience=audience)

    def _case_step(self, case: "casefile.Case", result: TurnResult, turn: Optional[Turn], add_topic: Optional[str] = None,
                   audience: Optional[str] = None) -> TurnResult:
        """Record in the case what a turn did to its current request; after a card, what comes next."""
        audience = normalise_audience(audience or (turn.audience if turn else PUBLIC))
        if add_topic is not None:  # a new request typed during the case joins it
            found = case.find_topic(add_topic)
            if found is None:
                text = turn.text if turn else ""
                case.requests.append({"topic": add_topic, "text": text, "status": casefile.CURRENT, "facts": {}})
                found = len(case.requests) - 1
            case.index = found
        request = case.current
        answer = next((r.custom for r in result.replies if r.custom and r.custom.get("type") == "answer"), None)
        if request is not None and answer is not None and answer.get("demarche"):
            demarche = self.repo.get(answer["demarche"])
            request.update({"status": casefile.DONE, "demarche": answer["demarche"], "title": answer["title"],
                            "operator": answer["operator"], "category": answer["category"]})
            if demarche is not None:
                known = {**(turn.slots if turn else {}), **result.slots}
                request["facts"] = {k: str(known[k]) for k in demarche.conditions
                                    if known.get(k) in ANSWERS and not self.conditions[k].persistent}
            result.replies.append(self._what_next(case, audience))
        elif request is not None and request.get("status") != casefile.DONE:
            request["status"] = casefile.CURRENT
        result.slots = {**result.slots, **case.slots()}
        return result

    def _what_next(self, case: "casefile.Case", audience: str) -> Reply:
        following = case.next_index()
        done = sum(1 for r in case.requests if r.get("status") == casefile.DONE)
        n = len(case.requests)
        if following is None:
            text = ("Toutes les démarches du dossier ont été vues. « Synthèse du dossier » les récapitule."
                    if audience == AGENT else
                    "Nous avons vu toutes vos demandes. Vous pouvez afficher le récapitulatif de vos démarches.")
            title = "Synthèse du dossier" if audience == AGENT else "Récapitulatif"
            return Reply(text, [{"title": title, "payload": "/synthese"}],
                         {"type": "next_request", "done": done, "count": n, "next": None})
        nxt = case.requests[following]
        title = str(nxt.get("title") or nxt.get("topic"))
        if audience == AGENT:
            text = f"Démarche suivante ({following + 1} sur {n}) : {title}."
            buttons = [{"title": "Démarche suivante", "payload": "/suivante"},
                       {"title": "Synthèse du dossier", "payload": "/synthese"}]
        else:
            text = f"Nous verrons ensuite votre demande « {title} ». Quand vous le souhaitez, choisissez « Demande suivante »."
            buttons = [{"title": "Demande suivante", "payload": "/suivante"}]
        return Reply(text, buttons, {"type": "next_request", "done": done, "count": n, "next": following + 1,
                                     "title": title})

    def next_request(self, turn: Turn) -> TurnResult:
        """« suivante » / « passer »: the current request is left (skipped if not seen) and the next one
        starts; `/suivante{"demarche": "<id>"}` goes to the request of that démarche's topic."""
        audience = normalise_audience(turn.audience)
        case = casefile.Case.from_slots(turn.slots)
        if not case.requests:
            text = ("Aucun dossier à plusieurs démarches n'est en cours : décrivez la situation de l'usager."
                    if audience == AGENT else
                    "Décrivez en quelques mots la démarche qui vous amène, ou écrivez « menu ».")
            return TurnResult([Reply(text)])
        current = case.current
        if current is not None and current.get("status") != casefile.DONE:
            current["status"] = casefile.SKIPPED
        target = None
        wanted = _entity(turn.entities, "demarche")
        if wanted:
            row = self.repo.get(wanted)
            target = case.find_topic(row.topic) if row is not None else None
        if target is None:
            target = case.next_index()
        if target is None:
            result = TurnResult([self._what_next(case, audience)])
            result.slots = case.slots()
            return result
        n = len(case.requests)
        title = str(case.requests[target].get("title") or case.requests[target].get("topic"))
        intro = (f"Démarche {target + 1} sur {n} : {title}." if audience == AGENT
                 else f"Voyons maintenant votre demande « {title} ».")
        result = self._start(case, target, turn.slots, audience)
        result.replies.insert(0, Reply(intro, custom={"type": "current_request", "current": target + 1, "count": n,
                                                       "title": title}))
        return result

    def _case_choose(self, case: "casefile.Case", turn: Turn, audience: str) -> TurnResult:
        """A démarche chosen (hesitation, search) during a case: it joins the case, or is gone back to."""
        demarche_id = _entity(turn.entities, "demarche")
        if demarche_id == NONE_OF_THESE:
            return self.none_of_these(turn, audience)
        demarche = self.repo.get(demarche_id) if demarche_id else None
        if demarche is None:
            return self.handle_single(turn)
        found = case.find_topic(demarche.topic)
        if found is None:
            case.requests.append({"topic": demarche.topic, "text": demarche.title, "title": demarche.title,
                                  "operator": demarche.operator, "category": demarche.category,
                                  "demarche": demarche.id, "status": casefile.TODO, "facts": {}})
            found = len(case.requests) - 1
        current = case.current
        if current is not None and current.get("status") == casefile.CURRENT and found != case.index:
            current["status"] = casefile.SKIPPED
        return self._start(case, found, turn.slots, audience)

    def summary(self, turn: Turn) -> TurnResult:
        """« Synthèse du dossier »: every request of the case (or the last answer), in the audience's words."""
        audience = normalise_audience(turn.audience)
        case = casefile.Case.from_slots(turn.slots)
        if not case.requests and turn.slots.get("last_demarche"):
            row = self.repo.get(str(turn.slots["last_demarche"]))
            if row is not None:
                case = casefile.Case([{"topic": row.topic, "demarche": row.id, "title": row.title,
                                       "status": casefile.DONE}], 0)
        if not case.requests:
            text = ("Aucune démarche n'a encore été traitée dans cette conversation."
                    if audience == AGENT else "Nous n'avons encore vu aucune démarche ensemble.")
            return TurnResult([Reply(text)])
        payload = casefile.build_summary(self, case, turn.slots, audience)
        buttons = []
        if case.next_index() is not None:
            buttons.append({"title": "Démarche suivante" if audience == AGENT else "Demande suivante",
                            "payload": "/suivante"})
        # one message: Rasa's output channels cut a text at blank lines (the payload's text keeps them)
        text = "\n".join(line for line in str(payload["text"]).splitlines() if line.strip())
        return TurnResult([Reply(text, buttons, payload)])

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
        if casefile.Case.from_slots(turn.slots).active and NEXT_WORDS.match(_plain(turn.text)):
            return self.next_request(turn)
        several = self.several_requests(turn, audience)
        if several is not None:
            return several
        if self.engine.emergencies(turn.text):  # distress first, however the NLU hesitated
            return self._distress(turn, audience)
        if self.must_not_do(turn.text) or self._beyond_referentiel(turn, nlu_sure=False):
            return self.out_of_scope(Turn(**{**turn.__dict__, "intent": "hors_champ"}))
        asked = self.document_asked(turn.text) or self.benefit_stopped(turn) or self.alarm_topic(turn)
        if asked:  # « la CAF me réclame mon avis d'impôt », « le RSA a sauté », distress: no hesitation
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
        return TurnResult([render_choose(options, audience, none_option=True)], slots)

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

    def benefit_topic(self, text: str) -> Optional[str]:
        """The topic of the first benefit the text names (knowledge: operator `benefits`), if any."""
        norm = self.engine.normalise(text)
        found = [(m.start(), topic) for pattern, topic in self._benefits for m in [pattern.search(norm)]
                 if m is not None and topic in self.topics]
        return min(found)[1] if found else None

    def alarm_topic(self, turn: Turn) -> Optional[str]:
        """A hesitation of the NLU between démarches of the one organisation the text names, with a
        sign of distress or of a rupture (« je tiens plus, ma prime d'activité de la caf a disparu »):
        no list to choose from, the likeliest of its démarches, so that the distress question comes
        first and the organisation's urgent rows apply (a missed urgent situation costs a person)."""
        named = self.operators_named(turn.text)
        if len(named) != 1 or not self.engine.knowledge.urgent_rows(named[0]) or not self.engine.alarm(turn.text):
            return None
        for topic, _ in sorted(turn.ranking, key=lambda p: -p[1]):
            if topic in self.topics and named[0] in _unique_operators(self.repo.topic(topic)):
                return topic
        return None

    def within_operator_named(self, turn: Turn) -> Turn:
        """The NLU's reading kept to the organisation the text names, decided once at the door: with one
        organisation named and an unsure reading, the démarche topics of other organisations leave the ranking (« la MSA m'a
        supprimé l'aide au logement » is not France Travail's), and without a word of the agricultural
        scheme, the topics only the MSA handles leave it (« ma déclaration trimestrielle du RSA » is the
        CAF's). A document asked for of another organisation keeps the reading (`document_asked`)."""
        if not turn.ranking or self.document_asked(turn.text):
            return turn
        named = self.operators_named(turn.text)
        agricultural = "msa" in named or self.engine.implied_facts(turn.text).get("msa") == "oui"
        if turn.confidence >= NAMED_KEEPS_SURE_READING:
            named = []  # a sure reading of another organisation's démarche: the one named is context

        def allowed(topic: str) -> bool:
            operators = set(_unique_operators(self.repo.topic(topic)))
            return (len(named) != 1 or named[0] in operators) and (agricultural or operators != {"msa"})

        ranked = sorted(turn.ranking, key=lambda p: -p[1])
        topics = [(name, score) for name, score in ranked if name in self.topics]
        if not topics or all(allowed(name) for name, _ in topics):
            return turn
        kept = [(name, score) for name, score in ranked if name not in self.topics or allowed(name)]
        best = next(((name, score) for name, score in kept if name in self.topics), None)
        if best is None or best[1] < NAMED_TOPIC_MIN:
            return turn
        intent = best[0] if turn.intent in self.topics else turn.intent
        return Turn(**{**turn.__dict__, "intent": intent, "ranking": kept})

    def benefit_stopped(self, turn: Turn) -> Optional[str]:
        """The topic of the benefit the person says has stopped (« le RSA a sauté depuis le mois dernier »),
        when the text names no organisation and the NLU read another organisation's démarche, or none:
        the benefit names the organisation whose urgent rows apply."""
        if self.operators_named(turn.text) or not self.engine.interrupted(turn.text):
            return None
        topic = self.benefit_topic(turn.text)
        if topic is None:
            return None
        if turn.intent in self.topics and set(_unique_operators(self.repo.topic(turn.intent))) & set(
                _unique_operators(self.repo.topic(topic))):
            return None  # the NLU read a démarche of that organisation: its reading is finer
        return topic

    def document_asked(self, text: str, topic: Optional[str] = None) -> Optional[str]:
        """The topic of a document the person is asked for or looks for (knowledge: operator
        `documents`), when it belongs to another operator than `topic`'s rows: the document asked
        for decides the démarche, not the organisation that asks for it."""
        norm = self.engine.normalise(text)
        if not _ASKED_FOR.search(norm):
            return None
        current = set(_unique_operators(self.repo.topic(topic))) if topic else set()
        for pattern, asked, operator in self._documents:
            if asked not in self.topics or operator in current:
                continue
            # the asking words go with the document (« la CAF me réclame mon avis d'impôt », « l'attestation
            # que la CAF me demande »), not with another request of the sentence (« il demande l'aide
            # juridictionnelle et a apporté ses avis d'imposition »)
            for found in pattern.finditer(norm):
                around = norm[max(0, found.start() - ASKED_BEFORE):found.start()] + " | " + norm[found.end():found.end() + ASKED_AFTER]
                if _ASKED_FOR.search(around):
                    return asked
        return None

    def _beyond_referentiel(self, turn: Turn, nlu_sure: bool) -> bool:
        """Out of the référentiel by the classifier, unless the person names one of the 12 operators or
        a démarche of the référentiel by its own words (`names_a_demarche`), or the NLU's topic reads the
        text as one of the référentiel's « hors bouquet » rows (`_hors_bouquet_row`), or reads it surely as a
        legal difficulty (`ANY_LEGAL_DIFFICULTY`)."""
        if turn.intent == ANY_LEGAL_DIFFICULTY and turn.confidence >= LEGAL_READING_SURE:
            return False
        return (self.engine.beyond_referentiel(turn.text, nlu_sure, turn.confidence) and not self.operator_slug(turn.text, anywhere=True)
                and not self.names_a_demarche(turn.text)
                and not (turn.intent in self.topics and self._hors_bouquet_row(turn.intent, turn.text)))

    def names_a_demarche(self, text: str) -> bool:
        """The référentiel's search finds a row clearly, with at least NAMED_DEMARCHE_TERMS words of its
        title or label that say what it is about (« la complémentaire santé solidaire », « un dossier de
        surendettement à la Banque de France »): the text names that démarche, whatever else it says
        (« il n'a aucune mutuelle »). Synonyms alone do not count (« résilier ma mutuelle » finds the
        CSS through them, sharing none of its words)."""
        hits = self.repo.search(text, limit=1)
        if not hits or hits[0].score < NAMED_DEMARCHE_SCORE:
            return False
        row = hits[0].demarche
        shared = (set(terms(text)) & set(terms(" ".join((row.title, row.label))))) - GENERIC_TERMS
        return len(shared) >= NAMED_DEMARCHE_TERMS

    def _hors_bouquet_row(self, topic: str, text: str) -> bool:
        """The référentiel itself answers: the topic's reading of the text is one of its « hors bouquet »
        rows (« renouveler mon titre de séjour sur l'ANEF »), which says where to go, more precisely
        than the out-of-scope classifier's general answer."""
        try:
            outcome = self.engine.decide(topic, {}, text, may_ask=False)
        except LookupError:
            return False
        return isinstance(outcome, Outcome) and outcome.demarche is not None and outcome.demarche.category == "hors_bouquet"

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
            reply = render_out_of_scope(self.outside_redirect(turn.text, audience))
            reply.custom.update({"request": request.id, "title": request.title,
                                 "source": {"file": request.document, "section": request.section, "line": request.line}})
            return TurnResult([reply], {"misses": 0.0})
        if turn.intent == "hors_champ":
            return TurnResult([render_out_of_scope(self.outside_redirect(turn.text, audience))], {"misses": 0.0})
        redirect = (
            "Je suis Guichet, l'assistant des espaces France services. Je vous aide pour les démarches auprès des "
            f"12 organismes partenaires ({PARTNERS}). Votre demande n'en fait "
            "pas partie : un conseiller France services peut vous indiquer à qui vous adresser."
        )
        return TurnResult([render_out_of_scope(redirect)], {"misses": 0.0})

    def none_of_these(self, turn: Turn, audience: str) -> TurnResult:
        """« Aucune de ces démarches » after a hesitation: the request, as typed, is not one the bot
        recognised. A request a counter must not handle gets its redirection (PIMMS list); otherwise
        the person may rephrase, or ask a counsellor. Nothing is invented: no card is shown."""
        text = str(turn.slots.get("request_text") or "")
        if text and self.must_not_do(text):
            return self.out_of_scope(Turn(intent="hors_champ", text=text, slots=turn.slots, audience=audience))
        redirect = (
            "Je ne reconnais donc pas votre demande parmi les démarches que les espaces France services "
            f"accompagnent auprès de leurs 12 organismes partenaires ({PARTNERS}). "
            "Si elle concerne l'un d'eux, reformulez-la en quelques mots, par exemple "
            "« renouveler ma carte Vitale ». Sinon, un conseiller France services peut vous indiquer à qui "
            "vous adresser."
        )
        reply = render_out_of_scope(redirect)
        reply.custom["unresolved"] = True  # the web pages offer « Parler à un conseiller » (bot/web/channel.py)
        return TurnResult([reply], {"pending_question": None})

    def outside_redirect(self, text: str, audience: str) -> str:
        """Where to go for a request outside the référentiel: the PIMMS list's entry, else in general terms."""
        request = self.must_not_do(text)
        if request is not None:
            return request.redirect_agent if audience == AGENT else request.redirect_public
        return ("Cette demande ne fait pas partie de ce qu'un espace France services peut prendre en charge. "
                "Un conseiller France services peut vous indiquer à qui vous adresser.")

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


def _and_list(items: Sequence[str]) -> str:
    """« a », « a puis b », « a, b puis c »."""
    items = list(items)
    if len(items) <= 1:
        return "".join(items)
    return ", ".join(items[:-1]) + " puis " + items[-1]


def _plain(text: str) -> str:
    return DecisionEngine.normalise(text)


def _unique_operators(rows: Sequence[Demarche]) -> List[str]:
    return list(dict.fromkeys(r.operator for r in rows))


def _entity(entities: Sequence[Mapping], name: str) -> Optional[str]:
    for entity in entities or ():
        if entity.get("entity") == name and entity.get("value"):
            return str(entity["value"])
    return None
