"""CPU seconds of a process and its descendants, read from Linux /proc (no psutil needed).

The REST benchmark divides the server's CPU by the requests it answered: at 100
closed-loop connections latency ≈ connections × CPU per request ÷ cores, and CPU per
request moves far less than wall-clock latency with the shared machine's load.
"""

from __future__ import annotations

import os
from pathlib import Path

_TICKS = os.sysconf("SC_CLK_TCK")


def _stat_fields(pid: int) -> list[str] | None:
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except (FileNotFoundError, ProcessLookupError):
        return None  # it exited between the listing and the read
    return text[text.rindex(")") + 2 :].split()  # after "pid (comm) "; comm may hold spaces


def _children(pid: int) -> list[int]:
    kids: list[int] = []
    for task in Path(f"/proc/{pid}/task").glob("*"):
        try:
            kids += [int(k) for k in (task / "children").read_text().split()]
        except FileNotFoundError:
            continue
    return kids


def tree_cpu_seconds(pid: int) -> float:
    """User + system CPU of ``pid`` and every live descendant (their own time, not reaped)."""
    total, todo = 0, [pid]
    while todo:
        p = todo.pop()
        fields = _stat_fields(p)
        if fields is None:
            continue
        total += int(fields[11]) + int(fields[12])  # utime, stime (fields 14 and 15 of stat)
        todo += _children(p)
    return total / _TICKS
