"""The built-in models as profiles and on the command line (the builds themselves: conftest's fixtures)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from engine.model.builtins import BUILTINS

ROOT = Path(__file__).resolve().parents[2]


# Asking for a built-in's fixture builds it if missing: the big one only in the slow set.
@pytest.mark.parametrize("key", [pytest.param(key, marks=[pytest.mark.slow] if key != "demo" else []) for key in BUILTINS])
def test_demo_model_command_finds_a_built_one_without_rebuilding(key: str, request: pytest.FixtureRequest):
    folder = request.getfixturevalue(f"{key}_model")
    done = subprocess.run(
        [sys.executable, "-m", "tui.main", "demo-model", "--model", key, "--json"],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=ROOT,
    )
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout) == {"path": str(folder), "built": False}
