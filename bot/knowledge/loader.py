"""Load and validate `knowledge/` (YAML) into domain objects.

Every problem is reported with its file, line, entry id and field; all problems
of all files are collected before failing, so that one run shows everything.
"""
from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from itertools import combinations
from pathlib import Path
from typing import Any, Dict, Iterable, List, Optional, Tuple

import yaml

from bot.knowledge.types import (
    AUDIENCES,
    CATEGORIES,
    CONDITION_VALUES,
    CONTACT_KINDS,
    OPERATOR_SLUGS,
    ConditionDef,
    Contact,
    LOCAL_STATUSES,
    EmergencyKind,
    EmergencyNumber,
    LocalPack,
    LocalSupplement,
    OutOfScopeRequest,
    Situation,
    Demarche,
    Knowledge,
    Operator,
    Source,
    Variant,
)
from bot.text import fold

CONDITIONS_FILE = "conditions.yml"
SYNONYMS_FILE = "synonyms.yml"
EMERGENCY_FILE = "emergency.yml"
SITUATIONS_FILE = "situations.yml"
OUT_OF_SCOPE_FILE = "hors_champ.yml"
SOURCES_DIR = "sources"
LOCAL_DIR = "local"
# Top-level YAML files that are not operator files.
RESERVED_FILES = {CONDITIONS_FILE, SYNONYMS_FILE, EMERGENCY_FILE, SITUATIONS_FILE, OUT_OF_SCOPE_FILE}

TITLE_MAX = 90
_SLUG_RE = re.compile(r"^[a-z0-9_]+$")
_EMAIL_RE = re.compile(r"^[\w.+-]+@[\w-]+(\.[\w-]+)+$")
_PHONE_RE = re.compile(r"^[0-9][0-9 ]*[0-9]$")

OPERATOR_KEYS = {"slug": True, "name": True, "title": True, "designation": True, "document": True, "aliases": False,
                 "documents": False, "benefits": False}
DEMARCHE_KEYS = {
    "id": True,
    "topic": True,
    "title": True,
    "section": True,
    "label": True,
    "items": False,
    "category": True,
    "action": True,
    "contacts": False,
    "conditions": False,
    "variants": False,
    "doubt": False,
    "general_when": False,
    "source": True,
}
CONTACT_KEYS = {"kind": True, "value": True, "label": True, "audience": True}
VARIANT_KEYS = {"when": True, "text": True}
SOURCE_KEYS = {"section": True, "line": True}
CONDITION_DEF_KEYS = {
    "question_agent": True,
    "question_public": True,
    "default": True,
    "cases": True,
    "askable": False,
    "ask_when": False,
    "implied_by": False,
    "implies": False,
    "persistent": False,
}


@dataclass(frozen=True)
class Problem:
    file: str
    line: Optional[int]
    entry: Optional[str]
    field: Optional[str]
    message: str

    def __str__(self) -> str:
        where = self.file + (f":{self.line}" if self.line else "")
        parts = [where]
        if self.entry:
            parts.append(self.entry)
        if self.field:
            parts.append(self.field)
        return ": ".join(parts) + ": " + self.message


class KnowledgeError(Exception):
    def __init__(self, problems: List[Problem]):
        self.problems = problems
        super().__init__("\n".join(str(p) for p in problems))


# --- YAML with line numbers -------------------------------------------------------


class LineDict(dict):
    """A mapping that remembers the line of itself and of each of its keys."""

    line: int = 0
    key_lines: Dict[str, int]


class LineList(list):
    line: int = 0
    item_lines: List[int]


class _LineLoader(yaml.SafeLoader):
    pass


def _construct_mapping(loader: _LineLoader, node: yaml.MappingNode) -> LineDict:
    result = LineDict()
    result.line = node.start_mark.line + 1
    result.key_lines = {}
    seen: Dict[Any, int] = {}
    for key_node, value_node in node.value:
        key = loader.construct_object(key_node, deep=True)
        if key in seen:
            raise yaml.constructor.ConstructorError(
                None, None, f"duplicate key {key!r} (first at line {seen[key]})", key_node.start_mark
            )
        seen[key] = key_node.start_mark.line + 1
        result[key] = loader.construct_object(value_node, deep=True)
        result.key_lines[key] = key_node.start_mark.line + 1
    return result


def _construct_sequence(loader: _LineLoader, node: yaml.SequenceNode) -> LineList:
    result = LineList(loader.construct_object(child, deep=True) for child in node.value)
    result.line = node.start_mark.line + 1
    result.item_lines = [child.start_mark.line + 1 for child in node.value]
    return result


_LineLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_mapping)
_LineLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_SEQUENCE_TAG, _construct_sequence)


def _line_of(container: Any, key: Optional[str] = None) -> Optional[int]:
    if isinstance(container, LineDict):
        if key is not None and key in container.key_lines:
            return container.key_lines[key]
        return container.line
    if isinstance(container, LineList):
        return container.line
    return None


def _item_line(items: Any, index: int, container: Any) -> Optional[int]:
    """The line of items[index] (a YAML list), else of the container."""
    if isinstance(items, LineList) and index < len(getattr(items, "item_lines", ())):
        return items.item_lines[index]
    return _line_of(container)


# --- validation helpers -------------------------------------------------------------


