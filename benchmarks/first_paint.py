"""Time from launching ``slmops`` to the first painted screen (tabs and footer), in tmux.

Prints each of five runs and the median; also the wall time of ``slmops --help``.
Usage: python benchmarks/first_paint.py [PATH_TO_SLMOPS]
"""

from __future__ import annotations

import statistics
import subprocess
import sys
import time
from pathlib import Path


def first_paint(command: str, runs: int = 5) -> list[float]:
    times = []
    for i in range(runs):
        session = f"slmops-first-paint-{i}"
        started = time.perf_counter()
        subprocess.run(["tmux", "new-session", "-d", "-s", session, "-x", "100", "-y", "30", command], check=True)
        try:
            while True:
                screen = subprocess.run(["tmux", "capture-pane", "-p", "-t", session], capture_output=True, text=True).stdout
                if "Environment [1]" in screen and "palette" in screen:
                    break
                time.sleep(0.01)
            times.append(time.perf_counter() - started)
        finally:
            subprocess.run(["tmux", "kill-session", "-t", session])
        time.sleep(0.5)
    return times


def help_time(command: str, runs: int = 5) -> list[float]:
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        subprocess.run([command, "--help"], check=True, capture_output=True)
        times.append(time.perf_counter() - started)
    return times


def main() -> None:
    command = sys.argv[1] if len(sys.argv) > 1 else str(Path(sys.executable).with_name("slmops"))
    paint = first_paint(command)
    print("first paint (s):", ", ".join(f"{t:.2f}" for t in paint), f"- median {statistics.median(paint):.2f} s")
    helps = help_time(command)
    print("slmops --help (s):", ", ".join(f"{t:.2f}" for t in helps), f"- median {statistics.median(helps):.2f} s")


if __name__ == "__main__":
    main()
