"""The scorer registry: small typed functions registered by name."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Literal


@dataclass(frozen=True)
class Sample:
    """What a scorer sees for one item: the item's fields and the stored response.

    `response` is {"text": ...} for generations, or {"logprobs": [...], "n_tokens": [...]}
    for multiple choice scored by log-likelihood.
    """

    item: dict[str, Any]
    response: dict[str, Any]


ScoreFn = Callable[..., float | None]


@dataclass(frozen=True)
class Scorer:
    name: str
    fn: ScoreFn
    kinds: tuple[str, ...]
    """Task kinds it applies to: multiple_choice, generation."""
    doc: str
    aggregate: Literal["mean"] = "mean"
    args: dict[str, Any] = field(default_factory=dict)

    def __call__(self, sample: Sample, **args: Any) -> float | None:
        """The item's score, or None when the metric does not apply (e.g. acc_norm in generate mode)."""
        return self.fn(sample, **args)


REGISTRY: dict[str, Scorer] = {}


def register(name: str, kinds: tuple[str, ...] = ("generation",)) -> Callable[[ScoreFn], ScoreFn]:
    def deco(fn: ScoreFn) -> ScoreFn:
        if name in REGISTRY:
            raise ValueError(f"scorer {name!r} registered twice")
        REGISTRY[name] = Scorer(name, fn, kinds, (fn.__doc__ or "").strip())
        return fn

    return deco


def get_scorer(name: str) -> Scorer:
    try:
        return REGISTRY[name]
    except KeyError:
        raise KeyError(f"unknown metric {name!r}; known: {', '.join(sorted(REGISTRY))}") from None
