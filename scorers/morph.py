"""Morphology: one shared fugashi Tagger pinned to unidic-lite, and a small Morpheme value type.

Every Japanese-aware metric goes through `analyze`. The tagger is created on first use (fugashi
and the dictionary load in ~0.1 s) and checked to be unidic-lite: IPADIC or full UniDic split and
lemmatize differently (令和 -> 令|和 under IPADIC), so silently using another would change scores.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

_lock = threading.Lock()
_tagger: Any = None

# UniDic marks punctuation and symbols with these first-level parts of speech.
PUNCT_POS = frozenset({"補助記号", "空白", "記号"})


class DictionaryError(RuntimeError):
    """fugashi would use a dictionary other than unidic-lite."""


@dataclass(frozen=True, slots=True)
class Morpheme:
    surface: str
    lemma: str
    """UniDic lemma with its suffix stripped (私-代名詞 -> 私); the surface when UniDic has none
    (digits, Latin letters, unknown words)."""
    pos1: str
    pos2: str
    ctype: str
    cform: str
    kana: str
    """Reading of the surface in katakana ("" when unknown)."""
    lform: str
    """Reading of the lemma form (tells おる from いる, both lemma 居る)."""
    base: str
    """Dictionary form as written (orthBase): おっしゃら -> おっしゃる, 見れ -> 見れる; surface when unknown."""
    start: int
    """Character offset of the surface in the analyzed text."""

    @property
    def is_punct(self) -> bool:
        return self.pos1 in PUNCT_POS


def _dicdir() -> str:
    import unidic_lite

    return str(unidic_lite.DICDIR)


def tagger() -> Any:
    """The shared Tagger (thread-safe creation), verified to be unidic-lite."""
    global _tagger
    if _tagger is None:
        with _lock:
            if _tagger is None:
                import fugashi

                dicdir = _dicdir()
                # -r /dev/null: ignore any system mecabrc that could point elsewhere.
                t = fugashi.Tagger(f'-d "{dicdir}" -r /dev/null')
                used = Path(t.dictionary_info[0]["filename"]).resolve()
                if not used.is_relative_to(Path(dicdir).resolve()):
                    raise DictionaryError(f"fugashi loaded {used}, not unidic-lite ({dicdir}); scores would differ")
                _tagger = t
    return _tagger


def _field(f: Any, name: str) -> str:
    v = getattr(f, name, None)
    return v if isinstance(v, str) and v != "*" else ""


@lru_cache(maxsize=65536)
def analyze(text: str) -> tuple[Morpheme, ...]:
    """Morphemes of `text` with character offsets. Never raises on odd input: None fields become ""."""
    out: list[Morpheme] = []
    pos = 0
    for w in tagger()(text):
        surface = w.surface
        at = text.find(surface, pos) if surface else -1
        start = at if at >= 0 else pos
        pos = start + len(surface)
        f = w.feature
        lemma = _field(f, "lemma").split("-")[0] or surface
        out.append(
            Morpheme(
                surface,
                lemma,
                _field(f, "pos1"),
                _field(f, "pos2"),
                _field(f, "cType"),
                _field(f, "cForm"),
                _field(f, "kana"),
                _field(f, "lForm"),
                _field(f, "orthBase") or surface,
                start,
            )
        )
    return tuple(out)


def surfaces(text: str) -> list[str]:
    """Surface tokens, punctuation and whitespace dropped."""
    return [m.surface for m in analyze(text) if not m.is_punct and m.surface.strip()]


def lemmas(text: str) -> list[str]:
    """Lemmas (suffix stripped; surface when unknown), punctuation and whitespace dropped."""
    return [m.lemma for m in analyze(text) if not m.is_punct and m.surface.strip()]
