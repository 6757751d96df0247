"""Model backends. Each implements `Backend` (see base.py); heavy imports stay inside them."""

from __future__ import annotations

from typing import Any

from kentei.backends.base import Backend
from kentei.errors import KenteiError

BACKENDS = ("hf", "openai")
HF_OPTIONS = ("device", "dtype", "batch_size", "trust_remote_code", "allow_pickle", "revision")
API_OPTIONS = ("base_url", "api_key_env", "concurrency", "timeout_s", "max_retries", "tokenizer", "trust_remote_code")


def load_backend(name: str, model: str, **kwargs: Any) -> Backend:
    """Load `model` with the named backend; each backend takes only the options that apply to it."""
    if name == "hf":
        from kentei.backends.hf import HFBackend

        return HFBackend.load(model, **{k: v for k, v in kwargs.items() if k in HF_OPTIONS})
    if name == "openai":
        from kentei.backends.api import OpenAIBackend

        return OpenAIBackend.load(model, **{k: v for k, v in kwargs.items() if k in API_OPTIONS})
    if name == "vllm":
        raise KenteiError(
            "there is no in-process vLLM backend: start `vllm serve MODEL` and run with --backend openai "
            "--base-url http://127.0.0.1:8000/v1 (docs/serving.md)"
        )
    raise KenteiError(f"unknown backend {name!r}; available: {', '.join(BACKENDS)}")
