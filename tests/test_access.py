"""Closed by default, without servers: the generated counsellor code, the login limit, console
sessions in the database, and the Rasa command line built from the settings. Over HTTP with real
servers: tests/test_access_http.py."""
import os
import stat
import subprocess
import sys
import threading
from pathlib import Path

import pytest
from sqlalchemy import create_engine

from bot import access
from bot.config import get_settings
from bot.serve import problems, rasa_arguments

ROOT = Path(__file__).resolve().parent.parent


# -- the counsellor code ----------------------------------------------------------------------------


def test_code_is_generated_once_strong_and_private(tmp_path):
    path = tmp_path / "var" / "code-conseiller.txt"
    code, created = access.ensure_code_file(path)
    assert created and path.read_text().strip() == code
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600  # readable by the server's user only
    groups = code.split("-")
    assert len(groups) == access.CODE_GROUPS and all(len(g) == access.CODE_GROUP_LENGTH for g in groups)
    assert set(code) <= set(access.CODE_ALPHABET + "-")
    assert access.ensure_code_file(path) == (code, False)  # kept across restarts
    assert access.new_code() != access.new_code()
    assert list(path.parent.iterdir()) == [path]  # no temporary file left


def test_processes_starting_together_share_one_code(tmp_path):
    path = tmp_path / "code-conseiller.txt"
    results, barrier = [], threading.Barrier(8)

    def start():
        barrier.wait()
        results.append(access.ensure_code_file(path))

    threads = [threading.Thread(target=start) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len({code for code, _ in results}) == 1 and sum(created for _, created in results) == 1


def test_default_location_environment_and_bad_files(tmp_path):
    assert get_settings({}).agent_code_file == ROOT / "var" / "code-conseiller.txt"
    given = get_settings({"GUICHET_AGENT_TOKEN": "code-choisi-par-la-structure", "GUICHET_AGENT_CODE_FILE": str(tmp_path / "x")})
    assert access.agent_code(given) == "code-choisi-par-la-structure" and not (tmp_path / "x").exists()
    assert "GUICHET_AGENT_TOKEN" in access.where_is_the_code(given)
    empty = tmp_path / "vide.txt"
    empty.write_text("\n")
    with pytest.raises(access.AccessError, match="supprimez ce fichier"):
        access.ensure_code_file(empty)
    with pytest.raises(access.AccessError, match="impossible de créer"):
        access.ensure_code_file(Path("/proc/guichet/code-conseiller.txt"))


def test_where_is_the_code_names_the_file_never_the_code(tmp_path):
    settings = get_settings({"GUICHET_AGENT_CODE_FILE": str(tmp_path / "code-conseiller.txt")})
    first = access.where_is_the_code(settings)
    code = (tmp_path / "code-conseiller.txt").read_text().strip()
    assert str(tmp_path / "code-conseiller.txt") in first and "créé à l'instant" in first and code not in first
    assert "créé à l'instant" not in access.where_is_the_code(settings)


def test_code_comparison():
    assert access.code_matches("abcd-efgh", "abcd-efgh") and access.code_matches(" abcd-efgh\n", "abcd-efgh")
    assert not access.code_matches("ABCD-EFGH", "abcd-efgh") and not access.code_matches(None, "abcd-efgh")
    assert not access.code_matches("", "") and not access.code_matches("\udc00", "abcd-efgh")


# -- login limit and sessions -----------------------------------------------------------------------


@pytest.fixture
def engine(tmp_path):
    return create_engine(f"sqlite:///{tmp_path / 'guichet.db'}", future=True)


def test_five_failures_in_15_minutes_block_the_address_until_the_oldest_expires(engine):
    t0 = 1_000_000.0
    assert access.retry_after(engine, "10.0.0.1", now=t0) is None
    lefts = [access.record_failure(engine, "10.0.0.1", now=t0 + 60 * i) for i in range(5)]  # one a minute
    assert lefts == [4, 3, 2, 1, 0]
    assert access.retry_after(engine, "10.0.0.1", now=t0 + 300) == pytest.approx(600)  # 15 min after the first
    assert access.retry_after(engine, "10.0.0.2", now=t0 + 300) is None  # per address
    assert access.retry_after(engine, "10.0.0.1", now=t0 + 901) is None  # the first one left the window
    assert access.record_failure(engine, "10.0.0.1", now=t0 + 902) == 0  # …and the 6th blocks again
    assert access.retry_after(engine, "10.0.0.1", now=t0 + 903) == pytest.approx(60 + 900 - 903)
    assert "Réessayez dans 10 minutes." in access.wait_message(600)
    assert "Réessayez dans 1 minute." in access.wait_message(20)


def test_sessions_expire_end_at_logout_and_with_a_new_code(engine):
    t0 = 2_000_000.0
    token = access.open_session(engine, "code-1", 3600, now=t0)
    assert access.session_valid(engine, token, "code-1", now=t0 + 3599)
    assert not access.session_valid(engine, token, "code-1", now=t0 + 3601)  # expired
    assert not access.session_valid(engine, token, "code-2", now=t0 + 1)  # the code was changed
    assert not access.session_valid(engine, token + "x", "code-1", now=t0 + 1)
    assert not access.session_valid(engine, None, "code-1") and not access.session_valid(engine, "x" * 500, "code-1")
    other = access.open_session(engine, "code-1", 3600, now=t0)
    access.close_session(engine, token, "code-1")  # logout
    assert not access.session_valid(engine, token, "code-1", now=t0 + 1)
    assert access.session_valid(engine, other, "code-1", now=t0 + 1)  # other sessions go on
    with engine.connect() as conn:  # the database holds a keyed hash, never the token
        stored = [row[0] for row in conn.execute(access.sessions.select())]
    assert token not in " ".join(map(str, stored)) and other not in " ".join(map(str, stored))


# -- Rasa's command line from the settings ----------------------------------------------------------


def test_rasa_api_and_cors_are_off_unless_configured():
    closed = rasa_arguments(get_settings({}), "m.tar.gz", "e.yml", "c.yml", 5005)
    assert "--enable-api" not in closed and "--cors" not in closed and "--auth-token" not in closed
    settings = get_settings({"GUICHET_API_TOKEN": "t" * 32,
                             "GUICHET_ALLOWED_ORIGINS": "https://www.mairie-dole.fr, http://127.0.0.1:8080/"})
    opened = rasa_arguments(settings, "m.tar.gz", "e.yml", "c.yml", 5005)
    assert opened[opened.index("--enable-api") + 1:opened.index("--enable-api") + 3] == ["--auth-token", "t" * 32]
    assert opened[opened.index("--cors") + 1:] == ["https://www.mairie-dole.fr", "http://127.0.0.1:8080"]


def test_wildcard_origins_and_weak_api_tokens_are_refused():
    assert problems(get_settings({})) == []
    found = problems(get_settings({"GUICHET_ALLOWED_ORIGINS": "* https://ok.fr https://a.fr/chemin",
                                   "GUICHET_API_TOKEN": "court"}))
    assert len(found) == 3 and "« * » n'est pas accepté" in found[0] and "/chemin" in found[1]
    assert "trop court" in found[2]
    env = {**os.environ, "GUICHET_ALLOWED_ORIGINS": "*"}
    result = subprocess.run([sys.executable, "-m", "bot", "serve"], cwd=ROOT, env=env, capture_output=True, text=True)
    assert result.returncode == 2 and "« * » n'est pas accepté" in result.stderr and "Traceback" not in result.stderr
