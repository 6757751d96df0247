"""The scorer registry: small typed functions registered by name."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
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
CorpusFn = Callable[..., float]


@dataclass(frozen=True)
class Scorer:
    name: str
    fn: ScoreFn
    kinds: tuple[str, ...]
    """Task kinds it applies to: multiple_choice, generation."""
    doc: str
    aggregate: Literal["mean", "corpus"] = "mean"
    corpus: CorpusFn | None = None
    """For corpus metrics (BLEU): the task-level value from all samples; items keep `fn`'s
    sentence-level value for drill-down."""
    resampler: Callable[[list[Sample]], Callable[[list[int]], float]] | None = None
    """Optional fast path for bootstrapping a corpus metric: prepares once, then scores index lists."""
    signature_fn: Callable[[], str] | None = None
    """Names the exact computation (tokenizer, library version) where it matters for comparability."""
    range: tuple[float, float] = (0.0, 1.0)

    def __call__(self, sample: Sample, **args: Any) -> float | None:
        """The item's score, or None when the metric does not apply (e.g. acc_norm in generate mode)."""
        return self.fn(sample, **args)

    @property
    def signature(self) -> str | None:
        return self.signature_fn() if self.signature_fn else None

    def corpus_score(self, samples: Sequence[Sample], **args: Any) -> float:
        assert self.corpus is not None, f"{self.name} is not a corpus metric"
        return self.corpus(list(samples), **args)

    def corpus_resampler(self, samples: Sequence[Sample], **args: Any) -> Callable[[list[int]], float]:
        """A function from a list of indices (a resample) to the corpus value on those samples."""
        if self.resampler is not None and not args:
            return self.resampler(list(samples))
        fixed = list(samples)
        return lambda idx: self.corpus_score([fixed[i] for i in idx], **args)


REGISTRY: dict[str, Scorer] = {}


def register(
    name: str,
    kinds: tuple[str, ...] = ("generation",),
    corpus: CorpusFn | None = None,
    resampler: Callable[[list[Sample]], Callable[[list[int]], float]] | None = None,
    signature: Callable[[], str] | None = None,
    range: tuple[float, float] = (0.0, 1.0),
) -> Callable[[ScoreFn], ScoreFn]:
    """Register `fn(sample, **args) -> float | None` under `name`; its docstring is its definition."""

    def deco(fn: ScoreFn) -> ScoreFn:
        if name in REGISTRY:
            raise ValueError(f"scorer {name!r} registered twice")
        REGISTRY[name] = Scorer(
            name,
            fn,
            kinds,
            (fn.__doc__ or "").strip(),
            "corpus" if corpus else "mean",
            corpus,
            resampler,
            signature,
            range,
        )
        return fn

    return deco


def get_scorer(name: str) -> Scorer:
    try:
        return REGISTRY[name]
    except KeyError:
        raise KeyError(f"unknown metric {name!r}; known: {', '.join(sorted(REGISTRY))}") from None
