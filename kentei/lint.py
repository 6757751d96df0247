"""`kentei tasks validate`: the lints of the data guide, each problem with file and line.

Unlike loading (which stops at the first error), linting reads every line and reports every
problem, so an author fixes a file in one pass.
"""

from __future__ import annotations

import json
import math
import re
import unicodedata
from collections import Counter, defaultdict
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from kentei.errors import KenteiError
from kentei.io import read_text
from kentei.spec import GenItem, MCItem, TaskSpec
from kentei.tasks import _format_validation, default_tasks_dir, load_spec

P_BALANCE = 0.01  # gold positions: chi-square test against uniform
P_BASELINE = 0.01  # trivial baselines: one-sided exact binomial test against chance
NEAR_DUP = 0.8  # Jaccard similarity of character 3-grams (question + choices)


@dataclass(frozen=True)
class Problem:
    severity: str  # error | warning
    code: str
    message: str
    path: Path
    line: int | None = None

    def __str__(self) -> str:
        where = f"{self.path}:{self.line}" if self.line else str(self.path)
        return f"{where}: {self.severity} [{self.code}] {self.message}"

    def as_dict(self) -> dict[str, Any]:
        return {
            "severity": self.severity,
            "code": self.code,
            "message": self.message,
            "path": str(self.path),
            "line": self.line,
        }


@dataclass(frozen=True)
class Row:
    item: MCItem | GenItem
    path: Path
    line: int


_PUNCT = re.compile(r"[\s\u3000、。，．・「」『』（）()\[\]【】!！?？:：;；,.\"'“”〜~-]")


def norm_text(s: str) -> str:
    return _PUNCT.sub("", unicodedata.normalize("NFKC", s))


_NOT_PROMPT = {"id", "category", "rationale", "references", "aliases", "terms", "tags", "cluster", "answer"}


def item_text(item: MCItem | GenItem) -> str:
    """What the model is shown, normalized: question + choices, or input + other prompt fields."""
    if isinstance(item, MCItem):
        return norm_text(item.question) + "|" + "|".join(sorted(norm_text(c) for c in item.choices))
    extra = [
        f"{k}={v}"
        for k, v in sorted(item.model_dump().items())
        if k not in _NOT_PROMPT and k != "input" and isinstance(v, str)
    ]
    return "|".join([norm_text(item.input), *extra])


def grams(s: str, n: int = 3) -> set[str]:
    return {s[i : i + n] for i in range(max(1, len(s) - n + 1))}


