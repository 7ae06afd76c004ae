"""`bot kb build`: one transaction, reproducible, failing builds change nothing."""
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import text

from bot.db import make_engine
from bot.knowledge import build as build_module
from bot.knowledge.build import build
from bot.knowledge.models import KnowledgeBase

ROOT = Path(__file__).resolve().parent.parent


def dump(engine):
    with engine.connect() as conn:
        return {
            t.name: sorted(map(tuple, conn.execute(t.select()).all()), key=repr)
            for t in KnowledgeBase.metadata.sorted_tables
        }


def test_build_is_reproducible(knowledge, tmp_path):
    engine = make_engine(f"sqlite:///{tmp_path / 'a.db'}")
    counts = build(knowledge, engine)
    first = dump(engine)
    assert counts["kb_demarches"] == len(knowledge.demarches)
    assert counts["kb_operators"] == 12
    build(knowledge, engine)
    assert dump(engine) == first


def test_failing_build_leaves_previous_database_intact(knowledge, tmp_path, monkeypatch):
    engine = make_engine(f"sqlite:///{tmp_path / 'b.db'}")
    build(knowledge, engine)
    before = dump(engine)
    original = build_module._insert

    def insert_then_fail(session, data):
        original(session, data)
        session.flush()
        raise RuntimeError("disk full")

    monkeypatch.setattr(build_module, "_insert", insert_then_fail)
    smaller = type(knowledge)(knowledge.operators, knowledge.demarches[:5], knowledge.conditions, knowledge.documents)
    with pytest.raises(RuntimeError):
        build(smaller, engine)
    assert dump(engine) == before


def test_cli_build_refuses_invalid_knowledge_and_keeps_db(knowledge_copy, tmp_path):
    db = tmp_path / "c.db"
    env = {"GUICHET_DB_URL": f"sqlite:///{db}", "GUICHET_KNOWLEDGE_DIR": str(knowledge_copy), "PATH": "/usr/bin:/bin"}
    ok = subprocess.run([sys.executable, "-m", "bot", "kb", "build"], cwd=ROOT, env=env, capture_output=True, text=True)
    assert ok.returncode == 0, ok.stderr
    assert "Allocations familiales" in ok.stdout or "CAF" in ok.stdout
    engine = make_engine(f"sqlite:///{db}")
    before = dump(engine)
    (knowledge_copy / "msa.yml").write_text("operator: [\n", encoding="utf-8")
    bad = subprocess.run([sys.executable, "-m", "bot", "kb", "build"], cwd=ROOT, env=env, capture_output=True, text=True)
    assert bad.returncode == 1
    assert "knowledge/msa.yml" in bad.stderr and "n'a pas été modifiée" in bad.stderr
    assert dump(engine) == before


def test_cli_reports_unbuilt_database(tmp_path):
    env = {"GUICHET_DB_URL": f"sqlite:///{tmp_path / 'empty.db'}", "PATH": "/usr/bin:/bin"}
    result = subprocess.run(
        [sys.executable, "-m", "bot", "kb", "search", "RSA"], cwd=ROOT, env=env, capture_output=True, text=True
    )
    assert result.returncode == 2
    assert "kb build" in result.stderr and "Traceback" not in result.stderr


def test_summary_counts_per_operator_and_category(repo, knowledge):
    counts = repo.counts()
    assert list(counts) == [s for s in build_module.OPERATOR_SLUGS]
    assert sum(sum(c.values()) for c in counts.values()) == len(knowledge.demarches)
    with repo._sessions.begin() as session:
        n = session.execute(text("select count(*) from kb_demarches where category = 'urgent'")).scalar_one()
    assert sum(c["urgent"] for c in counts.values()) == n
