"""Reading numbers out of Japanese answers: full-width digits, kanji numerals, units, percentages."""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

_DIGIT = {
    "〇": 0,
    "零": 0,
    "一": 1,
    "二": 2,
    "三": 3,
    "四": 4,
    "五": 5,
    "六": 6,
    "七": 7,
    "八": 8,
    "九": 9,
    "壱": 1,
    "弐": 2,
    "参": 3,
}
_SMALL = {"十": 10, "百": 100, "千": 1000}
_LARGE = {"万": 10**4, "億": 10**8, "兆": 10**12}

# Units kentei converts between (to a base unit per dimension); anything else must match exactly.
UNITS: dict[str, tuple[str, float]] = {
    "%": ("ratio", 0.01),
    "％": ("ratio", 0.01),
    "パーセント": ("ratio", 0.01),
    "割": ("ratio", 0.1),
    "秒": ("time", 1),
    "s": ("time", 1),
    "sec": ("time", 1),
    "分": ("time", 60),
    "min": ("time", 60),
    "時間": ("time", 3600),
    "h": ("time", 3600),
    "日": ("time", 86400),
    "mm": ("length", 0.001),
    "ミリ": ("length", 0.001),
    "cm": ("length", 0.01),
    "m": ("length", 1),
    "メートル": ("length", 1),
    "km": ("length", 1000),
    "μm": ("length", 1e-6),
    "g": ("mass", 0.001),
    "グラム": ("mass", 0.001),
    "kg": ("mass", 1),
    "t": ("mass", 1000),
    "トン": ("mass", 1000),
    "個": ("count", 1),
    "台": ("count", 1),
    "本": ("count", 1),
    "枚": ("count", 1),
    "件": ("count", 1),
    "人": ("count", 1),
    "円": ("yen", 1),
    "回": ("count", 1),
    "人時": ("effort", 1),
    "人分": ("effort", 1 / 60),
}
_UNIT_RE = "|".join(sorted((re.escape(u) for u in UNITS), key=len, reverse=True))
_KANJI_NUM = "〇零一二三四五六七八九十百千万億兆壱弐参"
_ARABIC = r"[0-9](?:[0-9]|,(?=[0-9]{3}))*(?:\.[0-9]+)?"
_NUM = re.compile(rf"(?P<sign>[-−])?(?P<num>(?:{_ARABIC}|[{_KANJI_NUM}])+)\s*(?:(?P<unit>{_UNIT_RE})(?![A-Za-z]))?")
_PART = re.compile(rf"{_ARABIC}|[{_KANJI_NUM}]")


@dataclass(frozen=True)
class Quantity:
    value: float
    unit: str | None
    decimals: int
    """Digits after the decimal point as written (sets the default tolerance)."""


def numeral_value(s: str) -> Decimal | None:
    """The value of a numeral run: 325, 三百二十五, 二〇二四 (digit by digit), 1万2千, 3.5万, 12,345."""
    parts = _PART.findall(s)
    if not parts or "".join(parts) != s:
        return None
    values: list[Decimal | str] = []
    for p in parts:
        values.append(Decimal(p.replace(",", "")) if p[0].isdigit() else p)
    if all(isinstance(v, Decimal) for v in values):
        return values[0] if len(values) == 1 else None
    if all(isinstance(v, str) and v in _DIGIT for v in values):
        return Decimal("".join(str(_DIGIT[v]) for v in values))  # type: ignore[index]
    total = section = Decimal(0)
    digit: Decimal | None = None
    for v in values:
        if isinstance(v, Decimal) or v in _DIGIT:
            if digit is not None:
                return None  # two digits in a row (一二百) is not a numeral
            digit = v if isinstance(v, Decimal) else Decimal(_DIGIT[v])
        elif v in _SMALL:
            section += (digit if digit is not None else 1) * _SMALL[v]
            digit = None
        else:  # 万 億 兆
            total += (section + (digit or 0) or 1) * _LARGE[v]
            section, digit = Decimal(0), None
    return total + section + (digit or 0)


def parse_quantities(text: str) -> list[Quantity]:
    """Every number in the text with the unit written right after it, in order."""
    s = unicodedata.normalize("NFKC", text)
    out = []
    for m in _NUM.finditer(s):
        raw = m.group("num")
        try:
            val = numeral_value(raw)
        except InvalidOperation:
            val = None
        if val is None:
            continue
        decimals = len(raw.split(".")[1]) if "." in raw and raw.replace(",", "").replace(".", "").isdigit() else 0
        out.append(Quantity(float(-val if m.group("sign") else val), m.group("unit"), decimals))
    return out


def convert(q: Quantity, unit: str | None) -> float | None:
    """q's value in `unit`; None when the units are of different dimensions or unknown."""
    if q.unit == unit or q.unit is None or unit is None:
        return q.value
    a, b = UNITS.get(q.unit), UNITS.get(unit)
    if a is None or b is None or a[0] != b[0]:
        return None
    return q.value * a[1] / b[1]