class _Reporter:
    def __init__(self, file: str):
        self.file = file
        self.problems: List[Problem] = []

    def add(self, line: Optional[int], entry: Optional[str], field: Optional[str], message: str) -> None:
        self.problems.append(Problem(self.file, line, entry, field, message))

    def check_keys(self, mapping: Any, spec: Dict[str, bool], entry: Optional[str], where: str) -> bool:
        """Unknown keys and missing required keys. Returns False if not a mapping."""
        if not isinstance(mapping, dict):
            self.add(_line_of(mapping), entry, where, "attendu : un dictionnaire (clé: valeur)")
            return False
        for key in mapping:
            if key not in spec:
                allowed = ", ".join(sorted(spec))
                self.add(_line_of(mapping, key), entry, _join(where, key), f"clé inconnue (clés permises : {allowed})")
        for key, required in spec.items():
            if required and key not in mapping:
                self.add(_line_of(mapping), entry, _join(where, key), "clé obligatoire absente")
        return True

    def text(self, mapping: dict, key: str, entry: Optional[str], where: str) -> Optional[str]:
        if key not in mapping:
            return None
        value = mapping[key]
        if not isinstance(value, str) or not value.strip():
            self.add(_line_of(mapping, key), entry, _join(where, key), "attendu : un texte non vide")
            return None
        return value.strip()


def _join(where: str, key: str) -> str:
    return f"{where}.{key}" if where else key


def _display(path: Path, root: Path) -> str:
    try:
        return str(path.relative_to(root.parent))
    except ValueError:
        return str(path)


def _read_yaml(path: Path, rep: _Reporter) -> Any:
    try:
        with path.open(encoding="utf-8") as handle:
            return yaml.load(handle, Loader=_LineLoader)  # noqa: S506 - SafeLoader subclass
    except UnicodeDecodeError as exc:
        rep.add(None, None, None, f"le fichier n'est pas en UTF-8 ({exc})")
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = mark.line + 1 if mark is not None else None
        problem = getattr(exc, "problem", None) or str(exc)
        rep.add(line, None, None, f"YAML invalide : {problem}")
    return None


# --- conditions.yml -----------------------------------------------------------------


def _load_conditions(root: Path, problems: List[Problem]) -> Dict[str, ConditionDef]:
    path = root / CONDITIONS_FILE
    rep = _Reporter(_display(path, root))
    result: Dict[str, ConditionDef] = {}
    raw: Dict[str, tuple] = {}
    if not path.exists():
        rep.add(None, None, None, "fichier absent")
        problems.extend(rep.problems)
        return result
    data = _read_yaml(path, rep)
    if data is not None and rep.check_keys(data, {"conditions": True}, None, ""):
        defs = data.get("conditions")
        if not isinstance(defs, dict):
            rep.add(_line_of(data, "conditions"), None, "conditions", "attendu : un dictionnaire")
        else:
            for key, spec in defs.items():
                if not isinstance(key, str) or not _SLUG_RE.match(key):
                    rep.add(_line_of(defs, key), str(key), None, "nom de condition invalide (a-z, 0-9, _)")
                    continue
                if not rep.check_keys(spec, CONDITION_DEF_KEYS, key, ""):
                    continue
                qa = rep.text(spec, "question_agent", key, "")
                qp = rep.text(spec, "question_public", key, "")
                default = spec.get("default")
                if default not in CONDITION_VALUES:
                    rep.add(_line_of(spec, "default"), key, "default", "attendu : oui ou non")
                before = len(rep.problems)
                cases = _condition_cases(spec, key, rep)
                askable = spec.get("askable", True)
                persistent = spec.get("persistent", False)
                for flag in ("askable", "persistent"):
                    if not isinstance(spec.get(flag, False), bool):
                        rep.add(_line_of(spec, flag), key, flag, "attendu : true ou false")
                implied_by = _condition_patterns(spec, key, rep)
                if qa and qp and default in CONDITION_VALUES and len(rep.problems) == before:
                    raw[key] = (qa, qp, default, cases, (askable, persistent), implied_by, spec)
            names = set(raw) | set(defs)
            for key, (qa, qp, default, cases, (askable, persistent), implied_by, spec) in raw.items():
                ask_when = _facts_map(spec.get("ask_when", {}), spec, "ask_when", key, names, rep)
                implies = {}
                implies_raw = spec.get("implies", {}) or {}
                if not isinstance(implies_raw, dict):
                    rep.add(_line_of(spec, "implies"), key, "implies", "attendu : valeur -> faits")
                else:
                    for value, facts in implies_raw.items():
                        if value not in CONDITION_VALUES:
                            rep.add(_line_of(implies_raw, value), key, f"implies.{value}", "attendu : oui ou non")
                        else:
                            implies[value] = _facts_map(facts, implies_raw, f"implies.{value}", key, names, rep)
                result[key] = ConditionDef(
                    key, qa, qp, default, cases, askable, ask_when, implied_by, implies, persistent
                )
    problems.extend(rep.problems)
    return result


def _load_synonyms(root: Path, problems: List[Problem]) -> Dict[str, str]:
    """Optional search expansions: `synonyms: {phrase: words}`."""
    path = root / SYNONYMS_FILE
    if not path.exists():
        return {}
    rep = _Reporter(_display(path, root))
    result: Dict[str, str] = {}
    data = _read_yaml(path, rep)
    if data is not None and rep.check_keys(data, {"synonyms": True}, None, ""):
        entries = data.get("synonyms")
        if not isinstance(entries, dict):
            rep.add(_line_of(data, "synonyms"), None, "synonyms", "attendu : un dictionnaire expression: mots")
        else:
            for phrase, expansion in entries.items():
                if not isinstance(phrase, str) or not phrase.strip() or not isinstance(expansion, str) or not expansion.strip():
                    rep.add(_line_of(entries, phrase), str(phrase), None, "attendu : une expression et un texte non vides")
                else:
                    result[phrase.strip()] = expansion.strip()
    problems.extend(rep.problems)
    return result


