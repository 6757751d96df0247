"""Summary statistics for run records (paired comparisons live with `kentei compare`)."""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Sequence

Z95 = 1.959963984540054


def mean_stderr(values: Sequence[float], clusters: Sequence[str | None] | None = None) -> tuple[float, float]:
    """Mean and its standard error (CLT).

    Without clusters: sd(ddof=1)/sqrt(n). With clusters (items that share a source are not
    independent): the cluster-robust SE of the mean, sqrt(G/(G-1) * sum_g (sum_i∈g (x_i - mean))^2) / n.
    Items whose cluster is None are their own cluster.
    """
    n = len(values)
    if n == 0:
        return float("nan"), float("nan")
    m = sum(values) / n
    if n == 1:
        return m, float("nan")
    if clusters is None or all(c is None for c in clusters):
        var = sum((x - m) ** 2 for x in values) / (n - 1)
        return m, math.sqrt(var / n)
    sums: dict[str, float] = defaultdict(float)
    for i, (x, c) in enumerate(zip(values, clusters, strict=True)):
        sums[c if c is not None else f"\0item{i}"] += x - m
    g = len(sums)
    if g < 2:
        return m, float("nan")
    return m, math.sqrt(g / (g - 1) * sum(s * s for s in sums.values())) / n


def summarize(values: Sequence[float], clusters: Sequence[str | None] | None = None) -> dict[str, object]:
    """{value, stderr, ci95, n} with a normal-approximation 95% interval."""
    m, se = mean_stderr(values, clusters)
    ci = [m - Z95 * se, m + Z95 * se] if math.isfinite(se) else None
    return {"value": m, "stderr": se if math.isfinite(se) else None, "ci95": ci, "n": len(values)}
