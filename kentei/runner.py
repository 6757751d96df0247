"""The runner: plan requests, call the backend in length-sorted batches, store responses, score.

Responses are appended to responses/<task>.jsonl as soon as each batch returns, so a killed run
resumes where it stopped (same --run-id) and never recomputes a finished item. Scoring reads only
the stored responses, which is also what `kentei rescore` does.
"""

from __future__ import annotations

import datetime as dt
import platform
import subprocess
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from kentei import __version__, failpoints
from kentei.backends.base import Backend
from kentei.errors import KenteiError
from kentei.io import AppendLog, RunLock, atomic_write_jsonl, read_log, sha256_text
from kentei.prompts import choose_fewshot, prompt_sha256, render_prompt
from kentei.records import (
    RunRecord,
    RunSettings,
    RuntimeSettings,
    TaskResult,
    items_path,
    load_record,
    responses_path,
    save_record,
)
from kentei.requests import GenerateRequest, LoglikelihoodRequest
from kentei.scoring import aggregate, score_rows
from kentei.spec import Item, MCItem
from kentei.tasks import Task

Progress = Callable[[str, int, int], None]
"""progress(task, done, total): called after each stored batch."""


@dataclass(frozen=True)
class Planned:
    index: int
    item: Item
    prompt: str
    request: LoglikelihoodRequest | GenerateRequest


def now() -> str:
    return dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds")


def git_sha() -> str | None:
    here = Path(__file__).resolve().parent.parent
    if not (here / ".git").exists():
        return None
    try:
        out = subprocess.run(["git", "-C", str(here), "rev-parse", "HEAD"], capture_output=True, text=True, timeout=5)
        return out.stdout.strip() or None
    except (OSError, subprocess.SubprocessError):
        return None


def host_info() -> dict[str, Any]:
    import os

    info: dict[str, Any] = {
        "platform": platform.platform(),
        "python": platform.python_version(),
        "cpu_count": os.cpu_count(),
    }
    try:
        import torch
        import transformers

        info["torch"] = torch.__version__
        info["transformers"] = transformers.__version__
        if torch.cuda.is_available():
            info["gpus"] = [torch.cuda.get_device_name(i) for i in range(torch.cuda.device_count())]
    except ImportError:
        pass
    return info


def task_num_fewshot(task: Task, settings: RunSettings) -> int:
    return task.spec.num_fewshot if settings.num_fewshot is None else settings.num_fewshot


def plan_task(task: Task, settings: RunSettings, backend: Backend) -> list[Planned]:
    """Prompts and requests for the task's items (the first `limit` in file order)."""
    spec = task.spec
    k = task_num_fewshot(task, settings)
    pool = [li.item for li in task.fewshot]
    formatter = backend.apply_chat_template if settings.chat else None
    items = task.items[: settings.limit] if settings.limit else task.items
    planned: list[Planned] = []
    max_new = settings.max_new_tokens or spec.generation.max_new_tokens
    for index, item in enumerate(items):
        shots = choose_fewshot(pool, k, settings.seed, spec.name, item.id)
        prompt = render_prompt(spec, item, shots, settings.mc_mode, formatter).text
        key = f"{spec.name}/{item.id}"
        req: LoglikelihoodRequest | GenerateRequest
        if isinstance(item, MCItem) and settings.mc_mode == "loglikelihood":
            req = LoglikelihoodRequest(key, prompt, tuple(item.choices))
        elif isinstance(item, MCItem):
            # An answer is one number; stop at the end of the line.
            req = GenerateRequest(key, prompt, ("\n",), min(max_new, 16))
        else:
            req = GenerateRequest(key, prompt, tuple(spec.generation.stop), max_new)
        planned.append(Planned(index, item, prompt, req))
    return planned


def task_result(task: Task, settings: RunSettings) -> TaskResult:
    n = min(len(task.test), settings.limit) if settings.limit else len(task.test)
    return TaskResult(
        version=task.spec.version,
        family=task.spec.family,
        kind=task.spec.kind,
        items_sha256=task.items_sha256(),
        prompt_sha256=prompt_sha256(task.spec, [li.item for li in task.fewshot]),
        primary_metric=task.spec.primary_metric,
        metric_specs=[m.model_dump(mode="json") for m in task.spec.metrics],
        n=n,
        num_fewshot=task_num_fewshot(task, settings),
    )


def open_run(
    run_dir: Path,
    run_id: str,
    tasks: list[Task],
    settings: RunSettings,
    runtime: RuntimeSettings,
    model_info: dict[str, Any],
) -> RunRecord:
    """A new record, or the existing one when resuming; refuses to resume with other settings."""
    planned = {t.name: task_result(t, settings) for t in tasks}
    if (run_dir / "run.json").exists():
        rec = load_record(run_dir)
        problems = []
        if rec.settings != settings:
            problems.append(f"settings differ (recorded {rec.settings.model_dump()}, now {settings.model_dump()})")
        for key in ("id", "backend", "weights_sha256", "revision"):
            if rec.model.get(key) != model_info.get(key):
                problems.append(f"model {key} differs ({rec.model.get(key)!r} vs {model_info.get(key)!r})")
        for name, tr in planned.items():
            old = rec.tasks.get(name)
            if old is None:
                problems.append(f"task {name} is not in the recorded run")
            elif (old.version, old.items_sha256, old.prompt_sha256) != (tr.version, tr.items_sha256, tr.prompt_sha256):
                problems.append(f"task {name} changed since the run started (version, items or prompt)")
        if problems:
            raise KenteiError(
                f"run {run_id!r} already exists and cannot be resumed: "
                + "; ".join(problems)
                + ". Use a new --run-id.",
                run_dir / "run.json",
            )
        rec.runtime = runtime
        return rec
    rec = RunRecord(
        run_id=run_id,
        created_at=now(),
        kentei={"version": __version__, "git_sha": git_sha()},
        model=model_info,
        settings=settings,
        runtime=runtime,
        tasks=planned,
        host=host_info(),
    )
    save_record(run_dir, rec)
    return rec