def _condition_cases(spec: dict, key: str, rep: _Reporter) -> Dict[str, Dict[str, str]]:
    cases = spec.get("cases")
    result: Dict[str, Dict[str, str]] = {}
    if cases is None:
        return result
    if not isinstance(cases, dict) or set(cases) != set(CONDITION_VALUES):
        rep.add(_line_of(spec, "cases"), key, "cases", "attendu : oui et non, chacun avec agent et public")
        return result
    for value in CONDITION_VALUES:
        phrases = cases[value]
        if not rep.check_keys(phrases, {"agent": True, "public": True}, key, f"cases.{value}"):
            continue
        agent = rep.text(phrases, "agent", key, f"cases.{value}")
        public = rep.text(phrases, "public", key, f"cases.{value}")
        if agent and public:
            result[value] = {"agent": agent, "public": public}
    return result


def _pattern_list(
    patterns: Any, container: Any, where: str, entry: Optional[str], rep: _Reporter, words: bool = False
) -> Tuple[str, ...]:
    """A list of regular expressions, each compiled to report errors at its own line.

    `words`: words or phrases found as whole words (hors_champ.yml `unless`, `operator_names`), which
    must not accept the empty text (found at every word boundary, they would rule out every text); the
    same check for `contrasts`, which would set the operators aside in every text.
    """
    if not isinstance(patterns, list) or not patterns or not all(isinstance(p, str) and p for p in patterns):
        key = where.rpartition(".")[2]
        line = _line_of(container, key) if isinstance(container, LineDict) and key in container else _line_of(container)
        rep.add(line, entry, where, "attendu : une liste d'expressions régulières")
        return ()
    for i, pattern in enumerate(patterns):
        try:
            compiled = re.compile(pattern)
        except re.error as exc:
            rep.add(_item_line(patterns, i, container), entry, f"{where}[{i}]", f"expression régulière invalide : {exc}")
            continue
        if words and compiled.fullmatch(""):
            rep.add(
                _item_line(patterns, i, container), entry, f"{where}[{i}]",
                "expression qui accepte le texte vide : elle écarterait tous les textes",
            )
    return tuple(patterns)


def _condition_patterns(spec: dict, key: str, rep: _Reporter) -> Dict[str, Tuple[str, ...]]:
    raw = spec.get("implied_by", {}) or {}
    result: Dict[str, Tuple[str, ...]] = {}
    if not isinstance(raw, dict):
        rep.add(_line_of(spec, "implied_by"), key, "implied_by", "attendu : valeur -> liste d'expressions régulières")
        return result
    for value, patterns in raw.items():
        where = f"implied_by.{value}"
        if value not in CONDITION_VALUES:
            rep.add(_line_of(raw, value), key, where, "attendu : oui ou non")
            continue
        result[value] = _pattern_list(patterns, raw, where, key, rep)
    return result


def _facts_map(raw: Any, container: Any, where: str, key: str, names: set, rep: _Reporter) -> Dict[str, str]:
    if raw is None:
        return {}
    if not isinstance(raw, dict):
        rep.add(_line_of(container, where.split(".")[0]), key, where, "attendu : un dictionnaire condition: oui|non")
        return {}
    result = {}
    for name, value in raw.items():
        if name not in names:
            rep.add(_line_of(raw, name), key, f"{where}.{name}", "condition inconnue")
        elif value not in CONDITION_VALUES:
            rep.add(_line_of(raw, name), key, f"{where}.{name}", "attendu : oui ou non")
        else:
            result[name] = value
    return result


def _load_emergency(root: Path, problems: List[Problem]) -> Dict[str, EmergencyKind]:
    path = root / EMERGENCY_FILE
    rep = _Reporter(_display(path, root))
    result: Dict[str, EmergencyKind] = {}
    if not path.exists():
        rep.add(None, None, None, "fichier absent")
        problems.extend(rep.problems)
        return result
    data = _read_yaml(path, rep)
    if data is not None and rep.check_keys(data, {"kinds": True}, None, ""):
        kinds = data.get("kinds")
        if not isinstance(kinds, dict):
            rep.add(_line_of(data, "kinds"), None, "kinds", "attendu : un dictionnaire")
        else:
            for key, spec in kinds.items():
                if not rep.check_keys(spec, {"label": True, "patterns": True, "numbers": True}, key, ""):
                    continue
                label = rep.text(spec, "label", key, "")
                patterns = _pattern_list(spec.get("patterns"), spec, "patterns", key, rep)
                numbers = []
                raw_numbers = spec.get("numbers")
                if not isinstance(raw_numbers, list) or not raw_numbers:
                    rep.add(_line_of(spec, "numbers"), key, "numbers", "attendu : une liste de numéros")
                    raw_numbers = []
                for i, number in enumerate(raw_numbers):
                    if rep.check_keys(number, {"value": True, "label": True}, key, f"numbers[{i}]"):
                        value = str(number.get("value", "")).strip()
                        number_label = rep.text(number, "label", key, f"numbers[{i}]")
                        if not _PHONE_RE.match(value) and not value.isdigit():
                            rep.add(_line_of(number, "value"), key, f"numbers[{i}].value", "numéro invalide")
                        elif number_label:
                            numbers.append(EmergencyNumber(value, number_label))
                if label and patterns and numbers:
                    result[key] = EmergencyKind(key, label, patterns, tuple(numbers))
    problems.extend(rep.problems)
    return result


# --- operator files -----------------------------------------------------------------


