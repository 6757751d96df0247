"""Generate the rule-checkable items of culture_qa from the rules (reference/culture.md).

    python tasks/culture_qa/generate.py [--check]

Rewrites test.jsonl in this folder: hand-written items (no "generator" field) are kept as they are;
rule items (和暦↔西暦 with the era-boundary traps, 干支, 長寿祝い, 五節句, 県庁所在地, 旧暦月名) are
written again from the rules below with a fixed seed. --check exits 1 if the file is out of date.
"""

from __future__ import annotations

import random
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
SEED = 20261126
GENERATOR = "generate.py v1"
FIRST_ID = 201  # after the hand-written items culture_qa-0001 ... 0200

# Era start dates (the first day of each era) and the offset to the Western year.
ERAS = [
    ("明治", 1868, 1, 1, 1867),
    ("大正", 1912, 7, 30, 1911),
    ("昭和", 1926, 12, 25, 1925),
    ("平成", 1989, 1, 8, 1988),
    ("令和", 2019, 5, 1, 2018),
]
START = {e[0]: e[1] for e in ERAS}
ERA_LAST_YEAR = {"明治": 45, "大正": 15, "昭和": 64, "平成": 31}
ETO = "子丑寅卯辰巳午未申酉戌亥"
ETO_KANA = ["ね", "うし", "とら", "う", "たつ", "み", "うま", "ひつじ", "さる", "とり", "いぬ", "い"]
CHOJU = [
    ("古希", "こき", 70),
    ("喜寿", "きじゅ", 77),
    ("傘寿", "さんじゅ", 80),
    ("米寿", "べいじゅ", 88),
    ("卒寿", "そつじゅ", 90),
    ("白寿", "はくじゅ", 99),
    ("百寿", "ひゃくじゅ", 100),
]
SEKKU = [
    ("1月7日", "人日", ["人日の節句", "じんじつ", "七草の節句"]),
    ("3月3日", "上巳", ["上巳の節句", "じょうし", "じょうみ", "桃の節句"]),
    ("5月5日", "端午", ["端午の節句", "たんご", "菖蒲の節句"]),
    ("7月7日", "七夕", ["七夕の節句", "しちせき", "たなばた", "笹の節句"]),
    ("9月9日", "重陽", ["重陽の節句", "ちょうよう", "菊の節句"]),
]
KANJI_MONTH = "一二三四五六七八九十"
# Prefectures whose capital's name differs from the prefecture's (reference/culture.md, checked
# against the prefectures' own listings).
CAPITALS = [
    ("北海道", "札幌市", "さっぽろ"),
    ("岩手県", "盛岡市", "もりおか"),
    ("宮城県", "仙台市", "せんだい"),
    ("茨城県", "水戸市", "みと"),
    ("栃木県", "宇都宮市", "うつのみや"),
    ("群馬県", "前橋市", "まえばし"),
    ("埼玉県", "さいたま市", "さいたま"),
    ("神奈川県", "横浜市", "よこはま"),
    ("石川県", "金沢市", "かなざわ"),
    ("山梨県", "甲府市", "こうふ"),
    ("愛知県", "名古屋市", "なごや"),
    ("三重県", "津市", "つ"),
    ("滋賀県", "大津市", "おおつ"),
    ("兵庫県", "神戸市", "こうべ"),
    ("島根県", "松江市", "まつえ"),
    ("香川県", "高松市", "たかまつ"),
    ("愛媛県", "松山市", "まつやま"),
    ("沖縄県", "那覇市", "なは"),
]
MONTH_NAMES = [
    ("睦月", "むつき"),
    ("如月", "きさらぎ"),
    ("弥生", "やよい"),
    ("卯月", "うづき"),
    ("皐月", "さつき"),
    ("水無月", "みなづき"),
    ("文月", "ふみづき"),
    ("葉月", "はづき"),
    ("長月", "ながつき"),
    ("神無月", "かんなづき"),
    ("霜月", "しもつき"),
    ("師走", "しわす"),
]
# Other accepted spellings and readings of the same word.
VARIANTS = {
    "古希": ["古稀"],
    "百寿": ["ももじゅ", "紀寿", "百賀"],
    "神無月": ["かみなづき"],
    "文月": ["ふづき"],
    "皐月": ["五月"],
    "師走": ["しはす"],
}


