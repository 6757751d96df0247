"""Tokenizer fit (`kentei tokenizer`): hand-checked boundaries, tokenizers trained here, tiny-ja, bad input."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import pytest

from kentei.errors import KenteiError
from kentei.tasks import select_tasks
from kentei.tokfit import fit_report, load_tokenizer, suite_texts, text_counts
from scorers.morph import analyze
from tests.conftest import make_task, run_cli


def _fast(tok: Any, **kw: Any) -> Any:
    from transformers import PreTrainedTokenizerFast

    return PreTrainedTokenizerFast(tokenizer_object=tok, **kw)


def _split_tokenizer(pattern: str, vocab: list[str]) -> Any:
    """A WordLevel tokenizer whose pieces are exactly the regex matches of `pattern` (for hand checks)."""
    from tokenizers import Regex, Tokenizer, models, pre_tokenizers

    tok = Tokenizer(models.WordLevel({w: i for i, w in enumerate(["[UNK]", *vocab])}, unk_token="[UNK]"))
    tok.pre_tokenizer = pre_tokenizers.Split(Regex(pattern), behavior="isolated")
    return _fast(tok, unk_token="[UNK]")


def _char_tokenizer(texts: list[str]) -> Any:
    """Character-level: every character (whitespace included) is one token, trained on `texts`."""
    from tokenizers import Regex, Tokenizer, models, pre_tokenizers, trainers

    tok = Tokenizer(models.WordLevel(unk_token="[UNK]"))
    tok.pre_tokenizer = pre_tokenizers.Split(Regex(r"[\s\S]"), behavior="isolated")
    tok.train_from_iterator(texts, trainers.WordLevelTrainer(special_tokens=["[UNK]"], show_progress=False))
    return _fast(tok, unk_token="[UNK]")


def _bpe(texts: list[str], vocab_size: int, byte_fallback: bool, limit_alphabet: int | None = None) -> Any:
    """A BPE like tiny-ja's (Metaspace, optional byte fallback with the 256 <0xNN> tokens)."""
    from tokenizers import Tokenizer, models, pre_tokenizers, trainers

    tok = Tokenizer(models.BPE(unk_token="<unk>", byte_fallback=byte_fallback))
    tok.pre_tokenizer = pre_tokenizers.Metaspace(replacement="▁", prepend_scheme="first")
    special = ["<unk>"] + ([f"<0x{b:02X}>" for b in range(256)] if byte_fallback else [])
    kw: dict[str, Any] = {"limit_alphabet": limit_alphabet} if limit_alphabet else {}
    trainer = trainers.BpeTrainer(vocab_size=vocab_size, special_tokens=special, show_progress=False, **kw)
    tok.train_from_iterator(texts, trainer=trainer)
    return _fast(tok, unk_token="<unk>")


def _byte_level_bpe(texts: list[str], vocab_size: int) -> Any:
    """GPT-2 style byte-level BPE ('Ġ'): every token is bytes, no unk token."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers

    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=vocab_size, initial_alphabet=pre_tokenizers.ByteLevel.alphabet(), show_progress=False
    )
    tok.train_from_iterator(texts, trainer=trainer)
    return _fast(tok)


@pytest.fixture(scope="module")
def keigo_texts() -> list[str]:
    """Real suite text: the keigo family's test items (about 4,000 distinct strings)."""
    return suite_texts(select_tasks("keigo"))


def _identities(r: dict[str, float]) -> None:
    assert r["tokens_per_1k_chars"] == pytest.approx(r["n_tokens"] / r["n_chars"] * 1000)
    assert r["chars_per_token"] == pytest.approx(r["n_chars"] / r["n_tokens"])
    assert r["tokens_per_morpheme"] == pytest.approx(r["n_tokens"] / r["n_morphemes"])
    p, rc = r["boundary_precision"], r["boundary_recall"]
    assert r["boundary_f1"] == pytest.approx(2 * p * rc / (p + rc))
    for k in ("boundary_precision", "boundary_recall", "boundary_f1", "split_morpheme_rate", "byte_fallback_rate"):
        assert 0.0 <= r[k] <= 1.0, k


