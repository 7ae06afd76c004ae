"""Plain domain objects of the knowledge base (no SQL, no Rasa)."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Dict, List, Optional, Tuple

OPERATOR_SLUGS: Tuple[str, ...] = (
    "caf",
    "assurance_maladie",
    "assurance_retraite",
    "cheque_energie",
    "finances_publiques",
    "france_renov",
    "france_titres",
    "france_travail",
    "la_poste",
    "msa",
    "point_justice",
    "urssaf",
)

CATEGORIES: Tuple[str, ...] = ("niveau_1", "niveau_2", "urgent", "hors_bouquet")

CATEGORY_LABELS: Dict[str, str] = {
    "niveau_1": "Démarche de niveau 1",
    "niveau_2": "Démarche de niveau 2",
    "urgent": "Situation urgente",
    "hors_bouquet": "Hors bouquet",
}

CONTACT_KINDS: Tuple[str, ...] = ("phone", "email", "url", "service")
AUDIENCES: Tuple[str, ...] = ("public", "agent")
CONDITION_VALUES: Tuple[str, ...] = ("oui", "non")


@dataclass(frozen=True)
class Contact:
    kind: str
    value: str
    label: str
    audience: str


@dataclass(frozen=True)
class Variant:
    when: Dict[str, str]
    text: str


@dataclass(frozen=True)
class Source:
    document: str
    operator: str  # the operator's heading in the référentiel
    section: str
    line: int


@dataclass(frozen=True)
class Demarche:
    id: str
    operator: str
    topic: str
    title: str
    section: str
    label: str
    category: str
    action: str
    source: Source
    items: Tuple[str, ...] = ()
    contacts: Tuple[Contact, ...] = ()
    conditions: Dict[str, str] = field(default_factory=dict)
    variants: Tuple[Variant, ...] = ()
    doubt: Optional[str] = None

    @property
    def category_label(self) -> str:
        return CATEGORY_LABELS[self.category]


@dataclass(frozen=True)
class Operator:
    slug: str
    name: str
    title: str
    document: str
    aliases: Tuple[str, ...] = ()
    designation: str = ""  # with its article, for sentences: "la Caisse d'allocations familiales (CAF)"


@dataclass(frozen=True)
class ConditionDef:
    key: str
    question_agent: str
    question_public: str
    default: str
    cases: Dict[str, Dict[str, str]] = field(default_factory=dict)  # value -> audience -> phrase
    askable: bool = True
    ask_when: Dict[str, str] = field(default_factory=dict)
    implied_by: Dict[str, Tuple[str, ...]] = field(default_factory=dict)  # value -> regexes
    implies: Dict[str, Dict[str, str]] = field(default_factory=dict)  # value -> facts
    persistent: bool = False  # a fact about the person, not about one request

    def question(self, audience: str) -> str:
        return self.question_agent if audience == "agent" else self.question_public

    def case(self, value: str, audience: str) -> str:
        return self.cases[value]["agent" if audience == "agent" else "public"]


@dataclass(frozen=True)
class EmergencyNumber:
    value: str
    label: str


@dataclass(frozen=True)
class EmergencyKind:
    key: str
    label: str
    patterns: Tuple[str, ...]
    numbers: Tuple[EmergencyNumber, ...]


@dataclass
class Knowledge:
    operators: Dict[str, Operator]
    demarches: List[Demarche]
    conditions: Dict[str, ConditionDef]
    documents: Dict[str, str]  # file name -> sha256 of the seed text
    synonyms: Dict[str, str] = field(default_factory=dict)  # everyday phrase -> référentiel words
    emergency: Dict[str, EmergencyKind] = field(default_factory=dict)
