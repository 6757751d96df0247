"""Metrics for generation tasks: surface, morpheme and lemma overlap, readings, terms, numbers.

Every metric scores the answer part of the output: the first non-empty line after <think>
blocks are removed (`answer_text`), normalized with `normalize` unless stated otherwise, and takes
the best value over the item's references (+ aliases where stated).
"""

from __future__ import annotations

import math
import re
import unicodedata
from collections import Counter
from collections.abc import Callable
from typing import Any

from scorers.morph import lemmas, surfaces
from scorers.normalize import normalize, strip_think
from scorers.numbers import convert, parse_quantities
from scorers.registry import Sample, register


def answer_text(text: str) -> str:
    """The first non-empty line of the output with <think> blocks removed."""
    for line in strip_think(text).splitlines():
        if line.strip():
            return line
    return ""


def _pred(sample: Sample) -> str:
    return answer_text(sample.response.get("text", "") or "")


def _refs(item: dict[str, Any], aliases: bool = True) -> list[str]:
    out = list(item.get("references") or [])
    if aliases:
        out += list(item.get("aliases") or [])
    return [r for r in out if isinstance(r, str)]


def _f1(pred: list[str], gold: list[str]) -> float:
    if not pred and not gold:
        return 1.0
    common = sum((Counter(pred) & Counter(gold)).values())
    if not common:
        return 0.0
    p, r = common / len(pred), common / len(gold)
    return 2 * p * r / (p + r)


@register("exact_match")
def exact_match(sample: Sample) -> float:
    """1.0 when the normalized answer equals a normalized reference or alias, else 0.0."""
    pred = normalize(_pred(sample))
    return float(any(pred == normalize(g) for g in _refs(sample.item)))


@register("char_f1")
def char_f1(sample: Sample) -> float:
    """SQuAD-style F1 over the multiset of characters of the normalized answer and reference
    (whitespace removed), max over references and aliases. Not an edit-distance ratio."""
    pred = list(normalize(_pred(sample)))
    return max((_f1(pred, list(normalize(g))) for g in _refs(sample.item)), default=0.0)


@register("lemma_f1")
def lemma_f1(sample: Sample) -> float:
    """F1 over the multiset of fugashi/unidic-lite lemmas (suffixes stripped, punctuation dropped)
    of the normalized answer and reference, max over references and aliases. Lemmas unify
    okurigana and spelling variants (取り扱い/取扱い, 下さい/ください)."""
    pred = lemmas(normalize(_pred(sample)))
    return max((_f1(pred, lemmas(normalize(g))) for g in _refs(sample.item)), default=0.0)


def _lcs(a: list[str], b: list[str]) -> int:
    if not a or not b:
        return 0
    prev = [0] * (len(b) + 1)
    for x in a:
        cur = [0]
        for j, y in enumerate(b):
            cur.append(prev[j] + 1 if x == y else max(prev[j + 1], cur[j]))
        prev = cur
    return prev[-1]


def rouge_l_tokens(pred: list[str], gold: list[str]) -> float:
    lcs = _lcs(pred, gold)
    if not lcs:
        return 0.0
    p, r = lcs / len(pred), lcs / len(gold)
    return 2 * p * r / (p + r)


def morphemes(text: str) -> list[str]:
    """The token sequence ROUGE and BLEU use: fugashi surfaces of NFKC text, punctuation kept out."""
    return surfaces(unicodedata.normalize("NFKC", strip_think(text)))


@register("rouge_l")
def rouge_l(sample: Sample) -> float:
    """ROUGE-L F-measure (beta = 1): longest common subsequence of fugashi morphemes (surfaces,
    NFKC, punctuation dropped) of the whole output and a reference, max over references."""
    pred = morphemes(sample.response.get("text", "") or "")
    return max((rouge_l_tokens(pred, morphemes(g)) for g in _refs(sample.item, aliases=False)), default=0.0)


BLEU_TOKENIZER = "fugashi-unidic-lite"


