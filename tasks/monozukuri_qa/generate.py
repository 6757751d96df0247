"""Generate the computed items of monozukuri_qa (takt time, man-hours, OEE, yield, Cp/Cpk).

    python tasks/monozukuri_qa/generate.py [--check]

Rewrites test.jsonl in this folder: hand-written items (no "generator" field) are kept as they are,
computed items are drawn again with a fixed seed, so every gold value can be regenerated and checked.
--check exits 1 if the file differs from what the script would write.

Formulas (reference/monozukuri.md; JIS Z 8141 usage):
  タクトタイム = 稼働時間 ÷ 必要数; 工数 = 人数 × 時間
  設備総合効率 = 時間稼働率 × 性能稼働率 × 良品率
             = (稼働時間 / 負荷時間) × (基準サイクルタイム × 加工数量 / 稼働時間) × (良品数 / 加工数量)
  歩留まり = 良品数 ÷ 投入数; 直行率 = 手直しなしの良品数 ÷ 投入数
  Cp = (上限規格 − 下限規格) / 6σ; Cpk = min(上限規格 − 平均, 平均 − 下限規格) / 3σ
"""

from __future__ import annotations

import random
import sys
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path

HERE = Path(__file__).resolve().parent
SEED = 20261125
GENERATOR = "generate.py v1"
N_PER_CATEGORY = 20
FIRST_ID = 129  # ids after the hand-written items (monozukuri_qa-0001 ... 0128)


def r(x: float, places: int) -> Decimal:
    """Round half up, as Japanese shop-floor calculations are taught (not banker's rounding)."""
    q = Decimal(1).scaleb(-places)
    return Decimal(repr(x)).quantize(q, rounding=ROUND_HALF_UP)


def fmt(d: Decimal) -> str:
    return f"{d:,}" if d == d.to_integral() and abs(d) >= 1000 else str(d)


def takt_and_manhours(rng: random.Random) -> list[dict]:
    out = []
    for k in range(N_PER_CATEGORY):
        if k % 2 == 0:
            shifts = rng.choice([1, 2])
            minutes = rng.choice([450, 460, 465, 470, 480]) - rng.choice([0, 10, 20, 30])
            demand = rng.randrange(200, 1200, 10) * shifts
            seconds = minutes * 60 * shifts
            takt = r(seconds / demand, 1)
            q = (
                f"ある組立ラインの1日の稼働時間は{shifts}直で合計{minutes * shifts}分、"
                f"1日の必要数は{demand:,}個である。"
                "このラインのタクトタイムは何秒か。小数第2位を四捨五入し、小数第1位まで答えよ。"
            )
            out.append(
                dict(
                    category="計算：タクトタイム・工数",
                    input=q,
                    references=[f"{takt}秒"],
                    unit="秒",
                    tolerance=0.05,
                    rationale=f"タクトタイム＝稼働時間÷必要数＝{seconds:,}秒÷{demand:,}個＝{takt}秒。",
                )
            )
        else:
            people = rng.randint(2, 6)
            hours = rng.choice([1.5, 2, 2.5, 3, 3.5, 4, 4.5, 5, 6, 7.5])
            units = rng.choice([30, 40, 50, 60, 75, 80, 90, 120])
            total = r(people * hours, 1)
            per_unit = r(people * hours * 60 / units, 1)
            if k % 4 == 1:
                q = f"{people}人の作業者が{hours}時間かけて段取り替えと試作を行った。この作業の工数は何人時か。"
                out.append(
                    dict(
                        category="計算：タクトタイム・工数",
                        input=q,
                        references=[f"{total}人時"],
                        unit="人時",
                        tolerance=0.05,
                        rationale=f"工数＝人数×時間＝{people}人×{hours}時間＝{total}人時。",
                    )
                )
            else:
                q = (
                    f"{people}人で{hours}時間作業し、製品を{units}個仕上げた。製品1個あたりの工数は何人分か。"
                    "小数第2位を四捨五入して答えよ。"
                )
                out.append(
                    dict(
                        category="計算：タクトタイム・工数",
                        input=q,
                        references=[f"{per_unit}人分"],
                        unit="人分",
                        tolerance=0.05,
                        rationale=f"1個あたり工数＝{people}人×{hours}時間×60分÷{units}個＝{per_unit}人分。",
                    )
                )
    return out


