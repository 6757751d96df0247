"""Named crash points for the crash-safety tests (docs/reliability.md).

`KENTEI_FAILPOINT=<name>[:<n>]` makes the process SIGKILL itself the n-th time (default: first)
it passes `hit(<name>)`. A real SIGKILL, not an exception: nothing gets to clean up, exactly as
when the OOM killer or a preempted node ends a run. Unset (always, outside tests) it costs one
dictionary lookup.
"""

from __future__ import annotations

import os
import signal

POINTS = ("model_load", "after_batch", "torn_append", "atomic_write", "between_tasks")
_passes: dict[str, int] = {}


def due(name: str) -> bool:
    """Count a pass of `name`; True when this pass is the one that must die."""
    spec = os.environ.get("KENTEI_FAILPOINT")
    if not spec:
        return False
    point, _, nth = spec.partition(":")
    if point != name:
        return False
    _passes[name] = _passes.get(name, 0) + 1
    return _passes[name] == (int(nth) if nth.isdigit() else 1)


def kill() -> None:
    os.kill(os.getpid(), signal.SIGKILL)


def hit(name: str) -> None:
    if due(name):
        kill()
