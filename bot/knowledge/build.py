"""Load validated knowledge into SQL, in one transaction.

The knowledge tables are dropped and recreated inside that transaction (DDL is
transactional on SQLite — see bot.db — and on PostgreSQL), so a failing build
leaves the previous database exactly as it was.
"""
from __future__ import annotations

import hashlib
import json
from collections import Counter
from typing import Dict

from sqlalchemy import func, select
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from bot.knowledge.models import (
    AliasRow,
    BuildInfoRow,
    ConditionDefRow,
    ConditionRow,
    ContactRow,
    DemarcheRow,
    EmergencyRow,
    ItemRow,
    KnowledgeBase,
    LocalSupplementRow,
    OutOfScopeOperatorNameRow,
    OutOfScopeRow,
    SituationRow,
    OperatorRow,
    SearchTermRow,
    SectionRow,
    SourceRow,
    SynonymRow,
    VariantRow,
)
from bot.knowledge.types import OPERATOR_SLUGS, Demarche, Knowledge
from bot.text import terms

# Field weights of the search index.
WEIGHT_TITLE = 3.0
WEIGHT_LABEL = 2.0
WEIGHT_ITEMS = 2.0
WEIGHT_SECTION = 1.0
WEIGHT_OPERATOR = 1.0


def knowledge_digest(knowledge: Knowledge) -> str:
    """A digest of the knowledge content, stored with the build (same input, same digest)."""
    payload = {
        "operators": {slug: repr(op) for slug, op in sorted(knowledge.operators.items())},
        "demarches": [repr(d) for d in knowledge.demarches],
        "conditions": [repr(c) for c in knowledge.conditions.values()],
        "emergency": [repr(e) for e in knowledge.emergency.values()],
        "documents": knowledge.documents,
        "synonyms": knowledge.synonyms,
        "local": {k: repr(v) for k, v in sorted(knowledge.local.items())},
        "situations": [repr(x) for x in knowledge.situations],
        "out_of_scope": [repr(x) for x in knowledge.out_of_scope],
        "out_of_scope_operator_names": list(knowledge.out_of_scope_operator_names),
    }
    return hashlib.sha256(json.dumps(payload, sort_keys=True).encode()).hexdigest()


def index_terms(demarche: Demarche, operator_words: str) -> Dict[str, float]:
    weights: Counter = Counter()
    for text, weight in (
        (demarche.title, WEIGHT_TITLE),
        (demarche.label, WEIGHT_LABEL),
        (" ".join(demarche.items), WEIGHT_ITEMS),
        (demarche.section, WEIGHT_SECTION),
        (operator_words, WEIGHT_OPERATOR),
    ):
        for term in set(terms(text)):
            weights[term[:80]] += weight
    return dict(weights)


def build(knowledge: Knowledge, engine: Engine) -> Dict[str, int]:
    """Replace the knowledge tables with `knowledge`. Returns row counts per table."""
    tables = KnowledgeBase.metadata.sorted_tables
    with Session(engine, future=True) as session, session.begin():
        connection = session.connection()
        KnowledgeBase.metadata.drop_all(connection, tables=tables)
        KnowledgeBase.metadata.create_all(connection, tables=tables)
        _insert(session, knowledge)
        session.flush()
        counts = {t.name: session.execute(select(func.count()).select_from(t)).scalar_one() for t in tables}
    return counts