def _load_operator_file(
    path: Path,
    root: Path,
    conditions: Dict[str, ConditionDef],
    documents: Dict[str, int],
    seen_ids: Dict[str, str],
) -> Tuple[Optional[Operator], List[Demarche], List[Problem]]:
    rep = _Reporter(_display(path, root))
    slug = path.stem
    demarches: List[Demarche] = []
    operator: Optional[Operator] = None
    if slug not in OPERATOR_SLUGS:
        rep.add(None, None, None, f"opérateur inconnu « {slug} » (attendus : {', '.join(OPERATOR_SLUGS)})")
        return None, [], rep.problems
    data = _read_yaml(path, rep)
    if data is None:
        if not rep.problems:
            rep.add(None, None, None, "fichier vide")
        return None, [], rep.problems
    if not rep.check_keys(data, {"operator": True, "demarches": True}, None, ""):
        return None, [], rep.problems

    op = data.get("operator")
    if op is not None and rep.check_keys(op, OPERATOR_KEYS, None, "operator"):
        if op.get("slug") != slug:
            rep.add(_line_of(op, "slug"), None, "operator.slug", f"doit être « {slug} » (le nom du fichier)")
        name = rep.text(op, "name", None, "operator")
        title = rep.text(op, "title", None, "operator")
        designation = rep.text(op, "designation", None, "operator")
        document = rep.text(op, "document", None, "operator")
        if document and document not in documents:
            rep.add(_line_of(op, "document"), None, "operator.document", f"document source absent de knowledge/{SOURCES_DIR}/")
        aliases = op.get("aliases", [])
        if not isinstance(aliases, list) or not all(isinstance(a, str) and a.strip() for a in aliases):
            rep.add(_line_of(op, "aliases"), None, "operator.aliases", "attendu : une liste de textes")
            aliases = []
        if name and title and designation and document:
            operator = Operator(slug, name, title, document, tuple(a.strip() for a in aliases), designation,
                                _load_patterns(op, "documents", rep), _load_patterns(op, "benefits", rep))

    rows = data.get("demarches")
    if not isinstance(rows, list):
        if "demarches" in data:
            rep.add(_line_of(data, "demarches"), None, "demarches", "attendu : une liste d'entrées")
        return operator, [], rep.problems
    for index, row in enumerate(rows):
        demarche = _load_demarche(row, index, slug, operator, conditions, documents, seen_ids, rep)
        if demarche is not None:
            demarches.append(demarche)
    topics = {d.topic for d in demarches}
    for key in ("documents", "benefits"):
        for pattern, topic in getattr(operator, key) if operator else ():
            if topic not in topics:
                rep.add(_line_of(op, key), None, f"operator.{key}", f"thème « {topic} » absent des démarches de {slug}")
    return operator, demarches, rep.problems


def _load_patterns(op: dict, key: str, rep: _Reporter) -> Tuple[Tuple[str, str], ...]:
    """`documents:` (documents asked for) or `benefits:` (benefits paid) of an operator: [{pattern, topic}]
    — regexes on folded text, topics of its rows."""
    raw = op.get(key, [])
    result = []
    if not isinstance(raw, list):
        rep.add(_line_of(op, key), None, f"operator.{key}", "attendu : une liste de {pattern, topic}")
        return ()
    for i, item in enumerate(raw):
        where = f"operator.{key}[{i}]"
        if not isinstance(item, dict) or set(item) != {"pattern", "topic"} or not all(
            isinstance(item[k], str) and item[k].strip() for k in ("pattern", "topic")
        ):
            rep.add(_line_of(op, key), None, where, "attendu : {pattern: <expression>, topic: <thème>}")
            continue
        try:
            re.compile(item["pattern"])
        except re.error as exc:
            rep.add(_line_of(op, key), None, where, f"expression régulière invalide : {exc}")
            continue
        result.append((item["pattern"], item["topic"]))
    return tuple(result)


