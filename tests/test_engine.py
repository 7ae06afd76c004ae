"""The decision engine on small synthetic topics (rules) and on the real référentiel (scenarios)."""
from dataclasses import replace
from pathlib import Path

import pytest

from bot.engine import DecisionEngine, Outcome, Question, UnknownTopic
from bot.knowledge.memory import InMemoryKnowledge
from bot.knowledge.types import Demarche, Knowledge, Source


@pytest.fixture(scope="module")
def engine(knowledge):
    return DecisionEngine(InMemoryKnowledge(knowledge))


def row(id, topic, category, operator="caf", **conditions):
    return Demarche(
        id=f"{operator}.{id}",
        operator=operator,
        topic=topic,
        title=id.replace("_", " "),
        section="s",
        label=id.replace("_", " "),
        category=category,
        action=f"action {id}",
        source=Source("doc", operator, "s", 1),
        conditions=conditions,
    )


@pytest.fixture
def synthetic(knowledge):
    def make(*rows):
        k = Knowledge(knowledge.operators, list(rows), knowledge.conditions, knowledge.documents, {}, knowledge.emergency)
        return DecisionEngine(InMemoryKnowledge(k))

    return make


def test_asks_the_decisive_question_then_answers(synthetic):
    eng = synthetic(row("faire", "t", "niveau_1", question_dossier="non"), row("question", "t", "niveau_2", question_dossier="oui"))
    q = eng.decide("t", {}, "aides")
    assert isinstance(q, Question) and q.key == "question_dossier" and set(q.candidates) == {"caf.faire", "caf.question"}
    assert eng.decide("t", {"question_dossier": "oui"}, "aides").demarche.id == "caf.question"
    assert eng.decide("t", {"question_dossier": "non"}, "aides").demarche.id == "caf.faire"


def test_je_ne_sais_pas_takes_the_default_and_says_what_the_other_answer_gives(synthetic):
    eng = synthetic(row("faire", "t", "niveau_1", question_dossier="non"), row("question", "t", "niveau_2", question_dossier="oui"))
    out = eng.decide("t", {"question_dossier": "inconnu"}, "aides")
    assert isinstance(out, Outcome)
    assert out.demarche.id == "caf.faire"  # default of question_dossier is non
    assert out.assumed == {"question_dossier": "non"}
    assert [(c.key, c.value, c.demarche.id) for c in out.caveats] == [("question_dossier", "oui", "caf.question")]


def test_never_asks_what_the_text_already_says(synthetic):
    eng = synthetic(row("faire", "t", "niveau_1", question_dossier="non"), row("question", "t", "niveau_2", question_dossier="oui"))
    out = eng.decide("t", {}, "pourquoi ma demande a été refusée ?")
    assert isinstance(out, Outcome) and out.demarche.id == "caf.question"


def test_answers_win_over_the_text(synthetic):
    eng = synthetic(row("faire", "t", "niveau_1", question_dossier="non"), row("question", "t", "niveau_2", question_dossier="oui"))
    assert eng.decide("t", {"question_dossier": "non"}, "pourquoi un refus ?").demarche.id == "caf.faire"


def test_no_question_when_every_row_has_the_same_category(synthetic):
    eng = synthetic(row("a", "t", "niveau_1", autonome_numerique="oui"), row("b", "t", "niveau_1", autonome_numerique="non"))
    out = eng.decide("t", {}, "")
    assert isinstance(out, Outcome) and out.demarche.id == "caf.b"  # default non
    assert out.caveats == ()  # same category and operator: nothing to warn about


def test_words_pick_among_rows_of_the_same_category(synthetic):
    eng = synthetic(row("commander_carte", "t", "niveau_1"), row("activer_application", "t", "niveau_1"))
    assert eng.decide("t", {}, "je veux activer l'application").demarche.id == "caf.activer_application"


def test_urgency_is_never_assumed(synthetic):
    eng = synthetic(
        row("faire", "t", "niveau_1", detresse="non"),
        row("urgent", "t", "urgent", detresse="oui", bloquee="oui"),
    )
    out = eng.decide("t", {}, "je voudrais des informations")
    assert isinstance(out, Outcome) and out.demarche.id == "caf.faire"
    # once the procedure is known to be blocked, distress becomes a decisive question
    q = eng.decide("t", {"bloquee": "oui"}, "")
    assert isinstance(q, Question) and q.key == "detresse"
    assert eng.decide("t", {"bloquee": "oui", "detresse": "oui"}, "").demarche.id == "caf.urgent"


