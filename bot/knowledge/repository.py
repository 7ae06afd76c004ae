"""Read-only query API over the knowledge tables (pure Python, no Rasa).

Each call opens its own short session (`with sessions.begin()`), and returns
plain domain objects that outlive it.
"""
from __future__ import annotations

import math
from collections import Counter, defaultdict
from dataclasses import dataclass
from typing import Dict, Iterable, List, Optional, Tuple

from sqlalchemy import func, inspect, or_, select
from sqlalchemy.exc import OperationalError, ProgrammingError
from sqlalchemy.orm import selectinload, sessionmaker

from bot.db import DatabaseError
from bot.knowledge.models import (
    ConditionDefRow,
    ConditionRow,
    EmergencyRow,
    LocalSupplementRow,
    OutOfScopeOperatorNameRow,
    OutOfScopeRow,
    SituationRow,
    DemarcheRow,
    OperatorRow,
    SearchTermRow,
    SectionRow,
    SynonymRow,
)
from bot.knowledge.types import (
    ConditionDef,
    Contact,
    Demarche,
    EmergencyKind,
    EmergencyNumber,
    LocalSupplement,
    Operator,
    OutOfScopeRequest,
    Situation,
    Source,
    Variant,
)
from bot.text import expanded_terms

# conditions that make an urgent row about the person's situation (not, say, an urgent passport)
URGENT_SITUATION_KEYS = ("detresse", "bloquee")

PREFIX_FACTOR = 0.6  # a query word matching the start of a longer term counts less
MIN_PREFIX = 4

NOT_BUILT = (
    "La base de connaissances n'est pas construite ou est inaccessible ({detail}). "
    "Lancez « python -m bot kb build » (ou « make kb »)."
)


@dataclass(frozen=True)
class SearchHit:
    demarche: Demarche
    score: float


def _to_domain(row: DemarcheRow) -> Demarche:
    return Demarche(
        id=row.id,
        operator=row.operator_slug,
        topic=row.topic,
        title=row.title,
        section=row.section.title,
        label=row.label,
        category=row.category,
        action=row.action,
        source=Source(row.operator.document, row.operator.title, row.source_section, row.source_line),
        items=tuple(i.text for i in row.items),
        contacts=tuple(Contact(c.kind, c.value, c.label, c.audience) for c in row.contacts),
        conditions={c.key: c.value for c in row.conditions},
        variants=tuple(Variant(dict(v.when), v.text) for v in row.variants),
        doubt=row.doubt,
        general_when=dict(row.general_when or {}),
    )


_LOAD = (
    selectinload(DemarcheRow.items),
    selectinload(DemarcheRow.contacts),
    selectinload(DemarcheRow.conditions),
    selectinload(DemarcheRow.variants),
    selectinload(DemarcheRow.operator),
    selectinload(DemarcheRow.section),
)


