"""Facts said in plain words (issue 10, kind 5): the cue lists of knowledge/conditions.yml read what
people type, and never fire inside another word. New sentences, not taken from any data set."""
import pytest

from bot.engine import DecisionEngine
from bot.knowledge.memory import InMemoryKnowledge


@pytest.fixture(scope="module")
def engine(knowledge):
    return DecisionEngine(InMemoryKnowledge(knowledge))


@pytest.mark.parametrize("text, key, value", [
    ("ma tante sait pas du tout se servir d'internet", "autonome_numerique", "non"),
    ("je ne sais pas me servir d'un ordinateur", "autonome_numerique", "non"),
    ("usager illettré, aucun ordinateur chez lui", "autonome_numerique", "non"),
    ("je suis complètement larguée avec l'informatique", "autonome_numerique", "non"),
    ("je le fais en ligne d'habitude", "autonome_numerique", "oui"),
    ("mon père touche une petite retraite agricole", "msa", "oui"),
    ("je bosse dans les vignes depuis 3 ans", "msa", "oui"),
    ("elle est cotisante à la mutualité agricole", "msa", "oui"),
    ("la cantine me demande le quotient familial, je suis à la MSA, pas à la CAF", "msa", "oui"),
    ("je dois partir dans 6 jours pour un enterrement au Maroc", "demande_urgente", "oui"),
    ("mon frere est en reanimation, il me faut un passeport le plus vite possible", "demande_urgente", "oui"),
    # whether what happened to the person is lawful: a question on their own case
    ("mon ancien employeur garde mon dernier bulletin de salaire, il a le droit ?", "question_dossier", "oui"),
    ("le bailleur garde les 600 euros, c'est légal ça ?", "question_dossier", "oui"),
    # France Titres (lines 47-48): a departure in the next days, a provisional certificate about to
    # expire, a relative dying abroad
    ("je pars mardi sur un chantier en Belgique et la carte grise de la camionnette n'est pas arrivée",
     "demande_urgente", "oui"),
    ("le certificat provisoire de ma voiture expire jeudi et j'en ai besoin pour travailler", "demande_urgente", "oui"),
    ("mon père est au plus mal en Tunisie, je dois partir vite et ma carte d'identité est périmée",
     "demande_urgente", "oui"),
    # a departure on a day of this month, a request to speed it up
    ("je pars travailler en Suisse le 9 et mon permis n'est toujours pas arrivé", "demande_urgente", "oui"),
    ("il faudrait faire accélérer ma carte grise, je suis coincé sans voiture", "demande_urgente", "oui"),
    # CAF (line 80): three months without payment and a document sent, in other words
    ("je ne touche plus le RSA depuis quatre mois alors que j'ai déposé le justificatif demandé",
     "prestation_interrompue", "oui"),
    ("mes allocations sont interrompues depuis 3 mois, l'attestation que la caf voulait, mon bailleur l'a signée et "
     "je l'ai renvoyée", "prestation_interrompue", "oui"),
    # « pourquoi » in SMS spelling asks about the person's own file
    ("pk ma pension est plus petite que celle de mon voisin", "question_dossier", "oui"),
    ("pq on me retient 50 e sur ma pension", "question_dossier", "oui"),
    # a rupture of rights is a blockage
    ("rupture de mes droits à la complémentaire depuis janvier", "bloquee", "oui"),
])
def test_facts_in_plain_words(engine, text, key, value):
    assert engine.implied_facts(text).get(key) == value


@pytest.mark.parametrize("text, key", [
    ("ma qualité de vie a baissé, je voudrais la mutualité agricole", "demande_urgente"),  # mutu-alite
    ("je suis à la caf depuis longtemps", "autonome_numerique"),
    ("vingt ans dans le bâtiment, je veux ma retraite", "detresse"),  # le bat-iment
])
def test_cues_never_fire_inside_another_word(engine, text, key):
    assert key not in engine.implied_facts(text)


def test_whether_someone_else_may_do_something_is_no_question_on_ones_file(engine):
    text = "le garagiste se demande s'il a le droit d'accepter le chèque énergie pour la réparation du chauffage"
    assert "question_dossier" not in engine.implied_facts(text)


def test_no_emergency_in_ordinary_words(engine):
    for text in ("20 ans dans le batiment", "il n'y a aucun danger immédiat", "un coup de main pour ma carte grise",
                 "j'ai perdu le fil de mon dossier"):
        assert engine.emergencies(text) == (), text


