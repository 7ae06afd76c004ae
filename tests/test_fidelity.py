"""The knowledge base says what the référentiel says: rows, contacts, audiences, sources."""
import re
from collections import Counter

import pytest

from bot.knowledge.types import OPERATOR_SLUGS
from bot.text import fold, terms

from seedtext import REFERENTIEL, emails, phone_key, phones, seed_text, url_key, urls

# Table rows per operator, counted by reading the two référentiel seed files
# (merged-cell continuation rows counted; a row split by a page break counted once).
# A row is counted by its source line: a row whose request cell joins alternative cases that need
# different conditions is split into one entry per case, all citing its line (SPLIT_ROWS).
EXPECTED_ROWS = {
    "caf": 15,
    "assurance_maladie": 28,
    "assurance_retraite": 26,
    "cheque_energie": 12,
    "finances_publiques": 24,
    "france_renov": 9,
    "france_titres": 8,
    "france_travail": 14,
    "la_poste": 6,
    "msa": 68,
    "point_justice": 5,
    "urssaf": 18,
}

# (operator, source line) -> entries: rows split into one entry per alternative case.
SPLIT_ROWS = {
    ("caf", 80): 2,  # détresse + rupture de droit AAH/RSA, or prestation interrompue depuis 3 mois
    ("assurance_retraite", 173): 2,  # rupture de droit ou de paiement, or autre situation urgente
    ("assurance_maladie", 117): 2,  # rupture de droit, de paiement, or mal-être
    ("france_travail", 77): 2,  # fragilité sociale identifiée et/ou situation bloquée
    # filing a retirement right without digital autonomy: personal retirement or reversion, each in
    # the topic of its right
    ("assurance_retraite", 172): 2,
    ("finances_publiques", 263): 2,
    ("assurance_maladie", 114): 3,  # « attente de paiement de prestations »: reimbursements, daily allowances  # question complexe, or catégories de revenus ou d'usagers spécifiques
}

SEEDS = {name: seed_text(name) for name in REFERENTIEL}
ALL_SEED_TEXT = "\n".join(SEEDS.values())


def kb_contacts(knowledge, kind):
    return [(d, c) for d in knowledge.demarches for c in d.contacts if c.kind == kind]


def test_every_operator_is_present(knowledge):
    assert sorted(knowledge.operators) == sorted(OPERATOR_SLUGS)
    assert {d.operator for d in knowledge.demarches} == set(OPERATOR_SLUGS)


@pytest.mark.parametrize("slug", OPERATOR_SLUGS)
def test_row_count_matches_the_seed_table(knowledge, slug):
    assert slug in EXPECTED_ROWS, f"expected row count of {slug} not written down"
    assert len({d.source.line for d in knowledge.demarches if d.operator == slug}) == EXPECTED_ROWS[slug]


def test_split_rows_keep_the_category_action_and_contacts_of_their_row(knowledge):
    for (slug, line), entries in SPLIT_ROWS.items():
        rows = [d for d in knowledge.demarches if d.operator == slug and d.source.line == line]
        assert len(rows) == entries, (slug, line)
        assert len({(d.category, d.action, d.contacts) for d in rows}) == 1, (slug, line)
        assert all(d.doubt and "split" in d.doubt for d in rows), (slug, line)


def test_every_category_is_used(knowledge):
    assert set(Counter(d.category for d in knowledge.demarches)) == {"niveau_1", "niveau_2", "urgent", "hors_bouquet"}


def test_every_seed_phone_is_in_the_knowledge_base(knowledge):
    kb = {phone_key(c.value) for _, c in kb_contacts(knowledge, "phone")}
    assert phones(ALL_SEED_TEXT) - kb == set()


def test_every_knowledge_base_phone_is_in_the_seed(knowledge):
    seed = phones(ALL_SEED_TEXT)
    invented = {(d.id, c.value) for d, c in kb_contacts(knowledge, "phone") if phone_key(c.value) not in seed}
    assert invented == set()


def test_every_seed_email_is_in_the_knowledge_base_and_back(knowledge):
    kb = {c.value.lower() for _, c in kb_contacts(knowledge, "email")}
    assert emails(ALL_SEED_TEXT) == kb


# The page footer of the référentiel, not part of any row.
FOOTER_URLS = {"france-services.gouv.fr"}


def test_every_seed_url_is_in_the_knowledge_base(knowledge):
    kb = {url_key(c.value) for _, c in kb_contacts(knowledge, "url")}
    assert urls(ALL_SEED_TEXT) - kb - FOOTER_URLS == set()


def test_every_knowledge_base_url_is_in_the_seed(knowledge):
    seed = urls(ALL_SEED_TEXT)
    invented = {(d.id, c.value) for d, c in kb_contacts(knowledge, "url") if url_key(c.value) not in seed}
    assert invented == set()


# Rows whose action points at the contacts of the next row ("cf. ci-dessous").
REFERS_TO_NEXT_ROW = {"cheque_energie.information"}


