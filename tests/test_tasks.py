"""Task loading and selection: the suite's tasks load, bad selections are clear errors."""

from __future__ import annotations

from pathlib import Path

import pytest

from kentei.errors import KenteiError
from kentei.spec import GenItem, MCItem
from kentei.tasks import default_tasks_dir, load_task, select_tasks, task_dirs

from .conftest import TASKS, make_task


def test_suite_tasks_load_and_include_both_kinds() -> None:
    assert default_tasks_dir() == TASKS
    tasks = select_tasks("all")
    kinds = {t.spec.kind for t in tasks}
    assert kinds == {"multiple_choice", "generation"}
    for t in tasks:
        assert t.test and len(t.fewshot) >= 5, t.name
        assert all(isinstance(li.item, MCItem if t.spec.kind == "multiple_choice" else GenItem) for li in t.test)
        assert len(t.items_sha256()) == 64


def test_select_by_family_and_names(tmp_path: Path) -> None:
    make_task(tmp_path, "a_mc")
    make_task(tmp_path, "b_gen", kind="generation")
    assert [t.name for t in select_tasks("keigo", tmp_path)] == ["a_mc"]
    assert [t.name for t in select_tasks("b_gen,a_mc,b_gen", tmp_path)] == ["b_gen", "a_mc"]
    assert [t.name for t in select_tasks("all", tmp_path)] == ["a_mc", "b_gen"]


def test_unknown_task_lists_known_ones(tmp_path: Path) -> None:
    make_task(tmp_path, "a_mc")
    with pytest.raises(KenteiError, match=r"unknown task 'nope'; known tasks: a_mc"):
        select_tasks("nope", tmp_path)
    with pytest.raises(KenteiError, match="invalid task name"):
        select_tasks("../etc", tmp_path)


def test_items_hash_changes_with_any_item_change(tmp_path: Path) -> None:
    d = make_task(tmp_path, "a_mc")
    before = load_task(d).items_sha256()
    text = (d / "test.jsonl").read_text().replace("旅程0の", "旅程0で", 1)
    (d / "test.jsonl").write_text(text)
    assert load_task(d).items_sha256() != before


@pytest.mark.parametrize(
    ("edit", "message", "line"),
    [
        (lambda s: s.replace("version: 1", "version: 1\nfoo: bar"), "foo: unknown key", None),
        (lambda s: s.replace("kind: multiple_choice", "kind: essay"), "kind", None),
        (lambda s: s.replace("primary_metric: acc", "primary_metric: bleu"), "primary_metric 'bleu'", None),
        (lambda s: s.replace("name: t1", "name: other"), "must equal the folder name", None),
        (lambda s: s.replace("version: 1", "version: [1"), "malformed YAML", 3),
    ],
)
def test_bad_task_yaml(tmp_path: Path, edit, message: str, line: int | None) -> None:
    d = make_task(tmp_path, "t1")
    (d / "task.yaml").write_text(edit((d / "task.yaml").read_text()))
    with pytest.raises(KenteiError, match=message) as e:
        load_task(d)
    assert e.value.path and e.value.path.endswith("task.yaml")
    if line:
        assert e.value.line is not None and e.value.line >= line - 1


@pytest.mark.parametrize(
    ("bad_line", "message"),
    [
        ('{"id": "x", "category": "c"', "invalid JSON"),
        ('["not", "an", "object"]', "expected a JSON object"),
        (
            '{"id": "x", "category": "c", "rationale": "r", "question": "q", "choices": ["a", "b"], "answer": 5}',
            "answer 5 is out of range",
        ),
        (
            '{"id": "x", "category": "c", "rationale": "r", "choices": ["a", "b"], "answer": 0}',
            "question: Field required",
        ),
    ],
)
def test_bad_jsonl_line_names_file_and_line(tmp_path: Path, bad_line: str, message: str) -> None:
    d = make_task(tmp_path, "t1", n=3)
    with (d / "test.jsonl").open("a") as f:
        f.write(bad_line + "\n")
    with pytest.raises(KenteiError, match=message) as e:
        load_task(d)
    assert e.value.path.endswith("test.jsonl") and e.value.line == 4


def test_non_utf8_and_empty_task(tmp_path: Path) -> None:
    d = make_task(tmp_path, "t1")
    (d / "test.jsonl").write_bytes(b"{}\n" + "質問".encode("shift_jis"))
    with pytest.raises(KenteiError, match="not valid UTF-8") as e:
        load_task(d)
    assert e.value.line == 2
    (d / "test.jsonl").write_text("\n")
    with pytest.raises(KenteiError, match="no test items"):
        load_task(d)


def test_task_dirs_skips_non_task_folders(tmp_path: Path) -> None:
    make_task(tmp_path, "a_mc")
    (tmp_path / "notes").mkdir()
    assert [p.name for p in task_dirs(tmp_path)] == ["a_mc"]


def test_every_generation_gold_scores_full_marks() -> None:
    """Data and scorers agree: each item's first reference, given as the output, gets 1.0 on the
    task's primary metric (catches wrong units, a reading the folding breaks, a reference the keigo
    analyzer would flag)."""
    from scorers import Sample, get_scorer

    for task in select_tasks("all"):
        if task.spec.kind != "generation":
            continue
        scorer = get_scorer(task.spec.primary_metric)
        for li in task.test:
            item = li.item.model_dump(mode="json")
            score = scorer(Sample(item, {"text": item["references"][0]}))
            assert score == pytest.approx(1.0), (task.name, item["id"], score)


@pytest.mark.parametrize("task", ["monozukuri_qa", "culture_qa"])
def test_generated_items_regenerate(task: str) -> None:
    """Computed / rule-checkable items are exactly what the committed script writes."""
    import subprocess
    import sys

    res = subprocess.run([sys.executable, str(TASKS / task / "generate.py"), "--check"], capture_output=True, text=True)
    assert res.returncode == 0, res.stdout + res.stderr
