"""Command line: `python -m bot kb …|report|purge|endpoints|serve|rasa generate`."""
from __future__ import annotations

import argparse
import sys
import time
from typing import List, Optional

from bot.config import get_settings
from bot.db import DatabaseError, make_engine, make_session_factory
from bot.knowledge.types import CATEGORIES, OPERATOR_SLUGS


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m bot", description="Guichet — outils en ligne de commande")
    groups = parser.add_subparsers(dest="group", required=True)
    kb = groups.add_parser("kb", help="base de connaissances (référentiel national)")
    commands = kb.add_subparsers(dest="command", required=True)
    commands.add_parser("check", help="valider les fichiers YAML de knowledge/")
    commands.add_parser("build", help="valider puis charger knowledge/ dans la base SQL")
    commands.add_parser("summary", help="nombre de démarches par opérateur et par catégorie")
    show = commands.add_parser("show", help="afficher la fiche d'une démarche")
    show.add_argument("id", help="identifiant, par exemple caf.naissance_demarches")
    search = commands.add_parser("search", help="rechercher une démarche en français")
    search.add_argument("query", help="mots recherchés, par exemple « carte grise »")
    search.add_argument("--operator", choices=OPERATOR_SLUGS, help="limiter à un opérateur")
    search.add_argument("--category", choices=CATEGORIES, help="limiter à une catégorie")
    search.add_argument("--limit", type=int, default=10, help="nombre maximal de résultats (10 par défaut)")
    report = groups.add_parser("report", help="bilan trimestriel des motifs de contact (CSV et graphique PNG)")
    report.add_argument("--quarter", required=True, help="trimestre, par exemple 2026-T4")
    report.add_argument("--structure", help="limiter à une structure France services (metadata.structure)")
    report.add_argument("--out", default="var/rapports", help="dossier de sortie (var/rapports par défaut)")
    purge = groups.add_parser("purge", help="supprimer les conversations anciennes (RGPD)")
    purge.add_argument("--older-than", required=True, help="durée d'inactivité, par exemple 90d (jours)")
    endpoints = groups.add_parser(
        "endpoints", help="écrire le fichier endpoints de Rasa (GUICHET_TRACKER_URL, GUICHET_LOCK_STORE_URL, GUICHET_ACTION_URL)"
    )
    endpoints.add_argument("--out", help="fichier à écrire (sinon : affiché sur la sortie standard)")
    serve = groups.add_parser(
        "serve", help="démarrer le serveur Rasa avec les réglages de Guichet (pages, API REST, socket.io ; ce que lance make run)"
    )
    serve.add_argument("--port", type=int, help="port HTTP (GUICHET_RASA_PORT, 5005 par défaut)")
    serve.add_argument("--model", help="modèle (models/guichet.tar.gz par défaut)")
    serve.add_argument("--endpoints", help="fichier endpoints de Rasa (sinon : écrit dans var/endpoints.yml à partir des réglages)")
    serve.add_argument("--credentials", help="canaux de Rasa (credentials.yml par défaut)")
    actions = groups.add_parser(
        "actions", help="démarrer le serveur d'actions de Rasa (GUICHET_ACTION_HOST, 127.0.0.1 par défaut ; ce que lance make run)"
    )
    actions.add_argument("--port", type=int, help="port HTTP (GUICHET_ACTION_PORT, 5055 par défaut)")
    rasa = groups.add_parser("rasa", help="fichiers Rasa dérivés de knowledge/")
    rasa_commands = rasa.add_subparsers(dest="command", required=True)
    generate = rasa_commands.add_parser("generate", help="régénérer domain/knowledge.yml, data/rules/topics.yml, data/nlu/operators.yml")
    generate.add_argument("--check", action="store_true", help="vérifier seulement qu'ils sont à jour")
    return parser


def main(argv: Optional[List[str]] = None) -> int:
    args = _parser().parse_args(argv)
    try:
        if args.group == "rasa":
            return cmd_rasa_generate(args)
        if args.group == "report":
            return cmd_report(args)
        if args.group == "purge":
            return cmd_purge(args)
        if args.group == "endpoints":
            return cmd_endpoints(args)
        if args.group == "serve":
            return cmd_serve(args)
        if args.group == "actions":
            return cmd_actions(args)
        return _KB_COMMANDS[args.command](args)
    except DatabaseError as exc:
        print(f"Erreur : {exc}", file=sys.stderr)
        return 2


