"""Running one side of a comparison in a new Python process: nothing of this one's imports, threads or arenas
carries over into the figures."""

from __future__ import annotations

import json
import os
import subprocess
import sys

from benchmarks.lib.record import ROOT


class RunFailed(RuntimeError):
    pass


def json_from(argv: list[str], what: str) -> dict:
    """``python ARGV...`` in a new process that can import the project; the JSON object its last line of output
    prints. Raises RunFailed with its stderr when it fails."""
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    done = subprocess.run([sys.executable, *argv], capture_output=True, text=True, check=False, cwd=ROOT, env=env)
    if done.returncode != 0:
        raise RunFailed(f"{what} failed:\n{done.stderr[-2000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def run_module(module: str, argv: list[str], what: str) -> dict:
    return json_from(["-m", module, *argv], what)
