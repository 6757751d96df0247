"""kentei vs lm-evaluation-harness on the same requests, in the same run (issue 9).

    .venv/bin/python bench/runner_vs_lmeval.py [--items 16] [--skip-large]

1. k-shot multiple choice (keigo_form, 3-shot, multi-token choices): kentei's HF backend vs lm-eval's
   `hf` backend on identical (context, continuation) pairs, on tiny-ja and on a randomly initialised
   ~100M-parameter Llama saved locally (so the forward pass dominates). Wall-time ratio, max |Δ| of the
   per-choice log-likelihoods, and whether the accuracies are identical.
2. Overhead, two ways: kentei's wall time over bare forward passes of the minimal token set (each
   prompt once, each continuation once on a copy of the cached prompt, batch 1, no harness); and
   kentei's wall time over the time its own call spends inside model.forward (what the harness adds:
   tokenization, masks, log-softmax, bookkeeping).
3. Generation: kentei's batched greedy generation vs lm-eval's generate_until on the same prompts.
4. CLI cold start: `kentei --help` and `kentei tasks list`.
Prints markdown tables; float32, CPU threads as the machine gives them.
"""

from __future__ import annotations

import argparse
import json
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
# bench/scorers.py would shadow the `scorers` package: keep this folder off sys.path.
sys.path = [p for p in sys.path if Path(p or ".").resolve() != Path(__file__).resolve().parent]


def large_model(dirpath: Path, tiny: Path) -> Path:
    """A random-init ~100M Llama with tiny-ja's tokenizer, saved with safetensors."""
    import torch
    from transformers import AutoTokenizer, LlamaConfig, LlamaForCausalLM

    out = dirpath / "llama-100m-random"
    if (out / "config.json").exists():
        return out
    tok = AutoTokenizer.from_pretrained(tiny)
    torch.manual_seed(0)
    cfg = LlamaConfig(
        vocab_size=len(tok),
        hidden_size=768,
        intermediate_size=2048,
        num_hidden_layers=14,
        num_attention_heads=12,
        num_key_value_heads=12,
        max_position_embeddings=2048,
        bos_token_id=tok.bos_token_id,
        eos_token_id=tok.eos_token_id,
        pad_token_id=tok.pad_token_id,
    )
    model = LlamaForCausalLM(cfg)
    model.save_pretrained(out)
    tok.save_pretrained(out)
    return out


def mc_requests(backend: Any, n: int) -> tuple[list[Any], list[int]]:
    from kentei.records import RunSettings
    from kentei.runner import plan_task
    from kentei.tasks import select_tasks

    task = select_tasks("keigo_form")[0]
    planned = plan_task(task, RunSettings(tasks=["keigo_form"], limit=n, chat=False), backend)
    return [p.request for p in planned], [p.item.answer for p in planned]  # type: ignore[union-attr]


def bench_mc(path: Path, n: int, batch: int) -> dict[str, Any]:
    import torch
    from lm_eval.api.instance import Instance
    from lm_eval.models.huggingface import HFLM

    from kentei.backends.hf import HFBackend

    ours = HFBackend.load(str(path), device="cpu", dtype="float32", batch_size=batch)
    reqs, gold = mc_requests(ours, n)
    ours.loglikelihood(reqs[:1])  # warm-up (allocator, kernels)
    in_forward = ForwardTimer(ours.model)
    t0 = time.perf_counter()
    res = ours.loglikelihood(reqs)
    t_ours = time.perf_counter() - t0
    t_fwd = in_forward.stop()

    peer = HFLM(pretrained=str(path), backend="causal", device="cpu", dtype="float32", batch_size=batch)
    inst = [
        Instance(request_type="loglikelihood", doc={}, arguments=(r.context, c), idx=j)
        for r in reqs
        for j, c in enumerate(r.continuations)
    ]
    peer.loglikelihood(inst[:1])
    t0 = time.perf_counter()
    theirs = [lp for lp, _ in peer.loglikelihood(inst)]
    t_peer = time.perf_counter() - t0

    flat = [lp for r in res for lp in r.logprobs]
    delta = max(abs(a - b) for a, b in zip(flat, theirs, strict=True))
    acc_ours = acc_peer = 0
    i = 0
    for r, g in zip(res, gold, strict=True):
        k = len(r.logprobs)
        acc_ours += max(range(k), key=lambda j: r.logprobs[j]) == g
        acc_peer += max(range(k), key=lambda j: theirs[i + j]) == g
        i += k

    # Bare forward passes over the minimal token set, batch 1.
    model, tok = ours.model, ours.tokenizer
    pairs = [[ours.encode_pair(r.context, c) for c in r.continuations] for r in reqs]
    t0 = time.perf_counter()
    with torch.inference_mode():
        for item in pairs:
            ctx = item[0][0]
            out = model(input_ids=torch.tensor([ctx]), use_cache=True)
            cache = getattr(out, "cache", None) or out.past_key_values
            for _, cont, _ in item:
                if len(cont) > 1:
                    c2 = _copy_cache(cache)  # each choice continues the same prompt
                    model(input_ids=torch.tensor([cont[:-1]]), use_cache=True, **{ours._cache_kw: c2})
    t_bare = time.perf_counter() - t0
    del tok
    return {
        "items": len(reqs),
        "choices": len(flat),
        "kentei_s": t_ours,
        "lmeval_s": t_peer,
        "bare_s": t_bare,
        "speedup": t_peer / t_ours,
        "overhead": t_ours / t_bare,
        "forward_s": t_fwd,
        "harness_overhead": t_ours / t_fwd,
        "max_delta": delta,
        "acc_kentei": acc_ours / len(reqs),
        "acc_lmeval": acc_peer / len(reqs),
    }


