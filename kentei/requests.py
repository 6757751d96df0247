"""Requests and responses: the tiny value objects that cross the backend boundary."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class LoglikelihoodRequest:
    """Score each continuation given one shared context.

    The backend must compute the context once, not once per continuation.
    """

    key: str
    context: str
    continuations: tuple[str, ...]


@dataclass(frozen=True)
class GenerateRequest:
    """Generate greedily from `context` until a stop string, EOS or `max_new_tokens`."""

    key: str
    context: str
    stop: tuple[str, ...] = ()
    max_new_tokens: int = 64


@dataclass(frozen=True)
class LoglikelihoodResult:
    logprobs: list[float]
    """Sum of token log-probabilities of each continuation (natural log)."""
    is_greedy: list[bool]
    """Whether greedy decoding would have produced each continuation exactly."""
    n_tokens: list[int]
    boundary_merged: bool = False
    """The tokenizer merged a token across the context/continuation boundary; the pair was then
    tokenized separately so the context is conditioned on exactly."""
    truncated: bool = False


@dataclass(frozen=True)
class GenerateResult:
    text: str
    """Generated text, cut before the first stop string."""
    n_tokens: int
    finish: str = field(default="stop")
    """"stop" (stop string), "eos", or "length" (max_new_tokens reached)."""
