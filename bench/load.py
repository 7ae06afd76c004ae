"""Load benchmark: concurrent multi-turn conversations over HTTP against one running Guichet.

Starts the action server and the Rasa server itself (the trained model of `make train`, SQLite
everywhere), measures the cold start (process start -> first answer), then runs N concurrent
simulated conversations built from the held-out phrasings: each sends the request, answers every
question ("non" / "oui" / "je ne sais pas" in turn), then says thanks (with --think, a pause before each message: arrival, then reading the reply and typing). Reports turn latency
p50 / p95 / p99, messages per second, and the peak RSS of each process. Loopback only.

    .venv/bin/python bench/load.py --concurrency 20 --conversations 200
"""
from __future__ import annotations

import argparse
import json
import os
import random
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from statistics import quantiles

ROOT = Path(__file__).resolve().parent.parent
BIN = ROOT / ".venv" / "bin"
ANSWERS = ("non", "oui", "je ne sais pas")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def post(url: str, sender: str, message: str) -> list:
    body = json.dumps({"sender": sender, "message": message}).encode()
    request = urllib.request.Request(url, data=body, headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=60) as response:
        if response.status >= 500:
            raise RuntimeError(f"HTTP {response.status}")
        return json.loads(response.read().decode())


def rss_mb(pid: int) -> float:
    """Resident memory of a process and its children (MB), from /proc."""
    total = 0
    pids = [pid]
    try:
        children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
        pids += [int(c) for c in children]
    except OSError:
        pass
    for p in pids:
        try:
            for line in Path(f"/proc/{p}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    total += int(line.split()[1])
        except OSError:
            pass
    return total / 1024


class PeakRss(threading.Thread):
    def __init__(self, pids):
        super().__init__(daemon=True)
        self.pids, self.peak, self.stop = pids, {name: 0.0 for name in pids}, threading.Event()

    def run(self):
        while not self.stop.is_set():
            for name, pid in self.pids.items():
                self.peak[name] = max(self.peak[name], rss_mb(pid))
            time.sleep(0.5)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--concurrency", type=int, default=20)
    parser.add_argument("--conversations", type=int, default=200)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--think", type=float, default=0.0,
                        help="mean pause between a reply and the next message, in seconds (uniform 0.5x-1.5x; "
                             "0 = no pause: saturation)")
    args = parser.parse_args()

    import yaml

    cases = [c for c in yaml.safe_load((ROOT / "tests" / "nlu_heldout.yml").read_text())["cases"] if c.get("demarche")]
    rng = random.Random(args.seed)
    work = [rng.choice(cases)["text"] for _ in range(args.conversations)]

    tmp = Path(tempfile.mkdtemp(prefix="guichet-load-"))
    action_port, rasa_port = free_port(), free_port()
    env = {
        **os.environ,
        "GUICHET_ACTION_URL": f"http://127.0.0.1:{action_port}/webhook",
        "GUICHET_TRACKER_DB": str(tmp / "tracker.db"),
        "PYTHONPATH": str(ROOT),
        "SQLALCHEMY_SILENCE_UBER_WARNING": "1",
    }
    started = time.perf_counter()
    actions = subprocess.Popen([str(BIN / "python"), "-m", "bot", "actions", "--port", str(action_port)],
                               cwd=ROOT, env=env, stdout=open(tmp / "actions.log", "w"), stderr=subprocess.STDOUT)
    # endpoints written from the GUICHET_* variables as a deployment writes them (the project's
    # endpoints.yml points at the default action port), Rasa started as `make run` starts it
    endpoints = tmp / "endpoints.yml"
    subprocess.run([str(BIN / "python"), "-m", "bot", "endpoints", "--out", str(endpoints)], cwd=ROOT, env=env,
                   check=True)
    rasa = subprocess.Popen([str(BIN / "python"), "-m", "bot", "serve", "--port", str(rasa_port),
                             "--model", "models/guichet.tar.gz", "--endpoints", str(endpoints),
                             "--credentials", "credentials.yml"],
                            cwd=ROOT, env=env, stdout=open(tmp / "rasa.log", "w"), stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{rasa_port}/webhooks/rest/webhook"
    monitor = PeakRss({"rasa": rasa.pid, "actions": actions.pid})
    monitor.start()
    try:
        while True:  # cold start: until the first real answer
            if time.perf_counter() - started > 300:
                raise TimeoutError("no answer after 300 s")
            try:
                messages = post(url, "cold-start", "je dois refaire ma carte grise")
                if any(m.get("custom", {}).get("type") == "answer" for m in messages):
                    break
            except OSError:
                time.sleep(0.5)
        cold_start = time.perf_counter() - started

        latencies, errors = [], []
        lock = threading.Lock()

        def conversation(index: int) -> None:
            sender = f"load-{index}"
            turns = [work[index]]
            pause = random.Random(args.seed * 1000 + index)
            for turn_index in range(6):
                message = turns[-1]
                if args.think:  # the person arrives / reads the reply, then types
                    time.sleep(args.think * pause.uniform(0.5, 1.5))
                t0 = time.perf_counter()
                try:
                    replies = post(url, sender, message)
                except Exception as exc:  # noqa: BLE001 - counted
                    with lock:
                        errors.append(repr(exc))
                    return
                with lock:
                    latencies.append(time.perf_counter() - t0)
                kinds = [m.get("custom", {}).get("type") for m in replies]
                if "question" in kinds:
                    turns.append(ANSWERS[(index + turn_index) % 3])
                elif "choose" in kinds:
                    choice = next(m["custom"]["options"][0]["demarche"] for m in replies if m.get("custom", {}).get("type") == "choose")
                    turns.append(f'/choisir{{"demarche": "{choice}"}}')
                elif turns[-1] != "merci":
                    turns.append("merci")
                else:
                    return

        t0 = time.perf_counter()
        with ThreadPoolExecutor(max_workers=args.concurrency) as pool:
            list(pool.map(conversation, range(args.conversations)))
        elapsed = time.perf_counter() - t0
    finally:
        monitor.stop.set()
        for proc in (rasa, actions):
            proc.terminate()
        for proc in (rasa, actions):
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                proc.kill()
    cuts = quantiles([1000 * x for x in latencies], n=100)
    result = {
        "concurrency": args.concurrency,
        "think_s": args.think,
        "conversations": args.conversations,
        "messages": len(latencies),
        "errors": len(errors),
        "turn_ms_p50": round(cuts[49], 1),
        "turn_ms_p95": round(cuts[94], 1),
        "turn_ms_p99": round(cuts[98], 1),
        "messages_per_s": round(len(latencies) / elapsed, 1),
        "cold_start_s": round(cold_start, 1),
        "peak_rss_mb": {k: round(v) for k, v in monitor.peak.items()},
    }
    print(json.dumps(result, indent=2))
    return 0 if not errors else 1


if __name__ == "__main__":
    sys.exit(main())