# ------------------------------------------------------------------ statistics (no scipy needed)
def chi2_sf(x: float, df: int) -> float:
    """Survival function of the chi-square distribution for integer df."""
    if x <= 0:
        return 1.0
    if df % 2 == 0:
        term, total = 1.0, 1.0
        for k in range(1, df // 2):
            term *= (x / 2) / k
            total += term
        return min(1.0, math.exp(-x / 2) * total)
    sf = math.erfc(math.sqrt(x / 2))
    d = 1
    while d < df:
        sf += math.exp((d / 2) * math.log(x / 2) - x / 2 - math.lgamma(d / 2 + 1))
        d += 2
    return min(1.0, sf)


def binom_sf(k: float, n: int, p: float) -> float:
    """P(X >= k) for X ~ Binomial(n, p); k may be fractional (expected hits with ties): rounded up."""
    k0 = math.ceil(k - 1e-9)
    if k0 <= 0:
        return 1.0
    if p <= 0:
        return 0.0
    if p >= 1:
        return 1.0
    lp, lq = math.log(p), math.log1p(-p)
    total = 0.0
    for j in range(k0, n + 1):
        total += math.exp(math.lgamma(n + 1) - math.lgamma(j + 1) - math.lgamma(n - j + 1) + j * lp + (n - j) * lq)
    return min(1.0, total)


# ------------------------------------------------------------------ reading files
def read_rows(path: Path, kind: str, problems: list[Problem]) -> list[Row]:
    if not path.exists():
        return []
    model: type[MCItem] | type[GenItem] = MCItem if kind == "multiple_choice" else GenItem
    try:
        text = read_text(path)
    except KenteiError as e:
        problems.append(Problem("error", "encoding", e.message, path, e.line))
        return []
    rows = []
    for lineno, line in enumerate(text.split("\n"), start=1):  # not splitlines(): U+2028 may sit in a string
        if not line.strip():
            continue
        try:
            obj = json.loads(line)
        except json.JSONDecodeError as e:
            problems.append(Problem("error", "json", f"invalid JSON: {e.msg} (column {e.colno})", path, lineno))
            continue
        try:
            rows.append(Row(model.model_validate(obj), path, lineno))
        except ValidationError as e:
            problems.append(Problem("error", "schema", _format_validation(e), path, lineno))
    return rows


# ------------------------------------------------------------------ the lints
def lint_task(task_dir: Path) -> list[Problem]:
    problems: list[Problem] = []
    spec_path = task_dir / "task.yaml"
    try:
        spec = load_spec(spec_path)
    except KenteiError as e:
        return [Problem("error", "spec", e.message, Path(e.path or spec_path), e.line)]
    test = read_rows(task_dir / "test.jsonl", spec.kind, problems)
    fewshot = read_rows(task_dir / "fewshot.jsonl", spec.kind, problems)
    if not (task_dir / "test.jsonl").exists():
        problems.append(Problem("error", "missing", "no test.jsonl", task_dir))
    elif not test and not problems:
        problems.append(Problem("error", "empty", "the task has no test items", task_dir / "test.jsonl"))
    if len(fewshot) < spec.num_fewshot:
        problems.append(
            Problem(
                "error",
                "fewshot",
                f"num_fewshot is {spec.num_fewshot} but only {len(fewshot)} few-shot items",
                task_dir / "fewshot.jsonl",
            )
        )
    if not (task_dir / "README.md").exists():
        problems.append(Problem("warning", "datasheet", "no README.md datasheet", task_dir))
    problems += _lint_templates(spec, spec_path, test + fewshot)
    problems += _lint_metrics(spec, spec_path)
    problems += _lint_ids(test + fewshot)
    problems += _lint_duplicates(test, fewshot)
    mc = [r for r in test if isinstance(r.item, MCItem)]
    if mc:
        problems += _lint_choices(mc + [r for r in fewshot if isinstance(r.item, MCItem)])
        problems += _lint_balance(mc, task_dir / "test.jsonl")
        problems += _lint_baselines(mc, task_dir / "test.jsonl")
    return problems


def _lint_templates(spec: TaskSpec, path: Path, rows: list[Row]) -> list[Problem]:
    from kentei.prompts import compile_templates, render_query, render_target

    try:
        compile_templates(spec, path)
    except KenteiError as e:
        return [Problem("error", "template", e.message, path)]
    out = []
    for r in rows:
        try:
            render_query(spec, r.item, "loglikelihood")
            render_target(spec, r.item, "loglikelihood")
        except KenteiError as e:
            out.append(Problem("error", "template", e.message, r.path, r.line))
    return out


def _lint_metrics(spec: TaskSpec, path: Path) -> list[Problem]:
    from scorers import REGISTRY

    out = []
    for m in spec.metrics:
        sc = REGISTRY.get(m.name)
        if sc is None:
            out.append(
                Problem("error", "metric", f"unknown metric {m.name!r}; known: {', '.join(sorted(REGISTRY))}", path)
            )
        elif spec.kind not in sc.kinds:
            out.append(Problem("error", "metric", f"metric {m.name!r} does not apply to {spec.kind} tasks", path))
    return out


def _lint_ids(rows: list[Row]) -> list[Problem]:
    out = []
    first: dict[str, Row] = {}
    for r in rows:
        if r.item.id in first:
            f = first[r.item.id]
            out.append(
                Problem(
                    "error", "duplicate_id", f"id {r.item.id!r} already used at {f.path.name}:{f.line}", r.path, r.line
                )
            )
        else:
            first[r.item.id] = r
    return out


def _lint_duplicates(test: list[Row], fewshot: list[Row]) -> list[Problem]:
    out = []
    seen: dict[str, Row] = {}
    for r in test + fewshot:
        key = item_text(r.item)
        if key in seen:
            f = seen[key]
            cross = (f in test) != (r in test)
            code = "fewshot_overlap" if cross else "duplicate_item"
            out.append(
                Problem("error", code, f"same item (after normalization) as {f.path.name}:{f.line}", r.path, r.line)
            )
        else:
            seen[key] = r
    # Near-duplicates: character 3-gram Jaccard over question (+ choices), via an inverted index.
    texts = [item_text(r.item) for r in test + fewshot]
    rows = test + fewshot
    gs = [grams(t) for t in texts]
    df: Counter[str] = Counter(g for s in gs for g in s)
    index: dict[str, list[int]] = defaultdict(list)
    for i, s in enumerate(gs):
        for g in s:
            if df[g] <= 50:  # common grams carry no signal and make the index quadratic
                index[g].append(i)
    reported: set[tuple[int, int]] = set()
    for i, s in enumerate(gs):
        cands = {j for g in s if g in index for j in index[g] if j < i}
        for j in sorted(cands):
            if (j, i) in reported or texts[i] == texts[j]:
                continue
            if getattr(rows[i].item, "generator", None) and getattr(rows[j].item, "generator", None):
                continue  # items drawn from one template by a committed script differ only in their numbers
            union = len(s | gs[j])
            if union and len(s & gs[j]) / union >= NEAR_DUP:
                reported.add((j, i))
                cross = (rows[i] in test) != (rows[j] in test)
                sev, code = ("error", "fewshot_overlap") if cross else ("warning", "near_duplicate")
                out.append(
                    Problem(
                        sev,
                        code,
                        f"near-duplicate of {rows[j].path.name}:{rows[j].line} "
                        f"(3-gram Jaccard {len(s & gs[j]) / union:.2f})",
                        rows[i].path,
                        rows[i].line,
                    )
                )
    return out


def _lint_choices(rows: list[Row]) -> list[Problem]:
    out = []
    for r in rows:
        assert isinstance(r.item, MCItem)
        normed = [norm_text(c) for c in r.item.choices]
        dups = [c for c, n in Counter(normed).items() if n > 1]
        if dups:
            out.append(
                Problem("error", "duplicate_choice", f"choices repeat after normalization: {dups}", r.path, r.line)
            )
    return out


def _lint_balance(rows: list[Row], path: Path) -> list[Problem]:
    out = []
    by_k: dict[int, Counter[int]] = defaultdict(Counter)
    for r in rows:
        assert isinstance(r.item, MCItem)
        by_k[len(r.item.choices)][r.item.answer] += 1
    for k, counts in sorted(by_k.items()):
        n = sum(counts.values())
        exp = n / k
        x2 = sum((counts.get(i, 0) - exp) ** 2 / exp for i in range(k))
        p = chi2_sf(x2, k - 1)
        if p < P_BALANCE:
            dist = ", ".join(f"{i}: {counts.get(i, 0)}" for i in range(k))
            out.append(
                Problem(
                    "error",
                    "gold_balance",
                    f"gold positions unbalanced for {k}-choice items ({dist}; "
                    f"chi-square p={p:.2g}); shuffle choices with a fixed seed",
                    path,
                )
            )
    return out


def _overlap(a: str, b: str) -> int:
    return sum((Counter(norm_text(a)) & Counter(norm_text(b))).values())


def baseline_scores(rows: list[Row]) -> dict[str, float]:
    """Expected hits of each trivial baseline (ties split evenly) and of chance."""
    hits = {
        "always_longest": 0.0,
        "max_overlap_with_question": 0.0,
        "always_first": 0.0,
        "always_shortest": 0.0,
        "min_overlap_with_question": 0.0,
        "chance": 0.0,
    }
    for r in rows:
        it = r.item
        assert isinstance(it, MCItem)
        k = len(it.choices)
        hits["chance"] += 1 / k
        hits["always_first"] += float(it.answer == 0)
        lengths = [len(norm_text(c)) for c in it.choices]
        overlaps = [_overlap(c, it.question) for c in it.choices]
        for name, score in (
            ("always_longest", lengths),
            ("max_overlap_with_question", overlaps),
            # Wrong keigo forms tend to add endings (…られる, …になられる): the gold can be the shortest.
            ("always_shortest", [-x for x in lengths]),
            ("min_overlap_with_question", [-x for x in overlaps]),
        ):
            best = max(score)
            tied = [i for i, s in enumerate(score) if s == best]
            hits[name] += (it.answer in tied) / len(tied)
    return hits


def _lint_baselines(rows: list[Row], path: Path) -> list[Problem]:
    out = []
    n = len(rows)
    hits = baseline_scores(rows)
    chance = hits["chance"] / n
    for name in (
        "always_longest",
        "max_overlap_with_question",
        "always_first",
        "always_shortest",
        "min_overlap_with_question",
    ):
        p = binom_sf(hits[name], n, chance)
        if p < P_BASELINE:
            # The data guide names the first three; the reverse baselines are reported as warnings.
            severity = "error" if name in ("always_longest", "max_overlap_with_question", "always_first") else "warning"
            out.append(
                Problem(
                    severity,
                    "trivial_baseline",
                    f"the {name} baseline scores {hits[name] / n:.2f} "
                    f"against chance {chance:.2f} (binomial p={p:.2g}); reword choices so the gold does "
                    f"not stand out",
                    path,
                )
            )
    return out


def lint_path(path: Path | None) -> list[Problem]:
    """Lint one task folder, or every task folder under a tasks folder; cross-task checks too."""
    root = path or default_tasks_dir()
    if (root / "task.yaml").exists():
        dirs = [root]
    elif root.is_dir():
        dirs = sorted(p for p in root.iterdir() if p.is_dir() and (p / "task.yaml").exists())
        if not dirs:
            return [Problem("error", "missing", "no task folders (<name>/task.yaml) here", root)]
    else:
        return [Problem("error", "missing", "no such folder", root)]
    problems: list[Problem] = []
    canaries: dict[str, list[str]] = defaultdict(list)
    for d in dirs:
        problems += lint_task(d)
        try:
            canaries[load_spec(d / "task.yaml").canary].append(d.name)
        except KenteiError:
            pass
    if len(canaries) > 1:
        problems.append(
            Problem(
                "error",
                "canary",
                "tasks use different canary strings: "
                + "; ".join(f"{c} ({', '.join(n)})" for c, n in canaries.items()),
                root,
            )
        )
    return problems