def test_ruling_out_the_msa_never_opens_the_urgent_path(synthetic):
    """Naming the CAF implies `msa: non`; that alone must not make an urgent row a candidate (issue 11, point 4)."""
    eng = synthetic(
        row("faire", "t", "niveau_1", detresse="non", question_dossier="non", msa="non"),
        row("question", "t", "niveau_2", detresse="non", question_dossier="oui", msa="non"),
        row("urgent", "t", "urgent", detresse="oui", bloquee="oui", msa="non"),
    )
    q = eng.decide("t", {}, "mes ressources à la CAF")
    assert isinstance(q, Question) and q.key == "question_dossier" and "caf.urgent" not in q.candidates
    # a fact that does point to urgency still opens it
    assert eng.decide("t", {"bloquee": "oui"}, "mes ressources à la CAF").key == "detresse"


def test_a_question_that_would_only_look_for_urgency_is_not_asked(synthetic):
    """Both sibling rows carry `bloquee: non` for an urgent row not considered yet: ask what tells them apart."""
    eng = synthetic(
        row("consulter", "t", "niveau_1", bloquee="non", question_dossier="non"),
        row("contester", "t", "niveau_2", bloquee="non", question_dossier="oui"),
        row("rupture", "t", "urgent", bloquee="oui"),
    )
    q = eng.decide("t", {}, "mes paiements")
    assert isinstance(q, Question) and q.key == "question_dossier"
    assert eng.decide("t", {}, "mes paiements sont suspendus").demarche.id == "caf.rupture"


def test_distress_in_the_text_goes_to_the_operator_urgent_row(synthetic):
    eng = synthetic(
        row("logement", "t", "niveau_1"),
        row("urgence", "u", "urgent", detresse="oui"),
    )
    out = eng.decide("t", {}, "je n'ai plus rien à manger ce soir")
    assert out.demarche.id == "caf.urgence"
    assert [n.value for n in out.numbers] == ["115"]


def test_unaskable_fact_is_assumed_with_a_caveat(synthetic):
    eng = synthetic(row("caf_row", "t", "niveau_1", msa="non"), row("msa_row", "t", "niveau_2", operator="msa", msa="oui"))
    out = eng.decide("t", {}, "")
    assert isinstance(out, Outcome) and out.demarche.id == "caf.caf_row"
    assert [(c.key, c.value) for c in out.caveats] == [("msa", "oui")]
    assert eng.decide("t", {}, "je suis à la MSA").demarche.id == "msa.msa_row"


def test_implications_close_over_facts(engine):
    facts = engine.merge_facts({}, "je suis agriculteur")
    assert facts["exploitant_agricole"] == "oui" and facts["msa"] == "oui"
    assert engine.merge_facts({"msa": "non"}, "je suis agriculteur")["msa"] == "non"


def test_unknown_topic(engine):
    with pytest.raises(UnknownTopic):
        engine.decide("pas_un_sujet", {}, "")


# -- the référentiel itself ---------------------------------------------------------


def test_caf_stopped_paying_rsa_asks_for_distress(engine):
    text = "ma CAF ne me verse plus le RSA depuis trois mois"
    q = engine.decide("rsa_prime_activite", {}, text)
    assert isinstance(q, Question) and q.key == "detresse"
    urgent = engine.decide("rsa_prime_activite", {"detresse": "oui"}, text)
    assert urgent.demarche.id == "caf.urgence_rupture_droits" and urgent.demarche.category == "urgent"
    assert any(c.kind == "service" and "Administration+" in c.value for c in urgent.demarche.contacts)


def test_caf_benefit_stopped_for_three_months_with_a_new_document_is_urgent_without_distress(engine):
    """Seed 001 line 80, second case: « prestation interrompue depuis 3 mois avec une nouvelle pièce au dossier »."""
    text = "ma CAF ne me verse plus le RSA depuis trois mois"
    q = engine.decide("rsa_prime_activite", {"detresse": "non"}, text)
    assert isinstance(q, Question) and q.key == "prestation_interrompue"
    urgent = engine.decide("rsa_prime_activite", {"detresse": "non", "prestation_interrompue": "oui"}, text)
    assert urgent.demarche.id == "caf.urgence_prestation_interrompue" and urgent.demarche.category == "urgent"
    assert urgent.demarche.source.line == 80
    assert {c.label for c in urgent.demarche.contacts if c.value.startswith("Correspondant")} == {"Via Administration+"}
    calm = engine.decide("rsa_prime_activite", {"detresse": "non", "prestation_interrompue": "non"}, text)
    assert calm.demarche.id == "caf.ressources_questions" and calm.demarche.category == "niveau_2"


