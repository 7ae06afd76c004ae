"""The three front doors in a real browser: Debian's Chromium, headless, driven by Playwright.

One action server and one Rasa server (with the web channels of credentials.yml) for the module;
screenshots of each page go to test-artifacts/ (looked at by a person, not compared).
"""
import http.server
import json
import os
import threading
from functools import partial
from pathlib import Path

import pytest
from sqlalchemy import select

from bot.feedback import feedback_table

from servers import ROOT, Processes, base_env, free_port, model_copy, start_stacks

CHROMIUM = os.environ.get("GUICHET_CHROMIUM", "/usr/bin/chromium")
AXE = ROOT / "node_modules" / "axe-core" / "axe.min.js"
ARTEFACTS = ROOT / "test-artifacts"
CODE = "code-conseiller-essai"
HOURS = "tous les jours de 0 h à 24 h"  # counsellors always there: the take-over can be tested at any time
RSA = "ma CAF ne me verse plus le RSA depuis trois mois"
AGENT_ONLY = ("Administration+", "back-office", "réservé aux conseillers")


@pytest.fixture(scope="module")
def site(kb_engine, tmp_path_factory):
    logs = tmp_path_factory.mktemp("browser")
    processes = Processes(logs)
    widget_port = free_port()  # the structure's own site that may embed the web chat
    env = base_env(
        GUICHET_DB_URL=str(kb_engine.url),
        GUICHET_AGENT_TOKEN=CODE,
        GUICHET_OPENING_HOURS=HOURS,
        GUICHET_TRACKER_DB=str(logs / "tracker.db"),
        GUICHET_ALLOWED_ORIGINS=f"http://127.0.0.1:{widget_port}",
    )
    try:
        # All the channels of `make run` (REST, socket.io, the pages), not the REST-only default.
        [base] = start_stacks(processes, logs, model_copy(logs), env, credentials=ROOT / "credentials.yml")
        yield {"base": base, "db": kb_engine, "logs": logs, "widget_port": widget_port}
    finally:
        processes.stop()


