"""Real servers for the HTTP tests: Rasa, action servers, PostgreSQL 15, Redis 7 — free ports,
logs in a directory, every process stopped by `Processes.stop()` (call it in a `finally`).

Never trains: the tests use a copy of `models/guichet.tar.gz` (a copy, so that a model being
retrained and copied meanwhile cannot be read half-written).
"""
from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Dict, List, Optional, Tuple

ROOT = Path(__file__).resolve().parent.parent
VENV_BIN = Path(sys.executable).parent
PG_BIN = Path(os.environ.get("GUICHET_PG_BIN", "/usr/lib/postgresql/15/bin"))


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def post(url: str, body, timeout: float = 60) -> Tuple[int, object]:
    data = body if isinstance(body, bytes) else json.dumps(body).encode()
    request = urllib.request.Request(url, data=data, headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return response.status, json.loads(response.read().decode())
    except urllib.error.HTTPError as error:
        raw = error.read()
        try:
            return error.code, json.loads(raw.decode())
        except ValueError:
            return error.code, raw


def get_json(url: str, timeout: float = 30):
    with urllib.request.urlopen(url, timeout=timeout) as response:
        return json.loads(response.read().decode())


def wait_until(url: str, deadline_s: float, proc: subprocess.Popen, log: Optional[Path] = None) -> None:
    end = time.time() + deadline_s
    while time.time() < end:
        if proc.poll() is not None:
            tail = log.read_text(errors="replace")[-3000:] if log and log.exists() else ""
            raise RuntimeError(f"server exited early with code {proc.returncode}: {url}\n{tail}")
        try:
            with urllib.request.urlopen(url, timeout=2) as response:
                if response.status == 200:
                    return
        except OSError:
            time.sleep(0.5)
    raise TimeoutError(url)


def model_copy(directory: Path) -> Path:
    source = ROOT / "models" / "guichet.tar.gz"
    if not source.exists():
        raise RuntimeError("models/guichet.tar.gz absent : entraînez le modèle (make train ou scripts/train.sh)")
    target = directory / "guichet.tar.gz"
    shutil.copyfile(source, target)
    return target


def base_env(**extra: str) -> Dict[str, str]:
    env = {**os.environ, "SQLALCHEMY_SILENCE_UBER_WARNING": "1", "PYTHONPATH": str(ROOT)}
    for key in ("GUICHET_TRACKER_URL", "GUICHET_LOCK_STORE_URL", "GUICHET_AGENT_TOKEN", "GUICHET_API_TOKEN",
                "GUICHET_ALLOWED_ORIGINS", "GUICHET_AGENT_SESSION_SECONDS", "GUICHET_ACTION_HOST"):
        env.pop(key, None)
    env.update(extra)
    return env


def write_endpoints(path: Path, env: Dict[str, str]) -> Path:
    """The endpoints file of one Rasa instance, written by `python -m bot endpoints` as in production."""
    subprocess.run([sys.executable, "-m", "bot", "endpoints", "--out", str(path)], cwd=ROOT, env=env, check=True,
                   capture_output=True, text=True)
    return path


class Processes:
    """Started processes, stopped together (SIGTERM, then SIGKILL after a grace period)."""

    def __init__(self, logs: Path):
        self.logs = logs
        self.procs: List[Tuple[str, subprocess.Popen, int]] = []

    def spawn(self, name: str, args: List[str], env: Dict[str, str], stop_signal: int = signal.SIGTERM,
              **kwargs) -> subprocess.Popen:
        log = open(self.logs / f"{name}.log", "a")
        proc = subprocess.Popen(args, cwd=kwargs.pop("cwd", ROOT), env=env, stdout=log, stderr=subprocess.STDOUT,
                                start_new_session=True, **kwargs)
        log.close()
        self.procs.append((name, proc, stop_signal))
        return proc

    def log(self, name: str) -> Path:
        return self.logs / f"{name}.log"

    def actions(self, name: str, port: int, env: Dict[str, str]) -> subprocess.Popen:
        """The action server as `make run` starts it (`python -m bot actions`: this machine only by default)."""
        return self.spawn(name, [sys.executable, "-m", "bot", "actions", "--port", str(port)], env)

    def rasa(self, name: str, port: int, model: Path, endpoints: Path, env: Dict[str, str],
             credentials: Optional[Path] = None) -> subprocess.Popen:
        """A Rasa server started as `make run` starts it (`python -m bot serve`: Rasa's HTTP API only with
        GUICHET_API_TOKEN, CORS only for GUICHET_ALLOWED_ORIGINS); by default with the REST channel of
        bot/channels.py only (what most tests speak)."""
        if credentials is None:
            credentials = self.logs / "credentials-rest.yml"
            credentials.write_text("bot.channels.GuichetRestInput:\n")
        return self.spawn(name, [sys.executable, "-m", "bot", "serve", "--port", str(port), "--model", str(model),
                                 "--endpoints", str(endpoints), "--credentials", str(credentials)], env)

    def stop(self) -> None:
        for _name, proc, stop_signal in reversed(self.procs):
            if proc.poll() is None:
                try:
                    os.killpg(proc.pid, stop_signal)
                except ProcessLookupError:
                    pass
        end = time.time() + 20
        for _name, proc, _stop in reversed(self.procs):
            try:
                proc.wait(timeout=max(0.1, end - time.time()))
            except subprocess.TimeoutExpired:
                try:
                    os.killpg(proc.pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
                proc.wait(timeout=10)
        self.procs.clear()


def require_binaries() -> Tuple[Path, str]:
    """PostgreSQL 15 and Redis 7 are required (CI installs them): a clear failure, never a skip."""
    missing = []
    if not (PG_BIN / "postgres").exists() or not (PG_BIN / "initdb").exists():
        missing.append(f"PostgreSQL 15 ({PG_BIN}/postgres et initdb ; paquet Debian postgresql-15)")
    redis = shutil.which("redis-server")
    if not redis:
        missing.append("Redis (redis-server ; paquet Debian redis-server)")
    if missing:
        raise RuntimeError("Binaires absents pour le test de montée en charge : " + " ; ".join(missing)
                           + ". Installez-les avec scripts/system-deps.sh.")
    return PG_BIN, redis


class Postgres:
    """A throw-away PostgreSQL cluster on 127.0.0.1:<free port>, data and socket in a temporary directory.

    PostgreSQL refuses to run as root: when we are root, the cluster belongs to the `postgres` user.
    """

    def __init__(self, processes: Processes, user: str = "guichet", password: str = "s3cr:t@pg/1", db: str = "guichet"):
        self.processes, self.user, self.password, self.db = processes, user, password, db
        self.port = free_port()
        self.dir = Path(tempfile.mkdtemp(prefix="guichet-pg-"))
        self.data = self.dir / "data"
        self.as_user: List[str] = []
        if os.geteuid() == 0:
            import pwd

            owner = pwd.getpwnam("postgres")
            os.chown(self.dir, owner.pw_uid, owner.pw_gid)
            self.as_user = ["runuser", "-u", "postgres", "--"]
        os.chmod(self.dir, 0o700)

    @property
    def url(self) -> str:
        from urllib.parse import quote

        return f"postgresql://{self.user}:{quote(self.password, safe='')}@127.0.0.1:{self.port}/{self.db}"

    def start(self) -> None:
        pwfile = self.dir / "pwfile"
        pwfile.write_text(self.password + "\n")
        if self.as_user:
            shutil.chown(pwfile, "postgres", "postgres")
        init = subprocess.run(
            self.as_user + [str(PG_BIN / "initdb"), "-D", str(self.data), "-U", self.user, f"--pwfile={pwfile}",
                            "--auth=scram-sha-256", "-E", "UTF8", "--locale=C.UTF-8"],
            capture_output=True, text=True, timeout=120, cwd=self.dir,
        )
        pwfile.unlink()
        if init.returncode != 0:
            raise RuntimeError(f"initdb a échoué : {init.stdout}\n{init.stderr}")
        self.proc = self.processes.spawn(
            "postgres",
            self.as_user + [str(PG_BIN / "postgres"), "-D", str(self.data), "-p", str(self.port), "-k", str(self.dir),
                            "-c", "listen_addresses=127.0.0.1", "-c", "fsync=off", "-c", "synchronous_commit=off",
                            "-c", "full_page_writes=off", "-c", "max_connections=300"],
            env=dict(os.environ), cwd=self.dir, stop_signal=signal.SIGINT,  # fast shutdown
        )

    def wait(self, deadline_s: float = 60) -> None:
        import psycopg2

        end = time.time() + deadline_s
        while True:
            if self.proc.poll() is not None:
                raise RuntimeError("PostgreSQL s'est arrêté : " + self.processes.log("postgres").read_text(errors="replace")[-2000:])
            try:
                conn = psycopg2.connect(host="127.0.0.1", port=self.port, user=self.user, password=self.password, dbname="postgres")
                break
            except psycopg2.OperationalError:
                if time.time() > end:
                    raise
                time.sleep(0.3)
        conn.autocommit = True
        with conn.cursor() as cur:
            cur.execute(f"CREATE DATABASE {self.db}")
        conn.close()

    def database(self, name: str) -> str:
        """Creates another database in this cluster; returns its SQLAlchemy URL."""
        import psycopg2
        from urllib.parse import quote

        conn = psycopg2.connect(host="127.0.0.1", port=self.port, user=self.user, password=self.password, dbname="postgres")
        conn.autocommit = True
        with conn.cursor() as cur:
            cur.execute(f"CREATE DATABASE {name}")
        conn.close()
        return f"postgresql://{self.user}:{quote(self.password, safe='')}@127.0.0.1:{self.port}/{name}"

    def cleanup(self) -> None:
        shutil.rmtree(self.dir, ignore_errors=True)


class Redis:
    def __init__(self, processes: Processes, password: str = "r3dis-pw"):
        self.processes, self.password = processes, password
        self.port = free_port()

    @property
    def url(self) -> str:
        return f"redis://:{self.password}@127.0.0.1:{self.port}/0"

    def start(self, redis_server: str) -> None:
        self.proc = self.processes.spawn(
            "redis",
            [redis_server, "--port", str(self.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
             "--requirepass", self.password, "--daemonize", "no"],
            env=dict(os.environ), cwd=self.processes.logs,
        )

    def wait(self, deadline_s: float = 30) -> None:
        import redis

        end = time.time() + deadline_s
        client = redis.StrictRedis(host="127.0.0.1", port=self.port, password=self.password)
        while True:
            if self.proc.poll() is not None:
                raise RuntimeError("Redis s'est arrêté : " + self.processes.log("redis").read_text(errors="replace")[-2000:])
            try:
                client.ping()
                return
            except redis.exceptions.ConnectionError:
                if time.time() > end:
                    raise
                time.sleep(0.2)



def start_stacks(processes: Processes, logs: Path, model: Path, env: Dict[str, str], names=("",),
                 per_stack: Optional[Dict[str, Dict[str, str]]] = None,
                 credentials: Optional[Path] = None) -> List[str]:
    """Action server + Rasa server pairs (endpoints from `python -m bot endpoints`), started in parallel;
    `per_stack[name]` adds variables to one pair; `credentials`: the channels (REST only by default).
    Returns the Rasa base URLs."""
    started = []
    for name in names:
        action_port, rasa_port = free_port(), free_port()
        stack_env = {**env, **(per_stack or {}).get(name, {}), "GUICHET_ACTION_URL": f"http://127.0.0.1:{action_port}/webhook"}
        endpoints = write_endpoints(logs / f"endpoints{name}.yml", stack_env)
        actions = processes.actions(f"actions{name}", action_port, stack_env)
        rasa = processes.rasa(f"rasa{name}", rasa_port, model, endpoints, stack_env, credentials)
        started.append((name, action_port, actions, rasa_port, rasa))
    for name, action_port, actions, rasa_port, rasa in started:
        wait_until(f"http://127.0.0.1:{action_port}/health", 120, actions, processes.log(f"actions{name}"))
        # The REST channel's health route: Rasa's /status is part of its HTTP API, off by default.
        wait_until(f"http://127.0.0.1:{rasa_port}/webhooks/rest/", 240, rasa, processes.log(f"rasa{name}"))
    return [f"http://127.0.0.1:{rasa_port}" for _n, _a, _p, rasa_port, _r in started]
