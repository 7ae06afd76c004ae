"""Split the writers' challenge files once into a dev half and a test half (run once, before tuning).

Stratified by (category, operator): inside each stratum, conversations are ordered by a hash of
their id and dealt alternately, so both halves have the same mix. Tune on dev only; the test half
is read only by `bench/challenge.py` for the figures of bench/RESULTS.md.

    .venv/bin/python bench/split_challenge.py /work/writers/W*.yml --out bench/challenge
"""
from __future__ import annotations

import argparse
import hashlib
import sys
from collections import defaultdict
from pathlib import Path

import yaml

FIELDS = ("id", "voice", "text", "operator", "category", "facts", "key_fact", "seed", "why")


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("files", nargs="+", type=Path)
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args()
    strata = defaultdict(list)
    for path in args.files:
        for case in yaml.safe_load(path.read_text(encoding="utf-8")):
            strata[(case["category"], case.get("operator") or "")].append({k: case[k] for k in FIELDS if k in case})
    halves = {"dev": [], "test": []}
    for key in sorted(strata):
        cases = sorted(strata[key], key=lambda c: hashlib.sha256(c["id"].encode()).hexdigest())
        for i, case in enumerate(cases):
            halves["dev" if i % 2 == 0 else "test"].append(case)
    args.out.mkdir(parents=True, exist_ok=True)
    for name, cases in halves.items():
        cases.sort(key=lambda c: c["id"])
        header = (f"# Challenge set, {name} half ({len(cases)} conversations): written from the seeds by writers who\n"
                  "# never saw data/nlu/, tests/ or results; see bench/challenge/README.md.\n")
        body = yaml.safe_dump({"conversations": cases}, allow_unicode=True, sort_keys=False, width=120)
        (args.out / f"{name}.yml").write_text(header + body, encoding="utf-8")
        print(name, len(cases))
    return 0


if __name__ == "__main__":
    sys.exit(main())
