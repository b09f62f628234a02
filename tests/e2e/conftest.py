"""The end-to-end tier: real models, Olive, ONNX Runtime GenAI, Foundry Local, the app in tmux.

Every test here is marked ``slow``, so ``-m "not slow"`` leaves the whole tier out.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if HERE in Path(item.path).parents:
            item.add_marker(pytest.mark.slow)


@pytest.fixture(scope="session")
def gemma_init(gemma_gguf: Path, session_home: Path) -> dict:
    """``slmops init`` on the Gemma 3 GGUF, once a session: the header verdict, the folder (minutes), the profile."""
    done = subprocess.run(
        [str(Path(sys.executable).with_name("slmops")), "init", str(gemma_gguf), "--name", "gemma", "--json"],
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout)
