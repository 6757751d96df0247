"""Model backends. Each implements `Backend` (see base.py); heavy imports stay inside them."""

from __future__ import annotations

from typing import Any

from kentei.backends.base import Backend
from kentei.errors import KenteiError

BACKENDS = ("hf",)


def load_backend(name: str, model: str, **kwargs: Any) -> Backend:
    if name == "hf":
        from kentei.backends.hf import HFBackend

        return HFBackend.load(model, **kwargs)
    raise KenteiError(f"unknown backend {name!r}; available: {', '.join(BACKENDS)}")
