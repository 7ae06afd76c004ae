"""Quarterly report of the reasons people came (France services charter): CSV + PNG chart.

Reads the conversations from Rasa's SQL tracker store (table `events`) — read-only, with SQLAlchemy
Core — and counts, for one quarter: conversations per channel, per operator, per démarche, per
category, the share resolved vs redirected, the mean number of questions asked, and feedback.

A conversation is one sender id with at least one user message in the quarter. Its outcome:
- `resolu`: at least one answer, all of category niveau_1 (the counter can carry it out);
- `reoriente`: an answer of another category (niveau 2, urgent, hors bouquet), an out-of-scope
  redirection or a request for a counsellor;
- `sans_reponse`: neither.
"""
from __future__ import annotations

import csv
import json
import re
import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Dict, Iterable, List, Optional, Tuple

from sqlalchemy import MetaData, Table, and_, create_engine, select
from sqlalchemy.engine import Engine

QUARTER_RE = re.compile(r"^(\d{4})-T([1-4])$")


class ReportError(ValueError):
    pass


def quarter_bounds(quarter: str) -> Tuple[float, float]:
    """'2026-T4' -> (start, end) as UTC timestamps (end excluded)."""
    match = QUARTER_RE.match(quarter or "")
    if not match:
        raise ReportError(f"trimestre invalide « {quarter} » : attendu AAAA-TN, par exemple 2026-T4")
    year, q = int(match.group(1)), int(match.group(2))
    start = datetime(year, 3 * q - 2, 1, tzinfo=timezone.utc)
    end = datetime(year + (q == 4), 1 if q == 4 else 3 * q + 1, 1, tzinfo=timezone.utc)
    return start.timestamp(), end.timestamp()


@dataclass
class Conversation:
    sender: str
    channel: str = "inconnu"
    structure: Optional[str] = None
    answers: List[dict] = field(default_factory=list)
    questions: int = 0
    redirected: bool = False
    feedback: Counter = field(default_factory=Counter)
    counsellor_asked: bool = False  # asked for a counsellor (button, words or offer)
    taken_over: int = 0  # take-overs by a counsellor (ConversationPaused of bot/web/channel.py)
    counsellor_messages: int = 0
    waits: List[float] = field(default_factory=list)  # seconds from the request to the take-over

    @property
    def outcome(self) -> str:
        if self.redirected or any(a.get("category") != "niveau_1" for a in self.answers):
            return "reoriente"
        return "resolu" if self.answers else "sans_reponse"


@dataclass
class Report:
    quarter: str
    structure: Optional[str]
    conversations: int
    by_channel: Counter
    by_operator: Counter
    by_demarche: Counter
    by_category: Counter
    by_outcome: Counter
    mean_questions: float
    feedback: Counter
    handoff: Counter = field(default_factory=Counter)  # "<channel>:demandes|pris_en_charge|messages"
    handoff_wait: Dict[str, float] = field(default_factory=dict)  # channel -> mean seconds before a take-over

    def rows(self) -> Iterable[Tuple[str, str, object]]:
        yield "total", "conversations", self.conversations
        for name, counter in (
            ("canal", self.by_channel),
            ("operateur", self.by_operator),
            ("demarche", self.by_demarche),
            ("categorie", self.by_category),
            ("issue", self.by_outcome),
            ("avis", self.feedback),
        ):
            for key, count in sorted(counter.items(), key=lambda kv: (-kv[1], kv[0])):
                yield name, key, count
        yield "questions", "moyenne_par_conversation", round(self.mean_questions, 2)
        for key, count in sorted(self.handoff.items()):
            yield "conseiller", key, count
        for channel, seconds in sorted(self.handoff_wait.items()):
            yield "conseiller", f"{channel}:attente_moyenne_s", round(seconds, 1)


def current_quarter(now: Optional[float] = None) -> str:
    """'2026-T4' for a time in October–December 2026 (UTC)."""
    moment = datetime.fromtimestamp(now if now is not None else time.time(), tz=timezone.utc)
    return f"{moment.year}-T{(moment.month - 1) // 3 + 1}"


def tracker_engine(url: str) -> Engine:
    return create_engine(url, future=True)


def _events(engine: Engine, start: float, end: float, progress: bool):
    metadata = MetaData()
    try:
        events = Table("events", metadata, autoload_with=engine)
    except Exception as exc:  # noqa: BLE001 - reported in French below
        raise ReportError(
            f"aucune conversation enregistrée dans {engine.url.render_as_string(hide_password=True)} "
            f"({exc.__class__.__name__}) : démarrez Guichet (make run) ou indiquez GUICHET_TRACKER_URL"
        ) from exc
    with engine.connect() as conn:
        senders = [
            row[0]
            for row in conn.execute(
                select(events.c.sender_id)
                .where(and_(events.c.type_name == "user", events.c.timestamp >= start, events.c.timestamp < end))
                .distinct()
                .order_by(events.c.sender_id)
            )
        ]
        iterator = senders
        if progress:
            from tqdm import tqdm

            iterator = tqdm(senders, desc="Conversations", unit="conv.")
        for sender in iterator:
            rows = conn.execute(
                select(events.c.type_name, events.c.data)
                .where(and_(events.c.sender_id == sender, events.c.timestamp >= start, events.c.timestamp < end))
                .order_by(events.c.id)
            ).all()
            yield sender, [(type_name, json.loads(data or "{}")) for type_name, data in rows]


