"""Finding and loading tasks: tasks/<name>/{task.yaml, test.jsonl, fewshot.jsonl, README.md}."""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from kentei.errors import KenteiError
from kentei.io import dumps, iter_jsonl, read_text
from kentei.spec import FAMILIES, NAME_PATTERN, GenItem, Item, MCItem, TaskSpec


@dataclass(frozen=True)
class LoadedItem:
    item: Item
    path: Path
    line: int


@dataclass
class Task:
    spec: TaskSpec
    dir: Path
    test: list[LoadedItem]
    fewshot: list[LoadedItem]

    @property
    def name(self) -> str:
        return self.spec.name

    @property
    def items(self) -> list[Item]:
        return [li.item for li in self.test]

    def items_sha256(self) -> str:
        """Hash of the test items as loaded (canonical JSON), so records pin the exact data."""
        h = hashlib.sha256()
        for li in self.test:
            h.update(dumps(li.item.model_dump(mode="json")).encode())
            h.update(b"\n")
        return h.hexdigest()


def default_tasks_dir() -> Path:
    """tasks/ of a checkout if we run from one, else the copy installed with the wheel."""
    env = os.environ.get("KENTEI_TASKS_DIR")
    if env:
        return Path(env)
    checkout = Path(__file__).resolve().parent.parent / "tasks"
    if checkout.is_dir():
        return checkout
    try:
        import kentei_tasks  # type: ignore[import-not-found]
    except ImportError:
        raise KenteiError("cannot find the task data: no tasks/ folder and no installed kentei_tasks") from None
    return Path(kentei_tasks.__path__[0])


def _format_validation(e: ValidationError) -> str:
    parts = []
    for err in e.errors():
        loc = ".".join(str(p) for p in err["loc"]) or "(top level)"
        msg = err["msg"]
        if err["type"] == "extra_forbidden":
            msg = "unknown key"
        parts.append(f"{loc}: {msg}")
    return "; ".join(parts)


def load_spec(path: Path) -> TaskSpec:
    text = read_text(path)
    try:
        raw = yaml.safe_load(text)
    except yaml.YAMLError as e:
        mark = getattr(e, "problem_mark", None)
        line = mark.line + 1 if mark is not None else None
        problem = getattr(e, "problem", None) or str(e).splitlines()[0]
        raise KenteiError(f"malformed YAML: {problem}", path, line) from None
    except (ValueError, TypeError, KeyError, AttributeError, RecursionError) as e:
        # PyYAML's constructors raise these, not YAMLError, for values they cannot build:
        # version: 2001-02-30 (a date), !!int abc, !!bool maybe, 0x_, or thousands of nested [.
        what = "nested too deeply" if isinstance(e, RecursionError) else f"cannot read a value ({e!s:.200})"
        raise KenteiError(f"malformed YAML: {what}", path) from None
    if not isinstance(raw, dict):
        raise KenteiError("task.yaml must be a mapping of keys to values", path)
    try:
        spec = TaskSpec.model_validate(raw)
    except ValidationError as e:
        raise KenteiError(f"invalid task spec: {_format_validation(e)}", path) from None
    if spec.name != path.parent.name:
        raise KenteiError(f"name {spec.name!r} must equal the folder name {path.parent.name!r}", path)
    return spec


def load_items(path: Path, kind: str, required: bool = True) -> list[LoadedItem]:
    if not path.exists():
        if required:
            raise KenteiError("missing items file", path)
        return []
    model: type[MCItem] | type[GenItem] = MCItem if kind == "multiple_choice" else GenItem
    out: list[LoadedItem] = []
    for lineno, obj in iter_jsonl(path):
        try:
            item = model.model_validate(obj)
        except ValidationError as e:
            raise KenteiError(f"invalid {kind} item: {_format_validation(e)}", path, lineno) from None
        out.append(LoadedItem(item, path, lineno))
    return out


def load_task(task_dir: Path) -> Task:
    spec_path = task_dir / "task.yaml"
    if not spec_path.exists():
        raise KenteiError("not a task folder (no task.yaml)", task_dir)
    spec = load_spec(spec_path)
    test = load_items(task_dir / "test.jsonl", spec.kind)
    if not test:
        raise KenteiError("the task has no test items", task_dir / "test.jsonl")
    first: dict[str, int] = {}
    for li in test:
        if li.item.id in first:
            # Runs store and resume by item id: a repeated id would silently lose an item.
            raise KenteiError(f"duplicate item id {li.item.id!r} (first on line {first[li.item.id]})", li.path, li.line)
        first[li.item.id] = li.line
    fewshot = load_items(task_dir / "fewshot.jsonl", spec.kind, required=spec.num_fewshot > 0)
    if len(fewshot) < spec.num_fewshot:
        raise KenteiError(
            f"num_fewshot is {spec.num_fewshot} but fewshot.jsonl has {len(fewshot)} items",
            task_dir / "fewshot.jsonl",
        )
    from kentei.prompts import compile_templates

    compile_templates(spec, spec_path)
    return Task(spec, task_dir, test, fewshot)


def task_dirs(root: Path) -> list[Path]:
    if not root.is_dir():
        raise KenteiError("tasks directory not found", root)
    return sorted(p for p in root.iterdir() if p.is_dir() and (p / "task.yaml").exists())


def select_tasks(selector: str, root: Path | None = None) -> list[Task]:
    """`all`, a family name, or comma-separated task names (families may be mixed in)."""
    import re

    root = root or default_tasks_dir()
    dirs = {p.name: p for p in task_dirs(root)}
    if not dirs:
        raise KenteiError("no tasks found (no <name>/task.yaml folders)", root)
    wanted: list[str] = []
    for part in [s.strip() for s in selector.split(",") if s.strip()]:
        if not re.match(NAME_PATTERN, part):
            raise KenteiError(f"invalid task name {part!r}: use letters a-z, digits and _ only")
        if part == "all":
            wanted.extend(dirs)
        elif part in FAMILIES:
            fam = [n for n, d in dirs.items() if load_spec(d / "task.yaml").family == part]
            if not fam:
                raise KenteiError(f"no tasks in family {part!r} under {root}")
            wanted.extend(fam)
        elif part in dirs:
            wanted.append(part)
        else:
            known = ", ".join(sorted(dirs))
            raise KenteiError(f"unknown task {part!r}; known tasks: {known}; families: {', '.join(FAMILIES)}")
    seen: dict[str, None] = dict.fromkeys(wanted)
    if not seen:
        raise KenteiError("no tasks selected")
    return [load_task(dirs[n]) for n in seen]


def item_fields(item: Item) -> dict[str, Any]:
    return item.model_dump(mode="json")
