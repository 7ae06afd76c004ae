"""One conversation turn at a time, through bot.conversation.Guichet on the real SQL knowledge base."""
from pathlib import Path

import pytest

from bot.conversation import Guichet, Turn
from bot.services import audience_from_metadata
from fakes import FixedSignals

AGENT_ONLY = ("Administration+", "back-office", "Osmose")
ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def guichet(repo):
    return Guichet(repo, opening_hours="Votre espace France services est ouvert du lundi au vendredi.")


def payload(result, kind=None):
    customs = [r.custom for r in result.replies if r.custom]
    assert customs, result.replies
    if kind:
        assert customs[0]["type"] == kind, customs[0]
    return customs[0]


def run(guichet, intent, text="", slots=None, audience="public", **kw):
    return guichet.handle(Turn(intent=intent, text=text, slots=slots or {}, audience=audience, **kw))


def test_question_then_answer_by_button_value(guichet):
    first = run(guichet, "rsa_prime_activite", "ma CAF ne me verse plus le RSA depuis trois mois")
    q = payload(first, "question")
    assert q["key"] == "detresse"
    assert q["options"] == [
        {"value": "oui", "title": "Oui"},
        {"value": "non", "title": "Non"},
        {"value": "inconnu", "title": "Je ne sais pas"},
    ]
    assert [b["payload"] for b in first.replies[0].buttons] == ["/affirm", "/deny", "/je_ne_sais_pas"]
    assert first.slots["pending_question"] == "detresse" and first.slots["topic"] == "rsa_prime_activite"

    second = run(guichet, "affirm", "oui", slots=first.slots)
    answer = payload(second, "answer")
    assert answer["demarche"] == "caf.urgence_rupture_droits" and answer["category"] == "urgent"
    assert answer["operator"] == "caf"
    assert answer["source"]["operator"] == "Allocations familiales" and answer["source"]["section"]
    assert second.slots["pending_question"] is None


def test_je_ne_sais_pas_gives_the_safe_default_and_the_other_case(guichet):
    first = run(guichet, "rsa_prime_activite", "la caf me verse plus rien depuis des mois")
    assert payload(first)["key"] == "detresse"
    second = run(guichet, "je_ne_sais_pas", "je sais pas", slots=first.slots)
    assert payload(second)["key"] == "prestation_interrompue"
    out = run(guichet, "je_ne_sais_pas", "je sais pas", slots=second.slots)
    answer = payload(out, "answer")
    assert answer["category"] == "niveau_2"
    assert any(c.startswith("Si vous êtes dans une situation d'urgence") for c in answer["caveats"])
    assert any(c.startswith("Si votre prestation est interrompue depuis 3 mois") for c in answer["caveats"])


def test_public_answer_speaks_to_the_person_and_hides_agent_channels(guichet):
    slots = {"detresse": "oui", "bloquee": "oui", "topic": "rsa_prime_activite", "pending_question": "detresse",
             "request_text": "la caf ne me verse plus le rsa depuis 3 mois"}
    public = run(guichet, "affirm", "oui", slots=slots)
    text = public.replies[0].text
    answer = payload(public)
    assert "Un conseiller France services peut contacter directement l'organisme" in text
    assert not any(word in text for word in AGENT_ONLY)
    assert all(c["audience"] == "public" for c in answer["contacts"])
    assert not any(word in answer["next_step"] for word in AGENT_ONLY)

    agent = run(guichet, "affirm", "oui", slots=slots, audience="agent")
    assert "Administration+" in agent.replies[0].text
    assert "Administration+" in payload(agent)["next_step"]
    assert any(c["audience"] == "agent" for c in payload(agent)["contacts"])


LOCAL_PACKS = sorted(path.stem for path in (ROOT / "knowledge" / "local").glob("*.yml"))


def agent_only_values(knowledge):
    """Phones, e-mails and URLs given for counsellors only (national rows and local supplements)."""
    contacts = [c for d in knowledge.demarches for c in d.contacts]
    contacts += [c for pack in knowledge.local.values() for sup in pack.supplements for c in sup.contacts]
    public = {c.value for c in contacts if c.audience == "public"}
    return {c.value for c in contacts if c.audience == "agent" and c.kind != "service"} - public


