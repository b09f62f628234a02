"""Running one side of a comparison in a new Python process: nothing of this one's imports, threads or arenas
carries over into the figures."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def json_from_fresh_process(args: list[str], what: str) -> dict:
    """``python ARGS...`` in a new process that can import the project; the JSON object its last line of output
    prints. Exits with its stderr when it fails."""
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    done = subprocess.run([sys.executable, *args], capture_output=True, text=True, check=False, cwd=ROOT, env=env)
    if done.returncode != 0:
        raise SystemExit(f"{what} failed:\n{done.stderr[-2000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])
