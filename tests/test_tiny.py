"""tiny-ja: a real Llama checkpoint with a Japanese byte-fallback tokenizer, never trained on items."""

from __future__ import annotations

import json
import re
from pathlib import Path

from kentei.tasks import select_tasks
from kentei.tiny.build import CORPUS_DIR, HPARAMS, tiny_path

from .conftest import run_cli


def test_loads_through_auto_classes(tiny_path: Path) -> None:
    from transformers import AutoConfig, AutoModelForCausalLM, AutoTokenizer

    assert AutoConfig.from_pretrained(tiny_path).model_type == "llama"
    model = AutoModelForCausalLM.from_pretrained(tiny_path)
    tok = AutoTokenizer.from_pretrained(tiny_path)
    assert type(model).__name__ == "LlamaForCausalLM"
    assert sum(p.numel() for p in model.parameters()) < 2_000_000
    size = sum(f.stat().st_size for f in tiny_path.iterdir())
    assert size < 8 * 1024 * 1024  # "a few MB"
    assert tok.chat_template and "<|assistant|>" in tok.apply_chat_template(
        [{"role": "user", "content": "こんにちは"}], tokenize=False, add_generation_prompt=True
    )
    meta = json.loads((tiny_path / "kentei_tiny.json").read_text())
    assert meta["final_loss"] < meta["first_loss"] - 2  # it did learn something


def test_byte_fallback_round_trips_rare_characters(tiny_path: Path) -> None:
    from transformers import AutoTokenizer

    tok = AutoTokenizer.from_pretrained(tiny_path)
    text = "𠮷野家で鰻重と饂飩を食べた。ＡＢＣ①"
    ids = tok(text, add_special_tokens=False)["input_ids"]
    pieces = tok.convert_ids_to_tokens(ids)
    assert any(re.fullmatch(r"<0x[0-9A-F]{2}>", p) for p in pieces)
    assert tok.unk_token_id not in ids
    assert tok.decode(ids) == text


def test_corpus_holds_no_test_item(tiny_path: Path) -> None:
    """The training prose must not contain any item's question, nor a term next to its reading."""
    corpus = "".join(p.read_text(encoding="utf-8") for p in sorted(CORPUS_DIR.glob("*.txt")))
    flat = re.sub(r"\s", "", corpus)
    for task in select_tasks("all"):
        for li in task.test + task.fewshot:
            it = li.item
            if task.spec.kind == "multiple_choice":
                q = re.sub(r"\s", "", it.question)  # type: ignore[union-attr]
                for chunk in (q[i : i + 20] for i in range(0, max(1, len(q) - 19), 10)):
                    assert chunk not in flat, (it.id, chunk)
            else:
                for ref in it.references:  # type: ignore[union-attr]
                    pat = re.escape(it.input) + r"[（(「\s]{0,2}" + re.escape(ref)  # type: ignore[union-attr]
                    assert not re.search(pat, corpus), (it.id, ref)


def test_tiny_cli_path_is_the_cache_folder(tiny_path: Path) -> None:
    res = run_cli("tiny", "--path")
    assert res.returncode == 0 and Path(res.stdout.strip()) == tiny_path == tiny_path.resolve()
    assert tiny_path == tiny_path_for_this_build()


def tiny_path_for_this_build() -> Path:
    assert HPARAMS["hidden_size"] > 0
    return tiny_path()
