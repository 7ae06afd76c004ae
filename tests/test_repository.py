"""The query API: by id, by operator/section, topics with conditions, French search."""
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def test_get_returns_the_full_row(repo, knowledge):
    for original in knowledge.demarches[::17]:
        assert repo.get(original.id) == original


def test_get_unknown_id(repo):
    assert repo.get("caf.nexiste_pas") is None


def test_list_by_operator_and_section_keeps_order(repo, knowledge):
    caf = [d for d in knowledge.demarches if d.operator == "caf"]
    assert repo.list(operator="caf") == caf
    section = caf[0].section
    assert repo.list(operator="caf", section=section) == [d for d in caf if d.section == section]
    assert repo.sections("caf")[0] == section


def test_list_by_category(repo, knowledge):
    assert {d.id for d in repo.list(category="hors_bouquet")} == {
        d.id for d in knowledge.demarches if d.category == "hors_bouquet"
    }


def test_topic_siblings_carry_their_conditions(repo, knowledge):
    topics = repo.topics()
    assert sum(len(ids) for ids in topics.values()) == len(knowledge.demarches)
    rsa = repo.topic("rsa_prime_activite")
    assert {d.operator for d in rsa} == {"caf", "msa"}
    by_id = {d.id: d.conditions for d in rsa}
    assert by_id["caf.urgence_rupture_droits"] == {"msa": "non", "bloquee": "oui", "detresse": "oui"}
    assert by_id["msa.rsa_prime_activite_exploitant"] == {"msa": "oui", "exploitant_agricole": "oui"}
    assert [d.id for d in rsa] == topics["rsa_prime_activite"]


def test_search_is_accent_and_case_insensitive(repo):
    a = [h.demarche.id for h in repo.search("déclarer la perte de ma carte Vitale")]
    b = [h.demarche.id for h in repo.search("DECLARER LA PERTE DE MA CARTE VITALE")]
    assert a == b and a
    assert repo.search("déclarer la perte de ma carte Vitale")[0].demarche.operator == "assurance_maladie"


@pytest.mark.parametrize(
    "query, operator",
    [
        ("carte grise", "france_titres"),
        ("passeport", "france_titres"),
        ("prime d'activité", "caf"),
        ("complementaire sante solidaire", "assurance_maladie"),
        ("réversion", "assurance_retraite"),
        ("cheque energie perdu", "cheque_energie"),
        ("taxe foncière", "finances_publiques"),
        ("MaPrimeRénov", "france_renov"),
        ("Digiposte", "la_poste"),
        ("Pajemploi", "urssaf"),
        ("auto-entrepreneur", "urssaf"),
    ],
)
def test_search_ranks_the_right_operator_first(repo, query, operator):
    hits = repo.search(query)
    assert hits and hits[0].demarche.operator == operator, [(h.demarche.id, h.score) for h in hits[:3]]
    assert [h.score for h in hits] == sorted((h.score for h in hits), reverse=True)


def test_search_filters(repo):
    hits = repo.search("déclaration", operator="caf", category="niveau_1")
    assert hits and all(h.demarche.operator == "caf" and h.demarche.category == "niveau_1" for h in hits)


def test_search_of_nothing(repo):
    assert repo.search("") == []
    assert repo.search("le la les") == []
    assert repo.search("zzzzqqq") == []


def run_cli(kb_engine, *args):
    env = {"GUICHET_DB_URL": str(kb_engine.url), "PATH": "/usr/bin:/bin"}
    return subprocess.run([sys.executable, "-m", "bot", "kb", *args], cwd=ROOT, env=env, capture_output=True, text=True)


def test_cli_show_prints_a_french_card(kb_engine, knowledge):
    d = next(d for d in knowledge.demarches if d.contacts and d.items)
    result = run_cli(kb_engine, "show", d.id)
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert d.title in out and d.label in out and d.items[0] in out
    assert "Catégorie : " + d.category_label in out
    assert d.contacts[0].value in out and d.source.document in out


def test_cli_show_unknown_id(kb_engine):
    result = run_cli(kb_engine, "show", "caf.inconnue")
    assert result.returncode == 1 and "Aucune démarche" in result.stderr


def test_cli_search_prints_ranked_results(kb_engine):
    result = run_cli(kb_engine, "search", "carte grise", "--limit", "3")
    assert result.returncode == 0, result.stderr
    lines = [l for l in result.stdout.splitlines() if l[:3].strip().rstrip(".").isdigit()]
    assert len(lines) == 3 and lines[0].lstrip().startswith("1.")
    assert "france_titres." in result.stdout.splitlines()[1]
