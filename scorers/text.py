"""Surface metrics for generation tasks."""

from __future__ import annotations

from collections import Counter

from scorers.normalize import normalize
from scorers.registry import Sample, register


def _golds(item: dict) -> list[str]:
    return list(item.get("references", [])) + list(item.get("aliases", []))


def first_line(text: str) -> str:
    """The answer part of a generation: the first non-empty line after normalization of <think>."""
    from scorers.normalize import strip_think

    for line in strip_think(text).splitlines():
        if line.strip():
            return line
    return ""


@register("exact_match")
def exact_match(sample: Sample) -> float:
    """1.0 when the normalized first line of the output equals a normalized reference or alias."""
    pred = normalize(first_line(sample.response.get("text", "")))
    return float(any(pred == normalize(g) for g in _golds(sample.item)))


@register("char_f1")
def char_f1(sample: Sample) -> float:
    """SQuAD-style F1 over the multiset of characters of the normalized first output line, max over
    references and aliases."""
    pred = normalize(first_line(sample.response.get("text", "")))
    best = 0.0
    for g in _golds(sample.item):
        gold = normalize(g)
        common = sum((Counter(pred) & Counter(gold)).values())
        if not pred or not gold or not common:
            f1 = float(pred == gold)
        else:
            p, r = common / len(pred), common / len(gold)
            f1 = 2 * p * r / (p + r)
        best = max(best, f1)
    return best
