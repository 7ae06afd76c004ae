"""`python -m bot endpoints`: Rasa's endpoints from GUICHET_TRACKER_URL / GUICHET_LOCK_STORE_URL."""
import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from bot.config import get_settings
from bot.endpoints import EndpointsError, endpoints, static, write

ROOT = Path(__file__).resolve().parent.parent


def test_versioned_endpoints_file_holds_the_defaults_literally():
    text = (ROOT / "endpoints.yml").read_text()
    assert "${" not in text  # the Rasa CLI reads it as is, with no variable set
    versioned = yaml.safe_load(text)
    assert versioned == static() == {
        "action_endpoint": {"url": "http://127.0.0.1:5055/webhook"},
        "tracker_store": {"type": "SQL", "dialect": "sqlite", "db": "var/tracker.db"},
    }
    # With no variable, the generated file is the same, its SQLite path anchored at the project root
    # (the report and the purge read that same file).
    generated = endpoints({})
    assert generated["tracker_store"].pop("db") == str(ROOT / "var" / "tracker.db")
    versioned["tracker_store"].pop("db")
    assert generated == versioned and "lock_store" not in generated  # Rasa's in-memory lock store
    assert get_settings({}).tracker_url == f"sqlite:///{ROOT / 'var' / 'tracker.db'}"
    env = {"GUICHET_ACTION_PORT": "6000", "GUICHET_TRACKER_DB": "/srv/guichet/var/tracker.db"}
    assert endpoints(env) == {"action_endpoint": {"url": "http://127.0.0.1:6000/webhook"},
                              "tracker_store": {"type": "SQL", "dialect": "sqlite", "db": "/srv/guichet/var/tracker.db"}}


def test_postgresql_url_is_passed_whole_and_sqlite_url_as_a_file():
    url = "postgresql://guichet:p%40ss%3Aw@db.internal:5433/guichet?sslmode=require"
    assert endpoints({"GUICHET_TRACKER_URL": url})["tracker_store"] == {"type": "SQL", "url": url}
    assert endpoints({"GUICHET_TRACKER_URL": "sqlite:////tmp/t.db"})["tracker_store"] == {"type": "SQL", "dialect": "sqlite", "db": "/tmp/t.db"}


def test_redis_url_is_split():
    lock = endpoints({"GUICHET_LOCK_STORE_URL": "rediss://user:p%40ss@redis.internal:6380/3"})["lock_store"]
    assert lock == {"type": "bot.lockstore.AtomicRedisLockStore", "url": "redis.internal", "port": 6380, "db": 3,
                    "username": "user", "password": "p@ss", "use_ssl": True}
    assert endpoints({"GUICHET_LOCK_STORE_URL": "redis://r"})["lock_store"] == {
        "type": "bot.lockstore.AtomicRedisLockStore", "url": "r", "port": 6379, "db": 0}


@pytest.mark.parametrize("env", [
    {"GUICHET_LOCK_STORE_URL": "http://redis:6379"},
    {"GUICHET_LOCK_STORE_URL": "redis://redis:6379/zero"},
    {"GUICHET_TRACKER_URL": "pas une url"},
    {"GUICHET_TRACKER_URL": "postgresql://u@h:5432"},
    {"GUICHET_TRACKER_URL": "postgresql://u:${SECRET}@h/db"},
])
def test_bad_settings_are_refused(env, tmp_path):
    with pytest.raises(EndpointsError):
        write(tmp_path / "endpoints.yml", env)


def test_rasa_reads_the_written_file(tmp_path):
    from rasa.core.lock_store import LockStore
    from rasa.core.utils import AvailableEndpoints

    from bot.lockstore import AtomicRedisLockStore

    path = write(tmp_path / "endpoints.yml", {"GUICHET_ACTION_URL": "http://a:1/webhook",
                                               "GUICHET_TRACKER_URL": "postgresql://g:pw@db:5432/guichet",
                                               "GUICHET_LOCK_STORE_URL": "redis://:pw@redis:6379/2"})
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    config = AvailableEndpoints.read_endpoints(str(path))
    assert config.action.url == "http://a:1/webhook"
    assert config.tracker_store.type == "SQL" and config.tracker_store.url == "postgresql://g:pw@db:5432/guichet"
    store = LockStore.create(config.lock_store)  # no connection until used
    assert isinstance(store, AtomicRedisLockStore)
    assert store.red.connection_pool.connection_kwargs["db"] == 2


def test_cli_prints_or_writes(tmp_path):
    env = {**os.environ, "GUICHET_TRACKER_URL": "postgresql://g:secret@db/guichet"}
    env.pop("GUICHET_LOCK_STORE_URL", None)
    printed = subprocess.run([sys.executable, "-m", "bot", "endpoints"], cwd=ROOT, env=env, capture_output=True, text=True)
    assert printed.returncode == 0 and "postgresql://g:secret@db/guichet" in printed.stdout
    written = subprocess.run([sys.executable, "-m", "bot", "endpoints", "--out", str(tmp_path / "e.yml")], cwd=ROOT, env=env,
                             capture_output=True, text=True)
    assert written.returncode == 0 and "secret" not in written.stderr and "en mémoire" in written.stderr
    bad = subprocess.run([sys.executable, "-m", "bot", "endpoints"], cwd=ROOT, capture_output=True, text=True,
                         env={**env, "GUICHET_LOCK_STORE_URL": "memcached://x"})
    assert bad.returncode == 2 and "GUICHET_LOCK_STORE_URL" in bad.stderr
