"""`bot kb check` rejects broken files with file, line, entry id and field."""
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from bot.knowledge.loader import KnowledgeError, load_knowledge

ROOT = Path(__file__).resolve().parent.parent

CONDITIONS = """\
conditions:
  detresse:
    question_agent: "L'usager est-il en détresse ?"
    question_public: "Êtes-vous en détresse ?"
    default: non
    cases:
      oui: {agent: "l'usager est en détresse", public: "vous êtes en détresse"}
      non: {agent: "l'usager n'est pas en détresse", public: "vous n'êtes pas en détresse"}
    implied_by:
      oui: ["suicid"]
"""

VALID = """\
operator:
  slug: caf
  name: Caisse d'allocations familiales (CAF)
  title: Allocations familiales
  designation: la CAF
  document: seed.txt
  aliases: [CAF]
demarches:
  - id: caf.logement
    topic: logement
    title: Aides au logement
    section: Démarches liées au logement
    label: Informer sur les aides au logement
    category: niveau_1
    action: Orienter l'utilisateur vers la CAF
    contacts:
      - kind: url
        value: Caf.fr
        label: Site de la CAF
        audience: public
    conditions: {detresse: non}
    source:
      section: Démarches liées au logement
      line: 2
  - id: caf.urgence
    topic: logement
    title: Urgence
    section: Démarches générales
    label: En cas d'urgence sociale
    category: urgent
    action: Contacter le correspondant en back-office via Administration+
    conditions: {detresse: oui}
    source:
      section: Démarches générales
      line: 3
"""


def make_dir(tmp_path: Path, caf: str = VALID, conditions: str = CONDITIONS) -> Path:
    root = tmp_path / "knowledge"
    (root / "sources").mkdir(parents=True)
    (root / "sources" / "seed.txt").write_text("titre\nligne deux\nligne trois\n", encoding="utf-8")
    (root / "conditions.yml").write_text(conditions, encoding="utf-8")
    (root / "caf.yml").write_text(caf, encoding="utf-8")
    shutil.copy(ROOT / "knowledge" / "emergency.yml", root / "emergency.yml")
    return root


def problems(root: Path):
    with pytest.raises(KnowledgeError) as info:
        load_knowledge(root, require_all_operators=False)
    return info.value.problems


def test_minimal_valid_directory_loads(tmp_path):
    knowledge = load_knowledge(make_dir(tmp_path), require_all_operators=False)
    assert [d.id for d in knowledge.demarches] == ["caf.logement", "caf.urgence"]
    assert knowledge.demarches[1].conditions == {"detresse": "oui"}
    assert knowledge.demarches[0].source.operator == "Allocations familiales"


def test_unknown_key_reported_with_line_and_entry(tmp_path):
    broken = VALID.replace("    category: niveau_1\n", "    category: niveau_1\n    colour: red\n")
    [p] = problems(make_dir(tmp_path, broken))
    assert p.file.endswith("caf.yml")
    assert p.entry == "caf.logement"
    assert p.field == "colour"
    assert p.line == 15
    assert "clé inconnue" in p.message


def test_unknown_category(tmp_path):
    [p] = problems(make_dir(tmp_path, VALID.replace("category: niveau_1", "category: niveau1")))
    assert (p.entry, p.field, p.line) == ("caf.logement", "category", 14)
    assert "niveau1" in p.message


def test_duplicate_id(tmp_path):
    broken = VALID.replace("  - id: caf.urgence\n    topic: logement", "  - id: caf.logement\n    topic: autre")
    found = problems(make_dir(tmp_path, broken))
    assert any(p.field == "id" and "double" in p.message and p.line == 25 for p in found)


def test_contact_missing_audience(tmp_path):
    [p] = problems(make_dir(tmp_path, VALID.replace("        audience: public\n", "")))
    assert p.entry == "caf.logement"
    assert p.field == "contacts[0].audience"
    assert "obligatoire" in p.message


