"""The test run must leave the checkout as it found it: nothing written outside var/ or temporary
folders (the repository once tracked a SQLite file of test conversations, `${GUICHET_TRACKER_DB}`).

`snapshot()` records `git status --porcelain` with a hash of each listed file; `changes(before)`
lists what the run added or changed since. On a clean clone the baseline is empty, so this is
"`git status --porcelain` is empty at the end"; on a developer's tree with uncommitted work, only
what the tests themselves did is reported.

    python tests/gitclean.py snapshot FILE   # baseline for a whole `make test` (read by conftest.py)
"""
from __future__ import annotations

import hashlib
import json
import subprocess
import sys
from pathlib import Path
from typing import Dict, List, Optional

ROOT = Path(__file__).resolve().parent.parent


def _digest(path: Path) -> str:
    try:
        return hashlib.sha256(path.read_bytes()).hexdigest() if path.is_file() else "-"
    except OSError:
        return "?"


def snapshot(root: Path = ROOT) -> Optional[Dict[str, str]]:
    """{porcelain line: content hash}, or None outside a git checkout (an archive: nothing to check)."""
    try:
        result = subprocess.run(["git", "status", "--porcelain", "--untracked-files=all", "-z"], cwd=root,
                                capture_output=True, timeout=120)
    except (OSError, subprocess.TimeoutExpired):
        return None
    if result.returncode != 0:
        return None
    entries = [e for e in result.stdout.decode("utf-8", "surrogateescape").split("\0") if e]
    state: Dict[str, str] = {}
    skip = False
    for entry in entries:
        if skip:  # the source path of a rename (-z gives it as a separate entry)
            skip = False
            continue
        if entry[0] in "RC":
            skip = True
        state[entry] = _digest(root / entry[3:])
    return state


def changes(before: Dict[str, str], root: Path = ROOT) -> List[str]:
    after = snapshot(root) or {}
    return sorted(line for line, digest in after.items() if before.get(line) != digest)


def load(path: Path) -> Optional[Dict[str, str]]:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


if __name__ == "__main__":
    if len(sys.argv) != 3 or sys.argv[1] != "snapshot":
        sys.exit("usage: python tests/gitclean.py snapshot FILE")
    target = Path(sys.argv[2])
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(json.dumps(snapshot() or {}), encoding="utf-8")
