"""Paired comparison of two runs on the items they share: `kentei compare RUN_A RUN_B`.

Per task (primary metric): the mean per-item difference d = mean(a_i - b_i), its SE from the
per-item differences (cluster-robust when items carry `cluster`), a 95% CI, and a p-value —
McNemar for 0/1 metrics (exact binomial when there are fewer than 25 discordant pairs), a seeded
paired bootstrap otherwise (corpus metrics such as BLEU are recomputed on every resample). p-values
are Holm-adjusted across tasks. Per family: the mean of its tasks' differences, SE combined as
independent (sqrt(sum SE^2) / T), normal-approximation p.
"""

from __future__ import annotations

import math
import random
from collections import defaultdict
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from kentei.errors import KenteiError
from kentei.io import iter_jsonl
from kentei.lint import binom_sf, chi2_sf
from kentei.records import RunRecord, items_path, load_record
from kentei.stats import Z95, mean_stderr

BOOTSTRAP_RESAMPLES = 2000
BOOTSTRAP_SEED = 1234
EXACT_BELOW = 25  # discordant pairs: exact binomial McNemar below this, chi-square (continuity-corrected) above


@dataclass
class Diff:
    task: str
    family: str
    metric: str
    n: int
    a: float
    b: float
    diff: float
    se: float | None
    ci95: list[float] | None
    p: float | None
    test: str
    p_holm: float | None = None
    discordant: dict[str, int] | None = None

    @property
    def significant(self) -> bool:
        p = self.p_holm if self.p_holm is not None else self.p
        return p is not None and p < 0.05


@dataclass
class Comparison:
    run_a: str
    run_b: str
    model_a: str
    model_b: str
    tasks: list[Diff] = field(default_factory=list)
    families: list[Diff] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return {
            "run_a": self.run_a,
            "run_b": self.run_b,
            "model_a": self.model_a,
            "model_b": self.model_b,
            "tasks": [asdict(d) | {"significant": d.significant} for d in self.tasks],
            "families": [asdict(d) | {"significant": d.significant} for d in self.families],
        }


# ------------------------------------------------------------------ tests
def mcnemar(a: list[float], b: list[float]) -> tuple[float, dict[str, int], str]:
    """Two-sided McNemar p-value for paired 0/1 outcomes."""
    n10 = sum(1 for x, y in zip(a, b, strict=True) if x == 1 and y == 0)
    n01 = sum(1 for x, y in zip(a, b, strict=True) if x == 0 and y == 1)
    disc = {"a_only": n10, "b_only": n01}
    n = n10 + n01
    if n == 0:
        return 1.0, disc, "mcnemar_exact"
    if n < EXACT_BELOW:
        k = min(n10, n01)
        # two-sided exact: 2 * P(X <= k), X ~ Bin(n, 1/2)
        p = min(1.0, 2 * (1 - binom_sf(k + 1, n, 0.5)))
        return p, disc, "mcnemar_exact"
    stat = (abs(n10 - n01) - 1) ** 2 / n
    return chi2_sf(stat, 1), disc, "mcnemar_chi2"


def paired_bootstrap(
    a: list[Any],
    b: list[Any],
    score_a: Any = None,
    score_b: Any = None,
    resamples: int = BOOTSTRAP_RESAMPLES,
    seed: int = BOOTSTRAP_SEED,
) -> tuple[float, float]:
    """(observed difference, two-sided p) by resampling items with replacement.

    With per-item values, the statistic is mean(a) - mean(b); with score functions (corpus metrics),
    score_a(idx) - score_b(idx). p = share of resampled differences at least as far from the
    observed one as the observed one is from 0 (the centered bootstrap test)."""
    n = len(a)
    idx_all = list(range(n))

    def stat(idx: list[int]) -> float:
        if score_a is not None:
            return score_a(idx) - score_b(idx)
        return sum(a[i] - b[i] for i in idx) / len(idx)

    observed = stat(idx_all)
    rng = random.Random(seed)
    extreme = 0
    for _ in range(resamples):
        idx = [rng.randrange(n) for _ in range(n)]
        if abs(stat(idx) - observed) >= abs(observed) - 1e-12:
            extreme += 1
    return observed, (extreme + 1) / (resamples + 1)


def holm(pvalues: list[float | None]) -> list[float | None]:
    """Holm-Bonferroni adjusted p-values (same order as given; None stays None)."""
    present = sorted((p, i) for i, p in enumerate(pvalues) if p is not None)
    m = len(present)
    out: list[float | None] = [None] * len(pvalues)
    running = 0.0
    for rank, (p, i) in enumerate(present):
        running = max(running, min(1.0, (m - rank) * p))
        out[i] = running
    return out


def normal_p(diff: float, se: float | None) -> float | None:
    if se is None or not math.isfinite(se) or se == 0:
        return None if diff == 0 or se is None else 0.0
    return math.erfc(abs(diff / se) / math.sqrt(2))


# ------------------------------------------------------------------ loading
def _complete_record(run_dir: Path) -> RunRecord:
    rec = load_record(run_dir)
    if rec.status != "complete":
        raise KenteiError(
            f"run {rec.run_id!r} is incomplete (status {rec.status!r}); resume it before comparing",
            run_dir / "run.json",
        )
    return rec


def _items(run_dir: Path, task: str) -> dict[str, dict[str, Any]]:
    path = items_path(run_dir, task)
    if not path.exists():
        raise KenteiError(f"task {task}: item records missing; run `kentei rescore {run_dir}`", path)
    return {r["id"]: r for _, r in iter_jsonl(path)}


