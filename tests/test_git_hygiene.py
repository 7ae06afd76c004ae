"""Nothing secret or local in git: no database, no conversation, no counsellor code; local state is
ignored; and the check run at the end of every test session (tests/gitclean.py, conftest.py) sees
what a run writes into the checkout."""
import subprocess
from pathlib import Path

import pytest

import gitclean

ROOT = Path(__file__).resolve().parent.parent


def git(*args, cwd=ROOT):
    return subprocess.run(["git", *args], cwd=cwd, capture_output=True, text=True, check=True).stdout


@pytest.fixture(scope="module")
def tracked():
    if gitclean.snapshot() is None:
        pytest.skip("not a git checkout (archive): nothing versioned to check")
    return git("ls-files", "-z").split("\0")


def test_no_database_or_local_state_is_tracked(tracked):
    suspicious = [path for path in tracked if path.endswith((".db", ".db-journal")) or ".sqlite" in path
                  or "${" in path or (path.startswith("var/") and path != "var/.gitkeep")
                  or path.startswith(("models/", ".rasa/", "test-artifacts/"))]
    assert suspicious == []
    assert "var/.gitkeep" in tracked  # var/ exists in a fresh clone: Rasa's SQLite tracker store needs it


def test_local_state_is_ignored(tracked):
    paths = ["var/tracker.db", "var/guichet.db", "var/code-conseiller.txt", "var/endpoints.yml", "tracker.db",
             "data/x.sqlite3", "x.sqlite", "models/guichet.tar.gz", ".venv", "node_modules", "test-artifacts/a.png"]
    result = subprocess.run(["git", "check-ignore", "--no-index", *paths], cwd=ROOT, capture_output=True, text=True)
    assert sorted(result.stdout.split()) == sorted(paths)


def test_the_session_check_reports_what_a_run_writes(tmp_path):
    git("init", "-q", cwd=tmp_path)
    (tmp_path / ".gitignore").write_text("var/\n")
    (tmp_path / "tracked.txt").write_text("v1\n")
    (tmp_path / "dirty.txt").write_text("v1\n")
    git("add", ".", cwd=tmp_path)
    git("-c", "user.name=t", "-c", "user.email=t@example.org", "commit", "-qm", "init", cwd=tmp_path)
    (tmp_path / "dirty.txt").write_text("work in progress\n")  # uncommitted work before the run
    before = gitclean.snapshot(tmp_path)
    assert list(before) == [" M dirty.txt"]
    assert gitclean.changes(before, tmp_path) == []
    (tmp_path / "var").mkdir()
    (tmp_path / "var" / "tracker.db").write_bytes(b"ignored")
    assert gitclean.changes(before, tmp_path) == []
    (tmp_path / "${GUICHET_TRACKER_DB}").write_bytes(b"SQLite format 3")
    (tmp_path / "tracked.txt").write_text("v2\n")
    (tmp_path / "dirty.txt").write_text("changed again by a test\n")
    assert gitclean.changes(before, tmp_path) == [" M dirty.txt", " M tracked.txt", "?? ${GUICHET_TRACKER_DB}"]
