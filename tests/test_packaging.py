"""The task data is found from a checkout and from an installed wheel; the CLI starts light."""

from __future__ import annotations

import json
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from .conftest import ROOT, TASKS

pytestmark = pytest.mark.slow


def test_wheel_ships_the_tasks_and_finds_them(tmp_path: Path) -> None:
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            str(ROOT),
            "--no-deps",
            "--no-build-isolation",
            "-q",
            "-w",
            str(tmp_path / "dist"),
        ],
        check=True,
        capture_output=True,
    )
    (wheel,) = (tmp_path / "dist").glob("kentei-*.whl")
    names = zipfile.ZipFile(wheel).namelist()
    for task in (p.name for p in TASKS.iterdir() if (p / "task.yaml").exists()):
        for f in ("task.yaml", "test.jsonl", "fewshot.jsonl", "README.md"):
            assert f"kentei_tasks/{task}/{f}" in names
    assert any(n.startswith("kentei/tiny/corpus/") for n in names)
    site = tmp_path / "site"
    zipfile.ZipFile(wheel).extractall(site)
    # Run from the unpacked wheel, away from the checkout: tasks come from kentei_tasks. -S skips .pth
    # files, so the editable install's import hook cannot redirect `kentei` to the checkout.
    import sysconfig

    deps = sysconfig.get_paths()["purelib"]
    code = (
        f"import sys; sys.path[:0] = [{str(site)!r}, {deps!r}]; import json, kentei.tasks as t;"
        "ts = t.select_tasks('all');"
        "print(json.dumps([str(t.default_tasks_dir()), [x.name for x in ts], [len(x.test) for x in ts]]))"
    )
    res = subprocess.run([sys.executable, "-S", "-c", code], cwd=tmp_path, capture_output=True, text=True)
    assert res.returncode == 0, res.stderr
    where, names_found, counts = json.loads(res.stdout)
    assert Path(where).is_relative_to(site)
    from kentei.tasks import select_tasks

    local = select_tasks("all")
    assert names_found == [t.name for t in local] and counts == [len(t.test) for t in local]


def test_cli_help_does_not_import_torch() -> None:
    code = "import sys; from kentei import cli; print('torch' in sys.modules, 'transformers' in sys.modules)"
    res = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT)
    assert res.stdout.split() == ["False", "False"]