class ForwardTimer:
    """Wall time spent inside model.forward (hooks), to separate the harness's own cost."""

    def __init__(self, model: Any) -> None:
        self.total = 0.0
        self._t = 0.0
        self._h = [
            model.register_forward_pre_hook(lambda *a: setattr(self, "_t", time.perf_counter())),
            model.register_forward_hook(lambda *a: setattr(self, "total", self.total + time.perf_counter() - self._t)),
        ]

    def stop(self) -> float:
        for h in self._h:
            h.remove()
        return self.total


def _copy_cache(cache: Any) -> Any:
    import copy

    return copy.deepcopy(cache)


def bench_generate(path: Path, n: int, batch: int) -> dict[str, Any]:
    from lm_eval.api.instance import Instance
    from lm_eval.models.huggingface import HFLM

    from kentei.backends.hf import HFBackend
    from kentei.records import RunSettings
    from kentei.runner import plan_task
    from kentei.tasks import select_tasks

    ours = HFBackend.load(str(path), device="cpu", dtype="float32", batch_size=batch)
    task = select_tasks("monozukuri_reading")[0]
    reqs = [p.request for p in plan_task(task, RunSettings(tasks=[task.name], limit=n, chat=False), ours)]
    ours.generate(reqs[:1])
    t0 = time.perf_counter()
    res = ours.generate(reqs)
    t_ours = time.perf_counter() - t0
    peer = HFLM(pretrained=str(path), backend="causal", device="cpu", dtype="float32", batch_size=batch)
    inst = [
        Instance(
            request_type="generate_until",
            doc={},
            idx=0,
            arguments=(r.context, {"until": list(r.stop), "max_gen_toks": r.max_new_tokens, "do_sample": False}),
        )
        for r in reqs
    ]
    peer.generate_until(inst[:1])
    t0 = time.perf_counter()
    theirs = peer.generate_until(inst)
    t_peer = time.perf_counter() - t0
    same = sum(a.text.strip() == b.strip() for a, b in zip(res, theirs, strict=True))
    return {"prompts": len(reqs), "kentei_s": t_ours, "lmeval_s": t_peer, "speedup": t_peer / t_ours, "same_text": same}


def cli_start() -> dict[str, float]:
    out = {}
    for name, args in (("kentei --help", ["--help"]), ("kentei tasks list", ["tasks", "list"])):
        best = 1e9
        for _ in range(5):
            t0 = time.perf_counter()
            subprocess.run([sys.executable, "-m", "kentei", *args], capture_output=True, cwd=ROOT, check=True)
            best = min(best, time.perf_counter() - t0)
        out[name] = best
    return out


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--items", type=int, default=16)
    ap.add_argument("--batch", type=int, default=4)
    ap.add_argument("--skip-large", action="store_true")
    args = ap.parse_args()
    import lm_eval
    import torch
    import transformers

    from kentei.tiny.build import ensure_tiny

    tiny = ensure_tiny()
    print(
        f"machine: {platform.machine()}, {torch.get_num_threads()} torch threads; python {platform.python_version()}, "
        f"torch {torch.__version__}, transformers {transformers.__version__}, lm-eval {lm_eval.__version__}"
    )
    rows = [("tiny-ja (0.94M)", bench_mc(tiny, args.items, args.batch))]
    gens = [("tiny-ja (0.94M)", bench_generate(tiny, args.items * 2, args.batch))]
    if not args.skip_large:
        with tempfile.TemporaryDirectory() as d:
            big = large_model(Path(d), tiny)
            rows.append(("random Llama (~100M)", bench_mc(big, args.items, args.batch)))
            gens.append(("random Llama (~100M)", bench_generate(big, args.items * 2, args.batch)))
    print(
        "\n| model | items (choices) | kentei s | lm-eval s | speed-up | bare forwards s | kentei / bare "
        "| kentei in forward s | kentei / own forwards | max abs Δ loglik | acc kentei / lm-eval |"
    )
    print("|---|---|---|---|---|---|---|---|---|---|---|")
    for name, r in rows:
        print(
            f"| {name} | {r['items']} ({r['choices']}) | {r['kentei_s']:.2f} | {r['lmeval_s']:.2f} "
            f"| {r['speedup']:.2f}x | {r['bare_s']:.2f} | {r['overhead']:.2f} | {r['forward_s']:.2f} "
            f"| {r['harness_overhead']:.2f} | {r['max_delta']:.1e} "
            f"| {r['acc_kentei']:.3f} / {r['acc_lmeval']:.3f} |"
        )
    print(
        "\n| generation (monozukuri_reading prompts, greedy, stop at newline) | prompts | kentei s | lm-eval s "
        "| speed-up | same text |"
    )
    print("|---|---|---|---|---|---|")
    for name, g in gens:
        print(
            f"| {name} | {g['prompts']} | {g['kentei_s']:.2f} | {g['lmeval_s']:.2f} | {g['speedup']:.2f}x "
            f"| {g['same_text']}/{g['prompts']} |"
        )
    c = cli_start()
    print("\n| CLI cold start (best of 5) | seconds |\n|---|---|")
    for k, v in c.items():
        print(f"| `{k}` | {v:.2f} |")
    print(json.dumps({"mc": dict(rows), "generate": dict(gens), "cli": c}, default=float), file=sys.stderr)


if __name__ == "__main__":
    main()