def test_a_stopped_pension_is_urgent_without_distress(engine):
    """Seed 001 line 173: « En cas de rupture de droit, de paiement ou autre situation considérée comme urgente »."""
    out = engine.decide("paiement_retraite", {}, "ma retraite n'est plus versée depuis deux mois")
    assert isinstance(out, Outcome) and out.demarche.id == "assurance_retraite.urgence"
    calm = engine.decide("paiement_retraite", {"bloquee": "oui", "detresse": "non"}, "ma retraite")
    assert calm.demarche.id == "assurance_retraite.urgence" and calm.demarche.category == "urgent"
    # any other urgent situation (distress) still reaches the Assurance retraite's urgent row
    other = engine.decide("preparer_retraite", {}, "je n'ai plus rien à manger, je voudrais préparer ma retraite CARSAT")
    assert other.demarche.operator == "assurance_retraite" and other.demarche.category == "urgent"


def test_a_complex_case_without_ameli_account_goes_to_the_cpam_back_office_without_distress(engine):
    """Seed 001 line 116: « situations complexes ou urgentes » of a person who will not have an ameli account."""
    text = "j'ai une anomalie administrative sur mon dossier, je ne veux pas créer de compte ameli"
    out = engine.decide("assurance_maladie_situation", {}, text)
    assert isinstance(out, Outcome) and out.demarche.id == "assurance_maladie.expertise_sans_compte_ameli"
    calm = engine.decide("assurance_maladie_situation", {"detresse": "non", "autonome_numerique": "non"}, "situation complexe")
    assert calm.demarche.id == "assurance_maladie.expertise_sans_compte_ameli"
    # with an ameli account, the niveau 2 rendez-vous (via the account or the 36 46)
    online = engine.decide("assurance_maladie_situation", {"autonome_numerique": "oui"}, "situation complexe")
    assert online.demarche.id == "assurance_maladie.situation_complexe"


def test_france_travail_urgent_row_takes_fragility_or_a_blocked_procedure(engine):
    """Seed 000 line 77: « fragilité sociale identifiée et/ou situation bloquée » — either makes it urgent; the
    NB of lines 75 and 92 (Administration+ only with both) is in the action of both entries."""
    fragile = engine.decide("indemnisation_chomage", {"detresse": "oui", "bloquee": "non"}, "France Travail m'a radié")
    assert fragile.demarche.id == "france_travail.urgence"
    blocked = engine.decide("indemnisation_chomage", {}, "France Travail ne me répond pas depuis deux mois")
    assert isinstance(blocked, Question) and blocked.key == "detresse"
    blocked = engine.decide("indemnisation_chomage", {"detresse": "non", "bloquee": "oui"},
                            "France Travail ne me répond pas depuis deux mois")
    assert blocked.demarche.id == "france_travail.urgence_bloquee" and blocked.demarche.category == "urgent"
    assert "2 critères" in blocked.demarche.action  # the NB of lines 75 and 92, before Administration+
    calm = engine.decide("indemnisation_chomage", {"detresse": "non", "bloquee": "non"}, "question sur mon trop-perçu")
    assert calm.demarche.operator == "france_travail" and calm.demarche.category == "niveau_2"


@pytest.mark.parametrize(
    "topic, text, expected",
    [
        ("cheque_energie_perte_vol", "mon chèque énergie est abîmé", "cheque_energie.cheque_perdu_vole_abime"),
        ("cheque_energie_perte_vol", "j'ai perdu mon chèque énergie, comment le déclarer ?", "cheque_energie.perte_vol_declarer"),
        ("cheque_energie_perte_vol", "j'ai déjà déclaré le vol de mon chèque, toujours rien", "cheque_energie.cheque_perdu_vole_abime"),
        ("maprimeadapt", "créer mon compte MaPrimeAdapt' pour adapter ma salle de bain", "france_renov.mpa_creation_dossier"),
        ("maprimeadapt", "mon AMO ne me répond plus sur mon dossier MaPrimeAdapt'", "france_renov.mpa_suivi_dossier"),
    ],
)
def test_sibling_rows_are_told_apart_by_what_the_seed_distinguishes(engine, topic, text, expected):
    """Chèque énergie lines 226/237 and MaPrimeAdapt' lines 32/33, without the « décision, montant, refus » question."""
    out = engine.decide(topic, {}, text)
    assert isinstance(out, Outcome) and out.demarche.id == expected


def test_where_is_my_maprimeadapt_file_asks_whether_an_amo_has_it(engine):
    text = "où en est mon dossier MaPrimeAdapt' ?"
    q = engine.decide("maprimeadapt", {}, text)
    assert isinstance(q, Question) and q.key == "orientation_amo"
    assert engine.decide("maprimeadapt", {"orientation_amo": "oui"}, text).demarche.id == "france_renov.mpa_suivi_dossier"
    assert engine.decide("maprimeadapt", {"orientation_amo": "non"}, text).demarche.id == "france_renov.mpa_creation_dossier"