def era_of(y: int, m: int, d: int) -> tuple[str, int]:
    """The era and era year of a date (the era in force on that day)."""
    name, year = "", 0
    for era, ey, em, ed, off in ERAS:
        if (y, m, d) >= (ey, em, ed):
            name, year = era, y - off
    return name, year


def wareki_items(rng: random.Random) -> list[dict]:
    out = []
    # Traps first: boundary years and 元年.
    traps = [
        ("昭和64年", 1989, "昭和64年は1月1日から7日までの7日間だけで、西暦1989年にあたる。"),
        ("平成31年", 2019, "平成31年は4月30日まで、西暦2019年にあたる（同年5月1日から令和元年）。"),
        ("令和元年", 2019, "令和元年は2019年5月1日に始まった。"),
        ("平成元年", 1989, "平成は1989年1月8日に始まり、平成元年は1989年。"),
        ("昭和元年", 1926, "昭和は1926年12月25日に始まり、昭和元年は1926年。"),
        ("大正元年", 1912, "大正は1912年7月30日に始まり、大正元年は1912年。"),
        ("明治元年", 1868, "明治元年は1868年（和暦＋1867）。"),
        ("大正15年", 1926, "大正は15年（1926年）12月24日まで。大正＋1911で1926年。"),
    ]
    for era_year, west, why in traps:
        out.append(
            dict(
                category="和暦",
                input=f"{era_year}は西暦何年か。数字で答えよ。",
                references=[f"{west}年"],
                answer_type="numeric",
                tolerance=0,
                rationale=why,
            )
        )
    # Plain conversions, both directions, away from the boundaries.
    seen: set[tuple[str, int]] = set()
    while len(out) < 22:
        era, ey, _, _, off = rng.choice(ERAS)
        last = ERA_LAST_YEAR.get(era, 7)
        n = rng.randint(2, last - 1)
        if (era, n) in seen:
            continue
        seen.add((era, n))
        out.append(
            dict(
                category="和暦",
                input=f"{era}{n}年は西暦何年か。数字で答えよ。",
                references=[f"{n + off}年"],
                answer_type="numeric",
                tolerance=0,
                rationale=f"{era}は{ey}年に始まり、{era}の年＋{off}が西暦。{era}{n}年＝{n + off}年。",
            )
        )
    dates = [
        (1989, 1, 5),
        (1989, 2, 1),
        (2019, 3, 1),
        (2019, 6, 1),
        (1926, 12, 10),
        (1912, 8, 15),
        (1868, 10, 23),
        (1964, 10, 10),
    ]
    for y, m, d in dates:
        era, n = era_of(y, m, d)
        label = f"{era}元年" if n == 1 else f"{era}{n}年"
        aliases = [f"{era}1年"] if n == 1 else []
        out.append(
            dict(
                category="和暦",
                input=f"西暦{y}年{m}月{d}日は、和暦（元号）で何年か。「○○○年」の形で答えよ。",
                references=[label],
                aliases=aliases,
                answer_type="term",
                rationale=f"{era}は{START[era]}年の改元で始まり、{y}年{m}月{d}日は{label}。",
            )
        )
    return out


def eto_items(rng: random.Random) -> list[dict]:
    out = []
    years = rng.sample(range(1950, 2060), 20)
    for y in years:
        k = (y - 4) % 12
        e = ETO[k]
        out.append(
            dict(
                category="干支",
                input=f"西暦{y}年の十二支（えと）は何か。漢字1字で答えよ。",
                references=[e],
                aliases=[f"{e}年", ETO_KANA[k], f"{ETO_KANA[k]}年"],
                answer_type="term",
                rationale=f"十二支は子丑寅卯辰巳午未申酉戌亥の順で、2020年が子。({y}−4)を12で割った余り{k}→{e}。",
            )
        )
    return out