# ---------------------------------------------------------------- hand-checked


def test_hand_checked_two_sentences() -> None:
    # fugashi (unidic-lite): 私|は|学生|です|。 and 猫|が|好き|。
    assert [m.surface for m in analyze("私は学生です。")] == ["私", "は", "学生", "です", "。"]
    assert [m.surface for m in analyze("猫が好き。")] == ["猫", "が", "好き", "。"]
    tok = _split_tokenizer("私は|学|生です|。|猫が好き", ["私は", "学", "生です", "。", "猫が好き"])
    r = fit_report(tok, ["私は学生です。", "猫が好き。"])
    # Sentence 1: tokens 私は|学|生です|。 -> boundaries {2,3,6}; morphemes -> {1,2,4,6}; shared {2,6}.
    # Sentence 2: tokens 猫が好き|。 -> {4}; morphemes -> {1,2,4}; shared {4}.
    assert r["boundary_precision"] == pytest.approx(3 / 4)
    assert r["boundary_recall"] == pytest.approx(3 / 7)
    assert r["boundary_f1"] == pytest.approx(6 / 11)
    # Only 学生 (cut between 学 and 生) of the 9 morphemes is split.
    assert r["split_morpheme_rate"] == pytest.approx(1 / 9)
    assert (r["n_texts"], r["n_chars"], r["n_tokens"], r["n_morphemes"]) == (2, 12, 6, 9)
    assert r["chars_per_token"] == 2.0
    assert r["tokens_per_1k_chars"] == 500.0
    assert r["tokens_per_morpheme"] == pytest.approx(6 / 9)
    assert r["byte_fallback_rate"] == 0.0
    assert r["unk_rate"] == 0.0


def test_unknown_pieces_count_as_unk() -> None:
    tok = _split_tokenizer("私は|学|生です|。", ["私は", "学", "。"])  # 生です missing from the vocabulary
    r = fit_report(tok, ["私は学生です。"])
    assert r["unk_rate"] == pytest.approx(1 / 4)


def test_whitespace_does_not_move_boundaries() -> None:
    # A space token between two morphemes: the boundaries before and after the space are one boundary.
    text = "学生 です"
    c = text_counts(text, [1, 2, 3], [(0, 2), (2, 3), (3, 5)])
    assert c["morph_boundaries"] == 1 and c["tok_boundaries"] == 1 and c["shared_boundaries"] == 1
    # The same with the space attached to the next token (SentencePiece '▁です').
    c = text_counts(text, [1, 2], [(0, 2), (2, 5)])
    assert (c["tok_boundaries"], c["shared_boundaries"], c["split_morphemes"]) == (1, 1, 0)
    # ... and a token spanning the space swallows the boundary.
    c = text_counts(text, [1, 2], [(0, 1), (1, 5)])
    assert (c["tok_boundaries"], c["shared_boundaries"], c["split_morphemes"]) == (1, 0, 1)


def test_byte_tokens_inside_a_character_are_not_boundaries() -> None:
    # 鬱 as three <0xNN> tokens sharing its span, then に: one boundary (after 鬱), three byte tokens.
    c = text_counts("鬱に", [10, 11, 12, 5], [(0, 1)] * 3 + [(1, 2)], byte_ids=frozenset({10, 11, 12}))
    assert (c["tok_boundaries"], c["shared_boundaries"], c["byte_tokens"], c["split_morphemes"]) == (1, 1, 3, 0)
    # Byte-level BPE: token 2 holds 森's last byte and に's first bytes, so 森|に is inside a token.
    c = text_counts("森にいる", [1, 2, 3, 4], [(0, 1), (0, 2), (1, 2), (2, 4)], byte_level=True)
    assert c["byte_tokens"] == 3  # the three tokens that hold part of a character
    assert c["tok_boundaries"] == 1  # only に|いる


