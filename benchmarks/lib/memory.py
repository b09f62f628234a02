"""Peak memory of a command's whole process tree (a conversion runs Olive and its children), and of the disk it
fills, sampled while it runs."""

from __future__ import annotations

import os
import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from engine.process.memory_kill import tree_rss

SAMPLE_S = 0.1  # both sides of a comparison are sampled at this rate, so they are measured alike


@dataclass
class Sampled:
    seconds: float
    done: subprocess.CompletedProcess
    peak_rss: int  # bytes, summed over the process tree at each sample
    peak_disk: int  # bytes allocated under the watched folder beyond what it held at the start (0: none watched)


def disk_bytes(folder: Path) -> int:
    """Bytes allocated on disk under ``folder`` (what a sparse or half-written file really takes)."""
    total = 0
    for parent, _, files in os.walk(folder):
        for name in files:
            try:
                total += os.lstat(os.path.join(parent, name)).st_blocks * 512
            except OSError:
                continue  # a file renamed or removed meanwhile
    return total


def sample(argv: list[str], cwd: Path, env: dict[str, str] | None = None, disk: Path | None = None) -> Sampled:
    """Run ``argv`` with its output captured, sampling its process tree's resident memory and, when given, the
    bytes under ``disk`` (where it writes its output and scratch files)."""
    out, err = tempfile.TemporaryFile("w+"), tempfile.TemporaryFile("w+")  # pipes would fill up unread
    before = disk_bytes(disk) if disk else 0
    started = time.monotonic()
    proc = subprocess.Popen(argv, cwd=cwd, env=env, stdout=out, stderr=err, text=True)
    peak_rss = peak_disk = 0
    while proc.poll() is None:
        peak_rss = max(peak_rss, tree_rss(proc.pid))
        if disk:
            peak_disk = max(peak_disk, disk_bytes(disk) - before)
        time.sleep(SAMPLE_S)
    seconds = time.monotonic() - started
    with out, err:
        out.seek(0), err.seek(0)
        return Sampled(seconds, subprocess.CompletedProcess(argv, proc.returncode, out.read(), err.read()), peak_rss, peak_disk)


def run_sampled(argv: list[str], cwd: Path, env: dict[str, str] | None = None) -> tuple[float, subprocess.CompletedProcess, int]:
    """Run ``argv``; its wall time, its result (output captured) and the peak resident memory of its process tree."""
    found = sample(argv, cwd, env)
    return found.seconds, found.done, found.peak_rss