def _load():
    from bot.knowledge.loader import KnowledgeError, load_knowledge

    settings = get_settings()
    try:
        return load_knowledge(settings.knowledge_dir)
    except KnowledgeError as exc:
        for problem in exc.problems:
            print(problem, file=sys.stderr)
        print(f"{len(exc.problems)} problème(s) dans {settings.knowledge_dir}.", file=sys.stderr)
        return None


def _repository():
    from bot.knowledge.repository import KnowledgeRepository

    engine = make_engine(get_settings().db_url)
    repo = KnowledgeRepository(make_session_factory(engine))
    repo.ensure_ready()
    return repo


def cmd_check(_args) -> int:
    knowledge = _load()
    if knowledge is None:
        return 1
    print(f"Base de connaissances valide : {len(knowledge.operators)} opérateurs, {len(knowledge.demarches)} démarches.")
    return 0


def cmd_build(_args) -> int:
    from sqlalchemy.exc import SQLAlchemyError

    from bot.knowledge.build import build

    knowledge = _load()
    if knowledge is None:
        print("Construction annulée : la base existante n'a pas été modifiée.", file=sys.stderr)
        return 1
    settings = get_settings()
    try:
        build(knowledge, make_engine(settings.db_url))
    except SQLAlchemyError as exc:
        print(f"Erreur de base de données : {exc.__class__.__name__} : {getattr(exc, 'orig', exc)}", file=sys.stderr)
        print("Construction annulée : la base existante n'a pas été modifiée.", file=sys.stderr)
        return 2
    print(f"Base construite : {len(knowledge.demarches)} démarches ({_safe_url(settings.db_url)}).")
    return cmd_summary(_args)


def cmd_summary(_args) -> int:
    repo = _repository()
    counts = repo.counts()
    names = {op.slug: op.name for op in repo.operators()}
    short = {"niveau_1": "Niveau 1", "niveau_2": "Niveau 2", "urgent": "Urgent", "hors_bouquet": "Hors bouquet"}
    header = f"{'Opérateur':<44}" + "".join(f"{short[c]:>14}" for c in CATEGORIES) + f"{'Total':>8}"
    print(header)
    print("-" * len(header))
    totals = {c: 0 for c in CATEGORIES}
    for slug in OPERATOR_SLUGS:
        row = counts.get(slug, {})
        for c in CATEGORIES:
            totals[c] += row.get(c, 0)
        print(f"{names.get(slug, slug)[:43]:<44}" + "".join(f"{row.get(c, 0):>14}" for c in CATEGORIES) + f"{sum(row.values()):>8}")
    print("-" * len(header))
    print(f"{'Total':<44}" + "".join(f"{totals[c]:>14}" for c in CATEGORIES) + f"{sum(totals.values()):>8}")
    return 0


def cmd_show(args) -> int:
    from bot.cards import card_text

    repo = _repository()
    demarche = repo.get(args.id)
    if demarche is None:
        print(f"Aucune démarche n'a l'identifiant « {args.id} ».", file=sys.stderr)
        hits = repo.search(args.id.replace(".", " ").replace("_", " "), limit=3)
        if hits:
            print("Vouliez-vous dire : " + ", ".join(h.demarche.id for h in hits) + " ?", file=sys.stderr)
        return 1
    names = {op.slug: op.name for op in repo.operators()}
    print(card_text(demarche, names[demarche.operator]))
    return 0


def cmd_search(args) -> int:
    if args.limit < 1:
        print("Erreur : --limit doit être au moins 1.", file=sys.stderr)
        return 2
    repo = _repository()
    hits = repo.search(args.query, operator=args.operator, category=args.category, limit=args.limit)
    if not hits:
        print(f"Aucun résultat pour « {args.query} ».")
        return 0
    for rank, hit in enumerate(hits, 1):
        d = hit.demarche
        print(f"{rank:>2}. [{d.category_label}] {d.title}")
        print(f"    {d.id} — {d.source.operator}, « {d.section} » (score {hit.score:.2f})")
    return 0