# ---------------------------------------------------------------- trained tokenizers


def test_char_level_tokenizer(keigo_texts: list[str]) -> None:
    texts = [*keigo_texts[:600], "具 の　うち\n次の行"]  # whitespace of three kinds
    r = fit_report(_char_tokenizer(texts), texts)
    assert r["chars_per_token"] == 1.0
    assert r["boundary_recall"] == 1.0
    # Every morpheme of two or more characters is cut; single characters cannot be.
    morphs = [m.surface for t in texts for m in analyze(t) if m.surface.strip()]
    assert r["split_morpheme_rate"] == pytest.approx(sum(len(s) > 1 for s in morphs) / len(morphs))
    assert 0.3 < r["boundary_precision"] < 1.0
    assert r["byte_fallback_rate"] == 0.0 and r["unk_rate"] == 0.0
    _identities(r)


def test_morpheme_aligned_tokenizer_has_precision_one(keigo_texts: list[str]) -> None:
    from tokenizers import Tokenizer, models, pre_tokenizers, trainers

    # Text pre-segmented by fugashi with spaces; a whitespace pre-tokenizer then splits exactly there.
    seg = [" ".join(m.surface for m in analyze(t) if m.surface.strip()) for t in keigo_texts[:800]]
    tok = Tokenizer(models.WordLevel(unk_token="[UNK]"))
    tok.pre_tokenizer = pre_tokenizers.WhitespaceSplit()
    tok.train_from_iterator(seg, trainers.WordLevelTrainer(special_tokens=["[UNK]"], show_progress=False))
    r = fit_report(_fast(tok, unk_token="[UNK]"), seg)
    assert r["boundary_precision"] == 1.0
    assert r["boundary_recall"] > 0.95  # re-analysing the segmented text splits a few pieces further
    assert r["split_morpheme_rate"] == 0.0  # no token boundary falls inside a morpheme
    assert r["tokens_per_morpheme"] <= 1.0
    assert r["unk_rate"] == 0.0
    _identities(r)


def test_byte_fallback_bpe_with_a_tiny_alphabet(keigo_texts: list[str]) -> None:
    train = keigo_texts[:1500]
    small = fit_report(_bpe(train, 600, byte_fallback=True, limit_alphabet=150), keigo_texts)
    large = fit_report(_bpe(train, 3000, byte_fallback=True), keigo_texts)
    assert small["byte_fallback_rate"] > 0.1
    assert small["byte_fallback_rate"] > large["byte_fallback_rate"]
    assert small["unk_rate"] == 0.0  # byte fallback instead of <unk>
    assert small["tokens_per_1k_chars"] > large["tokens_per_1k_chars"]  # bytes cost the user tokens
    # Without byte fallback the same small alphabet shows up as <unk> instead.
    no_fb = fit_report(_bpe(train, 600, byte_fallback=False, limit_alphabet=150), keigo_texts)
    assert no_fb["byte_fallback_rate"] == 0.0 and no_fb["unk_rate"] > 0.05
    for r in (small, large, no_fb):
        _identities(r)