def _conversation(sender: str, events: List[Tuple[str, dict]]) -> Conversation:
    conv = Conversation(sender)
    for type_name, data in events:
        if type_name == "user":
            metadata = data.get("metadata") or {}
            if conv.channel == "inconnu":
                conv.channel = str(metadata.get("channel") or data.get("input_channel") or "inconnu")
            if conv.structure is None and metadata.get("structure"):
                conv.structure = str(metadata["structure"])
            intent = ((data.get("parse_data") or {}).get("intent") or {}).get("name")
            if intent in ("demander_conseiller", "out_of_scope"):
                conv.redirected = True
            if intent == "demander_conseiller":
                conv.counsellor_asked = True
        elif type_name == "bot":
            custom = (data.get("data") or {}).get("custom") or {}
            kind = custom.get("type")
            if kind == "answer":
                conv.answers.append(custom)
            elif kind == "question":
                conv.questions += 1
            elif kind in ("out_of_scope", "counsellor"):
                conv.redirected = True
            if kind == "counsellor":
                conv.counsellor_asked = True
            elif kind == "counsellor_message":
                conv.counsellor_messages += 1
        elif type_name == "pause":
            meta = data.get("metadata") or {}
            if meta.get("handoff") == "take":
                conv.taken_over += 1
                if isinstance(meta.get("waited_s"), (int, float)):
                    conv.waits.append(float(meta["waited_s"]))
    return conv


def build_report(
    engine: Engine,
    quarter: str,
    structure: Optional[str] = None,
    progress: bool = False,
    feedback_engine: Optional[Engine] = None,
) -> Report:
    """`engine`: Rasa's tracker store; `feedback_engine`: Guichet's database (bot.feedback), if any."""
    start, end = quarter_bounds(quarter)
    conversations = [_conversation(s, ev) for s, ev in _events(engine, start, end, progress)]
    if structure:
        conversations = [c for c in conversations if c.structure == structure]
    if feedback_engine is not None:
        from bot import feedback as feedback_store

        by_sender = {c.sender: c for c in conversations}
        for sender, _demarche, _channel, useful in feedback_store.between(feedback_engine, start, end):
            if sender in by_sender:
                by_sender[sender].feedback["utile" if useful else "pas utile"] += 1
    by_operator, by_demarche, by_category, feedback = Counter(), Counter(), Counter(), Counter()
    for conv in conversations:
        for answer in conv.answers:
            by_operator[answer.get("operator") or "aucun (urgence)"] += 1
            by_demarche[answer.get("demarche") or "aucune (urgence)"] += 1
            by_category[answer.get("category") or "inconnue"] += 1
        feedback.update(conv.feedback)
    n = len(conversations)
    handoff, waits = Counter(), {}
    for conv in conversations:
        if conv.counsellor_asked:
            handoff[f"{conv.channel}:demandes"] += 1
        if conv.taken_over:
            handoff[f"{conv.channel}:pris_en_charge"] += 1
            waits.setdefault(conv.channel, []).extend(conv.waits)
        if conv.counsellor_messages:
            handoff[f"{conv.channel}:messages"] += conv.counsellor_messages
    return Report(
        quarter=quarter,
        structure=structure,
        conversations=n,
        by_channel=Counter(c.channel for c in conversations),
        by_operator=by_operator,
        by_demarche=by_demarche,
        by_category=by_category,
        by_outcome=Counter(c.outcome for c in conversations),
        mean_questions=(sum(c.questions for c in conversations) / n) if n else 0.0,
        feedback=feedback,
        handoff=handoff,
        handoff_wait={channel: sum(w) / len(w) for channel, w in waits.items() if w},
    )


CATEGORY_TITLES = {"niveau_1": "Niveau 1", "niveau_2": "Niveau 2", "urgent": "Urgent", "hors_bouquet": "Hors bouquet"}


def write_outputs(report: Report, out_dir: Path) -> Tuple[Path, Path]:
    out_dir.mkdir(parents=True, exist_ok=True)
    suffix = f"-{report.structure}" if report.structure else ""
    csv_path = out_dir / f"motifs-{report.quarter}{suffix}.csv"
    with csv_path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle, delimiter=";")
        writer.writerow(["rubrique", "valeur", "nombre"])
        writer.writerows(report.rows())
    png_path = out_dir / f"motifs-{report.quarter}{suffix}.png"
    _chart(report, png_path)
    return csv_path, png_path


def _chart(report: Report, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.ticker import MaxNLocator

    fig, axes = plt.subplots(1, 3, figsize=(15, 5))
    panels = (
        ("Réponses par catégorie", {CATEGORY_TITLES.get(k, k): v for k, v in report.by_category.items()}),
        ("Réponses par opérateur", dict(report.by_operator.most_common(12))),
        ("Issue des conversations", {"Résolu": report.by_outcome["resolu"], "Réorienté": report.by_outcome["reoriente"],
                                     "Sans réponse": report.by_outcome["sans_reponse"]}),
    )
    for ax, (title, data) in zip(axes, panels):
        labels, values = list(data), list(data.values())
        ax.barh(labels or ["(aucune)"], values or [0], color="#000091")
        ax.set_title(title)
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        ax.invert_yaxis()
        for i, v in enumerate(values):
            ax.text(v, i, f" {v}", va="center")
    who = f" — {report.structure}" if report.structure else ""
    fig.suptitle(f"Guichet — motifs de contact, trimestre {report.quarter}{who} ({report.conversations} conversations)")
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
