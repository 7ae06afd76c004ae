"""SQLAlchemy models of the knowledge base (1.4, 2.0-style)."""
from __future__ import annotations

from sqlalchemy import JSON, Boolean, Column, Float, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import declarative_base, relationship

KnowledgeBase = declarative_base()


class SourceRow(KnowledgeBase):
    __tablename__ = "kb_sources"
    document = Column(String(200), primary_key=True)
    sha256 = Column(String(64), nullable=False)


class OperatorRow(KnowledgeBase):
    __tablename__ = "kb_operators"
    slug = Column(String(40), primary_key=True)
    name = Column(String(200), nullable=False)
    title = Column(String(200), nullable=False)
    designation = Column(String(200), nullable=False)
    document = Column(String(200), ForeignKey("kb_sources.document"), nullable=False)
    position = Column(Integer, nullable=False)
    documents = Column(JSON, nullable=False, default=list)  # [[pattern, topic]]: documents asked for
    benefits = Column(JSON, nullable=False, default=list)  # [[pattern, topic]]: benefits paid
    aliases = relationship("AliasRow", order_by="AliasRow.position", cascade="all, delete-orphan")


class AliasRow(KnowledgeBase):
    __tablename__ = "kb_operator_aliases"
    id = Column(Integer, primary_key=True)
    operator_slug = Column(String(40), ForeignKey("kb_operators.slug"), nullable=False, index=True)
    alias = Column(String(200), nullable=False)
    position = Column(Integer, nullable=False)


class SectionRow(KnowledgeBase):
    __tablename__ = "kb_sections"
    __table_args__ = (UniqueConstraint("operator_slug", "title"),)
    id = Column(Integer, primary_key=True)
    operator_slug = Column(String(40), ForeignKey("kb_operators.slug"), nullable=False)
    title = Column(String(400), nullable=False)
    position = Column(Integer, nullable=False)


class ConditionDefRow(KnowledgeBase):
    __tablename__ = "kb_condition_defs"
    key = Column(String(60), primary_key=True)
    question_agent = Column(Text, nullable=False)
    question_public = Column(Text, nullable=False)
    default = Column(String(10), nullable=False)
    position = Column(Integer, nullable=False)
    # cases, askable, ask_when, implied_by, implies, persistent
    spec = Column(JSON, nullable=False)


class DemarcheRow(KnowledgeBase):
    __tablename__ = "kb_demarches"
    id = Column(String(120), primary_key=True)
    operator_slug = Column(String(40), ForeignKey("kb_operators.slug"), nullable=False, index=True)
    section_id = Column(Integer, ForeignKey("kb_sections.id"), nullable=False)
    topic = Column(String(120), nullable=False, index=True)
    title = Column(String(200), nullable=False)
    label = Column(Text, nullable=False)
    category = Column(String(20), nullable=False, index=True)
    action = Column(Text, nullable=False)
    doubt = Column(Text)
    general_when = Column(JSON(none_as_null=True))  # {key: value}: see Demarche.general_when
    position = Column(Integer, nullable=False)
    source_section = Column(String(400), nullable=False)
    source_line = Column(Integer, nullable=False)

    operator = relationship("OperatorRow")
    section = relationship("SectionRow")
    items = relationship("ItemRow", order_by="ItemRow.position", cascade="all, delete-orphan")
    contacts = relationship("ContactRow", order_by="ContactRow.position", cascade="all, delete-orphan")
    conditions = relationship("ConditionRow", order_by="ConditionRow.key", cascade="all, delete-orphan")
    variants = relationship("VariantRow", order_by="VariantRow.position", cascade="all, delete-orphan")


class ItemRow(KnowledgeBase):
    __tablename__ = "kb_items"
    id = Column(Integer, primary_key=True)
    demarche_id = Column(String(120), ForeignKey("kb_demarches.id"), nullable=False, index=True)
    position = Column(Integer, nullable=False)
    text = Column(Text, nullable=False)


class ContactRow(KnowledgeBase):
    __tablename__ = "kb_contacts"
    id = Column(Integer, primary_key=True)
    demarche_id = Column(String(120), ForeignKey("kb_demarches.id"), nullable=False, index=True)
    position = Column(Integer, nullable=False)
    kind = Column(String(20), nullable=False)
    value = Column(String(400), nullable=False)
    label = Column(Text, nullable=False)
    audience = Column(String(10), nullable=False)