def _response_row(p: Planned, result: Any) -> dict[str, Any]:
    if isinstance(p.request, LoglikelihoodRequest):
        resp = {"logprobs": result.logprobs, "is_greedy": result.is_greedy, "n_tokens": result.n_tokens}
        if result.boundary_merged:
            resp["boundary_merged"] = True
        if result.truncated:
            resp["truncated"] = True
    else:
        resp = {"text": result.text, "n_tokens": result.n_tokens, "finish": result.finish}
    return {
        "id": p.item.id,
        "index": p.index,
        "item": p.item.model_dump(mode="json"),
        "prompt": p.prompt,
        "prompt_sha256": sha256_text(p.prompt),
        "response": resp,
    }


def execute_task(
    task: Task,
    planned: list[Planned],
    backend: Backend,
    run_dir: Path,
    progress: Progress | None = None,
    chunk: int = 32,
) -> list[dict[str, Any]]:
    """Run every planned request not yet answered; return all response rows in item order."""
    log_path = responses_path(run_dir, task.name)
    done: dict[str, dict[str, Any]] = {}
    for row in read_log(log_path):
        done.setdefault(row["id"], row)  # a duplicate line (never expected) cannot double-count
    todo = [p for p in planned if p.item.id not in done]
    # Longest first: the biggest batch meets memory limits at once, and similar lengths pad less.
    todo.sort(key=lambda p: len(p.prompt), reverse=True)
    total = len(planned)
    if progress:
        progress(task.name, total - len(todo), total)
    with AppendLog(log_path) as log:
        for i in range(0, len(todo), chunk):
            part = todo[i : i + chunk]
            reqs = [p.request for p in part]
            if isinstance(reqs[0], LoglikelihoodRequest):
                results: list[Any] = backend.loglikelihood(reqs)  # type: ignore[arg-type]
            else:
                results = backend.generate(reqs)  # type: ignore[arg-type]
            rows = [_response_row(p, r) for p, r in zip(part, results, strict=True)]
            log.append(rows)
            failpoints.hit("after_batch")
            for row in rows:
                done[row["id"]] = row
            if progress:
                progress(task.name, total - len(todo) + i + len(part), total)
    return [done[p.item.id] for p in planned]


def score_task(run_dir: Path, name: str, tr: TaskResult, mc_mode: str, rows: list[dict[str, Any]]) -> None:
    records = score_rows(tr.kind, tr.metric_specs, mc_mode, rows)
    atomic_write_jsonl(items_path(run_dir, name), records)
    tr.metrics, tr.by_category = aggregate(records, tr.metric_specs)
    tr.status = "complete"


def run(
    tasks: list[Task],
    backend: Backend,
    settings: RunSettings,
    runtime: RuntimeSettings,
    out: Path,
    run_id: str,
    progress: Progress | None = None,
    load_seconds: float | None = None,
    tokenizer_fit: dict[str, float] | None = None,
) -> RunRecord:
    run_dir = out / run_id
    with RunLock(run_dir):  # one writer per run folder
        rec = open_run(run_dir, run_id, tasks, settings, runtime, backend.info())
        if tokenizer_fit is not None:
            rec.tokenizer_fit = tokenizer_fit
        t_run = time.time()
        if load_seconds is not None:
            rec.timings["model_load_seconds"] = round(load_seconds, 3)
        for task in tasks:
            tr = rec.tasks[task.name]
            if tr.status == "complete" and items_path(run_dir, task.name).exists():
                if progress:
                    progress(task.name, tr.n, tr.n)
                continue
            t0 = time.time()
            planned = plan_task(task, settings, backend)
            rows = execute_task(task, planned, backend, run_dir, progress)
            score_task(run_dir, task.name, tr, settings.mc_mode, rows)
            tr.seconds = round((tr.seconds or 0) + time.time() - t0, 3)
            save_record(run_dir, rec)  # a finished task survives a crash in the next one
            failpoints.hit("between_tasks")
        rec.status = "complete"
        rec.finished_at = now()
        secs = time.time() - t_run
        n = sum(t.n for t in rec.tasks.values())
        rec.timings.update(
            {"eval_seconds": round(secs, 3), "items": n, "items_per_second": round(n / secs, 3) if secs > 0 else None}
        )
        save_record(run_dir, rec)
        return rec


def rescore(run_dir: Path) -> RunRecord:
    """Recompute every score of a run from its stored responses alone (no model, no task files)."""
    load_record(run_dir)  # "not a run folder" before a lock file is made in a stranger's folder
    with RunLock(run_dir):
        rec = load_record(run_dir)
        for name, tr in rec.tasks.items():
            path = responses_path(run_dir, name)
            rows = read_log(path)
            if len(rows) < tr.n:
                msg = f"task {name}: only {len(rows)} of {tr.n} responses stored; resume the run first"
                raise KenteiError(msg, path)
            seen: dict[str, dict[str, Any]] = {}
            for row in rows:
                seen.setdefault(row["id"], row)
            ordered = sorted(seen.values(), key=lambda r: r["index"])[: tr.n]
            score_task(run_dir, name, tr, rec.settings.mc_mode, ordered)
        save_record(run_dir, rec)
        return rec
