"""Bad input through the command line: a clear one-paragraph error, a non-zero exit, no traceback."""

from __future__ import annotations

from pathlib import Path

import pytest

from .conftest import make_task, run_cli


def assert_clean_error(res, *needles: str) -> None:
    assert res.returncode == 2, (res.returncode, res.stdout, res.stderr)
    assert "Traceback" not in res.stderr
    text = " ".join(res.stderr.split())
    for n in needles:
        assert n in text, text


def test_unknown_task() -> None:
    res = run_cli("run", "--model", "tiny-ja", "--tasks", "no_such_task")
    assert_clean_error(res, "unknown task 'no_such_task'", "known tasks:")


def test_malformed_task_yaml_names_file_and_line(tmp_path: Path) -> None:
    d = make_task(tmp_path, "t1")
    (d / "task.yaml").write_text((d / "task.yaml").read_text().replace("version: 1", "version: [1"))
    res = run_cli("tasks", "list", "--tasks-dir", str(tmp_path))
    assert_clean_error(res, f"{d / 'task.yaml'}:", "malformed YAML")


def test_unknown_key_in_task_yaml(tmp_path: Path) -> None:
    d = make_task(tmp_path, "t1")
    (d / "task.yaml").write_text((d / "task.yaml").read_text() + "shots: 3\n")
    res = run_cli("tasks", "show", "t1", "--tasks-dir", str(tmp_path))
    assert_clean_error(res, str(d / "task.yaml"), "shots: unknown key")


def test_bad_jsonl_line_names_file_and_line(tmp_path: Path) -> None:
    d = make_task(tmp_path, "t1", n=5)
    with (d / "test.jsonl").open("a") as f:
        f.write('{"id": "broken", \n')
    res = run_cli("run", "--model", "tiny-ja", "--tasks", "t1", "--tasks-dir", str(tmp_path), "--out", str(tmp_path))
    assert_clean_error(res, f"{d / 'test.jsonl'}:6:", "invalid JSON")


@pytest.mark.parametrize("model", ["./no/such/model", "/definitely/missing", "a/b/c/d"])
def test_missing_model_path(model: str, tmp_path: Path) -> None:
    res = run_cli("run", "--model", model, "--tasks", "keigo_form", "--out", str(tmp_path))
    assert_clean_error(res, "model not found", model)


def test_model_folder_without_config(tmp_path: Path) -> None:
    res = run_cli("run", "--model", str(tmp_path), "--tasks", "keigo_form", "--out", str(tmp_path))
    assert_clean_error(res, "no config.json")


@pytest.mark.parametrize("run_id", ["../escape", "a/b", ".hidden"])
def test_run_id_cannot_escape_the_runs_folder(run_id: str, tmp_path: Path) -> None:
    res = run_cli(
        "run", "--model", "tiny-ja", "--tasks", "keigo_form", "--out", str(tmp_path / "runs"), "--run-id", run_id
    )
    assert_clean_error(res, "invalid run id")
    assert not (tmp_path / "escape").exists()


def test_bad_options() -> None:
    assert_clean_error(run_cli("run", "--model", "tiny-ja", "--mc-mode", "vibes"), "--mc-mode")
    assert_clean_error(run_cli("run", "--model", "tiny-ja", "--batch-size", "-3"), "--batch-size")


def test_rescore_of_a_non_run_folder(tmp_path: Path) -> None:
    assert_clean_error(run_cli("rescore", str(tmp_path)), "not a run folder")


def test_help_lists_the_commands() -> None:
    res = run_cli("--help")
    assert res.returncode == 0
    for cmd in ("run", "rescore", "tasks", "tiny"):
        assert cmd in res.stdout