@pytest.fixture(scope="module")
def browser():
    if not Path(CHROMIUM).exists():
        pytest.fail(f"Chromium introuvable ({CHROMIUM}) : lancez scripts/system-deps.sh (apt-get install chromium)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(
            executable_path=CHROMIUM,
            args=["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                  "--disable-sync", "--no-first-run", "--disable-quic"],
        )
        yield chromium
        chromium.close()


@pytest.fixture
def context(browser):
    ARTEFACTS.mkdir(exist_ok=True)
    # bypass_csp only lets the test inject axe-core; the pages themselves run under their CSP.
    ctx = browser.new_context(locale="fr-FR", bypass_csp=True, viewport={"width": 1280, "height": 900})
    ctx.set_default_timeout(20_000)
    yield ctx
    ctx.close()


def open_page(context, site, path):
    page = context.new_page()
    errors = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.on("console", lambda msg: errors.append(msg.text) if msg.type == "error" else None)
    page.goto(site["base"] + path)
    page.errors = errors
    return page


def ready(page):
    page.wait_for_selector(".guichet-chat[data-session=ready]")


def type_message(page, text):
    page.fill("#saisie", text)
    page.press("#saisie", "Enter")


def last_card(page, count=1):
    page.wait_for_function(f"document.querySelectorAll('.guichet-log .guichet-card').length >= {count}")
    return page.locator(".guichet-log .guichet-card").nth(count - 1)


def wait_for_choices(page, count=1):
    page.wait_for_function(f"document.querySelectorAll('.guichet-log .guichet-choices').length >= {count}")


def shot(page, name):
    page.screenshot(path=str(ARTEFACTS / f"{name}.png"), full_page=True)


def axe_violations(page):
    page.add_script_tag(path=str(AXE))
    result = page.evaluate(
        """async () => {
            const r = await axe.run(document, {runOnly: {type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa']}});
            return r.violations.map(v => ({id: v.id, impact: v.impact, nodes: v.nodes.map(n => n.target.join(' ')).slice(0, 5)}));
        }"""
    )
    return [v for v in result if v["impact"] in ("serious", "critical")]


def login(page):
    page.wait_for_selector("#connexion-form", state="visible")
    page.fill("#code", CODE)
    page.press("#code", "Enter")
    ready(page)


# -- web chat -------------------------------------------------------------------------------------


def test_chat_typed_request_reaches_an_answer_card(context, site):
    page = open_page(context, site, "/chat")
    assert page.locator("html").get_attribute("lang") == "fr"
    assert HOURS in page.inner_text(".fr-alert")
    ready(page)
    type_message(page, "je dois refaire ma carte grise")
    card = last_card(page)
    assert card.get_attribute("data-category") == "niveau_1"
    assert "Démarche de niveau 1" in card.locator(".fr-badge").first.text_content()
    assert "Source :" in card.inner_text()
    links = card.locator("a").evaluate_all("els => els.map(a => a.getAttribute('href'))")
    assert links and all(h.startswith(("tel:", "mailto:", "https://", "http://")) for h in links)
    shot(page, "chat-reponse")
    assert not page.errors


def test_clarifying_buttons_lead_to_the_right_category(context, site):
    page = open_page(context, site, "/chat")
    ready(page)
    type_message(page, RSA)
    wait_for_choices(page)
    titles = page.locator(".guichet-choice").all_inner_texts()
    assert titles == ["Oui", "Non", "Je ne sais pas"]
    page.click(".guichet-choice >> text=Oui")
    card = last_card(page)
    assert card.get_attribute("data-category") == "urgent"
    assert "Situation urgente" in card.text_content()
    # Every choice of an answered question is disabled; the distress question is asked once per
    # conversation: the same request again is answered at once.
    assert page.locator(".guichet-choice").first.is_disabled()
    type_message(page, RSA)
    assert last_card(page, 2).get_attribute("data-category") == "urgent"
    # another person, calm: the second question (benefit interrupted for 3 months with a new document?)
    page = open_page(context, site, "/chat")
    page.evaluate("() => { sessionStorage.clear(); localStorage.clear(); }")
    page.reload()
    ready(page)
    type_message(page, RSA)
    wait_for_choices(page)
    page.locator(".guichet-choices").nth(0).locator("text=Non").click()
    wait_for_choices(page, 2)
    page.locator(".guichet-choices").nth(1).locator("text=Non").click()
    assert last_card(page).get_attribute("data-category") == "niveau_2"
    shot(page, "chat-questions")


def test_typed_answer_and_keyboard_only(context, site):
    page = open_page(context, site, "/chat")
    ready(page)
    type_message(page, RSA)
    wait_for_choices(page)
    # Keyboard alone: Tab to the "Non" button, visible focus, Enter.
    page.focus("#saisie")
    for _ in range(12):
        page.keyboard.press("Shift+Tab")
        if page.evaluate("document.activeElement.textContent") == "Non":
            break
    assert page.evaluate("document.activeElement.textContent") == "Non"
    outline = page.evaluate("getComputedStyle(document.activeElement).outlineStyle")
    assert outline not in ("none", "")
    page.keyboard.press("Enter")
    # A typed answer works as well as a button (the calm case asks a second question).
    wait_for_choices(page, 2)
    type_message(page, "non")
    assert last_card(page).get_attribute("data-category") == "niveau_2"
    type_message(page, RSA)
    wait_for_choices(page, 3)
    type_message(page, "oui")
    assert last_card(page, 2).get_attribute("data-category") == "urgent"


def test_reload_keeps_the_web_chat(context, site):
    page = open_page(context, site, "/chat")
    ready(page)
    type_message(page, RSA)
    wait_for_choices(page)
    page.reload()
    ready(page)
    page.wait_for_selector(".guichet-msg--user")
    assert page.locator(".guichet-msg--user").first.inner_text().endswith(RSA)
    # The pending question is still answerable after the reload, in the same conversation.
    assert page.locator(".guichet-choice >> text=Non").is_enabled()
    page.click(".guichet-choice >> text=Non")
    wait_for_choices(page, 2)
    page.locator(".guichet-choices").nth(1).locator("text=Non").click()
    assert last_card(page).get_attribute("data-category") == "niveau_2"
    page.reload()
    ready(page)
    assert last_card(page).get_attribute("data-category") == "niveau_2"
    assert page.locator(".guichet-msg--user").all_inner_texts()[-1].endswith("Non")
    shot(page, "chat-apres-rechargement")


def test_user_script_is_shown_as_text(context, site):
    page = open_page(context, site, "/chat")
    ready(page)
    attack = '<script>window.__pirate = 1</script><img src=x onerror="window.__pirate = 2"> carte grise'
    type_message(page, attack)
    page.wait_for_selector(".guichet-msg--bot")
    assert page.locator(".guichet-msg--user .guichet-msg__text").first.inner_text() == attack
    assert page.locator(".guichet-log img").count() == 0
    assert page.locator(".guichet-log script").count() == 0
    assert page.evaluate("window.__pirate") is None


def test_feedback_is_stored_with_demarche_and_channel(context, site):
    page = open_page(context, site, "/chat")
    ready(page)
    type_message(page, "je dois refaire ma carte grise")
    card = last_card(page)
    demarche = card.get_attribute("data-demarche")
    card.locator("button[data-feedback=utile]").click()
    card.locator("textarea").fill("Très clair, merci. Rappelez-moi au 06 12 34 56 78")
    card.locator("text=Envoyer mon avis").click()
    page.wait_for_selector("text=Merci pour votre avis.")
    session_id = page.evaluate("sessionStorage.getItem('guichet.session.chat')")
    with site["db"].connect() as conn:
        rows = conn.execute(select(feedback_table).where(feedback_table.c.sender_id == f"chat-{session_id}")).all()
    assert len(rows) == 1
    row = rows[0]
    assert (row.demarche_id, row.channel, row.useful) == (demarche, "chat", True)
    assert "06 12" not in row.comment and "[téléphone]" in row.comment


def test_public_pages_never_show_agent_only_contacts(context, site):
    # Even a browser holding a counsellor session gets the public audience on /chat and /borne.
    console = open_page(context, site, "/conseiller")
    login(console)
    for path in ("/chat", "/borne"):
        page = open_page(context, site, path)
        ready(page)
        type_message(page, RSA)
        wait_for_choices(page)
        page.locator(".guichet-choice >> text=Oui").last.click()
        card = last_card(page)
        assert card.get_attribute("data-category") == "urgent"
        text = page.inner_text("body")
        html = page.content()
        for needle in AGENT_ONLY:
            assert needle not in text and needle not in html, (path, needle)
        assert "un conseiller France services" in text.lower() or "conseiller france services" in text.lower()


def structure_site(site, tmp_path, port=0):
    """A structure's own site, on another origin, that embeds the chat with one script tag."""
    (tmp_path / "index.html").write_text(
        '<!DOCTYPE html><html lang="fr"><head><meta charset="utf-8"><title>Structure</title></head><body>'
        f'<h1>Espace France services</h1><script src="{site["base"]}/static/guichet/widget.js"></script></body></html>',
        encoding="utf-8",
    )
    handler = partial(http.server.SimpleHTTPRequestHandler, directory=str(tmp_path))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", port), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


READ_AN_ANSWER = """async (url) => {
    try {
        const r = await fetch(url, {method: "POST", headers: {"Content-Type": "application/json"},
                                    body: JSON.stringify({sender: "origine-" + location.port, message: "je dois refaire ma carte grise"})});
        return JSON.stringify(await r.json());
    } catch (e) { return "refused: " + e; }
}"""


def test_embeddable_widget_opens_the_chat(context, site, tmp_path):
    # The site is listed in GUICHET_ALLOWED_ORIGINS: the chat opens in it and its own scripts may read answers.
    server = structure_site(site, tmp_path, site["widget_port"])
    try:
        page = context.new_page()
        page.goto(f"http://127.0.0.1:{site['widget_port']}/index.html")
        page.click("text=Une question sur vos démarches ?")
        frame = page.frame_locator("iframe[title*='Guichet']")
        frame.locator(".guichet-chat[data-session=ready]").wait_for()
        assert frame.locator("header").is_hidden()
        answer = page.evaluate(READ_AN_ANSWER, site["base"] + "/webhooks/rest/webhook")
        assert "france_titres" in answer, answer
    finally:
        server.shutdown()


def test_an_unlisted_site_can_neither_embed_the_chat_nor_read_answers(context, site, tmp_path):
    server = structure_site(site, tmp_path)  # another port: another origin, not listed
    try:
        page = context.new_page()
        page.goto(f"http://127.0.0.1:{server.server_address[1]}/index.html")
        page.click("text=Une question sur vos démarches ?")
        page.wait_for_timeout(3000)
        chat_frames = [f for f in page.frames if f != page.main_frame]
        # frame-ancestors: Chromium shows its own error page instead of the chat
        assert chat_frames and all(not f.url.startswith(site["base"]) or f.query_selector(".guichet-chat") is None
                                   for f in chat_frames), [f.url for f in chat_frames]
        answer = page.evaluate(READ_AN_ANSWER, site["base"] + "/webhooks/rest/webhook")
        assert answer.startswith("refused:") and "france_titres" not in answer, answer
    finally:
        server.shutdown()


# -- kiosk ----------------------------------------------------------------------------------------


def test_kiosk_life_situation_buttons_then_answer(context, site):
    page = open_page(context, site, "/borne")
    ready(page)
    situations = page.locator("#accueil button[data-payload*=situation]")
    operators = page.locator("#accueil button[data-payload*=operator]")
    assert situations.count() >= 16 and operators.count() == 12
    shot(page, "borne-accueil")
    page.click("#accueil >> text=Je cherche un emploi")
    assert page.locator("#accueil").is_hidden()
    wait_for_choices(page)
    page.locator(".guichet-choice").first.click()
    page.wait_for_function(
        "document.querySelectorAll('.guichet-log .guichet-card').length >= 1"
        " || document.querySelectorAll('.guichet-log .guichet-choices').length >= 2"
    )
    if page.locator(".guichet-log .guichet-card").count() == 0:
        page.locator(".guichet-choices").last.locator(".guichet-choice").last.click()
    last_card(page)
    shot(page, "borne-reponse")


def test_kiosk_typed_request_reaches_a_card(context, site):
    page = open_page(context, site, "/borne")
    ready(page)
    type_message(page, "j'ai perdu ma carte vitale")
    card = last_card(page)
    assert card.get_attribute("data-category") in ("niveau_1", "niveau_2")
    assert not page.errors


def test_kiosk_warns_then_wipes_everything(context, site):
    page = context.new_page()
    page.clock.install()
    page.goto(site["base"] + "/borne")
    ready(page)
    type_message(page, "je dois refaire ma carte grise")
    last_card(page)
    page.evaluate("sessionStorage.setItem('trace', 'x'); localStorage.setItem('trace', 'x')")
    dialog = page.locator("#inactivite")
    page.clock.run_for(119_000)
    assert dialog.is_hidden()
    page.clock.run_for(2_000)
    assert dialog.is_visible()
    assert page.evaluate("document.activeElement.id") == "continuer"
    shot(page, "borne-avertissement")
    # "Continuer" keeps the conversation and restarts the delay.
    page.click("#continuer")
    assert dialog.is_hidden() and page.locator(".guichet-log .guichet-card").count() == 1
    page.clock.run_for(121_000)
    assert dialog.is_visible()
    # The warning lasts at least 20 s (30 s) before the reset...
    page.clock.run_for(20_000)
    assert page.locator(".guichet-log .guichet-card").count() == 1
    assert int(page.inner_text("#inactivite-secondes")) >= 9
    # ...then everything on screen and in the browser's storage is wiped.
    with page.expect_navigation():
        page.clock.run_for(11_000)
    ready(page)
    assert page.locator(".guichet-log .guichet-msg").count() == 0
    assert page.locator("#accueil").is_visible()
    assert page.evaluate("sessionStorage.length + localStorage.length") == 0


# -- counsellor console ---------------------------------------------------------------------------


def test_console_requires_the_code_then_shows_agent_contacts(context, site):
    page = open_page(context, site, "/conseiller")
    page.wait_for_selector("#connexion-form", state="visible")
    assert page.locator("#console").is_hidden()
    page.fill("#code", "mauvais code")
    page.press("#code", "Enter")
    page.wait_for_selector("#connexion-erreur", state="visible")
    assert "incorrect" in page.inner_text("#connexion-erreur")
    page.fill("#code", CODE)
    page.press("#code", "Enter")
    ready(page)
    type_message(page, "usager : la caf ne lui verse plus le rsa depuis trois mois")
    wait_for_choices(page)
    page.click(".guichet-choice >> text=Oui")
    card = last_card(page)
    assert card.get_attribute("data-category") == "urgent"
    text = card.text_content()
    assert "Administration+" in text and "réservé aux conseillers" in text
    assert "Action à réaliser par le conseiller France services" in text
    shot(page, "conseiller-conversation")


def test_console_search_and_copy_card(context, site):
    context.grant_permissions(["clipboard-read", "clipboard-write"], origin=site["base"])
    page = open_page(context, site, "/conseiller")
    login(page)
    page.fill("#recherche-mots", "carte grise")
    page.click("#recherche button[type=submit]")
    page.wait_for_selector("#resultats .guichet-card")
    first = page.locator("#resultats .guichet-card").first
    assert first.get_attribute("data-demarche").startswith("france_titres.")
    first.locator("text=Copier la fiche").click()
    page.wait_for_selector("text=Fiche copiée")
    copied = page.evaluate("navigator.clipboard.readText()")
    assert "Identifiant : france_titres." in copied and "Source :" in copied
    # Filters: operator + category without words.
    page.fill("#recherche-mots", "")
    page.select_option("#recherche-operateur", "caf")
    page.select_option("#recherche-categorie", "urgent")
    page.click("#recherche button[type=submit]")
    page.wait_for_function("document.querySelector('#recherche-etat').textContent.includes('résultat')")
    categories = page.locator("#resultats .guichet-card").evaluate_all(
        "els => els.map(e => e.querySelector('[data-category]').getAttribute('data-category'))")
    assert categories and set(categories) == {"urgent"}
    assert "back-office" in page.inner_text("#resultats")
    shot(page, "conseiller-recherche")


def test_console_shows_the_quarter_figures(context, site):
    # A conversation of this module has been reported: the figures come from the tracker store.
    page = open_page(context, site, "/conseiller")
    login(page)
    page.wait_for_selector("#bilan table")
    text = page.inner_text("#bilan")
    assert "Trimestre 20" in text and "conversation" in text
    assert "Discussion en ligne" in text and "Avis" in text
    shot(page, "conseiller-bilan")


# -- a counsellor takes over (issue 13) ---------------------------------------------------------------


def test_counsellor_takes_over_the_web_chat_live(browser, site):
    person_ctx = browser.new_context(locale="fr-FR", bypass_csp=True, viewport={"width": 1280, "height": 900})
    console_ctx = browser.new_context(locale="fr-FR", bypass_csp=True, viewport={"width": 1280, "height": 900})
    try:
        for ctx in (person_ctx, console_ctx):
            ctx.set_default_timeout(20_000)
        console = open_page(console_ctx, site, "/conseiller")
        login(console)
        console.wait_for_function("document.querySelector('#file-etat').textContent.includes('conseiller')")
        person = open_page(person_ctx, site, "/chat")
        ready(person)
        type_message(person, "je dois refaire ma carte grise")
        last_card(person)
        person.click("#demande-conseiller")
        # The case appears in the console within 2 s, without a reload.
        console.wait_for_selector("#file-liste li[data-status=waiting]", timeout=2_000)
        item = console.locator("#file-liste li[data-status=waiting]").last
        text = item.inner_text()
        assert "Discussion en ligne" in text and "je dois refaire ma carte grise" in text and "En attente depuis" in text
        person.wait_for_selector(".guichet-handoff:not([hidden])")
        assert "transmise aux conseillers" in person.inner_text(".guichet-handoff")
        shot(console, "conseiller-file-attente")
        violations = axe_violations(console)
        assert not violations, json.dumps(violations, ensure_ascii=False, indent=1)
        # Keyboard: the take button is reachable, visibly focused, and Enter takes the case.
        button = item.locator("button", has_text="Prendre en charge")
        button.focus()
        assert console.evaluate("getComputedStyle(document.activeElement).outlineStyle") not in ("none", "")
        console.keyboard.press("Enter")
        console.wait_for_selector("#prise:not([hidden])")
        person.wait_for_function("document.querySelector('.guichet-handoff__text').textContent"
                                 ".includes('Un conseiller France services vous répond')")
        # The counsellor writes; the person reads it live, as text.
        console.fill("#prise-saisie", "Bonjour, je suis conseillère France services. <b>Je regarde</b> votre dossier.")
        console.press("#prise-saisie", "Enter")
        person.wait_for_selector(".guichet-msg--counsellor")
        said = person.locator(".guichet-msg--counsellor").last.inner_text()
        assert "Conseiller France services" in said and "<b>Je regarde</b>" in said
        assert person.locator(".guichet-log b").count() == 0
        type_message(person, "Merci, j'attends")
        console.wait_for_function("document.querySelector('#prise-log').textContent.includes('Merci, j')")
        shot(person, "chat-conseiller-repond")
        shot(console, "conseiller-prise-en-charge")
        violations = axe_violations(person)
        assert not violations, json.dumps(violations, ensure_ascii=False, indent=1)
        assert person.locator(".guichet-log .guichet-card").count() == 1  # the bot stayed silent
        # Hand back: the bot answers again.
        console.click("#prise-rendre")
        person.wait_for_function("document.querySelector('.guichet-log').textContent.includes('Guichet vous répond de nouveau')")
        assert person.locator(".guichet-handoff").is_hidden()
        type_message(person, "je dois refaire ma carte grise")
        last_card(person, 2)
        assert not person.errors and not console.errors
    finally:
        person_ctx.close()
        console_ctx.close()



@pytest.fixture(scope="module")
def closed_site(kb_engine, tmp_path_factory):
    """A second server whose structure is closed now: open only tomorrow morning (structure's local time)."""
    import shutil
    from datetime import datetime, timedelta
    from zoneinfo import ZoneInfo

    from bot.config import DAYS, DEFAULT_TIMEZONE

    logs = tmp_path_factory.mktemp("browser-closed")
    database = logs / "guichet.db"
    shutil.copyfile(kb_engine.url.database, database)
    tomorrow = DAYS[(datetime.now(ZoneInfo(DEFAULT_TIMEZONE)) + timedelta(days=1)).weekday()]
    processes = Processes(logs)
    env = base_env(GUICHET_DB_URL=f"sqlite:///{database}", GUICHET_AGENT_TOKEN=CODE,
                   GUICHET_OPENING_HOURS=f"{tomorrow} de 9 h à 12 h", GUICHET_TIMEZONE=DEFAULT_TIMEZONE,
                   GUICHET_TRACKER_DB=str(logs / "tracker.db"))
    try:
        [base] = start_stacks(processes, logs, model_copy(logs), env, credentials=ROOT / "credentials.yml")
        yield {"base": base, "logs": logs}
    finally:
        processes.stop()


def test_callback_form_outside_opening_hours_needs_consent(browser, closed_site):
    """Closed now: the person asking for a counsellor is told when the structure opens and gets the callback
    form (screenshot chat-rappel.png); without the consent box nothing is stored; with it, the counsellor
    console lists the request."""
    person_ctx = browser.new_context(locale="fr-FR", bypass_csp=True, viewport={"width": 1280, "height": 900})
    console_ctx = browser.new_context(locale="fr-FR", bypass_csp=True, viewport={"width": 1280, "height": 900})
    try:
        for ctx in (person_ctx, console_ctx):
            ctx.set_default_timeout(20_000)
        ARTEFACTS.mkdir(exist_ok=True)
        person = open_page(person_ctx, closed_site, "/chat")
        ready(person)
        type_message(person, "je dois refaire ma carte grise")
        last_card(person)
        person.click("#demande-conseiller")
        form = person.wait_for_selector("form.guichet-callback")
        log = person.inner_text(".guichet-log")
        assert "ne sont pas disponibles en ce moment" in log and "ouvre demain à 9 h" in log, log
        contact = person.get_by_label("Téléphone ou adresse électronique")
        consent = person.get_by_label("J'accepte que l'espace France services conserve", exact=False)
        assert consent.get_attribute("type") == "checkbox" and not consent.is_checked()
        contact.fill("06 12 34 56 78")
        person.get_by_label("Votre démarche en quelques mots (facultatif)").fill("carte grise à refaire")
        shot(person, "chat-rappel")
        violations = axe_violations(person)
        assert not violations, json.dumps(violations, ensure_ascii=False, indent=1)
        # Without consent: refused, said to the person, nothing stored.
        person.click("form.guichet-callback button[type=submit]")
        person.wait_for_function("document.querySelector('.guichet-callback__status').textContent.includes('cochez la case')")
        assert form.query_selector("fieldset").is_visible()
        console = open_page(console_ctx, closed_site, "/conseiller")
        login(console)
        console.wait_for_function("document.querySelector('#rappels').textContent.includes('Aucune demande de rappel')")
        # With consent: stored, and listed live in the console.
        person.click("form.guichet-callback .fr-checkbox-group label")  # the DSFR label covers the box
        assert consent.is_checked()
        person.click("form.guichet-callback button[type=submit]")
        person.wait_for_function("document.querySelector('.guichet-callback__status').textContent"
                                 ".includes('Votre demande de rappel est enregistrée')")
        assert not form.query_selector("fieldset").is_visible()
        console.wait_for_function("document.querySelector('#rappels').textContent.includes('06 12 34 56 78')", timeout=5_000)
        listed = console.inner_text("#rappels")
        assert "Discussion en ligne" in listed and "carte grise à refaire" in listed, listed
        shot(person, "chat-rappel-enregistre")
        shot(console, "conseiller-rappels")
        violations = axe_violations(console)
        assert not violations, json.dumps(violations, ensure_ascii=False, indent=1)
        assert not person.errors and not console.errors
    finally:
        person_ctx.close()
        console_ctx.close()


# -- accessibility and reflow ---------------------------------------------------------------------


@pytest.mark.parametrize("path", ["/chat", "/borne", "/conseiller"])
def test_axe_finds_no_serious_violation(context, site, path):
    page = open_page(context, site, path)
    if path == "/conseiller":
        login(page)
        page.fill("#recherche-mots", "carte vitale")
        page.click("#recherche button[type=submit]")
        page.wait_for_selector("#resultats .guichet-card")
        page.wait_for_selector("#bilan table")
    ready(page)
    type_message(page, RSA)
    wait_for_choices(page)
    page.click(".guichet-choice >> text=Non")
    wait_for_choices(page, 2)
    page.locator(".guichet-choices").nth(1).locator("text=Non").click()
    last_card(page)
    violations = axe_violations(page)
    assert not violations, json.dumps(violations, ensure_ascii=False, indent=1)


@pytest.mark.parametrize("path", ["/chat", "/borne", "/conseiller"])
def test_reflow_at_320_px(browser, site, path):
    ctx = browser.new_context(locale="fr-FR", bypass_csp=True, viewport={"width": 320, "height": 640})
    try:
        page = ctx.new_page()
        page.goto(site["base"] + path)
        if path == "/conseiller":
            login(page)
        ready(page)
        type_message(page, "je dois refaire ma carte grise")
        last_card(page)
        overflow = page.evaluate("document.documentElement.scrollWidth - document.documentElement.clientWidth")
        assert overflow <= 0
        page.screenshot(path=str(ARTEFACTS / f"320px{path.replace('/', '-')}.png"), full_page=True)
    finally:
        ctx.close()


# -- the same server over plain HTTP: API protection, assets, redaction on socket.io ---------------


def http_get(site, path, headers=None):
    import http.client

    host, port = site["base"].rsplit("//", 1)[1].split(":")
    conn = http.client.HTTPConnection(host, int(port), timeout=20)
    conn.request("GET", path, headers=headers or {})  # the path is sent as is (no normalisation)
    resp = conn.getresponse()
    return resp.status, dict(resp.getheaders()), resp.read()


def http_post(site, path, body):
    import http.client

    host, port = site["base"].rsplit("//", 1)[1].split(":")
    conn = http.client.HTTPConnection(host, int(port), timeout=20)
    conn.request("POST", path, body=body, headers={"Content-Type": "application/json"})
    resp = conn.getresponse()
    return resp.status, json.loads(resp.read() or b"{}")


def test_assets_are_local_and_confined(site):
    status, headers, body = http_get(site, "/static/dsfr/dsfr.min.css")
    assert status == 200 and headers["content-type"].startswith("text/css") and len(body) > 10_000
    assert http_get(site, "/static/vendor/socket.io/socket.io.min.js")[0] == 200
    for path in ("/static/guichet/../channel.py", "/static/dsfr/../../../../bot/config.py",
                 "/static/guichet/%2e%2e/channel.py", "/static/inconnu/x.js", "/static/guichet/absent.js"):
        assert http_get(site, path)[0] == 404, path
    status, headers, body = http_get(site, "/chat")
    assert "script-src 'self'" in headers["Content-Security-Policy"]
    # No page refers to another host: the DSFR, the socket.io client and the fonts come from Guichet.
    for page in ("/chat", "/borne", "/conseiller"):
        html = http_get(site, page)[2].decode()
        assert "http://" not in html and "https://" not in html, page


def test_counsellor_api_needs_a_session(site):
    assert http_get(site, "/api/recherche?q=carte+grise")[0] == 401
    assert http_get(site, "/api/bilan")[0] == 401
    assert http_post(site, "/api/conseiller/session", b'{"code": "faux"}')[0] == 403
    assert http_post(site, "/api/conseiller/session", b"pas du json")[0] == 400
    import http.client

    host, port = site["base"].rsplit("//", 1)[1].split(":")
    conn = http.client.HTTPConnection(host, int(port), timeout=20)
    conn.request("POST", "/api/conseiller/session", body=json.dumps({"code": CODE}), headers={"Content-Type": "application/json"})
    resp = conn.getresponse()
    cookie = resp.getheader("Set-Cookie")
    resp.read()
    assert resp.status == 200 and "HttpOnly" in cookie and "SameSite=Strict" in cookie and CODE not in cookie
    session = {"Cookie": cookie.split(";")[0]}
    status, _, body = http_get(site, "/api/recherche?q=carte+grise", session)
    assert status == 200 and json.loads(body)["results"][0]["demarche"].startswith("france_titres.")
    assert http_get(site, "/api/recherche?operateur=inconnu", session)[0] == 400
    assert http_get(site, "/api/recherche", session)[0] == 400
    assert http_get(site, "/api/bilan", session)[0] == 200


def test_feedback_api_refuses_bad_input(site):
    good = {"session_id": "0" * 32, "channel": "chat", "demarche": "france_titres.demarches_en_ligne", "useful": True}
    assert http_post(site, "/api/avis", json.dumps(good).encode())[0] == 201
    for bad in ({**good, "session_id": "../x"}, {**good, "channel": "sms"}, {**good, "useful": "oui"},
                {**good, "demarche": "inconnue.x"}, {**good, "comment": 12}):
        status, body = http_post(site, "/api/avis", json.dumps(bad).encode())
        assert status == 400 and body["error"], bad
    assert http_post(site, "/api/avis", b"\xff\xfe")[0] == 400
    assert http_post(site, "/api/avis", b"[" * 50_000)[0] == 400


def test_socketio_messages_are_redacted_before_storage(context, site):
    import sqlite3

    page = open_page(context, site, "/chat")
    ready(page)
    type_message(page, "je dois refaire ma carte grise, mon numéro est le 06 12 34 56 78, né le 12/03/1980")
    page.wait_for_selector(".guichet-msg--bot")
    session_id = page.evaluate("sessionStorage.getItem('guichet.session.chat')")
    with sqlite3.connect(site["logs"] / "tracker.db") as db:
        rows = db.execute("SELECT data FROM events WHERE sender_id = ?", (f"chat-{session_id}",)).fetchall()
    stored = " ".join(r[0] for r in rows)
    assert rows and "06 12 34" not in stored and "12/03/1980" not in stored
    users = [json.loads(r[0]) for r in rows if json.loads(r[0])["event"] == "user"]
    assert "[téléphone]" in users[0]["text"] and "[date]" in users[0]["text"]
    assert users[0]["metadata"]["channel"] == "chat" and users[0]["metadata"]["audience"] == "public"
    # The replayed history shows what was stored (redacted), not what was typed.
    page.reload()
    ready(page)
    page.wait_for_selector(".guichet-msg--user")
    assert "[téléphone]" in page.locator(".guichet-msg--user").first.inner_text()


def test_axe_on_login_form_and_kiosk_warning(context, site):
    page = open_page(context, site, "/conseiller")
    page.wait_for_selector("#connexion-form", state="visible")
    assert not axe_violations(page)
    kiosk = context.new_page()
    kiosk.clock.install()
    kiosk.goto(site["base"] + "/borne?inactivite=10")
    ready(kiosk)
    kiosk.clock.run_for(11_000)
    assert kiosk.locator("#inactivite").is_visible()
    assert not axe_violations(kiosk)


# -- several requests in one message (issue 14) ----------------------------------------------------


def _click_last(page, title):
    page.locator(f".guichet-log .guichet-choice:not([disabled]) >> text={title}").last.click()


def _through_questions(page, cards_before):
    """Answers « Non » until the next answer card is on screen."""
    for _ in range(4):
        if page.locator(".guichet-log .guichet-card[data-demarche]").count() > cards_before:
            return
        page.wait_for_function(
            f"document.querySelectorAll('.guichet-log .guichet-card[data-demarche]').length > {cards_before}"
            " || Array.from(document.querySelectorAll('.guichet-log .guichet-choice:not([disabled])'))"
            ".some(b => b.textContent === 'Non')")
        if page.locator(".guichet-log .guichet-card[data-demarche]").count() > cards_before:
            return
        _click_last(page, "Non")
    page.wait_for_function(
        f"document.querySelectorAll('.guichet-log .guichet-card[data-demarche]').length > {cards_before}")


def test_console_works_through_a_three_demarche_case_and_copies_the_summary(context, site):
    context.grant_permissions(["clipboard-read", "clipboard-write"], origin=site["base"])
    page = open_page(context, site, "/conseiller")
    login(page)
    type_message(page, "Madame 66 ans, veuve, vient pour la pension de réversion de son mari, elle a aussi perdu "
                       "sa carte Vitale et ne comprend pas son avis d'impôt")
    page.wait_for_selector(".guichet-log .guichet-case")
    case = page.locator(".guichet-log .guichet-case").first
    assert case.get_attribute("data-count") == "3"
    assert "3 démarches repérées" in case.inner_text()
    assert case.locator(".guichet-case__item").count() == 3
    shot(page, "conseiller-dossier-liste")
    for n in range(3):
        _through_questions(page, n)
        if n < 2:
            _click_last(page, "Démarche suivante")
    _click_last(page, "Synthèse du dossier")
    page.wait_for_selector(".guichet-log .guichet-summary")
    summary = page.locator(".guichet-log .guichet-summary").last
    assert summary.locator(".guichet-summary__item").count() == 3
    summary.locator("text=Copier la synthèse").click()
    page.wait_for_selector("text=Synthèse copiée")
    copied = page.evaluate("navigator.clipboard.readText()")
    assert copied.startswith("Synthèse du dossier : 3 démarches") and "Reste à traiter :" in copied
    shot(page, "conseiller-dossier-synthese")
    assert not [v for v in axe_violations(page)], "accessibilité"

    # the person's printable copy: public wording, no counsellor-only channel, print CSS hides the chrome
    href = summary.locator("text=Version imprimable pour l'usager").get_attribute("href")
    printable = open_page(context, site, href)
    printable.wait_for_selector(".guichet-print")
    assert printable.locator(".guichet-summary__item").count() == 3
    text = printable.inner_text("main")
    assert "Récapitulatif de vos démarches" in text
    assert not any(word in text for word in AGENT_ONLY)
    printable.emulate_media(media="print")
    assert printable.locator(".guichet-header").is_hidden() and printable.locator("#imprimer").is_hidden()
    shot(printable, "synthese-imprimable")
    assert not page.errors and not printable.errors
