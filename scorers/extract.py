"""Extracting a chosen option from a generated multiple-choice answer."""

from __future__ import annotations

import re
import unicodedata

from scorers.normalize import normalize, strip_think

_CIRCLED = {chr(0x2460 + i): str(i + 1) for i in range(20)}  # ①..⑳
_KANJI = {"一": 1, "二": 2, "三": 3, "四": 4, "五": 5, "六": 6}


def extract_choice(text: str, choices: list[str]) -> tuple[int | None, str]:
    """The 0-based option a generated answer picks, and how it was found.

    Accepts 1-based numbers (half- or full-width, circled, kanji 一..六, "2番", "(2)", "答え：2"),
    and the text of exactly one choice. Returns (None, "failed") when no single option can be
    read, so a failure is counted as a failure, never as a guess.
    """
    n = len(choices)
    s = strip_think(text)
    s = "".join(_CIRCLED.get(ch, ch) for ch in s)
    s = unicodedata.normalize("NFKC", s).strip()
    head = s.splitlines()[0].strip() if s else ""
    body = normalize(head)
    # A bare number (optionally with 番/. /) /: answer prefix), or a kanji numeral.
    m = re.fullmatch(r"(?:選択肢)?\(?([1-9])(?![0-9年月日時分秒個人%円つ])\)?(?:番|\.|:|\))?.*", body)
    if m and 1 <= int(m.group(1)) <= n and not _starts_choice_text(body, choices):
        return int(m.group(1)) - 1, "number"
    if body[:1] in _KANJI and (len(body) == 1 or body[1] in "番.:)") and _KANJI[body[0]] <= n:
        return _KANJI[body[0]] - 1, "kanji_number"
    # The text of a choice: exact first, then the only choice contained in the answer line.
    norm = [normalize(c) for c in choices]
    if body in norm and norm.count(body) == 1:
        return norm.index(body), "choice_text"
    # Containment only for choices of 2+ characters: a 1-character choice occurs inside too many words.
    hits = [i for i, c in enumerate(norm) if len(c) >= 2 and c in body]
    if len(hits) > 1:  # prefer the longest when one choice is a substring of another
        longest = max(hits, key=lambda i: len(norm[i]))
        hits = [longest] if all(norm[i] in norm[longest] for i in hits) else hits
    if len(hits) == 1:
        return hits[0], "choice_text"
    m = re.search(r"(?:答え|回答|正解)\s*(?:は|:)\s*\(?([1-9])", s)
    if m and 1 <= int(m.group(1)) <= n:
        return int(m.group(1)) - 1, "number_in_text"
    return None, "failed"


def _starts_choice_text(body: str, choices: list[str]) -> bool:
    """A choice that itself starts with a digit (e.g. "3分") must not be read as option 3."""
    return any(normalize(c) and body.startswith(normalize(c)) and normalize(c)[0].isdigit() for c in choices)
