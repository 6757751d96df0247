"""Japanese-aware answer normalization (NFKC plus the folds NFKC leaves out)."""

from __future__ import annotations

import re
import unicodedata

_THINK = re.compile(r"<think>.*?(</think>|$)", re.DOTALL)
_PREFIX = re.compile(r"^\s*(?:(答え|回答|解答|正解|answer)\s*[:：]\s*)+", re.IGNORECASE)  # 答え：答え：x too
_QUOTES = [("「", "」"), ("『", "』"), ('"', '"'), ("'", "'"), ("“", "”"), ("（", "）"), ("(", ")")]
_WAVE = str.maketrans({"〜": "~", "～": "~", "ヶ": "ケ", "ヵ": "カ"})
_SPACE = re.compile(r"\s+")


def strip_think(text: str) -> str:
    """Drop <think>…</think> reasoning blocks (an unclosed block runs to the end)."""
    return _THINK.sub("", text)


def normalize(text: str) -> str:
    """NFKC, fold 〜/～ and ヶ/ヵ, drop <think> blocks, an answer prefix (答え：), surrounding
    quotes or brackets, final 。/., and all whitespace (Japanese answers carry no meaningful spaces).
    Idempotent: normalize(normalize(x)) == normalize(x)."""
    s = _normalize_once(text)
    # Dropping whitespace or a prefix can expose more to drop (「東京」\t, 答 え:x, 答え：答え：x) and
    # joins a base letter to a combining mark NFKC then composes (C¸): repeat to a fixed point.
    # Every pass after the first only deletes or composes characters, so this ends.
    while (t := _normalize_once(s)) != s:
        s = t
    return s


def _normalize_once(text: str) -> str:
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
