"""`kentei compare`: each statistic checked against scipy or a hand computation on small fixtures."""

from __future__ import annotations

import json
import math
import random
from pathlib import Path
from typing import Any

import pytest
from scipy import stats

from kentei.compare import compare_runs, holm, mcnemar, paired_bootstrap
from kentei.errors import KenteiError
from kentei.io import atomic_write_jsonl
from kentei.records import RunRecord, RunSettings, RuntimeSettings, TaskResult, save_record

from .conftest import run_cli


def make_run(
    root: Path, run_id: str, tasks: dict[str, dict[str, Any]], status: str = "complete", model: str = "m"
) -> Path:
    """A run folder written directly: tasks = {name: {family, metric, scores: [...], version, clusters?}}."""
    d = root / run_id
    rec = RunRecord(
        run_id=run_id,
        status=status,
        created_at="2026-11-25T00:00:00+00:00",
        kentei={"version": "t"},
        model={"id": model, "backend": "hf"},
        settings=RunSettings(tasks=list(tasks)),
        runtime=RuntimeSettings(),
    )
    for name, t in tasks.items():
        rows = []
        for k, v in enumerate(t["scores"]):
            item = {
                "id": f"i{k}",
                "category": "c",
                "question": f"q{k}",
                "cluster": t["clusters"][k] if t.get("clusters") else None,
            }
            rows.append(
                {
                    "id": f"i{k}",
                    "category": "c",
                    "item": item,
                    "response": {"text": str(v)},
                    "prompt": "",
                    "prompt_sha256": "",
                    "scores": {t["metric"]: v},
                }
            )
        atomic_write_jsonl(d / f"{name}.jsonl", rows)
        rec.tasks[name] = TaskResult(
            version=t.get("version", 1),
            family=t["family"],
            kind="generation",
            items_sha256="x",
            prompt_sha256="y",
            primary_metric=t["metric"],
            metric_specs=[{"name": t["metric"], "args": {}}],
            n=len(rows),
            num_fewshot=0,
            status="complete",
        )
    save_record(d, rec)
    return d


def test_mcnemar_exact_matches_scipy_binomtest() -> None:
    a = [1] * 7 + [0] * 2 + [1] * 10 + [0] * 5
    b = [0] * 7 + [1] * 2 + [1] * 10 + [0] * 5
    p, disc, test = mcnemar(a, b)
    assert disc == {"a_only": 7, "b_only": 2} and test == "mcnemar_exact"
    assert p == pytest.approx(stats.binomtest(2, 9, 0.5).pvalue)


def test_mcnemar_chi2_for_many_discordant_pairs() -> None:
    a = [1] * 30 + [0] * 12
    b = [0] * 30 + [1] * 12
    p, _, test = mcnemar(a, b)
    expected = stats.chi2.sf((abs(30 - 12) - 1) ** 2 / 42, 1)
    assert test == "mcnemar_chi2" and p == pytest.approx(expected)


def test_holm_by_hand() -> None:
    # sorted p: 0.01 (x3 = 0.03), 0.02 (x2 = 0.04), 0.04 (x1 = 0.04, monotone)
    assert holm([0.04, 0.01, 0.02, None]) == pytest.approx([0.04, 0.03, 0.04, None])  # type: ignore[arg-type]
    assert holm([0.5, 0.6]) == pytest.approx([1.0, 1.0])


def test_paired_bootstrap_is_seeded_and_sensible() -> None:
    rng = random.Random(0)
    a = [rng.random() for _ in range(40)]
    b = [x - 0.3 for x in a]  # A always 0.3 better
    d, p = paired_bootstrap(a, b)
    assert d == pytest.approx(0.3) and p < 0.01
    assert paired_bootstrap(a, b) == (d, p)  # same seed, same answer
    _, p_same = paired_bootstrap(a, a)
    assert p_same == 1.0


