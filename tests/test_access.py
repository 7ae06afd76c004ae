"""Closed by default, without servers: the Rasa command line built from the settings. Over HTTP
with real servers: tests/test_access_http.py."""
import os
import subprocess
import sys
from pathlib import Path

from bot.config import get_settings
from bot.serve import problems, rasa_arguments

ROOT = Path(__file__).resolve().parent.parent


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
