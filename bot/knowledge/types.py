"""Plain domain objects of the knowledge base (no SQL, no Rasa)."""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Dict, List, Optional, Pattern, Tuple

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
    # a general row of its operator (« Présentation générale des démarches »): when these facts hold,
    # it answers instead of a niveau 1 row of any of the operator's topics
    general_when: Dict[str, str] = field(default_factory=dict)

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
    # (pattern, topic): a document of this operator that another organisation asks the person for;
    # the document asked for decides the démarche (« mon avis d'impôt pour la CAF » -> impots.gouv.fr)
    documents: Tuple[Tuple[str, str], ...] = ()
    # (pattern, topic): a benefit this operator pays and the topic of its urgent rows when it stops
    # (« mon RSA ne tombe plus » -> the CAF): several requests in one message read a story of
    # interruption by the benefit it names
    benefits: Tuple[Tuple[str, str], ...] = ()


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


@dataclass(frozen=True)
class LocalSupplement:
    """A departmental precision completing national rows (never replacing their category)."""

    id: str
    departement: str
    title: str
    text: str
    status: str  # kept | superseded (older local text contradicted by the national référentiel)
    note: str
    document: str
    section: str
    line: int
    topics: Tuple[str, ...] = ()
    demarches: Tuple[str, ...] = ()
    contacts: Tuple[Contact, ...] = ()
    audience: str = "agent"  # who may read title and text: agent (counsellor wording or channels) | public
    public_title: Optional[str] = None  # with audience agent: the same precision worded for the person
    public_text: Optional[str] = None

    def applies_to(self, demarche: "Demarche") -> bool:
        return demarche.id in self.demarches or demarche.topic in self.topics


@dataclass(frozen=True)
class LocalPack:
    departement: str
    name: str
    document: str
    supplements: Tuple[LocalSupplement, ...]


LOCAL_STATUSES: Tuple[str, ...] = ("kept", "superseded")


@dataclass(frozen=True)
class Situation:
    """A life situation of the 2019 bouquet, leading to today's topics."""

    id: str
    title: str
    topics: Tuple[str, ...]
    document: str
    section: str
    line: int


def whole_words(regexes: Tuple[str, ...]) -> Optional[Pattern[str]]:
    """One pattern finding any of `regexes` as whole words (between \\b and \\b); None if there are none."""
    if not regexes:
        return None
    return re.compile(r"\b(?:" + "|".join(f"(?:{r})" for r in regexes) + r")\b")


@dataclass(frozen=True)
class OutOfScopeRequest:
    """A request a counter must not handle (PIMMS socle commun), and where to go instead.

    It matches a text in which one of `patterns` is found and none of `unless` nor `operator_names`
    (both words or phrases, found as whole words) — the operators named are set aside when one of
    `contrasts` is found, where the text sets the other body's request against an operator's that works
    (« la base de la Carsat est bien versée, pas l'Agirc-Arrco »): `matches()`, the one place where this
    is decided.
    """

    id: str
    title: str
    patterns: Tuple[str, ...]
    redirect_public: str
    redirect_agent: str
    document: str
    section: str
    line: int
    unless: Tuple[str, ...] = ()  # the entry's near misses
    # hors_champ.yml `operator_names` for an entry with `unless_operators: true` (a request of another body), else ()
    operator_names: Tuple[str, ...] = ()
    contrasts: Tuple[str, ...] = ()  # regexes: the operators named are set aside (not the entry's near misses)

    def __post_init__(self) -> None:  # compiled once, with the request
        object.__setattr__(self, "_patterns", tuple(re.compile(p) for p in self.patterns))
        object.__setattr__(self, "_contrasts", tuple(re.compile(p) for p in self.contrasts))
        object.__setattr__(self, "_operators", whole_words(self.operator_names))
        object.__setattr__(self, "_near_misses", whole_words(self.unless))

    @property
    def unless_operators(self) -> bool:
        return bool(self.operator_names)

    def matches(self, folded_text: str) -> bool:
        """Whether the text (as DecisionEngine.normalise gives it: folded, a-z 0-9 and spaces) is this request."""
        if not any(p.search(folded_text) for p in self._patterns):
            return False
        if self._near_misses is not None and self._near_misses.search(folded_text):
            return False
        return self._operators is None or not self._operators.search(folded_text) or self.contrasted(folded_text)

    def contrasted(self, folded_text: str) -> bool:
        """Whether the text sets this request against an operator's that works (`contrasts`)."""
        return any(p.search(folded_text) for p in self._contrasts)

    def near_miss(self, folded_text: str) -> bool:
        """Whether the text holds one of the entry's own near misses (`unless`, not the operators' names):
        « chèque énergie » anywhere in a message keeps an energy supplier's clause in the référentiel."""
        return self._near_misses is not None and bool(self._near_misses.search(folded_text))


@dataclass
class Knowledge:
    operators: Dict[str, Operator]
    demarches: List[Demarche]
    conditions: Dict[str, ConditionDef]
    documents: Dict[str, str]  # file name -> sha256 of the seed text
    synonyms: Dict[str, str] = field(default_factory=dict)  # everyday phrase -> référentiel words
    emergency: Dict[str, EmergencyKind] = field(default_factory=dict)
    local: Dict[str, LocalPack] = field(default_factory=dict)  # département -> supplement
    situations: List[Situation] = field(default_factory=list)
    out_of_scope: List[OutOfScopeRequest] = field(default_factory=list)
    out_of_scope_operator_names: Tuple[str, ...] = ()  # hors_champ.yml `operator_names`
