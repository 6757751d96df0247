"""Build tiny-ja: a real, tiny Llama-architecture Japanese causal LM, reproducibly, on CPU.

It is the smoke model that makes `make demo` and CI real end to end: a byte-fallback BPE
tokenizer and a ~1M-parameter Llama trained for a few hundred steps on the prose in
corpus/ (written for the purpose; never test items). It loads through the same
AutoModelForCausalLM / AutoTokenizer path as any Hugging Face model. It is not a quality model.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import shutil
import tempfile
import time
from pathlib import Path
from typing import Any

BUILD_VERSION = 1
CORPUS_DIR = Path(__file__).parent / "corpus"
SPECIAL = ["<unk>", "<s>", "</s>", "<pad>", "<|system|>", "<|user|>", "<|assistant|>"]
CHAT_TEMPLATE = (
    "{{ bos_token }}{% for m in messages %}"
    "{% if m['role'] == 'system' %}<|system|>\n{{ m['content'] }}\n"
    "{% elif m['role'] == 'user' %}<|user|>\n{{ m['content'] }}\n"
    "{% else %}<|assistant|>\n{{ m['content'] }}</s>\n{% endif %}"
    "{% endfor %}{% if add_generation_prompt %}<|assistant|>\n{% endif %}"
)
HPARAMS: dict[str, Any] = {
    "vocab_size": 3000,
    "limit_alphabet": 1200,  # rarer characters fall back to UTF-8 byte tokens
    "hidden_size": 128,
    "intermediate_size": 352,
    "num_hidden_layers": 3,
    "num_attention_heads": 4,
    "num_key_value_heads": 2,
    "max_position_embeddings": 2048,
    "seq_len": 128,
    "batch_size": 16,
    "steps": 300,
    "lr": 3e-3,
    "seed": 1234,
}


def corpus_files() -> list[Path]:
    return sorted(CORPUS_DIR.glob("*.txt"))


# Built-in variants. tiny-ja-b has a smaller vocabulary (more byte fallback), a different seed and
# one more layer, so comparisons and tokenizer-fit pages have a real second model.
VARIANTS: dict[str, dict[str, Any]] = {
    "tiny-ja": {},
    "tiny-ja-b": {"vocab_size": 1500, "limit_alphabet": 700, "num_hidden_layers": 4, "seed": 4321},
}


def hparams(variant: str = "tiny-ja") -> dict[str, Any]:
    if variant not in VARIANTS:
        raise ValueError(f"unknown tiny variant {variant!r}; known: {', '.join(VARIANTS)}")
    return {**HPARAMS, **VARIANTS[variant]}


def corpus_sha256(variant: str = "tiny-ja") -> str:
    h = hashlib.sha256()
    for f in corpus_files():
        h.update(f.name.encode())
        h.update(f.read_bytes())
    h.update(json.dumps(hparams(variant), sort_keys=True).encode())
    h.update(str(BUILD_VERSION).encode())
    return h.hexdigest()


def cache_root() -> Path:
    return Path(os.environ.get("KENTEI_CACHE", Path.home() / ".cache" / "kentei"))


def tiny_path(variant: str = "tiny-ja") -> Path:
    return cache_root() / f"{variant}-v{BUILD_VERSION}-{corpus_sha256(variant)[:12]}"


def _documents() -> list[str]:
    """Blank-line separated blocks; chat blocks (<|user|> ... <|assistant|> ...) become chat turns
    ending with </s>, so the model learns where an answer stops."""
    docs: list[str] = []
    for f in corpus_files():
        for block in f.read_text(encoding="utf-8").split("\n\n"):
            block = block.strip()
            if not block:
                continue
            if block.startswith("<|user|>") and "<|assistant|>" in block:
                user, _, answer = block.partition("<|assistant|>")
                docs.append(f"{user.strip()}\n<|assistant|>\n{answer.strip()}</s>")
            else:
                docs.append(block)
    return docs


def _train_tokenizer(docs: list[str], out: Path, hp: dict[str, Any]) -> Any:
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, processors, trainers
    from transformers import PreTrainedTokenizerFast

    tok = Tokenizer(models.BPE(unk_token="<unk>", byte_fallback=True, fuse_unk=True))
    tok.pre_tokenizer = pre_tokenizers.Sequence(
        [
            pre_tokenizers.Metaspace(replacement="▁", prepend_scheme="never", split=True),
            pre_tokenizers.Digits(individual_digits=True),
        ]
    )
    tok.decoder = decoders.Sequence([decoders.Replace("▁", " "), decoders.ByteFallback(), decoders.Fuse()])
    trainer = trainers.BpeTrainer(
        vocab_size=hp["vocab_size"] - 256,
        special_tokens=SPECIAL,
        limit_alphabet=hp["limit_alphabet"],
        show_progress=False,
    )
    tok.train_from_iterator(docs, trainer=trainer)
    # Byte-fallback needs the 256 <0xNN> tokens in the vocabulary (as in Llama's tokenizer).
    spec = json.loads(tok.to_str())
    vocab = spec["model"]["vocab"]
    for b in range(256):
        vocab.setdefault(f"<0x{b:02X}>", len(vocab))
    tok = Tokenizer.from_str(json.dumps(spec))
    bos = tok.token_to_id("<s>")
    tok.post_processor = processors.TemplateProcessing(
        single="<s> $A", pair="<s> $A <s> $B", special_tokens=[("<s>", bos)]
    )
    fast = PreTrainedTokenizerFast(
        tokenizer_object=tok,
        bos_token="<s>",
        eos_token="</s>",
        unk_token="<unk>",
        pad_token="<pad>",
        additional_special_tokens=SPECIAL[4:],
        model_max_length=hp["max_position_embeddings"],
    )
    fast.chat_template = CHAT_TEMPLATE
    fast.save_pretrained(out)
    return fast


def _train_model(docs: list[str], tok: Any, out: Path, hp: dict[str, Any]) -> dict[str, Any]:
    import torch
    from transformers import LlamaConfig, LlamaForCausalLM

    torch.manual_seed(hp["seed"])
    threads = torch.get_num_threads()
    torch.set_num_threads(min(2, threads))  # fixed thread count: same floats on any machine size
    stream: list[int] = []
    for d in docs:
        stream.extend(tok(d)["input_ids"])  # each document starts with <s>
    data = torch.tensor(stream, dtype=torch.long)
    cfg = LlamaConfig(
        vocab_size=len(tok),
        hidden_size=hp["hidden_size"],
        intermediate_size=hp["intermediate_size"],
        num_hidden_layers=hp["num_hidden_layers"],
        num_attention_heads=hp["num_attention_heads"],
        num_key_value_heads=hp["num_key_value_heads"],
        max_position_embeddings=hp["max_position_embeddings"],
        tie_word_embeddings=True,
        bos_token_id=tok.bos_token_id,
        eos_token_id=tok.eos_token_id,
        pad_token_id=tok.pad_token_id,
        rms_norm_eps=1e-5,
    )
    model = LlamaForCausalLM(cfg)
    opt = torch.optim.AdamW(model.parameters(), lr=hp["lr"], weight_decay=0.01, betas=(0.9, 0.95))
    gen = torch.Generator().manual_seed(hp["seed"])
    L, B, steps = hp["seq_len"], hp["batch_size"], hp["steps"]
    model.train()
    losses: list[float] = []
    for step in range(steps):
        lr = hp["lr"] * min(1.0, (step + 1) / 30) * 0.5 * (1 + math.cos(math.pi * step / steps))
        for g in opt.param_groups:
            g["lr"] = lr
        starts = torch.randint(0, len(data) - L - 1, (B,), generator=gen)
        batch = torch.stack([data[s : s + L] for s in starts.tolist()])
        loss = model(input_ids=batch, labels=batch).loss
        opt.zero_grad()
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        losses.append(loss.item())
    torch.set_num_threads(threads)
    model.eval()
    model.generation_config.pad_token_id = tok.pad_token_id
    model.save_pretrained(out)
    return {
        "train_tokens": len(stream),
        "final_loss": sum(losses[-20:]) / 20,
        "first_loss": losses[0],
        "n_params": sum(p.numel() for p in model.parameters()),
    }


def build(out: Path, variant: str = "tiny-ja") -> dict[str, Any]:
    """Build tiny-ja into `out` (a new folder); returns the build's metadata."""
    from transformers.utils import logging as hf_logging

    hf_logging.disable_progress_bar()
    t0 = time.time()
    docs = _documents()
    if not docs:
        raise RuntimeError(f"no training text in {CORPUS_DIR}")
    out.mkdir(parents=True, exist_ok=True)
    hp = hparams(variant)
    tok = _train_tokenizer(docs, out, hp)
    stats = _train_model(docs, tok, out, hp)
    meta = {
        "name": variant,
        "build_version": BUILD_VERSION,
        "corpus_sha256": corpus_sha256(variant),
        "hparams": hp,
        "seconds": round(time.time() - t0, 1),
        **stats,
    }
    (out / "kentei_tiny.json").write_text(json.dumps(meta, indent=2, ensure_ascii=False) + "\n")
    return meta


def ensure_tiny(force: bool = False, variant: str = "tiny-ja") -> Path:
    """The path of the built tiny-ja, building it first if needed (once; safe under concurrency)."""
    import fcntl

    path = tiny_path(variant)
    if (path / "kentei_tiny.json").exists() and not force:
        return path
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path.parent / f".{variant}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if (path / "kentei_tiny.json").exists() and not force:
            return path
        tmp = Path(tempfile.mkdtemp(prefix=".tiny-ja-build-", dir=path.parent))
        try:
            build(tmp, variant)
            os.chmod(tmp, 0o755)
            if path.exists():
                shutil.rmtree(path)
            os.replace(tmp, path)
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
    return path