@pytest.mark.parametrize("departement", [None, *LOCAL_PACKS])
def test_every_public_answer_of_the_referentiel_is_free_of_agent_channels(repo, knowledge, departement):
    """Every row, nationally and with each knowledge/local/*.yml applied (GUICHET_DEPARTEMENT)."""
    guichet = Guichet(repo, departement=departement)
    forbidden = AGENT_ONLY + tuple(sorted(agent_only_values(knowledge)))
    shown_local = set()
    for topic in guichet.topics:
        for row in guichet.repo.topic(topic):
            slots = dict(row.conditions)
            out = run(guichet, topic, row.label, slots={})
            # drive the questions with the row's own conditions
            for _ in range(6):
                custom = payload(out)
                if custom["type"] != "question":
                    break
                value = slots.get(custom["key"], "inconnu")
                out = run(guichet, {"oui": "affirm", "non": "deny", "inconnu": "je_ne_sais_pas"}[value], value,
                          slots=out.slots)
            text = " ".join(r.text for r in out.replies) + str(payload(out))
            assert not [word for word in forbidden if word in text], (topic, row.id)
            shown_local |= {line["id"] for line in payload(out).get("local", [])}
    if departement:
        assert shown_local, "the local supplements are applied"


def test_answer_without_question_when_text_says_it(guichet):
    out = run(guichet, "titres_en_ligne", "je dois refaire ma carte grise")
    answer = payload(out, "answer")
    assert answer["demarche"] == "france_titres.demarches_en_ligne" and answer["category"] == "niveau_1"


def test_new_request_forgets_request_facts_but_keeps_person_facts(guichet):
    first = run(guichet, "rsa_prime_activite", "je suis agriculteur et je veux le RSA")
    assert first.slots["msa"] == "oui"
    second = run(guichet, "carte_vitale", "j'ai perdu ma carte vitale", slots={**first.slots, "question_dossier": "oui"})
    assert payload(second)["demarche"].startswith("msa.")
    assert second.slots["question_dossier"] is None


def test_hors_bouquet_is_a_polite_redirection(guichet):
    out = run(guichet, "courrier_colis_banque", "mon colis n'est jamais arrivé")
    answer = payload(out, "answer")
    assert answer["category"] == "hors_bouquet"
    assert "ne peut pas être traitée dans un espace France services" in answer["next_step"]
    assert "3631" in [c["value"] for c in answer["contacts"]]


def test_distress_without_topic(guichet):
    out = run(guichet, "urgence", "je veux en finir")
    answer = payload(out, "answer")
    assert answer["category"] == "urgent" and answer["demarche"] is None
    assert "3114" in [n["value"] for n in answer["emergency_numbers"]]
    assert "3114" in out.replies[0].text


def test_distress_words_win_over_any_intent(guichet):
    out = run(guichet, "greet", "bonjour, mon conjoint me frappe")
    assert "3919" in out.replies[0].text


def test_fallback_proposes_then_redirects(guichet):
    ranking = [("nlu_fallback", 0.5), ("aide_logement", 0.3), ("famille_naissance", 0.1), ("greet", 0.05), ("carte_vitale", 0.04)]
    first = guichet.fallback(Turn(intent="nlu_fallback", text="les sous pour le loyer", ranking=ranking))
    choose = payload(first, "choose")
    assert len(choose["options"]) == 3
    assert {guichet.repo.get(o["demarche"]).topic for o in choose["options"]} == {"aide_logement", "famille_naissance", "carte_vitale"}
    assert first.replies[0].buttons[0]["payload"].startswith('/choisir{"demarche": ')

    picked = run(guichet, "choisir", choose["options"][0]["demarche"], slots=first.slots,
                 entities=[{"entity": "demarche", "value": choose["options"][0]["demarche"]}])
    assert payload(picked)["type"] in ("question", "answer")

    second = guichet.fallback(Turn(intent="nlu_fallback", text="truc machin caf", ranking=ranking, slots=first.slots))
    redirect = payload(second, "out_of_scope")
    assert "conseiller France services" in redirect["redirect"]
    assert "Caf.fr" in redirect["redirect"] or "CAF" in redirect["redirect"]
    agent = guichet.fallback(Turn(intent="nlu_fallback", text="aide au logement", ranking=ranking, slots=first.slots,
                                  audience="agent"))
    assert payload(agent, "choose")["options"]