def test_a_row_mentions_its_own_contacts(knowledge):
    """Each phone/e-mail/URL contact of a row is written in that row (label, items or action)."""
    missing = []
    rows = knowledge.demarches
    for i, d in enumerate(rows):
        own = " ".join((d.label, *d.items, d.action))
        if d.id in REFERS_TO_NEXT_ROW:
            assert "ci-dessous" in d.action
            own += " " + rows[i + 1].action
        for c in d.contacts:
            if c.kind == "phone" and phone_key(c.value) not in re.sub(r"\D", "", own):
                missing.append((d.id, c.value))
            elif c.kind in ("email", "url") and url_key(c.value) not in {url_key(u) for u in urls(own) | emails(own)}:
                missing.append((d.id, c.value))
    assert missing == []


def test_a_contact_label_says_what_its_row_says_about_local_modalities(knowledge):
    """« Selon les modalités définies localement » only where the row says so, not for « via Administration+ »."""
    wrong = [
        (d.id, c.value)
        for d in knowledge.demarches
        for c in d.contacts
        if "modalites definies localement" in fold(c.label) and "modalites" not in fold(" ".join((d.label, *d.items, d.action)))
    ]
    assert wrong == []


def test_every_phone_email_and_url_a_row_writes_is_one_of_its_contacts(knowledge):
    """Not only inside a label or a service: the person gets it as a phone, e-mail or URL contact."""
    missing = []
    for d in knowledge.demarches:
        own = " ".join((d.label, *d.items, d.action))
        phone_contacts = {phone_key(c.value) for c in d.contacts if c.kind == "phone"}
        url_contacts = {url_key(c.value) for c in d.contacts if c.kind in ("url", "email")}
        missing += [(d.id, p) for p in sorted(phones(own) - phone_contacts)]
        missing += [(d.id, u) for u in sorted(urls(own) | emails(own)) if url_key(u) not in url_contacts]
    assert missing == []


def test_msa_online_services_row_gives_the_internet_assistance(knowledge):
    """MSA lines 123-124: either reading of the seed gives the 03 20 900 500 to the online-services row."""
    row = next(d for d in knowledge.demarches if d.id == "msa.services_en_ligne")
    assert "03 20 900 500" in row.action and row.doubt
    assert [(c.audience, c.value) for c in row.contacts if c.kind == "phone"] == [("public", "03 20 900 500")]


def test_mpr_rows_27_and_28_share_one_merged_action_cell(knowledge):
    """France Rénov' lines 27-28: line 28's « Outil : Fiche … » is the tail of line 27's action cell."""
    rows = {d.id: d for d in knowledge.demarches}
    geste, ampleur = rows["france_renov.mpr_geste_sans_reponse"], rows["france_renov.mpr_renovation_ampleur"]
    assert geste.action == ampleur.action and geste.contacts == ampleur.contacts
    first, last = ampleur.action.splitlines()[0], ampleur.action.splitlines()[-1]
    assert "0 808 800 700" in first and "france-renov.gouv.fr/contact" in first
    assert last == "Outil : Fiche « MPR' par geste - Qui contacter en cas de difficulté ? »"
    public = {c.value for c in ampleur.contacts if c.audience == "public"}
    assert public == {"0 808 800 700", "https://france-renov.gouv.fr/contact"}


AGENT_WORDS = ("administration+", "osmose", "back-office", "back office")


def test_agent_only_channels_are_marked_agent(knowledge):
    wrong = [
        (d.id, c.value)
        for d in knowledge.demarches
        for c in d.contacts
        if any(w in fold(c.value + " " + c.label) for w in AGENT_WORDS) and c.audience != "agent"
    ]
    assert wrong == []


# Back-office lines and mailboxes that the référentiel gives for counsellors only.
AGENT_ONLY_VALUES = {
    "0969327210",  # ASP back-office (chèque énergie)
    "assistance-franceservice-chequeenergie@asp-public.fr",
    "0969360117",  # Urssaf back-office
    "0969360125",  # Urssaf back-office
    "ants-pn-franceservices@interieur.gouv.fr",  # ANTS line for France services
    "0806001625",  # ANTS Centre de Contact Citoyens, France services line
}


def test_known_back_office_lines_are_agent_only(knowledge):
    seen = set()
    for d in knowledge.demarches:
        for c in d.contacts:
            key = phone_key(c.value) if c.kind == "phone" else c.value.lower()
            if key in AGENT_ONLY_VALUES:
                seen.add(key)
                assert c.audience == "agent", (d.id, c.value)
    assert seen == AGENT_ONLY_VALUES


def test_every_row_points_at_its_line_in_the_seed(knowledge):
    """Most words of the request cell are on the source line (or the next ones)."""
    misplaced = []
    for d in knowledge.demarches:
        lines = SEEDS[d.source.document].splitlines()
        window = set(terms(" ".join(lines[d.source.line - 1 : d.source.line + 2])))
        words = set(terms(d.label + " " + " ".join(d.items)))
        if words and len(words & window) / len(words) < 0.6:
            misplaced.append((d.id, d.source.line))
    assert misplaced == []