def _load_demarche(
    row: Any,
    index: int,
    slug: str,
    operator: Optional[Operator],
    conditions: Dict[str, ConditionDef],
    documents: Dict[str, int],
    seen_ids: Dict[str, str],
    rep: _Reporter,
) -> Optional[Demarche]:
    before = len(rep.problems)
    entry_id = row.get("id") if isinstance(row, dict) and isinstance(row.get("id"), str) else f"demarches[{index}]"
    if not rep.check_keys(row, DEMARCHE_KEYS, entry_id, ""):
        return None
    id_pattern = re.compile(rf"^{re.escape(slug)}\.[a-z0-9_]+$")
    value = row.get("id")
    if value is not None and (not isinstance(value, str) or not id_pattern.match(value)):
        rep.add(_line_of(row, "id"), entry_id, "id", f"attendu : « {slug}.nom_en_minuscules » (a-z, 0-9, _)")
    value = row.get("topic")
    if value is not None and (not isinstance(value, str) or not _SLUG_RE.match(value)):
        rep.add(_line_of(row, "topic"), entry_id, "topic", "attendu : un nom en minuscules (a-z, 0-9, _)")
    demarche_id = row.get("id")
    if isinstance(demarche_id, str):
        if demarche_id in seen_ids:
            rep.add(_line_of(row, "id"), entry_id, "id", f"identifiant en double (déjà utilisé dans {seen_ids[demarche_id]})")
        else:
            seen_ids[demarche_id] = f"{rep.file}:{_line_of(row, 'id')}"
    title = rep.text(row, "title", entry_id, "")
    if title and len(title) > TITLE_MAX:
        rep.add(_line_of(row, "title"), entry_id, "title", f"trop long ({len(title)} caractères, maximum {TITLE_MAX})")
    section = rep.text(row, "section", entry_id, "")
    label = rep.text(row, "label", entry_id, "")
    action = rep.text(row, "action", entry_id, "")
    category = row.get("category")
    if "category" in row and category not in CATEGORIES:
        rep.add(_line_of(row, "category"), entry_id, "category", f"catégorie inconnue « {category} » (attendues : {', '.join(CATEGORIES)})")

    items = row.get("items", [])
    if items is None:
        items = []
    if not isinstance(items, list) or not all(isinstance(i, str) and i.strip() for i in items):
        rep.add(_line_of(row, "items"), entry_id, "items", "attendu : une liste de textes non vides")
        items = []

    contacts = _load_contacts(row, entry_id, rep)
    row_conditions = _load_conditions_map(row.get("conditions", {}), row, "conditions", entry_id, conditions, rep)
    variants = _load_variants(row, entry_id, conditions, rep)
    general_when = {}
    if row.get("general_when") is not None:
        general_when = _load_conditions_map(row.get("general_when"), row, "general_when", entry_id, conditions, rep)
        if not general_when:
            rep.add(_line_of(row, "general_when"), entry_id, "general_when", "au moins une condition est requise")
        elif category != "niveau_2":
            rep.add(_line_of(row, "general_when"), entry_id, "general_when",
                    "réservé aux démarches de niveau 2 (une ligne générale qui réoriente un niveau 1)")

    doubt = None
    if "doubt" in row:
        doubt = rep.text(row, "doubt", entry_id, "")

    source = row.get("source")
    source_obj = None
    if source is not None and rep.check_keys(source, SOURCE_KEYS, entry_id, "source"):
        source_section = rep.text(source, "section", entry_id, "source")
        line = source.get("line")
        max_line = documents.get(operator.document, 0) if operator else 0
        if not isinstance(line, int) or isinstance(line, bool) or line < 1:
            rep.add(_line_of(source, "line"), entry_id, "source.line", "attendu : un numéro de ligne (entier ≥ 1)")
        elif operator and line > max_line:
            rep.add(_line_of(source, "line"), entry_id, "source.line", f"au-delà de la fin du document ({max_line} lignes)")
        elif source_section and operator:
            source_obj = Source(operator.document, operator.title, source_section, line)

    if len(rep.problems) > before or operator is None or source_obj is None:
        return None
    return Demarche(
        id=demarche_id,
        operator=slug,
        topic=row["topic"],
        title=title,
        section=section,
        label=label,
        category=category,
        action=action,
        source=source_obj,
        items=tuple(i.strip() for i in items),
        contacts=tuple(contacts),
        conditions=row_conditions,
        variants=tuple(variants),
        doubt=doubt,
        general_when=general_when,
    )


def _load_contacts(row: dict, entry_id: str, rep: _Reporter) -> List[Contact]:
    raw = row.get("contacts", [])
    if raw is None:
        return []
    if not isinstance(raw, list):
        rep.add(_line_of(row, "contacts"), entry_id, "contacts", "attendu : une liste de contacts")
        return []
    result = []
    for i, contact in enumerate(raw):
        where = f"contacts[{i}]"
        if not rep.check_keys(contact, CONTACT_KEYS, entry_id, where):
            continue
        before = len(rep.problems)
        kind, audience = contact.get("kind"), contact.get("audience")
        if "kind" in contact and kind not in CONTACT_KINDS:
            rep.add(_line_of(contact, "kind"), entry_id, f"{where}.kind", f"type inconnu « {kind} » (attendus : {', '.join(CONTACT_KINDS)})")
        if "audience" in contact and audience not in AUDIENCES:
            rep.add(_line_of(contact, "audience"), entry_id, f"{where}.audience", f"public inconnu « {audience} » (attendus : {', '.join(AUDIENCES)})")
        value = contact.get("value")
        if isinstance(value, int) and not isinstance(value, bool):
            value = str(value)
        if not isinstance(value, str) or not value.strip():
            rep.add(_line_of(contact, "value"), entry_id, f"{where}.value", "attendu : un texte non vide")
        elif kind == "email" and not _EMAIL_RE.match(value.strip()):
            rep.add(_line_of(contact, "value"), entry_id, f"{where}.value", f"adresse électronique invalide « {value} »")
        elif kind == "phone" and not _PHONE_RE.match(value.strip()):
            rep.add(_line_of(contact, "value"), entry_id, f"{where}.value", f"numéro invalide « {value} » (chiffres et espaces)")
        label = rep.text(contact, "label", entry_id, where)
        if len(rep.problems) == before and label:
            result.append(Contact(kind, value.strip(), label, audience))
    return result


def _load_conditions_map(
    raw: Any, container: dict, key: str, entry_id: str, conditions: Dict[str, ConditionDef], rep: _Reporter
) -> Dict[str, str]:
    if raw is None:
        return {}
    if not isinstance(raw, dict):
        rep.add(_line_of(container, key), entry_id, key, "attendu : un dictionnaire condition: oui|non")
        return {}
    result = {}
    for name, value in raw.items():
        if name not in conditions:
            rep.add(_line_of(raw, name), entry_id, f"{key}.{name}", f"condition inconnue (déclarées dans {CONDITIONS_FILE} : {', '.join(sorted(conditions))})")
        elif value not in CONDITION_VALUES:
            rep.add(_line_of(raw, name), entry_id, f"{key}.{name}", f"valeur « {value} » invalide (attendu : oui ou non)")
        else:
            result[name] = value
    return result


def _load_variants(row: dict, entry_id: str, conditions: Dict[str, ConditionDef], rep: _Reporter) -> List[Variant]:
    raw = row.get("variants", [])
    if raw is None:
        return []
    if not isinstance(raw, list):
        rep.add(_line_of(row, "variants"), entry_id, "variants", "attendu : une liste")
        return []
    result = []
    for i, variant in enumerate(raw):
        where = f"variants[{i}]"
        if not rep.check_keys(variant, VARIANT_KEYS, entry_id, where):
            continue
        when = _load_conditions_map(variant.get("when"), variant, f"{where}.when", entry_id, conditions, rep)
        text = rep.text(variant, "text", entry_id, where)
        if when and text:
            result.append(Variant(when, text))
        elif text and not when:
            rep.add(_line_of(variant, "when"), entry_id, f"{where}.when", "au moins une condition est requise")
    return result


