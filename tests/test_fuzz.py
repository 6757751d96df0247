"""Fuzzing (hypothesis): every registered scorer, answer extraction, normalization, the keigo
analyzer, and loading of corrupted task folders and run records.

The contract under test: odd model output never crashes scoring and never leaves a metric's
declared range; a corrupted file never produces a traceback, only a KenteiError that names the
file (and line). Examples marked "regression" are inputs that crashed before the fix beside them.
"""

from __future__ import annotations

import inspect
import json
import math
import os
import re
import tempfile
from dataclasses import dataclass
from decimal import Decimal
from functools import cache
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from kentei.errors import KenteiError
from scorers import REGISTRY, Sample
from scorers.extract import extract_choice
from scorers.keigo import ERROR_TYPES, KeigoAnalysis, analyze_sentence, analyze_text
from scorers.normalize import normalize, strip_think
from scorers.numbers import UNITS, numeral_value, parse_quantities
from scorers.text import answer_text, fold_reading

from .conftest import TASKS, make_task

# KENTEI_FUZZ_SCALE=20 multiplies every example budget for a deeper (minutes-long) fuzzing session.
SCALE = max(1, int(os.environ.get("KENTEI_FUZZ_SCALE", "1")))


def budget(n: int) -> settings:
    # No example database: the regressions that matter are pinned with @example.
    return settings(max_examples=n * SCALE, deadline=None, database=None, suppress_health_check=[HealthCheck.too_slow])


FUZZ = budget(40)
QUICK = budget(150)

# ------------------------------------------------------------------ text strategies
ANY_CHAR = st.characters(blacklist_categories=("Cs",))  # any code point that can live in a str
JA_CHAR = st.one_of(
    st.characters(min_codepoint=0x3041, max_codepoint=0x30FF),  # kana, ー, ・
    st.characters(min_codepoint=0x4E00, max_codepoint=0x9FFF),  # CJK ideographs
    st.characters(min_codepoint=0xFF10, max_codepoint=0xFF5A),  # full-width digits and letters
    st.characters(min_codepoint=0x20, max_codepoint=0x7E),  # printable ASCII
)
SNIPPETS = [
    "",
    " ",
    "\u3000",
    "\t\n",
    "\r\n",
    "\x00",
    "\x1b[0m",
    "\x85",
    "\u2028",
    "\ufeff",
    "\u200b",
    "\u3099",
    "１２３",
    "①",
    "⑳",
    "😀",
    "👨‍👩‍👧",
    "𠮷",
    "<think>",
    "</think>",
    "<think>考え中</think>",
    "答え：",
    "answer: ",
    "「",
    "」",
    "（",
    "）",
    "〜",
    "ヶ",
    "ー",
    "二",
    "六番",
    "三百二十五",
    "1万2千",
    "12,345",
    "3.5",
    "0.0000000001",
    "9" * 400,
    "兆兆兆",
    "−7",
    "%",
    "km",
    "時間",
    "人時",
    "。",
    "、",
    "！",
    "？",
]
# Keigo fragments (correct forms, common errors and traps) so the analyzer's rules actually fire.
KEIGO = [
    "おっしゃる",
    "おっしゃられる",
    "申し上げる",
    "申される",
    "させていただく",
    "させていただきます",
    "ございます",
    "られる",
    "おられる",
    "拝見",
    "拝見させていただきました",
    "いらっしゃる",
    "召し上がる",
    "お召し上がりになる",
    "伺う",
    "お伺いする",
    "参る",
    "参られる",
    "致します",
    "お越しになられる",
    "ご覧になられる",
    "お待ちください",
    "ご利用できます",
    "見れる",
    "来れる",
    "書かさせて",
    "休まさせて",
    "了解しました",
    "ご苦労様です",
    "部長様",
    "御中様",
    "各位殿",
    "弊社の社長がおっしゃいました",
    "よろしかったでしょうか",
    "こちらコーヒーになります",
    "千円からお預かりします",
    "資料のほう",
    "です",
    "ます",
    "でした",
    "だ",
    "よ",
    "ね",
    "お",
    "ご",
    "様",
    "先生",
    "部長、",
    "山田様",
    "は",
    "が",
    "を",
    "に",
    "で",
    "。",
    "、",
    "！",
    "？",
    "\n",
]
MIXED = st.lists(
    st.one_of(
        st.text(JA_CHAR, max_size=8),
        st.text(ANY_CHAR, max_size=6),
        st.sampled_from(SNIPPETS),
        st.sampled_from(KEIGO),
    ),
    max_size=12,
).map("".join)
KEIGO_TEXT = st.lists(st.sampled_from(KEIGO) | st.text(JA_CHAR, max_size=3), min_size=1, max_size=25).map("".join)
# Long outputs (a runaway generation): a few thousand characters.
LONG = st.builds(lambda s, n: s * n, st.sampled_from(KEIGO[:20] + SNIPPETS[12:30]).filter(bool), st.integers(100, 400))
OUTPUT = st.one_of(MIXED, KEIGO_TEXT, st.text(ANY_CHAR, max_size=80), st.sampled_from(SNIPPETS), LONG)
NONBLANK = st.one_of(MIXED, KEIGO_TEXT, st.text(ANY_CHAR, min_size=1, max_size=20)).filter(lambda s: s.strip() != "")