# Rows whose label is not printed in their request cell (explained in their doubt): the MSA table's
# first row has the section title in its request cell and its request in the action cell.
LABEL_OUTSIDE_REQUEST_CELL = {"msa.offres_action_sociale"}


def test_every_row_cites_the_line_of_its_request_cell(knowledge):
    """source.line is the request line, even when the row's action is printed on another line."""
    misplaced = []
    for d in knowledge.demarches:
        if d.id in LABEL_OUTSIDE_REQUEST_CELL:
            continue
        cell = SEEDS[d.source.document].splitlines()[d.source.line - 1].split("\t")[0]
        words = set(terms(d.label + " " + " ".join(d.items)))
        if words and len(words & set(terms(cell))) / len(words) < 0.6:
            misplaced.append((d.id, d.source.line))
    assert misplaced == []


def test_only_split_rows_share_a_source_line(knowledge):
    shared = Counter((d.operator, d.source.line) for d in knowledge.demarches)
    assert {key: n for key, n in shared.items() if n > 1} == SPLIT_ROWS


def test_la_poste_rows_cite_their_request_lines(knowledge):
    lines = {d.id: d.source.line for d in knowledge.demarches if d.operator == "la_poste"}
    assert sorted(lines.values()) == [103, 104, 105, 106, 107, 108]
    assert lines["la_poste.identite_numerique"] == 106 and lines["la_poste.courrier_colis"] == 107


def test_sections_are_headings_of_the_seed(knowledge):
    folded_seed = {name: fold(text) for name, text in SEEDS.items()}
    missing = sorted(
        {(d.operator, d.source.section) for d in knowledge.demarches if fold(d.source.section)[:25] not in folded_seed[d.source.document]}
    )
    assert missing == []


def test_doubts_are_listed_in_docs(knowledge):
    from pathlib import Path

    doc = (Path(__file__).resolve().parent.parent / "docs" / "knowledge.md").read_text(encoding="utf-8")
    undocumented = [d.id for d in knowledge.demarches if d.doubt and f"`{d.id}`" not in doc]
    assert undocumented == []


# National emergency numbers that are not in the seed texts (knowledge/emergency.yml says why).
NATIONAL_EMERGENCY_NUMBERS = {"3114", "3919", "119", "115", "17", "112", "15", "114"}


def test_emergency_numbers_outside_the_seeds_are_the_national_ones(knowledge):
    stated = {phone_key(n.value) for kind in knowledge.emergency.values() for n in kind.numbers}
    assert stated - phones(ALL_SEED_TEXT) == NATIONAL_EMERGENCY_NUMBERS
    assert "116006" in stated & phones(ALL_SEED_TEXT)  # the victims' line, named by the point-justice row


# snake_case words of docs/knowledge.md that are schema fields or values, not topics or ids.
DOC_VOCABULARY = {"applies_to", "ask_when", "implied_by", "snake_case", "niveau_1", "niveau_2", "hors_bouquet",
                  "general_when"}


def test_every_id_and_topic_the_knowledge_doc_names_exists(knowledge):
    from pathlib import Path

    doc = (Path(__file__).resolve().parent.parent / "docs" / "knowledge.md").read_text(encoding="utf-8")
    ids = {d.id for d in knowledge.demarches} | {s.id for pack in knowledge.local.values() for s in pack.supplements}
    prefixes = "|".join((*OPERATOR_SLUGS, *(pack.name.lower() for pack in knowledge.local.values())))
    named_ids = set(re.findall(rf"(?<![\w.])(?:{prefixes})\.(?!(?:fr|com|net|org|gouv)\b)[a-z0-9_]+(?![\w.])", doc))
    assert named_ids - ids == set()
    known = {d.topic for d in knowledge.demarches} | set(knowledge.conditions) | set(OPERATOR_SLUGS) | ids | DOC_VOCABULARY
    snake = set(re.findall(r"(?<![\w.])[a-z][a-z0-9]*(?:_[a-z0-9]+)+(?![\w.])", doc))
    assert snake - known == set()


def test_the_referentiel_doubts_named_by_the_issue_are_recorded(knowledge):
    doubtful = " ".join(fold(d.label + " " + d.title) for d in knowledge.demarches if d.doubt)
    for words in ("maprimeadapt", "ampleur", "pre-plainte", "cheque"):
        assert words in doubtful, words


def test_no_named_employee_in_the_local_files(knowledge):
    """The Jura booklet's La Poste back-office contact is a named employee (e-mail, mobile): personal data,
    likely stale, so only the service is kept (issue 11, point 12)."""
    from pathlib import Path

    for path in (Path(__file__).resolve().parent.parent / "knowledge" / "local").glob("*.yml"):
        text = fold(path.read_text(encoding="utf-8"))
        assert "marchal" not in text and "0648205608" not in re.sub(r"\D", "", text), path.name
    back_office = next(s for s in knowledge.local["39"].supplements if s.id == "jura.la_poste_back_office")
    assert [(c.kind, c.audience) for c in back_office.contacts] == [("service", "agent")]
    assert "personal data" in back_office.note
