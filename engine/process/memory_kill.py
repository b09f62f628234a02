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


def _cgroup_dirs(proc_cgroup: str) -> list[tuple[str, Path]]:
    """This process's memory cgroup folders, ("v2" | "v1", folder), from the text of /proc/self/cgroup."""
    found = []
    for line in proc_cgroup.splitlines():
        hierarchy, _, rest = line.partition(":")
        controllers, _, path = rest.partition(":")
        relative = path.strip().lstrip("/")
        if hierarchy == "0" and controllers == "":
            found += [("v2", CGROUP_ROOT / relative), ("v2", CGROUP_ROOT / "unified" / relative)]
        elif "memory" in controllers.split(","):
            found.append(("v1", CGROUP_ROOT / "memory" / relative))
    return found


def _proc_cgroup(proc_cgroup: str | None) -> str | None:
    try:
        return Path("/proc/self/cgroup").read_text(encoding="utf-8") if proc_cgroup is None else proc_cgroup
    except OSError:
        return None


def oom_kills(proc_cgroup: str | None = None) -> int | None:
    """How many processes of this process's cgroup the kernel killed for memory so far; None where unreadable."""
    text = _proc_cgroup(proc_cgroup)
    for version, folder in _cgroup_dirs(text or ""):
        path = folder / ("memory.events" if version == "v2" else "memory.oom_control")
        try:
            for line in path.read_text(encoding="utf-8").splitlines():
                key, _, value = line.partition(" ")
                if key == "oom_kill":
                    return int(value)
        except (OSError, ValueError):
            continue
    return None


# v1 writes "no limit" as the largest page-aligned signed 64-bit number; anything this large is no limit
NO_LIMIT = 1 << 60
# the file names of each cgroup version: limit, usage, and the memory.stat key of reclaimable page cache
CGROUP_FILES = {
    "v2": ("memory.max", "memory.current", "inactive_file"),
    "v1": ("memory.limit_in_bytes", "memory.usage_in_bytes", "total_inactive_file"),
}


def _read_int(path: Path) -> int | None:
    try:
        text = path.read_text(encoding="utf-8").strip()
    except OSError:
        return None
    if text == "max":
        return NO_LIMIT
    try:
        return int(text)
    except ValueError:
        return None


def _stat(path: Path, key: str) -> int:
    try:
        for line in path.read_text(encoding="utf-8").splitlines():
            name, _, value = line.partition(" ")
            if name == key:
                return int(value)
    except (OSError, ValueError):
        pass
    return 0


def cgroup_headroom(proc_cgroup: str | None = None) -> int | None:
    """What this process's cgroups (a container's, a systemd unit's, and the ones above them) still allow: the
    smallest limit minus usage, counting inactive page cache as free (the kernel reclaims it before it kills);
    None where no cgroup sets a limit or none is readable."""
    text = _proc_cgroup(proc_cgroup)
    best: int | None = None
    for version, folder in _cgroup_dirs(text or ""):
        limit_name, usage_name, reclaimable = CGROUP_FILES[version]
        # a limit on a parent (a systemd slice, the container around a nested cgroup) binds as much as one's own
        for level in (folder, *folder.parents):
            if not level.is_relative_to(CGROUP_ROOT):
                break
            limit, usage = _read_int(level / limit_name), _read_int(level / usage_name)
            if limit is None or usage is None or limit >= NO_LIMIT:
                continue
            room = max(0, limit - usage + _stat(level / "memory.stat", reclaimable))
            best = room if best is None else min(best, room)
    return best


def available_memory(proc_cgroup: str | None = None) -> int:
    """The memory a new process may still take: the smaller of the machine's available memory and what this
    process's cgroups allow (a container or a systemd unit with a memory limit kills before the machine runs out).
    Every memory check asks this, never psutil alone."""
    free = psutil.virtual_memory().available
    room = cgroup_headroom(proc_cgroup)
    return free if room is None else min(free, room)


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
    return MemoryKill(peak_rss_bytes, available_memory(), confirmed)


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
