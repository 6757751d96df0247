"""`kentei export hf`: each task as a Hugging Face dataset folder (parquet splits + dataset card).

DIR/<task>/
    README.md                             dataset card: Hub front matter (license, canary, configs) + datasheet
    task.yaml                             the kentei task spec, so prompts can be rebuilt exactly
    data/test-00000-of-00001.parquet      split "test": every test item, every field
    data/fewshot-00000-of-00001.parquet   split "fewshot": the few-shot pool (omitted when empty)

`datasets.load_dataset("DIR/<task>")` reads the card's `configs:` and finds both splits; the folder
is ready for `huggingface-cli upload ORG/NAME DIR/<task> --repo-type dataset`.

The output-folder guard (`ExportDir`) is shared with the lm-eval export: kentei writes into an
empty or new folder, or over its own previous export of the same kind, never over foreign files.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import yaml

from kentei import __version__
from kentei.errors import KenteiError
from kentei.io import atomic_write_text, read_text
from kentei.tasks import Task

if TYPE_CHECKING:
    import pyarrow as pa

MANIFEST = "kentei_export.json"
"""Marks a folder as written by kentei and lists the files it wrote (what a re-export may replace)."""

TEST_FILE = "data/test-00000-of-00001.parquet"
FEWSHOT_FILE = "data/fewshot-00000-of-00001.parquet"

# License ids the Hub's `license:` field accepts, by their lower-cased SPDX-like spelling.
HUB_LICENSES = {
    "apache-2.0",
    "mit",
    "bsd-2-clause",
    "bsd-3-clause",
    "cc0-1.0",
    "cc-by-2.0",
    "cc-by-2.5",
    "cc-by-3.0",
    "cc-by-4.0",
    "cc-by-sa-3.0",
    "cc-by-sa-4.0",
    "cc-by-nc-2.0",
    "cc-by-nc-3.0",
    "cc-by-nc-4.0",
    "cc-by-nd-4.0",
    "cc-by-nc-nd-3.0",
    "cc-by-nc-nd-4.0",
    "cc-by-nc-sa-2.0",
    "cc-by-nc-sa-3.0",
    "cc-by-nc-sa-4.0",
    "odc-by",
    "odbl",
    "pddl",
    "gpl-3.0",
    "lgpl-3.0",
    "unlicense",
}


def hub_license(license_str: str) -> dict[str, str]:
    """Front-matter keys for a task's license: a Hub id (CC-BY-4.0 -> cc-by-4.0), or `other` + its name."""
    lid = license_str.strip().lower().replace(" ", "-")
    if lid in HUB_LICENSES:
        return {"license": lid}
    return {"license": "other", "license_name": lid or "unknown"}


def size_category(n: int) -> str:
    """The Hub's size bucket for n rows."""
    for limit, label in ((1_000, "n<1K"), (10_000, "1K<n<10K"), (100_000, "10K<n<100K"), (1_000_000, "100K<n<1M")):
        if n < limit:
            return label
    return "1M<n<10M" if n < 10_000_000 else "n>1T"  # the Hub's buckets; no task is near either


# ---------------------------------------------------------------------------------------------
# The output folder guard (shared with export_lmeval)