LOCAL_KEYS = {"departement": True, "name": True, "document": True, "supplements": True}
SUPPLEMENT_KEYS = {
    "id": True,
    "applies_to": True,
    "title": True,
    "text": True,
    "contacts": False,
    "status": True,
    "note": True,
    "source": True,
    "audience": True,
    "public": False,
}
# Words of counsellor-only channels, never in a supplement's public wording.
AGENT_CHANNEL_WORDS = ("administration+", "administration +", "back-office", "back office", "osmose")


def _check_supplement_audience(item: dict, entry: str, contacts: List[Contact], rep: "_Reporter"):
    """`audience` says who may read title and text; a counsellor text may have a `public` wording.

    Returns (audience, public title, public text)."""
    audience = item.get("audience")
    if audience not in AUDIENCES:
        if "audience" in item:  # a missing key is already reported by check_keys
            rep.add(_line_of(item, "audience"), entry, "audience", f"attendu : {' ou '.join(AUDIENCES)} (qui peut lire le titre et le texte)")
        return None, None, None
    agent_contacts = [c for c in contacts if c.audience == "agent"]
    if audience == "public" and agent_contacts:
        rep.add(
            _line_of(item, "audience"), entry, "audience",
            "un complément public ne peut pas avoir de contact réservé aux conseillers : "
            "mettez audience: agent et, si utile, une formulation publique (public: {title, text})",
        )
    raw = item.get("public")
    if raw is None:
        return audience, None, None
    if audience == "public":
        rep.add(_line_of(item, "public"), entry, "public", "inutile : le texte est déjà destiné au public")
        return audience, None, None
    if not rep.check_keys(raw, {"title": True, "text": True}, entry, "public"):
        return audience, None, None
    title = rep.text(raw, "title", entry, "public")
    text = rep.text(raw, "text", entry, "public")
    if title and text:
        wording = fold(f"{title} {text}")
        digits = re.sub(r"\D", "", wording)
        leaked = [w for w in AGENT_CHANNEL_WORDS if w in wording]
        leaked += [
            c.value for c in agent_contacts
            if (c.kind == "phone" and re.sub(r"\D", "", c.value) in digits) or (c.kind != "phone" and fold(c.value) in wording)
        ]
        if leaked:
            rep.add(_line_of(raw, "text"), entry, "public.text", f"canal réservé aux conseillers dans la formulation publique : {', '.join(leaked)}")
    return audience, title, text


def _load_local(
    root: Path, documents: Dict[str, int], demarches: List[Demarche], problems: List[Problem], known_ids=()
) -> Dict[str, LocalPack]:
    """knowledge/local/<département>.yml: departmental supplements to national rows."""
    result: Dict[str, LocalPack] = {}
    folder = root / LOCAL_DIR
    if not folder.is_dir():
        return result
    topics = {d.topic for d in demarches}
    ids = {d.id for d in demarches} | set(known_ids)  # ids of rows that failed validation: no cascade
    for path in sorted(folder.glob("*.yml")):
        rep = _Reporter(_display(path, root))
        data = _read_yaml(path, rep)
        if data is None or not rep.check_keys(data, LOCAL_KEYS, None, ""):
            if data is None and not rep.problems:
                rep.add(None, None, None, "fichier vide")
            problems.extend(rep.problems)
            continue
        departement = str(data.get("departement", "")).strip()
        if departement != path.stem:
            rep.add(_line_of(data, "departement"), None, "departement", f"doit être « {path.stem} » (le nom du fichier)")
        name = rep.text(data, "name", None, "")
        document = rep.text(data, "document", None, "")
        if document and document not in documents:
            rep.add(_line_of(data, "document"), None, "document", f"document source absent de knowledge/{SOURCES_DIR}/")
        supplements = []
        seen: Dict[str, int] = {}
        raw = data.get("supplements")
        if not isinstance(raw, list):
            rep.add(_line_of(data, "supplements"), None, "supplements", "attendu : une liste")
            raw = []
        for index, item in enumerate(raw):
            entry = item.get("id") if isinstance(item, dict) and isinstance(item.get("id"), str) else f"supplements[{index}]"
            if not rep.check_keys(item, SUPPLEMENT_KEYS, entry, ""):
                continue
            before = len(rep.problems)
            if not re.match(r"^[a-z0-9_]+\.[a-z0-9_]+$", str(item.get("id", ""))):
                rep.add(_line_of(item, "id"), entry, "id", "attendu : « nom.en_minuscules » (a-z, 0-9, _)")
            elif entry in seen:
                rep.add(_line_of(item, "id"), entry, "id", f"identifiant en double (ligne {seen[entry]})")
            else:
                seen[entry] = _line_of(item, "id")
            applies = item.get("applies_to")
            applied_topics: List[str] = []
            applied_ids: List[str] = []
            if rep.check_keys(applies, {"topics": False, "demarches": False}, entry, "applies_to"):
                applied_topics = list(applies.get("topics") or [])
                applied_ids = list(applies.get("demarches") or [])
                for topic in applied_topics:
                    if topic not in topics:
                        rep.add(_line_of(applies, "topics"), entry, "applies_to.topics", f"sujet national inconnu « {topic} »")
                for demarche_id in applied_ids:
                    if demarche_id not in ids:
                        rep.add(_line_of(applies, "demarches"), entry, "applies_to.demarches", f"démarche nationale inconnue « {demarche_id} »")
                if not applied_topics and not applied_ids:
                    rep.add(_line_of(item, "applies_to"), entry, "applies_to", "au moins un sujet ou une démarche nationale")
            title = rep.text(item, "title", entry, "")
            text = rep.text(item, "text", entry, "")
            note = rep.text(item, "note", entry, "")
            status = item.get("status")
            if status not in LOCAL_STATUSES:
                rep.add(_line_of(item, "status"), entry, "status", f"attendu : {' ou '.join(LOCAL_STATUSES)}")
            contacts = _load_contacts(item, entry, rep)
            audience, public_title, public_text = _check_supplement_audience(item, entry, contacts, rep)
            source = item.get("source")
            section, line = None, None
            if rep.check_keys(source, SOURCE_KEYS, entry, "source"):
                section = rep.text(source, "section", entry, "source")
                line = source.get("line")
                if not isinstance(line, int) or isinstance(line, bool) or line < 1 or line > documents.get(document or "", 0):
                    rep.add(_line_of(source, "line"), entry, "source.line", "numéro de ligne absent ou hors du document")
            if len(rep.problems) == before and title and text and note and section:
                supplements.append(
                    LocalSupplement(
                        entry, departement, title, text, status, note, document, section, line,
                        tuple(applied_topics), tuple(applied_ids), tuple(contacts),
                        audience=audience, public_title=public_title, public_text=public_text,
                    )
                )
        problems.extend(rep.problems)
        if name and document:
            result[departement] = LocalPack(departement, name, document, tuple(supplements))
    return result


