"""Shared fixtures: the built tiny-ja model, the CLI as a subprocess, and small task folders."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parent.parent
TASKS = ROOT / "tasks"
CANARY = "kentei:canary:6f1c2a9e-4b7d-4c53-9a0e-2d8f3b5e7c11"


@pytest.fixture(scope="session")
def tiny_path() -> Path:
    """tiny-ja, built once into the cache (about 40 s on 2 cores the first time)."""
    from kentei.tiny.build import ensure_tiny

    return ensure_tiny()


@pytest.fixture(scope="session")
def tiny_backend(tiny_path: Path) -> Any:
    from kentei.backends.hf import HFBackend

    return HFBackend.load(str(tiny_path), device="cpu", dtype="float32", batch_size=4)


def run_cli(
    *args: str, cwd: Path | None = None, env: dict[str, str] | None = None, timeout: float = 600
) -> subprocess.CompletedProcess[str]:
    """`kentei ARGS` in a subprocess, as a user runs it."""
    full_env = dict(os.environ, **(env or {}))
    full_env.setdefault("COLUMNS", "200")
    return subprocess.run(
        [sys.executable, "-m", "kentei", *args],
        cwd=cwd or ROOT,
        env=full_env,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def write_jsonl(path: Path, rows: list[dict[str, Any]]) -> None:
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")


MC_YAML = """name: __NAME__
version: 1
family: keigo
kind: multiple_choice
description: test fixture
license: CC-BY-4.0
canary: "__CANARY__"
num_fewshot: 1
prompt:
  template: "{{ question }}\\n{{ choices_block }}\\n答え："
metrics: [{name: acc}, {name: acc_norm}]
primary_metric: acc
"""

GEN_YAML = """name: __NAME__
version: 1
family: culture
kind: generation
description: test fixture
license: CC-BY-4.0
canary: "__CANARY__"
num_fewshot: 1
prompt:
  template: "質問：{{ input }}\\n答え："
generation: {max_new_tokens: 8, stop: ["\\n"]}
metrics: [{name: exact_match}]
primary_metric: exact_match
"""

CITIES = ["札幌", "仙台", "東京", "静岡", "大阪", "広島", "福岡", "那覇", "金沢", "松山", "高松", "長崎"]


def mc_items(n: int, prefix: str = "q") -> list[dict[str, Any]]:
    """Balanced, non-trivial MC items: gold rotates through positions, choices of equal length."""
    rows = []
    for i in range(n):
        suffix = "駅" if prefix == "q" else "港"
        choices = [CITIES[(i + j) % len(CITIES)] + suffix for j in range(4)]
        rows.append(
            {
                "id": f"{prefix}{i:03d}",
                "category": ["地理", "交通"][i % 2],
                "question": (
                    f"{prefix}第{i}問：旅程{i}の出発地として正しい駅はどれか。"
                    if prefix == "q"
                    else f"練習{prefix}{i}：船旅で最初に立ち寄る港を選べ。"
                ),
                "choices": choices,
                "answer": i % 4,
                "rationale": "fixture",
            }
        )
    return rows


def gen_items(n: int, prefix: str = "g") -> list[dict[str, Any]]:
    return [
        {
            "id": f"{prefix}{i:03d}",
            "category": "地理",
            "input": f"{prefix}{CITIES[i % len(CITIES)]}の番号{i}は？",
            "references": [str(i)],
            "rationale": "fixture",
        }
        for i in range(n)
    ]


def make_task(
    root: Path,
    name: str,
    kind: str = "multiple_choice",
    n: int = 8,
    test: list[dict[str, Any]] | None = None,
    fewshot: list[dict[str, Any]] | None = None,
) -> Path:
    d = root / name
    d.mkdir(parents=True)
    yaml_src = MC_YAML if kind == "multiple_choice" else GEN_YAML
    (d / "task.yaml").write_text(yaml_src.replace("__NAME__", name).replace("__CANARY__", CANARY), encoding="utf-8")
    items = mc_items if kind == "multiple_choice" else gen_items
    write_jsonl(d / "test.jsonl", test if test is not None else items(n))
    write_jsonl(d / "fewshot.jsonl", fewshot if fewshot is not None else items(2, prefix="fs"))
    (d / "README.md").write_text("datasheet\n")
    return d