@dataclass
class ExportDir:
    """An output folder kentei may write: new, empty, or a previous kentei export of the same kind.

    `open()` checks the folder and records the planned files in the manifest *before* any data is
    written, so a crash part-way leaves a folder kentei recognises and may overwrite next time.
    `commit()` removes files of the previous export that this one no longer writes.
    """

    root: Path
    kind: str
    previous: list[str] = field(default_factory=list)

    @classmethod
    def open(cls, root: Path, kind: str) -> ExportDir:
        if root.exists() and not root.is_dir():
            raise KenteiError("--out must be a folder, but a file is there", root)
        previous: list[str] = []
        if root.is_dir() and any(root.iterdir()):
            manifest = root / MANIFEST
            if not manifest.is_file():
                raise KenteiError(
                    "refusing to write into a non-empty folder that kentei did not write "
                    f"(no {MANIFEST}); choose an empty or new --out folder",
                    root,
                )
            try:
                info = json.loads(read_text(manifest))
            except (json.JSONDecodeError, KenteiError):
                info = None
            if not isinstance(info, dict) or not isinstance(info.get("files"), list):
                raise KenteiError(f"unreadable {MANIFEST}; refusing to overwrite this folder", manifest)
            if info.get("export") != kind:
                raise KenteiError(
                    f"this folder holds a kentei {info.get('export')!r} export, not {kind!r}; choose another --out",
                    root,
                )
            previous = [f for f in info["files"] if isinstance(f, str) and _inside(root, f)]
        root.mkdir(parents=True, exist_ok=True)
        return cls(root, kind, previous)

    def claim(self, files: list[str]) -> None:
        """Refuse when a file this export would write exists but was not written by the last export."""
        prev = set(self.previous)
        for rel in files:
            p = self.root / rel
            if (p.exists() or p.is_symlink()) and rel not in prev:
                raise KenteiError("refusing to overwrite a file that kentei did not write", p)

    def write_manifest(self, files: list[str], extra: dict[str, Any], complete: bool) -> None:
        # The manifest lists old and new files until the export completes, so an interrupted
        # export can still be cleaned up by the next one.
        listed = sorted(set(files) | (set() if complete else set(self.previous)))
        info = {
            "export": self.kind,
            "kentei_version": __version__,
            "created_at": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
            "complete": complete,
            "files": listed,
            **extra,
        }
        atomic_write_text(self.root / MANIFEST, json.dumps(info, ensure_ascii=False, indent=2) + "\n")

    def commit(self, files: list[str]) -> None:
        """Delete what the previous export wrote and this one did not, then empty folders it left."""
        keep = set(files)
        for rel in self.previous:
            if rel in keep:
                continue
            p = self.root / rel
            if p.is_file() or p.is_symlink():
                p.unlink()
            parent = p.parent
            while parent != self.root and parent.is_dir() and not any(parent.iterdir()):
                parent.rmdir()
                parent = parent.parent


def _inside(root: Path, rel: str) -> bool:
    """A manifest entry is only trusted when it names a path inside the export folder."""
    if not rel or Path(rel).is_absolute() or ".." in Path(rel).parts:
        return False
    return (root / rel).resolve().is_relative_to(root.resolve())


# ---------------------------------------------------------------------------------------------
# Items -> Arrow tables

# Types of the fields kentei defines (spec.MCItem / GenItem); extra item keys get inferred types.
_KNOWN_TYPES: dict[str, str] = {
    "id": "string",
    "category": "string",
    "rationale": "string",
    "tags": "list<string>",
    "cluster": "string",
    "question": "string",
    "choices": "list<string>",
    "answer": "int64",
    "input": "string",
    "references": "list<string>",
    "aliases": "list<string>",
    "terms": "list<string>",
    "target_register": "string",
}


def _arrow_type(name: str) -> pa.DataType:
    import pyarrow as pa

    return {"string": pa.string(), "int64": pa.int64(), "list<string>": pa.list_(pa.string())}[name]


def item_rows(task: Task) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """The test and few-shot items as plain dicts, exactly as kentei loads them."""
    return (
        [li.item.model_dump(mode="json") for li in task.test],
        [li.item.model_dump(mode="json") for li in task.fewshot],
    )


def build_schema(rows: list[dict[str, Any]]) -> tuple[pa.Schema, list[str]]:
    """One schema for every split: all keys in first-seen order; returns it and the JSON-encoded columns.

    An extra key whose values Arrow cannot hold in one column (e.g. text in some items, numbers in
    others) is stored as JSON text, and the card says so.
    """
    import pyarrow as pa

    columns: list[str] = []
    for r in rows:
        columns.extend(k for k in r if k not in columns)
    fields = []
    json_cols = []
    for col in columns:
        if col in _KNOWN_TYPES:
            fields.append(pa.field(col, _arrow_type(_KNOWN_TYPES[col])))
            continue
        values = [r[col] for r in rows if r.get(col) is not None]
        if not values:
            fields.append(pa.field(col, pa.string()))
            continue
        try:
            typ = pa.array(values).type
        except (pa.ArrowInvalid, pa.ArrowTypeError, TypeError, OverflowError):  # OverflowError: an int >= 2**63
            typ = None
        if typ is None or pa.types.is_null(typ) or _has_null_type(typ):
            json_cols.append(col)
            typ = pa.string()
        fields.append(pa.field(col, typ))
    return pa.schema(fields), json_cols