def _load_listing(
    root: Path, name: str, key: str, spec: Dict[str, bool], documents: Dict[str, int], problems: List[Problem],
    top: Optional[Dict[str, bool]] = None,
):
    """Shared shape of situations.yml and hors_champ.yml: `document` + a list of entries with `source`
    (+ the `top` keys of the file). Returns the reporter, the document, the entries and the file's mapping."""
    path = root / name
    if not path.exists():
        return None, None, [], None
    rep = _Reporter(_display(path, root))
    data = _read_yaml(path, rep)
    entries: List[Tuple[dict, str]] = []
    document = None
    if data is not None and rep.check_keys(data, {"document": True, key: True, **(top or {})}, None, ""):
        document = rep.text(data, "document", None, "")
        if document and document not in documents:
            rep.add(_line_of(data, "document"), None, "document", f"document source absent de knowledge/{SOURCES_DIR}/")
        items = data.get(key)
        if not isinstance(items, list):
            rep.add(_line_of(data, key), None, key, "attendu : une liste")
            items = []
        seen = set()
        for index, item in enumerate(items):
            entry = item.get("id") if isinstance(item, dict) and isinstance(item.get("id"), str) else f"{key}[{index}]"
            if not rep.check_keys(item, spec, entry, ""):
                continue
            if not _SLUG_RE.match(str(item.get("id", ""))):
                rep.add(_line_of(item, "id"), entry, "id", "attendu : un nom en minuscules (a-z, 0-9, _)")
            elif entry in seen:
                rep.add(_line_of(item, "id"), entry, "id", "identifiant en double")
            seen.add(entry)
            source = item.get("source")
            if rep.check_keys(source, SOURCE_KEYS, entry, "source"):
                rep.text(source, "section", entry, "source")
                line = source.get("line")
                if not isinstance(line, int) or isinstance(line, bool) or line < 1 or line > documents.get(document or "", 0):
                    rep.add(_line_of(source, "line"), entry, "source.line", "numéro de ligne absent ou hors du document")
            entries.append((item, entry))
    return rep, document, entries, data if isinstance(data, dict) else None


def _load_situations(root: Path, documents, demarches: List[Demarche], problems: List[Problem]) -> List[Situation]:
    spec = {"id": True, "title": True, "topics": True, "source": True}
    rep, document, entries, _ = _load_listing(root, SITUATIONS_FILE, "situations", spec, documents, problems)
    if rep is None:
        return []
    topics = {d.topic for d in demarches}
    result = []
    for item, entry in entries:
        before = len(rep.problems)
        title = rep.text(item, "title", entry, "")
        listed = item.get("topics")
        if not isinstance(listed, list) or not listed:
            rep.add(_line_of(item, "topics"), entry, "topics", "attendu : une liste de sujets")
            listed = []
        for topic in listed:
            if topic not in topics:
                rep.add(_line_of(item, "topics"), entry, "topics", f"sujet inconnu « {topic} »")
        if len(rep.problems) == before and title and isinstance(item.get("source"), dict):
            result.append(Situation(entry, title, tuple(listed), document, item["source"]["section"], item["source"]["line"]))
    problems.extend(rep.problems)
    return result