# ------------------------------------------------------------------ items and responses
MC_ITEM = st.integers(2, 6).flatmap(
    lambda k: st.fixed_dictionaries(
        {
            "id": st.just("fz"),
            "question": NONBLANK,
            "choices": st.lists(NONBLANK | st.sampled_from(["3分", "1", "二", "①", "東京"]), min_size=k, max_size=k),
            "answer": st.integers(0, k - 1),
        }
    )
)
GEN_ITEM = st.fixed_dictionaries(
    {
        "id": st.just("fz"),
        "input": NONBLANK,
        "references": st.lists(NONBLANK | st.sampled_from(SNIPPETS[12:45]).filter(str.strip), min_size=1, max_size=3),
    },
    optional={
        "aliases": st.lists(OUTPUT, max_size=3),
        "terms": st.lists(OUTPUT, max_size=3),
        "tolerance": st.none() | st.integers(0, 10**6) | st.floats(0, 1e9),
        "answer_type": st.sampled_from(["numeric", "term", "reading", "text"]),
        "target_register": st.sampled_from(["顧客", "上司"]),
    },
)
FINITE = st.floats(-1e4, 0, allow_nan=False, allow_infinity=False)


def logprob_response(n: int) -> st.SearchStrategy[dict[str, Any]]:
    """A loglikelihood-mode response: one finite log-probability and token count per choice."""
    return st.fixed_dictionaries(
        {
            "logprobs": st.lists(FINITE, min_size=n, max_size=n),
            "n_tokens": st.lists(st.integers(1, 200), min_size=n, max_size=n),
        }
    )


# Scorer arguments a task's metric spec may pass (by parameter name of the scorer function).
ARG_STRATEGIES: dict[str, st.SearchStrategy[Any]] = {"tolerance": st.none() | st.floats(0, 1e6)}


@st.composite
def samples_for(draw: st.DrawFn, kinds: tuple[str, ...]) -> Sample:
    """A valid item of one of the scorer's kinds, with a random response of the right shape."""
    kind = draw(st.sampled_from(kinds))
    if kind == "multiple_choice":
        item = draw(MC_ITEM)
        resp = draw(st.one_of(logprob_response(len(item["choices"])), st.fixed_dictionaries({"text": OUTPUT})))
    else:
        item = draw(GEN_ITEM)
        resp = {"text": draw(OUTPUT)}
    return Sample(item, resp)


def _args_for(fn: Any) -> dict[str, st.SearchStrategy[Any]]:
    params = list(inspect.signature(fn).parameters.values())[1:]
    return {p.name: ARG_STRATEGIES[p.name] for p in params if p.name in ARG_STRATEGIES}


def _in_range(name: str, v: Any, lo: float, hi: float) -> None:
    assert isinstance(v, (int, float)), (name, v)
    assert math.isfinite(v), (name, v)
    assert lo <= v <= hi, (name, v, (lo, hi))