@pytest.mark.parametrize("text, key", [
    ("je suis en france depuis 5 mois sans papiers, je veux l'ame", "bloquee"),  # a duration is no blockage
    ("je suis en france depuis 5 mois sans papiers, je veux l'ame", "autonome_numerique"),  # « sans papiers »
])
def test_a_duration_or_undocumented_status_is_no_fact(engine, text, key):
    assert key not in engine.implied_facts(text)


@pytest.mark.parametrize("text, key, never", [
    # what the person does not have, followed by how long they have been here, is no wait
    ("réfugiée sans titre de séjour, arrivée en France depuis six mois, elle veut se soigner", "bloquee", "oui"),
    # letters that stopped coming by post are no interrupted payment
    ("depuis que j'ai mon espace en ligne je reçois plus de courrier de ma caisse", "bloquee", "oui"),
    ("je reçois plus les relevés par la poste, je voudrais les avoir en papier", "bloquee", "oui"),
    # an urgency the person denies is no urgent request
    ("rien d'urgent, c'est pour refaire ma carte d'identité qui expire l'an prochain", "demande_urgente", "oui"),
    ("ce n'est pas urgent du tout, je voudrais un passeport pour cet été", "demande_urgente", "oui"),
    # « sur le site » said with « n'y arrive pas seule » is no digital autonomy
    ("elle doit déclarer la perte sur le site mais elle n'y arrive pas seule", "autonome_numerique", "oui"),
    # a departure on a date months away is no urgent request
    ("je pars le 14 juillet en Tunisie, je voudrais refaire mon passeport", "demande_urgente", "oui"),
    # a « rupture conventionnelle » or the end of a contract is no rupture of rights
    ("mon patron et moi on signe une rupture conventionnelle, combien je toucherai au chômage ?", "bloquee", "oui"),
    ("après la rupture de mon CDD je voudrais m'inscrire", "bloquee", "oui"),
])
def test_what_the_text_denies_or_does_not_say_is_no_fact(engine, text, key, never):
    assert engine.implied_facts(text).get(key) != never


def test_a_wait_with_a_duration_is_a_blockage(engine):
    for text in ("toujours aucune réponse depuis deux mois", "depuis 3 mois j'attends le virement",
                 "sans aucun versement depuis cinq semaines", "je ne reçois plus mon allocation"):
        assert engine.implied_facts(text).get("bloquee") == "oui", text


def test_sleeping_in_a_car_is_no_shelter(engine):
    assert [k.label for k in engine.emergencies("on dort dans notre voiture avec les enfants")] == [
        "Sans solution d'hébergement"]


@pytest.mark.parametrize("text", [
    "son fils le menace et l'a frappé la semaine dernière, il veut sa carte vitale",
    "mon ex m'a giflée devant les enfants, je dois refaire mes papiers",
    "elle a peur de rentrer chez elle le soir, elle demande la prime d'activité",
    "son compagnon la menace et elle n'ose plus rentrer chez elle",
])
def test_violence_told_in_the_past_or_by_its_fear_is_an_emergency(engine, text):
    assert [k.label for k in engine.emergencies(text)] == ["Violences conjugales ou intrafamiliales"], text


def test_a_threat_that_is_a_noun_or_a_push_by_a_horse_is_no_violence(engine):
    for text in ("la menace d'une coupure d'électricité", "le cheval l'a bousculée, elle s'est cassé le bras",
                 "les menaces de saisie de la banque",
                 "elle vit sous la menace d'une expulsion"):
        assert engine.emergencies(text) == (), text


# -- the subjects a row lists, said in plain words (new sentences) -----------------------------------


