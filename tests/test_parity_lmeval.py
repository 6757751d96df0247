"""Parity with a peer: kentei's per-choice log-likelihoods equal lm-evaluation-harness's `hf`
backend on the same prompts and choices (float32, CPU), and so does accuracy."""

from __future__ import annotations

from pathlib import Path

import pytest

from kentei.backends.hf import HFBackend
from kentei.records import RunSettings
from kentei.runner import plan_task
from kentei.tasks import select_tasks

pytestmark = pytest.mark.slow


def test_loglikelihoods_match_lm_eval(tiny_path: Path, tiny_backend: HFBackend) -> None:
    from lm_eval.api.instance import Instance
    from lm_eval.models.huggingface import HFLM

    task = select_tasks("keigo_form")[0]
    settings = RunSettings(tasks=["keigo_form"], limit=24, mc_mode="loglikelihood", chat=False)
    planned = plan_task(task, settings, tiny_backend)
    tiny_backend.batch_size = 4
    ours = tiny_backend.loglikelihood([p.request for p in planned])

    peer = HFLM(pretrained=str(tiny_path), backend="causal", device="cpu", dtype="float32", batch_size=4)
    instances = [
        Instance(request_type="loglikelihood", doc={}, arguments=(p.prompt, c), idx=j)
        for p in planned
        for j, c in enumerate(p.request.continuations)
    ]
    theirs = [lp for lp, _greedy in peer.loglikelihood(instances)]

    flat = [lp for r in ours for lp in r.logprobs]
    assert len(flat) == len(theirs) > 24 * 2
    assert max(abs(a - b) for a, b in zip(flat, theirs, strict=True)) < 1e-4
    assert not any(r.boundary_merged for r in ours)  # the comparison covers the ordinary path

    i = 0
    acc_ours = acc_theirs = 0
    for p, r in zip(planned, ours, strict=True):
        k = len(r.logprobs)
        mine, peer_lps = r.logprobs, theirs[i : i + k]
        i += k
        gold = p.item.answer  # type: ignore[union-attr]
        acc_ours += max(range(k), key=lambda j: mine[j]) == gold
        acc_theirs += max(range(k), key=lambda j: peer_lps[j]) == gold
    assert acc_ours == acc_theirs