def cmd_rasa_generate(args) -> int:
    from bot.config import PROJECT_ROOT
    from bot.rasa_data import RasaDataError, generate, stale, write

    knowledge = _load()
    if knowledge is None:
        return 1
    try:
        files = generate(knowledge, PROJECT_ROOT)
    except RasaDataError as exc:
        print(f"Erreur : {exc}", file=sys.stderr)
        return 1
    if args.check:
        outdated = stale(files, PROJECT_ROOT)
        if outdated:
            print("Fichiers Rasa à régénérer (make data) : " + ", ".join(outdated), file=sys.stderr)
            return 1
        print("Fichiers Rasa à jour.")
        return 0
    changed = write(files, PROJECT_ROOT)
    print("Fichiers régénérés : " + (", ".join(changed) if changed else "aucun changement"))
    return 0


def cmd_report(args) -> int:
    from pathlib import Path

    from bot.report import ReportError, build_report, tracker_engine, write_outputs

    settings = get_settings()
    try:
        report = build_report(
            tracker_engine(settings.tracker_url),
            args.quarter,
            args.structure,
            progress=sys.stderr.isatty(),
            feedback_engine=make_engine(settings.db_url),
        )
    except ReportError as exc:
        print(f"Erreur : {exc}", file=sys.stderr)
        return 2
    csv_path, png_path = write_outputs(report, Path(args.out))
    print(f"Trimestre {report.quarter} : {report.conversations} conversation(s).")
    for name, counter in (("Par canal", report.by_channel), ("Par catégorie", report.by_category), ("Issue", report.by_outcome)):
        print(f"{name} : " + (", ".join(f"{k} {v}" for k, v in sorted(counter.items())) or "aucune"))
    print(f"Questions posées en moyenne : {report.mean_questions:.2f}")
    print("Avis : " + (", ".join(f"{k} {v}" for k, v in sorted(report.feedback.items())) or "aucun"))
    print(f"Fichiers écrits : {csv_path} et {png_path}")
    return 0


def cmd_purge(args) -> int:
    from sqlalchemy import create_engine
    from sqlalchemy.exc import SQLAlchemyError

    from bot import feedback as feedback_store
    from bot import handoff
    from bot.retention import RetentionError, parse_days, purge

    try:
        days = parse_days(args.older_than)
        conversations, events = purge(create_engine(get_settings().tracker_url, future=True), days)
        guichet_db = make_engine(get_settings().db_url)
        opinions = feedback_store.purge(guichet_db, time.time() - days * 86400)
        callbacks = handoff.purge_callbacks(guichet_db, days)
        cases = handoff.purge_cases(guichet_db, days)
    except RetentionError as exc:
        print(f"Erreur : {exc}", file=sys.stderr)
        return 2
    except SQLAlchemyError as exc:
        print(f"Erreur de base de données : {exc.__class__.__name__}", file=sys.stderr)
        return 2
    print(f"{conversations} conversation(s) inactive(s) depuis plus de {days} jours supprimée(s) ({events} événements).")
    print(f"{opinions} avis de plus de {days} jours supprimé(s).")
    print(f"{callbacks} demande(s) de rappel et {cases} demande(s) de conseiller terminée(s) de plus de {days} jours "
          "supprimée(s).")
    return 0


def cmd_endpoints(args) -> int:
    from pathlib import Path

    from bot.endpoints import EndpointsError, describe, render, write

    try:
        if not args.out:
            sys.stdout.write(render())
            return 0
        path = write(Path(args.out))
        print(f"{path} écrit — {describe()}", file=sys.stderr)
    except EndpointsError as exc:
        print(f"Erreur : {exc}", file=sys.stderr)
        return 2
    return 0


def cmd_serve(args) -> int:
    from bot.access import AccessError
    from bot.endpoints import EndpointsError
    from bot.serve import run

    try:
        return run(args.model, args.endpoints, args.credentials, args.port)
    except (AccessError, EndpointsError) as exc:
        print(f"Erreur : {exc}", file=sys.stderr)
        return 2


def cmd_actions(args) -> int:
    from bot.serve import run_actions

    return run_actions(args.port)


def _safe_url(url: str) -> str:
    from sqlalchemy.engine import make_url

    return make_url(url).render_as_string(hide_password=True)


_KB_COMMANDS = {
    "check": cmd_check,
    "build": cmd_build,
    "summary": cmd_summary,
    "show": cmd_show,
    "search": cmd_search,
}