def _bleu_inputs(samples: list[Sample]) -> tuple[list[str], list[list[str | None]]]:
    hyps = [" ".join(morphemes(s.response.get("text", "") or "")) for s in samples]
    refs = [[" ".join(morphemes(r)) for r in _refs(s.item, aliases=False)] for s in samples]
    k = max((len(r) for r in refs), default=1)
    streams: list[list[str | None]] = [[r[i] if i < len(r) else None for r in refs] for i in range(k)]
    return hyps, streams


def _clamp(score: float) -> float:
    """sacrebleu's exp(log(...)) can land a hair above 100 on a perfect match."""
    return float(min(100.0, max(0.0, score)))


def bleu_signature() -> str:
    import sacrebleu

    return f"nrefs:var|case:mixed|eff:no|tok:none+{BLEU_TOKENIZER}|smooth:exp|version:{sacrebleu.__version__}"


def corpus_bleu(samples: list[Sample]) -> float:
    """Corpus BLEU (0-100) over fugashi-tokenized text, sacrebleu with tokenize="none"."""
    from sacrebleu.metrics import BLEU

    if not samples:
        return 0.0
    hyps, streams = _bleu_inputs(samples)
    return _clamp(BLEU(tokenize="none").corpus_score(hyps, streams).score)


def bleu_resampler(samples: list[Sample]) -> Callable[[list[int]], float]:
    """Corpus BLEU of any resample of `samples`, from per-item sufficient statistics computed once
    (a bootstrap then sums n-gram counts instead of re-tokenizing)."""
    from sacrebleu.metrics import BLEU

    metric = BLEU(tokenize="none")
    hyps, streams = _bleu_inputs(samples)
    stats = metric._extract_corpus_statistics(hyps, streams)

    def score(idx: list[int]) -> float:
        total = [sum(col) for col in zip(*(stats[i] for i in idx), strict=True)]
        return _clamp(metric._compute_score_from_stats(total).score)

    return score


@register(
    "bleu",
    corpus=corpus_bleu,
    resampler=bleu_resampler,
    signature=bleu_signature,
    range=(0.0, 100.0),
)
def bleu(sample: Sample) -> float:
    """BLEU (0-100) on fugashi/unidic-lite morphemes joined by spaces, sacrebleu tokenize="none".
    The task value is corpus BLEU over all items; this per-item value is sentence BLEU (exp smoothing)
    for drill-down only."""
    from sacrebleu.metrics import BLEU

    hyp = " ".join(morphemes(sample.response.get("text", "") or ""))
    refs = [" ".join(morphemes(r)) for r in _refs(sample.item, aliases=False)]
    if not refs:
        return 0.0
    return _clamp(BLEU(tokenize="none", effective_order=True).sentence_score(hyp, refs).score)


_KATA = {chr(c): chr(c - 0x60) for c in range(0x30A1, 0x30F7)}
_VOWEL_ROWS = {
    "あ": "あかさたなはまやらわがざだばぱぁゃ",
    "い": "いきしちにひみりぎじぢびぴぃ",
    "う": "うくすつぬふむゆるぐずづぶぷぅゅっ",
    "え": "えけせてねへめれげぜでべぺぇ",
    "お": "おこそとのほもよろをごぞどぼぽぉょ",
}
_VOWEL = {ch: v for v, chars in _VOWEL_ROWS.items() for ch in chars}


def fold_reading(text: str) -> str:
    """Kana reading in a canonical form: NFKC, katakana -> hiragana, the long-vowel mark ー replaced
    by the vowel it lengthens, お-row + う and え-row + い read as long vowels (こうてい = コーテー),
    and spaces, ・ and punctuation dropped. Idempotent: fold_reading(fold_reading(x)) == fold_reading(x)."""
    s = _fold_once(text)
    # NFKC turns a spacing mark into a space + combining mark (゛ -> " \u3099"); once the space is
    # dropped the mark composes with the kana before it on the next pass (か゛ -> が): repeat to a fixed point.
    while (t := _fold_once(s)) != s:
        s = t
    return s


