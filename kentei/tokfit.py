"""Tokenizer fit: how well a model's tokenizer suits Japanese, measured over the suite's own text.

A Japanese user pays per token, and a tokenizer that cuts words in odd places or falls back to
raw UTF-8 bytes makes every prompt longer and the model's job harder. `fit_report` compares the
tokenizer's boundaries with fugashi (unidic-lite) morpheme boundaries and counts what a user pays.
docs/tokenizer.md defines each metric; the definitions that matter:

- Positions are character offsets with whitespace removed ("compact" offsets). fugashi skips
  whitespace and tokenizers attach it to either neighbour ('▁の', 'Ġhello'), so a boundary just
  before or just after a space is the same boundary.
- A token boundary is a character offset where one token ends and the next begins. Offsets inside a
  character (between the byte tokens of one character) are not boundaries: byte tokens of one
  character share its span, and a position strictly inside some token's span is never a boundary.
- Internal boundaries only: the start and end of a text are boundaries for every tokenizer.
- A byte-fallback token is a `<0xNN>` vocabulary entry (SentencePiece-style byte fallback) or, in a
  byte-level BPE (GPT-2's 'Ġ' vocabularies, where every token is bytes), a token that covers only
  part of a character: its span overlaps a neighbour's. Whole-character byte-level tokens are not
  byte fallback.
- Sums are over the whole corpus (micro averages), so long texts weigh more.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

from kentei.errors import KenteiError

# Item fields that are metadata, not text a model reads or is expected to write: ids and labels,
# the annotator's rationale (never shown to the model), scorer settings, and `terms` (keywords the
# scorer looks for inside the references, so counting them would count the references twice).
METADATA_FIELDS = frozenset(
    {"id", "category", "rationale", "tags", "cluster", "generator", "answer_type", "unit", "target_register", "terms"}
)

# Files from which AutoTokenizer can build a tokenizer; a folder with none of them has no tokenizer.
TOKENIZER_FILES = (
    "tokenizer.json",
    "tokenizer_config.json",
    "tokenizer.model",
    "spiece.model",
    "sentencepiece.bpe.model",
    "vocab.json",
    "vocab.txt",
    "merges.txt",
)

_BYTE_TOKEN = re.compile(r"^<0x[0-9A-Fa-f]{2}>$")

# One line per metric, for the CLI table and the docs; the order is the order shown.
EXPLAIN: dict[str, str] = {
    "chars_per_token": "characters of text per token (higher: fewer tokens for the same Japanese)",
    "tokens_per_1k_chars": "tokens per 1,000 characters: what a Japanese user pays in context and price",
    "tokens_per_morpheme": "tokens per fugashi morpheme (1.0 would be one token per word piece)",
    "boundary_precision": "share of token boundaries that fall on morpheme boundaries",
    "boundary_recall": "share of morpheme boundaries that are also token boundaries",
    "boundary_f1": "harmonic mean of boundary precision and recall",
    "split_morpheme_rate": "share of morphemes cut inside by a token boundary",
    "byte_fallback_rate": "share of tokens that are raw UTF-8 bytes, not whole characters",
    "unk_rate": "share of tokens that are the unknown token (text the tokenizer cannot represent)",
    "n_texts": "distinct texts measured",
    "n_chars": "characters (Unicode code points, whitespace included)",
    "n_tokens": "tokens (no special tokens added)",
    "n_morphemes": "fugashi morphemes (whitespace not counted)",
}


def _has_tokenizer_files(p: Path) -> bool:
    return any((p / f).is_file() for f in TOKENIZER_FILES)


def load_tokenizer(model: str, trust_remote_code: bool = False, revision: str | None = None) -> Any:
    """The model's tokenizer only (no weights): a local folder, a hub id, or tiny-ja / tiny-ja-b.

    A folder that holds only tokenizer files (no config.json) is accepted too: the tokenizer is all
    this needs. The tokenizer must be a fast one, since boundaries come from its offset mapping.
    """
    from kentei.backends.hf import resolve_model_path

    p = Path(model).expanduser()
    path = str(p) if p.is_dir() and _has_tokenizer_files(p) else resolve_model_path(model)
    local = Path(path)
    if local.is_dir() and not _has_tokenizer_files(local):
        raise KenteiError(f"no tokenizer in {local} (none of {', '.join(TOKENIZER_FILES)})", local)
    from transformers import AutoTokenizer
    from transformers.utils import logging as hf_logging

    hf_logging.disable_progress_bar()
    kwargs: dict[str, Any] = {"trust_remote_code": trust_remote_code}
    if revision:
        kwargs["revision"] = revision
    try:
        tok = AutoTokenizer.from_pretrained(path, **kwargs)
    except (OSError, ValueError, KeyError, TypeError, AttributeError) as e:
        first = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
        raise KenteiError(f"cannot load a tokenizer for {model!r}: {first}") from None
    if not getattr(tok, "is_fast", False):
        raise KenteiError(
            f"the tokenizer of {model!r} ({type(tok).__name__}) is not a fast (Rust) tokenizer; "
            "tokenizer fit needs its character offsets"
        )
    return tok


def _texts_of(value: Any) -> Iterable[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, list) and all(isinstance(v, str) for v in value):
        yield from value


def suite_texts(tasks: Sequence[Any]) -> list[str]:
    """The distinct texts of every test item of `tasks`, in task, item and field order.

    Each string field and each string of a list-of-strings field is one text (a question, each
    choice, an input, each reference or alias, a situation ...), except METADATA_FIELDS. Fields are
    read generically so a new task's text fields count without a change here. Exact duplicates
    (the same choice in many items) are kept once; whitespace-only strings are dropped.
    """
    seen: dict[str, None] = {}
    for task in tasks:
        for li in task.test:
            for key, value in li.item.model_dump(mode="json").items():
                if key in METADATA_FIELDS:
                    continue
                for s in _texts_of(value):
                    if s.strip():
                        seen.setdefault(s, None)
    return list(seen)


def is_byte_level(tokenizer: Any) -> bool:
    """Whether the tokenizer works on UTF-8 bytes throughout (GPT-2 style ByteLevel BPE)."""
    spec = json.loads(tokenizer.backend_tokenizer.to_str())
    parts = (spec.get("pre_tokenizer"), spec.get("decoder"), spec.get("model"))
    return any('"ByteLevel"' in json.dumps(p) for p in parts if p)


def _special_ids(tokenizer: Any) -> tuple[frozenset[int], frozenset[int]]:
    """Ids of `<0xNN>` byte tokens, and of tokens made only of SentencePiece's '▁' (U+2581)."""
    byte_ids: set[int] = set()
    meta_ids: set[int] = set()
    for piece, i in tokenizer.get_vocab().items():
        if _BYTE_TOKEN.match(piece):
            byte_ids.add(i)
        elif piece and not piece.strip("▁"):
            meta_ids.add(i)
    return frozenset(byte_ids), frozenset(meta_ids)


