"""Security defaults: a model's own code runs only when asked, pickle weights load only when asked,
names cannot escape their folders, and one run folder has one writer at a time."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from kentei.io import RunLock

from .conftest import make_task, run_cli
from .test_cli_errors import assert_clean_error

EVIL_CODE = '''
import os
from pathlib import Path

from transformers import LlamaConfig, LlamaForCausalLM

Path(os.environ["KENTEI_MARKER"]).write_text("the model repo's code ran")


class EvilConfig(LlamaConfig):
    pass


class EvilModel(LlamaForCausalLM):
    config_class = EvilConfig
'''


@pytest.fixture()
def remote_code_model(tiny_path: Path, tmp_path: Path) -> Path:
    """tiny-ja whose config points at Python code shipped in the folder (as hub repos with auto_map do)."""
    d = tmp_path / "remote-code-model"
    shutil.copytree(tiny_path, d)
    cfg = json.loads((d / "config.json").read_text())
    cfg["auto_map"] = {"AutoConfig": "evil.EvilConfig", "AutoModelForCausalLM": "evil.EvilModel"}
    (d / "config.json").write_text(json.dumps(cfg))
    (d / "evil.py").write_text(EVIL_CODE)
    return d


@pytest.mark.slow
def test_model_code_runs_only_with_trust_remote_code(remote_code_model: Path, tmp_path: Path) -> None:
    marker = tmp_path / "marker"
    args = ["run", "--model", str(remote_code_model), "--tasks", "keigo_form", "--limit", "2", "--out",
            str(tmp_path / "runs"), "--no-chat"]  # fmt: skip
    plain = run_cli(*args, "--run-id", "plain", env={"KENTEI_MARKER": str(marker)})
    # Without the flag the folder loads as the architecture it declares, or fails cleanly; its code never runs.
    assert not marker.exists(), "the model folder's Python code ran without --trust-remote-code"
    assert plain.returncode in (0, 2) and "Traceback" not in plain.stderr
    trusted = run_cli(*args, "--run-id", "trusted", "--trust-remote-code", env={"KENTEI_MARKER": str(marker)})
    assert trusted.returncode == 0, trusted.stderr
    assert marker.exists()
    rec = json.loads((tmp_path / "runs" / "trusted" / "run.json").read_text())
    assert rec["runtime"]["trust_remote_code"] is True  # the record says the model's code was trusted


@pytest.mark.slow
def test_pickle_weights_need_allow_pickle(tiny_path: Path, tmp_path: Path) -> None:
    import torch
    from safetensors.torch import load_file

    d = tmp_path / "pickled"
    shutil.copytree(tiny_path, d)
    (d / "model.safetensors").unlink()
    torch.save(load_file(str(tiny_path / "model.safetensors")), d / "pytorch_model.bin")
    args = ["run", "--model", str(d), "--tasks", "keigo_form", "--limit", "2", "--out", str(tmp_path / "runs")]
    refused = run_cli(*args, "--run-id", "no")
    assert_clean_error(refused, "--allow-pickle")
    assert not (tmp_path / "runs" / "no").exists()
    allowed = run_cli(*args, "--run-id", "yes", "--allow-pickle")
    assert allowed.returncode == 0, allowed.stderr


@pytest.mark.parametrize("name", ["../keigo_form", "keigo_form/../x", "/etc/passwd", "..", "a\\b"])
def test_task_names_cannot_escape_the_tasks_folder(name: str, tmp_path: Path) -> None:
    res = run_cli("run", "--model", "tiny-ja", "--tasks", name, "--out", str(tmp_path))
    assert_clean_error(res, "invalid task name")
    assert_clean_error(run_cli("tasks", "show", name), "task")
    assert_clean_error(run_cli("export", "hf", "--tasks", name, "--out", str(tmp_path / "x")), "invalid task name")
    assert not (tmp_path / "x").exists()


def test_task_yaml_name_must_match_its_folder(tmp_path: Path) -> None:
    d = make_task(tmp_path, "t1")
    (d / "task.yaml").write_text((d / "task.yaml").read_text().replace("name: t1", "name: ../../evil"))
    assert_clean_error(run_cli("tasks", "list", "--tasks-dir", str(tmp_path)), "name")


def test_duplicate_item_ids_are_refused_with_both_lines(tmp_path: Path) -> None:
    d = make_task(tmp_path, "t1", n=4)
    lines = (d / "test.jsonl").read_text().splitlines()
    (d / "test.jsonl").write_text("\n".join([*lines, lines[1]]) + "\n")
    res = run_cli("run", "--model", "tiny-ja", "--tasks", "t1", "--tasks-dir", str(tmp_path), "--out", str(tmp_path))
    assert_clean_error(res, f"{d / 'test.jsonl'}:5:", "duplicate item id", "first on line 2")


def test_model_folder_without_tokenizer(tiny_path: Path, tmp_path: Path) -> None:
    d = tmp_path / "weights-only"
    d.mkdir()
    for f in ("config.json", "model.safetensors"):
        shutil.copy(tiny_path / f, d / f)
    res = run_cli("run", "--model", str(d), "--tasks", "keigo_form", "--out", str(tmp_path / "runs"))
    assert_clean_error(res, "cannot load a tokenizer")
    assert not (tmp_path / "runs").exists()


def test_one_writer_per_run_folder(tmp_path: Path) -> None:
    run_dir = tmp_path / "runs" / "busy"
    with RunLock(run_dir):
        res = run_cli("run", "--model", "tiny-ja", "--tasks", "keigo_form", "--limit", "2",
                      "--out", str(tmp_path / "runs"), "--run-id", "busy")  # fmt: skip
        assert_clean_error(res, "in use by another kentei process")
    assert not (run_dir / "run.json").exists()
    # Released (also when the holder is killed: flock dies with the process), the run goes ahead.
    res = run_cli("run", "--model", "tiny-ja", "--tasks", "keigo_form", "--limit", "2",
                  "--out", str(tmp_path / "runs"), "--run-id", "busy")  # fmt: skip
    assert res.returncode == 0, res.stderr
    # Rescoring writes the same files, so it takes the same lock.
    with RunLock(run_dir):
        assert_clean_error(run_cli("rescore", str(run_dir)), "in use by another kentei process")
    assert run_cli("rescore", str(run_dir)).returncode == 0