def test_sentencepiece_prefix_is_zero_width() -> None:
    # Metaspace prepend_scheme="first" emits a '▁' token with the first character's span, although it
    # stands for no character: it must neither make a boundary inside 学生 nor count as byte fallback.
    train = ["学生です", "私は学生", "彼も学生", "学生だ"]
    tok = _bpe(train * 3, 12, byte_fallback=False)  # 10 characters, <unk> and the one merge 学生
    enc = tok("学生です", add_special_tokens=False, return_offsets_mapping=True)
    assert tok.convert_ids_to_tokens(enc["input_ids"]) == ["▁", "学生", "で", "す"]
    assert enc["offset_mapping"][:2] == [(0, 1), (0, 2)]
    r = fit_report(tok, ["学生です"])
    # Morphemes 学生|です -> {2}; tokens 学生|で|す -> {2, 3}; the user still pays for 4 tokens.
    assert (r["boundary_precision"], r["boundary_recall"]) == (0.5, 1.0)
    assert r["split_morpheme_rate"] == 0.5  # です, not 学生
    assert r["n_tokens"] == 4 and r["byte_fallback_rate"] == 0.0
    # The same under a byte-level reading of the spans: the prefix shares no character.
    c = text_counts(
        "学生です", enc["input_ids"], enc["offset_mapping"], meta_ids=frozenset(enc["input_ids"][:1]), byte_level=True
    )
    assert c["byte_tokens"] == 0 and c["tok_boundaries"] == 2


def test_byte_level_bpe(keigo_texts: list[str]) -> None:
    tok = _byte_level_bpe(keigo_texts[:1500], 400)
    r = fit_report(tok, keigo_texts)
    assert "unk_rate" not in r  # no unk token in a byte-level BPE
    assert r["byte_fallback_rate"] > 0.05  # with 400 merges many kanji stay split into bytes
    _identities(r)
    # ASCII characters are single bytes: whole characters, never byte fallback.
    assert fit_report(tok, ["hello world", "abc def"])["byte_fallback_rate"] == 0.0


def test_empty_text_is_an_error() -> None:
    with pytest.raises(KenteiError, match="no text"):
        fit_report(_char_tokenizer(["あ"]), ["", "  "])


# ---------------------------------------------------------------- suite text


def test_suite_texts_fields_dedup_and_order(tmp_path: Path) -> None:
    make_task(tmp_path, "a_mc", n=6)
    gen = [
        {
            "id": "g1",
            "category": "地理",
            "rationale": "理由は表示されない",
            "situation": "駅の窓口で",
            "input": "東京の次は？",
            "references": ["品川", "東京"],
            "terms": ["品川"],
            "tolerance": 0.5,
        }
    ]
    make_task(tmp_path, "b_gen", kind="generation", test=gen)
    tasks = select_tasks("all", tmp_path)
    texts = suite_texts(tasks)
    assert texts == suite_texts(select_tasks("all", tmp_path))  # deterministic
    assert len(texts) == len(set(texts))
    first = tasks[0].test[0].item
    assert texts[0] == first.question and texts[1:5] == first.choices  # task, item, field order
    assert {"駅の窓口で", "東京の次は？", "品川"} <= set(texts)
    assert "東京" in texts  # a reference
    assert not {"理由は表示されない", "地理", "g1", "q000", "fixture"} & set(texts)
    # 6 questions + 9 distinct choices (4 of 12 cities rotating over 6 items) + situation, input, 2 references.
    assert len(texts) == 6 + 9 + 4


# ---------------------------------------------------------------- tiny-ja, loading and the CLI


@pytest.mark.slow
def test_tiny_ja_report(tiny_path: Path, keigo_texts: list[str]) -> None:
    tok = load_tokenizer(str(tiny_path))
    r = fit_report(tok, keigo_texts)
    _identities(r)
    assert 1.0 < r["chars_per_token"] < 3.0
    assert 0.5 < r["boundary_precision"] < 1.0 and 0.5 < r["boundary_recall"] < 1.0
    assert 0.0 < r["byte_fallback_rate"] < 0.5  # tiny-ja's alphabet is limited to 1,200 characters
    assert r["unk_rate"] == 0.0
    assert r["n_texts"] == len(keigo_texts)
    assert r["n_chars"] == sum(len(t) for t in keigo_texts)
    assert all(isinstance(v, float) and math.isfinite(v) for v in r.values())