def test_contact_unknown_audience_and_kind(tmp_path):
    broken = VALID.replace("audience: public", "audience: everyone").replace("kind: url", "kind: fax")
    fields = {p.field for p in problems(make_dir(tmp_path, broken))}
    assert fields == {"contacts[0].audience", "contacts[0].kind"}


def test_unknown_condition_key_and_value(tmp_path):
    broken = VALID.replace("conditions: {detresse: oui}", "conditions: {detresse: peut-etre, age: oui}")
    found = {(p.field, p.entry) for p in problems(make_dir(tmp_path, broken))}
    assert ("conditions.detresse", "caf.urgence") in found
    assert ("conditions.age", "caf.urgence") in found


def test_siblings_must_be_separable_by_conditions(tmp_path):
    broken = VALID.replace("    conditions: {detresse: oui}\n", "    conditions: {detresse: non}\n")
    [p] = problems(make_dir(tmp_path, broken))
    assert p.entry == "caf.urgence" and p.field == "conditions"
    assert "caf.logement" in p.message


def test_condition_definitions_are_validated(tmp_path):
    broken = CONDITIONS.replace('oui: ["suicid"]', 'oui: ["suicid("]').replace("default: non", "default: peut-etre")
    found = {p.field: p for p in problems(make_dir(tmp_path, conditions=broken))}
    assert "default" in found and found["default"].file.endswith("conditions.yml")
    # the line of the pattern itself (the file has 10 lines: 11 was one past the list's line)
    assert found["implied_by.oui[0]"].line == 10 and "expression régulière invalide" in found["implied_by.oui[0]"].message


def test_invalid_yaml_reports_line(tmp_path):
    broken = VALID.replace("    label: Informer sur les aides au logement", "    label: [Informer")
    [p] = problems(make_dir(tmp_path, broken))
    assert p.line is not None and "YAML invalide" in p.message


def test_slug_must_match_file_and_line_within_document(tmp_path):
    broken = VALID.replace("slug: caf", "slug: msa").replace("line: 3", "line: 99")
    found = {p.field: p for p in problems(make_dir(tmp_path, broken))}
    assert set(found) == {"operator.slug", "source.line"}
    assert "« caf »" in found["operator.slug"].message
    assert found["source.line"].entry == "caf.urgence" and "3 lignes" in found["source.line"].message


def test_missing_operator_file_is_reported(knowledge_copy):
    (knowledge_copy / "urssaf.yml").unlink()
    with pytest.raises(KnowledgeError) as info:
        load_knowledge(knowledge_copy)
    messages = [str(p) for p in info.value.problems]
    assert "knowledge/urssaf.yml: fichier d'opérateur absent" in messages
    # the only other problems are references to the missing operator's topics
    assert all("pajemploi" in m or "cesu" in m or "auto_entrepreneur" in m or "formalites" in m
               for m in messages if "fichier d'opérateur absent" not in m)


def test_cli_check_exit_code_and_messages(knowledge_copy):
    caf = knowledge_copy / "caf.yml"
    caf.write_text(caf.read_text(encoding="utf-8").replace("category: niveau_1", "category: niveau_un", 1), encoding="utf-8")
    env = {"GUICHET_KNOWLEDGE_DIR": str(knowledge_copy), "PATH": "/usr/bin:/bin"}
    result = subprocess.run(
        [sys.executable, "-m", "bot", "kb", "check"], cwd=ROOT, env=env, capture_output=True, text=True
    )
    assert result.returncode == 1
    first = result.stderr.splitlines()[0]
    assert first.startswith("knowledge/caf.yml:") and ": category: catégorie inconnue « niveau_un »" in first
    assert "1 problème(s)" in result.stderr


