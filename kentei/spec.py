"""The task format: task.yaml (TaskSpec) and the item models of test.jsonl / fewshot.jsonl."""

from __future__ import annotations

import json
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

FAMILIES = ("keigo", "business", "monozukuri", "culture")
NAME_PATTERN = r"^[a-z0-9_]+$"


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class PromptSpec(_Strict):
    system: str | None = None
    template: str
    """Jinja2 over the item's fields (plus `choices_block` for multiple choice)."""
    target: str | None = None
    """Jinja2 for a few-shot example's answer; default: the gold choice text / first reference."""
    fewshot_separator: str = "\n\n"
    target_delimiter: str = ""
    """Put between the prompt and the answer. Japanese needs no space, unlike lm-eval's default " "."""


class GenerationSpec(_Strict):
    max_new_tokens: Annotated[int, Field(gt=0, le=32768)] = 64
    stop: list[str] = Field(default_factory=lambda: ["\n\n"])


class MetricSpec(_Strict):
    name: str
    args: dict[str, Any] = Field(default_factory=dict)

    @field_validator("args")
    @classmethod
    def _args_serialize(cls, v: dict[str, Any]) -> dict[str, Any]:
        # Args are stored in the run record: a YAML alias that contains itself (args: &x {a: *x})
        # loads fine but would crash `kentei run` when it writes the record.
        try:
            json.dumps(v, default=str)
        except (ValueError, RecursionError):
            raise ValueError("args must not refer to themselves (a YAML alias inside its own anchor)") from None
        return v


class TaskSpec(_Strict):
    name: Annotated[str, Field(pattern=NAME_PATTERN, max_length=64)]
    version: Annotated[int, Field(ge=0)]
    family: Literal["keigo", "business", "monozukuri", "culture"]
    kind: Literal["multiple_choice", "generation"]
    description: str
    license: str
    canary: Annotated[str, Field(pattern=r"^kentei:canary:[0-9a-f-]{36}$")]
    num_fewshot: Annotated[int, Field(ge=0, le=64)] = 0
    prompt: PromptSpec
    generation: GenerationSpec = Field(default_factory=GenerationSpec)
    metrics: list[MetricSpec]
    primary_metric: str

    @model_validator(mode="after")
    def _primary_is_a_metric(self) -> TaskSpec:
        names = [m.name for m in self.metrics]
        if not names:
            raise ValueError("metrics: at least one metric is required")
        if self.primary_metric not in names:
            raise ValueError(f"primary_metric {self.primary_metric!r} is not one of metrics {names}")
        return self


class _ItemBase(BaseModel):
    # Extra fields are allowed: templates may use any field the task defines.
    model_config = ConfigDict(extra="allow")

    id: Annotated[str, Field(min_length=1, max_length=128)]
    category: Annotated[str, Field(min_length=1)]
    rationale: Annotated[str, Field(min_length=1)]
    tags: list[str] = Field(default_factory=list)
    cluster: str | None = None


class MCItem(_ItemBase):
    question: Annotated[str, Field(min_length=1)]
    choices: Annotated[list[str], Field(min_length=2, max_length=6)]
    answer: int

    @field_validator("choices")
    @classmethod
    def _choices_nonempty(cls, v: list[str]) -> list[str]:
        if any(not c.strip() for c in v):
            raise ValueError("choices must be non-empty strings")
        return v

    @model_validator(mode="after")
    def _answer_in_range(self) -> MCItem:
        if not 0 <= self.answer < len(self.choices):
            raise ValueError(f"answer {self.answer} is out of range for {len(self.choices)} choices (0-based index)")
        return self


class GenItem(_ItemBase):
    input: Annotated[str, Field(min_length=1)]
    references: Annotated[list[str], Field(min_length=1)]
    aliases: list[str] = Field(default_factory=list)
    terms: list[str] = Field(default_factory=list)
    target_register: str | None = None

    @field_validator("references")
    @classmethod
    def _refs_nonempty(cls, v: list[str]) -> list[str]:
        if any(not r.strip() for r in v):
            raise ValueError("references must be non-empty strings")
        return v


Item = MCItem | GenItem
