"""`kentei tasks validate`: each lint of the data guide fires on a fixture made to break it."""

from __future__ import annotations

import math
from pathlib import Path

import pytest
from scipy import stats

from kentei.lint import baseline_scores, binom_sf, chi2_sf, lint_path, read_rows

from .conftest import TASKS, make_task, mc_items, run_cli


def codes(path: Path) -> dict[str, list]:
    out: dict[str, list] = {}
    for p in lint_path(path):
        out.setdefault(p.code, []).append(p)
    return out


def test_suite_tasks_are_clean() -> None:
    problems = [p for p in lint_path(TASKS) if p.severity == "error"]
    assert problems == [], "\n".join(map(str, problems))


def test_clean_fixture_has_no_problems(tmp_path: Path) -> None:
    make_task(tmp_path, "ok", n=40)
    make_task(tmp_path, "okgen", kind="generation", n=10)
    assert lint_path(tmp_path) == []


def test_duplicate_ids_and_items_and_fewshot_overlap(tmp_path: Path) -> None:
    rows = mc_items(12)
    rows[5]["id"] = rows[2]["id"]
    rows[7] = dict(rows[3], id="other")  # same content, new id
    fs = [dict(rows[8], id="fs1"), dict(mc_items(1, prefix="fs")[0], id="fs2")]
    d = make_task(tmp_path, "t", test=rows, fewshot=fs)
    c = codes(d)
    assert [p.line for p in c["duplicate_id"]] == [6]
    assert [p.line for p in c["duplicate_item"]] == [8]
    assert c["fewshot_overlap"][0].path.name == "fewshot.jsonl" and c["fewshot_overlap"][0].line == 1


def test_near_duplicate_is_a_warning(tmp_path: Path) -> None:
    rows = mc_items(12)
    rows[9] = dict(rows[1], id="near", question=rows[1]["question"].replace("。", "？"))
    c = codes(make_task(tmp_path, "t", test=rows))
    # "？" vs "。" normalize away: an exact duplicate after normalization.
    assert "duplicate_item" in c
    rows[9] = dict(rows[1], id="near", question=rows[1]["question"].replace("どれか", "どれ"))
    c = codes(make_task(tmp_path / "b", "t", test=rows))
    assert c["near_duplicate"][0].severity == "warning" and c["near_duplicate"][0].line == 10


def test_duplicate_choices(tmp_path: Path) -> None:
    rows = mc_items(12)
    rows[4]["choices"][1] = rows[4]["choices"][0].replace("駅", "駅。")
    c = codes(make_task(tmp_path, "t", test=rows))
    assert [p.line for p in c["duplicate_choice"]] == [5]


def test_unbalanced_gold_positions(tmp_path: Path) -> None:
    rows = mc_items(40)
    for r in rows:  # move every gold to position 1 or 2
        g = r["choices"].pop(r["answer"])
        r["answer"] = 1 + (int(r["id"][1:]) % 2)
        r["choices"].insert(r["answer"], g)
    c = codes(make_task(tmp_path, "t", test=rows))
    assert "gold_balance" in c and "0: 0" in c["gold_balance"][0].message


def test_always_first_and_always_longest(tmp_path: Path) -> None:
    rows = mc_items(40)
    for r in rows:
        r["choices"][r["answer"]] += "（ホーム）"  # the gold is always the longest
    c = codes(make_task(tmp_path, "t", test=rows))
    assert [p.message.split()[1] for p in c["trivial_baseline"]] == ["always_longest"]
    first = mc_items(40)
    for r in first:
        g = r["choices"].pop(r["answer"])
        r["choices"].insert(0, g)
        r["answer"] = 0
    c = codes(make_task(tmp_path / "b", "t", test=first))
    assert "always_first" in " ".join(p.message for p in c["trivial_baseline"])


def test_max_overlap_with_question(tmp_path: Path) -> None:
    rows = mc_items(40)
    for r in rows:
        r["question"] += f"（ヒント：{r['choices'][r['answer']]}）"
    c = codes(make_task(tmp_path, "t", test=rows))
    assert "max_overlap_with_question" in " ".join(p.message for p in c["trivial_baseline"])


def test_schema_errors_reported_per_line_without_stopping(tmp_path: Path) -> None:
    d = make_task(tmp_path, "t", n=8)
    with (d / "test.jsonl").open("a") as f:
        f.write("{bad json\n")
        f.write('{"id": "z", "category": "c", "rationale": "r", "question": "q", "choices": ["a"], "answer": 0}\n')
    c = codes(d)
    assert [p.line for p in c["json"]] == [9]
    assert [p.line for p in c["schema"]] == [10] and "choices" in c["schema"][0].message


def test_template_field_missing_is_reported_with_item_line(tmp_path: Path) -> None:
    d = make_task(tmp_path, "t", n=8)
    y = (d / "task.yaml").read_text().replace("{{ question }}", "{{ question }}{{ context }}")
    (d / "task.yaml").write_text(y)
    c = codes(d)
    assert c["template"][0].line == 1 and "context" in c["template"][0].message


def test_different_canaries(tmp_path: Path) -> None:
    make_task(tmp_path, "a")
    d = make_task(tmp_path, "b")
    (d / "task.yaml").write_text((d / "task.yaml").read_text().replace("6f1c2a9e", "00000000"))
    assert "canary" in codes(tmp_path)


def test_validate_cli_exit_codes(tmp_path: Path) -> None:
    d = make_task(tmp_path, "t", n=12)
    ok = run_cli("tasks", "validate", str(d))
    assert ok.returncode == 0, ok.stderr
    with (d / "test.jsonl").open("a") as f:
        f.write("{oops\n")
    bad = run_cli("tasks", "validate", str(d))
    assert bad.returncode == 1
    assert f"{d / 'test.jsonl'}:13: error [json]" in bad.stderr


def test_statistics_match_scipy() -> None:
    for x, df in [(0.5, 1), (3.2, 3), (7.8, 3), (11.3, 4), (20.0, 5)]:
        assert math.isclose(chi2_sf(x, df), stats.chi2.sf(x, df), rel_tol=1e-9)
    for k, n, p in [(15, 40, 0.25), (30, 100, 0.25), (3, 10, 0.5), (60, 400, 0.2)]:
        assert math.isclose(binom_sf(k, n, p), stats.binom.sf(k - 1, n, p), rel_tol=1e-9)


def test_baseline_ties_split_evenly(tmp_path: Path) -> None:
    d = make_task(tmp_path, "t", n=4)
    rows = read_rows(d / "test.jsonl", "multiple_choice", [])
    hits = baseline_scores(rows)
    # all choices have equal length: always-longest ties 4 ways on every item
    assert hits["always_longest"] == pytest.approx(1.0) and hits["chance"] == pytest.approx(1.0)


def test_always_shortest_is_a_warning(tmp_path: Path) -> None:
    rows = mc_items(40)
    for r in rows:
        for j in range(4):
            if j != r["answer"]:
                r["choices"][j] += "になられる"  # the wrong forms add endings
    c = codes(make_task(tmp_path, "t", test=rows))
    shortest = [p for p in c["trivial_baseline"] if "always_shortest" in p.message]
    assert shortest and shortest[0].severity == "warning"
