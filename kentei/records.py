"""Run records: runs/<run_id>/run.json plus one item-record file per task.

Layout of a run folder:
    run.json                 RunRecord; status "running" until every task is scored, then "complete"
    responses/<task>.jsonl   append-only model responses (stored before scoring; what resume reads)
    <task>.jsonl             scored item records, written atomically once the task is done
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from kentei import SCHEMA_VERSION
from kentei.errors import KenteiError
from kentei.io import atomic_write_json, read_text

RUN_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$")


class RunSettings(BaseModel):
    """Everything that changes what the model is asked; a resumed run must match it exactly."""

    model_config = ConfigDict(extra="forbid")

    tasks: list[str]
    limit: int | None = None
    num_fewshot: int | None = None
    """None: each task's own num_fewshot."""
    seed: int = 1234
    mc_mode: Literal["loglikelihood", "generate"] = "loglikelihood"
    chat: bool = False
    max_new_tokens: int | None = None
    """None: each task's own generation.max_new_tokens."""


class RuntimeSettings(BaseModel):
    """How the run was executed; may differ between a run and its resumption."""

    model_config = ConfigDict(extra="forbid")

    batch_size: int | str = "auto"
    device: str | None = None
    dtype: str = "auto"
    trust_remote_code: bool = False
    concurrency: int | None = None
    """openai backend: requests in flight at once."""
    timeout_s: float | None = None
    max_retries: int | None = None


class MetricValue(BaseModel):
    value: float
    stderr: float | None = None
    ci95: list[float] | None = None
    n: int
    method: str = "mean"
    """mean (CLT SE, clustered when items carry `cluster`) or corpus (seeded bootstrap SE and percentile CI)."""
    signature: str | None = None


class TaskResult(BaseModel):
    version: int
    family: str
    kind: str
    items_sha256: str
    prompt_sha256: str
    primary_metric: str
    metric_specs: list[dict[str, Any]]
    """The task's metrics as configured, so rescoring needs nothing but the run folder."""
    n: int
    num_fewshot: int
    status: Literal["pending", "complete"] = "pending"
    metrics: dict[str, MetricValue] = Field(default_factory=dict)
    by_category: dict[str, dict[str, Any]] = Field(default_factory=dict)
    seconds: float | None = None


class RunRecord(BaseModel):
    schema_version: int = SCHEMA_VERSION
    run_id: str
    status: Literal["running", "complete"] = "running"
    created_at: str
    finished_at: str | None = None
    kentei: dict[str, Any]
    model: dict[str, Any]
    settings: RunSettings
    runtime: RuntimeSettings
    tasks: dict[str, TaskResult] = Field(default_factory=dict)
    timings: dict[str, Any] = Field(default_factory=dict)
    host: dict[str, Any] = Field(default_factory=dict)
    tokenizer_fit: dict[str, float] | None = None
    """How well the model's tokenizer fits Japanese (chars_per_token, boundary_f1, ...), when measured."""


def check_run_id(run_id: str) -> str:
    if not RUN_ID.match(run_id) or ".." in run_id:
        raise KenteiError(
            f"invalid run id {run_id!r}: use letters, digits, '.', '_' and '-' (no path separators, no '..')"
        )
    return run_id


def load_record(run_dir: Path) -> RunRecord:
    path = run_dir / "run.json"
    if not path.exists():
        raise KenteiError("not a run folder (no run.json)", run_dir)
    try:
        return RunRecord.model_validate_json(read_text(path))
    except ValueError as e:
        raise KenteiError(f"unreadable run record: {str(e).splitlines()[0]}", path) from None


def save_record(run_dir: Path, record: RunRecord) -> None:
    atomic_write_json(run_dir / "run.json", record.model_dump(mode="json"))


def responses_path(run_dir: Path, task: str) -> Path:
    return run_dir / "responses" / f"{task}.jsonl"


def items_path(run_dir: Path, task: str) -> Path:
    return run_dir / f"{task}.jsonl"