class ConditionRow(KnowledgeBase):
    __tablename__ = "kb_conditions"
    __table_args__ = (UniqueConstraint("demarche_id", "key"),)
    id = Column(Integer, primary_key=True)
    demarche_id = Column(String(120), ForeignKey("kb_demarches.id"), nullable=False, index=True)
    key = Column(String(60), ForeignKey("kb_condition_defs.key"), nullable=False)
    value = Column(String(10), nullable=False)


class VariantRow(KnowledgeBase):
    __tablename__ = "kb_variants"
    id = Column(Integer, primary_key=True)
    demarche_id = Column(String(120), ForeignKey("kb_demarches.id"), nullable=False, index=True)
    position = Column(Integer, nullable=False)
    when = Column(JSON, nullable=False)
    text = Column(Text, nullable=False)


class SearchTermRow(KnowledgeBase):
    """Inverted index for the French full-text search (normalised, accent-free terms)."""

    __tablename__ = "kb_search_terms"
    __table_args__ = (Index("ix_kb_search_terms_term", "term"),)
    id = Column(Integer, primary_key=True)
    demarche_id = Column(String(120), ForeignKey("kb_demarches.id"), nullable=False, index=True)
    term = Column(String(80), nullable=False)
    weight = Column(Float, nullable=False)


class BuildInfoRow(KnowledgeBase):
    __tablename__ = "kb_build_info"
    key = Column(String(40), primary_key=True)
    value = Column(Text, nullable=False)


class SynonymRow(KnowledgeBase):
    """Search expansions: an everyday phrase and the référentiel's words for it."""

    __tablename__ = "kb_synonyms"
    phrase = Column(String(200), primary_key=True)
    expansion = Column(Text, nullable=False)


class EmergencyRow(KnowledgeBase):
    __tablename__ = "kb_emergency"
    key = Column(String(40), primary_key=True)
    label = Column(String(200), nullable=False)
    position = Column(Integer, nullable=False)
    patterns = Column(JSON, nullable=False)
    numbers = Column(JSON, nullable=False)  # [{"value", "label"}]


class LocalSupplementRow(KnowledgeBase):
    """knowledge/local/<département>.yml, one row per supplement (kept or superseded)."""

    __tablename__ = "kb_local_supplements"
    id = Column(String(120), primary_key=True)
    departement = Column(String(5), nullable=False, index=True)
    departement_name = Column(String(100), nullable=False)
    position = Column(Integer, nullable=False)
    title = Column(String(200), nullable=False)
    text = Column(Text, nullable=False)
    status = Column(String(20), nullable=False)
    note = Column(Text, nullable=False)
    document = Column(String(200), nullable=False)
    section = Column(String(400), nullable=False)
    line = Column(Integer, nullable=False)
    topics = Column(JSON, nullable=False)
    demarches = Column(JSON, nullable=False)
    contacts = Column(JSON, nullable=False)
    audience = Column(String(10), nullable=False)
    public_title = Column(String(200), nullable=True)
    public_text = Column(Text, nullable=True)


class SituationRow(KnowledgeBase):
    """Life situations of the 2019 bouquet (knowledge/situations.yml)."""

    __tablename__ = "kb_situations"
    id = Column(String(80), primary_key=True)
    position = Column(Integer, nullable=False)
    title = Column(String(200), nullable=False)
    topics = Column(JSON, nullable=False)
    document = Column(String(200), nullable=False)
    section = Column(String(400), nullable=False)
    line = Column(Integer, nullable=False)


class OutOfScopeRow(KnowledgeBase):
    """Requests a counter must not handle (knowledge/hors_champ.yml)."""

    __tablename__ = "kb_out_of_scope"
    id = Column(String(80), primary_key=True)
    position = Column(Integer, nullable=False)
    title = Column(String(200), nullable=False)
    patterns = Column(JSON, nullable=False)
    unless = Column(JSON, nullable=False, default=list)  # near misses: regexes of words or phrases
    unless_operators = Column(Boolean, nullable=False, default=False)  # also unless kb_out_of_scope_operator_names
    contrasts = Column(JSON, nullable=False, default=list)  # regexes that set the operator named aside
    redirect_public = Column(Text, nullable=False)
    redirect_agent = Column(Text, nullable=False)
    document = Column(String(200), nullable=False)
    section = Column(String(400), nullable=False)
    line = Column(Integer, nullable=False)


class OutOfScopeOperatorNameRow(KnowledgeBase):
    """The 12 operators as people name them (hors_champ.yml `operator_names`), stored once for the
    requests with `unless_operators`."""

    __tablename__ = "kb_out_of_scope_operator_names"
    position = Column(Integer, primary_key=True, autoincrement=False)
    pattern = Column(Text, nullable=False)
