"""HTML of the pages: templates of bot/web/templates/ filled with escaped values (string.Template).

Every value coming from the knowledge base or the configuration is escaped here; the pages contain
no inline script or style (strict Content-Security-Policy), the scripts read `data-` attributes.
"""
from __future__ import annotations

from html import escape
from pathlib import Path
from string import Template
from typing import Any, Dict, Optional

from bot import services
from bot.config import get_settings
from bot.knowledge.types import CATEGORY_LABELS

TEMPLATES = Path(__file__).resolve().parent / "templates"

TITLES = {
    "conseiller": "Console conseiller — Guichet France services",
    "borne": "Borne libre-service — Guichet France services",
    "chat": "Discussion en ligne — Guichet France services",
    "synthese": "Récapitulatif de vos démarches — Guichet France services",
}


def _template(name: str) -> Template:
    return Template((TEMPLATES / f"{name}.html").read_text(encoding="utf-8"))


def _operator_options() -> str:
    operators = services.guichet().operators.values()
    return "\n".join(f'<option value="{escape(o.slug)}">{escape(o.name)}</option>' for o in operators)


def _category_options() -> str:
    return "\n".join(f'<option value="{escape(k)}">{escape(v)}</option>' for k, v in CATEGORY_LABELS.items())


def _kiosk_buttons() -> Dict[str, str]:
    guichet = services.guichet()
    situations = "\n".join(
        f'<li><button type="button" class="fr-btn fr-btn--lg fr-btn--secondary guichet-big" '
        f'data-payload="{escape(_menu_payload("situation", s.id))}">{escape(s.title)}</button></li>'
        for s in guichet.situations.values()
    )
    operators = "\n".join(
        f'<li><button type="button" class="fr-btn fr-btn--lg fr-btn--tertiary guichet-big" '
        f'data-payload="{escape(_menu_payload("operator", o.slug))}">{escape(o.name)}</button></li>'
        for o in guichet.operators.values()
    )
    return {"situations": situations, "operators": operators}


def _menu_payload(key: str, value: str) -> str:
    return '/menu{"%s": "%s"}' % (key, value)


def _opening_hours() -> str:
    hours = get_settings().opening_hours
    if hours:
        return (
            f"Horaires d'ouverture de votre espace France services : {escape(hours)}. Pendant ces horaires, "
            "un conseiller France services peut prendre le relais de cette conversation."
        )
    return (
        "En dehors des horaires d'ouverture, Guichet vous oriente. Pendant les horaires d'ouverture de votre "
        "espace France services, un conseiller peut prendre le relais de cette conversation."
    )


def render_page(name: str, options: Optional[Dict[str, Any]] = None) -> str:
    options = options or {}
    values: Dict[str, str] = {"title": escape(TITLES[name])}
    if name == "conseiller":
        values.update(operator_options=_operator_options(), category_options=_category_options())
    elif name == "borne":
        values.update(_kiosk_buttons())
    elif name == "chat":
        values.update(opening_hours=_opening_hours(), embedded="1" if options.get("embedded") else "0")
    body = _template(name).substitute(values)
    return _template("layout").substitute(
        title=values["title"], body=body, page=escape(name), embedded="1" if options.get("embedded") else "0"
    )


def _contact_html(contact: Dict[str, str]) -> str:
    value = escape(contact["value"])
    if contact["kind"] == "phone":
        value = f'<a href="tel:{escape("".join(ch for ch in contact["value"] if ch.isdigit() or ch == "+"))}">{value}</a>'
    elif contact["kind"] == "email":
        value = f'<a href="mailto:{escape(contact["value"].strip())}">{value}</a>'
    return f"<li>{escape(contact['label'])} : {value}</li>"


def render_summary_page(summary: Dict[str, Any], date: str) -> str:
    """The person's printable copy of a case summary (bot.case.build_summary, public audience): only
    public contacts are in the payload; the page re-checks it."""
    items = []
    for item in summary.get("items") or []:
        contacts = "".join(_contact_html(c) for c in item.get("contacts") or [] if c.get("audience") == "public")
        operator = f" — {escape(item['operator_name'])}" if item.get("operator_name") else ""
        category = escape(item.get("category_label") or "")
        items.append(
            f'<li class="guichet-summary__item" data-status="{escape(item["status"])}">'
            f'<h2 class="fr-h6 fr-mb-1w">{escape(item["title"])}{operator}</h2>'
            + (f'<p class="fr-text--sm fr-mb-1w">{category} ({escape(item["status_label"])})</p>' if category else "")
            + (f'<p>{escape(item["next_step"])}</p>' if item.get("next_step") else "")
            + (f'<p class="fr-text--sm fr-mb-0">Contacts utiles :</p><ul class="guichet-list">{contacts}</ul>' if contacts else "")
            + "</li>"
        )
    facts = summary.get("facts") or []
    facts_html = ""
    if facts:
        facts_html = ('<h2 class="fr-h6">Ce que vous nous avez indiqué</h2><ul class="guichet-list">'
                      + "".join(f"<li>{escape(f[0].upper() + f[1:])}</li>" for f in facts) + "</ul>")
    open_points = summary.get("open") or ["Rien : toutes les démarches ont été vues."]
    count = len(summary.get("items") or [])
    body = _template("synthese").substitute(
        date=escape(date),
        count=f"{count} démarche{'s' if count > 1 else ''}.",
        items="\n".join(items),
        facts=facts_html,
        open="\n".join(f"<li>{escape(p)}</li>" for p in open_points),
    )
    return _template("layout").substitute(title=escape(TITLES["synthese"]), body=body, page="synthese", embedded="0")