# ------------------------------------------------------------------ 1. every scorer
@pytest.mark.parametrize("name", sorted(REGISTRY))
@FUZZ
@given(data=st.data())
def test_scorer_returns_none_or_a_finite_value_in_its_range(name: str, data: st.DataObject) -> None:
    sc = REGISTRY[name]
    lo, hi = sc.range
    assert lo < hi and math.isfinite(lo) and math.isfinite(hi)
    args = data.draw(st.fixed_dictionaries(_args_for(sc.fn)), label="args")
    sample = data.draw(samples_for(sc.kinds), label="sample")
    v = sc(sample, **args)
    if v is not None:
        _in_range(name, v, lo, hi)
    if sc.corpus is not None:
        many = data.draw(st.lists(samples_for(sc.kinds), max_size=4), label="corpus")
        _in_range(name, sc.corpus_score(many, **args), lo, hi)
        if many:
            idx = data.draw(st.lists(st.integers(0, len(many) - 1), min_size=1, max_size=6), label="resample")
            _in_range(name, sc.corpus_resampler(many, **args)(idx), lo, hi)


@QUICK
@given(item=MC_ITEM, data=st.data())
def test_loglikelihood_acc_follows_a_strict_maximum(item: dict[str, Any], data: st.DataObject) -> None:
    """When the gold choice alone has the highest log-likelihood, acc is 1; when another choice
    alone has it, acc is 0 (whatever the choice texts and token counts)."""
    resp = data.draw(logprob_response(len(item["choices"])))
    lps = resp["logprobs"]
    top = max(lps)
    winners = [i for i, lp in enumerate(lps) if lp == top]
    got = REGISTRY["acc"](Sample(item, resp))
    if winners == [item["answer"]]:
        assert got == 1.0
    elif len(winners) == 1:
        assert got == 0.0
    assert REGISTRY["extraction_failed"](Sample(item, resp)) is None  # generate-mode only


# ------------------------------------------------------------------ 2. answer extraction
METHODS = {"number", "kanji_number", "choice_text", "number_in_text", "failed"}


@QUICK
@given(text=OUTPUT, item=MC_ITEM)
@example(text="\u3099", item={"choices": ["a", "b"]})
@example(text="<think>" + "1" * 50, item={"choices": ["a", "b"]})
def test_extract_choice_returns_a_valid_index_or_none(text: str, item: dict[str, Any]) -> None:
    idx, how = extract_choice(text, item["choices"])
    assert how in METHODS
    assert (idx is None) == (how == "failed")
    if idx is not None:
        assert isinstance(idx, int) and 0 <= idx < len(item["choices"])


KANA_WORD = st.text(st.characters(min_codepoint=0x3041, max_codepoint=0x3093), min_size=2, max_size=6)


@QUICK
@given(
    choices=st.lists(KANA_WORD, min_size=2, max_size=6, unique=True),
    data=st.data(),
    wrap=st.sampled_from(["{}", "{}。", "「{}」", "答え：{}", "<think>1かな</think>{}", " {} \n理由は…"]),
)
def test_extract_choice_reads_the_exact_text_of_a_choice(choices: list[str], data: st.DataObject, wrap: str) -> None:
    k = data.draw(st.integers(0, len(choices) - 1))
    assert extract_choice(wrap.format(choices[k]), choices) == (k, "choice_text")


@QUICK
@given(n=st.integers(2, 6), data=st.data(), fmt=st.sampled_from(["{}", "{}番", "({})", "答え：{}", "{}.", "選択肢{}"]))
def test_extract_choice_reads_a_number_in_any_width(n: int, data: st.DataObject, fmt: str) -> None:
    k = data.draw(st.integers(1, n))
    digit = data.draw(st.sampled_from([str(k), chr(0xFF10 + k), chr(0x2460 + k - 1)]))
    choices = [f"選択肢の本文{i}" for i in range(n)]
    assert extract_choice(fmt.format(digit), choices)[0] == k - 1
    assert extract_choice(str(n + 1), choices)[0] is None  # out of range is a failure, not a guess


