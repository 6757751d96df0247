"""The `kentei` command line. Heavy imports (torch, transformers) happen inside commands."""

from __future__ import annotations

import json
import re
import sys
import time
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

from kentei.errors import KenteiError

app = typer.Typer(
    help="kentei (検定): evaluate LLMs on Japanese keigo, monozukuri and culture.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
tasks_app = typer.Typer(help="List, show and validate tasks.", no_args_is_help=True)
app.add_typer(tasks_app, name="tasks")
board_app = typer.Typer(help="Build the static leaderboard site.", no_args_is_help=True)
app.add_typer(board_app, name="leaderboard")

out = Console()
err = Console(stderr=True)

TasksDir = Annotated[
    Path | None, typer.Option("--tasks-dir", help="Folder of task folders (default: the suite's tasks/).")
]


def _fmt(m: dict[str, Any] | Any) -> str:
    d = m if isinstance(m, dict) else m.model_dump()
    if d.get("ci95"):
        lo, hi = d["ci95"]
        return f"{d['value']:.3f} [{lo:.3f}, {hi:.3f}]"
    return f"{d['value']:.3f}"


def summary_table(rec: Any) -> Table:
    t = Table(title=f"kentei run {rec.run_id} — {rec.model.get('id')}", title_justify="left")
    for col in ("task", "family", "n", "primary (95% CI)", "other metrics"):
        t.add_column(col, justify="right" if col == "n" else "left")
    for name, tr in rec.tasks.items():
        prim = tr.metrics.get(tr.primary_metric)
        others = ", ".join(f"{k} {v.value:.3f}" for k, v in tr.metrics.items() if k != tr.primary_metric)
        t.add_row(name, tr.family, str(tr.n), f"{tr.primary_metric} {_fmt(prim)}" if prim else "—", others)
    return t


@app.command()
def run(
    model: Annotated[str, typer.Option("--model", "-m", help="Local path, Hugging Face id, tiny-ja or tiny-ja-b.")],
    backend: Annotated[
        str, typer.Option(help="hf (transformers, local or hub) or openai (an OpenAI-compatible server).")
    ] = "hf",
    tasks: Annotated[
        str, typer.Option(help="all, a family (keigo, business, monozukuri, culture) or names a,b.")
    ] = "all",
    tasks_dir: TasksDir = None,
    limit: Annotated[int | None, typer.Option(help="Evaluate only the first N items of each task.", min=1)] = None,
    num_fewshot: Annotated[int | None, typer.Option(help="Override every task's few-shot count.", min=0)] = None,
    mc_mode: Annotated[
        str, typer.Option(help="loglikelihood (score each choice) or generate (answer by number).")
    ] = "loglikelihood",
    chat: Annotated[
        bool | None,
        typer.Option("--chat/--no-chat", help="Use the chat template (default: when the tokenizer has one)."),
    ] = None,
    batch_size: Annotated[str, typer.Option(help="auto (find what fits, back off on OOM) or N.")] = "auto",
    device: Annotated[
        str | None, typer.Option(help="cpu, cuda, cuda:1, mps, or auto (device_map=auto across GPUs).")
    ] = None,
    dtype: Annotated[str, typer.Option(help="auto, float32, float16 or bfloat16.")] = "auto",
    seed: Annotated[int, typer.Option(help="Seed for few-shot selection.")] = 1234,
    max_new_tokens: Annotated[int | None, typer.Option(help="Override every task's generation length.", min=1)] = None,
    trust_remote_code: Annotated[
        bool, typer.Option("--trust-remote-code", help="Run the model repo's own Python code.")
    ] = False,
    allow_pickle: Annotated[
        bool, typer.Option("--allow-pickle", help="Allow non-safetensors (pickle) weights.")
    ] = False,
    revision: Annotated[str | None, typer.Option(help="Hub revision (branch, tag or commit).")] = None,
    out_dir: Annotated[Path, typer.Option("--out", help="Folder for run records.")] = Path("runs"),
    run_id: Annotated[str | None, typer.Option(help="Run folder name; re-running the same id resumes.")] = None,
    json_out: Annotated[bool, typer.Option("--json", help="Print the run record as JSON.")] = False,
    base_url: Annotated[
        str | None, typer.Option(help="openai backend: the server's API root, e.g. http://127.0.0.1:8000/v1.")
    ] = None,
    api_key_env: Annotated[
        str, typer.Option(help="openai backend: environment variable holding the API key (never recorded).")
    ] = "OPENAI_API_KEY",
    concurrency: Annotated[int, typer.Option(help="openai backend: requests in flight at once.", min=1)] = 8,
    timeout: Annotated[float, typer.Option(help="openai backend: seconds to wait for one answer.", min=0.1)] = 120.0,
    max_retries: Annotated[
        int, typer.Option(help="openai backend: retries (with backoff) on timeouts, 429 and 5xx.", min=0)
    ] = 5,
    tokenizer: Annotated[
        str | None,
        typer.Option(
            help="Tokenizer for the tokenizer-fit report (default: the model's own; the openai backend needs it)."
        ),
    ] = None,
    tokenizer_fit: Annotated[
        bool, typer.Option("--tokenizer-fit/--no-tokenizer-fit", help="Record how well the tokenizer fits Japanese.")
    ] = True,
) -> None:
    """Evaluate a model on tasks and write a run record."""
    from kentei.records import RunSettings, RuntimeSettings, check_run_id
    from kentei.tasks import select_tasks

    if mc_mode not in ("loglikelihood", "generate"):
        raise KenteiError(f"--mc-mode must be loglikelihood or generate, not {mc_mode!r}")
    if batch_size != "auto" and not (batch_size.isdigit() and int(batch_size) > 0):
        raise KenteiError(f"--batch-size must be auto or a positive integer, not {batch_size!r}")
    selected = select_tasks(tasks, tasks_dir)
    # A default id from the model name, made safe (a served id such as "llama3.1:8b" has a colon).
    safe = re.sub(r"[^A-Za-z0-9._-]+", "_", Path(model).name)[:40].strip("._") or "model"
    rid = check_run_id(run_id or time.strftime("%Y%m%d-%H%M%S-") + safe)
    from kentei.backends import load_backend

    t0 = time.time()
    with err.status(f"loading {model} ..."):
        bk = load_backend(
            backend,
            model,
            device=device,
            dtype=dtype,
            batch_size=batch_size,
            trust_remote_code=trust_remote_code,
            allow_pickle=allow_pickle,
            revision=revision,
            base_url=base_url,
            api_key_env=api_key_env,
            concurrency=concurrency,
            timeout_s=timeout,
            max_retries=max_retries,
            tokenizer=tokenizer,
        )
    load_s = time.time() - t0
    use_chat = bk.has_chat_template() if chat is None else chat
    if use_chat and not bk.has_chat_template():
        raise KenteiError(f"--chat was given but model {model!r} has no chat template")
    has_mc = any(t.spec.kind == "multiple_choice" for t in selected)
    if backend == "openai" and use_chat and mc_mode == "loglikelihood" and has_mc:
        raise KenteiError(
            "multiple choice by log-likelihood needs prompt log-probabilities, which the chat endpoint does not "
            "give: add --no-chat (uses /v1/completions; vLLM returns them) or --mc-mode generate"
        )
    settings = RunSettings(
        tasks=[t.name for t in selected],
        limit=limit,
        num_fewshot=num_fewshot,
        seed=seed,
        mc_mode=mc_mode,
        chat=use_chat,
        max_new_tokens=max_new_tokens,
    )  # type: ignore[arg-type]
    runtime = RuntimeSettings(
        batch_size=batch_size if batch_size == "auto" else int(batch_size),
        device=device,
        dtype=dtype,
        trust_remote_code=trust_remote_code,
    )
    if backend == "openai":
        runtime = runtime.model_copy(
            update={"concurrency": concurrency, "timeout_s": timeout, "max_retries": max_retries, "device": None}
        )
    fit = None
    if tokenizer_fit and (tokenizer or backend == "hf"):
        from kentei.tasks import select_tasks as _select
        from kentei.tokfit import fit_report, load_tokenizer, suite_texts

        with err.status("measuring tokenizer fit ..."):
            try:
                tok = getattr(bk, "tokenizer", None) or load_tokenizer(tokenizer, trust_remote_code=trust_remote_code)
                # Always over the whole suite, so runs on different task subsets stay comparable.
                fit = fit_report(tok, suite_texts(_select("all", tasks_dir)))
            except KenteiError as e:
                # A report is a nicety; a tokenizer it cannot measure (not a fast one) must not stop the run.
                err.print(f"warning: no tokenizer-fit report: {e}", highlight=False)
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

    from kentei.runner import run as run_tasks

    with Progress(
        TextColumn("{task.description:<22}"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("{task.fields[rate]}"),
        TimeRemainingColumn(),
        console=err,
        transient=False,
    ) as prog:
        bars: dict[str, Any] = {}
        starts: dict[str, tuple[float, int]] = {}

        def progress(name: str, done: int, total: int) -> None:
            if name not in bars:
                bars[name] = prog.add_task(name, total=total, rate="")
                starts[name] = (time.time(), done)
            t_start, d0 = starts[name]
            dt = time.time() - t_start
            rate = f"{(done - d0) / dt:6.1f} items/s" if dt > 0 and done > d0 else ""
            prog.update(bars[name], completed=done, rate=rate)

        rec = run_tasks(
            selected, bk, settings, runtime, out_dir, rid, progress, load_seconds=load_s, tokenizer_fit=fit
        )
    if json_out:
        print(json.dumps(rec.model_dump(mode="json"), ensure_ascii=False, indent=2))
        return
    out.print(summary_table(rec))
    out.print(
        f"record: {out_dir / rid}/run.json  ({rec.timings.get('items')} items, "
        f"{rec.timings.get('items_per_second')} items/s)"
    )


@app.command()
def rescore(
    run_dir: Annotated[Path, typer.Argument(help="A run folder (runs/<run_id>).")],
    json_out: Annotated[bool, typer.Option("--json", help="Print the run record as JSON.")] = False,
) -> None:
    """Recompute every score of a run from its stored responses (no model needed)."""
    from kentei.runner import rescore as do_rescore

    rec = do_rescore(run_dir)
    if json_out:
        print(json.dumps(rec.model_dump(mode="json"), ensure_ascii=False, indent=2))
    else:
        out.print(summary_table(rec))


@tasks_app.command("list")
def tasks_list(tasks_dir: TasksDir = None, json_out: Annotated[bool, typer.Option("--json")] = False) -> None:
    """List the tasks with family, kind, item counts and primary metric."""
    from kentei.tasks import default_tasks_dir, load_task, task_dirs

    rows = []
    for d in task_dirs(tasks_dir or default_tasks_dir()):
        t = load_task(d)
        rows.append(
            {
                "name": t.name,
                "family": t.spec.family,
                "kind": t.spec.kind,
                "version": t.spec.version,
                "n_test": len(t.test),
                "n_fewshot": len(t.fewshot),
                "primary_metric": t.spec.primary_metric,
            }
        )
    if json_out:
        print(json.dumps(rows, ensure_ascii=False, indent=2))
        return
    table = Table()
    for col in ("name", "family", "kind", "version", "n_test", "n_fewshot", "primary_metric"):
        table.add_column(col)
    for r in rows:
        table.add_row(
            *(str(r[c]) for c in ("name", "family", "kind", "version", "n_test", "n_fewshot", "primary_metric"))
        )
    out.print(table)


@tasks_app.command("show")
def tasks_show(
    name: Annotated[str, typer.Argument(help="Task name.")],
    tasks_dir: TasksDir = None,
    json_out: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """Show a task's spec, categories and a rendered example prompt."""
    from collections import Counter

    from kentei.prompts import choose_fewshot, render_prompt
    from kentei.tasks import select_tasks

    task = select_tasks(name, tasks_dir)[0]
    if len(select_tasks(name, tasks_dir)) != 1 or task.name != name:
        raise KenteiError(f"{name!r} is not a single task name")
    cats = Counter(li.item.category for li in task.test)
    shots = choose_fewshot(
        [li.item for li in task.fewshot], task.spec.num_fewshot, 1234, task.name, task.test[0].item.id
    )
    example = render_prompt(task.spec, task.test[0].item, shots, "loglikelihood", None).text
    info = {
        "spec": task.spec.model_dump(mode="json"),
        "dir": str(task.dir),
        "n_test": len(task.test),
        "n_fewshot": len(task.fewshot),
        "categories": dict(sorted(cats.items())),
        "example_prompt": example,
    }
    if json_out:
        print(json.dumps(info, ensure_ascii=False, indent=2))
        return
    s = task.spec
    out.print(f"[bold]{s.name}[/bold] v{s.version} — {s.family} / {s.kind}\n{s.description.strip()}")
    out.print(
        f"items: {len(task.test)} test, {len(task.fewshot)} few-shot; num_fewshot {s.num_fewshot}; "
        f"metrics: {', '.join(m.name for m in s.metrics)} (primary {s.primary_metric})"
    )
    out.print("categories: " + ", ".join(f"{c} {n}" for c, n in sorted(cats.items())))
    out.print("[bold]example prompt (no chat template):[/bold]")
    out.print(example, markup=False, highlight=False)


@tasks_app.command("validate")
def tasks_validate(
    path: Annotated[
        Path | None, typer.Argument(help="A tasks folder or one task folder (default: the suite's).")
    ] = None,
    strict: Annotated[bool, typer.Option("--strict", help="Treat warnings as errors.")] = False,
    json_out: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """Check tasks against the data guide's lints; exit 1 on any error."""
    from kentei.lint import lint_path

    problems = lint_path(path)
    errors = [p for p in problems if p.severity == "error" or strict]
    if json_out:
        print(json.dumps([p.as_dict() for p in problems], ensure_ascii=False, indent=2))
    else:
        for p in problems:
            (err if p.severity == "error" else out).print(str(p), markup=False, highlight=False)
        n_err = len(errors)
        out.print(f"{n_err} error(s), {len(problems) - n_err} warning(s)")
    if errors:
        raise typer.Exit(1)


@app.command()
def compare(
    run_a: Annotated[Path, typer.Argument(help="Run folder A (e.g. the candidate).")],
    run_b: Annotated[Path, typer.Argument(help="Run folder B (e.g. the baseline).")],
    json_out: Annotated[bool, typer.Option("--json", help="Print the comparison as JSON.")] = False,
) -> None:
    """Paired differences A − B per task and family, with 95% CIs and Holm-adjusted p-values."""
    from kentei.compare import compare_runs

    cmp = compare_runs(run_a, run_b)
    if json_out:
        print(json.dumps(cmp.to_json(), ensure_ascii=False, indent=2))
        return
    t = Table(title=f"A = {cmp.model_a} ({cmp.run_a})   B = {cmp.model_b} ({cmp.run_b})", title_justify="left")
    for col in ("task", "metric", "n", "A", "B", "A − B [95% CI]", "test", "p (Holm)", ""):
        t.add_column(col)

    def row(d: Any) -> None:
        ci = f" [{d.ci95[0]:+.3f}, {d.ci95[1]:+.3f}]" if d.ci95 else ""
        p = "—" if d.p is None else f"{d.p:.3g} ({d.p_holm:.3g})"
        t.add_row(
            d.task,
            d.metric,
            str(d.n),
            f"{d.a:.3f}",
            f"{d.b:.3f}",
            f"{d.diff:+.3f}{ci}",
            d.test,
            p,
            "*" if d.significant else "",
        )

    for d in cmp.tasks:
        row(d)
    t.add_section()
    for d in cmp.families:
        row(d)
    out.print(t)
    out.print("* Holm-adjusted p < 0.05. Families: mean of their tasks' differences, normal approximation.")


@board_app.command("build")
def leaderboard_build(
    runs: Annotated[
        Path, typer.Option("--runs", help="Folder of run folders (used when the definition lists none).")
    ] = Path("runs"),
    config: Annotated[
        Path | None, typer.Option("--config", help="leaderboards/<name>.yaml: runs + model metadata.")
    ] = None,
    out_dir: Annotated[
        Path | None, typer.Option("--out", help="Output folder (default leaderboards/site/<name>).")
    ] = None,
) -> None:
    """Build the static leaderboard site (open index.html from disk or publish the folder)."""
    from kentei.board import BoardConfig, load_config
    from kentei.site import build_site

    cfg = load_config(config) if config else BoardConfig(name="runs")
    target = out_dir or Path("leaderboards") / "site" / cfg.name
    summary = build_site(cfg, config.parent if config else None, runs, target)
    for w in summary["warnings"]:
        err.print(f"warning: {w}", highlight=False)
    out.print(
        f"built {target}/index.html: {summary['models']} models, {summary['tasks']} tasks, "
        f"{summary['head_to_head']} head-to-head pages"
    )


@app.command()
def keigo(
    text: Annotated[
        str | None, typer.Argument(help="Text to analyze; without it, one sentence a line from stdin.")
    ] = None,
    json_out: Annotated[bool, typer.Option("--json", help="One JSON object per sentence (JSON Lines).")] = False,
) -> None:
    """The keigo analyzer: 尊敬語/謙譲語/丁寧語 used, and errors with suggestions."""
    from scorers.keigo import analyze_sentence, split_sentences

    if text is not None:
        sentences = split_sentences(text)
    else:
        if sys.stdin.isatty():
            err.print("reading one sentence a line from stdin (Ctrl-D to end) ...")
        sentences = [line.strip() for line in sys.stdin if line.strip()]
    for s in sentences:
        a = analyze_sentence(s)
        if json_out:
            print(json.dumps(a.to_json(), ensure_ascii=False))
            continue
        out.print(f"[bold]{a.text}[/bold]  ({'丁寧' if a.polite else '非丁寧'})", highlight=False, soft_wrap=True)
        for label, forms in (("尊敬語", a.sonkeigo), ("謙譲語", a.kenjougo), ("丁寧語", a.teineigo)):
            if forms:
                out.print(f"  {label}: {'、'.join(forms)}", highlight=False)
        for e in a.errors:
            out.print(
                f"  [red]{e.type}[/red] 「{e.span}」 {e.message} → {e.suggestion}", highlight=False, soft_wrap=True
            )


@app.command()
def tiny(
    path: Annotated[bool, typer.Option("--path", help="Only print the model folder.")] = False,
    force: Annotated[bool, typer.Option("--force", help="Rebuild even if built.")] = False,
    variant: Annotated[str, typer.Option(help="tiny-ja, or tiny-ja-b (smaller vocabulary, other seed).")] = "tiny-ja",
) -> None:
    """Build (once) and locate the embedded tiny-ja model."""
    from kentei.tiny.build import VARIANTS, ensure_tiny, tiny_path

    if variant not in VARIANTS:
        raise KenteiError(f"unknown tiny variant {variant!r}; known: {', '.join(VARIANTS)}")
    if not tiny_path(variant).exists() or force:
        with err.status(f"building {variant} (about a minute on 2 CPU cores) ..."):
            p = ensure_tiny(force=force, variant=variant)
    else:
        p = ensure_tiny(variant=variant)
    if path:
        print(p)
        return
    meta = json.loads((p / "kentei_tiny.json").read_text())
    out.print(
        f"{variant} at {p}\n{meta['n_params']:,} parameters, trained {meta['hparams']['steps']} steps on "
        f"{meta['train_tokens']:,} tokens in {meta['seconds']} s "
        f"(loss {meta['first_loss']:.2f} -> {meta['final_loss']:.2f})"
    )


@app.command()
def tokenizer(
    model: Annotated[str, typer.Argument(help="Local folder, Hugging Face id, tiny-ja or tiny-ja-b.")],
    tasks: Annotated[
        str, typer.Option(help="Whose text to measure on: all, a family or names a,b.")
    ] = "all",
    tasks_dir: TasksDir = None,
    trust_remote_code: Annotated[
        bool, typer.Option("--trust-remote-code", help="Run the model repo's own tokenizer code.")
    ] = False,
    revision: Annotated[str | None, typer.Option(help="Hub revision (branch, tag or commit).")] = None,
    json_out: Annotated[bool, typer.Option("--json", help="Print the metrics as a JSON object.")] = False,
    record: Annotated[
        Path | None,
        typer.Option(
            "--record",
            help="Also store the report in this run's record (a run made without one, e.g. an API run).",
        ),
    ] = None,
) -> None:
    """How well a model's tokenizer fits Japanese, over the suite's own text (docs/tokenizer.md)."""
    from kentei.tasks import select_tasks
    from kentei.tokfit import EXPLAIN, fit_report, load_tokenizer, suite_texts

    if record is not None:
        from kentei.records import load_record

        load_record(record)  # a clear error before any work if it is not a run folder
        if tasks != "all":
            raise KenteiError("--record stores the whole-suite report: leave out --tasks")
    texts = suite_texts(select_tasks(tasks, tasks_dir))
    with err.status(f"loading the tokenizer of {model} ..."):
        tok = load_tokenizer(model, trust_remote_code=trust_remote_code, revision=revision)
    report = fit_report(tok, texts)
    if record is not None:
        from kentei.io import RunLock
        from kentei.records import save_record

        with RunLock(record):
            rec = load_record(record)
            rec.tokenizer_fit = report
            rec.model["tokenizer_fit_source"] = model
            save_record(record, rec)
        err.print(f"stored in {record / 'run.json'}")
    if json_out:
        print(json.dumps(report, ensure_ascii=False, indent=2))
        return
    t = Table(title=f"tokenizer fit — {model} ({type(tok).__name__}, vocab {len(tok):,})", title_justify="left")
    for col in ("metric", "value", "meaning"):
        t.add_column(col, justify="right" if col == "value" else "left")
    for key, value in report.items():
        shown = f"{value:,.0f}" if key.startswith("n_") else f"{value:.3f}"
        t.add_row(key, shown, EXPLAIN.get(key, ""))
    out.print(t)


export_app = typer.Typer(
    help="Export the tasks for other tools: Hugging Face datasets, lm-evaluation-harness.", no_args_is_help=True
)
app.add_typer(export_app, name="export")

ExportTasks = Annotated[str, typer.Option(help="all, a family (keigo, business, monozukuri, culture) or names a,b.")]


@export_app.command("hf")
def export_hf_command(
    tasks: ExportTasks = "all",
    tasks_dir: TasksDir = None,
    out_dir: Annotated[
        Path, typer.Option("--out", help="Output folder: one dataset folder per task (new, empty or a kentei export).")
    ] = Path("export/hf"),
    json_out: Annotated[bool, typer.Option("--json", help="Print what was written as JSON.")] = False,
) -> None:
    """Each task as a Hugging Face dataset: parquet splits test/fewshot + a card with license and canary."""
    from kentei.export_hf import export_hf
    from kentei.tasks import select_tasks

    summary = export_hf(select_tasks(tasks, tasks_dir), out_dir)
    if json_out:
        print(json.dumps(summary, ensure_ascii=False, indent=2))
        return
    t = Table(title=f"kentei export hf → {out_dir}", title_justify="left")
    for col in ("task", "test", "fewshot", "folder"):
        t.add_column(col, justify="right" if col in ("test", "fewshot") else "left")
    for s in summary:
        t.add_row(s["task"], str(s["n_test"]), str(s["n_fewshot"]), s["path"])
    out.print(t)
    out.print(
        f'load: datasets.load_dataset("{out_dir}/<task>")   push: '
        f"huggingface-cli upload ORG/NAME {out_dir}/<task> --repo-type dataset",
        highlight=False,
    )


@export_app.command("lm-eval")
def export_lmeval_command(
    tasks: ExportTasks = "all",
    tasks_dir: TasksDir = None,
    out_dir: Annotated[
        Path, typer.Option("--out", help="Output folder for lm-eval's --include_path (new, empty or a kentei export).")
    ] = Path("export/lm-eval"),
    seed: Annotated[int, typer.Option(help="Few-shot seed, as in kentei run.")] = 1234,
    num_fewshot: Annotated[int | None, typer.Option(help="Override every task's few-shot count.", min=0)] = None,
    json_out: Annotated[bool, typer.Option("--json", help="Print what was written as JSON.")] = False,
) -> None:
    """The tasks as lm-evaluation-harness task YAMLs with kentei's exact (plain, non-chat) prompts."""
    from kentei.export_lmeval import export_lmeval
    from kentei.tasks import select_tasks

    summary = export_lmeval(select_tasks(tasks, tasks_dir), out_dir, seed=seed, num_fewshot=num_fewshot)
    if json_out:
        print(json.dumps(summary, ensure_ascii=False, indent=2))
        return
    t = Table(title=f"kentei export lm-eval → {out_dir}", title_justify="left")
    for col in ("lm-eval task", "kind", "docs", "shots"):
        t.add_column(col, justify="right" if col in ("docs", "shots") else "left")
    for s in summary:
        t.add_row(s["lm_eval_task"], s["kind"], str(s["n"]), str(s["num_fewshot"]))
    out.print(t)
    names = ",".join(s["lm_eval_task"] for s in summary)
    out.print(
        f"run: lm_eval --model hf --model_args pretrained=MODEL --include_path {out_dir} --tasks {names}\n"
        "(same prompts as `kentei run --no-chat`; the group `kentei` runs them all)",
        highlight=False,
        soft_wrap=True,
    )


def main() -> None:
    try:
        app()
    except KenteiError as e:
        err.print(f"[bold red]error:[/bold red] {e}", highlight=False)
        sys.exit(2)
    except KeyboardInterrupt:
        err.print("interrupted; re-run with the same --run-id to resume")
        sys.exit(130)
    except OSError as e:
        # Disk full, permission denied ...: say what and where, keep what was written.
        err.print(f"[bold red]error:[/bold red] {e.strerror or e} ({e.filename or 'I/O'})", highlight=False)
        sys.exit(2)


if __name__ == "__main__":
    main()
