"""How many CPUs this process may use: the --check workers and the CTranslate2 workers size by it."""

from __future__ import annotations

import os


def usable_cpus() -> int:
    """The CPUs this process may run on (its affinity), not the host's count."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # macOS, Windows
        return os.cpu_count() or 1


__all__ = ["usable_cpus"]
