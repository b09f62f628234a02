"""Peak memory of a command's whole process tree (a conversion runs Olive and its children), sampled."""

from __future__ import annotations

import subprocess
import tempfile
import time
from pathlib import Path

SAMPLE_S = 0.1  # both sides of a comparison are sampled at this rate, so they are measured alike


def run_sampled(argv: list[str], cwd: Path, env: dict[str, str] | None = None) -> tuple[float, subprocess.CompletedProcess, int]:
    """Run ``argv``; its wall time, its result (output captured) and the peak resident memory of its process
    tree, summed over the processes alive at each sample."""
    import psutil

    out, err = tempfile.TemporaryFile("w+"), tempfile.TemporaryFile("w+")  # pipes would fill up unread
    started = time.monotonic()
    proc = subprocess.Popen(argv, cwd=cwd, env=env, stdout=out, stderr=err, text=True)
    peak = 0
    root = psutil.Process(proc.pid)
    while proc.poll() is None:
        total = 0
        try:
            family = [root, *root.children(recursive=True)]
        except psutil.Error:
            family = []
        for member in family:
            try:
                total += member.memory_info().rss
            except psutil.Error:
                continue
        peak = max(peak, total)
        time.sleep(SAMPLE_S)
    seconds = time.monotonic() - started
    with out, err:
        out.seek(0), err.seek(0)
        return seconds, subprocess.CompletedProcess(argv, proc.returncode, out.read(), err.read()), peak