def _has_null_type(typ: pa.DataType) -> bool:
    """Arrow infers `null` for empty lists; such a column would not round-trip its values."""
    import pyarrow as pa

    if pa.types.is_null(typ):
        return True
    if pa.types.is_list(typ) or pa.types.is_large_list(typ):
        return _has_null_type(typ.value_type)
    if pa.types.is_struct(typ):
        return any(_has_null_type(typ.field(i).type) for i in range(typ.num_fields))
    return False


def to_table(rows: list[dict[str, Any]], schema: pa.Schema, json_cols: list[str]) -> pa.Table:
    """Rows -> a table with the given schema; a missing key becomes null."""
    import pyarrow as pa

    data: dict[str, list[Any]] = {}
    for f in schema:
        vals = [r.get(f.name) for r in rows]
        if f.name in json_cols:
            vals = [None if v is None else json.dumps(v, ensure_ascii=False) for v in vals]
        data[f.name] = vals
    try:
        return pa.Table.from_pydict(data, schema=schema)
    except (pa.ArrowInvalid, pa.ArrowTypeError) as e:
        raise KenteiError(f"cannot store the items as parquet: {e}") from None


def write_parquet(table: pa.Table, path: Path) -> None:
    """Atomic like every other kentei write: temp file in the same folder, then rename."""
    import pyarrow.parquet as pq

    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(fd)
    os.chmod(tmp, 0o666 & ~_umask())  # mkstemp makes 0600; exported data is meant to be shared
    try:
        pq.write_table(table, tmp, compression="zstd")
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


# ---------------------------------------------------------------------------------------------
# The dataset card


_FIELD_DOCS = {
    "id": "Stable item id (unique within the task).",
    "category": "Sub-area of the task, for per-category scores.",
    "question": "The question (multiple choice).",
    "choices": "Answer options, in the order shown to the model (numbered 1.., 0-based in `answer`).",
    "answer": "0-based index of the correct option in `choices`.",
    "input": "The input the model answers or rewrites (generation).",
    "references": "Reference answers; the first is shown after few-shot examples.",
    "aliases": "Further accepted answers (after normalization).",
    "terms": "Terms the answer should contain (term recall).",
    "target_register": "The register the answer should be in (keigo rewriting), or null.",
    "rationale": "Why the answer is right (for auditors, never shown to the model).",
    "tags": "Free-form labels.",
    "cluster": "Items sharing a source share a cluster id (clustered standard errors), or null.",
}


def demote_headings(markdown: str) -> str:
    """Headings one level down so a datasheet nests under the card's "Datasheet" (code blocks untouched)."""
    out = []
    in_code = False
    for line in markdown.splitlines():
        if line.lstrip().startswith("```"):
            in_code = not in_code
        out.append("#" + line if line.startswith("#") and not in_code else line)
    return "\n".join(out)


