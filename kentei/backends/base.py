"""The backend interface: a handful of methods every model server or library implements."""

from __future__ import annotations

from typing import Any, Protocol

from kentei.requests import GenerateRequest, GenerateResult, LoglikelihoodRequest, LoglikelihoodResult


class Backend(Protocol):
    """A loaded model that kentei can ask for log-likelihoods and generations."""

    name: str

    def info(self) -> dict[str, Any]:
        """What the run record says about the model: id, backend, revision or weight hash,
        dtype, parameter count, tokenizer and chat-template hash."""
        ...

    def has_chat_template(self) -> bool:
        """True when the model ships a chat template (the default for --chat)."""
        ...

    def apply_chat_template(self, messages: list[dict[str, str]]) -> str:
        """Render chat turns to the exact string the model sees, ending with the assistant
        generation prompt."""
        ...

    def loglikelihood(self, requests: list[LoglikelihoodRequest]) -> list[LoglikelihoodResult]:
        """For each request, the log-probability of every continuation given its context,
        in request order. The context is encoded and run once per request, not once per
        continuation."""
        ...

    def generate(self, requests: list[GenerateRequest]) -> list[GenerateResult]:
        """Greedy generations, in request order, cut before the first stop string."""
        ...
