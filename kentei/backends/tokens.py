"""Tokenizing a (context, continuation) pair the way the model sees it; shared by the hf backend and
the openai backend (which sends token ids so it can split the echoed log-probs by position)."""

from __future__ import annotations

from typing import Any


def encode(tokenizer: Any, text: str, special: bool | None = None) -> list[int]:
    """Token ids of `text`; special tokens (BOS) added unless the text already starts with BOS."""
    if special is None:
        # A chat template usually writes BOS itself; never add a second one.
        bos = tokenizer.bos_token
        special = not (bos and text.startswith(bos))
    return tokenizer(text, add_special_tokens=special)["input_ids"]


def encode_pair(
    tokenizer: Any, context: str, continuation: str, ctx_ids: list[int] | None = None
) -> tuple[list[int], list[int], bool]:
    """Tokens of the context and of the continuation as they appear after it, and whether the
    tokenizer merged a token across the boundary.

    The continuation's tokens are read off the tokenization of the whole string, as the model
    sees it. Trailing spaces of the context move to the continuation (a space belongs to the next
    word for most tokenizers). If the tokenizer merges a token across the boundary, the context's
    own tokenization no longer prefixes the whole; then the two parts are tokenized separately so
    the model is conditioned on exactly the context. `ctx_ids`, the (space-stripped) context's
    tokens when already known, saves encoding it once per choice.
    """
    n_spaces = len(context) - len(context.rstrip(" "))
    if n_spaces:
        continuation = context[-n_spaces:] + continuation
        context = context[:-n_spaces]
    whole = encode(tokenizer, context + continuation)
    ctx = ctx_ids if ctx_ids is not None else encode(tokenizer, context)
    if whole[: len(ctx)] == ctx and len(whole) > len(ctx):
        return ctx, whole[len(ctx) :], False
    return ctx, encode(tokenizer, continuation, special=False), True


def encode_choices(
    tokenizer: Any, key: str, context: str, continuations: tuple[str, ...]
) -> tuple[list[int], list[list[int]], list[bool]]:
    """The context's tokens (encoded once per item), each choice's tokens after it, and per choice
    whether a token merged across the boundary. A choice that encodes to nothing is an error."""
    from kentei.errors import KenteiError

    ctx = encode(tokenizer, context.rstrip(" "))
    conts: list[list[int]] = []
    merged: list[bool] = []
    for c in continuations:
        _, toks, m = encode_pair(tokenizer, context, c, ctx)
        if not toks:
            raise KenteiError(f"{key}: the choice {c!r} encodes to no tokens with this tokenizer")
        conts.append(toks)
        merged.append(m)
    return ctx, conts, merged
