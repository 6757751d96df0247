"""Precision and recall of the keigo analyzer on a labeled set (JSON Lines of {id, text, errors}).

    python -m scorers.keigo_eval tests/data/keigo_test.jsonl [--errors]

A predicted error counts as correct when a gold error of the same type overlaps its span.
"""

from __future__ import annotations

import json
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from scorers.keigo import ERROR_TYPES, analyze_sentence


@dataclass
class TypeScore:
    tp: int = 0
    fp: int = 0
    fn: int = 0

    @property
    def precision(self) -> float:
        return self.tp / (self.tp + self.fp) if self.tp + self.fp else 1.0

    @property
    def recall(self) -> float:
        return self.tp / (self.tp + self.fn) if self.tp + self.fn else 1.0


@dataclass
class Report:
    by_type: dict[str, TypeScore] = field(default_factory=lambda: {t: TypeScore() for t in ERROR_TYPES})
    misses: list[str] = field(default_factory=list)
    false_alarms: list[str] = field(default_factory=list)
    n_sentences: int = 0
    n_negative: int = 0
    negatives_flagged: int = 0

    @property
    def overall(self) -> TypeScore:
        return TypeScore(*(sum(getattr(s, k) for s in self.by_type.values()) for k in ("tp", "fp", "fn")))

    def table(self) -> str:
        rows = ["| error type | gold | predicted | precision | recall |", "|---|---|---|---|---|"]
        for t, s in [*self.by_type.items(), ("**overall**", self.overall)]:
            rows.append(f"| {t} | {s.tp + s.fn} | {s.tp + s.fp} | {s.precision:.3f} | {s.recall:.3f} |")
        return "\n".join(rows)


def _gold_spans(row: dict[str, Any]) -> list[tuple[str, int, int]]:
    out = []
    for e in row["errors"]:
        start = row["text"].find(e["span"])
        out.append((e["type"], start, start + len(e["span"])))
    return out


def evaluate(rows: list[dict[str, Any]]) -> Report:
    rep = Report()
    for row in rows:
        rep.n_sentences += 1
        gold = _gold_spans(row)
        pred = [(e.type, e.start, e.end) for e in analyze_sentence(row["text"]).errors]
        if not gold:
            rep.n_negative += 1
            rep.negatives_flagged += bool(pred)
        matched: set[int] = set()
        for p in pred:
            hit = next(
                (k for k, g in enumerate(gold) if k not in matched and g[0] == p[0] and g[1] < p[2] and p[1] < g[2]),
                None,
            )
            if hit is None:
                rep.by_type[p[0]].fp += 1
                rep.false_alarms.append(f"{row['id']} {p[0]} 「{row['text'][p[1] : p[2]]}」 in {row['text']}")
            else:
                matched.add(hit)
                rep.by_type[p[0]].tp += 1
        for k, g in enumerate(gold):
            if k not in matched:
                rep.by_type[g[0]].fn += 1
                rep.misses.append(f"{row['id']} {g[0]} 「{row['text'][g[1] : g[2]]}」 in {row['text']}")
    return rep


def load(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").split("\n") if line.strip()]


def main(argv: list[str]) -> None:
    rep = evaluate(load(Path(argv[0])))
    print(rep.table())
    print(f"\n{rep.n_sentences} sentences; {rep.negatives_flagged} of {rep.n_negative} error-free sentences flagged")
    if "--errors" in argv:
        print("\nmissed:", *rep.misses, sep="\n  ")
        print("\nfalse alarms:", *rep.false_alarms, sep="\n  ")


if __name__ == "__main__":
    main(sys.argv[1:])
