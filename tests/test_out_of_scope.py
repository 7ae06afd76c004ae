"""Requests that belong to another body (knowledge/hors_champ.yml, « Hors référentiel » entries).

Mairie, bailleur social, opérateur téléphonique, fournisseur d'énergie ou d'eau, MDPH, CROUS, banque,
mutuelle and assureur are none of the 12 operators of the référentiel: such a request is answered out of
scope with a redirect, whatever the NLU read. Precision matters more than recall, so the near misses
(chèque énergie used to pay EDF, AAH, complémentaire santé solidaire, La Banque Postale…) stay in scope
and no pattern matches a phrasing of a démarche (data/nlu/, tests/nlu_heldout.yml) nor a row of knowledge/.
"""
import re
from pathlib import Path

import pytest
import yaml

from bot.conversation import Guichet, Turn
from bot.engine import DecisionEngine
from bot.knowledge.types import whole_words
from bot.text import fold
from fakes import FixedSignals

ROOT = Path(__file__).resolve().parent.parent
SEED = "004_f12d1225a5636ce3.txt"
MUST_NOT_DO = "Hors champ :"  # PIMMS « demandes à ne pas traiter »: phrased in data/nlu/hors_champ.yml
OTHER_BODY = "Hors référentiel :"  # requests of another body: phrased below

# id -> (a word of the seed line the entry cites, a misread intent, messy phrasings)
BODIES = {
    "mairie": ("etat civil", "famille_naissance", [
        "bjr jai besoin d un extrait d acte de naissance pour mon fils, je le demande ou ?",
        "jai perdu mon livret de famille, cmt on fait pour en ravoir un",
        "inscrir ma fille a lecole maternelle pr la rentree c ou ?",
        "jsuis pas inscrit sur les listes electorales, je veux voter aux municipales",
        "usager souhaite acheter une concession au cimetière pour son père",
        "Mr veut déposer un permis de construire pour agrandir sa maison",
    ]),
    "logement_social": ("bailleur", "aide_logement", [
        "demande hlm depuis 3 ans toujours rien, cmt on relance",
        "mon bailleur social repare pas le chauffage depuis 2 mois",
        "logment social cmt on fait la demande svp",
        "Mme souhaite déposer un recours DALO, famille de 5 dans un T2",
    ]),
    "telephonie_internet": ("operateurs", "la_poste_en_ligne", [
        "je veux resilier ma box sfr mais ils me font payer des frais",
        "litige avec orange sur ma facture internet, ils m ont facture 2 fois",
        "jai un hors forfait de 80e sur mon portable c pas normal",
        "usager en litige avec son opérateur téléphonique pour une résiliation",
    ]),
    "fournisseur_energie_eau": ("edf", "cheque_energie_utiliser", [
        "je voudrai un echeancier avec edf pour ma facture d electricite",
        "engie me reclame 600e de regul, jpeux payer en plusieurs fois ?",
        "cmt resilier mon contrat de gaz chez total energie, je demenage",
        "Mme en litige avec Veolia sur sa facture d'eau, compteur mal relevé",
        "j'ai une dette de 400 euros chez Engie, je peux étaler le paiement avec eux ?",  # one debt: the supplier's
    ]),
    "mdph": ("mdph", "invalidite", [
        "je dois remplir le dossier mdph pour mon fils autiste, c koi les papiers",
        "cmt avoir la carte mobilite inclusion pr ma mere",
        "demande d aeeh pour mon petit handicape, c ou ?",
        "usager demande de l'aide pour le renouvellement de sa RQTH",
    ]),
    "crous_etudiants": ("services competents", "aide_logement", [
        "ma bourse du crous est tjs pas versee on est le 15",
        "jai rien eu sur parcoursup, je fais quoi",
        "bourse etudiant echelon 0bis c combien",
        "Mme cherche un logement étudiant CROUS pour sa fille à Dijon",
    ]),
    "banque_autre": ("bancaire", "courrier_colis_banque", [
        "ma banque me prend des agios tout les mois c normal",
        "je veux cloturer mon compte au credit agricole",
        "faire opposition sur ma carte bancaire perdue svp",
        "usager : son banquier refuse un crédit à la consommation",
    ]),
    "mutuelle_privee": ("mutuelles", "complementaire_sante_solidaire", [
        "je veux resilier ma mutuelle harmonie",
        "ma mutuelle rembourse pas mes lunettes",
        "changer de mutuelle en cours d annee c possible ?",
        "usager : la MGEN refuse de rembourser ses frais dentaires",
    ]),
    "assurance_privee": ("assurances", "accident_tiers", [
        "mon assurance auto veut pas me rembourser le pare brise",
        "la maif met trop de temps pr mon degat des eaux",
        "resilier mon assurence habitation quand je demenage",
        "Mr souhaite déclarer un sinistre à son assureur",
        "degat des eaux dans la cuisine, l'expert de l'assurance vient quand",
    ]),
    "retraite_complementaire": ("retraite complementaire", "paiement_retraite", [
        "ma retraite complementaire agirc arrco est pas tombee ce mois ci",
        "il manque des points sur mon releve agirc-arrco des annees 90",
        "Mme souhaite joindre sa caisse de retraite complémentaire pour un versement en retard",
    ]),
    "vignette_crit_air": ("transport", "titres_en_ligne", [
        "cmt je commande la vignette crit air pr ma voiture",
        "il me faut la pastille pollution pour rouler en ville, c ou ?",
        "usager souhaite obtenir le certificat qualité de l'air de son véhicule",
    ]),
}