def test_out_of_scope(guichet):
    out = guichet.out_of_scope(Turn(intent="out_of_scope", text="quel temps fait-il ?"))
    assert "12 organismes" in payload(out, "out_of_scope")["redirect"]


def test_menu_lists_operators_then_demarches(guichet):
    top = guichet.menu(Turn(intent="menu", text="menu"))
    assert len(payload(top, "menu")["options"]) == 12
    caf = guichet.menu(Turn(intent="menu", text="", entities=[{"entity": "operator", "value": "caf"}]))
    options = payload(caf, "choose")["options"]
    assert options and all(o["demarche"].startswith("caf.") for o in options)


def test_answer_without_pending_question_asks_to_rephrase(guichet):
    out = run(guichet, "affirm", "oui")
    assert "préciser votre demande" in out.replies[0].text


def test_agent_audience_requires_the_code(monkeypatch):
    from bot.access import agent_code

    # No GUICHET_AGENT_TOKEN: the generated code (closed by default, there is no open mode).
    monkeypatch.delenv("GUICHET_AGENT_TOKEN", raising=False)
    assert audience_from_metadata({"audience": "agent"}) == "public"
    assert audience_from_metadata({"audience": "agent", "agent_token": agent_code()}) == "agent"
    assert audience_from_metadata({}) == "public"
    assert audience_from_metadata(None) == "public"
    monkeypatch.setenv("GUICHET_AGENT_TOKEN", "s3cret")
    assert audience_from_metadata({"audience": "agent"}) == "public"
    assert audience_from_metadata({"audience": "agent", "agent_token": "wrong"}) == "public"
    assert audience_from_metadata({"audience": "agent", "agent_token": "s3cret"}) == "agent"


def test_every_life_situation_leads_to_demarches(guichet, knowledge):
    assert len(knowledge.situations) >= 16
    titles = {s.title for s in knowledge.situations}
    for expected in ("Je prépare ma retraite", "Je cherche un emploi", "Je perds un proche", "Je déclare mes impôts"):
        assert expected in titles
    for situation in knowledge.situations:
        out = guichet.menu(Turn(intent="menu", text="", entities=[{"entity": "situation", "value": situation.id}]))
        options = payload(out, "choose")["options"]
        assert options, situation.id
        assert {guichet.repo.get(o["demarche"]).topic for o in options} == set(situation.topics), situation.id


def test_menu_offers_life_situations_first(guichet, knowledge):
    out = guichet.menu(Turn(intent="menu", text="menu"))
    menu = payload(out, "menu")
    assert [s["title"] for s in menu["situations"]] == [s.title for s in knowledge.situations]
    assert out.replies[0].buttons[0]["payload"] == f'/menu{{"situation": "{knowledge.situations[0].id}"}}'


def hors_champ_examples():
    import yaml
    from pathlib import Path

    data = yaml.safe_load((Path(__file__).resolve().parent.parent / "data" / "nlu" / "hors_champ.yml").read_text())
    return [line[2:].strip() for line in data["nlu"][0]["examples"].splitlines() if line.strip()]


def test_each_must_not_do_request_is_redirected(guichet, knowledge):
    ids = {r.id for r in knowledge.out_of_scope}
    for expected in ("ouverture_compte_bancaire", "recours_juridique", "traduction_documents", "visite_domicile",
                     "rapport_social", "aides_financieres"):
        assert expected in ids
    examples = hors_champ_examples()
    # the requests of another body (« Hors référentiel ») are phrased in tests/test_out_of_scope.py
    for request in (r for r in knowledge.out_of_scope if r.redirect_agent.startswith("Hors champ :")):
        matching = [e for e in examples if guichet.must_not_do(e) == request and not guichet.engine.emergencies(e)]
        assert matching, request.id
        for audience, expected_text in (("public", request.redirect_public), ("agent", request.redirect_agent)):
            out = run(guichet, "hors_champ", matching[0], audience=audience)
            redirect = payload(out, "out_of_scope")
            assert redirect["request"] == request.id and redirect["redirect"] == expected_text


def test_must_not_do_wins_over_a_misread_topic(guichet):
    out = run(guichet, "famille_naissance", "pouvez-vous me traduire mon acte de naissance marocain en français ?")
    assert payload(out, "out_of_scope")["request"] == "traduction_documents"


