"""The Hugging Face backend on tiny-ja: exact log-likelihoods, the shared prefix, generation."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
import torch

from kentei.backends.hf import HFBackend, resolve_model_path
from kentei.errors import KenteiError
from kentei.requests import GenerateRequest, LoglikelihoodRequest

REQS = [
    LoglikelihoodRequest("a", "質問：会議は何時からですか。\n答え：", ("午後二時からです。", "明日", "会議室です")),
    LoglikelihoodRequest("b", "お世話になっております。", ("株式会社", "よろしくお願いいたします。")),
    LoglikelihoodRequest("c", "工場では毎朝", ("5Sの点検を行います。", "朝礼", "安全確認をします", "𠮷")),
]


def naive_logprob(b: HFBackend, context: str, continuation: str) -> float:
    """Reference: one forward pass over context+continuation, no cache, no padding."""
    ctx, cont, _ = b.encode_pair(context, continuation)
    ids = torch.tensor([ctx + cont])
    with torch.inference_mode():
        logits = b.model(input_ids=ids).logits[0].float()
    lp = torch.log_softmax(logits, -1)
    return sum(lp[len(ctx) - 1 + k, t].item() for k, t in enumerate(cont))


@pytest.mark.parametrize("batch_size", [1, 3])
def test_shared_prefix_equals_full_forward(tiny_backend: HFBackend, batch_size: int) -> None:
    tiny_backend.batch_size = batch_size
    results = tiny_backend.loglikelihood(REQS)
    for req, res in zip(REQS, results, strict=True):
        assert len(res.logprobs) == len(req.continuations)
        for cont, lp in zip(req.continuations, res.logprobs, strict=True):
            assert lp == pytest.approx(naive_logprob(tiny_backend, req.context, cont), abs=1e-4)
        assert all(lp < 0 for lp in res.logprobs)


@pytest.fixture()
def cached_path(tiny_backend: HFBackend) -> Any:
    tiny_backend.packed = False
    yield tiny_backend
    tiny_backend.packed = True


def forward_shapes(b: HFBackend) -> list[tuple[int, ...]]:
    shapes: list[tuple[int, ...]] = []
    handle = b.model.get_input_embeddings().register_forward_hook(
        lambda m, inp, out: shapes.append(tuple(inp[0].shape))
    )
    try:
        b.batch_size = 8
        b.loglikelihood(REQS)
    finally:
        handle.remove()
    return shapes


def test_packed_path_is_one_forward_over_the_minimal_tokens(tiny_backend: HFBackend) -> None:
    """Default path: one forward, one row per item holding its context once and each choice's
    tokens once (the last token of a choice is only predicted)."""
    assert tiny_backend.packed and tiny_backend.info()["ll_scoring"] == "packed"
    shapes = forward_shapes(tiny_backend)
    rows = [len(tiny_backend._encode(r.context)) + sum(len(tiny_backend.encode_pair(r.context, c)[1]) - 1
                                                       for c in r.continuations) for r in REQS]  # fmt: skip
    assert shapes == [(len(REQS), max(rows))]


@pytest.mark.parametrize("batch_size", [1, 3])
def test_cached_path_equals_full_forward(cached_path: HFBackend, batch_size: int) -> None:
    cached_path.batch_size = batch_size
    for req, res in zip(REQS, cached_path.loglikelihood(REQS), strict=True):
        for cont, lp in zip(req.continuations, res.logprobs, strict=True):
            assert lp == pytest.approx(naive_logprob(cached_path, req.context, cont), abs=1e-4)


def test_context_runs_once_per_item(cached_path: HFBackend) -> None:
    """Fallback path: the first forward pass sees one row per item (not per choice) holding the
    whole context; the second sees one row per choice holding only continuation tokens."""
    tiny_backend = cached_path
    shapes = forward_shapes(tiny_backend)
    n_choices = sum(len(r.continuations) for r in REQS)
    longest_ctx = max(len(tiny_backend._encode(r.context)) for r in REQS)
    assert shapes[0] == (len(REQS), longest_ctx)
    longest_cont = max(len(tiny_backend.encode_pair(r.context, c)[1]) for r in REQS for c in r.continuations)
    assert shapes[1] == (n_choices, longest_cont - 1)
    assert len(shapes) == 2


def test_boundary_merge_is_detected_and_conditioned_exactly(tiny_backend: HFBackend) -> None:
    """Find a split where BPE merges a token across the boundary; the continuation is then
    tokenized on its own so the context is conditioned on exactly."""
    found = None
    for word in ("ございます", "いたします", "お願いします", "しております", "ください"):
        for cut in range(1, len(word)):
            ctx, cont = "本日は" + word[:cut], word[cut:]
            c_enc, k_enc, merged = tiny_backend.encode_pair(ctx, cont)
            if merged:
                found = (ctx, cont, c_enc, k_enc)
                break
        if found:
            break
    assert found, "tiny-ja merges none of these words across a boundary"
    ctx, cont, c_enc, k_enc = found
    assert c_enc == tiny_backend._encode(ctx)
    assert k_enc == tiny_backend._encode(cont, special=False)
    res = tiny_backend.loglikelihood([LoglikelihoodRequest("m", ctx, (cont, "です"))])[0]
    assert res.boundary_merged
    assert res.logprobs[0] == pytest.approx(naive_logprob(tiny_backend, ctx, cont), abs=1e-4)


def test_generation_greedy_batched_with_stops(tiny_backend: HFBackend) -> None:
    reqs = [
        GenerateRequest(f"g{i}", p, ("\n",), 12)
        for i, p in enumerate(["質問：駅までどのくらいですか。\n答え：", "お世話に", "工場の朝は"])
    ]
    tiny_backend.batch_size = 3
    batched = tiny_backend.generate(reqs)
    tiny_backend.batch_size = 1
    single = tiny_backend.generate(reqs)
    assert [r.text for r in batched] == [r.text for r in single]
    for r in batched:
        assert "\n" not in r.text and r.n_tokens <= 12 and r.finish in ("stop", "eos", "length")
    short = tiny_backend.generate([GenerateRequest("s", "お世話に", (), 2)])[0]
    assert short.n_tokens <= 2 and short.finish in ("length", "eos")


def test_oom_backs_off_to_a_batch_that_fits(tiny_backend: HFBackend, monkeypatch: pytest.MonkeyPatch) -> None:
    real = tiny_backend._ll_batch
    seen: list[int] = []

    def limited(reqs: list[Any]) -> Any:
        seen.append(len(reqs))
        if len(reqs) > 2:
            raise torch.OutOfMemoryError("CUDA out of memory (simulated)")
        return real(reqs)

    monkeypatch.setattr(tiny_backend, "_ll_batch", limited)
    tiny_backend.batch_size = 8
    out = tiny_backend.loglikelihood(REQS * 3)
    assert len(out) == 9 and tiny_backend.batch_size == 2
    assert seen[:3] == [8, 4, 2]
    expected = [r.logprobs for r in real(REQS)] * 3
    flat = [lp for r in out for lp in r.logprobs]
    assert flat == pytest.approx([lp for lps in expected for lp in lps], abs=1e-5)


def test_model_info_for_the_record(tiny_backend: HFBackend) -> None:
    info = tiny_backend.info()
    assert info["backend"] == "hf" and info["architecture"] == "LlamaForCausalLM"
    assert info["n_params"] > 100_000 and info["dtype"] == "float32"
    assert len(info["weights_sha256"]) == 64 and info["weights_hash"] == "full"
    assert len(info["tokenizer"]["sha256"]) == 64 and len(info["chat_template_sha256"]) == 64
    assert info["trust_remote_code"] is False


def test_bad_model_references(tmp_path: Path, tiny_path: Path) -> None:
    with pytest.raises(KenteiError, match="not an existing folder"):
        resolve_model_path("./no/such/model")
    with pytest.raises(KenteiError, match=r"no config\.json"):
        resolve_model_path(str(tmp_path))
    no_tok = tmp_path / "weights-only"
    no_tok.mkdir()
    for f in ("config.json", "model.safetensors"):
        (no_tok / f).write_bytes((tiny_path / f).read_bytes())
    with pytest.raises(KenteiError, match="cannot load a tokenizer"):
        HFBackend.load(str(no_tok), device="cpu")


def test_device_map_auto_loads_and_agrees(tiny_path: Path, tiny_backend: HFBackend) -> None:
    """--device auto is the multi-GPU route (accelerate's device_map="auto"); on a CPU-only host it
    must still load and give the same numbers (no multi-GPU host was available to test the split itself)."""
    auto = HFBackend.load(str(tiny_path), device="auto", dtype="float32", batch_size=2)
    # transformers 5 sets hf_device_map only when the model spans several devices; here it all fits the CPU.
    assert auto.model.device.type == "cpu"
    assert auto.info()["device"] == "auto"
    tiny_backend.batch_size = 2
    for a, b in zip(auto.loglikelihood(REQS), tiny_backend.loglikelihood(REQS), strict=True):
        assert a.logprobs == pytest.approx(b.logprobs, abs=1e-5)
    gen = [GenerateRequest("g", "日本の首都は", ("\n",), 6)]
    assert auto.generate(gen)[0].text == tiny_backend.generate(gen)[0].text


def test_packed_scoring_falls_back_when_it_disagrees(tiny_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The load-time check switches packing off for a model on which it gives other numbers."""
    real = HFBackend._ll_batch_packed

    def off_by_one_nat(self: HFBackend, reqs: list[LoglikelihoodRequest]) -> list[Any]:
        return [replace(r, logprobs=[x - 1.0 for x in r.logprobs]) for r in real(self, reqs)]

    monkeypatch.setattr(HFBackend, "_ll_batch_packed", off_by_one_nat)
    b = HFBackend.load(str(tiny_path), device="cpu", dtype="float32", batch_size=2)
    assert b.packed is False and b.info()["ll_scoring"] == "cached"
    for req, res in zip(REQS, b.loglikelihood(REQS), strict=True):
        for cont, lp in zip(req.continuations, res.logprobs, strict=True):
            assert lp == pytest.approx(naive_logprob(b, req.context, cont), abs=1e-4)


ARCHS = {
    "gpt2": ("GPT2Config", {"n_embd": 32, "n_layer": 2, "n_head": 2, "n_positions": 512}),
    # Families whose AutoTokenizer ignores tokenizer.json (Qwen2, Gemma) cannot borrow tiny-ja's tokenizer.
    "llama_gqa": ("LlamaConfig", {"hidden_size": 32, "intermediate_size": 64, "num_hidden_layers": 2,
                                  "num_attention_heads": 4, "num_key_value_heads": 2}),
    "gpt_neox": ("GPTNeoXConfig", {"hidden_size": 32, "intermediate_size": 64, "num_hidden_layers": 2,
                                   "num_attention_heads": 4}),
    "mistral": ("MistralConfig", {"hidden_size": 32, "intermediate_size": 64, "num_hidden_layers": 2,
                                  "num_attention_heads": 4, "num_key_value_heads": 2, "sliding_window": 4096}),
    # Local attention with a window shorter than the prompts, and ALiBi: both must take the cached path.
    "gpt_neo": ("GPTNeoConfig", {"hidden_size": 32, "num_layers": 2, "num_heads": 4, "window_size": 4,
                                 "attention_types": [[["global", "local"], 1]]}),
    "bloom": ("BloomConfig", {"hidden_size": 32, "n_layer": 2, "n_head": 4}),
}  # fmt: skip
PACKED = {"gpt2", "gpt_neox", "llama_gqa"}


@pytest.mark.slow
@pytest.mark.parametrize("arch", sorted(ARCHS))
def test_other_architectures_score_exactly(arch: str, tiny_path: Path, tmp_path: Path) -> None:
    """Random tiny models of other families (absolute positions, GQA, parallel attention, a sliding
    window): whichever scoring path the load-time check picks equals a plain full forward."""
    import transformers
    from transformers import AutoModelForCausalLM, AutoTokenizer

    tok = AutoTokenizer.from_pretrained(tiny_path)
    cls_name, kw = ARCHS[arch]
    ids = {"bos_token_id": tok.bos_token_id, "eos_token_id": tok.eos_token_id, "pad_token_id": tok.pad_token_id}
    cfg = getattr(transformers, cls_name)(vocab_size=len(tok), **ids, **kw)
    torch.manual_seed(0)
    AutoModelForCausalLM.from_config(cfg).save_pretrained(tmp_path / arch)
    tok.save_pretrained(tmp_path / arch)
    b = HFBackend.load(str(tmp_path / arch), device="cpu", dtype="float32", batch_size=3)
    assert b.info()["ll_scoring"] == ("packed" if arch in PACKED else "cached")
    for req, res in zip(REQS, b.loglikelihood(REQS), strict=True):
        for cont, lp in zip(req.continuations, res.logprobs, strict=True):
            assert lp == pytest.approx(naive_logprob(b, req.context, cont), abs=1e-4)


def test_a_choice_with_no_tokens_is_a_clear_error(tiny_backend: HFBackend) -> None:
    with pytest.raises(KenteiError, match="encodes to no tokens"):
        tiny_backend.loglikelihood([LoglikelihoodRequest("e", "質問：", ("はい", ""))])