@QUICK
@given(text=OUTPUT)
def test_answer_text_is_one_nonblank_line_of_the_output(text: str) -> None:
    got = answer_text(text)
    assert isinstance(got, str)
    assert len(got.splitlines()) <= 1
    assert got == "" or got.strip() != ""
    assert got in strip_think(text)


# ------------------------------------------------------------------ 3. normalization
@QUICK
@given(text=OUTPUT)
@example(text="答え：答え：東京")  # regression: one prefix per pass
@example(text="「東京」\t")  # regression: brackets exposed once whitespace is removed
@example(text="<th ink>x</think>")  # regression: a <think> tag joined by whitespace removal
@example(text="答 え:x")  # regression: a prefix joined by whitespace removal
def test_normalize_is_idempotent_and_whitespace_free(text: str) -> None:
    once = normalize(text)
    assert isinstance(once, str)
    assert not re.search(r"\s", once)
    assert normalize(once) == once


@QUICK
@given(text=OUTPUT | st.text(st.characters(min_codepoint=0x3041, max_codepoint=0x30FF), max_size=30))
@example(text="か \u3099")  # regression: a combining mark meets its base only after a space is dropped
def test_fold_reading_is_a_canonical_form(text: str) -> None:
    once = fold_reading(text)
    assert isinstance(once, str)
    assert fold_reading(once) == once
    assert not re.search(r"[\s\u30a1-\u30f6ー]", once)  # no spaces, no katakana, no long-vowel mark


@QUICK
@given(text=OUTPUT)
def test_strip_think_only_removes(text: str) -> None:
    out = strip_think(text)
    assert len(out) <= len(text)
    if "<think>" not in text:
        assert out == text


@QUICK
@given(text=OUTPUT)
def test_parse_quantities_never_raises(text: str) -> None:
    for q in parse_quantities(text):
        assert isinstance(q.value, float) and not math.isnan(q.value)
        assert q.decimals >= 0
        assert q.unit is None or q.unit in UNITS


@QUICK
@given(n=st.integers(0, 10**15), width=st.sampled_from(["half", "full"]), sep=st.booleans())
def test_numbers_read_back_in_any_width(n: int, width: str, sep: bool) -> None:
    s = f"{n:,}" if sep else str(n)
    if width == "full":
        s = s.translate({ord(c): 0xFF10 + int(c) for c in "0123456789"})
    assert numeral_value(str(n)) == Decimal(n)
    (q,) = parse_quantities(f"約{s}個です")
    assert q.value == float(n) and q.unit == "個"


@QUICK
@given(a=st.integers(-(10**6), 10**6) | st.integers(-(10**500), 10**500), b=st.integers(-(10**6), 10**6))
@example(a=10**400 - 1, b=5)  # regression: a reference beyond float range read as inf and matched anything
@example(a=5, b=10**400)
def test_numeric_match_on_integers(a: int, b: int) -> None:
    """An integer answer matches an integer reference when equal, and never when clearly different
    (beyond half a unit plus the 1e-9 relative slack float rounding needs)."""
    sc = REGISTRY["numeric_match"]
    got = sc(Sample({"references": [str(a)]}, {"text": f"{b}です"}))
    if a == b and abs(a) < 10**300:
        assert got == 1.0
    if abs(a - b) * 10**9 > 10**9 + 2 * max(1, abs(a)):
        assert got == 0.0, (a, b)


# ------------------------------------------------------------------ 4. the keigo analyzer
def _check_analysis(a: KeigoAnalysis) -> None:
    assert isinstance(a, KeigoAnalysis) and isinstance(a.polite, bool)
    for forms in (a.sonkeigo, a.kenjougo, a.teineigo):
        assert all(isinstance(f, str) and f for f in forms)
    for e in a.errors:
        assert e.type in ERROR_TYPES
        assert 0 <= e.start < e.end <= len(a.text)
        assert a.text[e.start : e.end] == e.span
        assert e.message and e.suggestion
    json.dumps(a.to_json(), ensure_ascii=False)


@QUICK
@given(text=KEIGO_TEXT | MIXED | LONG)
@example(text="部長がおっしゃられました。弊社の社長がおっしゃいました。来れますか")
def test_keigo_analyzer_spans_lie_within_the_text(text: str) -> None:
    _check_analysis(analyze_sentence(text))
    for a in analyze_text(text):
        _check_analysis(a)
        assert a.text and a.text in text


