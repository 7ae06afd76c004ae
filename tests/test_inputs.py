"""Input preparation: redaction, limits, language, metadata (pure, no server)."""
from bot.inputs import MAX_CHARS, agent_proof, language, prepare, redact, sanitise_metadata


def test_redaction_of_personal_data():
    text = ("nir 2 94 03 75 120 005 22, iban FR76 3000 6000 0112 3456 7890 189, tel 06.12.34.56.78 ou +33 6 12 34 56 78, "
            "mail a.b@exemple.fr, né le 12/03/1985, née le 3 mars 1990")
    out = redact(text)
    for secret in ("120 005", "3000 6000", "06.12", "+33 6", "a.b@exemple.fr", "12/03/1985", "3 mars 1990"):
        assert secret not in out, secret
    for placeholder in ("[numéro de sécurité sociale]", "[IBAN]", "[téléphone]", "[adresse électronique]", "[date]"):
        assert placeholder in out


def test_redaction_keeps_ordinary_requests_and_short_numbers():
    for text in ("ma caf ne me verse plus le rsa depuis trois mois", "appelez le 3114 ou le 36 46",
                 "j'ai 2 enfants et je paie 450 euros de loyer", "formulaire 2735 pour une donation"):
        assert redact(text) == text


def test_language():
    assert language("je dois refaire ma carte grise") == "fr"
    assert language("Hello, I need help with my tax return please") == "en"
    assert language("Hola, necesito ayuda con mi pensión por favor") == "es"
    assert language("مرحبا أحتاج مساعدة") == "ar"
    assert language("carte vitale") == "fr" and language("RSA") == "fr"


def test_prepare_limits_and_answers_without_nlu():
    long = prepare("carte grise " * 500, {}, "s", None)
    assert len(long.text) <= MAX_CHARS and long.notices and long.reply is None
    assert prepare("   ", {}, "s", None).reply.startswith("Votre message est vide")
    assert prepare(None, None, "s", None).reply.startswith("Votre message est vide")
    assert prepare("🙂🙂", {}, "s", None).custom == {"type": "invalid", "reason": "no_words"}
    assert prepare("/affirm", {}, "s", None).text == "/affirm"


def test_metadata_is_reduced_and_the_token_replaced_by_a_proof():
    meta = sanitise_metadata({"audience": "agent", "agent_token": "t", "x": "y", "structure": "Dole"}, "s1", "t")
    assert meta == {"audience": "agent", "agent_proof": agent_proof("t", "s1"), "structure": "Dole"}
    assert sanitise_metadata({"audience": "agent", "agent_token": "bad"}, "s1", "t") == {"audience": "public"}
    # the kiosk and the web chat are public whatever they claim
    assert sanitise_metadata({"audience": "agent", "agent_token": "t", "channel": "borne"}, "s1", "t")["audience"] == "public"


def test_proof_is_bound_to_the_conversation(monkeypatch):
    from bot.services import audience_from_metadata

    monkeypatch.setenv("GUICHET_AGENT_TOKEN", "t")
    proof = agent_proof("t", "s1")
    assert audience_from_metadata({"audience": "agent", "agent_proof": proof}, "s1") == "agent"
    assert audience_from_metadata({"audience": "agent", "agent_proof": proof}, "s2") == "public"


def test_no_french_request_of_the_data_is_rejected_or_altered():
    from pathlib import Path

    import yaml

    root = Path(__file__).resolve().parent.parent
    texts = [c["text"] for c in yaml.safe_load((root / "tests" / "nlu_heldout.yml").read_text())["cases"]]
    for path in (root / "data" / "nlu").glob("*.yml"):
        for item in yaml.safe_load(path.read_text())["nlu"]:
            if "intent" in item:
                texts += [line[2:] for line in item["examples"].splitlines() if line.strip()]
    assert len(texts) > 4000
    rejected = [t for t in texts if prepare(t, {}, "s", None).reply is not None]
    altered = [t for t in texts if prepare(t, {}, "s", None).text != t.strip()]
    assert rejected == [] and altered == []


def test_only_guichet_button_payloads_bypass_the_text_preparation():
    for payload in ("/affirm", "/deny", "/je_ne_sais_pas", '/choisir{"demarche": "caf.x"}', '/menu{"operator": "caf"}', "/menu"):
        prepared = prepare(payload, {}, "s", None)
        assert prepared.text == payload and prepared.reply is None
    # Rasa's own commands and unknown intents are typed words, not commands.
    assert prepare("/restart", {}, "s", None).text == "restart"
    assert prepare("/session_start", {}, "s", None).text == "session_start"
    assert prepare("/greet mon numéro 06 12 34 56 78", {}, "s", None).text == "greet mon numéro [téléphone]"
    assert prepare("//", {}, "s", None).reply is not None  # nothing left: the empty-message answer