def test_cli_check_accepts_the_real_knowledge():
    result = subprocess.run([sys.executable, "-m", "bot", "kb", "check"], cwd=ROOT, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert "12 opérateurs" in result.stdout


LOCAL = """\
departement: "39"
name: Jura
document: seed.txt
supplements:
  - id: jura.caf_accueil
    applies_to:
      topics: [logement]
      demarches: []
    title: Accueil CAF du Jura
    text: Permanence de la CAF à la sous-préfecture.
    audience: public
    contacts:
      - {kind: url, value: caf.fr, label: Site de la CAF, audience: public}
    status: kept
    note: Adds a local channel to the national row.
    source: {section: CAF, line: 2}
"""


def make_local(tmp_path, text):
    root = make_dir(tmp_path)
    (root / "local").mkdir()
    (root / "local" / "39.yml").write_text(text, encoding="utf-8")
    return root


def test_local_supplement_loads(tmp_path):
    knowledge = load_knowledge(make_local(tmp_path, LOCAL), require_all_operators=False)
    [sup] = knowledge.local["39"].supplements
    assert sup.id == "jura.caf_accueil" and sup.topics == ("logement",) and sup.status == "kept"
    assert all(sup.applies_to(d) for d in knowledge.demarches)  # both rows are in topic "logement"
    by_id = type(sup)(**{**sup.__dict__, "topics": (), "demarches": ("caf.urgence",)})
    assert [by_id.applies_to(d) for d in knowledge.demarches] == [False, True]


def test_broken_local_file_is_reported_clearly(tmp_path):
    broken = (
        LOCAL.replace("topics: [logement]", "topics: [pas_un_sujet]")
        .replace("status: kept", "status: maybe")
        .replace("    note: Adds", "    category: niveau_1\n    note: Adds")
    )
    found = {p.field: p for p in problems(make_local(tmp_path, broken))}
    assert set(found) == {"applies_to.topics", "status", "category"}
    assert found["applies_to.topics"].file == "knowledge/local/39.yml"
    assert found["applies_to.topics"].entry == "jura.caf_accueil" and found["applies_to.topics"].line == 7
    assert "pas_un_sujet" in found["applies_to.topics"].message
    assert "clé inconnue" in found["category"].message  # a supplement never carries a category


AGENT_TEXT = """\
    title: Correspondant CAF du Jura
    text: Écrire au correspondant de la CAF, back-office@caf39.fr.
    audience: agent
    contacts:
      - {kind: email, value: back-office@caf39.fr, label: Correspondant de la CAF, audience: agent}
"""


def test_local_supplement_audience_and_public_wording(tmp_path):
    """Point 13 of issue 11: who may read a supplement, and a public wording without agent channels."""
    base = LOCAL.replace(
        """    title: Accueil CAF du Jura
    text: Permanence de la CAF à la sous-préfecture.
    audience: public
    contacts:
      - {kind: url, value: caf.fr, label: Site de la CAF, audience: public}
""",
        AGENT_TEXT,
    )
    public = "    public:\n      title: Correspondant CAF\n      text: Un conseiller peut contacter la CAF pour vous.\n"
    [sup] = load_knowledge(make_local(tmp_path / "ok", base.replace("    contacts:", public + "    contacts:")),
                           require_all_operators=False).local["39"].supplements
    assert (sup.audience, sup.public_title, sup.public_text) == ("agent", "Correspondant CAF", "Un conseiller peut contacter la CAF pour vous.")
    leak = public.replace("contacter la CAF", "écrire à back-office@caf39.fr")
    found = {p.field: p for p in problems(make_local(tmp_path / "leak", base.replace("    contacts:", leak + "    contacts:")))}
    assert set(found) == {"public.text"} and "back-office@caf39.fr" in found["public.text"].message
    public_with_agent_contact = base.replace("audience: agent\n    contacts", "audience: public\n    contacts")
    found = {p.field: p for p in problems(make_local(tmp_path / "public", public_with_agent_contact))}
    assert set(found) == {"audience"} and "réservé aux conseillers" in found["audience"].message
    found = {p.field: p for p in problems(make_local(tmp_path / "none", base.replace("    audience: agent\n", "")))}
    assert set(found) == {"audience"} and "obligatoire" in found["audience"].message


OUT_OF_SCOPE = """\
document: seed.txt
operator_names:
  - "caf|allocations? familiales?"
  - "impots?"
requests:
  - id: mutuelle
    title: Mutuelle privée
    patterns:
      - "\\\\bmutuelles?\\\\b"
    unless_operators: true
    unless:
      - "complementaire sante solidaire|css"
      - "attestation\\\\w*"
    redirect_public: Adressez-vous à votre mutuelle.
    redirect_agent: "Hors référentiel : mutuelle."
    source: {section: CAF, line: 2}
  - id: sortie_territoire
    title: Autorisation de sortie du territoire
    patterns: ["\\\\bsortie du territoire\\\\b"]
    redirect_public: Adressez-vous à votre mairie.
    redirect_agent: "Hors champ : AST."
    source: {section: CAF, line: 3}
"""


def make_out_of_scope(tmp_path, text):
    root = make_dir(tmp_path)
    (root / "hors_champ.yml").write_text(text, encoding="utf-8")
    return root


def test_out_of_scope_unless_and_operator_names(tmp_path):
    knowledge = load_knowledge(make_out_of_scope(tmp_path, OUT_OF_SCOPE), require_all_operators=False)
    assert knowledge.out_of_scope_operator_names == ("caf|allocations? familiales?", "impots?")
    mutuelle, ast = knowledge.out_of_scope
    assert mutuelle.unless == ("complementaire sante solidaire|css", "attestation\\w*") and mutuelle.unless_operators
    assert mutuelle.operator_names == knowledge.out_of_scope_operator_names
    assert (ast.unless, ast.operator_names, ast.unless_operators) == ((), (), False)
    assert mutuelle.matches("je veux resilier ma mutuelle")
    assert not mutuelle.matches("ma mutuelle ou la css")  # a near miss of the entry
    assert not mutuelle.matches("attestations pour ma mutuelle")
    assert not mutuelle.matches("ma mutuelle et les impots")  # an operator named
    assert mutuelle.matches("ma mutuelle et les impotsx")  # whole words only
    assert ast.matches("sortie du territoire pour la caf")  # no operator guard


def test_out_of_scope_contrasts_lift_the_guard(tmp_path):
    """`contrasts`: the text sets the other body's request against an operator's that works."""
    text = OUT_OF_SCOPE.replace('      - "attestation\\\\w*"\n', '      - "attestation\\\\w*"\n    contrasts: ["\\\\bcaf\\\\b.{0,20}\\\\bca va\\\\b"]\n')
    mutuelle, ast = load_knowledge(make_out_of_scope(tmp_path, text), require_all_operators=False).out_of_scope
    assert mutuelle.contrasts == ("\\bcaf\\b.{0,20}\\bca va\\b",) and ast.contrasts == ()
    assert not mutuelle.matches("ma mutuelle et la caf")
    assert mutuelle.matches("la caf ca va mais ma mutuelle ne rembourse rien")
    assert not mutuelle.matches("la caf ca va mais ma mutuelle ou la css")  # the entry's near misses still hold
    assert not mutuelle.matches("la caf ca va")  # a contrast alone is no request

    broken = text.replace('["\\\\bcaf\\\\b.{0,20}\\\\bca va\\\\b"]', '["(caf)?", "caf("]')
    found = {(p.entry, p.field): p for p in problems(make_out_of_scope(tmp_path / "broken", broken))}
    assert set(found) == {("mutuelle", "contrasts[0]"), ("mutuelle", "contrasts[1]")}
    assert "texte vide" in found[("mutuelle", "contrasts[0]")].message
    assert "expression régulière invalide" in found[("mutuelle", "contrasts[1]")].message


def test_out_of_scope_unless_and_operator_names_errors_are_reported(tmp_path):
    broken = (
        OUT_OF_SCOPE.replace('  - "impots?"', '  - "impots?("')
        .replace('      - "attestation\\\\w*"', '      - "attestation[\\\\w*"')
        .replace("    redirect_public: Adressez-vous à votre mairie.", "    unless_operators: oui\n    redirect_public: Adressez-vous à votre mairie.")
    )
    found = {(p.entry, p.field): p for p in problems(make_out_of_scope(tmp_path, broken))}
    assert set(found) == {(None, "operator_names[1]"), ("mutuelle", "unless[1]"), ("sortie_territoire", "unless_operators")}
    assert all(p.file == "knowledge/hors_champ.yml" for p in found.values())
    names, unless, flag = found[(None, "operator_names[1]")], found[("mutuelle", "unless[1]")], found[("sortie_territoire", "unless_operators")]
    assert names.line == 4 and "expression régulière invalide" in names.message
    assert unless.line == 13 and "expression régulière invalide" in unless.message
    assert flag.line == 20 and flag.message == "attendu : true ou false"

    # an empty-matching near miss would rule out every text; a guard needs the operator names
    broken = OUT_OF_SCOPE.replace('      - "attestation\\\\w*"', '      - "(attestation)?"').replace(
        'operator_names:\n  - "caf|allocations? familiales?"\n  - "impots?"\n', ""
    )
    found = {(p.entry, p.field): p for p in problems(make_out_of_scope(tmp_path / "empty", broken))}
    assert set(found) == {("mutuelle", "unless[1]"), ("mutuelle", "unless_operators")}
    assert found[("mutuelle", "unless[1]")].line == 10 and "texte vide" in found[("mutuelle", "unless[1]")].message
    assert found[("mutuelle", "unless_operators")].line == 7 and "operator_names" in found[("mutuelle", "unless_operators")].message

    broken = OUT_OF_SCOPE.replace('    unless:\n      - "complementaire sante solidaire|css"\n      - "attestation\\\\w*"\n', "    unless: css\n")
    [p] = problems(make_out_of_scope(tmp_path / "scalar", broken))
    assert (p.entry, p.field, p.line, p.message) == ("mutuelle", "unless", 11, "attendu : une liste d'expressions régulières")


def test_cli_check_reports_a_broken_operator_name_of_hors_champ(knowledge_copy):
    path = knowledge_copy / "hors_champ.yml"
    text = path.read_text(encoding="utf-8")
    path.write_text(text.replace('  - "point justice"', '  - "point justice)"', 1), encoding="utf-8")
    line = text.splitlines().index('  - "point justice"                                                         # Point-justice') + 1
    env = {"GUICHET_KNOWLEDGE_DIR": str(knowledge_copy), "PATH": "/usr/bin:/bin"}
    result = subprocess.run([sys.executable, "-m", "bot", "kb", "check"], cwd=ROOT, env=env, capture_output=True, text=True)
    assert result.returncode == 1
    assert result.stderr.splitlines()[0].startswith(f"knowledge/hors_champ.yml:{line}: operator_names[10]: expression régulière invalide")
    assert "1 problème(s)" in result.stderr


def test_a_general_row_needs_facts_and_the_niveau_2(tmp_path):
    # the niveau 1 row of the valid file may not be a general row, nor may a general row have no fact
    on_niveau_1 = VALID.replace("    conditions: {detresse: non}\n", "    conditions: {detresse: non}\n    general_when: {detresse: non}\n")
    [p] = problems(make_dir(tmp_path, on_niveau_1))
    assert (p.entry, p.field) == ("caf.logement", "general_when") and "niveau 2" in p.message
    empty = VALID.replace("    conditions: {detresse: non}\n", "    conditions: {detresse: non}\n    general_when: {}\n")
    [p] = problems(make_dir(tmp_path / "empty", empty))
    assert (p.entry, p.field) == ("caf.logement", "general_when") and "au moins une condition" in p.message