# ------------------------------------------------------------------ 5. corrupted task folders
@dataclass(frozen=True)
class Corruption:
    """One random damage to one file of a task folder; `at` picks a byte or line (modulo its length)."""

    op: str
    file: str
    at: int = 0
    data: Any = None


_YAML_KEY = re.compile(rb"^\s*(?:-\s*)?[A-Za-z_]+:")


def _lines(raw: bytes) -> list[bytes]:
    return raw.split(b"\n")


def apply(c: Corruption, d: Path) -> None:
    p = d / c.file
    if c.op in ("remove", "folder"):  # the file is gone, or a folder stands in its place
        p.unlink()
        if c.op == "folder":
            p.mkdir()
        return
    raw = p.read_bytes()
    lines = _lines(raw)
    i = c.at % len(lines)
    if c.op == "flip":
        b = bytearray(raw)
        if b:
            b[c.at % len(b)] ^= c.data
        raw = bytes(b)
    elif c.op == "truncate":
        raw = raw[: c.at % (len(raw) + 1)]
    elif c.op == "insert":
        k = c.at % (len(raw) + 1)
        raw = raw[:k] + c.data + raw[k:]
    elif c.op in ("dup_line", "del_line", "replace_line"):
        if c.op == "dup_line":
            lines.insert(i, lines[i])
        elif c.op == "del_line":
            del lines[i]
        else:
            lines[i] = c.data
        raw = b"\n".join(lines)
    elif c.op == "json_field":
        rows = [k for k, line in enumerate(lines) if line.strip()]
        k = rows[c.at % len(rows)]
        obj = json.loads(lines[k])
        key, value = c.data
        obj[key] = value
        lines[k] = json.dumps(obj, ensure_ascii=False).encode()
        raw = b"\n".join(lines)
    elif c.op == "yaml_value":
        keys = [k for k, line in enumerate(lines) if _YAML_KEY.match(line)]
        k = keys[c.at % len(keys)]
        head = lines[k].split(b":", 1)[0]
        lines[k] = head + b": " + c.data.encode()
        raw = b"\n".join(lines)
    else:  # pragma: no cover - a typo in a strategy
        raise AssertionError(c.op)
    p.write_bytes(raw)


def _base_files(name: str) -> tuple[str, dict[str, bytes]]:
    """(folder name, file contents) of a small valid task: a conftest fixture or a real task's head."""
    with tempfile.TemporaryDirectory() as tmp:
        if name in ("mc", "gen"):
            kind = "multiple_choice" if name == "mc" else "generation"
            d = make_task(Path(tmp), f"fuzz_{name}", kind=kind, n=6)
        else:
            d = TASKS / name
        test = b"".join((d / "test.jsonl").read_bytes().splitlines(keepends=True)[:6])
        return d.name, {
            "task.yaml": (d / "task.yaml").read_bytes(),
            "test.jsonl": test,
            "fewshot.jsonl": (d / "fewshot.jsonl").read_bytes(),
        }


BASES = ("mc", "gen", "keigo_rewrite", "business_etiquette", "monozukuri_qa")


@cache
def base(name: str) -> tuple[str, dict[str, bytes]]:
    return _base_files(name)


def _write_base(root: Path, name: str) -> Path:
    folder, files = base(name)
    d = root / folder
    d.mkdir()
    for fname, data in files.items():
        (d / fname).write_bytes(data)
    return d


def _check_loaded_task(d: Path) -> None:
    """What `kentei run` and `kentei tasks validate` do with a loaded task must not crash either."""
    from kentei.lint import Problem, lint_task
    from kentei.prompts import prompt_sha256
    from kentei.tasks import load_task

    task = load_task(d)
    assert task.test and task.name == d.name
    assert len(task.fewshot) >= task.spec.num_fewshot
    task.items_sha256()
    prompt_sha256(task.spec, [li.item for li in task.fewshot])
    json.dumps([m.model_dump(mode="json") for m in task.spec.metrics])  # stored in the run record
    problems = lint_task(d)
    assert all(isinstance(p, Problem) and p.severity in ("error", "warning") for p in problems)


