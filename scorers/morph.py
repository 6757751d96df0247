"""Morphology: one shared fugashi Tagger pinned to unidic-lite, and a small Morpheme value type.

Every Japanese-aware metric goes through `analyze`. The tagger is created on first use (fugashi
and the dictionary load in ~0.1 s) and checked to be unidic-lite: IPADIC or full UniDic split and
lemmatize differently (令和 -> 令|和 under IPADIC), so silently using another would change scores.
"""

from __future__ import annotations

import threading
from functools import lru_cache
from pathlib import Path
from typing import Any, NamedTuple

_lock = threading.Lock()
_tagger: Any = None

# UniDic marks punctuation and symbols with these first-level parts of speech.
PUNCT_POS = frozenset({"補助記号", "空白", "記号"})


class DictionaryError(RuntimeError):
    """fugashi would use a dictionary other than unidic-lite."""


class Morpheme(NamedTuple):
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


_BLANK = {"*": "", None: ""}
# Parsed feature fields by MeCab's raw feature string: a corpus has far fewer distinct analyses than
# tokens, and building fugashi's 26-field feature tuple costs more than the tagging itself.
_FEATURES: dict[str, tuple[str, str, str, str, str, str, str, str]] = {}


def _fields(w: Any) -> tuple[str, str, str, str, str, str, str, str]:
    """(lemma, pos1, pos2, cType, cForm, kana, lForm, orthBase) of a node, "" where UniDic has none."""
    raw = w.feature_raw
    got = _FEATURES.get(raw)
    if got is None:
        f = w.feature  # fugashi parses the CSV, quoted commas included
        blank = _BLANK.get
        lemma = blank(f[7], f[7])
        lemma = lemma.split("-")[0] if "-" in lemma else lemma
        got = (
            lemma,
            blank(f[0], f[0]),
            blank(f[1], f[1]),
            blank(f[4], f[4]),
            blank(f[5], f[5]),
            blank(f[17], f[17]),
            blank(f[6], f[6]),
            blank(f[10], f[10]),
        )
        if len(_FEATURES) > 500_000:
            _FEATURES.clear()
        _FEATURES[raw] = got
    return got


@lru_cache(maxsize=65536)
def analyze(text: str) -> tuple[Morpheme, ...]:
    """Morphemes of `text` with character offsets. Never raises on odd input: None fields become ""."""
    out: list[Morpheme] = []
    pos = 0
    find = text.find
    new = tuple.__new__
    for w in tagger()(text):
        surface = w.surface
        at = find(surface, pos) if surface else -1
        start = at if at >= 0 else pos
        pos = start + len(surface)
        lemma, pos1, pos2, ctype, cform, kana, lform, base = _fields(w)
        out.append(
            new(Morpheme, (surface, lemma or surface, pos1, pos2, ctype, cform, kana, lform, base or surface, start))
        )
    return tuple(out)


def surfaces(text: str) -> list[str]:
    """Surface tokens, punctuation and whitespace dropped."""
    return [m.surface for m in analyze(text) if not m.is_punct and m.surface.strip()]


def lemmas(text: str) -> list[str]:
    """Lemmas (suffix stripped; surface when unknown), punctuation and whitespace dropped."""
    return [m.lemma for m in analyze(text) if not m.is_punct and m.surface.strip()]
