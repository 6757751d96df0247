"""Crash safety: SIGKILL at named points (kentei/failpoints.py), then the same --run-id again.

Each resumed run must equal an uninterrupted one item for item, with no item missing or stored
twice, and while it is partial no tool may read it as complete. A disk that fills up mid-run gives
a clear error and loses nothing that was already written.
"""

from __future__ import annotations

import json
import shutil
import signal
import subprocess
from pathlib import Path

import pytest

from tests.conftest import run_cli

pytestmark = pytest.mark.slow

TASKS = "keigo_form,culture_qa"
# 40 items a task and 32 per stored batch: every task takes two batches, so a kill can land between them.
ARGS = ["run", "--model", "tiny-ja", "--tasks", TASKS, "--limit", "40", "--batch-size", "8", "--max-new-tokens", "6"]


def items(run_dir: Path, task: str) -> list[dict]:
    return [json.loads(x) for x in (run_dir / f"{task}.jsonl").read_text().splitlines()]


def logged_ids(run_dir: Path, task: str) -> list[str]:
    path = run_dir / "responses" / f"{task}.jsonl"
    ids = []
    for line in path.read_text().splitlines():
        try:
            ids.append(json.loads(line)["id"])
        except ValueError:
            continue  # a torn last line (tolerated on read, repaired on the next append)
    return ids


@pytest.fixture(scope="module")
def reference(tmp_path_factory: pytest.TempPathFactory, tiny_path: Path) -> Path:
    out = tmp_path_factory.mktemp("ref")
    r = run_cli(*ARGS, "--out", str(out), "--run-id", "ref")
    assert r.returncode == 0, r.stderr
    return out / "ref"


def assert_same_as_reference(run_dir: Path, reference: Path) -> None:
    rec, ref = (json.loads((d / "run.json").read_text()) for d in (run_dir, reference))
    assert rec["status"] == "complete"
    for task in TASKS.split(","):
        got, want = items(run_dir, task), items(reference, task)
        assert [i["id"] for i in got] == [i["id"] for i in want]
        assert [(i["prompt"], i["scores"]) for i in got] == [(i["prompt"], i["scores"]) for i in want]
        for g, w in zip(got, want, strict=True):
            # Log-probs: a resumed batch holds other items, so float32 sums may differ in the 7th digit.
            lg, lw = g["response"].pop("logprobs", []), w["response"].pop("logprobs", [])
            assert lg == pytest.approx(lw, abs=1e-4)
            assert g["response"] == w["response"]
        ids = logged_ids(run_dir, task)
        assert len(ids) == len(set(ids)) == 40, "an item is missing or stored twice"
        assert rec["tasks"][task]["metrics"] == ref["tasks"][task]["metrics"]
    assert not list(run_dir.rglob("*.tmp")), "a temp file of an atomic write was left behind"


@pytest.mark.parametrize(
    ("point", "leaves_run_json"),
    [
        ("model_load", False),  # weights loaded, nothing written yet
        ("after_batch:1", True),  # first batch of the first task stored
        ("torn_append:2", True),  # second batch cut in the middle of a line
        # Atomic writes: 1 = run.json created, 2 = keigo_form.jsonl (item records), 3 = run.json after it.
        ("atomic_write:2", True),  # the item records' temp file written, not yet renamed
        ("atomic_write:3", True),  # the run record's temp file written, not yet renamed
        ("between_tasks:1", True),  # first task scored and saved, second not started
    ],
)
def test_sigkill_then_resume_equals_uninterrupted(point: str, leaves_run_json: bool, reference: Path,
                                                  tmp_path: Path) -> None:  # fmt: skip
    run_dir = tmp_path / "r"
    killed = run_cli(*ARGS, "--out", str(tmp_path), "--run-id", "r", env={"KENTEI_FAILPOINT": point})
    assert killed.returncode == -signal.SIGKILL, (killed.returncode, killed.stderr[-2000:])
    assert (run_dir / "run.json").exists() == leaves_run_json
    if leaves_run_json:
        # Partial: never complete, and the tools that read records refuse or flag it.
        assert json.loads((run_dir / "run.json").read_text())["status"] == "running"
        cmp = run_cli("compare", str(run_dir), str(reference))
        assert cmp.returncode == 2 and "incomplete" in cmp.stderr
        board = tmp_path / "board.yaml"
        board.write_text(f"name: t\ntitle: t\nruns: [{json.dumps(str(run_dir))}, {json.dumps(str(reference))}]\n")
        built = run_cli("leaderboard", "build", "--config", str(board), "--out", str(tmp_path / "site"))
        if built.returncode == 0:
            assert "skipped incomplete run r" in built.stdout + built.stderr
            assert "tiny-ja" in (tmp_path / "site" / "index.html").read_text()
        else:
            assert "incomplete" in built.stderr

    resumed = run_cli(*ARGS, "--out", str(tmp_path), "--run-id", "r")
    assert resumed.returncode == 0, resumed.stderr
    assert_same_as_reference(run_dir, reference)


def _mount_tmpfs(path: Path, size: str) -> bool:
    path.mkdir(parents=True, exist_ok=True)
    r = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(path)], capture_output=True)
    return r.returncode == 0


def test_disk_full_is_a_clear_error_and_loses_nothing(reference: Path, tmp_path: Path) -> None:
    """A real full disk: --out on a 160 KiB tmpfs (the run needs ~380 KiB). The run stops with
    exit 2 naming the file and 'No space left on device'; what was stored stays readable, and once
    there is room (the folder moved to a bigger disk) the same run-id finishes with the
    uninterrupted result."""
    small = tmp_path / "small"
    if not _mount_tmpfs(small, "160k"):
        pytest.skip("needs permission to mount a tmpfs (root, as in CI)")
    try:
        full = run_cli(*ARGS, "--out", str(small), "--run-id", "r")
        assert full.returncode == 2, full.stderr[-2000:]
        assert "No space left on device" in full.stderr and str(small) in full.stderr
        assert "Traceback" not in full.stderr
        rec = json.loads((small / "r" / "run.json").read_text())  # still whole, valid JSON
        assert rec["status"] == "running"
        stored = logged_ids(small / "r", "keigo_form")
        assert len(stored) == len(set(stored))
        shutil.copytree(small / "r", tmp_path / "big" / "r")
    finally:
        subprocess.run(["umount", str(small)], check=False)
    resumed = run_cli(*ARGS, "--out", str(tmp_path / "big"), "--run-id", "r")
    assert resumed.returncode == 0, resumed.stderr
    assert_same_as_reference(tmp_path / "big" / "r", reference)