@pytest.mark.parametrize(
    "topic, text, expected",
    [
        ("rsa_prime_activite", "comment déclarer mes ressources trimestrielles RSA à la CAF", "caf.ressources_demarches"),
        ("paiement_retraite", "comment consulter mes paiements de retraite à la CARSAT", "question_dossier"),
    ],
)
def test_naming_the_caf_or_the_carsat_asks_no_blockage_question(engine, topic, text, expected):
    out = engine.decide(topic, {}, text)
    got = out.key if isinstance(out, Question) else out.demarche.id
    assert got == expected


def test_an_msa_member_in_distress_still_reaches_the_msa(engine):
    out = engine.decide("rsa_prime_activite", {}, "je suis agriculteur, plus de RSA depuis 3 mois, je n'ai plus rien à manger")
    assert out.demarche.id == "msa.urgence"


def test_carte_grise_is_level_one_with_the_urgent_path_as_caveat(engine):
    out = engine.decide("titres_en_ligne", {}, "je dois refaire ma carte grise")
    assert out.demarche.id == "france_titres.demarches_en_ligne"
    assert engine.decide("titres_en_ligne", {}, "carte grise en urgence, je pars demain").demarche.category == "urgent"


def test_farmer_rsa_is_level_two_at_the_msa(engine):
    out = engine.decide("rsa_prime_activite", {}, "je suis exploitant agricole, je veux demander le RSA")
    assert out.demarche.id == "msa.rsa_prime_activite_exploitant" and out.demarche.category == "niveau_2"


def test_placement_is_recognised_without_question(engine):
    out = engine.decide("placement_enfant", {}, "ma fille a été placée, est-ce que je garde les allocations ?")
    assert isinstance(out, Outcome) and out.demarche.id == "caf.placement_enfant"


def test_suicidal_words_give_3114_whatever_the_topic(engine):
    out = engine.decide("carte_vitale", {}, "j'ai perdu ma carte vitale et je pense au suicide")
    assert out.demarche.category == "urgent" and out.demarche.operator == "assurance_maladie"
    assert "3114" in [n.value for n in out.numbers]


def test_distress_without_operator(engine):
    out = engine.distress("mon mari me frappe")
    assert out.demarche is None
    assert [n.value for n in out.numbers] == ["3919", "17", "112", "114", "116 006"]
    assert engine.distress("la CAF m'a tout coupé, je dors dehors", operator="caf").demarche.id.startswith("caf.urgence")


@pytest.mark.parametrize(
    "text, numbers",
    [
        ("je pense au suicide", ["3114", "15"]),
        ("au secours, je suis en danger immédiat", ["17", "112", "15", "114"]),
        ("mon conjoint me frappe", ["3919", "17", "112", "114", "116 006"]),
    ],
)
def test_national_numbers_of_each_kind_of_distress(engine, text, numbers):
    """15 (SAMU) for suicide and immediate danger, 114 (SMS, video, silent) and 116 006 (victims) for violences."""
    assert [n.value for n in engine.distress(text).numbers] == numbers


def test_distress_prefers_the_operator_the_person_named(engine):
    text = "plus d'indemnités France Travail depuis des semaines, il dit qu'il va se suicider"
    out = engine.decide("arret_maladie", {}, text, operator="france_travail")
    assert out.demarche.id == "france_travail.urgence" and "3114" in [n.value for n in out.numbers]


@pytest.mark.parametrize(
    "text, expected",
    [
        ("jhesite entre une pompe a chaleur et une chaudiere a granule, laquelle est la mieux pour ma maison ?",
         "france_renov.question_technique_travaux"),
        ("l'artisan m'a fait un devis pour isoler les combles, je comprends rien aux lignes", "france_renov.question_technique_travaux"),
        ("notre chaudière est morte depuis une semaine, il fait 13 degrés dans le salon", "france_renov.informations_personnalisees"),
        ("Madame vit dans un logement insalubre et voudrait savoir quelles aides de France Rénov' existent",
         "france_renov.informations_personnalisees"),
        ("c'est quoi France Rénov' exactement ?", "france_renov.informer_dispositifs"),
    ],
)
def test_france_renov_advice_on_ones_own_project_goes_to_the_espace_conseil(engine, text, expected):
    """Référentiel part 2, lines 20-23: a technical question, a particular situation → ECSR (niveau 2),
    general information → niveau 1; said in plain words, not as « a question on one's file »."""
    out = engine.decide("renovation_information", {}, text)
    assert isinstance(out, Outcome), out
    if expected == "france_renov.informer_dispositifs":
        assert out.demarche.id == expected
    else:  # the three rows of the ECSR (same action): the words choose among them
        assert out.demarche.category == "niveau_2" and out.demarche.conditions == {"conseil_projet": "oui"}


