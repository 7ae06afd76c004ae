"""Plain-text French cards of démarches (CLI, copy-paste for notes and mails)."""
from __future__ import annotations

from typing import List

from bot.knowledge.types import Demarche

KIND_LABELS = {"phone": "Téléphone", "email": "Courriel", "url": "Site", "service": "Service"}
AUDIENCE_LABELS = {"agent": "réservé aux conseillers", "public": "public"}


def card_text(demarche: Demarche, operator_name: str) -> str:
    """The full counsellor card of a row of the référentiel."""
    lines: List[str] = [
        f"{demarche.title}",
        f"Identifiant : {demarche.id}",
        f"Opérateur : {operator_name}",
        f"Rubrique : {demarche.section}",
        f"Catégorie : {demarche.category_label}",
        "",
        "Demande ou démarche :",
        f"  {demarche.label}",
    ]
    lines += [f"  - {item}" for item in demarche.items]
    lines += ["", "Action à réaliser par le conseiller France services :"]
    lines += [f"  {line}" for line in demarche.action.splitlines()]
    if demarche.conditions:
        lines += ["", "Conditions : " + ", ".join(f"{k} = {v}" for k, v in sorted(demarche.conditions.items()))]
    if demarche.contacts:
        lines += ["", "Contacts :"]
        for c in demarche.contacts:
            lines.append(f"  - {KIND_LABELS[c.kind]} : {c.value} — {c.label} ({AUDIENCE_LABELS[c.audience]})")
    lines += [
        "",
        f"Source : {demarche.source.document}, {demarche.source.operator}, « {demarche.source.section} », "
        f"ligne {demarche.source.line}",
    ]
    if demarche.doubt:
        lines += [f"Note de transcription : {demarche.doubt}"]
    return "\n".join(lines)