def choju_items() -> list[dict]:
    out = [
        dict(
            category="長寿祝い",
            input="還暦は、満年齢で何歳を迎えたときの祝いか。数字で答えよ。",
            references=["60歳"],
            answer_type="numeric",
            tolerance=0,
            rationale="還暦は干支が一巡して生まれ年の干支に還る満60歳（数え61歳）の祝い。",
        )
    ]
    for name, kana, age in CHOJU:
        out.append(
            dict(
                category="長寿祝い",
                input=f"伝統的な数え方（数え年）で{age}歳の長寿の祝いを何というか。漢字で答えよ。",
                references=[name],
                aliases=[kana, *VARIANTS.get(name, [])],
                answer_type="term",
                rationale=f"{name}（{kana}）は数え年{age}歳の祝い。",
            )
        )
        out.append(
            dict(
                category="長寿祝い",
                input=f"「{name}」は、伝統的な数え方（数え年）で何歳の祝いか。数字で答えよ。",
                references=[f"{age}歳"],
                answer_type="numeric",
                tolerance=0,
                rationale=f"{name}は数え年{age}歳の長寿祝い。",
            )
        )
    return out


def sekku_items() -> list[dict]:
    out = []
    for date, name, aliases in SEKKU:
        m, d = int(date.split("月")[0]), int(date.split("月")[1][:-1])
        out.append(
            dict(
                category="五節句",
                input=f"五節句のうち、{date}の節句は何か。漢字で答えよ。",
                references=[name],
                aliases=aliases,
                answer_type="term",
                rationale="五節句は人日(1/7)・上巳(3/3)・端午(5/5)・七夕(7/7)・重陽(9/9)。",
            )
        )
        out.append(
            dict(
                category="五節句",
                input=f"五節句の一つ「{name}」は何月何日か。「○月○日」の形で答えよ。",
                references=[date],
                aliases=[f"{KANJI_MONTH[m - 1]}月{KANJI_MONTH[d - 1]}日"],
                answer_type="term",
                rationale=f"{name}の節句は{date}。",
            )
        )
    return out


def capital_items() -> list[dict]:
    return [
        dict(
            category="県庁所在地",
            input=f"{pref}の{'道' if pref == '北海道' else '県'}庁所在地はどこか。市の名前で答えよ。",
            references=[city],
            aliases=[city.removesuffix("市"), kana, kana + "し"] if city != "さいたま市" else ["さいたま"],
            answer_type="term",
            rationale=f"{pref}の{'道' if pref == '北海道' else '県'}庁は{city}にある。",
        )
        for pref, city, kana in CAPITALS
    ]


def month_items() -> list[dict]:
    return [
        dict(
            category="旧暦月名",
            input=f"旧暦{m}月の和風月名は何か。漢字で答えよ。",
            references=[name],
            aliases=[kana, *[v for v in VARIANTS.get(name, []) if v != "五月"]],
            answer_type="term",
            rationale=f"和風月名は睦月・如月・弥生・卯月・皐月・水無月・文月・葉月・長月・神無月・霜月・師走で、{m}月は{name}。",
        )
        for m, (name, kana) in enumerate(MONTH_NAMES, start=1)
    ]


def rule_items() -> list[dict]:
    rng = random.Random(SEED)
    items = wareki_items(rng) + eto_items(rng) + choju_items() + sekku_items() + capital_items() + month_items()
    out = []
    for n, it in enumerate(items, start=FIRST_ID):
        row = {
            "id": f"culture_qa-{n:04d}",
            "category": it["category"],
            "input": it["input"],
            "references": it["references"],
            "aliases": it.get("aliases", []),
            "answer_type": it["answer_type"],
        }
        if "tolerance" in it:
            row["tolerance"] = it["tolerance"]
        row.update({"rationale": it["rationale"], "generator": GENERATOR})
        out.append(row)
    return out


def main(argv: list[str]) -> int:
    from kentei.itemgen import main as write_or_check

    return write_or_check(HERE, rule_items, argv)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
