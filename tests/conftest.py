import shutil
from pathlib import Path

import pytest

from bot.db import make_engine, make_session_factory
from bot.knowledge.build import build
from bot.knowledge.loader import load_knowledge
from bot.knowledge.repository import KnowledgeRepository

ROOT = Path(__file__).resolve().parent.parent
KNOWLEDGE_DIR = ROOT / "knowledge"


@pytest.fixture(scope="session")
def knowledge():
    return load_knowledge(KNOWLEDGE_DIR)


@pytest.fixture(scope="session")
def kb_engine(knowledge, tmp_path_factory):
    engine = make_engine(f"sqlite:///{tmp_path_factory.mktemp('kb') / 'kb.db'}")
    build(knowledge, engine)
    return engine


@pytest.fixture(scope="session")
def repo(kb_engine):
    return KnowledgeRepository(make_session_factory(kb_engine))


@pytest.fixture
def knowledge_copy(tmp_path):
    """A writable copy of knowledge/ for tests that break files."""
    target = tmp_path / "knowledge"
    shutil.copytree(KNOWLEDGE_DIR, target)
    return target
