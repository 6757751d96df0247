"""The keigo analyzer: reference errors caught, traps left alone, labeled-set precision/recall,
the `kentei keigo` JSON contract, and the rewrite metrics' ranking."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from scorers import Sample, get_scorer
from scorers.keigo import ERROR_TYPES, analyze_sentence
from scorers.keigo_eval import evaluate, load

from .conftest import run_cli

DATA = Path(__file__).parent / "data"

# (sentence, error type, span) — the wrong -> right pairs of reference/keigo.md, in sentences.
ERRORS = [
    ("部長がおっしゃられました。", "double_keigo", "おっしゃられ"),
    ("社長が会場にお越しになられました。", "double_keigo", "お越しになられ"),
    ("資料はもうご覧になられましたか。", "double_keigo", "ご覧になられ"),
    ("先生は昼食を召し上がられました。", "double_keigo", "召し上がられ"),
    ("部長はもうお帰りになられました。", "double_keigo", "お帰りになられ"),
    ("先生が申されました。", "sonkei_kenjou_mix", "申され"),
    ("部長が参られます。", "sonkei_kenjou_mix", "参られ"),
    ("詳しくは窓口で伺ってください。", "sonkei_kenjou_mix", "伺ってください"),
    ("このカードはどなたでもご利用できます。", "sonkei_kenjou_mix", "ご利用でき"),
    ("こちらの用紙をご使用してください。", "sonkei_kenjou_mix", "ご使用してください"),
    ("お求めやすい価格になりました。", "sonkei_kenjou_mix", "お求めやすい"),
    ("弊社の社長がおっしゃっていました。", "sonkei_kenjou_mix", "おっしゃっ"),
    ("本日は休業させていただきます。", "sasete_itadaku", "休業させていただき"),
    ("この映画はもう見れますか。", "ra_nuki", "見れ"),
    ("明日は来れますか。", "ra_nuki", "来れ"),
    ("朝早く起きれない。", "ra_nuki", "起きれ"),
    ("資料を読まさせていただきます。", "sa_ire", "読まさせ"),
    ("報告書を書かさせてください。", "sa_ire", "書かさせ"),
    ("こちらコーヒーになります。", "baito_keigo", "になります"),
    ("お箸のほうお付けしますか。", "baito_keigo", "のほう"),
    ("ご注文は以上でよろしかったでしょうか。", "baito_keigo", "よろしかった"),
    ("千円からお預かりします。", "baito_keigo", "から"),
    ("株式会社山田商事御中　田中様", "addressing", "御中　田中様"),
    ("関係者各位様", "addressing", "各位様"),
    ("田中部長様にお渡しください。", "addressing", "部長様"),
    ("部長、ご苦労様です。", "addressing", "ご苦労様"),
    ("課長、了解しました。", "addressing", "了解しました"),
]

# The traps of reference/keigo.md: not errors.
TRAPS = [
    "どうぞお召し上がりになってください。",
    "先生がお見えになりました。",
    "明日そちらにお伺いします。",
    "後ほどお伺いいたします。",
    "改めてお伺い申し上げます。",
    "先生は本をお読みになっていらっしゃる。",
    "駅までご案内して差し上げてください。",
    "印鑑をご持参ください。",
    "ご希望の方はお申し出ください。",
    "明日までにご用意できます。",
    "会場までご案内できます。",
    "来月から社長になります。",
    "この漢字は書けますか。",
    "明日は早く帰れます。",
    "この本なら読めます。",
    "休みが取れました。",
    "試食として食べさせていただきました。",
    "その件は私から説明させていただきます。",
    "朝日が見られます。",
    "明日は来られますか。",
    "辛い物も食べられます。",
    "研修では新人に機械を動かさせています。",
    "株式会社山田商事御中",
    "山田様",
    "部長の田中が参ります。",
    "お疲れ様です。",
    "承知しました。",
    "弊社の田中が御社に伺います。",
    "貴社ますますご清栄のこととお慶び申し上げます。",
    "部長はいらっしゃいますか。",
    "先日はごちそうしていただき、ありがとうございました。",
    "部長、明日の会議には私が代わりに出席いたしましょうか。",
    "当社のウェブサイトでもご覧になれます。",
    "新鮮な野菜が採れた。",
]


@pytest.mark.parametrize(("text", "etype", "span"), ERRORS)
def test_reference_errors_are_caught(text: str, etype: str, span: str) -> None:
    errs = analyze_sentence(text).errors
    assert [(e.type, e.span) for e in errs] == [(etype, span)]
    assert errs[0].message and errs[0].suggestion


@pytest.mark.parametrize("text", TRAPS)
def test_traps_are_not_flagged(text: str) -> None:
    assert analyze_sentence(text).errors == []


def test_forms_and_politeness() -> None:
    a = analyze_sentence("先生がおっしゃったことを拝見し、明日お伺いいたします。")
    assert a.polite and a.sonkeigo == ["おっしゃる"]
    assert "拝見する" in a.kenjougo and "お伺いいたす" in a.kenjougo and a.teineigo == ["ます"]
    plain = analyze_sentence("明日行く。")
    assert not plain.polite and not plain.teineigo
    assert analyze_sentence("こちらでございます。").polite
    assert analyze_sentence("少々お待ちください。").polite
    assert analyze_sentence("部長はおりますか。").kenjougo == ["おる"]


def test_suggestions_correct_the_span() -> None:
    fix = {e.type: e.suggestion for e in analyze_sentence("部長がおっしゃられました。").errors}
    assert fix["double_keigo"] == "おっしゃいました"
    assert analyze_sentence("この映画はもう見れますか。").errors[0].suggestion == "見られ"
    assert analyze_sentence("資料を読まさせていただきます。").errors[0].suggestion == "読ませ"


@pytest.mark.parametrize(
    ("name", "precision", "recall"),
    [("keigo_dev.jsonl", 0.95, 0.95), ("keigo_heldout_v1.jsonl", 0.9, 0.8), ("keigo_heldout_v2.jsonl", 0.95, 0.85)],
)
def test_labeled_sets(name: str, precision: float, recall: float) -> None:
    """Regression floors on the labeled sets (the measured values are in scorers/README.md)."""
    rows = load(DATA / name)
    assert len(rows) >= 100
    rep = evaluate(rows)
    assert rep.overall.precision >= precision and rep.overall.recall >= recall, rep.table()
    for t in ERROR_TYPES:
        assert rep.by_type[t].tp + rep.by_type[t].fn >= 10, t  # every type is represented


def test_labeled_set_format() -> None:
    for name in ("keigo_dev.jsonl", "keigo_heldout_v1.jsonl", "keigo_heldout_v2.jsonl"):
        rows = load(DATA / name)
        assert len({r["id"] for r in rows}) == len(rows)
        for r in rows:
            for e in r["errors"]:
                assert e["type"] in ERROR_TYPES and r["text"].count(e["span"]) == 1, r["id"]


def test_kentei_keigo_json_contract() -> None:
    res = run_cli("keigo", "部長がおっしゃられました。明日は来れますか。", "--json")
    assert res.returncode == 0, res.stderr
    objs = [json.loads(line) for line in res.stdout.splitlines()]
    assert [o["text"] for o in objs] == ["部長がおっしゃられました。", "明日は来れますか。"]
    for o in objs:
        assert set(o) >= {"text", "polite", "sonkeigo", "kenjougo", "teineigo", "errors"}
        for e in o["errors"]:
            assert set(e) >= {"type", "span", "message", "suggestion"} and e["type"] in ERROR_TYPES
    assert objs[0]["errors"][0]["type"] == "double_keigo" and objs[1]["errors"][0]["type"] == "ra_nuki"


def test_kentei_keigo_reads_stdin_one_sentence_a_line() -> None:
    import subprocess
    import sys

    from .conftest import ROOT

    res = subprocess.run(
        [sys.executable, "-m", "kentei", "keigo", "--json"],
        input="見れます\n\nお伺いします\n",
        capture_output=True,
        text=True,
        cwd=ROOT,
    )
    objs = [json.loads(line) for line in res.stdout.splitlines()]
    assert [o["text"] for o in objs] == ["見れます", "お伺いします"]
    assert [len(o["errors"]) for o in objs] == [1, 0]
    human = run_cli("keigo", "こちらコーヒーになります。")
    assert human.returncode == 0 and "baito_keigo" in human.stdout


def test_rewrite_metric_ranks_correct_above_plain_double_and_dropped() -> None:
    item = {
        "input": "明日御社に行って、新しい見積もりを説明する",
        "target_register": "取引先",
        "references": ["明日、御社に伺い、新しいお見積もりについてご説明いたします。"],
    }
    outputs = {
        "correct": "明日、御社に伺い、新しいお見積もりについてご説明いたします。",
        "plain": "明日、御社に行って、新しい見積もりについて説明する。",
        "double": "明日、御社に伺い、新しいお見積もりについてご説明いたします。ご覧になられてください。",
        "dropped": "明日、御社に伺います。",
    }
    score = get_scorer("keigo_score")
    s = {k: score(Sample(item, {"text": v})) for k, v in outputs.items()}
    assert s["correct"] == pytest.approx(1.0)
    assert s["correct"] > s["double"] > s["plain"]
    assert s["correct"] > s["dropped"]
    assert get_scorer("keigo_error_free")(Sample(item, {"text": outputs["double"]})) == 0.5
    assert get_scorer("keigo_register")(Sample(item, {"text": outputs["plain"]})) == 0.0
    assert get_scorer("keigo_content")(Sample(item, {"text": outputs["dropped"]})) < 0.5
    assert score(Sample(item, {"text": ""})) == 0.0