def _compact_index(text: str) -> list[int]:
    """c[i] = non-whitespace characters in text[:i], for i in 0..len(text)."""
    c = [0] * (len(text) + 1)
    k = 0
    for i, ch in enumerate(text):
        if not ch.isspace():
            k += 1
        c[i + 1] = k
    return c


def text_counts(
    text: str,
    ids: Sequence[int],
    offsets: Sequence[tuple[int, int]],
    byte_ids: frozenset[int] = frozenset(),
    meta_ids: frozenset[int] = frozenset(),
    unk_id: int | None = None,
    byte_level: bool = False,
) -> dict[str, int]:
    """Counts for one text from its token ids and character offsets (see the module docstring).

    `byte_level`: count tokens that share a character with a neighbour as byte fallback. Only for
    byte-level tokenizers: elsewhere a shared span comes from a normalizer expanding one character
    (NFKC: ㈱ -> (株)), and those tokens are whole characters of the normalized text.
    """
    from scorers.morph import analyze

    n = len(text)
    spans: list[tuple[int, int]] = []
    for tid, (a, b) in zip(ids, offsets, strict=True):
        # SentencePiece's prepended '▁' gets the first character's span although it stands for no
        # character of the text: treat it as zero-width, not as a token sharing a character.
        if tid in meta_ids and not text[a:b].isspace():
            b = a
        spans.append((a, b))
    n_byte = 0
    for i, (tid, (a, b)) in enumerate(zip(ids, spans, strict=True)):
        if tid in byte_ids:
            n_byte += 1
            continue
        if a == b or not byte_level:
            continue
        # A token covers only part of a character when its span overlaps a neighbour's (byte-level BPE).
        overlaps = any(
            spans[j][0] < b and a < spans[j][1] and spans[j][0] != spans[j][1]
            for j in (i - 1, i + 1)
            if 0 <= j < len(spans)
        )
        n_byte += overlaps
    inside = bytearray(n + 1)
    ends: set[int] = set()
    for a, b in spans:
        if a < b:
            ends.add(a)
            ends.add(b)
            for p in range(a + 1, b):
                inside[p] = 1
    c = _compact_index(text)
    total = c[n]
    tok_b = {c[p] for p in ends if not inside[p]}
    tok_b = {q for q in tok_b if 0 < q < total}
    morphs = [(c[m.start], c[m.start + len(m.surface)]) for m in analyze(text) if m.surface.strip()]
    mor_b = {q for s, e in morphs for q in (s, e) if 0 < q < total}
    split = sum(1 for s, e in morphs if e - s >= 2 and any(s < q < e for q in tok_b))
    return {
        "n_chars": n,
        "n_tokens": len(ids),
        "n_morphemes": len(morphs),
        "tok_boundaries": len(tok_b),
        "morph_boundaries": len(mor_b),
        "shared_boundaries": len(tok_b & mor_b),
        "split_morphemes": split,
        "byte_tokens": n_byte,
        "unk_tokens": sum(1 for t in ids if t == unk_id) if unk_id is not None else 0,
    }