def test_ordinary_demarches_are_not_caught_by_must_not_do_patterns(guichet):
    for text in ("je veux ouvrir mon compte ameli", "aide au logement de la caf", "je dois faire ma carte grise",
                 "j'ai besoin d'une aide à domicile pour mon père retraité"):
        assert guichet.must_not_do(text) is None, text


def test_hors_champ_intent_without_a_listed_request_hesitates(guichet):
    ranking = [("hors_champ", 0.5), ("action_sociale_retraite", 0.3), ("aides_sociales", 0.1)]
    out = guichet.handle(Turn(intent="hors_champ", text="mon père n'arrive plus à faire ses courses, quelqu'un peut venir ?",
                              ranking=ranking))
    options = payload(out, "choose")["options"]
    assert guichet.repo.get(options[0]["demarche"]).topic == "action_sociale_retraite"


def test_distress_wins_on_every_entry_point(guichet):
    ranking = [("nlu_fallback", 0.5), ("aide_logement", 0.3)]
    for call in (
        lambda t: guichet.fallback(Turn(intent="nlu_fallback", text=t, ranking=ranking)),
        lambda t: guichet.out_of_scope(Turn(intent="out_of_scope", text=t)),
        lambda t: guichet.counsellor(Turn(intent="demander_conseiller", text=t)),
    ):
        answer = payload(call("je n'ai plus envie de vivre"), "answer")
        assert answer["category"] == "urgent" and "3114" in [n["value"] for n in answer["emergency_numbers"]]


def test_none_of_the_proposed_demarches_is_an_exit_not_a_wrong_card(guichet):
    """A hesitation offers « Aucune de ces démarches »: chosen, no card is shown; the person may
    rephrase or ask a counsellor (offered on the public pages), or is sent where a listed request goes."""
    ranking = [("nlu_fallback", 0.5), ("aide_logement", 0.3), ("famille_naissance", 0.1), ("carte_vitale", 0.04)]
    first = guichet.fallback(Turn(intent="nlu_fallback", text="je cherche un plombier pour une fuite", ranking=ranking))
    choose = payload(first, "choose")
    assert first.replies[0].buttons[-1] == choose["none"] and choose["none"]["title"] == "Aucune de ces démarches"
    assert all(o["demarche"] != "aucune" for o in choose["options"])
    none = run(guichet, "choisir", choose["none"]["payload"], slots=first.slots,
               entities=[{"entity": "demarche", "value": "aucune"}])
    out = payload(none, "out_of_scope")
    assert "reformulez" in out["redirect"] and "conseiller France services" in out["redirect"] and out["unresolved"]
    assert not [r for r in none.replies if (r.custom or {}).get("type") == "answer"]

    # a request the PIMMS list names keeps its own redirection
    listed = run(guichet, "choisir", choose["none"]["payload"], slots={**first.slots,
                 "request_text": "vous pouvez me donner un peu d argent pour finir le mois"},
                 entities=[{"entity": "demarche", "value": "aucune"}])
    assert payload(listed, "out_of_scope")["redirect"] != out["redirect"]


def test_a_hesitation_with_distress_about_one_organisation_asks_the_distress_question_first(repo):
    """The NLU hesitates between CAF démarches but the words show distress: no list to choose from,
    the distress question comes first and leads to the CAF's urgent row."""
    from bot import services

    guichet = Guichet(repo, signals=services.signals())
    ranking = [("nlu_fallback", 0.4), ("aides_sociales", 0.2), ("rsa_prime_activite", 0.18), ("aide_logement", 0.1)]
    text = "je n'en peux plus, ma prime d'activité de la caf a disparu et les factures s'entassent"
    first = guichet.fallback(Turn(intent="nlu_fallback", text=text, ranking=ranking))
    question = payload(first, "question")
    assert question["key"] == "detresse"
    result = run(guichet, "affirm", "oui", slots=first.slots)
    while payload(result)["type"] == "question":
        result = run(guichet, "affirm", "oui", slots=result.slots)
    card = payload(result, "answer")
    assert card["category"] == "urgent" and card["operator"] == "caf"
    # the same hesitation without distress still offers the list
    calm = guichet.fallback(Turn(intent="nlu_fallback", text="une question sur ma prime d'activité de la caf",
                                 ranking=ranking))
    assert payload(calm, "choose")["options"]


