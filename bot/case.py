"""A case of several requests (bot.multi), as kept in the conversation's slots, and its summary.

Slots (domain/base.yml): `requests` — the list of requests, each a dict (topic, text, operator,
category, demarche, title, urgent, status, facts) — and `request_index`, the one being worked on.
They live in Rasa's tracker store like every other slot: a reload or a restart keeps the case.

The summary (« Synthèse du dossier ») is built here from those slots and the knowledge base, and
rendered in plain text (« Copier la synthèse ») and as a `summary` payload for the pages; the
public wording never shows a contact reserved for counsellors.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Dict, List, Mapping, Optional

from bot.knowledge.types import CATEGORY_LABELS
from bot.multi import OUT_OF_SCOPE, OUT_OF_SCOPE_LABEL
from bot.render import AGENT, PUBLIC, agent_next_step, public_next_step, visible_contacts

TODO, CURRENT, DONE, SKIPPED = "a_traiter", "en_cours", "traitee", "passee"
STATUS_LABELS = {
    AGENT: {TODO: "à traiter", CURRENT: "en cours", DONE: "traitée", SKIPPED: "passée, à reprendre"},
    PUBLIC: {TODO: "à voir", CURRENT: "en cours", DONE: "vue", SKIPPED: "à reprendre"},
}


@dataclass
class Case:
    requests: List[Dict[str, object]] = field(default_factory=list)
    index: int = 0

    @classmethod
    def from_slots(cls, slots: Mapping[str, object]) -> "Case":
        raw = slots.get("requests") if slots else None
        requests = [dict(r) for r in raw if isinstance(r, dict) and r.get("topic")] if isinstance(raw, list) else []
        try:
            index = int(float(slots.get("request_index") or 0)) if slots else 0
        except (TypeError, ValueError):
            index = 0
        return cls(requests, min(max(index, 0), max(len(requests) - 1, 0)))

    @property
    def active(self) -> bool:
        return len(self.requests) >= 2

    @property
    def current(self) -> Optional[Dict[str, object]]:
        return self.requests[self.index] if self.requests else None

    def slots(self) -> Dict[str, object]:
        return {"requests": [dict(r) for r in self.requests], "request_index": float(self.index)}

    def next_index(self) -> Optional[int]:
        """The next request not seen yet after the current one, else a skipped or unseen one before it."""
        n = len(self.requests)
        for step in range(1, n + 1):
            i = (self.index + step) % n
            if self.requests[i].get("status") in (TODO, None):
                return i
        for step in range(1, n + 1):
            i = (self.index + step) % n
            if self.requests[i].get("status") == SKIPPED:
                return i
        return None

    def find_topic(self, topic: str) -> Optional[int]:
        for i, request in enumerate(self.requests):
            if request.get("topic") == topic:
                return i
        return None

    def remaining(self) -> List[Dict[str, object]]:
        return [r for r in self.requests if r.get("status") != DONE]


def category_label(category: object) -> str:
    """The label of a request's category (a démarche's, or `hors_champ` for a request outside the référentiel)."""
    return OUT_OF_SCOPE_LABEL if category == OUT_OF_SCOPE else CATEGORY_LABELS.get(str(category), "")


# -- summary -----------------------------------------------------------------------------------


def build_summary(guichet, case: Case, slots: Mapping[str, object], audience: str) -> Dict[str, object]:
    """The `summary` payload: each request with its category, next step and contacts for `audience`,
    the facts known, what remains open, and the plain text of it all."""
    audience = AGENT if audience == AGENT else PUBLIC
    conditions = guichet.conditions
    facts = {k: str(slots.get(k)) for k in conditions if slots.get(k) in ("oui", "non", "inconnu")}
    items = []
    open_points: List[str] = []
    for i, request in enumerate(case.requests):
        demarche = guichet.repo.get(str(request.get("demarche"))) if request.get("demarche") else None
        status = str(request.get("status") or TODO)
        item: Dict[str, object] = {
            "index": i + 1,
            "topic": request.get("topic"),
            "demarche": demarche.id if demarche else None,
            "title": demarche.title if demarche else str(request.get("title") or request.get("topic")),
            "operator": demarche.operator if demarche else request.get("operator"),
            "operator_name": guichet.operators[demarche.operator].name if demarche else None,
            "category": demarche.category if demarche else request.get("category"),
            "category_label": category_label(demarche.category if demarche else request.get("category")),
            "status": status,
            "status_label": STATUS_LABELS[audience][status],
            "confirmed": status == DONE,
            "next_step": "",
            "contacts": [],
            "request": str(request.get("text") or "") if audience == AGENT else "",
        }
        if request.get("topic") == OUT_OF_SCOPE:
            item["next_step"] = guichet.outside_redirect(str(request.get("text") or ""), audience)
        if demarche is not None:
            request_facts = {**facts, **{k: str(v) for k, v in dict(request.get("facts") or {}).items()}}
            item["next_step"] = (agent_next_step(demarche, request_facts) if audience == AGENT
                                 else public_next_step(demarche, guichet.operators[demarche.operator]))
            item["contacts"] = [{"kind": c.kind, "value": c.value, "label": c.label, "audience": c.audience}
                                for c in visible_contacts(demarche.contacts, audience)]
        if status != DONE:
            open_points.append(
                f"{item['title']} : démarche {STATUS_LABELS[audience][status]}"
                + (" (première lecture, à confirmer)" if audience == AGENT and demarche is not None else "")
            )
        items.append(item)
    known = [conditions[k].case(v, audience) for k, v in facts.items() if v in conditions[k].cases]
    for key, value in facts.items():
        if value == "inconnu":
            open_points.append("À vérifier : " + conditions[key].question(audience))
    pending = slots.get("pending_question")
    if pending in conditions and pending not in facts:
        open_points.append("Question en attente : " + conditions[pending].question(audience))
    summary = {"type": "summary", "audience": audience, "count": len(items), "items": items, "facts": known,
               "open": open_points}
    summary["text"] = summary_text(summary)
    return summary


def summary_text(summary: Mapping[str, object]) -> str:
    """Plain text of a summary payload (for the counsellor's own tools, or the person's copy)."""
    agent = summary.get("audience") == AGENT
    items = list(summary.get("items") or [])
    lines = [("Synthèse du dossier" if agent else "Récapitulatif de vos démarches")
             + f" : {len(items)} démarche{'s' if len(items) > 1 else ''}"]
    for item in items:
        lines.append("")
        head = f"{item['index']}. {item['title']}"
        if item.get("operator_name"):
            head += f" — {item['operator_name']}"
        lines.append(head)
        if item.get("category_label"):
            lines.append(f"   Catégorie : {item['category_label']} ({item['status_label']})")
        if agent and item.get("request"):
            lines.append(f"   Demande : « {item['request']} »")
        if item.get("next_step"):
            label = "Action à réaliser" if agent else "Prochaine étape"
            step = str(item["next_step"]).replace("\n", "\n   ")
            lines.append(f"   {label} : {step}")
        if item.get("contacts"):
            lines.append("   Contacts :" if agent else "   Contacts utiles :")
        for contact in item.get("contacts") or []:
            suffix = " (réservé aux conseillers)" if contact["audience"] == AGENT else ""
            if contact["kind"] == "service":
                lines.append(f"   - {contact['value']} ({contact['label']}){suffix}")
            else:
                lines.append(f"   - {contact['label']} : {contact['value']}{suffix}")
    facts = list(summary.get("facts") or [])
    if facts:
        lines += ["", "Éléments connus :" if agent else "Ce que vous nous avez indiqué :"]
        lines += [f"- {f[0].upper()}{f[1:]}" for f in facts]
    open_points = list(summary.get("open") or [])
    lines += ["", "Reste à traiter :" if agent else "Ce qu'il reste à faire :"]
    lines += [f"- {p}" for p in open_points] if open_points else ["- Rien : toutes les démarches ont été vues."]
    return "\n".join(lines)