def _check_error(e: KenteiError, d: Path, c: Corruption) -> None:
    assert e.message.strip()
    files = {str(d / f): f for f in ("task.yaml", "test.jsonl", "fewshot.jsonl")}
    assert e.path in files or e.path == str(d), e
    if c.file != "task.yaml":
        # The spec and the other items file are intact, so the error is about the damaged file.
        assert e.path == str(d / c.file), e
    if e.line is not None:
        assert e.path is not None and e.path in files
        assert 1 <= e.line <= len(_lines(Path(e.path).read_bytes())), e


FILES = st.sampled_from(["task.yaml", "test.jsonl", "fewshot.jsonl"])
JSONL = st.sampled_from(["test.jsonl", "fewshot.jsonl"])
POS = st.integers(0, 10**6)
JSON_VALUE = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.integers(-(10**40), 10**40)
    | st.floats()
    | st.text(ANY_CHAR, max_size=10)
    | st.sampled_from(["", " ", "\u2028", "{{ x }}", "{% if %}"]),
    lambda c: st.lists(c, max_size=3) | st.dictionaries(st.text(max_size=5), c, max_size=3),
    max_leaves=8,
)
FIELDS = st.sampled_from(
    [
        "id",
        "category",
        "question",
        "choices",
        "answer",
        "rationale",
        "input",
        "references",
        "aliases",
        "terms",
        "tags",
        "cluster",
        "answer_type",
        "tolerance",
    ]
) | st.text(max_size=6)
YAML_TEXT = st.text(st.sampled_from([*"abc09 -_:,.[]{}'\"!&*|>#%@`?~\\\t", "あ", "漢", "\u3000"]), max_size=20)
YAML_VALUE = YAML_TEXT | st.sampled_from(
    [
        "",
        "~",
        "null",
        "yes",
        "-1",
        "99999999999999999999999",
        "1e999",
        ".inf",
        ".nan",
        "[a, b]",
        "{a: 1}",
        "[{name: nope}]",
        "[{name: acc, args: &x {a: *x}}]",
        "&a [*a]",
        "2001-02-30",
        "2001-02-03 25:61:61",
        "!!int abc",
        "!!float x",
        "!!bool maybe",
        "!!timestamp x",
        "!!binary '@@'",
        "!!python/name:os.system",
        "0x_",
        "0o9",
        "[" * 3000,
        "'{{ broken'",
        "'{% if %}'",
        "'{{ question }}'",
        "'\\u2028'",
    ]
)
CORRUPTION = st.one_of(
    st.builds(Corruption, st.sampled_from(["remove", "folder"]), FILES),
    st.builds(Corruption, st.just("flip"), FILES, POS, st.integers(1, 255)),
    st.builds(Corruption, st.just("truncate"), FILES, POS),
    st.builds(
        Corruption,
        st.just("insert"),
        FILES,
        POS,
        st.binary(min_size=1, max_size=8) | st.sampled_from([b"\xff", b"\xe3\x81", b"\x00", b"\n", b"{", b"\r\n"]),
    ),
    st.builds(Corruption, st.just("dup_line"), FILES, POS),
    st.builds(Corruption, st.just("del_line"), FILES, POS),
    st.builds(
        Corruption,
        st.just("replace_line"),
        JSONL,
        POS,
        st.sampled_from([b"[]", b"null", b"1", b'"x"', b"{}", b"{", b"\xef\xbb\xbf{}", b"NaN"]),
    ),
    st.builds(Corruption, st.just("json_field"), JSONL, POS, st.tuples(FIELDS, JSON_VALUE)),
    st.builds(Corruption, st.just("yaml_value"), st.just("task.yaml"), POS, YAML_VALUE),
)


