"""Multiple-choice metrics, from per-choice log-likelihoods or from an extracted answer."""

from __future__ import annotations

from scorers.extract import extract_choice
from scorers.registry import Sample, register


def _argmax(xs: list[float]) -> int:
    return max(range(len(xs)), key=lambda i: (xs[i], -i))  # ties go to the first choice


def predicted(sample: Sample, norm: bool = False) -> int | None:
    r = sample.response
    if "logprobs" in r:
        lps = r["logprobs"]
        if norm:
            lens = [max(1, len(c)) for c in sample.item["choices"]]
            lps = [lp / n for lp, n in zip(lps, lens, strict=True)]
        return _argmax(lps)
    return extract_choice(r.get("text", ""), sample.item["choices"])[0]


@register("acc", kinds=("multiple_choice",))
def acc(sample: Sample) -> float:
    """1.0 when the chosen option is the gold: the highest summed log-likelihood (loglikelihood
    mode) or the option extracted from the generated answer (generate mode; unreadable = wrong)."""
    return float(predicted(sample) == sample.item["answer"])


@register("acc_norm", kinds=("multiple_choice",))
def acc_norm(sample: Sample) -> float | None:
    """Like acc, but each choice's log-likelihood is divided by its length in characters (not
    bytes: a Japanese character is 3 UTF-8 bytes). Loglikelihood mode only."""
    if "logprobs" not in sample.response:
        return None
    return float(predicted(sample, norm=True) == sample.item["answer"])


@register("extraction_failed", kinds=("multiple_choice",))
def extraction_failed(sample: Sample) -> float | None:
    """1.0 when no single option could be read from a generated answer (generate mode only)."""
    if "logprobs" in sample.response:
        return None
    return float(extract_choice(sample.response.get("text", ""), sample.item["choices"])[0] is None)
