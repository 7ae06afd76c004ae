"""From engine results to what a person or a counsellor reads: French text, buttons, `custom` payload.

The only module that knows audiences:
- `agent` (authenticated counsellor): quotes the référentiel's counsellor action, shows every contact;
- `public` (kiosk, web chat): speaks to the person (vouvoiement), never shows an `agent` contact.

The `custom` payloads are the machine-readable contract documented in docs/api.md.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Dict, List, Mapping, Optional, Sequence, Tuple

from bot.engine import Caveat, Outcome, Question
from bot.knowledge.types import CATEGORY_LABELS, Contact, Demarche, EmergencyNumber, LocalSupplement, Operator

AGENT = "agent"
PUBLIC = "public"
AUDIENCES = (AGENT, PUBLIC)

REFERENTIEL = "Référentiel national des démarches relatives aux opérateurs France services (décembre 2025)"

ANSWER_OPTIONS = (("oui", "Oui", "/affirm"), ("non", "Non", "/deny"), ("inconnu", "Je ne sais pas", "/je_ne_sais_pas"))

CATEGORY_PUBLIC = {
    "niveau_1": "Un conseiller France services peut vous accompagner dans cette démarche.",
    "niveau_2": "Cette démarche se fait directement auprès de l'organisme concerné : {org}. "
    "Un conseiller France services peut vous orienter vers le bon interlocuteur.",
    "urgent": "Votre situation demande une intervention rapide de l'organisme concerné : {org}. "
    "Un conseiller France services peut contacter directement l'organisme pour vous.",
    "hors_bouquet": "Cette demande ne peut pas être traitée dans un espace France services. "
    "Adressez-vous directement à l'organisme concerné : {org}.",
}
CATEGORY_SHORT_PUBLIC = {
    "niveau_1": "un conseiller France services peut vous accompagner",
    "niveau_2": "la démarche se fait directement auprès de {org}",
    "urgent": "votre situation demande une intervention rapide de {org} ; un conseiller France services peut "
    "contacter directement l'organisme pour vous",
    "hors_bouquet": "la demande ne peut pas être traitée en France services ; adressez-vous à {org}",
}
KIND_LABELS = {"phone": "Téléphone", "email": "Courriel", "url": "Site", "service": "Service"}


@dataclass
class Reply:
    """One bot message: text (with optional buttons) and an optional machine-readable payload."""

    text: str
    buttons: List[Dict[str, str]] = field(default_factory=list)
    custom: Optional[Dict] = None


def normalise_audience(value: Optional[str]) -> str:
    return AGENT if value == AGENT else PUBLIC


def visible_contacts(contacts: Sequence[Contact], audience: str) -> List[Contact]:
    return [c for c in contacts if audience == AGENT or c.audience == PUBLIC]


def local_wording(supplement: LocalSupplement, audience: str) -> Optional[Tuple[str, str]]:
    """(title, text) of a local supplement for `audience`, or None if it has nothing for it.

    Counsellors read the booklet's wording; the public reads it only when the supplement's audience
    is `public`, otherwise its public wording if it has one (never the counsellor text, which may
    name counsellor-only channels)."""
    if audience == AGENT or supplement.audience == PUBLIC:
        return supplement.title, supplement.text
    if supplement.public_text:
        return supplement.public_title, supplement.public_text
    return None


def _contact_payload(contacts: Sequence[Contact]) -> List[Dict[str, str]]:
    return [{"kind": c.kind, "value": c.value, "label": c.label, "audience": c.audience} for c in contacts]


def _number_payload(numbers: Sequence[EmergencyNumber]) -> List[Dict[str, str]]:
    return [{"kind": "phone", "value": n.value, "label": n.label, "audience": PUBLIC} for n in numbers]


def _source_payload(demarche: Demarche) -> Dict[str, object]:
    return {
        "document": REFERENTIEL,
        "file": demarche.source.document,
        "operator": demarche.source.operator,
        "section": demarche.source.section,
        "line": demarche.source.line,
    }


def _source_line(demarche: Demarche) -> str:
    return f"Source : {REFERENTIEL}, {demarche.source.operator}, « {demarche.source.section} »."


# -- questions --------------------------------------------------------------------------


def render_question(question: Question, audience: str) -> Reply:
    audience = normalise_audience(audience)
    text = question.condition.question(audience)
    options = [{"value": value, "title": title} for value, title, _ in ANSWER_OPTIONS]
    custom = {"type": "question", "key": question.key, "topic": question.topic, "text": text, "options": options}
    numbers = _numbers_text(question.numbers, audience)
    if numbers:  # safety first: the national numbers come before any question
        custom["emergency_numbers"] = _number_payload(question.numbers)
        text = "\n".join(numbers + ["", text])
    return Reply(
        text=text,
        buttons=[{"title": title, "payload": payload} for _, title, payload in ANSWER_OPTIONS],
        custom=custom,
    )


# -- answers ----------------------------------------------------------------------------


def _applicable_variants(demarche: Demarche, facts: Mapping[str, str]) -> List[str]:
    return [v.text for v in demarche.variants if all(facts.get(k) == val for k, val in v.when.items())]


def agent_next_step(demarche: Demarche, facts: Mapping[str, str]) -> str:
    variants = _applicable_variants(demarche, facts)
    if variants:
        return "\n".join(variants)
    return demarche.action


def public_next_step(demarche: Demarche, operator: Operator) -> str:
    return CATEGORY_PUBLIC[demarche.category].format(org=operator.designation)


def _caveat_line(caveat: Caveat, audience: str, conditions, operators: Mapping[str, Operator]) -> str:
    cond = conditions[caveat.key]
    alt = caveat.demarche
    if audience == AGENT:
        first = alt.action.splitlines()[0]
        return f"Si {cond.case(caveat.value, AGENT)} : {alt.title} ({CATEGORY_LABELS[alt.category]}) — {first}"
    short = CATEGORY_SHORT_PUBLIC[alt.category].format(org=operators[alt.operator].designation)
    return f"Si {cond.case(caveat.value, PUBLIC)} : {short}."


def _contact_line(contact: Contact) -> str:
    suffix = " (réservé aux conseillers)" if contact.audience == AGENT else ""
    if contact.kind == "service":
        return f"- {contact.value} ({contact.label}){suffix}"
    return f"- {contact.label} : {contact.value}{suffix}"


def _numbers_text(numbers: Sequence[EmergencyNumber], audience: str) -> List[str]:
    if not numbers:
        return []
    head = "Numéros d'urgence à communiquer :" if audience == AGENT else "En cas d'urgence, vous pouvez appeler gratuitement :"
    lines = [head] + [f"- {n.value} : {n.label}" for n in numbers]
    if any(n.value in ("17", "112") for n in numbers):
        lines.append(
            "En cas de danger immédiat : appeler le 17 ou le 112."
            if audience == AGENT
            else "Si vous êtes en danger immédiat, appelez le 17 ou le 112."
        )
    return lines


def render_outcome(
    outcome: Outcome, audience: str, operators: Mapping[str, Operator], conditions, local=None
) -> Reply:
    """`local`: (département name, supplements) that complete the national answer, if any."""
    audience = normalise_audience(audience)
    numbers = outcome.numbers
    demarche = outcome.demarche
    if demarche is None:
        return _render_distress_without_operator(outcome, audience)
    operator = operators[demarche.operator]
    contacts = visible_contacts(demarche.contacts, audience)
    next_step = agent_next_step(demarche, outcome.facts) if audience == AGENT else public_next_step(demarche, operator)
    caveats = [_caveat_line(c, audience, conditions, operators) for c in outcome.caveats]

    lines: List[str] = _numbers_text(numbers, audience)
    if lines:
        lines.append("")
    lines += [f"{demarche.title} — {operator.name}", f"Catégorie : {CATEGORY_LABELS[demarche.category]}."]
    if audience == AGENT:
        lines += ["Action à réaliser par le conseiller France services :", next_step]
    else:
        lines += [next_step]
    if contacts:
        lines.append("Contacts :" if audience == AGENT else "Contacts utiles :")
        lines += [_contact_line(c) for c in contacts]
    if caveats:
        lines.append("À savoir :")
        lines += [f"- {c}" for c in caveats]
    local_payload = []
    if local:
        name, supplements = local
        for sup in supplements:
            wording = local_wording(sup, audience)
            if wording is None:
                continue
            title, text = wording
            sup_contacts = visible_contacts(sup.contacts, audience)
            lines.append(f"Précision locale ({name}) — {title} : {text}")
            lines += [_contact_line(c) for c in sup_contacts]
            local_payload.append(
                {
                    "id": sup.id,
                    "departement": sup.departement,
                    "title": title,
                    "text": text,
                    "contacts": _contact_payload(sup_contacts),
                    "source": {"file": sup.document, "section": sup.section, "line": sup.line},
                }
            )
    lines.append(_source_line(demarche))
    custom = {
        "type": "answer",
        "audience": audience,
        "operator": demarche.operator,
        "operator_name": operator.name,
        "demarche": demarche.id,
        "title": demarche.title,
        "category": demarche.category,
        "category_label": CATEGORY_LABELS[demarche.category],
        "next_step": next_step,
        "contacts": _contact_payload(contacts),
        "caveats": caveats,
        "emergency_numbers": _number_payload(numbers),
        "source": _source_payload(demarche),
        "local": local_payload,
    }
    return Reply(text="\n".join(lines), custom=custom)


def _render_distress_without_operator(outcome: Outcome, audience: str) -> Reply:
    numbers = outcome.numbers
    if audience == AGENT:
        intro = (
            "Situation de détresse : orienter la personne en priorité vers les numéros d'urgence ci-dessous, "
            "puis contacter le correspondant en back-office de l'opérateur concerné selon les modalités définies localement."
        )
    else:
        intro = (
            "Votre sécurité passe en premier. Des professionnels peuvent vous aider tout de suite. "
            "Un conseiller France services peut aussi contacter directement les organismes qui vous concernent."
        )
    lines = [intro]
    if numbers:
        lines += [""] + _numbers_text(numbers, audience)
    else:
        lines += [
            "",
            "En cas de danger immédiat, appelez le 17 ou le 112."
            if audience == PUBLIC
            else "En cas de danger immédiat : appeler le 17 ou le 112.",
        ]
    next_step = "\n".join(lines)
    shown = numbers or (EmergencyNumber("17", "Police secours"), EmergencyNumber("112", "Numéro d'urgence européen"))
    custom = {
        "type": "answer",
        "audience": audience,
        "operator": None,
        "demarche": None,
        "title": "Situation d'urgence",
        "category": "urgent",
        "category_label": CATEGORY_LABELS["urgent"],
        "next_step": next_step,
        "contacts": [],
        "caveats": [],
        "emergency_numbers": _number_payload(shown),
        "source": {"document": "Numéros d'urgence nationaux", "file": "knowledge/emergency.yml", "operator": None, "section": None},
    }
    return Reply(text=next_step, custom=custom)


# -- other replies ----------------------------------------------------------------------


NONE_OF_THESE = "aucune"  # the `demarche` of the « none of these » button of a hesitation
NONE_OF_THESE_TITLE = "Aucune de ces démarches"


def render_choose(options: Sequence[Tuple[str, str]], audience: str, none_option: bool = False) -> Reply:
    """Hesitation between a few démarches: (demarche id, title) pairs as buttons; with `none_option`,
    a last button says that none of them is the request (custom `none`)."""
    text = (
        "Je ne suis pas certain d'avoir bien compris. S'agit-il de l'une de ces démarches ?"
        if normalise_audience(audience) == PUBLIC
        else "Demande ambiguë : laquelle de ces démarches correspond ?"
    )
    buttons = [{"title": title, "payload": f'/choisir{{"demarche": "{demarche_id}"}}'} for demarche_id, title in options]
    custom = {"type": "choose", "options": [{"demarche": d, "title": t} for d, t in options]}
    if none_option and options:
        none = {"title": NONE_OF_THESE_TITLE, "payload": f'/choisir{{"demarche": "{NONE_OF_THESE}"}}'}
        buttons.append(none)
        custom["none"] = none
    return Reply(text=text, buttons=buttons, custom=custom)


def render_out_of_scope(redirect: str) -> Reply:
    return Reply(text=redirect, custom={"type": "out_of_scope", "redirect": redirect})
