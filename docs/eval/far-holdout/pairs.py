"""Pair each part the default's model wrote with the derived part of the same function, as rated.

    python docs/eval/far-holdout/pairs.py docs/eval/far-holdout

Reads ``blind/key.csv``, ``blind/ratings-*.csv`` and the ``origins`` of ``default/outputs.jsonl.gz``
(a part absent from them is the model's); prints, per kind of part, how often the model's part
was rated against derived text's, and each model parameter description's score and rating.
"""

from __future__ import annotations

import csv
import json
import sys
from collections import Counter
from pathlib import Path

sys.path[:0] = [str(Path(__file__).resolve().parents[3] / "src"), str(Path(__file__).resolve().parents[3])]
from train.blind_review import read_ratings  # noqa: E402
from train.data import OUTPUTS_FILE, text_lines  # noqa: E402


def main(base: Path) -> None:
    blind = base / "blind"
    ratings = read_ratings(sorted(blind.glob("ratings-*.csv")))
    item = {(row["system"], row["path"], row["qualname"]): int(row["id"]) for row in csv.DictReader(open(blind / "key.csv"))}
    pairs: Counter[tuple[str, str, str]] = Counter()
    scored = []
    for line in text_lines(base / "default" / OUTPUTS_FILE):
        out = json.loads(line)
        default, derived = item[("default", out["path"], out["qualname"])], item[("derived", out["path"], out["qualname"])]
        if default == derived:
            continue  # the same text: the model wrote nothing that stayed
        mine, theirs = ratings[default], ratings[derived]
        if "summary" not in out["origins"]:
            pairs[("summary", mine.summary, theirs.summary)] += 1
        for name, rating in (mine.entries or {}).items():
            name = name.strip()
            if name in out["origins"] or (name.startswith(("returns", "yields")) and name.split()[0] in out["origins"]):
                continue
            pairs[(name.split()[0], rating, (theirs.entries or {}).get(name, "?"))] += 1
            if name.startswith("param "):
                scored.append((out["scores"].get("param:" + name.split(" ", 1)[1].lstrip("*")), rating, out["qualname"]))
    for (kind, model, derived), n in sorted(pairs.items()):
        print(f"{kind}: model {model}, derived {derived}: {n}")
    for score, rating, qualname in sorted(scored, key=lambda row: row[0] or 0):
        print(f"param score {score}: {rating} ({qualname})")


if __name__ == "__main__":
    main(Path(sys.argv[1]))
