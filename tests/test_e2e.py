"""End to end through the command line on tiny-ja: run, record, rescore, resume after SIGKILL."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from kentei.records import RunRecord

from .conftest import ROOT, run_cli

pytestmark = pytest.mark.slow
TASKS = "keigo_form,monozukuri_reading"


def read_items(run_dir: Path, task: str) -> list[dict]:
    return [json.loads(line) for line in (run_dir / f"{task}.jsonl").read_text().splitlines()]


def record(run_dir: Path) -> RunRecord:
    return RunRecord.model_validate_json((run_dir / "run.json").read_text())


@pytest.fixture(scope="module")
def first_run(tmp_path_factory: pytest.TempPathFactory, tiny_path: Path) -> Path:
    out = tmp_path_factory.mktemp("runs")
    res = run_cli(
        "run",
        "--model",
        "tiny-ja",
        "--tasks",
        TASKS,
        "--limit",
        "12",
        "--out",
        str(out),
        "--run-id",
        "e2e",
        "--batch-size",
        "4",
    )
    assert res.returncode == 0, res.stderr
    assert "keigo_form" in res.stdout and "record:" in res.stdout
    return out / "e2e"


def test_run_writes_a_complete_record(first_run: Path, tiny_path: Path) -> None:
    rec = record(first_run)
    assert rec.status == "complete" and rec.finished_at
    assert rec.model["id"] == "tiny-ja" and rec.model["path"] == str(tiny_path)
    assert rec.settings.chat is True  # tiny-ja ships a chat template: the default uses it
    assert rec.kentei["version"] and rec.host["torch"]
    # The tokenizer-fit report over the whole suite rides along with every hf run.
    from kentei.tasks import select_tasks
    from kentei.tokfit import fit_report, load_tokenizer, suite_texts

    fit = rec.tokenizer_fit or {}
    assert fit == pytest.approx(fit_report(load_tokenizer("tiny-ja"), suite_texts(select_tasks("all"))))
    assert 1.0 < fit["chars_per_token"] < 3.0
    for name in TASKS.split(","):
        tr = rec.tasks[name]
        assert tr.status == "complete" and tr.n == 12 and len(tr.items_sha256) == 64
        prim = tr.metrics[tr.primary_metric]
        assert 0 <= prim.value <= 1 and prim.n == 12 and prim.ci95 is not None
        assert sum(c["n"] for c in tr.by_category.values()) == 12
        items = read_items(first_run, name)
        assert len(items) == 12 and len({i["id"] for i in items}) == 12
        assert all(set(i["scores"]) >= {tr.primary_metric} for i in items)
    mc = read_items(first_run, "keigo_form")[0]
    assert len(mc["response"]["logprobs"]) == len(mc["item"]["choices"])
    assert set(rec.tasks["keigo_form"].metrics) == {"acc", "acc_norm"}
    gen = read_items(first_run, "monozukuri_reading")[0]
    assert "<|assistant|>" in gen["prompt"] and "\n" not in gen["response"]["text"]
    # The value in run.json is the mean of the item scores.
    accs = [i["scores"]["acc"] for i in read_items(first_run, "keigo_form")]
    assert rec.tasks["keigo_form"].metrics["acc"].value == pytest.approx(sum(accs) / len(accs))


def test_rescore_reproduces_every_score(first_run: Path, tmp_path: Path) -> None:
    import shutil

    copy = tmp_path / "copy"
    shutil.copytree(first_run, copy)
    for name in TASKS.split(","):
        (copy / f"{name}.jsonl").unlink()  # scores come back from the stored responses alone
    res = run_cli("rescore", str(copy), "--json")
    assert res.returncode == 0, res.stderr
    before, after = record(first_run), record(copy)
    for name in TASKS.split(","):
        assert read_items(copy, name) == read_items(first_run, name)
        assert after.tasks[name].metrics == before.tasks[name].metrics


def test_same_seed_same_everything(first_run: Path) -> None:
    out = first_run.parent
    res = run_cli(
        "run",
        "--model",
        "tiny-ja",
        "--tasks",
        TASKS,
        "--limit",
        "12",
        "--out",
        str(out),
        "--run-id",
        "e2e-again",
        "--batch-size",
        "1",
    )
    assert res.returncode == 0, res.stderr
    for name in TASKS.split(","):
        a, b = read_items(first_run, name), read_items(out / "e2e-again", name)
        assert [i["prompt"] for i in a] == [i["prompt"] for i in b]
        assert [i["scores"] for i in a] == [i["scores"] for i in b]
        assert [i["response"].get("text") for i in a] == [i["response"].get("text") for i in b]
        for x, y in zip(a, b, strict=True):
            if "logprobs" in x["response"]:
                assert x["response"]["logprobs"] == pytest.approx(y["response"]["logprobs"], abs=1e-5)


def test_rerun_of_a_complete_run_recomputes_nothing(first_run: Path) -> None:
    log = first_run / "responses" / "keigo_form.jsonl"
    before = log.read_bytes()
    res = run_cli(
        "run",
        "--model",
        "tiny-ja",
        "--tasks",
        TASKS,
        "--limit",
        "12",
        "--out",
        str(first_run.parent),
        "--run-id",
        "e2e",
        "--batch-size",
        "4",
    )
    assert res.returncode == 0, res.stderr
    assert log.read_bytes() == before


def test_resume_with_other_settings_is_refused(first_run: Path) -> None:
    res = run_cli(
        "run", "--model", "tiny-ja", "--tasks", TASKS, "--limit", "5", "--out", str(first_run.parent), "--run-id", "e2e"
    )
    assert res.returncode == 2
    assert "cannot be resumed" in res.stderr and "Traceback" not in res.stderr


def test_generate_mode_reports_extraction_failures(tiny_path: Path, tmp_path: Path) -> None:
    res = run_cli(
        "run",
        "--model",
        "tiny-ja",
        "--tasks",
        "keigo_form",
        "--limit",
        "8",
        "--mc-mode",
        "generate",
        "--no-chat",
        "--out",
        str(tmp_path),
        "--run-id",
        "gen",
    )
    assert res.returncode == 0, res.stderr
    rec = record(tmp_path / "gen")
    m = rec.tasks["keigo_form"].metrics
    assert set(m) == {"acc", "extraction_failed"} and rec.settings.chat is False
    items = read_items(tmp_path / "gen", "keigo_form")
    failed = [i for i in items if i["extraction"]["choice"] is None]
    assert m["extraction_failed"].value == pytest.approx(len(failed) / len(items))
    assert all(i["scores"]["acc"] == 0 for i in failed)
    assert "答え：" in items[0]["prompt"] and "<|user|>" not in items[0]["prompt"]


def test_killed_run_resumes_to_the_same_result(tiny_path: Path, tmp_path: Path) -> None:
    """SIGKILL mid-run, re-run the same run-id: same scores as an uninterrupted run, no item
    missing or duplicated."""
    args = ["run", "--model", "tiny-ja", "--tasks", TASKS, "--out", str(tmp_path), "--batch-size", "1"]
    ref = run_cli(*args, "--run-id", "ref")
    assert ref.returncode == 0, ref.stderr

    env = dict(os.environ, COLUMNS="200")
    proc = subprocess.Popen(
        [sys.executable, "-m", "kentei", *args, "--run-id", "killed"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    log = tmp_path / "killed" / "responses" / "monozukuri_reading.jsonl"
    deadline = time.time() + 300
    while time.time() < deadline and proc.poll() is None:
        if log.exists() and log.read_bytes().count(b"\n") >= 4:
            break
        time.sleep(0.005)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert record(tmp_path / "killed").status == "running"  # a partial record never reads as complete
    n_before = log.read_bytes().count(b"\n")
    assert 4 <= n_before < 48

    again = run_cli(*args, "--run-id", "killed")
    assert again.returncode == 0, again.stderr
    assert record(tmp_path / "killed").status == "complete"
    for name in TASKS.split(","):
        a, b = read_items(tmp_path / "ref", name), read_items(tmp_path / "killed", name)
        assert [i["id"] for i in b] == [i["id"] for i in a]
        assert [i["scores"] for i in b] == [i["scores"] for i in a]
        lines = (tmp_path / "killed" / "responses" / f"{name}.jsonl").read_text().splitlines()
        ids = [json.loads(x)["id"] for x in lines]
        assert len(ids) == len(set(ids)) == len(a)  # nothing recomputed twice, nothing missing
    assert record(tmp_path / "killed").tasks.keys() == record(tmp_path / "ref").tasks.keys()