@pytest.mark.slow
def test_cli_json_on_tiny_ja(tiny_path: Path, keigo_texts: list[str]) -> None:
    p = run_cli("tokenizer", str(tiny_path), "--tasks", "keigo", "--json")
    assert p.returncode == 0, p.stderr
    got = json.loads(p.stdout)
    want = fit_report(load_tokenizer(str(tiny_path)), keigo_texts)
    assert got.keys() == want.keys()
    assert got == pytest.approx(want)


@pytest.mark.slow
def test_cli_trained_tokenizer_folder_and_table(tmp_path: Path) -> None:
    tasks_dir = tmp_path / "tasks"
    make_task(tasks_dir, "mc_a", n=8)
    texts = suite_texts(select_tasks("all", tasks_dir))
    tok_dir = tmp_path / "chartok"
    _char_tokenizer(texts).save_pretrained(tok_dir)  # a tokenizer-only folder (no config.json)
    assert load_tokenizer(str(tok_dir)).is_fast
    p = run_cli("tokenizer", str(tok_dir), "--tasks-dir", str(tasks_dir), "--json")
    assert p.returncode == 0, p.stderr
    r = json.loads(p.stdout)
    assert r["chars_per_token"] == 1.0 and r["boundary_recall"] == 1.0
    assert r["n_texts"] == len(texts)
    # The table: every metric with its explanation.
    (tok_dir / "config.json").write_text('{"model_type": "llama"}')
    p = run_cli("tokenizer", str(tok_dir), "--tasks-dir", str(tasks_dir))
    assert p.returncode == 0, p.stderr
    assert "boundary_precision" in p.stdout and "what a Japanese user pays" in p.stdout


@pytest.mark.slow
def test_cli_bad_model_paths(tmp_path: Path) -> None:
    missing = tmp_path / "no_such_model"
    p = run_cli("tokenizer", str(missing))
    assert p.returncode == 2
    assert "no_such_model" in p.stderr and "Traceback" not in p.stderr
    bare = tmp_path / "weights_only"
    bare.mkdir()
    (bare / "config.json").write_text('{"model_type": "llama"}')
    p = run_cli("tokenizer", str(bare))
    assert p.returncode == 2
    assert "no tokenizer in" in p.stderr and "Traceback" not in p.stderr


def test_load_tokenizer_errors(tmp_path: Path) -> None:
    with pytest.raises(KenteiError, match="no tokenizer in"):
        (tmp_path / "config.json").write_text("{}")
        load_tokenizer(str(tmp_path))
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(KenteiError, match=r"no config\.json"):
        load_tokenizer(str(empty))
    broken = tmp_path / "broken"
    broken.mkdir()
    (broken / "tokenizer.json").write_text("{not json")
    with pytest.raises(KenteiError, match="cannot load a tokenizer"):
        load_tokenizer(str(broken))


@pytest.mark.slow
def test_record_option_stores_the_report_in_a_run(tmp_path: Path, tiny_path: Path) -> None:
    """`kentei tokenizer MODEL --record RUN` adds the report to a run made without one."""
    from tests.conftest import run_cli

    r = run_cli("run", "--model", "tiny-ja", "--tasks", "keigo_form", "--limit", "2", "--no-tokenizer-fit",
                "--out", str(tmp_path), "--run-id", "r")  # fmt: skip
    assert r.returncode == 0, r.stderr
    assert json.loads((tmp_path / "r" / "run.json").read_text())["tokenizer_fit"] is None
    r = run_cli("tokenizer", "tiny-ja", "--record", str(tmp_path / "r"), "--json")
    assert r.returncode == 0, r.stderr
    rec = json.loads((tmp_path / "r" / "run.json").read_text())
    assert rec["tokenizer_fit"] == json.loads(r.stdout) and rec["model"]["tokenizer_fit_source"] == "tiny-ja"
    bad = run_cli("tokenizer", "tiny-ja", "--record", str(tmp_path))
    assert bad.returncode == 2 and "not a run folder" in bad.stderr