def _load_out_of_scope(root: Path, documents, problems: List[Problem]) -> Tuple[List[OutOfScopeRequest], Tuple[str, ...]]:
    """hors_champ.yml: the requests and `operator_names` (the 12 operators, written once for the entries
    with `unless_operators: true`)."""
    spec = {
        "id": True, "title": True, "patterns": True, "unless": False, "unless_operators": False, "contrasts": False,
        "redirect_public": True, "redirect_agent": True, "source": True,
    }
    rep, document, entries, data = _load_listing(
        root, OUT_OF_SCOPE_FILE, "requests", spec, documents, problems, top={"operator_names": False}
    )
    if rep is None:
        return [], ()
    operator_names: Tuple[str, ...] = ()
    names_ok = True
    if data is not None and "operator_names" in data:
        before = len(rep.problems)
        operator_names = _pattern_list(data["operator_names"], data, "operator_names", None, rep, words=True)
        names_ok = len(rep.problems) == before
    result = []
    for item, entry in entries:
        before = len(rep.problems)
        title = rep.text(item, "title", entry, "")
        public = rep.text(item, "redirect_public", entry, "")
        agent = rep.text(item, "redirect_agent", entry, "")
        patterns = _pattern_list(item.get("patterns"), item, "patterns", entry, rep)
        unless = _pattern_list(item["unless"], item, "unless", entry, rep, words=True) if "unless" in item else ()
        contrasts = _pattern_list(item["contrasts"], item, "contrasts", entry, rep, words=True) if "contrasts" in item else ()
        guarded = item.get("unless_operators", False)
        if not isinstance(guarded, bool):
            rep.add(_line_of(item, "unless_operators"), entry, "unless_operators", "attendu : true ou false")
        elif guarded and not operator_names and names_ok:
            rep.add(
                _line_of(item, "unless_operators"), entry, "unless_operators",
                "la liste operator_names (les 12 opérateurs) est absente du fichier",
            )
        if (
            len(rep.problems) == before and title and public and agent and patterns
            and isinstance(item.get("source"), dict) and (names_ok or not guarded)
        ):
            result.append(
                OutOfScopeRequest(
                    entry, title, patterns, public, agent, document, item["source"]["section"], item["source"]["line"],
                    unless=unless, operator_names=operator_names if guarded else (), contrasts=contrasts,
                )
            )
    problems.extend(rep.problems)
    return result, operator_names


def _check_topics(demarches: List[Demarche], seen_ids: Dict[str, str]) -> List[Problem]:
    """Rows of a topic that differ in category or operator must be told apart by conditions.

    Rows of the same category and operator may share a topic without conditions: the
    engine then picks the one that matches the person's words best.
    """
    problems: List[Problem] = []
    by_topic: Dict[str, List[Demarche]] = {}
    for demarche in demarches:
        by_topic.setdefault(demarche.topic, []).append(demarche)
    for topic, siblings in by_topic.items():
        for a, b in combinations(siblings, 2):
            if (a.category, a.operator) == (b.category, b.operator):
                continue
            if not _separable(a.conditions, b.conditions):
                file, _, line = seen_ids[b.id].rpartition(":")
                problems.append(
                    Problem(
                        file,
                        int(line) if line.isdigit() else None,
                        b.id,
                        "conditions",
                        f"impossible à distinguer de {a.id} dans le sujet {topic} ({a.category}, {a.operator}) : "
                        "ajoutez une condition posée dans les deux entrées avec des valeurs différentes",
                    )
                )
    return problems


def _separable(a: Dict[str, str], b: Dict[str, str]) -> bool:
    return any(key in b and b[key] != value for key, value in a.items())


# --- entry point ------------------------------------------------------------------


def _documents(root: Path) -> Tuple[Dict[str, int], Dict[str, str]]:
    lines: Dict[str, int] = {}
    digests: Dict[str, str] = {}
    folder = root / SOURCES_DIR
    if folder.is_dir():
        for path in sorted(folder.glob("*.txt")):
            data = path.read_bytes()
            digests[path.name] = hashlib.sha256(data).hexdigest()
            lines[path.name] = len(data.decode("utf-8", errors="replace").splitlines())
    return lines, digests


def operator_files(root: Path) -> List[Path]:
    return sorted(p for p in root.glob("*.yml") if p.name not in RESERVED_FILES)


def load_emergency_kinds(root: Path) -> Dict[str, EmergencyKind]:
    """Only `emergency.yml` (the NLU's distress detector reads it); KnowledgeError on problems."""
    problems: List[Problem] = []
    kinds = _load_emergency(Path(root), problems)
    if problems:
        raise KnowledgeError(problems)
    return kinds


def load_knowledge(root: Path, require_all_operators: bool = True) -> Knowledge:
    """Load every file of `root`; raise KnowledgeError listing every problem."""
    root = Path(root)
    problems: List[Problem] = []
    if not root.is_dir():
        raise KnowledgeError([Problem(str(root), None, None, None, "dossier introuvable")])
    conditions = _load_conditions(root, problems)
    line_counts, digests = _documents(root)
    operators: Dict[str, Operator] = {}
    demarches: List[Demarche] = []
    seen_ids: Dict[str, str] = {}
    for path in operator_files(root):
        operator, rows, file_problems = _load_operator_file(path, root, conditions, line_counts, seen_ids)
        problems.extend(file_problems)
        if operator:
            operators[operator.slug] = operator
        demarches.extend(rows)
    problems.extend(_check_topics(demarches, seen_ids))
    if require_all_operators:
        present = {p.stem for p in operator_files(root)}
        for slug in OPERATOR_SLUGS:
            if slug not in present:
                problems.append(Problem(_display(root / f"{slug}.yml", root), None, None, None, "fichier d'opérateur absent"))
    synonyms = _load_synonyms(root, problems)
    emergency = _load_emergency(root, problems)
    local = _load_local(root, line_counts, demarches, problems, known_ids=seen_ids)
    situations = _load_situations(root, line_counts, demarches, problems)
    out_of_scope, out_of_scope_operator_names = _load_out_of_scope(root, line_counts, problems)
    if problems:
        raise KnowledgeError(problems)
    return Knowledge(
        operators=operators, demarches=demarches, conditions=conditions, documents=digests, synonyms=synonyms,
        emergency=emergency,
        local=local,
        situations=situations,
        out_of_scope=out_of_scope,
        out_of_scope_operator_names=out_of_scope_operator_names,
    )


def iter_problems(exc: KnowledgeError) -> Iterable[str]:
    return (str(p) for p in exc.problems)