def test_an_unsure_reading_is_kept_to_the_organisation_the_text_names(guichet):
    """« la MSA m'a supprimé l'aide au logement »: France Travail's démarche read first, unsure, leaves
    the ranking for the MSA's; a sure reading of another organisation's démarche stands (the one
    named is then context: « la sécu a pas tout pris en charge, je veux payer la facture en ligne »)."""
    ranking = [("indemnisation_chomage", 0.38), ("aide_logement", 0.22), ("formation_france_travail", 0.03)]
    text = "Monsieur a reçu un courrier de la MSA qui supprime son aide au logement, il veut la contester"
    kept = guichet.within_operator_named(Turn(intent="indemnisation_chomage", text=text, confidence=0.38,
                                              ranking=ranking))
    assert kept.intent == "aide_logement" and [n for n, _ in kept.ranking] == ["aide_logement"]
    sure = [("factures_amendes", 0.66), ("remboursement_soins", 0.1)]
    text = "facture de l'hopital, la secu a pas tout pris en charge, je veux la payer en ligne"
    assert guichet.within_operator_named(Turn(intent="factures_amendes", text=text, confidence=0.66,
                                              ranking=sure)).intent == "factures_amendes"


def test_a_demarche_only_the_msa_handles_needs_a_word_of_the_agricultural_scheme(guichet):
    ranking = [("declaration_trimestrielle_msa", 0.45), ("rsa_prime_activite", 0.3)]
    plain = guichet.within_operator_named(Turn(intent="declaration_trimestrielle_msa", confidence=0.45,
                                               text="je dois faire ma declaration trimestrielle du rsa", ranking=ranking))
    assert plain.intent == "rsa_prime_activite"
    farmer = guichet.within_operator_named(Turn(intent="declaration_trimestrielle_msa", confidence=0.45, ranking=ranking,
                                                text="je suis ouvrier agricole, ma declaration trimestrielle du rsa"))
    assert farmer.intent == "declaration_trimestrielle_msa"
    result = run(guichet, "declaration_trimestrielle_msa", "je dois faire ma declaration trimestrielle du rsa",
                 confidence=0.45, ranking=ranking)
    assert result.slots["last_operator"] == "caf"


def test_a_hors_bouquet_row_answers_before_the_out_of_scope_classifier(repo):
    """The référentiel's own « hors bouquet » row (titres de séjour on the ANEF) says where to go, more
    precisely than the general out-of-scope answer: it answers even when the classifier would refuse
    (forced to 0.9 here); a démarche row read by the NLU is still refused at that score."""

    forced = Guichet(repo, signals=FixedSignals(hors_champ=0.9))
    text = "mon titre de séjour se termine en janvier et l'ANEF bloque, vous pourriez faire le renouvellement pour moi ?"
    answer = payload(run(forced, "titres_etrangers", text), "answer")
    assert answer["category"] == "hors_bouquet" and answer["demarche"] == "france_titres.titres_etrangers_anef"
    refused = run(forced, "aide_logement", "je voudrais faire une demande d'aide au logement pour mon studio")
    assert payload(refused, "out_of_scope")


def test_a_demarche_named_by_its_own_words_is_not_refused_by_the_out_of_scope_classifier(repo):
    """« Il n'a aucune mutuelle… la complémentaire santé solidaire »: the CSS is named by its own words,
    so even a classifier sure it is out of scope (forced to 0.9) does not refuse it; a private mutual
    insurance, which the search finds only through synonyms, is still refused."""

    forced = Guichet(repo, signals=FixedSignals(hors_champ=0.9))
    text = "Mme R. n'a plus de mutuelle depuis son licenciement, elle veut demander la complémentaire santé solidaire."
    assert forced.names_a_demarche(text)
    answer = payload(run(forced, "complementaire_sante_solidaire", text), "answer")
    assert answer["demarche"].startswith("assurance_maladie.css")
    private = "je voudrais résilier ma mutuelle privée, elle est devenue trop chère"
    assert not forced.names_a_demarche(private)
    assert payload(run(forced, "complementaire_sante_solidaire", private), "out_of_scope")