# In scope although close to another body: (intent the NLU would give, text).
NEAR_MISSES = [
    # a water damage told as the reason of another request is no insurance question
    ("carte_vitale", "apres un degat des eaux ma carte vitale est toute abimee, comment la refaire"),
    ("cheque_energie_utiliser", "je veux payer ma facture EDF avec mon chèque énergie"),
    ("cheque_energie_utiliser", "cheque energie pr payer engie c possible ?"),
    ("cheque_energie_utiliser", "pré-affecter mon chèque énergie à mon fournisseur d'électricité"),
    ("cheque_energie_reclamation", "jai pas recu mon cheque energie et edf me reclame la facture"),
    ("invalidite", "je touche l'AAH, je dois faire ma déclaration trimestrielle"),
    ("rsa_prime_activite", "la caf m'a coupé l'aah, je comprends pas pourquoi"),
    ("complementaire_sante_solidaire", "ma mutuelle coûte trop cher, j'ai droit à la complémentaire santé solidaire ?"),
    ("complementaire_sante_solidaire", "je vais perdre la mutuelle de mon entreprise, je peux avoir la css ?"),
    ("la_poste_en_ligne", "je déménage, je veux faire mon changement d'adresse à La Poste"),
    ("courrier_colis_banque", "j'ai une question sur mon compte à La Banque Postale"),
    ("courrier_colis_banque", "résilier l'assurance CNP que m'a vendue mon conseiller Banque Postale"),
    ("titres_en_ligne", "je dois faire la carte grise de ma voiture, l'assurance auto me demande le certificat"),
    ("titres_en_ligne", "j'ai vendu ma moto, l'assureur veut le code de cession pour arrêter le contrat, je le trouve où"),
    ("famille_naissance", "je veux déclarer la naissance de mon bébé à la CAF"),
    ("deces_proche", "mon père est décédé, je dois déclarer le décès à la caf"),
    ("contester_impot_facture_amende", "je conteste ma facture de cantine, on m'a facturé un mois de trop"),
    ("saisie_compte_bancaire", "ma banque a bloqué mon compte, c'est une saisie des impôts"),
    ("aide_logement", "je suis en HLM, je voudrais l'APL de la caf"),
    ("aide_logement", "étudiant en résidence CROUS, comment demander l'aide au logement ?"),
    ("probleme_juridique", "litige avec mon assurance habitation, je voudrais connaître mes droits"),
    ("cadastre_urbanisme", "taxe d'aménagement après mon permis de construire, je comprends pas le montant"),
    ("surendettement", "trop de crédits Cofidis et Cetelem, je veux faire un dossier de surendettement"),
    ("surendettement", "j'ai plusieurs dettes, EDF, le loyer, un crédit, je m'en sors plus"),
    ("maprimerenov", "MaPrimeRénov' pour changer ma chaudière, ma facture EDF est trop haute"),
    ("carte_vitale", "étudiant qui part en Erasmus, il me faut la carte européenne d'assurance maladie"),
    ("succession", "assurance vie de ma mère décédée, comment la déclarer aux impôts"),
    ("accident_tiers", "accident de voiture causé par un tiers, la cpam me demande l'assurance de l'autre"),
    ("titres_en_ligne", "acte de naissance pour mon passeport, je fais comment sur l'ants"),
    # no operator named: the entry's own guard decides
    ("complementaire_sante_solidaire", "mutuelle gratuite pour les petits revenus, c'est possible ?"),
    ("invalidite", "je touche l'AAH et la PCH, declaration de ressources trimestrielle a faire"),
    ("factures_amendes", "je voudrais payer la facture d'eau de ma commune en ligne"),
    ("probleme_juridique", "mon bailleur social veut m'expulser, quels sont mes droits ?"),
    ("saisie_compte_bancaire", "mon compte en banque est saisi pour une amende pas payée"),
    ("simulation_retraite", "avec ma RQTH, je pourrai partir à quel âge ?"),
    # filing one's pension covers the basic and the complementary pension: in scope
    ("demande_retraite", "je veux faire ma demande de retraite, la base et la complémentaire en même temps"),
    ("titres_en_ligne", "carte grise de ma nouvelle voiture, c'est sur le site de l'ants ?"),
]

