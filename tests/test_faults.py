"""Faults: the action server down, the Rasa server killed (-9) and restarted, the database unreachable."""
import signal
import subprocess
import sys

import pytest

from servers import ROOT, base_env, free_port, model_copy, wait_until, write_endpoints
from test_e2e_http import custom, say


class Servers:
    def __init__(self, env, logs):
        self.env, self.logs = env, logs
        self.action_port, self.rasa_port = free_port(), free_port()
        self.env["GUICHET_ACTION_URL"] = f"http://127.0.0.1:{self.action_port}/webhook"
        self.endpoints = write_endpoints(logs / "endpoints.yml", self.env)
        self.model = model_copy(logs)
        self.actions = self.rasa = None
        self.url = f"http://127.0.0.1:{self.rasa_port}/webhooks/rest/webhook"

    def start_actions(self):
        self.actions = subprocess.Popen(
            [sys.executable, "-m", "bot", "actions", "--port", str(self.action_port)],
            cwd=ROOT, env=self.env, stdout=open(self.logs / "actions.log", "a"), stderr=subprocess.STDOUT,
        )
        wait_until(f"http://127.0.0.1:{self.action_port}/health", 120, self.actions)

    def start_rasa(self):
        self.rasa = subprocess.Popen(
            [sys.executable, "-m", "bot", "serve", "--port", str(self.rasa_port), "--model", str(self.model),
             "--endpoints", str(self.endpoints), "--credentials", "credentials.yml"],
            cwd=ROOT, env=self.env, stdout=open(self.logs / "rasa.log", "a"), stderr=subprocess.STDOUT,
        )
        wait_until(f"http://127.0.0.1:{self.rasa_port}/webhooks/rest/", 240, self.rasa)

    @staticmethod
    def kill9(proc):
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=20)

    def stop(self):
        for proc in (self.rasa, self.actions):
            if proc and proc.poll() is None:
                proc.terminate()
                try:
                    proc.wait(timeout=20)
                except subprocess.TimeoutExpired:
                    proc.kill()


@pytest.fixture(scope="module")
def servers(kb_engine, tmp_path_factory):
    logs = tmp_path_factory.mktemp("faults")
    env = base_env(GUICHET_DB_URL=str(kb_engine.url), GUICHET_TRACKER_DB=str(logs / "tracker.db"))
    s = Servers(env, logs)
    s.start_actions()
    s.start_rasa()
    yield s
    s.stop()


def test_action_server_down_then_back(servers):
    assert custom(say(servers.url, "fault-1", "la caf ne me verse plus le rsa depuis trois mois"), "question")["key"] == "detresse"
    servers.kill9(servers.actions)
    down = say(servers.url, "fault-1", "oui")
    assert "momentanément indisponible" in down[0]["text"] and custom(down, "unavailable")
    servers.start_actions()
    # the conversation goes on where it was: the question is still pending
    answer = custom(say(servers.url, "fault-1", "oui"), "answer")
    assert answer["category"] == "urgent" and answer["demarche"] == "caf.urgence_rupture_droits"


def test_conversation_resumes_after_both_servers_are_killed(servers):
    assert custom(say(servers.url, "fault-2", "la caf ne me verse plus le rsa depuis trois mois"), "question")
    servers.kill9(servers.rasa)
    servers.kill9(servers.actions)
    servers.start_actions()
    servers.start_rasa()
    assert custom(say(servers.url, "fault-2", "non"), "question")["key"] == "prestation_interrompue"
    answer = custom(say(servers.url, "fault-2", "non"), "answer")
    assert answer["category"] == "niveau_2" and answer["operator"] == "caf"


def test_unreachable_database_at_start_is_a_clear_error(tmp_path):
    env = {"GUICHET_DB_URL": "postgresql+psycopg2://guichet@127.0.0.1:1/absente", "PATH": "/usr/bin:/bin"}
    result = subprocess.run([sys.executable, "-m", "bot", "kb", "summary"], cwd=ROOT, env=env, capture_output=True, text=True)
    assert result.returncode == 2
    assert "base de connaissances" in result.stderr and "Traceback" not in result.stderr
