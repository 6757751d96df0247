"""`kentei leaderboard build`: the static site (HTML + one JS + one CSS file, no external request).

Every string that comes from a record (model names, prompts, outputs) is untrusted: pages are
rendered by Jinja2 with autoescaping, JSON embedded for the drill-down goes through `tojson`
(which escapes < > & '), the browser inserts it with textContent, and every page carries a
Content-Security-Policy that only allows the site's own script and stylesheet.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import re
import shutil
from pathlib import Path
from typing import Any

import jinja2
from markupsafe import Markup, escape

from kentei import __version__
from kentei.board import BoardConfig, Entry, Score, collect
from kentei.errors import KenteiError
from kentei.io import atomic_write_text, read_log
from kentei.records import items_path

HERE = Path(__file__).parent


def slug(s: str) -> str:
    """A file name from any string: nothing that could leave the folder."""
    out = re.sub(r"[^A-Za-z0-9._-]+", "_", s).strip("._") or "model"
    return out[:100]


def fmt(v: float | None) -> str:
    return "—" if v is None else f"{v:.3f}"


def sfmt(v: float) -> str:
    return f"{v:+.3f}"


def human(n: Any) -> str:
    if not n:
        return "—"
    n = float(n)
    for unit, div in (("T", 1e12), ("B", 1e9), ("M", 1e6), ("K", 1e3)):
        if n >= div:
            return f"{n / div:.3g}{unit}"
    return f"{n:.0f}"


def _env() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(HERE / "site_templates"),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.globals.update(slug=slug, fmt=fmt, sfmt=sfmt, human=human)
    return env


def _gold_and_output(r: dict[str, Any]) -> tuple[str, str]:
    item, resp = r["item"], r["response"]
    if "choices" in item:
        gold = f"{item['answer'] + 1}. {item['choices'][item['answer']]}"
        if "logprobs" in resp:
            lps = resp["logprobs"]
            k = max(range(len(lps)), key=lambda i: (lps[i], -i))
            out = f"{k + 1}. {item['choices'][k]}  (log-probs: " + ", ".join(f"{x:.2f}" for x in lps) + ")"
        else:
            out = resp.get("text", "")
        return gold, out
    refs = item.get("references") or []
    return " / ".join(refs), resp.get("text", "")


def _drill_rows(run_dir: Path, task: str) -> list[dict[str, Any]]:
    path = items_path(run_dir, task)
    rows = read_log(path) if path.exists() else []
    out = []
    for r in rows:
        gold, output = _gold_and_output(r)
        out.append(
            {
                "id": r["id"],
                "category": r.get("category") or "",
                "prompt": r.get("prompt", ""),
                "gold": gold,
                "output": output,
                "scores": r.get("scores", {}),
            }
        )
    return out


def _chart(entries: list[Entry], families: list[str]) -> str:
    """Grouped horizontal bars with 95% CI whiskers, one group per family, as inline SVG."""
    if not families or not entries:
        return ""
    palette = ["#1f3a5f", "#c0392b", "#2e7d32", "#8e44ad", "#d35400", "#00838f", "#6d4c41", "#546e7a"]
    bar, gap, left, width = 14, 10, 150, 460
    height = len(families) * (len(entries) * bar + gap) + 40 + len(entries) * 16
    parts = [
        f'<svg class="chart" xmlns="http://www.w3.org/2000/svg" width="{left + width + 80}" height="{height}" '
        f'role="img" aria-label="scores by family">'
    ]
    y = 10
    for f in families:
        parts.append(f'<text x="4" y="{y + len(entries) * bar / 2 + 4}">{escape(f)}</text>')
        for k, e in enumerate(entries):
            s = e.families.get(f)
            color = palette[k % len(palette)]
            if s is not None:
                w = max(0.0, min(1.0, s.value)) * width
                parts.append(
                    f'<rect x="{left}" y="{y}" width="{w:.1f}" height="{bar - 2}" fill="{color}"><title>'
                    f"{escape(e.name)} {escape(f)}: {s.value:.3f}</title></rect>"
                )
                if s.ci:
                    lo, hi = (max(0.0, min(1.0, c)) * width + left for c in s.ci)
                    cy = y + (bar - 2) / 2
                    parts.append(
                        f'<line x1="{lo:.1f}" x2="{hi:.1f}" y1="{cy}" y2="{cy}" stroke="#000" stroke-width="1"/>'
                    )
                parts.append(f'<text x="{left + w + 4:.1f}" y="{y + bar - 4}">{s.value:.3f}</text>')
            y += bar
        y += gap
    for tick in (0, 0.25, 0.5, 0.75, 1.0):
        x = left + tick * width
        parts.append(f'<line x1="{x}" x2="{x}" y1="5" y2="{y}" stroke="#ccc" stroke-width="0.5"/>')
        parts.append(f'<text x="{x - 8}" y="{y + 12}">{tick:g}</text>')
    y += 24
    for k, e in enumerate(entries):
        parts.append(
            f'<rect x="{left}" y="{y}" width="10" height="10" fill="{palette[k % len(palette)]}"/>'
            f'<text x="{left + 14}" y="{y + 9}">{escape(e.name)}</text>'
        )
        y += 16
    parts.append("</svg>")
    return "".join(parts)


# The tokenizer-fit numbers worth a leaderboard column (counts such as n_chars stay in the record).
FIT_COLUMNS = ("chars_per_token", "tokens_per_1k_chars", "boundary_f1", "split_morpheme_rate", "byte_fallback_rate")


def _task_info(names: list[str], entries: list[Entry]) -> dict[str, dict[str, Any]]:
    from collections import Counter

    from kentei.prompts import choose_fewshot, render_prompt
    from kentei.tasks import select_tasks

    info: dict[str, dict[str, Any]] = {}
    for name in names:
        tr = next(e.record.tasks[name] for e in entries if name in e.record.tasks)
        d: dict[str, Any] = {
            "family": tr.family,
            "kind": tr.kind,
            "version": tr.version,
            "n": tr.n,
            "primary_metric": tr.primary_metric,
            "metrics": [m["name"] for m in tr.metric_specs],
            "num_fewshot": tr.num_fewshot,
            "description": "",
            "categories": {},
            "prompt": "",
        }
        try:
            task = select_tasks(name)[0]
        except KenteiError:
            task = None
        if task is not None and task.spec.version == tr.version:
            d["description"] = task.spec.description.strip()
            d["categories"] = dict(sorted(Counter(li.item.category for li in task.test).items()))
            d["n"] = len(task.test)
            first = task.test[0].item
            shots = choose_fewshot([li.item for li in task.fewshot], task.spec.num_fewshot, 1234, name, first.id)
            d["prompt"] = render_prompt(task.spec, first, shots, "loglikelihood", None).text
        info[name] = d
    return info


def build_site(config: BoardConfig, config_dir: Path | None, runs_root: Path, out: Path) -> dict[str, Any]:
    """Write the site into `out` (replacing what a previous build wrote there); returns a summary."""
    from kentei.compare import compare_runs

    entries, warnings = collect(config, config_dir, runs_root)
    families = sorted({f for e in entries for f in e.families})
    tasks = sorted({t for e in entries for t in e.tasks})
    env = _env()
    built_at = dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds")
    common = {"board": config, "version": __version__, "built_at": built_at}

    # Best value per column (ties all highlighted).
    best: dict[str, float] = {}
    for key, get in (
        [("headline", lambda e: e.headline)]
        + [(f"fam:{f}", lambda e, f=f: e.families.get(f)) for f in families]
        + [(f"task:{t}", lambda e, t=t: e.tasks.get(t)) for t in tasks]
    ):
        vals = [s.value for e in entries if (s := get(e)) is not None]
        if vals:
            best[key] = max(vals)

    def cell(s: Score | None, key: str, e: Entry) -> Markup:
        if s is None:
            return Markup('<td data-value="-1" class="muted">—</td>')
        cls = ' class="best"' if len(entries) > 1 and abs(s.value - best.get(key, -9)) < 1e-12 else ""
        ci = f' <span class="ci">[{s.ci[0]:.3f}, {s.ci[1]:.3f}]</span>' if s.ci else ""
        return Markup(
            f'<td data-value="{s.value:.6f}"{cls}><a href="runs/{escape(slug(s.run_id))}/index.html">'
            f"{s.value:.3f}</a>{ci}</td>"
        )

    if out.exists():
        for sub in ("models", "tasks", "h2h", "runs", "static"):
            shutil.rmtree(out / sub, ignore_errors=True)
    out.mkdir(parents=True, exist_ok=True)
    shutil.copytree(HERE / "site_static", out / "static")

    # Head-to-head: every sovereign/domestic model against every baseline.
    h2h = []
    for a in entries:
        if a.meta.origin not in ("sovereign", "domestic"):
            continue
        for b in entries:
            if b is a or not b.meta.baseline:
                continue
            try:
                cmp = compare_runs(a.run_dir, b.run_dir)
            except KenteiError as err:
                warnings.append(f"no head-to-head {a.name} vs {b.name}: {err}")
                continue
            file = f"{slug(a.model_id)}__vs__{slug(b.model_id)}.html"
            html = env.get_template("h2h.html").render(root="../", cmp=cmp, name_a=a.name, name_b=b.name, **common)
            atomic_write_text(out / "h2h" / file, html)
            h2h.append(
                {
                    "a": a.name,
                    "b": b.name,
                    "file": file,
                    "wins": sum(1 for d in cmp.tasks if d.significant and d.diff > 0),
                    "losses": sum(1 for d in cmp.tasks if d.significant and d.diff < 0),
                    "ties": sum(1 for d in cmp.tasks if not d.significant),
                }
            )

    task_info = _task_info(tasks, entries)
    present = {k for e in entries for k in (e.record.tokenizer_fit or {})}
    fit_cols = [k for k in FIT_COLUMNS if k in present]
    index = env.get_template("index.html").render(
        root="",
        fit_cols=fit_cols,
        entries=entries,
        families=families,
        tasks=tasks,
        cell=cell,
        warnings=warnings,
        chart=_chart(entries, families),
        h2h=h2h,
        task_info=task_info,
        **common,
    )
    atomic_write_text(out / "index.html", index)
    for t in tasks:
        atomic_write_text(
            out / "tasks" / f"{t}.html",
            env.get_template("task.html").render(root="../", name=t, info=task_info[t], entries=entries, **common),
        )
    for e in entries:
        meta_rows = [(k, v) for k, v in e.meta.model_dump().items() if v not in (None, "")]
        meta_rows += [
            ("model id", e.model_id),
            ("parameters (counted)", e.record.model.get("n_params")),
            ("dtype", e.record.model.get("dtype")),
            ("weights sha256", e.record.model.get("weights_sha256")),
        ]
        atomic_write_text(
            out / "models" / f"{slug(e.model_id)}.html",
            env.get_template("model.html").render(
                root="../", e=e, meta_rows=[(k, v) for k, v in meta_rows if v is not None], **common
            ),
        )
        run_out = out / "runs" / slug(e.record.run_id)
        items = {t: _drill_rows(e.run_dir, t) for t in e.record.tasks}
        atomic_write_text(
            run_out / "index.html",
            env.get_template("run.html").render(root="../../", rec=e.record, items=items, **common),
        )
        shutil.copy2(e.run_dir / "run.json", run_out / "run.json")

    rows = []
    for e in entries:
        row: dict[str, Any] = {
            "rank": e.rank,
            "tied": e.tied,
            "model_id": e.model_id,
            "display_name": e.name,
            "organization": e.meta.organization,
            "origin": e.meta.origin,
            "country": e.meta.country,
            "params": e.meta.params or e.record.model.get("n_params"),
            "baseline": e.meta.baseline,
            "run_id": e.record.run_id,
            "headline": e.headline.value if e.headline else None,
            "headline_ci_low": e.headline.ci[0] if e.headline and e.headline.ci else None,
            "headline_ci_high": e.headline.ci[1] if e.headline and e.headline.ci else None,
        }
        row.update({f"family:{f}": (e.families[f].value if f in e.families else None) for f in families})
        row.update({f"task:{t}": (e.tasks[t].value if t in e.tasks else None) for t in tasks})
        rows.append(row)
    atomic_write_text(
        out / "leaderboard.json",
        json.dumps(
            {"title": config.title, "kentei_version": __version__, "built_at": built_at, "rows": rows},
            ensure_ascii=False,
            indent=2,
        )
        + "\n",
    )
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=list(rows[0]))
    writer.writeheader()
    writer.writerows(rows)
    atomic_write_text(out / "leaderboard.csv", buf.getvalue())
    return {
        "out": str(out),
        "models": len(entries),
        "tasks": len(tasks),
        "head_to_head": len(h2h),
        "warnings": warnings,
    }
