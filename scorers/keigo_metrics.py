"""Metrics for keigo rewrite tasks: register achieved, errors avoided, content preserved.

keigo_score = content × (register + error_free) / 2

- register: share of the output's sentences whose final predicate is polite, times
  (0.5 + 0.5 × coverage) where coverage is the share of the honorific kinds the first reference
  uses (尊敬語, 謙譲語) that the output uses too; just the polite share when the reference uses neither.
- error_free: 1.0 with no keigo error (any type of the analyzer), 0.5 with one, 0.0 with more.
- content: recall of the references' content lemmas (nouns, verbs, adjectives, adverbs; keigo
  and light verbs excluded) in the output's lemmas, max over references.

Content multiplies: an output that drops the message scores low however polite it is; a plain
(non-polite) rewrite keeps at most half; one keigo error costs a quarter.
"""

from __future__ import annotations

from scorers.keigo import KENJOU_VERBS, SONKEI_VERBS, analyze_text
from scorers.morph import analyze
from scorers.normalize import strip_think
from scorers.registry import Sample, register

_CONTENT_POS = {"名詞", "動詞", "形容詞", "形状詞", "副詞"}
# Words that carry register, not content: keigo verbs and the plain verbs they replace,
# light verbs, formal nouns.
_NOT_CONTENT = (
    set(SONKEI_VERBS)
    | set(KENJOU_VERBS)
    | {
        "為る",
        "居る",
        "成る",
        "有る",
        "出来る",
        "言う",
        "行く",
        "来る",
        "見る",
        "食べる",
        "飲む",
        "呉れる",
        "貰う",
        "遣る",
        "上げる",
        "知る",
        "思う",
        "会う",
        "聞く",
        "訪ねる",
        "御",
        "様",
        "事",
        "物",
        "所",
        "方",
        "為",
        "積もり",
        "此方",
        "其方",
        "貴方",
        "御座る",
        "存ずる",
        "拝見",
        "拝借",
        "拝読",
        "拝聴",
        "頂戴",
        "承知",
        "了解",
        "御覧",
        "見える",
        "召す",
        "お願い",
        "願う",
        "致す",
        "申し上げる",
        "差し上げる",
    }
)


def _output(sample: Sample) -> str:
    return strip_think(sample.response.get("text", "") or "").strip()


def content_lemmas(text: str) -> set[str]:
    return {m.lemma for m in analyze(text) if m.pos1 in _CONTENT_POS and m.lemma not in _NOT_CONTENT}


def _refs(sample: Sample) -> list[str]:
    return [r for r in sample.item.get("references") or [] if isinstance(r, str) and r.strip()]


@register("keigo_register")
def keigo_register(sample: Sample) -> float:
    """Share of output sentences ending in a polite predicate, × (0.5 + 0.5 × the share of the
    first reference's honorific kinds — 尊敬語, 謙譲語 — that the output also uses). 0 for empty output."""
    out = analyze_text(_output(sample))
    if not out:
        return 0.0
    polite = sum(a.polite for a in out) / len(out)
    refs = _refs(sample)
    if not refs:
        return polite
    ref = analyze_text(refs[0])
    needed = [kind for kind in ("sonkeigo", "kenjougo") if any(getattr(a, kind) for a in ref)]
    if not needed:
        return polite
    covered = sum(1 for kind in needed if any(getattr(a, kind) for a in out)) / len(needed)
    return polite * (0.5 + 0.5 * covered)


@register("keigo_error_free")
def keigo_error_free(sample: Sample) -> float:
    """1.0 when the keigo analyzer finds no error in the output, 0.5 for one error, 0.0 for more."""
    n = sum(len(a.errors) for a in analyze_text(_output(sample)))
    return 1.0 if n == 0 else 0.5 if n == 1 else 0.0


@register("keigo_content")
def keigo_content(sample: Sample) -> float:
    """Recall of each reference's content lemmas (nouns, verbs, adjectives, adverbs; keigo and light
    verbs excluded) among the output's lemmas, max over references (1.0 when a reference has none)."""
    out = {m.lemma for m in analyze(_output(sample))}
    best = 0.0
    for ref in _refs(sample):
        need = content_lemmas(ref)
        best = max(best, 1.0 if not need else len(need & out) / len(need))
    return best


@register("keigo_score")
def keigo_score(sample: Sample) -> float:
    """The keigo rewrite score: keigo_content × (keigo_register + keigo_error_free) / 2, in [0, 1]."""
    return keigo_content(sample) * (keigo_register(sample) + keigo_error_free(sample)) / 2