class KnowledgeRepository:
    def __init__(self, sessions: sessionmaker):
        self._sessions = sessions

    # -- helpers --------------------------------------------------------------------

    def _demarches(self, statement) -> List[Demarche]:
        try:
            with self._sessions.begin() as session:
                rows = session.execute(statement.options(*_LOAD).order_by(DemarcheRow.position)).scalars().all()
                return [_to_domain(r) for r in rows]
        except (OperationalError, ProgrammingError) as exc:
            raise DatabaseError(NOT_BUILT.format(detail=type(exc.orig).__name__)) from exc

    def ensure_ready(self) -> None:
        """Raise DatabaseError (in French) if the knowledge base cannot be read."""
        try:
            with self._sessions.begin() as session:
                tables = inspect(session.connection()).get_table_names()
                if DemarcheRow.__tablename__ not in tables:
                    raise DatabaseError(NOT_BUILT.format(detail="tables absentes"))
                if not session.execute(select(func.count()).select_from(DemarcheRow)).scalar_one():
                    raise DatabaseError(NOT_BUILT.format(detail="aucune démarche"))
        except OperationalError as exc:
            raise DatabaseError(NOT_BUILT.format(detail=str(exc.orig).strip())) from exc

    # -- queries ----------------------------------------------------------------------

    def get(self, demarche_id: str) -> Optional[Demarche]:
        found = self._demarches(select(DemarcheRow).where(DemarcheRow.id == demarche_id))
        return found[0] if found else None

    def list(
        self, operator: Optional[str] = None, section: Optional[str] = None, category: Optional[str] = None
    ) -> List[Demarche]:
        statement = select(DemarcheRow)
        if operator:
            statement = statement.where(DemarcheRow.operator_slug == operator)
        if section:
            statement = statement.join(DemarcheRow.section).where(SectionRow.title == section)
        if category:
            statement = statement.where(DemarcheRow.category == category)
        return self._demarches(statement)

    def topic(self, topic: str) -> List[Demarche]:
        """The sibling rows of a topic, each with its conditions."""
        return self._demarches(select(DemarcheRow).where(DemarcheRow.topic == topic))

    def topics(self, operator: Optional[str] = None) -> Dict[str, List[str]]:
        """topic -> ids of its rows, in référentiel order."""
        result: Dict[str, List[str]] = defaultdict(list)
        statement = select(DemarcheRow.topic, DemarcheRow.id).order_by(DemarcheRow.position)
        if operator:
            statement = statement.where(DemarcheRow.operator_slug == operator)
        with self._sessions.begin() as session:
            for topic, demarche_id in session.execute(statement):
                result[topic].append(demarche_id)
        return dict(result)

    def operators(self) -> List[Operator]:
        with self._sessions.begin() as session:
            rows = session.execute(
                select(OperatorRow).options(selectinload(OperatorRow.aliases)).order_by(OperatorRow.position)
            ).scalars()
            return [
                Operator(r.slug, r.name, r.title, r.document, tuple(a.alias for a in r.aliases), r.designation,
                         tuple((p, t) for p, t in r.documents or ()), tuple((p, t) for p, t in r.benefits or ()))
                for r in rows
            ]

    def sections(self, operator: str) -> List[str]:
        with self._sessions.begin() as session:
            return list(
                session.execute(
                    select(SectionRow.title).where(SectionRow.operator_slug == operator).order_by(SectionRow.position)
                ).scalars()
            )

    def conditions(self) -> Dict[str, ConditionDef]:
        """Condition definitions, in their order of preference."""
        with self._sessions.begin() as session:
            rows = session.execute(select(ConditionDefRow).order_by(ConditionDefRow.position)).scalars()
            return {
                r.key: ConditionDef(
                    r.key,
                    r.question_agent,
                    r.question_public,
                    r.default,
                    cases=r.spec["cases"],
                    askable=r.spec["askable"],
                    ask_when=r.spec["ask_when"],
                    implied_by={k: tuple(v) for k, v in r.spec["implied_by"].items()},
                    implies=r.spec["implies"],
                    persistent=r.spec["persistent"],
                )
                for r in rows
            }

    def emergency(self) -> Dict[str, EmergencyKind]:
        with self._sessions.begin() as session:
            rows = session.execute(select(EmergencyRow).order_by(EmergencyRow.position)).scalars()
            return {
                r.key: EmergencyKind(
                    r.key, r.label, tuple(r.patterns), tuple(EmergencyNumber(n["value"], n["label"]) for n in r.numbers)
                )
                for r in rows
            }

    def local_supplements(self, departement: str, demarche: Optional[Demarche] = None, kept_only: bool = True):
        """(département name, supplements) completing `demarche` (all of them if None)."""
        statement = select(LocalSupplementRow).where(LocalSupplementRow.departement == departement)
        if kept_only:
            statement = statement.where(LocalSupplementRow.status == "kept")
        with self._sessions.begin() as session:
            rows = session.execute(statement.order_by(LocalSupplementRow.position)).scalars().all()
            name = rows[0].departement_name if rows else None
            supplements = [
                LocalSupplement(
                    r.id, r.departement, r.title, r.text, r.status, r.note, r.document, r.section, r.line,
                    tuple(r.topics), tuple(r.demarches),
                    tuple(Contact(c["kind"], c["value"], c["label"], c["audience"]) for c in r.contacts),
                    audience=r.audience, public_title=r.public_title, public_text=r.public_text,
                )
                for r in rows
            ]
        if demarche is not None:
            supplements = [s for s in supplements if s.applies_to(demarche)]
        return name, supplements

    def situations(self) -> List[Situation]:
        with self._sessions.begin() as session:
            rows = session.execute(select(SituationRow).order_by(SituationRow.position)).scalars()
            return [Situation(r.id, r.title, tuple(r.topics), r.document, r.section, r.line) for r in rows]

    def out_of_scope_requests(self) -> List[OutOfScopeRequest]:
        try:
            with self._sessions.begin() as session:
                names = tuple(
                    session.execute(
                        select(OutOfScopeOperatorNameRow.pattern).order_by(OutOfScopeOperatorNameRow.position)
                    ).scalars()
                )
                rows = session.execute(select(OutOfScopeRow).order_by(OutOfScopeRow.position)).scalars()
                return [
                    OutOfScopeRequest(
                        r.id, r.title, tuple(r.patterns), r.redirect_public, r.redirect_agent, r.document, r.section,
                        r.line, unless=tuple(r.unless or ()), operator_names=names if r.unless_operators else (),
                        contrasts=tuple(r.contrasts or ()),
                    )
                    for r in rows
                ]
        except (OperationalError, ProgrammingError) as exc:  # a base built before `unless`: to rebuild
            raise DatabaseError(NOT_BUILT.format(detail=type(exc.orig).__name__)) from exc

    def general_rows(self, operator: str) -> List[Demarche]:
        """The operator's general rows (`general_when`): they answer for any of its topics."""
        statement = select(DemarcheRow).where(DemarcheRow.operator_slug == operator, DemarcheRow.general_when.isnot(None))
        return self._demarches(statement)

    def urgent_rows(self, operator: str) -> List[Demarche]:
        """The operator's urgent rows that a person's situation reaches: distress or a rupture
        (category urgent, `detresse: oui` or `bloquee: oui`)."""
        statement = (
            select(DemarcheRow)
            .where(
                DemarcheRow.operator_slug == operator,
                DemarcheRow.category == "urgent",
                DemarcheRow.conditions.any(
                    (ConditionRow.key.in_(URGENT_SITUATION_KEYS)) & (ConditionRow.value == "oui")
                ),
            )
        )
        return self._demarches(statement)

    def counts(self) -> Dict[str, Counter]:
        """{operator slug: Counter(category -> rows)} in operator order."""
        statement = (
            select(DemarcheRow.operator_slug, DemarcheRow.category, func.count())
            .join(DemarcheRow.operator)
            .group_by(DemarcheRow.operator_slug, DemarcheRow.category, OperatorRow.position)
            .order_by(OperatorRow.position)
        )
        result: Dict[str, Counter] = {}
        with self._sessions.begin() as session:
            for slug, category, count in session.execute(statement):
                result.setdefault(slug, Counter())[category] = count
        return result

    def search(
        self,
        query: str,
        operator: Optional[str] = None,
        category: Optional[str] = None,
        limit: int = 10,
    ) -> List[SearchHit]:
        """Ranked full-text search over titles, labels, sub-items and sections.

        Accent- and case-insensitive; light stemming; a query word of 4+ letters
        also matches the terms it begins ("immatricul" -> "immatriculation").
        Everyday phrases of `knowledge/synonyms.yml` add the référentiel's words.
        """
        with self._sessions.begin() as session:
            words = self._expand(session, query)
            if not words:
                return []
            conditions = [SearchTermRow.term == w for w in words]
            conditions += [SearchTermRow.term.like(w + "%") for w in words if len(w) >= MIN_PREFIX]
            statement = (
                select(SearchTermRow.demarche_id, SearchTermRow.term, SearchTermRow.weight, DemarcheRow.position)
                .join(DemarcheRow, DemarcheRow.id == SearchTermRow.demarche_id)
                .where(or_(*conditions))
            )
            if operator:
                statement = statement.where(DemarcheRow.operator_slug == operator)
            if category:
                statement = statement.where(DemarcheRow.category == category)
            postings = session.execute(statement).all()
            total = session.execute(select(func.count()).select_from(DemarcheRow)).scalar_one()
        scores = _rank(words, [(d, t, w) for d, t, w, _ in postings], total)
        position = {d: p for d, _, _, p in postings}
        # Ties keep the référentiel's order (national operators before MSA's parallel rows).
        best = sorted(scores.items(), key=lambda kv: (-round(kv[1], 6), position[kv[0]]))[:limit]
        if not best:
            return []
        by_id = {d.id: d for d in self._demarches(select(DemarcheRow).where(DemarcheRow.id.in_([i for i, _ in best])))}
        return [SearchHit(by_id[i], round(s, 4)) for i, s in best]

    def expand_terms(self, text: str) -> List[str]:
        """Search terms of `text`, with the référentiel's words for everyday phrases."""
        with self._sessions.begin() as session:
            return self._expand(session, text)

    @staticmethod
    def _expand(session, query: str) -> List[str]:
        return expanded_terms(query, session.execute(select(SynonymRow.phrase, SynonymRow.expansion)))


def _rank(words: List[str], postings: Iterable[Tuple[str, str, float]], total: int) -> Dict[str, float]:
    """tf-idf-like score with a coverage factor (share of query words found)."""
    docs_per_word: Dict[str, set] = defaultdict(set)
    best: Dict[Tuple[str, str], float] = {}
    for demarche_id, term, weight in postings:
        for word in words:
            if term == word:
                factor = 1.0
            elif len(word) >= MIN_PREFIX and term.startswith(word):
                factor = PREFIX_FACTOR
            else:
                continue
            docs_per_word[word].add(demarche_id)
            key = (demarche_id, word)
            best[key] = max(best.get(key, 0.0), weight * factor)
    scores: Dict[str, float] = defaultdict(float)
    matched: Dict[str, int] = defaultdict(int)
    for (demarche_id, word), value in best.items():
        idf = math.log(1 + total / len(docs_per_word[word]))
        scores[demarche_id] += value * idf
        matched[demarche_id] += 1
    return {d: s * matched[d] / len(words) for d, s in scores.items()}