def _ratio(a: float, b: float) -> float:
    return a / b if b else 0.0


def fit_report(tokenizer: Any, texts: list[str], batch_size: int = 512) -> dict[str, float]:
    """Tokenizer-fit metrics over `texts` (micro-averaged); see docs/tokenizer.md.

    Keys: chars_per_token, tokens_per_1k_chars, tokens_per_morpheme, boundary_precision,
    boundary_recall, boundary_f1, split_morpheme_rate, byte_fallback_rate, unk_rate (only when the
    tokenizer has an unk token), n_texts, n_chars, n_tokens, n_morphemes. A ratio with a zero
    denominator is 0.0.
    """
    texts = [t for t in texts if t.strip()]
    if not texts:
        raise KenteiError("no text to measure the tokenizer on")
    if not getattr(tokenizer, "is_fast", False):
        raise KenteiError(f"{type(tokenizer).__name__} is not a fast tokenizer; tokenizer fit needs character offsets")
    byte_ids, meta_ids = _special_ids(tokenizer)
    unk_id = tokenizer.unk_token_id if getattr(tokenizer, "unk_token", None) is not None else None
    byte_level = is_byte_level(tokenizer)
    tot: dict[str, int] = {}
    for start in range(0, len(texts), batch_size):
        chunk = texts[start : start + batch_size]
        enc = tokenizer(chunk, add_special_tokens=False, return_offsets_mapping=True, verbose=False)
        for text, ids, offs in zip(chunk, enc["input_ids"], enc["offset_mapping"], strict=True):
            for k, v in text_counts(text, ids, offs, byte_ids, meta_ids, unk_id, byte_level).items():
                tot[k] = tot.get(k, 0) + v
    p = _ratio(tot["shared_boundaries"], tot["tok_boundaries"])
    r = _ratio(tot["shared_boundaries"], tot["morph_boundaries"])
    report = {
        "chars_per_token": _ratio(tot["n_chars"], tot["n_tokens"]),
        "tokens_per_1k_chars": 1000.0 * _ratio(tot["n_tokens"], tot["n_chars"]),
        "tokens_per_morpheme": _ratio(tot["n_tokens"], tot["n_morphemes"]),
        "boundary_precision": p,
        "boundary_recall": r,
        "boundary_f1": _ratio(2 * p * r, p + r),
        "split_morpheme_rate": _ratio(tot["split_morphemes"], tot["n_morphemes"]),
        "byte_fallback_rate": _ratio(tot["byte_tokens"], tot["n_tokens"]),
    }
    if unk_id is not None:
        report["unk_rate"] = _ratio(tot["unk_tokens"], tot["n_tokens"])
    report.update(
        n_texts=float(len(texts)),
        n_chars=float(tot["n_chars"]),
        n_tokens=float(tot["n_tokens"]),
        n_morphemes=float(tot["n_morphemes"]),
    )
    return report