def _insert(session: Session, knowledge: Knowledge) -> None:
    for document, digest in sorted(knowledge.documents.items()):
        session.add(SourceRow(document=document, sha256=digest))
    for position, (key, cond) in enumerate(knowledge.conditions.items()):
        session.add(
            ConditionDefRow(
                key=key,
                question_agent=cond.question_agent,
                question_public=cond.question_public,
                default=cond.default,
                position=position,
                spec={
                    "cases": cond.cases,
                    "askable": cond.askable,
                    "ask_when": cond.ask_when,
                    "implied_by": {k: list(v) for k, v in cond.implied_by.items()},
                    "implies": cond.implies,
                    "persistent": cond.persistent,
                },
            )
        )
    for position, (key, kind) in enumerate(knowledge.emergency.items()):
        session.add(
            EmergencyRow(
                key=key,
                label=kind.label,
                position=position,
                patterns=list(kind.patterns),
                numbers=[{"value": n.value, "label": n.label} for n in kind.numbers],
            )
        )
    session.flush()  # no ORM relationship tells the unit of work that operators need sources first
    order = {slug: i for i, slug in enumerate(OPERATOR_SLUGS)}
    for slug, op in sorted(knowledge.operators.items(), key=lambda kv: order[kv[0]]):
        session.add(
            OperatorRow(
                slug=slug,
                name=op.name,
                title=op.title,
                designation=op.designation,
                document=op.document,
                position=order[slug],
                documents=[list(d) for d in op.documents],
                benefits=[list(b) for b in op.benefits],
                aliases=[AliasRow(alias=a, position=i) for i, a in enumerate(op.aliases)],
            )
        )
    session.flush()

    sections: Dict[tuple, SectionRow] = {}
    per_operator: Counter = Counter()
    for position, demarche in enumerate(knowledge.demarches):
        key = (demarche.operator, demarche.section)
        if key not in sections:
            per_operator[demarche.operator] += 1
            sections[key] = SectionRow(
                operator_slug=demarche.operator, title=demarche.section, position=per_operator[demarche.operator]
            )
            session.add(sections[key])
            session.flush()
        op = knowledge.operators[demarche.operator]
        session.add(
            DemarcheRow(
                id=demarche.id,
                operator_slug=demarche.operator,
                section_id=sections[key].id,
                topic=demarche.topic,
                title=demarche.title,
                label=demarche.label,
                category=demarche.category,
                action=demarche.action,
                doubt=demarche.doubt,
                general_when=dict(demarche.general_when) or None,
                position=position,
                source_section=demarche.source.section,
                source_line=demarche.source.line,
                items=[ItemRow(position=i, text=t) for i, t in enumerate(demarche.items)],
                contacts=[
                    ContactRow(position=i, kind=c.kind, value=c.value, label=c.label, audience=c.audience)
                    for i, c in enumerate(demarche.contacts)
                ],
                conditions=[ConditionRow(key=k, value=v) for k, v in sorted(demarche.conditions.items())],
                variants=[VariantRow(position=i, when=dict(v.when), text=v.text) for i, v in enumerate(demarche.variants)],
            )
        )
        session.flush()
        operator_words = " ".join((op.name, op.title, *op.aliases))
        for term, weight in sorted(index_terms(demarche, operator_words).items()):
            session.add(SearchTermRow(demarche_id=demarche.id, term=term, weight=weight))
    for departement, pack in sorted(knowledge.local.items()):
        for position, sup in enumerate(pack.supplements):
            session.add(
                LocalSupplementRow(
                    id=sup.id,
                    departement=departement,
                    departement_name=pack.name,
                    position=position,
                    title=sup.title,
                    text=sup.text,
                    status=sup.status,
                    note=sup.note,
                    document=sup.document,
                    section=sup.section,
                    line=sup.line,
                    topics=list(sup.topics),
                    demarches=list(sup.demarches),
                    contacts=[
                        {"kind": c.kind, "value": c.value, "label": c.label, "audience": c.audience} for c in sup.contacts
                    ],
                    audience=sup.audience,
                    public_title=sup.public_title,
                    public_text=sup.public_text,
                )
            )
    for position, sit in enumerate(knowledge.situations):
        session.add(
            SituationRow(
                id=sit.id, position=position, title=sit.title, topics=list(sit.topics),
                document=sit.document, section=sit.section, line=sit.line,
            )
        )
    for position, req in enumerate(knowledge.out_of_scope):
        session.add(
            OutOfScopeRow(
                id=req.id, position=position, title=req.title, patterns=list(req.patterns),
                unless=list(req.unless), unless_operators=req.unless_operators, contrasts=list(req.contrasts),
                redirect_public=req.redirect_public, redirect_agent=req.redirect_agent,
                document=req.document, section=req.section, line=req.line,
            )
        )
    for position, pattern in enumerate(knowledge.out_of_scope_operator_names):
        session.add(OutOfScopeOperatorNameRow(position=position, pattern=pattern))
    for phrase, expansion in sorted(knowledge.synonyms.items()):
        session.add(SynonymRow(phrase=phrase, expansion=expansion))
    session.add(BuildInfoRow(key="digest", value=knowledge_digest(knowledge)))
