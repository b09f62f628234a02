"""Time from launching ``slmops`` to its first painted screen (tabs and footer) in tmux, and of ``slmops --help``.

    python -m benchmarks.first_paint [--runs 5] [--quick] [--json]

Each run starts the app on the demo profile in a fresh tmux session (100x30) and polls the screen until
the tabs and the footer are drawn (a run that draws nothing within the timeout is recorded as failed, not
waited on forever); ``--help`` runs are timed from start to exit. The two kinds of run alternate.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
import uuid
from typing import Any

from benchmarks.lib import cli, pairs, record
from benchmarks.lib.turns import take_turns

SCRIPT = "first_paint"
TIMEOUT_S = 60.0
SIDES = ("first-paint", "help")


def command() -> list[str]:
    return [sys.executable, "-m", "tui.main"]


class PaintFailed(RuntimeError):
    pass


def first_paint() -> dict[str, Any]:
    session = f"slmops-first-paint-{uuid.uuid4().hex[:8]}"
    # a tmux server already running gives a new session its own environment: pass what decides what runs
    passed = {"PYTHONPATH": str(record.ROOT), **{k: v for k, v in os.environ.items() if k.startswith("SLMOPS_")}}
    env_args = [part for key, value in passed.items() for part in ("-e", f"{key}={value}")]
    started = time.perf_counter()
    subprocess.run(["tmux", "new-session", "-d", "-s", session, "-x", "100", "-y", "30", *env_args, *command()], check=True)
    try:
        while time.perf_counter() - started < TIMEOUT_S:
            screen = subprocess.run(["tmux", "capture-pane", "-p", "-t", session], capture_output=True, text=True).stdout
            if "Environment [1]" in screen and "palette" in screen:
                return {"seconds": time.perf_counter() - started}
            time.sleep(0.01)
        raise PaintFailed(f"no first paint within {TIMEOUT_S:.0f} s; the screen: {screen[-300:]!r}")
    finally:
        subprocess.run(["tmux", "kill-session", "-t", session], capture_output=True)
        time.sleep(0.5)


def help_run() -> dict[str, Any]:
    started = time.perf_counter()
    done = subprocess.run([*command(), "--help"], capture_output=True, env={**os.environ, "PYTHONPATH": str(record.ROOT)})
    if done.returncode != 0:
        raise PaintFailed(done.stderr.decode()[-300:])
    return {"seconds": time.perf_counter() - started}


def derive(doc: dict[str, Any]) -> dict[str, Any]:
    return {"summary": pairs.summary(doc["runs"], ["seconds"]), "comparisons": [], "targets": []}


def tables(doc: dict[str, Any]) -> list[str]:
    lines = []
    for side in SIDES:
        seconds = [f"{r['seconds']:.2f}" for r in doc["runs"] if r["side"] == side and not r["error"]]
        figure = doc["summary"].get(side, {}).get("seconds")
        lines.append(f"{side} (s): {', '.join(seconds)}" + (f" - median {figure['median']:.2f} s" if figure else ""))
    return lines


def main() -> int:
    args = cli.parser(__doc__, runs=5, quick_runs=3, model=False).parse_args()
    rounds = cli.rounds(args)
    model = {"key": "demo", "name": "the app on the demo profile", "path": None}
    doc = record.start(SCRIPT, model, args, {"rounds": rounds, "terminal": "tmux 100x30", "timeout_s": TIMEOUT_S})
    doc["sides"] = {
        "first-paint": {"command": command(), "until": "tabs and footer drawn"},
        "help": {"command": [*command(), "--help"]},
    }
    take_turns(doc, list(SIDES), rounds, lambda side: first_paint() if side == "first-paint" else help_run(), (PaintFailed,))
    return record.emit(record.finish(doc, derive(doc)), args, tables(doc))


if __name__ == "__main__":
    sys.exit(main())
