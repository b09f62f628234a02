"""A process the kernel killed for lack of memory, told apart from a crash, with the figures that explain it.

The kernel's out-of-memory killer ends a process with SIGKILL. slmops sends
SIGKILL only after asking a worker to stop (cancel, time limit), so a SIGKILL
it did not send is, on a machine where memory ran out, the kernel's. Where the
process's cgroup counts out-of-memory kills (cgroup v2 ``memory.events``, v1
``memory.oom_control``: ``oom_kill N``), a count that grew while the process
ran confirms it.
"""

from __future__ import annotations

import signal
from dataclasses import dataclass
from pathlib import Path

import psutil

from engine.base.units import human_bytes

CGROUP_ROOT = Path("/sys/fs/cgroup")


def _counter_files(proc_cgroup: str) -> list[Path]:
    """The files that may count this process's cgroup's OOM kills, from the text of /proc/self/cgroup."""
    files = []
    for line in proc_cgroup.splitlines():
        hierarchy, _, rest = line.partition(":")
        controllers, _, path = rest.partition(":")
        relative = path.strip().lstrip("/")
        if hierarchy == "0" and controllers == "":
            files.append(CGROUP_ROOT / relative / "memory.events")
            files.append(CGROUP_ROOT / "unified" / relative / "memory.events")
        elif "memory" in controllers.split(","):
            files.append(CGROUP_ROOT / "memory" / relative / "memory.oom_control")
    return files


def oom_kills(proc_cgroup: str | None = None) -> int | None:
    """How many processes of this process's cgroup the kernel killed for memory so far; None where unreadable."""
    try:
        text = Path("/proc/self/cgroup").read_text(encoding="utf-8") if proc_cgroup is None else proc_cgroup
    except OSError:
        return None
    for path in _counter_files(text):
        try:
            for line in path.read_text(encoding="utf-8").splitlines():
                key, _, value = line.partition(" ")
                if key == "oom_kill":
                    return int(value)
        except (OSError, ValueError):
            continue
    return None


@dataclass(frozen=True)
class MemoryKill:
    """What is known of a process that died by a SIGKILL slmops did not send."""

    peak_rss_bytes: int  # of the process tree, as sampled while it ran
    available_bytes: int  # when it died
    confirmed: bool  # the cgroup's OOM-kill count grew meanwhile

    def message(self, what: str) -> str:
        why = (
            "killed by the kernel for lack of memory (its out-of-memory killer; the cgroup's oom_kill count grew)"
            if self.confirmed
            else "killed by SIGKILL, which slmops did not send: the kernel's out-of-memory killer does that when memory runs out"
        )
        return (
            f"{what} was {why}. Its processes peaked at {human_bytes(self.peak_rss_bytes)} (sampled); "
            f"{human_bytes(self.available_bytes)} of memory is available now."
        )


def memory_kill(returncode: int | None, peak_rss_bytes: int, oom_kills_before: int | None) -> MemoryKill | None:
    """A :class:`MemoryKill` when ``returncode`` says SIGKILL (the caller sent none), else None."""
    if returncode != -signal.SIGKILL:
        return None
    after = oom_kills()
    confirmed = oom_kills_before is not None and after is not None and after > oom_kills_before
    return MemoryKill(peak_rss_bytes, psutil.virtual_memory().available, confirmed)


def tree_rss(pid: int) -> int:
    """Resident memory of a process and all its descendants, now (0 once it is gone)."""
    try:
        root = psutil.Process(pid)
        family = [root, *root.children(recursive=True)]
    except psutil.Error:
        return 0
    total = 0
    for member in family:
        try:
            total += member.memory_info().rss
        except psutil.Error:
            continue
    return total
