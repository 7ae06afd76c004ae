"""Several requests in one message over HTTP (issue 14): real action server and Rasa server
(models/guichet.tar.gz), REST channel and the web channel's printable summary."""
import json
import urllib.error
import urllib.request
import uuid

import pytest

from servers import Processes, base_env, model_copy, post, start_stacks

AGENT_ONLY = ("Administration+", "back-office", "Back-office", "Osmose", "réservé aux conseillers")
CODE = "code-conseiller-dossiers"


@pytest.fixture(scope="module")
def server(kb_engine, tmp_path_factory):
    logs = tmp_path_factory.mktemp("multi-http")
    processes = Processes(logs)
    credentials = logs / "credentials.yml"
    credentials.write_text("bot.channels.GuichetRestInput:\nbot.web.channel.GuichetWebInput:\n")
    env = base_env(GUICHET_DB_URL=str(kb_engine.url), GUICHET_TRACKER_DB=str(logs / "tracker.db"),
                   GUICHET_AGENT_TOKEN=CODE)
    try:
        [url] = start_stacks(processes, logs, model_copy(logs), env, credentials=credentials)
        yield url
    finally:
        processes.stop()


def say(url, sender, message, audience="public"):
    metadata = {"audience": audience, **({"agent_token": CODE} if audience == "agent" else {})}
    status, messages = post(f"{url}/webhooks/rest/webhook",
                            {"sender": sender, "message": message, "metadata": metadata}, timeout=120)
    assert status == 200, messages
    return messages


def customs(messages, kind):
    return [m["custom"] for m in messages if isinstance(m.get("custom"), dict) and m["custom"].get("type") == kind]


def texts(messages):
    return "\n".join(m.get("text") or "" for m in messages)


def answer_until_card(url, sender, messages, audience, limit=4):
    for _ in range(limit):
        if customs(messages, "answer"):
            return messages
        assert customs(messages, "question"), messages
        messages = say(url, sender, "non", audience)
    return messages


def test_counsellor_case_over_rest_then_printable_copy(server):
    session = uuid.uuid4().hex
    sender = f"conseiller-{session}"
    first = say(server, sender, "Monsieur 57 ans, licencié, il doit rembourser un trop-perçu à France Travail, "
                                "sa CAF a baissé son APL et il doit refaire sa carte d'identité périmée", "agent")
    overview = customs(first, "requests")
    assert overview and overview[0]["count"] == 3, first
    assert first[0]["text"].startswith("3 démarches repérées :")
    assert [i["operator"] for i in overview[0]["requests"]] == ["france_travail", "caf", "france_titres"]
    first = answer_until_card(server, sender, first, "agent")
    assert customs(first, "answer")[0]["operator"] == "france_travail"
    assert "Démarche suivante (2 sur 3)" in texts(first)

    second = say(server, sender, "/suivante", "agent")  # the button
    assert second[0]["text"].startswith("Démarche 2 sur 3")
    second = answer_until_card(server, sender, second, "agent")
    assert customs(second, "answer")[0]["operator"] == "caf"
    third = say(server, sender, "démarche suivante", "agent")  # typed
    assert third[0]["text"].startswith("Démarche 3 sur 3")
    third = answer_until_card(server, sender, third, "agent")
    assert customs(third, "answer")[0]["operator"] == "france_titres"

    reply = say(server, sender, "synthèse du dossier", "agent")
    assert len([m for m in reply if m.get("text")]) == 1  # one message, never cut at blank lines
    summary = customs(reply, "summary")
    assert summary and summary[0]["count"] == 3 and summary[0]["audience"] == "agent"
    assert all(item["status"] == "traitee" for item in summary[0]["items"])
    assert "Synthèse du dossier : 3 démarches" in summary[0]["text"]

    # the person's printable copy, from the tracker store: public wording, no counsellor channel;
    # counsellors only (session cookie of the console)
    with pytest.raises(urllib.error.HTTPError) as anonymous:
        urllib.request.urlopen(f"{server}/conseiller/synthese/{session}", timeout=30)
    assert anonymous.value.code in (401, 403)
    login = urllib.request.Request(f"{server}/api/conseiller/session", data=json.dumps({"code": CODE}).encode(),
                                   headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(login, timeout=30) as response:
        cookie = response.headers["Set-Cookie"].split(";")[0]
    printable = urllib.request.Request(f"{server}/conseiller/synthese/{session}", headers={"Cookie": cookie})
    with urllib.request.urlopen(printable, timeout=60) as response:
        html = response.read().decode()
        assert response.status == 200
        assert "script-src 'self'" in response.headers["Content-Security-Policy"]
    assert "Récapitulatif de vos démarches" in html and html.count('class="guichet-summary__item"') == 3
    assert not any(word in html for word in AGENT_ONLY)
    with pytest.raises(urllib.error.HTTPError) as missing:
        urllib.request.urlopen(urllib.request.Request(f"{server}/conseiller/synthese/{uuid.uuid4().hex}",
                                                      headers={"Cookie": cookie}), timeout=30)
    assert missing.value.code == 404


def test_public_reversion_vitale_and_tax_one_at_a_time(server):
    sender = f"chat-{uuid.uuid4().hex}"
    first = say(server, sender, "je viens pour la réversion de mon mari décédé, j'ai aussi perdu ma carte vitale "
                                "et je ne comprends pas mon avis d'impôt")
    assert customs(first, "requests")[0]["count"] == 3, first
    assert first[0]["text"].startswith("Vous avez 3 demandes.")
    assert "Nous verrons ensuite « " in first[0]["text"]
    assert not any(word in texts(first) for word in AGENT_ONLY)
    first = answer_until_card(server, sender, first, "public")
    assert customs(first, "answer")[0]["operator"] == "assurance_retraite"
    nxt = say(server, sender, "/suivante")
    assert nxt[0]["text"].startswith("Voyons maintenant votre demande « ")


def test_autonomy_stated_once_is_not_asked_again(server):
    sender = f"rest-{uuid.uuid4().hex}"
    messages = say(server, sender, "usagère sans ordinateur, elle veut déposer sa demande de retraite et faire sa "
                                   "demande de complémentaire santé solidaire", "agent")
    assert customs(messages, "requests")[0]["shared_facts"] == {"autonome_numerique": "non"}
    asked = [q["key"] for q in customs(messages, "question")]
    messages = answer_until_card(server, sender, messages, "agent")
    messages = answer_until_card(server, sender, say(server, sender, "/suivante", "agent"), "agent")
    asked += [q["key"] for q in customs(messages, "question")]
    assert "autonome_numerique" not in asked
    assert customs(messages, "answer")[0]["operator"] == "assurance_maladie"
