"""Shared plumbing for task folders whose rule-checkable items are written by a script (generate.py).

The script keeps hand-written items (no "generator" field) and appends freshly generated ones, so
every generated gold value can be regenerated and checked; `--check` verifies the file instead.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any


def render(task_dir: Path, generated: Callable[[], list[dict[str, Any]]]) -> str:
    path = task_dir / "test.jsonl"
    rows = [json.loads(x) for x in path.read_text(encoding="utf-8").split("\n") if x.strip()] if path.exists() else []
    kept = [x for x in rows if "generator" not in x]
    return "".join(json.dumps(x, ensure_ascii=False) + "\n" for x in kept + generated())


def main(task_dir: Path, generated: Callable[[], list[dict[str, Any]]], argv: list[str]) -> int:
    """Write test.jsonl, or with --check exit 1 when it differs from what would be written."""
    text = render(task_dir, generated)
    path = task_dir / "test.jsonl"
    if "--check" in argv:
        same = path.exists() and path.read_text(encoding="utf-8") == text
        print("test.jsonl is up to date" if same else "test.jsonl differs from generate.py's output")
        return 0 if same else 1
    path.write_text(text, encoding="utf-8")
    print(f"wrote {path} ({text.count(chr(10))} items)")
    return 0