@pytest.mark.parametrize("topic, text, expected", [
    # Urssaf (lines 255, 265, 276): « en cas d'autre demande » lists the subjects that go to the Urssaf
    ("auto_entrepreneur", "mes clients paient en retard, je voudrais régler mes cotisations en trois fois", "niveau_2"),
    ("auto_entrepreneur", "est-ce que je peux déclarer tous les trois mois au lieu de chaque mois ?", "niveau_2"),
    ("auto_entrepreneur", "je voudrais créer mon compte sur le site de l'Urssaf", "niveau_1"),
    ("cesu", "l'aide ménagère s'en va et réclame ses jours de congés, je lui dois quoi ?", "niveau_2"),
    ("cesu", "j'ai une nouvelle banque, il faut mettre à jour mon RIB pour les prélèvements Cesu", "niveau_2"),
    ("cesu", "je voudrais activer l'avance immédiate pour mon aide à domicile", "niveau_1"),
    ("pajemploi", "l'aide pour la garde de ma fille a diminué, je ne comprends pas leur calcul", "niveau_2"),
    ("pajemploi", "comment imprimer le bulletin de salaire de la nounou sur Pajemploi ?", "niveau_1"),
    # Chèque énergie (line 230): a chèque never received after a move, a separation, a death
    ("cheque_energie_reclamation", "on a changé de logement en mai et le chèque énergie n'est jamais arrivé chez nous",
     "niveau_2"),
    ("cheque_energie_reclamation", "depuis notre séparation c'est mon ancien compagnon qui touche le chèque énergie",
     "niveau_2"),
    ("cheque_energie_reclamation", "je voudrais déposer une réclamation sur le site du chèque énergie", "niveau_1"),
    # CAF (line 95): a difficulty with the micro-entreprise's status or tax regime in a request for an aid
    ("rsa_prime_activite", "je suis en micro entreprise (coiffure a domicile), pour le rsa je declare le ca ou ce "
     "qui reste apres l'abattement ?", "niveau_2"),
    ("rsa_prime_activite", "la caf veut mes revenus d'auto-entrepreneur pour la prime d'activité, je mets le brut ?",
     "niveau_2"),
    ("rsa_prime_activite", "je suis auto-entrepreneur, je voudrais faire ma demande de prime d'activité", "niveau_1"),
])
def test_the_subjects_a_row_lists_decide_its_category(engine, topic, text, expected):
    outcome = engine.decide(topic, {}, text, may_ask=False)
    assert outcome.demarche.category == expected, outcome.demarche.id


def test_a_word_inside_another_is_no_subject(engine):
    # « immédiate » holds « médiat(eur) », « on a reçu » holds « n'a reçu »
    assert "autre_demande_urssaf" not in engine.implied_facts("je veux l'avance immédiate du crédit d'impôt")
    # « elle est bien remise » (recovered) is no « remise de pénalités »
    assert "autre_demande_urssaf" not in engine.implied_facts("depuis son opération dont elle est bien remise, elle "
                                                              "veut activer le Cesu+")
    assert "reclamation_particuliere" not in engine.implied_facts("on a reçu le chèque énergie hier, il sert à quoi ?")


# -- general rows of an operator (« Présentation générale des démarches ») --------------------------


def test_a_refusal_of_the_msa_is_explained_by_the_msa_whatever_the_benefit(engine):
    refused = engine.decide("aide_logement", {"msa": "oui"},
                            "la MSA a rejeté mon allocation logement, je ne vois pas pourquoi", may_ask=False)
    assert refused.demarche.id == "msa.explication_decision"
    asked = engine.decide("aide_logement", {"msa": "oui"}, "je voudrais demander l'allocation logement à la MSA",
                          may_ask=False)
    assert asked.demarche.operator == "msa" and asked.demarche.category == "niveau_1"


def test_an_administrative_anomaly_goes_to_the_assurance_maladie_whatever_the_demarche(engine):
    anomaly = engine.decide("carte_vitale", {}, "ma fille apparaît sur la carte vitale d'une inconnue, il y a une anomalie",
                            may_ask=False)
    assert anomaly.demarche.id == "assurance_maladie.situation_complexe"
    plain = engine.decide("carte_vitale", {}, "je voudrais commander une carte vitale pour mon fils", may_ask=False)
    assert plain.demarche.category == "niveau_1"


def test_a_general_row_never_hides_an_urgent_one(engine):
    outcome = engine.decide("aide_logement", {"msa": "oui", "detresse": "oui"},
                            "la MSA a supprimé mon allocation logement, je ne comprends pas la décision", may_ask=False)
    assert outcome.demarche.category == "urgent"


def test_an_amount_asked_for_or_a_refusal_to_come_is_no_decision_to_explain(engine):
    for text in ("les impôts me demandent le montant de ma retraite MSA, il me faut l'attestation fiscale",
                 "je ne veux pas de Mon espace santé, comment je le refuse ?"):
        assert "explication_decision" not in engine.implied_facts(text), text