def test_task_and_family_statistics(tmp_path: Path) -> None:
    a = [1, 1, 0, 1, 1, 0, 1, 1, 1, 0]
    b = [0, 1, 0, 0, 1, 0, 1, 0, 1, 0]
    fa = [0.9, 0.5, 0.7, 0.8, 0.6]
    fb = [0.5, 0.5, 0.6, 0.2, 0.6]
    ra = make_run(
        tmp_path,
        "a",
        {
            "t01": {"family": "keigo", "metric": "acc", "scores": a},
            "tf1": {"family": "keigo", "metric": "char_f1", "scores": fa},
        },
    )
    rb = make_run(
        tmp_path,
        "b",
        {
            "t01": {"family": "keigo", "metric": "acc", "scores": b},
            "tf1": {"family": "keigo", "metric": "char_f1", "scores": fb},
        },
    )
    cmp = compare_runs(ra, rb)
    t01, tf1 = cmp.tasks
    d = [x - y for x, y in zip(a, b, strict=True)]
    se = stats.tstd(d) / math.sqrt(len(d))  # sd with ddof=1
    assert t01.diff == pytest.approx(0.3) and t01.se == pytest.approx(se)
    assert t01.ci95 == pytest.approx([0.3 - 1.959963984540054 * se, 0.3 + 1.959963984540054 * se])
    assert t01.test == "mcnemar_exact" and t01.p == pytest.approx(stats.binomtest(0, 3, 0.5).pvalue)
    assert tf1.test == "paired_bootstrap" and tf1.diff == pytest.approx(0.22)
    assert (t01.p_holm, tf1.p_holm) == pytest.approx(tuple(holm([t01.p, tf1.p])))  # type: ignore[arg-type]
    (fam,) = cmp.families
    assert fam.diff == pytest.approx((0.3 + 0.22) / 2)
    assert fam.se == pytest.approx(math.sqrt(t01.se**2 + tf1.se**2) / 2)  # type: ignore[operator]


def test_clustered_se(tmp_path: Path) -> None:
    a = [1, 1, 1, 0, 0, 1]
    b = [0, 0, 1, 0, 1, 1]
    clusters = ["x", "x", "y", "y", "z", "z"]
    ra = make_run(tmp_path, "a", {"t": {"family": "culture", "metric": "acc", "scores": a, "clusters": clusters}})
    rb = make_run(tmp_path, "b", {"t": {"family": "culture", "metric": "acc", "scores": b, "clusters": clusters}})
    (t,) = compare_runs(ra, rb).tasks
    d = [x - y for x, y in zip(a, b, strict=True)]
    m = sum(d) / 6
    sums = {c: sum(d[i] - m for i in range(6) if clusters[i] == c) for c in "xyz"}
    expected = math.sqrt(3 / 2 * sum(s * s for s in sums.values())) / 6
    assert t.se == pytest.approx(expected)


def test_refusals(tmp_path: Path) -> None:
    ra = make_run(tmp_path, "a", {"t": {"family": "keigo", "metric": "acc", "scores": [1, 0]}})
    rv = make_run(tmp_path, "v", {"t": {"family": "keigo", "metric": "acc", "scores": [1, 0], "version": 2}})
    with pytest.raises(KenteiError, match="different task versions"):
        compare_runs(ra, rv)
    rp = make_run(tmp_path, "p", {"t": {"family": "keigo", "metric": "acc", "scores": [1, 0]}}, status="running")
    with pytest.raises(KenteiError, match="incomplete"):
        compare_runs(ra, rp)
    rc = make_run(tmp_path, "c", {"t": {"family": "keigo", "metric": "acc", "scores": [1, 0]}})
    rows = [json.loads(x) for x in (rc / "t.jsonl").read_text().splitlines()]
    rows[1]["item"]["question"] = "changed"
    atomic_write_jsonl(rc / "t.jsonl", rows)
    with pytest.raises(KenteiError, match="items differ"):
        compare_runs(ra, rc)
    rn = make_run(tmp_path, "n", {"u": {"family": "keigo", "metric": "acc", "scores": [1]}})
    with pytest.raises(KenteiError, match="no task in common"):
        compare_runs(ra, rn)
    res = run_cli("compare", str(ra), str(rv))
    assert res.returncode == 2 and "different task versions" in res.stderr and "Traceback" not in res.stderr


def test_compare_cli_json(tmp_path: Path) -> None:
    ra = make_run(tmp_path, "a", {"t": {"family": "keigo", "metric": "acc", "scores": [1, 1, 0, 1]}})
    rb = make_run(tmp_path, "b", {"t": {"family": "keigo", "metric": "acc", "scores": [0, 1, 0, 1]}})
    res = run_cli("compare", str(ra), str(rb), "--json")
    assert res.returncode == 0, res.stderr
    out = json.loads(res.stdout)
    assert out["tasks"][0]["diff"] == pytest.approx(0.25) and out["tasks"][0]["discordant"] == {
        "a_only": 1,
        "b_only": 0,
    }
    assert out["families"][0]["task"] == "keigo"
