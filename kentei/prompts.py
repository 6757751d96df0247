"""Prompts: Jinja2 templates over item fields, seeded k-shot examples, optional chat template.

A prompt is built the same way for every backend: `build_messages` gives the few-shot turns,
and `render_prompt` either joins them as plain text (--no-chat) or hands them to the
tokenizer's chat template (--chat). The final string is stored in the record, so the exact
prompt is reproducible from the record alone.
"""

from __future__ import annotations

import hashlib
import random
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jinja2

from kentei.errors import KenteiError
from kentei.io import dumps
from kentei.spec import GenItem, Item, MCItem, TaskSpec

_ENV = jinja2.Environment(undefined=jinja2.StrictUndefined, autoescape=False, keep_trailing_newline=True)

ChatFormatter = Callable[[list[dict[str, str]]], str]


def compile_templates(spec: TaskSpec, path: Path | None = None) -> None:
    """Fail early, naming task.yaml and the line, when a template does not parse."""
    for field in ("template", "target"):
        src = getattr(spec.prompt, field)
        if src is None:
            continue
        try:
            _ENV.from_string(src)
        except jinja2.TemplateSyntaxError as e:
            raise KenteiError(
                f"prompt.{field}: Jinja2 syntax error: {e.message} (template line {e.lineno})", path
            ) from None


def choices_block(choices: list[str]) -> str:
    """Numbered choices, 1-based (how Japanese exams number them)."""
    return "\n".join(f"{i}. {c}" for i, c in enumerate(choices, start=1))


def _context(item: Item, mc_mode: str) -> dict[str, Any]:
    ctx = item.model_dump(mode="json")
    if isinstance(item, MCItem):
        ctx["choices_block"] = choices_block(item.choices)
    ctx["mc_mode"] = mc_mode
    return ctx


def _render(src: str, ctx: dict[str, Any], what: str, item_id: str) -> str:
    try:
        return _ENV.from_string(src).render(**ctx)
    except jinja2.UndefinedError as e:
        raise KenteiError(f"item {item_id!r}: {what} uses a field the item lacks: {e.message}") from None
    except Exception as e:  # a template that parses can still fail on any item's values
        raise KenteiError(f"item {item_id!r}: {what} failed to render: {type(e).__name__}: {e}") from None


def render_query(spec: TaskSpec, item: Item, mc_mode: str) -> str:
    return _render(spec.prompt.template, _context(item, mc_mode), "prompt.template", item.id)


def render_target(spec: TaskSpec, item: Item, mc_mode: str) -> str:
    """The answer shown after a few-shot example."""
    if spec.prompt.target is not None:
        return _render(spec.prompt.target, _context(item, mc_mode), "prompt.target", item.id)
    if isinstance(item, MCItem):
        return str(item.answer + 1) if mc_mode == "generate" else item.choices[item.answer]
    assert isinstance(item, GenItem)
    return item.references[0]


def choose_fewshot(pool: list[Item], k: int, seed: int, task: str, item_id: str) -> list[Item]:
    """k examples drawn by a RNG keyed on (seed, task, item id).

    Keying on the item (not on its position) keeps prompts identical under --limit, resume
    and reordering.
    """
    if k <= 0:
        return []
    key = hashlib.sha256(f"{seed}:{task}:{item_id}".encode()).digest()
    rng = random.Random(int.from_bytes(key[:8], "big"))
    candidates = [it for it in pool if it.id != item_id]
    if k > len(candidates):
        raise KenteiError(f"task {task}: asked for {k} few-shot examples but only {len(candidates)} exist")
    return rng.sample(candidates, k)


@dataclass(frozen=True)
class Prompt:
    """A rendered prompt: the text sent to the model and the turns it came from."""

    text: str
    messages: tuple[tuple[str, str], ...]
    chat: bool


def build_messages(spec: TaskSpec, item: Item, shots: list[Item], mc_mode: str, chat: bool) -> list[dict[str, str]]:
    msgs: list[dict[str, str]] = []
    if chat and spec.prompt.system:
        msgs.append({"role": "system", "content": spec.prompt.system})
    for shot in shots:
        msgs.append({"role": "user", "content": render_query(spec, shot, mc_mode)})
        msgs.append({"role": "assistant", "content": render_target(spec, shot, mc_mode)})
    msgs.append({"role": "user", "content": render_query(spec, item, mc_mode)})
    return msgs


def render_prompt(
    spec: TaskSpec,
    item: Item,
    shots: list[Item],
    mc_mode: str,
    chat_formatter: ChatFormatter | None,
) -> Prompt:
    """The context string for one item: plain few-shot text, or the chat template's rendering."""
    chat = chat_formatter is not None
    msgs = build_messages(spec, item, shots, mc_mode, chat)
    if chat_formatter is not None:
        text = chat_formatter(msgs)
    else:
        parts = []
        for m in msgs:
            if m["role"] == "user":
                parts.append(m["content"])
            elif m["role"] == "assistant":
                parts[-1] = parts[-1] + spec.prompt.target_delimiter + m["content"]
        text = spec.prompt.fewshot_separator.join(parts)
        # The answer follows the query directly (target_delimiter), as in the few-shot examples.
        text += spec.prompt.target_delimiter
    return Prompt(text, tuple((m["role"], m["content"]) for m in msgs), chat)


def prompt_sha256(spec: TaskSpec, fewshot: list[Item]) -> str:
    """Hash of everything that shapes prompts: the prompt spec, generation spec and the few-shot pool."""
    payload = {
        "prompt": spec.prompt.model_dump(mode="json"),
        "generation": spec.generation.model_dump(mode="json"),
        "num_fewshot": spec.num_fewshot,
        "fewshot": [it.model_dump(mode="json") for it in fewshot],
    }
    return hashlib.sha256(dumps(payload).encode()).hexdigest()
