"""Hugging Face backend: any causal LM through AutoModelForCausalLM + AutoTokenizer."""

from __future__ import annotations

import hashlib
import json
import os
import re
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from kentei import failpoints
from kentei.backends.tokens import encode, encode_choices, encode_pair
from kentei.errors import KenteiError
from kentei.requests import GenerateRequest, GenerateResult, LoglikelihoodRequest, LoglikelihoodResult

if TYPE_CHECKING:
    import torch

T = TypeVar("T")
R = TypeVar("R")

_HUB_ID = re.compile(r"^[A-Za-z0-9][\w.\-]*(/[\w.\-]+)?$")
# Above this many bytes of weights, hash the safetensors headers (names, shapes, dtypes, offsets)
# and file sizes instead of every byte: hashing a 140 GB checkpoint would take minutes.
FULL_HASH_LIMIT = 4 * 1024**3


def is_oom(e: BaseException) -> bool:
    import torch

    if isinstance(e, torch.OutOfMemoryError):
        return True
    return isinstance(e, RuntimeError) and "out of memory" in str(e).lower()


def resolve_model_path(model: str) -> str:
    """A local path, the built-in tiny-ja, or a hub id; anything else is a clear error."""
    from kentei.tiny.build import VARIANTS

    if model in VARIANTS:
        from kentei.tiny.build import ensure_tiny

        return str(ensure_tiny(variant=model))
    p = Path(model).expanduser()
    if p.exists():
        if not p.is_dir():
            raise KenteiError("model path is a file; give the folder that holds config.json", p)
        if not (p / "config.json").exists():
            raise KenteiError("not a Hugging Face model folder (no config.json)", p)
        return str(p)
    looks_like_path = model.startswith((".", "/", "~")) or os.sep in model.strip("/").replace("/", "", 1)
    if looks_like_path or not _HUB_ID.match(model):
        raise KenteiError(f"model not found: {model!r} is not an existing folder, nor a Hugging Face id")
    return model


def weights_fingerprint(path: Path) -> dict[str, Any]:
    files = sorted([f for f in path.iterdir() if f.suffix in (".safetensors", ".bin", ".pt", ".pth") and f.is_file()])
    total = sum(f.stat().st_size for f in files)
    h = hashlib.sha256()
    if total <= FULL_HASH_LIMIT:
        for f in files:
            h.update(f.name.encode())
            with f.open("rb") as fh:
                while chunk := fh.read(1 << 20):
                    h.update(chunk)
        return {"weights_sha256": h.hexdigest(), "weights_hash": "full", "weights_bytes": total}
    for f in files:
        h.update(f"{f.name}:{f.stat().st_size}".encode())
        if f.suffix == ".safetensors":
            with f.open("rb") as fh:
                n = int.from_bytes(fh.read(8), "little")
                h.update(fh.read(n))
    return {"weights_sha256": h.hexdigest(), "weights_hash": "headers+sizes", "weights_bytes": total}


def _pick_device(device: str | None) -> str:
    import torch

    if device and device != "auto":
        return device
    if torch.cuda.is_available():
        return "cuda"
    if getattr(torch.backends, "mps", None) is not None and torch.backends.mps.is_available():
        return "mps"
    return "cpu"


def _pick_dtype(dtype: str, device: str) -> torch.dtype:
    import torch

    if dtype == "auto":
        if device.startswith("cuda") and torch.cuda.is_bf16_supported():
            return torch.bfloat16
        return torch.float32
    table = {
        "float32": torch.float32,
        "fp32": torch.float32,
        "float16": torch.float16,
        "fp16": torch.float16,
        "bfloat16": torch.bfloat16,
        "bf16": torch.bfloat16,
    }
    if dtype not in table:
        raise KenteiError(f"unknown dtype {dtype!r}; use auto, float32, float16 or bfloat16")
    return table[dtype]


# Model families whose every layer attends causally over the whole sequence with positions taken
# from position_ids, so a custom 4D mask and per-choice positions give exact results. Others (ALiBi,
# local or chunked attention, unknown remote code) use the two-pass cached path.
PACKABLE_TYPES = frozenset(
    {"llama", "mistral", "mixtral", "qwen2", "qwen2_moe", "qwen3", "qwen3_moe", "gpt2", "gpt_neox",
     "opt", "phi", "phi3", "gemma", "stablelm", "olmo", "olmo2", "granite"}
)  # fmt: skip