def test_base_tasks_load_and_corruptions_apply() -> None:
    """The fuzzed folders start valid, and each corruption changes the file it names."""
    from kentei.tasks import load_task

    for name in BASES:
        with tempfile.TemporaryDirectory() as tmp:
            d = _write_base(Path(tmp), name)
            _check_loaded_task(d)
            before = (d / "test.jsonl").read_bytes()
            apply(Corruption("json_field", "test.jsonl", 0, ("id", None)), d)
            assert (d / "test.jsonl").read_bytes() != before
            with pytest.raises(KenteiError) as exc:
                load_task(d)
            assert exc.value.path == str(d / "test.jsonl") and exc.value.line == 1


# Regressions: each crashed with a traceback before its fix: YAML values PyYAML cannot construct
# (ValueError, KeyError, AttributeError, RecursionError; kentei/tasks.py), a 5000-digit integer or
# arrays nested 100,000 deep in a JSON line (kentei/io.py), self-referencing metric args that broke
# writing the run record (kentei/spec.py), and a folder where a file should be (kentei/io.py).
@budget(200)
@given(base_name=st.sampled_from(BASES), c=CORRUPTION)
@example(base_name="mc", c=Corruption("yaml_value", "task.yaml", 1, "2001-02-30"))
@example(base_name="mc", c=Corruption("yaml_value", "task.yaml", 1, "!!int abc"))
@example(base_name="mc", c=Corruption("yaml_value", "task.yaml", 1, "!!bool maybe"))
@example(base_name="mc", c=Corruption("yaml_value", "task.yaml", 1, "!!timestamp x"))
@example(base_name="mc", c=Corruption("yaml_value", "task.yaml", 1, "0x_"))
@example(base_name="mc", c=Corruption("yaml_value", "task.yaml", 1, "[" * 3000))
@example(base_name="gen", c=Corruption("replace_line", "test.jsonl", 0, b'{"id": ' + b"1" * 5000 + b"}"))
@example(base_name="gen", c=Corruption("replace_line", "test.jsonl", 0, b"[" * 100_000))
@example(base_name="mc", c=Corruption("replace_line", "fewshot.jsonl", 1, b'{"a": ' + b"[" * 5000 + b"]" * 5000 + b"}"))
@example(base_name="mc", c=Corruption("yaml_value", "task.yaml", 10, "[{name: acc, args: &x {a: *x}}]"))
@example(base_name="gen", c=Corruption("folder", "test.jsonl"))
@example(base_name="mc", c=Corruption("folder", "task.yaml"))
def test_corrupted_task_loads_or_raises_a_clean_error(base_name: str, c: Corruption) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        d = _write_base(Path(tmp), base_name)
        apply(c, d)
        try:
            _check_loaded_task(d)
        except KenteiError as e:
            _check_error(e, d, c)


ITEM_TEXT = st.text(ANY_CHAR, min_size=1, max_size=12).filter(str.strip) | st.sampled_from(
    ["a\u2028b", "x\x85y", "p\u2029q", "改\x1c行", "\ufeffbom", "tab\tin", "cr\rlf"]
)


@FUZZ
@given(
    rows=st.lists(
        st.fixed_dictionaries(
            {
                "question": ITEM_TEXT,
                "choices": st.lists(ITEM_TEXT, min_size=2, max_size=4),
                "category": ITEM_TEXT,
                "rationale": ITEM_TEXT,
            },
            optional={"note": JSON_VALUE},
        ),
        min_size=1,
        max_size=5,
    )
)
@example(rows=[{"question": "改行\u2028記号", "choices": ["a", "b"], "category": "c", "rationale": "r"}])
def test_valid_items_with_any_text_load_back_unchanged(rows: list[dict[str, Any]]) -> None:
    """Regression: a line separator inside a JSON string (U+2028, U+0085) split the line in two."""
    from kentei.tasks import load_task

    items = [{"id": f"q{i}", "answer": 0, **r} for i, r in enumerate(rows)]
    with tempfile.TemporaryDirectory() as tmp:
        d = _write_base(Path(tmp), "mc")
        (d / "test.jsonl").write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in items), "utf-8")
        task = load_task(d)
    got = [li.item.model_dump(mode="json", exclude_defaults=True) for li in task.test]
    assert json.dumps(got, sort_keys=True) == json.dumps(items, sort_keys=True)