_ANNOTATION = re.compile(r"\[([^\]]+)\](\([^)]*\)|\{[^}]*\})")


@pytest.fixture(scope="module")
def guichet(repo):
    return Guichet(repo)


@pytest.fixture(scope="module")
def other_bodies(knowledge):
    return [r for r in knowledge.out_of_scope if r.redirect_agent.startswith(OTHER_BODY)]


def handle(guichet, intent, text, audience="public"):
    out = guichet.handle(Turn(intent=intent, text=text, audience=audience))
    customs = [r.custom for r in out.replies if r.custom]
    assert customs, out.replies
    return customs[0]


def topic_examples(guichet):
    """(intent, text) of every démarche phrasing of the NLU data, entity annotations removed."""
    examples = []
    for path in sorted((ROOT / "data" / "nlu").rglob("*.yml")):
        for block in yaml.safe_load(path.read_text(encoding="utf-8")).get("nlu") or []:
            if block.get("intent") in guichet.topics:
                for line in (block.get("examples") or "").splitlines():
                    if line.strip().startswith("- "):
                        examples.append((block["intent"], _ANNOTATION.sub(r"\1", line.strip()[2:])))
    return examples


def matches(requests, texts):
    return [
        (request.id, label, text)
        for label, text in texts
        for request in requests
        if request.matches(DecisionEngine.normalise(text))
    ]


def test_each_other_body_entry_is_listed_after_the_must_not_do_list_and_cites_its_seed_line(knowledge, other_bodies):
    assert [r.id for r in other_bodies] == list(BODIES)
    kinds = [r.redirect_agent.startswith(OTHER_BODY) for r in knowledge.out_of_scope]
    assert kinds == sorted(kinds), "the PIMMS « demandes à ne pas traiter » are matched first"
    assert all(r.redirect_agent.startswith((MUST_NOT_DO, OTHER_BODY)) for r in knowledge.out_of_scope)
    seed = (ROOT / "knowledge" / "sources" / SEED).read_text(encoding="utf-8").splitlines()
    for request in other_bodies:
        assert request.document == SEED
        assert BODIES[request.id][0] in fold(seed[request.line - 1]), (request.id, seed[request.line - 1])


