"""The scoring library: table-driven cases per metric, agreement with sacrebleu and rouge_score,
and property tests (no scorer raises; every score stays in its documented range)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from scorers import REGISTRY, Sample, get_scorer
from scorers.keigo import analyze_sentence, analyze_text
from scorers.morph import analyze, lemmas, tagger
from scorers.text import answer_text, morphemes, rouge_l_tokens

CASES = json.loads((Path(__file__).parent / "data" / "scorer_cases.json").read_text(encoding="utf-8"))
TABLE = [(metric, c) for metric, cases in CASES.items() for c in cases]


def sample(case: dict[str, Any]) -> Sample:
    item = {"references": case["refs"], "aliases": case.get("aliases", []), "terms": case.get("terms", [])}
    if "tolerance" in case:
        item["tolerance"] = case["tolerance"]
    return Sample(item, {"text": case["out"]})


@pytest.mark.parametrize(("metric", "case"), TABLE, ids=[f"{m}:{c['out'][:12]}" for m, c in TABLE])
def test_metric_table(metric: str, case: dict[str, Any]) -> None:
    got = get_scorer(metric)(sample(case))
    if case["score"] is None:
        assert got is None
    else:
        assert got == pytest.approx(case["score"], abs=1e-3)


def test_qa_match_dispatches_on_answer_type() -> None:
    qa = get_scorer("qa_match")
    num = {"references": ["28.7秒"], "answer_type": "numeric", "tolerance": 0.05}
    assert qa(Sample(num, {"text": "約28.7秒です"})) == 1.0 and qa(Sample(num, {"text": "29秒"})) == 0.0
    term = {"references": ["特性要因図"], "aliases": ["フィッシュボーン図"], "answer_type": "term"}
    assert qa(Sample(term, {"text": "フィッシュボーン図"})) == 1.0 and qa(Sample(term, {"text": "パレート図"})) == 0.0


def test_every_metric_is_documented_and_covered() -> None:
    for name, sc in REGISTRY.items():
        assert len(sc.doc) > 40, name
    covered = (
        set(CASES)
        | {"bleu", "acc", "acc_norm", "extraction_failed", "qa_match"}
        | {n for n in REGISTRY if n.startswith("keigo_")}
    )
    assert set(REGISTRY) <= covered


def test_tagger_is_unidic_lite_and_guards_missing_lemmas() -> None:
    import unidic_lite

    assert tagger().dictionary_info[0]["filename"].startswith(str(unidic_lite.DICDIR))
    ms = analyze("ＡＢＣ１２３とジグと私")
    assert [m.lemma for m in ms][:2] == ["ＡＢＣ", "１２３"]  # lemma None -> surface
    assert "ジグ" in [m.lemma for m in ms] and "私" in [m.lemma for m in ms]  # ジグ-jig, 私-代名詞 stripped
    assert all(m.start >= 0 for m in ms) and ms[-1].start == len("ＡＢＣ１２３とジグと")
    assert lemmas("") == [] and analyze("。、") and lemmas("。、") == []


def test_tagger_refuses_another_dictionary(monkeypatch: pytest.MonkeyPatch) -> None:
    """If fugashi ends up loading another dictionary (IPADIC, full UniDic), creation fails loudly."""
    import fugashi

    import scorers.morph as morph

    real = fugashi.Tagger

    class Elsewhere:
        def __init__(self, arg: str) -> None:
            self.inner = real(arg)
            self.dictionary_info = [{"filename": "/usr/lib/x86_64-linux-gnu/mecab/dic/ipadic/sys.dic"}]

    monkeypatch.setattr(morph, "_tagger", None)
    monkeypatch.setattr(fugashi, "Tagger", Elsewhere)
    with pytest.raises(morph.DictionaryError, match="not unidic-lite"):
        morph.tagger()
    monkeypatch.setattr(morph, "_tagger", None)


def test_bleu_equals_sacrebleu_on_the_same_tokens() -> None:
    from sacrebleu.metrics import BLEU

    items = [
        (
            {"references": ["明日の会議は午後三時から始まります。", "会議は明日の十五時開始です。"]},
            "明日の会議は午後三時に始まります。",
        ),
        ({"references": ["不良品の原因を調査しております。"]}, "不良の原因を調べています。"),
        ({"references": ["資料を拝見しました。"]}, "資料を拝見いたしました。"),
    ]
    samples = [Sample(i, {"text": o}) for i, o in items]
    sc = get_scorer("bleu")
    hyps = [" ".join(morphemes(o)) for _, o in items]
    refs = [[" ".join(morphemes(r)) for r in i["references"]] for i, _ in items]
    streams = [[r[k] if k < len(r) else None for r in refs] for k in range(2)]
    expected = BLEU(tokenize="none").corpus_score(hyps, streams).score
    assert sc.corpus_score(samples) == pytest.approx(expected)
    assert sc.corpus_resampler(samples)([0, 1, 2]) == pytest.approx(expected)
    assert "tok:none+fugashi-unidic-lite" in (sc.signature or "")
    assert 0 <= sc(samples[0]) <= 100


def test_rouge_l_equals_rouge_score_with_the_same_tokens() -> None:
    from rouge_score import rouge_scorer

    class Tok:
        def tokenize(self, text: str) -> list[str]:
            return morphemes(text)

    rs = rouge_scorer.RougeScorer(["rougeL"], tokenizer=Tok())
    pairs = [
        ("明日の会議は中止です", "会議は明日中止です"),
        ("不良品の原因を調査しております", "不良の原因を調べる"),
        ("工場の朝礼は八時から", "八時から工場で朝礼"),
        ("同じ文です", "同じ文です"),
    ]
    for ref, out in pairs:
        expected = rs.score(ref, out)["rougeL"].fmeasure
        assert get_scorer("rouge_l")(Sample({"references": [ref]}, {"text": out})) == pytest.approx(expected)
        assert rouge_l_tokens(morphemes(out), morphemes(ref)) == pytest.approx(expected)


def test_answer_text_takes_the_first_line_after_think() -> None:
    assert answer_text("<think>\n考え中\n</think>\n\n東京\n理由は…") == "東京"
    assert answer_text("<think>終わらない思考") == ""


def test_corpus_metric_in_a_run_gets_bootstrap_ci() -> None:
    from kentei.scoring import aggregate

    recs = [
        {
            "id": str(i),
            "category": "c",
            "item": {"references": ["明日は晴れです"]},
            "response": {"text": t},
            "scores": {"bleu": 0.0},
        }
        for i, t in enumerate(["明日は晴れです", "明日は雨です", "今日は晴れ", "明日は晴れます"])
    ]
    overall, cats = aggregate(recs, [{"name": "bleu", "args": {}}])
    m = overall["bleu"]
    assert m.method == "corpus" and m.signature and m.ci95 is not None
    assert m.ci95[0] <= m.value <= m.ci95[1] and m.stderr and m.stderr > 0
    assert cats["c"]["metrics"]["bleu"]["value"] == pytest.approx(m.value)


# ---------------------------------------------------------------- properties
TEXT = st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=60) | st.sampled_from(
    ["", "。", "<think>", "<think>x</think>", "\x00", "１２３", "お", "ご", "様", "御中様", "〜ヶ", "ーー", "𠮷"]
)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(out=TEXT, ref=TEXT, alias=TEXT)
def test_no_scorer_raises_and_scores_stay_in_range(out: str, ref: str, alias: str) -> None:
    item = {
        "references": [ref or "x"],
        "aliases": [alias],
        "terms": [alias] if alias.strip() else [],
        "choices": [ref or "a", alias + "b"],
        "answer": 1,
    }
    s = Sample(item, {"text": out})
    for name, sc in REGISTRY.items():
        v = sc(s)
        if v is not None:
            lo, hi = sc.range
            assert lo <= v <= hi, (name, v)
        if sc.corpus is not None:
            assert sc.range[0] <= sc.corpus_score([s, s]) <= sc.range[1]
    assert 0 <= get_scorer("acc")(Sample(item, {"logprobs": [-1.0, -2.0]})) <= 1


@settings(max_examples=200, deadline=None)
@given(text=TEXT)
def test_keigo_analyzer_never_raises(text: str) -> None:
    a = analyze_sentence(text)
    assert isinstance(a.polite, bool)
    for e in a.errors:
        assert e.span == text[e.start : e.end] and e.span and e.suggestion
    analyze_text(text)
    json.dumps(a.to_json(), ensure_ascii=False)