@pytest.mark.parametrize("template", ["'{{ question + 1 }}'", "'{{ 1 / 0 }}'", "'{% extends \"x\" %}'"])
def test_a_template_failing_at_render_time_is_a_clean_error(template: str) -> None:
    from kentei.lint import lint_task

    with tempfile.TemporaryDirectory() as tmp:
        d = _write_base(Path(tmp), "mc")
        text = (d / "task.yaml").read_text("utf-8")
        text = re.sub(r"(?m)^  template: .*$", f"  template: {template}", text)
        (d / "task.yaml").write_text(text, "utf-8")
        problems = lint_task(d)
    assert any(p.code == "template" for p in problems)


# ------------------------------------------------------------------ 6. corrupted run records
@cache
def record_bytes() -> bytes:
    from kentei.records import MetricValue, RunRecord, RunSettings, RuntimeSettings, TaskResult

    rec = RunRecord(
        run_id="fuzz-run",
        created_at="2026-01-01T00:00:00Z",
        kentei={"version": "0.0.0"},
        model={"backend": "hf", "name": "tiny-ja"},
        settings=RunSettings(tasks=["fuzz_mc"], limit=4),
        runtime=RuntimeSettings(),
        tasks={
            "fuzz_mc": TaskResult(
                version=1,
                family="keigo",
                kind="multiple_choice",
                items_sha256="0" * 64,
                prompt_sha256="1" * 64,
                primary_metric="acc",
                metric_specs=[{"name": "acc", "args": {}}],
                n=4,
                num_fewshot=1,
                status="complete",
                metrics={"acc": MetricValue(value=0.5, stderr=0.25, ci95=[0.0, 1.0], n=4)},
            )
        },
    )
    return (json.dumps(rec.model_dump(mode="json"), ensure_ascii=False, indent=2) + "\n").encode()


def _json_paths(obj: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    out = [prefix]
    if isinstance(obj, dict):
        for k, v in obj.items():
            out += _json_paths(v, (*prefix, k))
    elif isinstance(obj, list):
        for i, v in enumerate(obj):
            out += _json_paths(v, (*prefix, i))
    return out


RECORD_DAMAGE = st.one_of(
    st.tuples(st.just("flip"), POS, st.integers(1, 255)),
    st.tuples(st.just("truncate"), POS, st.none()),
    st.tuples(st.just("insert"), POS, st.binary(min_size=1, max_size=8)),
    st.tuples(st.just("value"), POS, JSON_VALUE),
    st.tuples(st.just("raw"), st.just(0), st.sampled_from([b"", b"[]", b"null", b"\xff\xfe", b"[" * 100_000])),
    st.tuples(st.just("folder"), st.just(0), st.none()),
)


@budget(120)
@given(damage=RECORD_DAMAGE)
@example(damage=("raw", 0, b'{"run_id": ' + b"1" * 5000 + b"}"))
@example(damage=("folder", 0, None))  # regression: IsADirectoryError from read_text
def test_corrupted_run_record_loads_or_raises_a_clean_error(damage: tuple[str, int, Any]) -> None:
    from kentei.records import RunRecord, load_record

    op, at, data = damage
    raw = record_bytes()
    if op == "flip":
        b = bytearray(raw)
        b[at % len(b)] ^= data
        raw = bytes(b)
    elif op == "truncate":
        raw = raw[: at % (len(raw) + 1)]
    elif op == "insert":
        raw = raw[: at % (len(raw) + 1)] + data + raw[at % (len(raw) + 1) :]
    elif op == "value":
        obj = json.loads(raw)
        paths = [p for p in _json_paths(obj) if p]
        *parent, last = paths[at % len(paths)]
        node = obj
        for k in parent:
            node = node[k]
        node[last] = data
        raw = json.dumps(obj, ensure_ascii=False).encode()
    elif op == "raw":
        raw = data
    with tempfile.TemporaryDirectory() as tmp:
        d = Path(tmp)
        if op == "folder":
            (d / "run.json").mkdir()
        else:
            (d / "run.json").write_bytes(raw)
        try:
            rec = load_record(d)
        except KenteiError as e:
            assert e.message.strip() and e.path == str(d / "run.json"), e
        else:
            assert isinstance(rec, RunRecord) and rec.run_id
