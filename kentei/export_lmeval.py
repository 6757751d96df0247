"""`kentei export lm-eval`: kentei's tasks as lm-evaluation-harness task YAMLs.

    DIR/kentei_<task>.yaml     one lm-eval task per kentei task
    DIR/kentei.yaml            group `kentei` (every exported task); kentei_<family>.yaml per family
    DIR/kentei_utils.py        loads the docs below; scores generations with kentei's scorers
    DIR/data/<task>.jsonl      one doc per test item with the FULLY RENDERED kentei prompt
    DIR/kentei_export.json     what kentei wrote here (tasks, versions, metrics, files)

Why rendered prompts: kentei draws each item's few-shot examples with a RNG keyed on
(seed, task, item id); lm-eval's sampler cannot reproduce that. So every doc carries the exact
plain-text (non-chat) prompt `kentei run --no-chat` sends, built by `kentei.runner.plan_task`
itself, and the YAMLs use `num_fewshot: 0`. Run: `lm_eval --include_path DIR --tasks kentei_<task>`.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import yaml

from kentei import __version__
from kentei.errors import KenteiError
from kentei.export_hf import ExportDir
from kentei.io import atomic_write_jsonl, atomic_write_text
from kentei.spec import FAMILIES, MCItem
from kentei.tasks import Task

# Multiple-choice metrics lm-eval computes itself, identically to kentei's scorers: argmax of the
# summed log-likelihoods, ties to the first choice, and acc_norm divided by the choice's length in
# characters (lm-eval's `len(choice)`, not bytes — the same as kentei).
LMEVAL_MC_METRICS = ("acc", "acc_norm")


class Function(str):
    """A `!function module.name` reference in a task YAML (lm-eval imports it from the YAML's folder)."""


class _Dumper(yaml.SafeDumper):
    """safe_dump plus `!function` tags, without touching PyYAML's global representers."""


_Dumper.add_representer(Function, lambda d, f: d.represent_scalar("!function", str(f)))
# Strings with line breaks (stop strings, separators) as "\n" escapes: readable, and unambiguous.
_Dumper.add_representer(
    str, lambda d, s: d.represent_scalar("tag:yaml.org,2002:str", s, style='"' if "\n" in s else None)
)


def dump_yaml(obj: dict[str, Any]) -> str:
    return yaml.dump(obj, Dumper=_Dumper, allow_unicode=True, sort_keys=False, width=1000)


class _NoModel:
    """Stands in for a backend when planning plain prompts: plan_task only asks a backend for its
    chat template, and an export is always non-chat."""

    name = "none"

    def apply_chat_template(self, messages: list[dict[str, str]]) -> str:
        raise AssertionError("export renders plain (non-chat) prompts only")


def task_docs(task: Task, seed: int, num_fewshot: int | None) -> tuple[list[dict[str, Any]], tuple[str, ...], int]:
    """lm-eval docs for the task's test items, and the generation stop strings and token limit."""
    from kentei.records import RunSettings
    from kentei.runner import plan_task

    settings = RunSettings(tasks=[task.name], seed=seed, num_fewshot=num_fewshot, mc_mode="loglikelihood", chat=False)
    planned = plan_task(task, settings, _NoModel())  # type: ignore[arg-type]
    docs = []
    stop: tuple[str, ...] = tuple(task.spec.generation.stop)
    max_new = task.spec.generation.max_new_tokens
    for p in planned:
        item = p.item.model_dump(mode="json")
        doc: dict[str, Any] = {
            "kentei_task": task.name,
            "id": p.item.id,
            "category": p.item.category,
            "prompt": p.prompt,
        }
        if isinstance(p.item, MCItem):
            doc["choices"] = list(p.item.choices)
            doc["answer"] = p.item.answer
        else:
            doc["target"] = item["references"][0]
            doc["references"] = item["references"]
            stop = p.request.stop  # type: ignore[union-attr]
            max_new = p.request.max_new_tokens  # type: ignore[union-attr]
        # The item exactly as kentei loads it, as JSON text: scorers read any field (extra keys
        # included), and a string column keeps the docs' schema stable whatever the items hold.
        doc["item"] = json.dumps(item, ensure_ascii=False, sort_keys=True)
        docs.append(doc)
    return docs, stop, max_new


def _metric(name: str, aggregation: str | Function = "mean") -> dict[str, Any]:
    return {"metric": name, "aggregation": aggregation, "higher_is_better": True}


def task_yaml(
    task: Task, stop: tuple[str, ...], max_new: int, seed: int, num_fewshot: int, corpus_metrics: set[str]
) -> str:
    """The lm-eval task config for one kentei task."""
    s = task.spec
    cfg: dict[str, Any] = {
        "task": f"kentei_{s.name}",
        # Docs come from data/<task>.jsonl next to this file (see kentei_utils.load_docs), so the
        # export folder can be moved: `dataset_path: json` would resolve data_files from the cwd.
        "custom_dataset": Function("kentei_utils.load_docs"),
        "dataset_kwargs": {"kentei_task": s.name},
        "test_split": "test",
        "num_fewshot": 0,  # the few-shot examples are already in `prompt`, chosen as kentei chooses them
        "doc_to_text": "prompt",
        # kentei's prompt already ends with the task's target_delimiter and kentei scores the bare
        # choice after it, so lm-eval must add nothing in between.
        "target_delimiter": "",
        "fewshot_delimiter": s.prompt.fewshot_separator,
        "description": "",
    }
    if s.kind == "multiple_choice":
        names = [m.name for m in s.metrics if m.name in LMEVAL_MC_METRICS] or ["acc"]
        cfg |= {
            "output_type": "multiple_choice",
            "doc_to_choice": "choices",
            "doc_to_target": "answer",
            "metric_list": [_metric(n) for n in names],
        }
    else:
        metric_list = []
        for m in s.metrics:
            if m.name in corpus_metrics:
                # A corpus metric (BLEU) is computed once over all docs, as kentei does: items pass
                # their output through and the aggregation calls kentei's corpus scorer.
                metric_list.append(_metric(m.name, Function(f"kentei_utils.corpus_{m.name}")))
            else:
                metric_list.append(_metric(m.name))
        cfg |= {
            "output_type": "generate_until",
            "doc_to_target": "target",
            "generation_kwargs": {"until": list(stop), "max_gen_toks": max_new, "do_sample": False},
            "process_results": Function("kentei_utils.process_results"),
            "metric_list": metric_list,
        }
    cfg["metadata"] = {
        "version": s.version,
        "kentei_version": __version__,
        "kentei_items_sha256": task.items_sha256(),
        "kentei_seed": seed,
        "kentei_num_fewshot": num_fewshot,
    }
    head = (
        f"# kentei task {s.name} v{s.version} ({s.family}, {s.kind}), exported by kentei {__version__}.\n"
        f"# Prompts: kentei's plain (non-chat) prompts, {num_fewshot}-shot, few-shot seed {seed}.\n"
        f"# Canary: {s.canary} (evaluation data: do not train on it).\n"
        "# Generated file: re-run `kentei export lm-eval` instead of editing it.\n"
    )
    return head + dump_yaml(cfg)


def group_yaml(name: str, tasks: list[str], what: str) -> str:
    head = f"# {what}, exported by kentei {__version__}.\n"
    return head + dump_yaml({"group": name, "task": tasks, "metadata": {"version": 1}})


UTILS = '''"""Written by `kentei export lm-eval`; do not edit (re-run the export instead).

load_docs: the docs of data/<task>.jsonl next to this file (prompts rendered by kentei).
process_results: scores one generation with kentei's own scorers (needs `pip install kentei`
in the lm-eval environment; multiple-choice tasks do not need kentei).
"""

from __future__ import annotations

import json
from functools import lru_cache
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent


def load_docs(kentei_task: str, **_: Any) -> Any:
    """lm-eval's custom_dataset hook; it also passes the task metadata and model args (ignored)."""
    import datasets

    path = HERE / "data" / f"{kentei_task}.jsonl"
    rows = [json.loads(line) for line in path.read_text(encoding="utf-8").split("\\n") if line.strip()]
    return datasets.DatasetDict({"test": datasets.Dataset.from_list(rows)})


@lru_cache(maxsize=None)
def _task_metrics(kentei_task: str) -> tuple[tuple[str, str], ...]:
    """(name, JSON args) of the task's metrics, as recorded in kentei_export.json."""
    info = json.loads((HERE / "kentei_export.json").read_text(encoding="utf-8"))
    specs = info["tasks"][kentei_task]["metrics"]
    return tuple((m["name"], json.dumps(m.get("args", {}), sort_keys=True)) for m in specs)


def process_results(doc: dict[str, Any], results: list[str]) -> dict[str, Any]:
    """kentei's per-item metric values for one generation (a metric that does not apply is left out,
    as kentei leaves it out of the mean). Corpus metrics pass the output on to their aggregation."""
    from scorers import Sample, get_scorer

    item = json.loads(doc["item"])
    text = results[0]
    out: dict[str, Any] = {}
    for name, args_json in _task_metrics(doc["kentei_task"]):
        scorer = get_scorer(name)
        if scorer.aggregate == "corpus":
            out[name] = {"task": doc["kentei_task"], "item": item, "text": text}
            continue
        value = scorer(Sample(item=item, response={"text": text}), **json.loads(args_json))
        if value is not None:
            out[name] = float(value)
    return out


def _corpus(name: str) -> Any:
    def aggregate(values: list[dict[str, Any]]) -> float:
        from scorers import Sample, get_scorer

        if not values:
            return float("nan")
        args = dict(_task_metrics(values[0]["task"]))[name]
        samples = [Sample(item=v["item"], response={"text": v["text"]}) for v in values]
        return get_scorer(name).corpus_score(samples, **json.loads(args))

    aggregate.__name__ = f"corpus_{name}"
    return aggregate
'''


def utils_module(corpus_metrics: set[str]) -> str:
    """kentei_utils.py: the fixed helpers plus one aggregation per corpus metric the tasks use."""
    lines = [f'corpus_{n} = _corpus("{n}")' for n in sorted(corpus_metrics)]
    return UTILS + ("\n" + "\n".join(lines) + "\n" if lines else "")


def export_lmeval(
    tasks: list[Task], out: Path, seed: int = 1234, num_fewshot: int | None = None
) -> list[dict[str, Any]]:
    """Write lm-eval task configs for `tasks` under `out`; returns one summary per task."""
    from scorers import get_scorer

    names = {f"kentei_{t.name}" for t in tasks}
    families = [f for f in FAMILIES if any(t.spec.family == f for t in tasks)]
    # A family group is skipped when a task's lm-eval name would clash with it (a task named `keigo`).
    group_files = ["kentei.yaml"] + [f"kentei_{f}.yaml" for f in families if f"kentei_{f}" not in names]
    files = (
        ["kentei_utils.py"]
        + [f"kentei_{t.name}.yaml" for t in tasks]
        + [f"data/{t.name}.jsonl" for t in tasks]
        + group_files
    )
    corpus_metrics: set[str] = set()
    for t in tasks:
        for m in t.spec.metrics:
            try:
                scorer = get_scorer(m.name)
            except KeyError as e:
                raise KenteiError(f"task {t.name}: {e.args[0]}", t.dir / "task.yaml") from None
            if scorer.aggregate == "corpus" and t.spec.kind == "generation":
                corpus_metrics.add(m.name)

    target = ExportDir.open(out, "lm-eval")
    target.claim(files)
    manifest: dict[str, Any] = {"tasks": {}}
    summary = []
    planned = []
    for t in tasks:
        docs, stop, max_new = task_docs(t, seed, num_fewshot)
        k = t.spec.num_fewshot if num_fewshot is None else num_fewshot
        planned.append((t, docs, stop, max_new, k))
        manifest["tasks"][t.name] = {
            "lm_eval_task": f"kentei_{t.name}",
            "family": t.spec.family,
            "kind": t.spec.kind,
            "version": t.spec.version,
            "items_sha256": t.items_sha256(),
            "n": len(docs),
            "num_fewshot": k,
            "seed": seed,
            "metrics": [m.model_dump(mode="json") for m in t.spec.metrics],
        }
    target.write_manifest(files, manifest, complete=False)
    atomic_write_text(out / "kentei_utils.py", utils_module(corpus_metrics))
    for t, docs, stop, max_new, k in planned:
        atomic_write_jsonl(out / "data" / f"{t.name}.jsonl", docs)
        atomic_write_text(out / f"kentei_{t.name}.yaml", task_yaml(t, stop, max_new, seed, k, corpus_metrics))
        summary.append(
            {"task": t.name, "lm_eval_task": f"kentei_{t.name}", "kind": t.spec.kind, "n": len(docs), "num_fewshot": k}
        )
    atomic_write_text(out / "kentei.yaml", group_yaml("kentei", sorted(names), "Every exported kentei task"))
    for f in families:
        if f"kentei_{f}.yaml" in group_files:
            members = sorted(f"kentei_{t.name}" for t in tasks if t.spec.family == f)
            atomic_write_text(out / f"kentei_{f}.yaml", group_yaml(f"kentei_{f}", members, f"kentei's {f} tasks"))
    target.commit(files)
    target.write_manifest(files, manifest, complete=True)
    return summary