def packing_supported(cfg: Any) -> bool:
    """Whether tree-packed scoring can be exact for this model (still checked once at load)."""
    if getattr(cfg, "model_type", None) not in PACKABLE_TYPES:
        return False
    if getattr(cfg, "_attn_implementation", None) not in ("sdpa", "eager"):
        return False  # flash-attention kernels take no custom mask
    if getattr(cfg, "sliding_window", None) and getattr(cfg, "use_sliding_window", True):
        return False
    layer_types = getattr(cfg, "layer_types", None) or []
    if any(t != "full_attention" for t in layer_types):
        return False
    return not (getattr(cfg, "attention_chunk_size", None) or getattr(cfg, "alibi", False))


class HFBackend:
    """A causal LM loaded with transformers.

    Log-likelihoods run each context once with a KV cache and then all of that item's
    continuations as one batch on top of the cached prefix. Generation is batched, greedy,
    left-padded and stops on stop strings.
    """

    name = "hf"

    def __init__(
        self,
        model: Any,
        tokenizer: Any,
        model_id: str,
        path: str,
        device: str,
        batch_size: int | str,
        load_info: dict[str, Any],
    ) -> None:
        self.model = model
        self.tokenizer = tokenizer
        self.model_id = model_id
        self.path = path
        self.device = device
        self.auto_batch = batch_size == "auto"
        self.batch_size = 0 if self.auto_batch else int(batch_size)
        self._info = load_info
        self.max_length = int(getattr(model.config, "max_position_embeddings", 0) or 2048)
        import inspect

        # transformers 5.24 renamed past_key_values -> cache; accept both generations of models.
        params = inspect.signature(model.forward).parameters
        self._cache_kw = "cache" if "cache" in params else "past_key_values"
        self.packed: bool = packing_supported(model.config)
        self._info["ll_scoring"] = "packed" if self.packed else "cached"

    # ---------------------------------------------------------------- loading
    @classmethod
    def load(
        cls,
        model: str,
        *,
        device: str | None = None,
        dtype: str = "auto",
        batch_size: int | str = "auto",
        trust_remote_code: bool = False,
        allow_pickle: bool = False,
        revision: str | None = None,
        **_: Any,
    ) -> HFBackend:
        from transformers import AutoModelForCausalLM, AutoTokenizer
        from transformers.utils import logging as hf_logging

        hf_logging.disable_progress_bar()  # kentei draws its own progress
        path = resolve_model_path(model)
        dev = _pick_device(device)
        torch_dtype = _pick_dtype(dtype, dev)
        common: dict[str, Any] = {"trust_remote_code": trust_remote_code}
        if revision:
            common["revision"] = revision
        try:
            tok = AutoTokenizer.from_pretrained(path, **common)
        except (OSError, ValueError) as e:
            raise KenteiError(f"cannot load a tokenizer for model {model!r}: {str(e).splitlines()[0]}") from None
        kwargs: dict[str, Any] = dict(common, dtype=torch_dtype)
        if not allow_pickle:
            kwargs["use_safetensors"] = True
        if device == "auto":
            kwargs["device_map"] = "auto"  # spread across every visible GPU (accelerate)
        try:
            lm = AutoModelForCausalLM.from_pretrained(path, **kwargs)
        except (OSError, ValueError) as e:
            msg = str(e).splitlines()[0]
            if not allow_pickle and "safetensors" in str(e).lower():
                msg += " (only pickle weights? pass --allow-pickle if you trust their source)"
            raise KenteiError(f"cannot load model {model!r}: {msg}") from None
        failpoints.hit("model_load")  # weights in memory, nothing of the run written yet
        if device != "auto":
            lm.to(dev)
        lm.eval()
        if tok.pad_token_id is None:
            tok.pad_token = tok.eos_token if tok.eos_token is not None else tok.unk_token
        info = {
            "id": model,
            "backend": "hf",
            "path": path,
            "revision": revision or getattr(lm.config, "_commit_hash", None),
            "dtype": str(torch_dtype).removeprefix("torch."),
            "device": "auto" if device == "auto" else dev,
            "n_params": int(sum(p.numel() for p in lm.parameters())),
            "architecture": (lm.config.architectures or [type(lm).__name__])[0],
            "tokenizer": {
                "class": type(tok).__name__,
                "vocab_size": len(tok),
                "sha256": _tokenizer_sha(path),
            },
            "chat_template_sha256": (
                hashlib.sha256(tok.chat_template.encode()).hexdigest() if getattr(tok, "chat_template", None) else None
            ),
            "trust_remote_code": trust_remote_code,
        }
        if Path(path).is_dir():
            info.update(weights_fingerprint(Path(path)))
        backend = cls(lm, tok, model, path, dev, batch_size, info)
        if backend.packed:
            backend._check_packed(LoglikelihoodRequest("check", "日本語の文です。", ("はい、そうです", "いいえ")))
        return backend

    def info(self) -> dict[str, Any]:
        return dict(self._info)

    # ---------------------------------------------------------------- chat
    def has_chat_template(self) -> bool:
        return bool(getattr(self.tokenizer, "chat_template", None))

    def apply_chat_template(self, messages: list[dict[str, str]]) -> str:
        return self.tokenizer.apply_chat_template(messages, tokenize=False, add_generation_prompt=True)

    # ---------------------------------------------------------------- tokens
    def _encode(self, text: str, special: bool | None = None) -> list[int]:
        return encode(self.tokenizer, text, special)

    def encode_pair(
        self, context: str, continuation: str, ctx_ids: list[int] | None = None
    ) -> tuple[list[int], list[int], bool]:
        """See `kentei.backends.tokens.encode_pair`."""
        return encode_pair(self.tokenizer, context, continuation, ctx_ids)

    # ---------------------------------------------------------------- batching
    def _run_batched(self, items: Sequence[T], fn: Callable[[list[T]], list[R]], default_bs: int) -> list[R]:
        """Call fn on consecutive batches; on out-of-memory halve the batch and retry."""
        import torch

        bs = self.batch_size or self._auto_batch_size(default_bs)
        out: list[R] = []
        i = 0
        while i < len(items):
            chunk = list(items[i : i + bs])
            try:
                out.extend(fn(chunk))
                i += len(chunk)
            except Exception as e:
                if not is_oom(e):
                    raise
                if torch.cuda.is_available():
                    torch.cuda.empty_cache()
                if bs == 1:
                    raise KenteiError(
                        "out of memory even at batch size 1; try --dtype bfloat16 or a smaller --num-fewshot"
                    ) from None
                bs = max(1, bs // 2)
                if self.auto_batch or self.batch_size:
                    self.batch_size = bs  # remember: later calls start from what fits
        return out

    def _auto_batch_size(self, default_bs: int) -> int:
        """On a GPU, start large and let OOM back-off find what fits; on CPU big batches only
        add padding work."""
        if self.device.startswith("cuda"):
            self.batch_size = 64
            return 64
        self.batch_size = default_bs
        return default_bs

    # ---------------------------------------------------------------- loglikelihood
    def loglikelihood(self, requests: list[LoglikelihoodRequest]) -> list[LoglikelihoodResult]:
        return self._sorted(requests, lambda rs: self._run_batched(rs, self._ll_batch, default_bs=8))

    @staticmethod
    def _sorted(requests: list[Any], run: Callable[[list[Any]], list[R]]) -> list[R]:
        """Run longest-first (batches of similar length pad less; OOM shows up at once), return in order."""
        order = sorted(range(len(requests)), key=lambda i: -len(requests[i].context))
        results = run([requests[i] for i in order])
        out: list[Any] = [None] * len(requests)
        for pos, i in enumerate(order):
            out[i] = results[pos]
        return out

    def _prepare_ll(
        self, reqs: list[LoglikelihoodRequest]
    ) -> tuple[list[list[int]], list[list[list[int]]], list[bool], list[bool]]:
        """Context tokens, continuation tokens, boundary-merged and truncated flags per request."""
        ctxs: list[list[int]] = []
        conts: list[list[list[int]]] = []
        merged: list[bool] = []
        truncated: list[bool] = []
        for r in reqs:
            ctx, cs, flags = encode_choices(self.tokenizer, r.key, r.context, r.continuations)
            room = self.max_length - max(len(c) for c in cs)
            if room < 1:
                longest = max(len(c) for c in cs)
                raise KenteiError(f"{r.key}: a choice is {longest} tokens, as long as the model's context")
            if not ctx:
                raise KenteiError(f"{r.key}: empty context (and the tokenizer adds no BOS): nothing to condition on")
            truncated.append(len(ctx) > room)
            ctxs.append(ctx[-room:] if len(ctx) > room else ctx)
            conts.append(cs)
            merged.append(any(flags))
        return ctxs, conts, merged, truncated

    def _ll_batch(self, reqs: list[LoglikelihoodRequest]) -> list[LoglikelihoodResult]:
        if self.packed:
            return self._ll_batch_packed(reqs)
        return self._ll_batch_cached(reqs)

    def _check_packed(self, req: LoglikelihoodRequest) -> None:
        """Once per model: the packed path must agree with the cached one on a real request, or
        it is switched off (an architecture may treat custom masks or positions its own way)."""
        import torch

        try:
            a = self._ll_batch_packed([req])[0].logprobs
            b = self._ll_batch_cached([req])[0].logprobs
        except Exception:  # a model that cannot take the packed inputs at all: the cached path
            self.packed = False
            self._info["ll_scoring"] = "cached"
            return
        # Loose enough for bf16/fp16 rounding (a few hundredths of a nat), tight enough to catch a model
        # that mishandles the mask or positions (errors of whole nats).
        half = next(self.model.parameters()).dtype != torch.float32
        tol = 5e-2 if half else 1e-3
        if any(abs(x - y) > tol * max(1.0, abs(y)) for x, y in zip(a, b, strict=True)):
            self.packed = False
        self._info["ll_scoring"] = "packed" if self.packed else "cached"

    def _ll_batch_packed(self, reqs: list[LoglikelihoodRequest]) -> list[LoglikelihoodResult]:
        """One forward per batch: each row is an item's context followed by all its choices, and a
        4D attention mask lets every choice see the context and itself only (tree attention).
        The context is computed once and no KV cache is copied per choice."""
        import torch

        dev = self.model.device
        pad = self.tokenizer.pad_token_id
        ctxs, conts, merged, truncated = self._prepare_ll(reqs)
        rows: list[tuple[list[int], list[int], list[int], list[int]]] = []
        for ctx, cs in zip(ctxs, conts, strict=True):
            toks, pos, seg, starts = list(ctx), list(range(len(ctx))), [0] * len(ctx), []
            for j, c in enumerate(cs, start=1):
                starts.append(len(toks))
                inp = c[:-1]  # the last token is only predicted, never fed
                toks += inp
                pos += range(len(ctx), len(ctx) + len(inp))
                seg += [j] * len(inp)
            rows.append((toks, pos, seg, starts))
        B, T = len(rows), max(len(r[0]) for r in rows)
        ids = torch.full((B, T), pad, dtype=torch.long)
        pos_ids = torch.zeros((B, T), dtype=torch.long)
        segs = torch.full((B, T), -1, dtype=torch.long)  # -1: padding
        offsets = []
        for b, (toks, pos, seg, _) in enumerate(rows):
            off = T - len(toks)  # left padding keeps every row's needed logits near the end
            offsets.append(off)
            ids[b, off:] = torch.tensor(toks)
            pos_ids[b, off:] = torch.tensor(pos)
            segs[b, off:] = torch.tensor(seg)
        ar = torch.arange(T)
        causal = ar[:, None] >= ar[None, :]
        q_seg, k_seg = segs[:, :, None], segs[:, None, :]
        # A context key is seen by every later query; a choice key only by its own choice.
        # Padding queries see padding keys (not a row of -inf: that would give NaNs).
        allowed = causal[None] & ((k_seg == 0) | (k_seg == q_seg))
        mask4 = allowed[:, None]
        if self.model.config._attn_implementation == "eager":
            dtype = next(self.model.parameters()).dtype
            mask4 = torch.zeros(mask4.shape, dtype=dtype).masked_fill(~mask4, torch.finfo(dtype).min)
        needed: list[list[list[int]]] = []  # per row, per choice: the position predicting each token
        for b, (ctx, cs) in enumerate(zip(ctxs, conts, strict=True)):
            last_ctx = offsets[b] + len(ctx) - 1
            starts = rows[b][3]
            needed.append([[last_ctx] + [offsets[b] + starts[j] + k for k in range(len(c) - 1)]
                           for j, c in enumerate(cs)])  # fmt: skip
        keep = sorted({p for row in needed for ch in row for p in ch})
        where = {p: i for i, p in enumerate(keep)}
        with torch.inference_mode():
            out = self.model(
                input_ids=ids.to(dev),
                attention_mask=mask4.to(dev),
                position_ids=pos_ids.to(dev),
                use_cache=False,
                logits_to_keep=torch.tensor(keep, device=dev),
            )
        logp = torch.log_softmax(out.logits.float(), dim=-1)  # [B, len(keep), V]
        results: list[LoglikelihoodResult] = []
        for b, cs in enumerate(conts):
            lps: list[float] = []
            greedy: list[bool] = []
            for j, c in enumerate(cs):
                at = torch.tensor([where[p] for p in needed[b][j]], device=logp.device)
                step = logp[b, at]  # [len(c), V]
                tgt = torch.tensor(c, device=logp.device)
                lps.append(step.gather(-1, tgt[:, None]).sum().item())
                greedy.append(bool((step.argmax(-1) == tgt).all().item()))
            results.append(LoglikelihoodResult(lps, greedy, [len(c) for c in cs], merged[b], truncated[b]))
        return results

    def _ll_batch_cached(self, reqs: list[LoglikelihoodRequest]) -> list[LoglikelihoodResult]:
        """Two passes: contexts once with a KV cache, then every choice on its item's cached prefix
        (the cache is copied per choice). For attention kernels that take no custom 4D mask."""
        import torch

        dev = self.model.device
        pad = self.tokenizer.pad_token_id
        ctxs, conts, merged, truncated = self._prepare_ll(reqs)

        # Pass 1: every context once, left-padded, keeping only the last position's logits.
        L = max(len(c) for c in ctxs)
        ids = torch.full((len(reqs), L), pad, dtype=torch.long)
        mask = torch.zeros((len(reqs), L), dtype=torch.long)
        for i, c in enumerate(ctxs):
            ids[i, L - len(c) :] = torch.tensor(c)
            mask[i, L - len(c) :] = 1
        pos = (mask.cumsum(-1) - 1).clamp(min=0)
        with torch.inference_mode():
            out = self.model(
                input_ids=ids.to(dev),
                attention_mask=mask.to(dev),
                position_ids=pos.to(dev),
                use_cache=True,
                logits_to_keep=1,
            )
        first_lp = torch.log_softmax(out.logits[:, -1, :].float(), dim=-1)  # [B, V]
        cache = getattr(out, "cache", None) or getattr(out, "past_key_values", None)

        # Pass 2: all continuations on top of their item's cached context.
        rows = [(i, j) for i, cs in enumerate(conts) for j in range(len(cs))]
        M = max(len(conts[i][j]) for i, j in rows)
        lp_rest = None
        if M > 1:
            if cache is None or not hasattr(cache, "reorder_cache"):
                raise KenteiError(f"model {self.model_id!r} returned no reusable KV cache")
            owner = torch.tensor([i for i, _ in rows], device=dev)
            cache.reorder_cache(owner)
            cids = torch.full((len(rows), M - 1), pad, dtype=torch.long)
            cmask = torch.zeros((len(rows), M - 1), dtype=torch.long)
            for r, (i, j) in enumerate(rows):
                toks = conts[i][j][:-1]
                if toks:
                    cids[r, : len(toks)] = torch.tensor(toks)
                    cmask[r, : len(toks)] = 1
            full_mask = torch.cat([mask[owner.cpu()], cmask], dim=1)
            ctx_len = mask.sum(-1)[owner.cpu()]
            # Padding positions of short choices are masked; keep them inside the position table.
            cpos = (ctx_len[:, None] + torch.arange(M - 1)[None, :]).clamp(max=self.max_length - 1)
            with torch.inference_mode():
                out2 = self.model(
                    input_ids=cids.to(dev),
                    attention_mask=full_mask.to(dev),
                    position_ids=cpos.to(dev),
                    use_cache=True,
                    **{self._cache_kw: cache},
                )
            lp_rest = torch.log_softmax(out2.logits.float(), dim=-1)  # [R, M-1, V]

        results: list[LoglikelihoodResult] = []
        r = 0
        for i, cs in enumerate(conts):
            lps: list[float] = []
            greedy: list[bool] = []
            for c in cs:
                tok0 = c[0]
                total = first_lp[i, tok0].item()
                is_g = bool(first_lp[i].argmax().item() == tok0)
                if len(c) > 1 and lp_rest is not None:
                    rest = torch.tensor(c[1:], device=lp_rest.device)
                    step = lp_rest[r, : len(c) - 1]
                    total += step.gather(-1, rest[:, None]).sum().item()
                    is_g = is_g and bool((step.argmax(-1) == rest).all().item())
                lps.append(total)
                greedy.append(is_g)
                r += 1
            results.append(LoglikelihoodResult(lps, greedy, [len(c) for c in cs], merged[i], truncated[i]))
        return results

    # ---------------------------------------------------------------- generation
    def generate(self, requests: list[GenerateRequest]) -> list[GenerateResult]:
        return self._sorted(requests, lambda rs: self._run_batched(rs, self._gen_batch, default_bs=8))

    def _gen_batch(self, reqs: list[GenerateRequest]) -> list[GenerateResult]:
        import torch
        from transformers import GenerationConfig, StoppingCriteria, StoppingCriteriaList

        tok = self.tokenizer
        max_new = max(r.max_new_tokens for r in reqs)
        encoded = [self._encode(r.context) for r in reqs]
        room = self.max_length - max_new
        encoded = [e[-room:] if len(e) > room else e for e in encoded]
        L = max(len(e) for e in encoded)
        ids = torch.full((len(reqs), L), tok.pad_token_id, dtype=torch.long)
        mask = torch.zeros((len(reqs), L), dtype=torch.long)
        for i, e in enumerate(encoded):
            ids[i, L - len(e) :] = torch.tensor(e)
            mask[i, L - len(e) :] = 1
        stops = [r.stop for r in reqs]

        class StopOnStrings(StoppingCriteria):
            # Decoding only the tail keeps this cheap; 16 tokens cover any realistic stop string.
            def __call__(self, input_ids: torch.Tensor, scores: torch.Tensor, **kw: Any) -> torch.Tensor:
                done = torch.zeros(input_ids.shape[0], dtype=torch.bool, device=input_ids.device)
                for b in range(input_ids.shape[0]):
                    if stops[b]:
                        tail = tok.decode(input_ids[b, L:][-16:], skip_special_tokens=True)
                        done[b] = any(s in tail for s in stops[b])
                return done

        eos = tok.eos_token_id
        cfg = GenerationConfig(
            max_new_tokens=max_new, do_sample=False, pad_token_id=tok.pad_token_id, eos_token_id=eos, num_beams=1
        )
        with torch.inference_mode():
            out = self.model.generate(
                input_ids=ids.to(self.model.device),
                attention_mask=mask.to(self.model.device),
                generation_config=cfg,
                stopping_criteria=StoppingCriteriaList([StopOnStrings()]),
            )
        results = []
        for b, r in enumerate(reqs):
            new = out[b, L:].tolist()
            if eos is not None and eos in new:
                new = new[: new.index(eos)]
                finish = "eos"
            else:
                finish = "length"
            new = [t for t in new if t != tok.pad_token_id] if tok.pad_token_id != eos else new
            text = tok.decode(new[: r.max_new_tokens], skip_special_tokens=True)
            cut = min((text.find(s) for s in r.stop if s and s in text), default=-1)
            if cut >= 0:
                text, finish = text[:cut], "stop"
            results.append(GenerateResult(text, len(new), finish))
        return results


def _tokenizer_sha(path: str) -> str | None:
    p = Path(path)
    for name in ("tokenizer.json", "tokenizer.model"):
        if (p / name).exists():
            return hashlib.sha256((p / name).read_bytes()).hexdigest()
    cfg = p / "tokenizer_config.json"
    if cfg.exists():
        return hashlib.sha256(json.dumps(json.loads(cfg.read_text()), sort_keys=True).encode()).hexdigest()
    return None
