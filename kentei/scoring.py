"""Scoring stored responses: item records and their aggregates (means, SEs, CIs, by category)."""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from kentei.errors import KenteiError
from kentei.records import MetricValue
from kentei.stats import summarize
from scorers import Sample, get_scorer


def metric_names(kind: str, specs: list[dict[str, Any]], mc_mode: str) -> list[dict[str, Any]]:
    """The metrics to compute: the task's, plus the extraction-failure rate for MC in generate mode."""
    out = list(specs)
    if kind == "multiple_choice" and mc_mode == "generate" and not any(s["name"] == "extraction_failed" for s in out):
        out.append({"name": "extraction_failed", "args": {}})
    return out


def score_rows(
    kind: str, specs: list[dict[str, Any]], mc_mode: str, rows: list[dict[str, Any]]
) -> list[dict[str, Any]]:
    """Item records from response rows ({id, item, prompt, prompt_sha256, response})."""
    metrics = metric_names(kind, specs, mc_mode)
    scorers = []
    for m in metrics:
        try:
            scorers.append((get_scorer(m["name"]), m.get("args", {})))
        except KeyError as e:
            raise KenteiError(str(e.args[0])) from None
    records = []
    for row in rows:
        sample = Sample(item=row["item"], response=row["response"])
        scores: dict[str, float] = {}
        for scorer, args in scorers:
            v = scorer(sample, **args)
            if v is not None:
                scores[scorer.name] = float(v)
        rec = {
            "id": row["id"],
            "category": row["item"].get("category"),
            "prompt": row["prompt"],
            "prompt_sha256": row["prompt_sha256"],
            "item": row["item"],
            "response": row["response"],
            "scores": scores,
        }
        if kind == "multiple_choice" and "text" in row["response"]:
            from scorers.extract import extract_choice

            idx, how = extract_choice(row["response"]["text"], row["item"]["choices"])
            rec["extraction"] = {"choice": idx, "method": how}
        records.append(rec)
    return records


BOOTSTRAP_RESAMPLES = 1000
BOOTSTRAP_SEED = 20261125


def _corpus_summary(scorer: Any, samples: list[Sample], args: dict[str, Any]) -> MetricValue:
    """A corpus metric's value, and a seeded bootstrap SE and 95% percentile interval over items."""
    import random

    n = len(samples)
    score = scorer.corpus_resampler(samples, **args)
    value = score(list(range(n)))
    stderr = ci = None
    if n > 1:
        rng = random.Random(BOOTSTRAP_SEED)
        reps = sorted(score([rng.randrange(n) for _ in range(n)]) for _ in range(BOOTSTRAP_RESAMPLES))
        mean = sum(reps) / len(reps)
        stderr = (sum((r - mean) ** 2 for r in reps) / (len(reps) - 1)) ** 0.5
        ci = [reps[int(0.025 * len(reps))], reps[int(0.975 * len(reps)) - 1]]
    return MetricValue(value=value, stderr=stderr, ci95=ci, n=n, method="corpus", signature=scorer.signature)


def aggregate(
    records: list[dict[str, Any]], specs: list[dict[str, Any]] | None = None
) -> tuple[dict[str, MetricValue], dict[str, dict[str, Any]]]:
    """Per-metric summaries over all items, and per category. Mean metrics get a CLT SE (clustered
    when items carry `cluster`); corpus metrics (BLEU) are recomputed on each set of items, with a
    seeded bootstrap SE and CI."""
    names: list[str] = []
    for r in records:
        names.extend(n for n in r["scores"] if n not in names)
    args_of = {s["name"]: s.get("args", {}) for s in specs or []}

    def summ(rs: list[dict[str, Any]]) -> dict[str, MetricValue]:
        out = {}
        for name in names:
            scored = [r for r in rs if name in r["scores"]]
            if not scored:
                continue
            scorer = get_scorer(name)
            if scorer.aggregate == "corpus":
                samples = [Sample(item=r["item"], response=r["response"]) for r in scored]
                out[name] = _corpus_summary(scorer, samples, args_of.get(name, {}))
                continue
            vals = [r["scores"][name] for r in scored]
            clusters = [r["item"].get("cluster") for r in scored]
            out[name] = MetricValue.model_validate(summarize(vals, clusters))
        return out

    by_cat: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for r in records:
        by_cat[str(r["category"])].append(r)
    cats = {
        c: {"n": len(rs), "metrics": {k: v.model_dump() for k, v in summ(rs).items()}}
        for c, rs in sorted(by_cat.items())
    }
    return summ(records), cats
