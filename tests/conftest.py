import os
import shutil
from pathlib import Path

import pytest

from bot.db import make_engine, make_session_factory
from bot.knowledge.build import build
from bot.knowledge.loader import load_knowledge
from bot.knowledge.repository import KnowledgeRepository

import gitclean

ROOT = Path(__file__).resolve().parent.parent
KNOWLEDGE_DIR = ROOT / "knowledge"


@pytest.fixture(scope="session", autouse=True)
def counsellor_code_file(tmp_path_factory):
    """Without GUICHET_AGENT_TOKEN, Guichet generates the counsellor code in var/ at first use: the
    tests (and the servers they start, which inherit the environment) keep theirs in a temporary folder."""
    with pytest.MonkeyPatch.context() as patch:
        path = tmp_path_factory.mktemp("code") / "code-conseiller.txt"
        patch.setenv("GUICHET_AGENT_CODE_FILE", str(path))
        yield path


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


# -- the run leaves the checkout clean (tests/gitclean.py) -----------------------------------------

_GIT_BEFORE = pytest.StashKey()


def pytest_sessionstart(session):
    baseline = os.environ.get("GUICHET_GIT_BASELINE")  # written by `make test` before its first step
    before = gitclean.load(Path(baseline)) if baseline else None
    session.config.stash[_GIT_BEFORE] = before if before is not None else gitclean.snapshot()


def pytest_sessionfinish(session, exitstatus):
    before = session.config.stash.get(_GIT_BEFORE, None)
    if before is None:
        return  # not a git checkout
    written = gitclean.changes(before)
    if written:
        reporter = session.config.pluginmanager.get_plugin("terminalreporter")
        message = ("The test run changed the checkout (`git status --porcelain`); write under var/ or a "
                   "temporary folder, or ignore it in .gitignore:\n  " + "\n  ".join(written))
        if reporter is not None:
            reporter.write_line("\n" + message, red=True, bold=True)
        session.exitstatus = pytest.ExitCode.TESTS_FAILED
