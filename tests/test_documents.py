"""The document asked for decides the démarche, not the organisation that asks for it (issue 10,
kind 4): operators' `documents` in knowledge/, used by the conversation. New sentences."""
import re

import pytest

from bot.conversation import Guichet, Turn
from bot.knowledge.loader import KnowledgeError, load_knowledge


@pytest.fixture(scope="module")
def guichet(repo):
    return Guichet(repo)


@pytest.mark.parametrize("nlu_topic, text, operator", [
    ("aide_logement", "pour l'apl la caf exige mon dernier avis d'imposition et je le trouve nulle part", "finances_publiques"),
    ("rsa_prime_activite", "la caf veut une attestation france travail pour mon rsa, ou je la telecharge ?", "france_travail"),
    ("rsa_prime_activite", "Madame doit fournir une attestation de droits ameli à la CAF", "assurance_maladie"),
    ("titres_en_ligne", "pour immatriculer ma moto achetée en Espagne on me demande un quitus fiscal, je l'obtiens comment",
     "finances_publiques"),
    ("rsa_prime_activite", "je suis auto-entrepreneur et la caf me réclame une attestation de chiffre d'affaires",
     "urssaf"),
    ("france_travail_en_ligne", "l'agence d'intérim veut un extrait de casier judiciaire avant ma mission, où je le demande",
     "point_justice"),
])
def test_the_document_asked_for_decides(guichet, nlu_topic, text, operator):
    for intent in (nlu_topic, "nlu_fallback"):
        result = guichet.handle(Turn(intent, text, ranking=[(nlu_topic, 0.4)]))
        custom = result.replies[0].custom
        while custom["type"] == "question":
            result = guichet.handle(Turn("je_ne_sais_pas", "je ne sais pas", slots=result.slots))
            custom = result.replies[0].custom
        assert custom["type"] == "answer" and custom["operator"] == operator, (intent, custom)


@pytest.mark.parametrize("topic, text", [
    ("aide_logement", "la caf a baissé mon apl à cause de mon avis d'imposition"),  # mentioned, not asked for
    ("impot_revenu", "je dois envoyer mon avis d'impôt aux impôts"),  # the same operator: nothing to change
    # the asking words belong to another request of the sentence
    ("aide_juridictionnelle", "elle fait une demande d'aide juridictionnelle pour son divorce et elle a ses avis d'imposition sur elle"),
])
def test_a_document_merely_mentioned_changes_nothing(guichet, topic, text):
    assert guichet.document_asked(text, topic) is None


def test_documents_point_to_topics_of_their_operator(knowledge_copy):
    path = knowledge_copy / "finances_publiques.yml"
    text = path.read_text(encoding="utf-8")
    path.write_text(re.sub(r"topic: compte_impots_gouv}", "topic: aide_logement}", text, count=1), encoding="utf-8")
    with pytest.raises(KnowledgeError) as info:
        load_knowledge(knowledge_copy)
    assert "aide_logement" in str(info.value) and "documents" in str(info.value)


def test_benefits_are_checked_like_documents(knowledge_copy):
    path = knowledge_copy / "caf.yml"
    text = path.read_text(encoding="utf-8")
    path.write_text(text.replace("topic: rsa_prime_activite}", "topic: paiement_retraite}", 1), encoding="utf-8")
    with pytest.raises(KnowledgeError) as info:
        load_knowledge(knowledge_copy)
    assert "paiement_retraite" in str(info.value) and "benefits" in str(info.value)
    path.write_text(text.replace('pattern: "\\\\b(rsa|', 'pattern: "\\\\b((rsa|', 1), encoding="utf-8")
    with pytest.raises(KnowledgeError, match="expression régulière invalide"):
        load_knowledge(knowledge_copy)


@pytest.mark.parametrize("text, operator", [
    ("mon AAH n'est plus versée depuis deux mois", "caf"),
    ("la pension de reversion de maman n'arrive plus", "assurance_retraite"),
    ("mes indemnités journalières sont bloquées depuis 6 semaines", "assurance_maladie"),
    ("plus d'allocation chômage depuis janvier", "france_travail"),
])
def test_the_benefit_named_gives_its_operator(guichet, text, operator):
    topic = guichet.benefit_topic(text)
    assert topic is not None and {r.operator for r in guichet.repo.topic(topic)} >= {operator}


def test_a_pension_that_is_not_a_retirement_is_no_retirement(guichet):
    assert guichet.benefit_topic("la pension alimentaire de mon ex n'arrive plus") is None
    assert guichet.benefit_topic("mon ex ne paye plus la pension des enfants") is None