def test_the_guard_of_the_12_operators_is_written_once_and_applies_to_every_other_body_entry(knowledge, other_bodies):
    names = knowledge.out_of_scope_operator_names
    assert names == tuple(yaml.safe_load((ROOT / "knowledge" / "hors_champ.yml").read_text(encoding="utf-8"))["operator_names"])
    assert all(r.unless_operators and r.operator_names == names for r in other_bodies)
    # the PIMMS « demandes à ne pas traiter » keep their own patterns, without the operator guard
    assert not any(r.unless_operators for r in knowledge.out_of_scope if r not in other_bodies)
    # no copy left in the patterns nor in the near misses of an entry
    assert not any("pajemploi" in p or p.startswith("^(?!") for r in other_bodies for p in (*r.patterns, *r.unless))
    operators = whole_words(names)
    for name in ("caf", "cpam", "ameli", "msa", "impots", "france travail", "la poste", "banque postale", "ants",
                 "urssaf", "point justice", "france renov", "cheque energie", "assurance retraite", "carsat"):
        assert operators.search(f"ma question pour {name} svp"), name
    for request in other_bodies:
        text = DecisionEngine.normalise(BODIES[request.id][2][0])
        assert request.matches(text), request.id
        for name in ("caf", "france travail", "impots"):
            assert not request.matches(f"{text} pour {name}"), (request.id, name)


def test_other_body_redirects_speak_politely_and_keep_counsellor_wording_for_counsellors(other_bodies):
    for request in other_bodies:
        public = request.redirect_public
        assert "vous" in public and not re.search(r"\b(tu|te|ton|ta|tes)\b", public), request.id
        assert not any(w in public for w in ("Administration+", "back-office", "Osmose", "Hors référentiel")), request.id


@pytest.mark.parametrize("audience", ["public", "agent"])
@pytest.mark.parametrize(
    "request_id,text", [(rid, text) for rid, (_, _, texts) in BODIES.items() for text in texts]
)
def test_other_body_request_is_answered_out_of_scope_with_its_redirect(guichet, knowledge, request_id, text, audience):
    request = next(r for r in knowledge.out_of_scope if r.id == request_id)
    expected = request.redirect_agent if audience == "agent" else request.redirect_public
    assert not guichet.engine.emergencies(text)
    # whatever the NLU read: a misread démarche, the out-of-scope intents, a hesitation
    for intent in (BODIES[request_id][1], "hors_champ", "out_of_scope", "nlu_fallback"):
        custom = handle(guichet, intent, text, audience)
        assert custom["type"] == "out_of_scope", (intent, text, custom)
        assert custom["request"] == request_id, (intent, text, custom["request"])
        assert custom["redirect"] == expected
        assert custom["source"] == {"file": SEED, "section": request.section, "line": request.line}


@pytest.mark.parametrize("intent,text", NEAR_MISSES)
def test_near_miss_in_scope_request_is_not_out_of_scope(guichet, intent, text):
    assert intent in guichet.topics
    assert guichet.must_not_do(text) is None, text
    assert handle(guichet, intent, text)["type"] in ("question", "answer"), text


def test_no_other_body_pattern_matches_a_demarche_phrasing_of_the_nlu_data(guichet, other_bodies):
    examples = topic_examples(guichet)
    assert len(examples) > 3000
    assert matches(other_bodies, examples) == []


def test_no_other_body_pattern_matches_a_held_out_demarche_phrasing(other_bodies):
    cases = yaml.safe_load((ROOT / "tests" / "nlu_heldout.yml").read_text(encoding="utf-8"))["cases"]
    texts = [(c["topic"], c["text"]) for c in cases if c["topic"] not in ("urgence", "out_of_scope")]
    assert matches(other_bodies, texts) == []


def test_no_other_body_pattern_matches_a_row_of_the_knowledge_base(knowledge, other_bodies):
    texts = [(d.id, text) for d in knowledge.demarches for text in (d.title, d.label, *d.items)]
    texts += [(s.id, s.title) for s in knowledge.situations]
    texts += [(o.slug, text) for o in knowledge.operators.values() for text in (o.name, o.title, *o.aliases)]
    assert matches(other_bodies, texts) == []


