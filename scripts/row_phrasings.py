"""Training phrasings written per row of the référentiel (data/nlu/lignes/).

    python scripts/row_phrasings.py export OUT.yml OPERATOR...   # the rows a writer gets
    python scripts/row_phrasings.py merge WRITTEN.yml...          # -> data/nlu/lignes/<operator>.yml

Writers (separate agents, brief in docs/understanding.md « Training data ») saw only the seeds and
their rows file, never data/nlu/, tests/ or bench/. Each phrasing is filed under its row's topic
intent; phrasings already in data/nlu/ and rows whose topic is no NLU intent (the urgent rows reached
by the `urgence` intent) are left out. `merge` adds to the files already there; a writer's file is a
YAML list of {row: <row id>, text: <phrasing>}. The writers' own files are not kept: data/nlu/lignes/
is the record.
"""
from __future__ import annotations

import re
import sys
from collections import defaultdict
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "data" / "nlu" / "lignes"


def rows() -> dict:
    """The référentiel's rows by id, read by the project's loader (bot.knowledge)."""
    from bot.knowledge.loader import load_knowledge

    return {d.id: d for d in load_knowledge(ROOT / "knowledge").demarches}


def export(out: Path, operators: list) -> None:
    chosen = [{"id": d.id, "category": d.category, "title": d.title, "label": d.label,
               "conditions": dict(d.conditions), "seed_line": d.source.line,
               "seed_file": d.source.document.split("_")[0]}
              for d in rows().values() if d.operator in operators]
    out.write_text(yaml.safe_dump(chosen, allow_unicode=True, sort_keys=False, width=200), encoding="utf-8")
    print(f"{len(chosen)} rows -> {out}")


def merge(files: list) -> None:
    """Adds the phrasings of the writers' files to data/nlu/lignes/<operator>.yml (kept ones stay)."""
    from bot.multi import topic_training_examples

    examples = topic_training_examples(ROOT / "data" / "nlu")
    intents = {topic for _, topic in examples}
    seen = {text.strip().lower() for text, _ in examples}
    by_operator: dict = defaultdict(lambda: defaultdict(list))
    for path in sorted(OUT.glob("*.yml")):
        for block in yaml.safe_load(path.read_text(encoding="utf-8")).get("nlu") or ():
            texts = [line[2:].strip() for line in block["examples"].splitlines() if line.startswith("- ")]
            by_operator[path.stem][block["intent"]].extend(texts)
    left: dict = defaultdict(int)
    known = rows()
    added = 0
    for path in files:
        for item in yaml.safe_load(Path(path).read_text(encoding="utf-8")) or ():
            row = known.get(item.get("row"))
            text = re.sub(r"\s+", " ", str(item.get("text") or "")).strip()
            if row is None or row.topic not in intents:
                left["row unknown or without an NLU intent"] += 1
            elif not text or text.lower() in seen or re.search(r"[\[\]{}]", text):
                left["empty, duplicate or markup"] += 1
            else:
                seen.add(text.lower())
                by_operator[row.operator][row.topic].append(text)
                added += 1
    OUT.mkdir(parents=True, exist_ok=True)
    for operator, topics in sorted(by_operator.items()):
        lines = ['version: "3.1"', "nlu:"]
        for topic, texts in sorted(topics.items()):
            lines += [f"- intent: {topic}", "  examples: |"] + [f"    - {t}" for t in texts] + [""]
        (OUT / f"{operator}.yml").write_text("\n".join(lines) + "\n", encoding="utf-8")
    print(f"{added} phrasings added to {OUT}; left out: {dict(left)}")


if __name__ == "__main__":
    sys.path.insert(0, str(ROOT))
    command, *args = sys.argv[1:] or ["help"]
    if command == "export" and len(args) >= 2:
        export(Path(args[0]), args[1:])
    elif command == "merge" and args:
        merge(args)
    else:
        sys.exit(__doc__)
