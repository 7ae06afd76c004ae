"""The Rasa CLI on the repository as it is, as a Rasa user runs it: from the project root, with no
GUICHET_* variable, the versioned endpoints.yml (action server at 127.0.0.1:5055, conversations in
var/tracker.db) and the default file names (domain.yml, config.yml, data/, models/)."""
import os
import socket
import sqlite3
import subprocess
import sys
import uuid
from pathlib import Path

import pytest

from servers import Processes, wait_until

ROOT = Path(__file__).resolve().parent.parent
RASA = Path(sys.executable).parent / "rasa"


def no_guichet_variables(**extra):
    env = {k: v for k, v in os.environ.items() if not k.startswith("GUICHET_") and k != "PYTHONPATH"}
    env.update(extra)
    return env


def port_in_use(port):
    with socket.socket() as s:
        s.settimeout(1)
        return s.connect_ex(("127.0.0.1", port)) == 0


def test_rasa_data_validate_with_no_argument():
    result = subprocess.run([str(RASA), "data", "validate"], cwd=ROOT, env=no_guichet_variables(),
                            capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-2000:]
    assert "does not exist" not in result.stdout + result.stderr


def test_echo_bonjour_into_rasa_shell(kb_engine, tmp_path):
    if not (ROOT / "models" / "guichet.tar.gz").exists():
        pytest.fail("models/guichet.tar.gz absent : entraînez le modèle (make train ou scripts/train.sh)")
    busy = [port for port in (5005, 5055) if port_in_use(port)]
    if busy:  # `make run` or `make chat` is running on this machine
        pytest.fail(f"ports {busy} in use: stop `make run` / `make chat` before this test (it runs the Rasa CLI "
                    "with its defaults: Rasa on 5005, actions on 5055)")
    processes = Processes(tmp_path)
    sender = f"test-rasa-shell-{uuid.uuid4().hex}"
    try:
        # `python -m bot actions` with no argument (the README's first terminal); its knowledge base is the
        # tests' (a fresh clone has not built var/guichet.db).
        actions = processes.spawn("actions", [sys.executable, "-m", "bot", "actions"],
                                  no_guichet_variables(GUICHET_DB_URL=str(kb_engine.url),
                                                       GUICHET_AGENT_CODE_FILE=str(tmp_path / "code-conseiller.txt")))
        wait_until("http://127.0.0.1:5055/health", 120, actions, processes.log("actions"))
        shell = subprocess.run(
            [str(RASA), "shell", "--conversation-id", sender],
            input="bonjour\nje dois refaire ma carte grise\n",  # no /stop: the end of the input ends the shell
            cwd=ROOT, env=no_guichet_variables(), capture_output=True, text=True, timeout=600,
        )
    finally:
        processes.stop()
        tracker = ROOT / "var" / "tracker.db"
        if tracker.exists():  # the test's conversation is not kept in the developer's var/tracker.db
            with sqlite3.connect(tracker) as conn:
                conn.execute("DELETE FROM events WHERE sender_id = ?", (sender,))
    output = shell.stdout
    assert shell.returncode == 0, output[-3000:] + shell.stderr[-3000:]
    assert "Bonjour, je suis Guichet" in output  # utter_greet
    assert "carte grise" in output.lower() and "ANTS" in output  # the answer card, from the action server