def test_a_credit_dispute_before_a_court_is_a_question_of_rights_not_a_bank_dispute(guichet):
    """« Convoqué devant le juge pour un crédit »: what the person asks is their rights before the
    court (Point-justice), not to be accompanied in a dispute with the bank (PIMMS list)."""
    plain_dispute = "je suis en litige avec ma banque pour un crédit conso, vous pouvez m'aider à le régler ?"
    assert guichet.must_not_do(plain_dispute).id == "litige_bancaire"
    summoned = ("Madame est convoquée au tribunal par sa société de crédit pour un contentieux sur un prêt "
                "renouvelable ; elle veut connaître ses droits avant l'audience.")
    assert guichet.must_not_do(summoned) is None


@pytest.mark.parametrize("probability, confidence, refused", [
    (0.40, 0.45, True),    # the NLU hesitates: the classifier's word is enough
    (0.40, 0.93, False),   # the NLU is sure of its démarche: the same doubt does not refuse
    (0.60, 0.93, False),
    (0.80, 0.93, True),    # the classifier is sure too
])
def test_the_surer_the_nlu_the_more_it_takes_to_refuse_a_request(repo, probability, confidence, refused):
    guichet = Guichet(repo, signals=FixedSignals(hors_champ=probability))
    # an in-scope request in plain words, as the challenge sets' writers put it (renewing an AME)
    turn = Turn("ame", "mon aide medicale elle se termine bientot faut la refaire, vous remplissez le papier avec moi",
                confidence=confidence)
    reply = guichet.handle(turn).replies[0]
    assert (reply.custom["type"] == "out_of_scope") is refused, (probability, confidence, reply.custom)


@pytest.mark.parametrize("confidence,refused", [(0.8, False), (0.55, False), (0.3, True)])
def test_a_sure_reading_of_a_legal_difficulty_is_never_refused_by_the_classifier(repo, confidence, refused):
    """Point-justice orients every legal difficulty: a dispute with a private landlord over a deposit is
    one (référentiel 000:240–241), even when the out-of-scope classifier is sure it is not; an unsure
    reading stays with the classifier."""
    guichet = Guichet(repo, signals=FixedSignals(hors_champ=0.95))
    turn = Turn("probleme_juridique", "le proprietaire garde les 700 euros du depot de garantie pour un evier raye, "
                                      "est ce qu il en a le droit", confidence=confidence)
    reply = guichet.handle(turn).replies[-1]
    assert (reply.custom["type"] == "out_of_scope") is refused, reply.custom
    if not refused:  # the Point-justice démarche goes on (its question on the person's own file)
        assert reply.custom["type"] == "question" and reply.custom["topic"] == "probleme_juridique", reply.custom


def test_a_legal_request_a_counter_must_not_handle_stays_refused_whatever_the_reading(repo):
    guichet = Guichet(repo, signals=FixedSignals(hors_champ=0.0))
    turn = Turn("probleme_juridique", "vous pouvez monter mon dossier pour les prud'hommes à ma place ?", confidence=0.9)
    assert guichet.handle(turn).replies[0].custom["type"] == "out_of_scope"


@pytest.mark.parametrize("text, entry", [
    # the basic pension is said to be paid: the complementary one is asked of its own caisse
    ("Mon père touche bien sa pension de base de la Carsat, c'est l'Ircantec qui ne lui a rien versé en mars, il veut savoir qui appeler",
     "retraite_complementaire"),
    ("la carsat c'est bien versé mais ma complémentaire Klesia a deux mois de retard", "retraite_complementaire"),
    ("ma caisse complémentaire ne m'a rien versé ce trimestre", "retraite_complementaire"),  # a date, not career quarters
    # the Assurance retraite's own payment or career is in question: in scope
    ("la carsat ne m'a rien versé ce mois-ci alors que l'arrco oui", None),
    ("il me manque des trimestres, ma caisse complémentaire me renvoie vers vous", None),
    ("la carsat ça va, mais je comprends pas ma complémentaire santé solidaire", None),
])
def test_the_basic_pension_said_to_be_paid_sets_the_operator_aside(guichet, text, entry):
    found = guichet.must_not_do(text)
    assert (found.id if found else None) == entry
