"""Prompts: seeded few-shot choice, plain vs chat rendering, the exact text is reproducible."""

from __future__ import annotations

from pathlib import Path

import pytest

from kentei.errors import KenteiError
from kentei.prompts import choices_block, choose_fewshot, render_prompt
from kentei.spec import MCItem
from kentei.tasks import load_task

from .conftest import make_task, mc_items


def task(tmp_path: Path):
    return load_task(make_task(tmp_path, "t", n=8, fewshot=mc_items(6, prefix="fs")))


def test_fewshot_is_seeded_and_keyed_on_the_item(tmp_path: Path) -> None:
    t = task(tmp_path)
    pool = [li.item for li in t.fewshot]
    a = choose_fewshot(pool, 3, 1, "t", "q001")
    assert a == choose_fewshot(pool, 3, 1, "t", "q001")
    assert len({x.id for x in a}) == 3
    seeds = {tuple(x.id for x in choose_fewshot(pool, 3, s, "t", "q001")) for s in range(10)}
    assert len(seeds) > 3  # the seed matters
    items = {tuple(x.id for x in choose_fewshot(pool, 3, 1, "t", f"q{i:03d}")) for i in range(8)}
    assert len(items) > 2  # examples vary across items
    with pytest.raises(KenteiError, match="only 6 exist"):
        choose_fewshot(pool, 7, 1, "t", "q001")


def test_plain_prompt_layout(tmp_path: Path) -> None:
    t = task(tmp_path)
    item, shot = t.test[2].item, t.fewshot[0].item
    assert isinstance(item, MCItem) and isinstance(shot, MCItem)
    p = render_prompt(t.spec, item, [shot], "loglikelihood", None)
    expected_shot = f"{shot.question}\n{choices_block(shot.choices)}\n答え：{shot.choices[shot.answer]}"
    assert p.text == f"{expected_shot}\n\n{item.question}\n{choices_block(item.choices)}\n答え："
    gen = render_prompt(t.spec, item, [shot], "generate", None)
    assert gen.text.startswith(f"{shot.question}\n") and f"答え：{shot.answer + 1}\n\n" in gen.text
    assert choices_block(["甲", "乙"]) == "1. 甲\n2. 乙"


def test_chat_prompt_uses_turns_and_system(tmp_path: Path) -> None:
    t = task(tmp_path)
    t.spec.prompt.system = "あなたは審査員です。"
    seen: list[list[dict[str, str]]] = []

    def fmt(msgs: list[dict[str, str]]) -> str:
        seen.append(msgs)
        return "|".join(f"{m['role']}:{m['content']}" for m in msgs)

    item, shot = t.test[0].item, t.fewshot[1].item
    p = render_prompt(t.spec, item, [shot], "loglikelihood", fmt)
    roles = [m["role"] for m in seen[0]]
    assert roles == ["system", "user", "assistant", "user"] and p.chat
    assert seen[0][2]["content"] == shot.choices[shot.answer]  # type: ignore[union-attr]
    plain = render_prompt(t.spec, item, [shot], "loglikelihood", None)
    assert "審査員" not in plain.text  # the system prompt belongs to chat mode only


def test_missing_template_field_is_a_clear_error(tmp_path: Path) -> None:
    t = task(tmp_path)
    t.spec.prompt.template = "{{ question }} {{ passage }}"
    with pytest.raises(KenteiError, match="'passage' is undefined"):
        render_prompt(t.spec, t.test[0].item, [], "loglikelihood", None)