def dataset_card(task: Task, n_test: int, n_fewshot: int, columns: list[str], json_cols: list[str]) -> str:
    """README.md with Hub front matter and the task's datasheet."""
    s = task.spec
    data_files = [{"split": "test", "path": TEST_FILE}]
    if n_fewshot:
        data_files.append({"split": "fewshot", "path": FEWSHOT_FILE})
    front: dict[str, Any] = {
        **hub_license(s.license),
        "language": ["ja"],
        "pretty_name": f"kentei {s.name}",
        "task_categories": ["multiple-choice"] if s.kind == "multiple_choice" else ["text-generation"],
        "size_categories": [size_category(n_test + n_fewshot)],
        "tags": ["kentei", "japanese", "evaluation", s.family],
        "canary": s.canary,
        "configs": [{"config_name": "default", "data_files": data_files}],
    }
    fm = yaml.safe_dump(front, allow_unicode=True, sort_keys=False, width=1000)
    fields = "\n".join(
        f"| `{c}` | {_FIELD_DOCS.get(c, 'Task-specific field (used by the prompt template or scorers).')}"
        + (" Stored as JSON text." if c in json_cols else "")
        + " |"
        for c in columns
    )
    metrics = ", ".join(f"`{m.name}`" for m in s.metrics)
    readme = task.dir / "README.md"
    datasheet = read_text(readme).strip() if readme.is_file() else "(this task has no datasheet)"
    datasheet = demote_headings(datasheet)
    splits = f"`test` ({n_test} items)" + (f", `fewshot` ({n_fewshot} items)" if n_fewshot else "")
    return f"""---
{fm}---

# kentei {s.name}

> **Canary: `{s.canary}`**
> This is evaluation data. Do not train on it. Corpus builders: drop any document containing the
> canary string above.

{s.description.strip()}

- **Suite:** kentei (検定), the Japanese LLM evaluation suite — exported by kentei {__version__}
- **Family / kind / version:** {s.family} / {s.kind} / {s.version}
- **Splits:** {splits}
- **Few-shot examples per item:** {s.num_fewshot} (drawn from `fewshot` by kentei's seeded sampler)
- **Metrics:** {metrics} (primary `{s.primary_metric}`)
- **License:** {s.license}

## Loading

```python
from datasets import load_dataset
ds = load_dataset("path/or/hub-id", split="test")
```

To score a model exactly as kentei does (same prompts, same scorers), run `kentei run` with this
task; `task.yaml` in this folder is the task's spec (prompt template, generation settings, metrics).

## Fields

| field | meaning |
|---|---|
{fields}

## Datasheet

{datasheet}
"""


# ---------------------------------------------------------------------------------------------


def task_files(task: Task) -> list[str]:
    """The files one task's folder gets, relative to the export root."""
    files = [f"{task.name}/README.md", f"{task.name}/task.yaml", f"{task.name}/{TEST_FILE}"]
    if task.fewshot:
        files.append(f"{task.name}/{FEWSHOT_FILE}")
    return files


def export_task(task: Task, root: Path) -> dict[str, Any]:
    """Write one task's dataset folder; returns a summary row."""
    test_rows, fewshot_rows = item_rows(task)
    schema, json_cols = build_schema(test_rows + fewshot_rows)
    d = root / task.name
    if d.exists() and not d.is_dir():
        raise KenteiError("expected a folder for the task, found a file", d)
    write_parquet(to_table(test_rows, schema, json_cols), d / TEST_FILE)
    if fewshot_rows:
        write_parquet(to_table(fewshot_rows, schema, json_cols), d / FEWSHOT_FILE)
    else:
        (d / FEWSHOT_FILE).unlink(missing_ok=True)
    atomic_write_text(d / "task.yaml", read_text(task.dir / "task.yaml"))
    card = dataset_card(task, len(test_rows), len(fewshot_rows), schema.names, json_cols)
    atomic_write_text(d / "README.md", card)
    return {
        "task": task.name,
        "path": str(d),
        "n_test": len(test_rows),
        "n_fewshot": len(fewshot_rows),
        "columns": schema.names,
        "json_columns": json_cols,
    }


def export_hf(tasks: list[Task], out: Path) -> list[dict[str, Any]]:
    """Write every task as a datasets-loadable folder under `out`; returns one summary per task."""
    try:
        import pyarrow  # noqa: F401
    except ImportError:
        raise KenteiError("kentei export hf needs pyarrow: pip install pyarrow") from None
    target = ExportDir.open(out, "hf")
    files = [f for t in tasks for f in task_files(t)]
    extra = {"tasks": {t.name: {"version": t.spec.version, "items_sha256": t.items_sha256()} for t in tasks}}
    target.claim(files)
    target.write_manifest(files, extra, complete=False)
    summary = [export_task(t, out) for t in tasks]
    target.commit(files)
    target.write_manifest(files, extra, complete=True)
    return summary