def _fold_once(text: str) -> str:
    s = unicodedata.normalize("NFKC", text)
    s = "".join(_KATA.get(ch, ch) for ch in s)
    out: list[str] = []
    for ch in s:
        if ch in "ー〜~":
            if out and out[-1] in _VOWEL:
                out.append(_VOWEL[out[-1]])
            continue
        if ch.isspace() or ch in "・、。,.「」『』()（）:：":
            continue
        if out and ((ch == "う" and _VOWEL.get(out[-1]) == "お") or (ch == "い" and _VOWEL.get(out[-1]) == "え")):
            ch = _VOWEL[out[-1]]
        out.append(ch)
    return "".join(out)


_KANA_RUN = re.compile(r"[\u3041-\u3096\u30a1-\u30faー]+")


@register("reading_match")
def reading_match(sample: Sample) -> float:
    """1.0 when the answer's reading equals a reference reading after `fold_reading` (hiragana and
    katakana folded, ー expanded to its vowel). The whole answer, the part in brackets or quotes,
    or any single kana run of it may match (ぶどまり, ブドマリ, 「ぶどまり」, 歩留まり（ぶどまり）)."""
    pred = normalize(_pred(sample))
    cands = {fold_reading(pred)}
    cands |= {fold_reading(m) for m in re.findall(r"[（(「『\"]([^）)」』\"]+)[）)」』\"]", _pred(sample))}
    cands |= {fold_reading(m) for m in _KANA_RUN.findall(pred)}
    golds = {fold_reading(g) for g in _refs(sample.item)}
    return float(bool(cands & golds - {""}))


def _joined_lemmas(text: str) -> str:
    return "".join(lemmas(normalize(text)))


@register("term_recall")
def term_recall(sample: Sample) -> float | None:
    """Fraction of the item's required `terms` found in the whole output: on the normalized surface,
    or as a contiguous run of the output's lemmas equal to the term's joined lemmas (so 取扱い
    finds 取り扱い). None when the item lists no terms."""
    terms = [t for t in sample.item.get("terms") or [] if isinstance(t, str) and t.strip()]
    if not terms:
        return None
    text = strip_think(sample.response.get("text", "") or "")
    surface = normalize(text)
    out_lemmas = _joined_lemmas(text)
    found = sum(1 for t in terms if normalize(t) in surface or (_joined_lemmas(t) and _joined_lemmas(t) in out_lemmas))
    return found / len(terms)


@register("numeric_match")
def numeric_match(sample: Sample, tolerance: float | None = None) -> float:
    """1.0 when the first number in the answer equals a reference number within tolerance.
    Numbers may be full-width, kanji (三百二十五, 1万2千) or use thousands separators; a unit
    written after the number (%, 秒/分/時間, mm/cm/m, g/kg, ...) is converted to the reference's
    unit, a different dimension never matches, and a missing unit takes the reference's.
    Tolerance (absolute, in the reference's unit): the item's `tolerance`, else the metric's
    argument, else half a unit in the reference's last written decimal place (85.5 -> ±0.05)."""
    preds = parse_quantities(normalize(_pred(sample)))
    if not preds:
        return 0.0
    pred = preds[0]
    tol_item = sample.item.get("tolerance")
    for ref_text in _refs(sample.item):
        refs = parse_quantities(ref_text)
        if not refs:
            continue
        ref = refs[0]
        value = convert(pred, ref.unit)
        if value is None:
            continue
        tol = tol_item if isinstance(tol_item, (int, float)) else tolerance
        if tol is None:
            tol = 0.5 * 10 ** (-ref.decimals)
        # Both finite: a number past float range reads as inf, and inf - x <= tol + 1e-9 * inf holds.
        if (
            math.isfinite(value)
            and math.isfinite(ref.value)
            and abs(value - ref.value) <= tol + 1e-9 * max(1.0, abs(ref.value))
        ):
            return 1.0
    return 0.0


@register("qa_match")
def qa_match(sample: Sample) -> float:
    """Short-answer QA with mixed items: numeric_match (units, tolerance) for items whose answer_type is
    "numeric", else exact_match against references and aliases."""
    if sample.item.get("answer_type") == "numeric":
        return numeric_match(sample)
    return exact_match(sample)
