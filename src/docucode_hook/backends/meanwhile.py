"""Work the main thread does while the model generates in CTranslate2's own threads.

On a commit, the hook spends about half its time waiting for the model: CTranslate2 decodes
in C++ worker threads while the Python main thread only waits for their results. The
pipeline queues here what it will need next (LibCST's import, 0.14 s), and the engine runs
the queue once its requests are submitted, so the wait does that work instead of idling
(docs/benchmarks.md, "Hook latency").

A queued task only saves time; nothing depends on it having run. Where no engine runs it
(the template backend, every docstring cached), or it fails, its step does the same work
later, where that work's errors are reported.
"""

from __future__ import annotations

from contextlib import contextmanager
from typing import Callable, Iterator

Task = Callable[[], object]

_queued: list[Task] = []


@contextmanager
def meanwhile(*tasks: Task) -> Iterator[None]:
    """Offer ``tasks`` to any generation started inside the block; those left unrun are dropped at its end."""
    _queued.extend(tasks)
    try:
        yield
    finally:
        for task in tasks:
            if task in _queued:
                _queued.remove(task)


def run_queued() -> None:
    """Run the queued tasks once each: for an engine whose requests are running in other threads."""
    while _queued:
        task = _queued.pop(0)
        try:
            task()
        except Exception:  # the step that needs the task's result does it again, and reports
            pass


__all__ = ["meanwhile", "run_queued"]
