"""kentei's scoring library: Japanese-aware normalization and metrics, registered by name.

from scorers import get_scorer, Sample
get_scorer("exact_match")(Sample(item={"references": ["東京"]}, response={"text": "東京。"}))  # 1.0
"""

from scorers.registry import REGISTRY, Sample, Scorer, get_scorer, register

# Importing the metric modules registers their scorers.
from scorers import keigo_metrics as _keigo_metrics  # noqa: F401  isort: skip
from scorers import mc as _mc  # noqa: F401  isort: skip
from scorers import text as _text  # noqa: F401  isort: skip

__all__ = ["REGISTRY", "Sample", "Scorer", "get_scorer", "register"]