def test_france_renov_asks_about_the_project_when_the_words_do_not_say(engine):
    text = "je voudrais des renseignements sur la rénovation de ma maison"
    q = engine.decide("renovation_information", {}, text)
    assert isinstance(q, Question) and q.key == "conseil_projet"
    assert engine.decide("renovation_information", {"conseil_projet": "oui"}, text).demarche.category == "niveau_2"
    assert engine.decide("renovation_information", {"conseil_projet": "non"}, text).demarche.category == "niveau_1"


@pytest.mark.parametrize(
    "text",
    [
        "Monsieur est frontalier, il travaille à Genève : il ne sait pas comment déclarer son salaire suisse",
        "jsuis etudiante jai eu un stage gratifie, je sais pas si je reste rattachee a mes parents pour les impots",
        "je loue un studio meublé en LMNP, comment je déclare les loyers ?",
        "g des dividendes sur un compte titre, flat tax ou bareme pour ma declaration ?",
    ],
)
def test_income_of_a_specific_category_goes_to_the_tax_office_even_when_asked_how(engine, text):
    """Line 263: « catégories de revenus ou d'usagers spécifiques » is niveau 2 even for a « comment
    déclarer » (which otherwise reads as help with the procedure, niveau 1)."""
    out = engine.decide("impot_revenu", {}, text)
    assert isinstance(out, Outcome), out
    assert out.demarche.id == "finances_publiques.declaration_revenus_specifiques"


def test_an_ordinary_return_stays_niveau_1_without_a_question_on_categories(engine):
    out = engine.decide("impot_revenu", {}, "comment je fais pour déclarer mes revenus en ligne cette année ?")
    assert isinstance(out, Outcome) and out.demarche.id == "finances_publiques.accueil_fiscal"


@pytest.mark.parametrize("topic, text, expected", [
    ("remboursement_soins", "j'ai envoyé la facture du taxi il y a cinq semaines et toujours pas remboursé",
     "assurance_maladie.attente_paiement_remboursement"),
    ("remboursement_soins", "comment me faire rembourser des soins faits en Espagne ?", "assurance_maladie.remboursement"),
    ("arret_maladie", "en arrêt depuis un mois, j'attends toujours mes indemnités journalières",
     "assurance_maladie.attente_paiement_ij"),
    ("arret_maladie", "je voudrais estimer mes indemnités journalières", "assurance_maladie.indemnites_journalieres"),
])
def test_a_payment_still_awaited_is_an_appointment_with_the_assurance_maladie(engine, topic, text, expected):
    """Line 114 « attente de paiement de prestations » (niveau 2) for a reimbursement or daily allowances
    already asked for, said in plain words."""
    out = engine.decide(topic, {"detresse": "non", "bloquee": "non", "msa": "non"}, text)
    assert isinstance(out, Outcome) and out.demarche.id == expected


def test_not_knowing_what_to_write_in_a_form_is_not_a_question_on_ones_file(engine):
    """« je comprends pas quoi mettre dans les cases » asks for help with the procedure (niveau 1), unlike
    « je comprends pas pourquoi mon RSA a baissé » (a question on the file, niveau 2)."""
    help_text = "jdois faire ma declaration trimestrielle mais jcomprends pas quoi mettre dans les cases"
    assert engine.merge_facts({}, help_text).get("question_dossier") != "oui"
    assert engine.merge_facts({}, "je comprends pas pourquoi mon RSA a baissé").get("question_dossier") == "oui"


def test_a_blocked_procedure_stays_urgent_when_distress_is_unknown(engine):
    """Line 77 takes either condition: « je ne sais pas » to the distress question leaves the blocked
    procedure urgent, in another topic of the operator too (the training allowance)."""
    text = "mon allocation de formation n'est plus versée depuis deux mois malgré trois relances"
    out = engine.decide("formation_france_travail", {"detresse": "inconnu"}, text)
    assert out.demarche.id == "france_travail.urgence_bloquee"
    calm = engine.decide("formation_france_travail", {"detresse": "inconnu", "bloquee": "non"},
                         "je voudrais financer une formation de cariste, mon dossier est compliqué")
    assert calm.demarche.id == "france_travail.formation"
