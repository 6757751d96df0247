"""Leaderboard data: the definition file (runs + model metadata as data) and the numbers it shows.

Headline = mean over families of the family scores; family score = mean over its tasks of the
task's primary metric scaled to 0-1 (BLEU / 100). SEs combine as independent: a family's is
sqrt(sum of its tasks' SE^2) / T, the headline's sqrt(sum of family SE^2) / F. The rank is
CI-aware: 1 + the number of models whose 95% CI lies entirely above this model's, so models whose
intervals overlap share a rank.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from kentei.errors import KenteiError
from kentei.io import read_text
from kentei.records import RunRecord, load_record
from kentei.stats import Z95


class ModelMeta(BaseModel):
    """Metadata of one model, as data. Missing fields are fine; unknown fields are kept; invalid ones are errors."""

    model_config = ConfigDict(extra="allow")

    display_name: str | None = None
    organization: str | None = None
    origin: Literal["sovereign", "domestic", "foreign"] | None = None
    country: str | None = Field(default=None, pattern=r"^[A-Z]{2}$")
    params: float | None = Field(default=None, gt=0)
    license: str | None = None
    weights: Literal["open", "closed"] | None = None
    link: str | None = Field(default=None, pattern=r"^https?://\S+$")
    baseline: bool = False

    @field_validator("params", mode="before")
    @classmethod
    def _params(cls, v: Any) -> Any:
        """Accept 937856, 7e9, "7B", "1.8B", "350M"."""
        if isinstance(v, str):
            units = {"K": 1e3, "M": 1e6, "B": 1e9, "T": 1e12}
            s = v.strip().upper()
            if s and s[-1] in units:
                try:
                    return float(s[:-1]) * units[s[-1]]
                except ValueError:
                    raise ValueError(f"params {v!r} is not a number like 7B or 350M") from None
        return v


class BoardConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(pattern=r"^[a-z0-9_-]+$")
    title: str = "kentei leaderboard"
    description: str = ""
    runs: list[str] = Field(default_factory=list)
    """Run folders, relative to this file (or absolute). Empty: every complete run under --runs."""
    models: dict[str, ModelMeta] = Field(default_factory=dict)
    """Keyed by the model id recorded in run.json."""


def load_config(path: Path) -> BoardConfig:
    try:
        raw = yaml.safe_load(read_text(path))
    except yaml.YAMLError as e:
        mark = getattr(e, "problem_mark", None)
        raise KenteiError(
            f"malformed YAML: {getattr(e, 'problem', e)}", path, mark.line + 1 if mark else None
        ) from None
    try:
        return BoardConfig.model_validate(raw or {})
    except ValidationError as e:
        msgs = "; ".join(f"{'.'.join(str(p) for p in err['loc'])}: {err['msg']}" for err in e.errors())
        raise KenteiError(f"invalid leaderboard definition: {msgs}", path) from None


@dataclass
class Score:
    value: float
    se: float | None
    run_id: str

    @property
    def ci(self) -> tuple[float, float] | None:
        return None if self.se is None else (self.value - Z95 * self.se, self.value + Z95 * self.se)


@dataclass
class Entry:
    model_id: str
    meta: ModelMeta
    run_dir: Path
    record: RunRecord
    tasks: dict[str, Score] = field(default_factory=dict)
    families: dict[str, Score] = field(default_factory=dict)
    headline: Score | None = None
    rank: int = 0
    tied: bool = False

    @property
    def name(self) -> str:
        return self.meta.display_name or self.model_id


def _combine(scores: list[Score], run_id: str) -> Score:
    value = sum(s.value for s in scores) / len(scores)
    se = (
        math.sqrt(sum(s.se**2 for s in scores)) / len(scores)  # type: ignore[operator]
        if all(s.se is not None for s in scores)
        else None
    )
    return Score(value, se, run_id)


def collect(config: BoardConfig, config_dir: Path | None, runs_root: Path) -> tuple[list[Entry], list[str]]:
    """Entries (one per model: its latest complete run) and warnings (incomplete runs skipped, ...)."""
    from scorers import get_scorer

    warnings: list[str] = []
    if config.runs:
        base = config_dir or Path(".")
        dirs = [(Path(r) if Path(r).is_absolute() else base / r) for r in config.runs]
    else:
        dirs = sorted(p for p in runs_root.iterdir() if (p / "run.json").exists()) if runs_root.is_dir() else []
    if not dirs:
        raise KenteiError(f"no runs to show (none listed in the definition, none under {runs_root})")
    latest: dict[str, tuple[Path, RunRecord]] = {}
    for d in dirs:
        rec = load_record(d)
        if rec.status != "complete":
            warnings.append(f"skipped incomplete run {rec.run_id} ({d})")
            continue
        mid = str(rec.model.get("id"))
        if mid not in latest or rec.created_at > latest[mid][1].created_at:
            latest[mid] = (d, rec)
    if not latest:
        raise KenteiError("no complete run to show")
    entries = []
    for mid, (d, rec) in sorted(latest.items()):
        e = Entry(mid, config.models.get(mid, ModelMeta()), d, rec)
        for name, tr in rec.tasks.items():
            m = tr.metrics.get(tr.primary_metric)
            if m is None:
                continue
            hi = get_scorer(tr.primary_metric).range[1]
            e.tasks[name] = Score(m.value / hi, None if m.stderr is None else m.stderr / hi, rec.run_id)
        entries.append(e)
    # The headline only averages tasks every model ran, so it compares like with like.
    common = set.intersection(*(set(e.tasks) for e in entries))
    dropped = sorted(set.union(*(set(e.tasks) for e in entries)) - common)
    if dropped:
        warnings.append(f"tasks not run by every model are left out of the headline: {', '.join(dropped)}")
    for e in entries:
        fams: dict[str, list[Score]] = {}
        for name in sorted(common):
            fams.setdefault(e.record.tasks[name].family, []).append(e.tasks[name])
        e.families = {f: _combine(s, e.record.run_id) for f, s in sorted(fams.items())}
        if e.families:
            e.headline = _combine(list(e.families.values()), e.record.run_id)
    for e in entries:
        if e.headline is None or e.headline.ci is None:
            continue
        lo_hi = e.headline.ci
        better = [o for o in entries if o.headline and o.headline.ci and o.headline.ci[0] > lo_hi[1]]
        e.rank = 1 + len(better)
    for e in entries:
        e.tied = sum(1 for o in entries if o.rank == e.rank and o.rank) > 1
    entries.sort(key=lambda e: (-(e.headline.value if e.headline else -1), e.model_id))
    return entries, warnings