def oee(rng: random.Random) -> list[dict]:
    out = []
    for _ in range(N_PER_CATEGORY):
        load = rng.choice([420, 440, 450, 460, 480])
        stop = rng.randrange(20, 90, 5)
        run = load - stop
        ct = rng.choice([0.4, 0.5, 0.6, 0.75, 0.8, 1.0, 1.2, 1.5])
        perf = rng.uniform(0.75, 0.97)
        produced = int(run * perf / ct)
        good = produced - rng.randint(2, max(3, produced // 20))
        value = r(ct * good / load * 100, 1)
        q = (
            f"ある設備の1日の負荷時間は{load}分、故障と段取りによる停止時間は合計{stop}分であった。"
            f"基準サイクルタイムは{ct}分/個で、この日の加工数量は{produced}個、うち良品は{good}個だった。"
            "この設備の設備総合効率（OEE）は何％か。小数第2位を四捨五入し、小数第1位まで答えよ。"
        )
        rat = (
            f"時間稼働率{run}/{load}×性能稼働率({ct}×{produced})/{run}×良品率{good}/{produced}"
            f"＝{ct}×{good}÷{load}＝{value}％。"
        )
        out.append(
            dict(
                category="計算：設備総合効率",
                input=q,
                references=[f"{value}%"],
                unit="%",
                tolerance=0.05,
                rationale=rat,
            )
        )
    return out


def yields(rng: random.Random) -> list[dict]:
    out = []
    for k in range(N_PER_CATEGORY):
        inp = rng.randrange(400, 5000, 10)
        good = inp - rng.randint(inp // 50, inp // 8)
        reworked = rng.randint(5, max(6, (inp - good) // 2 + 5))
        if k % 2 == 0:
            value = r(good / inp * 100, 1)
            q = (
                f"ある工程に材料を{inp:,}個投入し、最終的に良品として出荷できたのは{good:,}個だった。"
                "この工程の歩留まりは何％か。小数第2位を四捨五入し、小数第1位まで答えよ。"
            )
            out.append(
                dict(
                    category="計算：歩留まり・直行率",
                    input=q,
                    references=[f"{value}%"],
                    unit="%",
                    tolerance=0.05,
                    rationale=f"歩留まり＝良品数÷投入数＝{good:,}÷{inp:,}＝{value}％。",
                )
            )
        else:
            first = good - reworked
            value = r(first / inp * 100, 1)
            q = (
                f"ある組立工程で{inp:,}台を生産した。最終検査の合格は{good:,}台で、そのうち{reworked}台は途中で"
                "手直しをしてから合格したものである。この工程の直行率は何％か。小数第2位を四捨五入し、小数第1位まで答えよ。"
            )
            out.append(
                dict(
                    category="計算：歩留まり・直行率",
                    input=q,
                    references=[f"{value}%"],
                    unit="%",
                    tolerance=0.05,
                    rationale=f"直行率＝手直しなしで合格した数÷生産数＝({good:,}−{reworked})÷{inp:,}＝{value}％。",
                )
            )
    return out


def capability(rng: random.Random) -> list[dict]:
    out = []
    for k in range(N_PER_CATEGORY):
        nominal = rng.choice([10.0, 12.0, 20.0, 25.0, 30.0, 50.0])
        half = rng.choice([0.05, 0.1, 0.15, 0.2, 0.3])
        usl, lsl = round(nominal + half, 3), round(nominal - half, 3)
        sigma = round(rng.uniform(half / 5, half / 2.2), 3)
        shift = round(rng.uniform(-0.4, 0.4) * half, 3)
        mean = round(nominal + shift, 3)
        if k % 2 == 0:
            value = r((usl - lsl) / (6 * sigma), 2)
            q = (
                f"軸の外径の規格は{lsl}mm〜{usl}mmである。工程の標準偏差は{sigma}mmだった。"
                "この工程の工程能力指数Cpはいくつか。小数第3位を四捨五入し、小数第2位まで答えよ。"
            )
            rat = f"Cp＝(上限規格−下限規格)÷6σ＝({usl}−{lsl})÷(6×{sigma})＝{value}。"
        else:
            value = r(min(usl - mean, mean - lsl) / (3 * sigma), 2)
            q = (
                f"穴径の規格は{lsl}mm〜{usl}mmで、工程の平均は{mean}mm、標準偏差は{sigma}mmだった。"
                "この工程の工程能力指数Cpkはいくつか。小数第3位を四捨五入し、小数第2位まで答えよ。"
            )
            rat = (
                f"Cpk＝min(上限規格−平均, 平均−下限規格)÷3σ＝min({round(usl - mean, 3)}, {round(mean - lsl, 3)})"
                f"÷(3×{sigma})＝{value}。"
            )
        out.append(dict(category="計算：工程能力", input=q, references=[str(value)], tolerance=0.005, rationale=rat))
    return out


def computed_items() -> list[dict]:
    rng = random.Random(SEED)
    items: list[dict] = []
    seen: set[str] = set()
    for make in (takt_and_manhours, oee, yields, capability):
        batch: list[dict] = []
        while len(batch) < N_PER_CATEGORY:  # redraw a question that came out twice
            for it in make(rng):
                if it["input"] not in seen and len(batch) < N_PER_CATEGORY:
                    seen.add(it["input"])
                    batch.append(it)
        items += batch
    out = []
    for n, it in enumerate(items, start=FIRST_ID):
        row = {
            "id": f"monozukuri_qa-{n:04d}",
            "category": it["category"],
            "input": it["input"],
            "references": it["references"],
            "aliases": [],
            "answer_type": "numeric",
        }
        if "unit" in it:
            row["unit"] = it["unit"]
        row.update({"tolerance": it["tolerance"], "rationale": it["rationale"], "generator": GENERATOR})
        out.append(row)
    return out


def main(argv: list[str]) -> int:
    from kentei.itemgen import main as write_or_check

    return write_or_check(HERE, computed_items, argv)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
