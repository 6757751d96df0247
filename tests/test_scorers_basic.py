"""The scorers the skeleton needs: registry, normalization, exact match, MC metrics, extraction."""

from __future__ import annotations

import pytest

from scorers import REGISTRY, Sample, get_scorer
from scorers.extract import extract_choice
from scorers.normalize import normalize

CHOICES = ["大阪", "東京", "京都", "3分"]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2", 1),
        ("２", 1),
        ("②", 1),
        ("2番", 1),
        ("(3)", 2),
        ("答え：4", 3),
        ("二", 1),
        ("東京", 1),
        ("東京です。", 1),
        ("答えは3です", 2),
        ("<think>1かな</think>2", 1),
        ("3分", 3),
        ("12", None),
        ("2023年", None),
        ("わかりません", None),
        ("", None),
        ("大阪か東京", None),
    ],
)
def test_extract_choice(text: str, expected: int | None) -> None:
    assert extract_choice(text, CHOICES)[0] == expected


@pytest.mark.parametrize(
    ("raw", "norm"),
    [
        ("「東京」。", "東京"),
        ("答え：１８６８年", "1868年"),
        ("<think>考え中</think> 京都 ", "京都"),
        ("〜ヶ月", "~ケ月"),
        ("『ぶどまり』", "ぶどまり"),
        ("回答: ｶﾀｶﾅ", "カタカナ"),
    ],
)
def test_normalize(raw: str, norm: str) -> None:
    assert normalize(raw) == norm


def test_exact_match_and_char_f1() -> None:
    item = {"references": ["ぶどまり"], "aliases": ["ブドマリ"]}
    em = get_scorer("exact_match")
    assert em(Sample(item, {"text": "「ぶどまり」。\n説明：…"})) == 1.0
    assert em(Sample(item, {"text": "ブドマリ"})) == 1.0
    assert em(Sample(item, {"text": "ほどまり"})) == 0.0
    f1 = get_scorer("char_f1")(Sample({"references": ["東京都"]}, {"text": "東京"}))
    assert f1 == pytest.approx(2 * 1.0 * (2 / 3) / (1 + 2 / 3))


def test_mc_metrics_from_logprobs() -> None:
    item = {"choices": ["あ", "いいいい"], "answer": 1}
    resp = {"logprobs": [-2.0, -4.0]}  # raw: あ wins; per character: -2 vs -1 → いいいい wins
    assert get_scorer("acc")(Sample(item, resp)) == 0.0
    assert get_scorer("acc_norm")(Sample(item, resp)) == 1.0
    assert get_scorer("extraction_failed")(Sample(item, resp)) is None
    gen = {"text": "さあ"}
    assert get_scorer("acc")(Sample(item, gen)) == 0.0
    assert get_scorer("extraction_failed")(Sample(item, gen)) == 1.0
    assert get_scorer("acc_norm")(Sample(item, gen)) is None


def test_registry_documents_every_metric() -> None:
    assert {"acc", "acc_norm", "exact_match", "char_f1", "extraction_failed"} <= set(REGISTRY)
    assert all(s.doc for s in REGISTRY.values())
    with pytest.raises(KeyError, match="unknown metric"):
        get_scorer("nope")