def compare_task(name: str, dir_a: Path, dir_b: Path, rec_a: RunRecord, rec_b: RunRecord) -> Diff:
    ta, tb = rec_a.tasks[name], rec_b.tasks[name]
    if ta.version != tb.version:
        raise KenteiError(
            f"task {name}: run A used version {ta.version}, run B version {tb.version}; "
            "scores on different task versions are not comparable"
        )
    ia, ib = _items(dir_a, name), _items(dir_b, name)
    shared = [i for i in ia if i in ib]
    if not shared:
        raise KenteiError(f"task {name}: the runs share no items")
    changed = [i for i in shared if ia[i]["item"] != ib[i]["item"]]
    if changed:
        raise KenteiError(
            f"task {name}: {len(changed)} items differ between the runs (e.g. {changed[0]!r}); "
            "they were run on different task data"
        )
    if rec_a.settings.mc_mode != rec_b.settings.mc_mode and ta.kind == "multiple_choice":
        raise KenteiError(
            f"task {name}: run A used --mc-mode {rec_a.settings.mc_mode}, run B "
            f"{rec_b.settings.mc_mode}; the scores measure different things"
        )
    metric = ta.primary_metric
    ra = [ia[i] for i in shared]
    rb = [ib[i] for i in shared]
    va = [r["scores"].get(metric) for r in ra]
    vb = [r["scores"].get(metric) for r in rb]
    keep = [k for k in range(len(shared)) if va[k] is not None and vb[k] is not None]
    va2 = [float(va[k]) for k in keep]  # type: ignore[arg-type]
    vb2 = [float(vb[k]) for k in keep]  # type: ignore[arg-type]
    clusters = [ra[k]["item"].get("cluster") for k in keep]
    from scorers import Sample, get_scorer

    scorer = get_scorer(metric)
    if scorer.aggregate == "corpus":
        sa = scorer.corpus_resampler([Sample(ra[k]["item"], ra[k]["response"]) for k in keep])
        sb = scorer.corpus_resampler([Sample(rb[k]["item"], rb[k]["response"]) for k in keep])
        full = list(range(len(keep)))
        a_val, b_val = sa(full), sb(full)
        diff, p = paired_bootstrap(va2, vb2, sa, sb)
        rng = random.Random(BOOTSTRAP_SEED)
        reps = [sa(ix) - sb(ix) for ix in ([rng.randrange(len(keep)) for _ in keep] for _ in range(500))]
        m = sum(reps) / len(reps)
        se: float | None = math.sqrt(sum((r - m) ** 2 for r in reps) / (len(reps) - 1))
        return Diff(
            name,
            ta.family,
            metric,
            len(keep),
            a_val,
            b_val,
            diff,
            se,
            [diff - Z95 * se, diff + Z95 * se],
            p,
            "paired_bootstrap_corpus",
        )
    d = [x - y for x, y in zip(va2, vb2, strict=True)]
    mean_d, se = mean_stderr(d, clusters)
    se = se if math.isfinite(se) else None
    ci = [mean_d - Z95 * se, mean_d + Z95 * se] if se is not None else None
    a_val, b_val = sum(va2) / len(va2), sum(vb2) / len(vb2)
    if all(v in (0.0, 1.0) for v in va2 + vb2):
        p, disc, test = mcnemar(va2, vb2)
        return Diff(name, ta.family, metric, len(keep), a_val, b_val, mean_d, se, ci, p, test, discordant=disc)
    _, p = paired_bootstrap(va2, vb2)
    return Diff(name, ta.family, metric, len(keep), a_val, b_val, mean_d, se, ci, p, "paired_bootstrap")


def compare_runs(dir_a: Path, dir_b: Path) -> Comparison:
    rec_a, rec_b = _complete_record(dir_a), _complete_record(dir_b)
    shared = [t for t in rec_a.tasks if t in rec_b.tasks]
    if not shared:
        raise KenteiError(f"runs {rec_a.run_id!r} and {rec_b.run_id!r} have no task in common")
    cmp = Comparison(rec_a.run_id, rec_b.run_id, str(rec_a.model.get("id")), str(rec_b.model.get("id")))
    cmp.tasks = [compare_task(t, dir_a, dir_b, rec_a, rec_b) for t in shared]
    for d, adj in zip(cmp.tasks, holm([d.p for d in cmp.tasks]), strict=True):
        d.p_holm = adj
    by_fam: dict[str, list[Diff]] = defaultdict(list)
    for d in cmp.tasks:
        by_fam[d.family].append(d)
    for fam, ds in sorted(by_fam.items()):
        t = len(ds)
        diff = sum(d.diff for d in ds) / t
        ses = [d.se for d in ds]
        se = math.sqrt(sum(s * s for s in ses if s is not None)) / t if all(s is not None for s in ses) else None
        ci = [diff - Z95 * se, diff + Z95 * se] if se is not None else None
        a_val = sum(d.a for d in ds) / t
        b_val = sum(d.b for d in ds) / t
        cmp.families.append(
            Diff(
                fam,
                fam,
                "mean of task primary metrics",
                sum(d.n for d in ds),
                a_val,
                b_val,
                diff,
                se,
                ci,
                normal_p(diff, se),
                "normal",
            )
        )
    for d, adj in zip(cmp.families, holm([d.p for d in cmp.families]), strict=True):
        d.p_holm = adj
    return cmp
