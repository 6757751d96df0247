"""Japanese-aware answer normalization (NFKC plus the folds NFKC leaves out)."""

from __future__ import annotations

import re
import unicodedata

_THINK = re.compile(r"<think>.*?(</think>|$)", re.DOTALL)
_PREFIX = re.compile(r"^\s*(答え|回答|解答|正解|answer)\s*[:：]\s*", re.IGNORECASE)
_QUOTES = [("「", "」"), ("『", "』"), ('"', '"'), ("'", "'"), ("“", "”"), ("（", "）"), ("(", ")")]
_WAVE = str.maketrans({"〜": "~", "～": "~", "ヶ": "ケ", "ヵ": "カ"})
_SPACE = re.compile(r"\s+")


def strip_think(text: str) -> str:
    """Drop <think>…</think> reasoning blocks (an unclosed block runs to the end)."""
    return _THINK.sub("", text)


def normalize(text: str) -> str:
    """NFKC, fold 〜/～ and ヶ/ヵ, drop <think> blocks, an answer prefix (答え：), surrounding
    quotes or brackets, final 。/., and all whitespace (Japanese answers carry no meaningful spaces)."""
    s = strip_think(text)
    s = unicodedata.normalize("NFKC", s).translate(_WAVE).strip()
    s = _PREFIX.sub("", s)
    changed = True
    while changed and s:
        changed = False
        s2 = s.rstrip("。.、,!！?？ ")
        for a, b in _QUOTES:
            if len(s2) >= 2 and s2.startswith(a) and s2.endswith(b):
                s2 = s2[len(a) : -len(b)].strip()
        if s2 != s:
            s, changed = s2, True
    return _SPACE.sub("", s)
