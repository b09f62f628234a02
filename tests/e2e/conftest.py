"""The end-to-end tier: real models, Olive, ONNX Runtime GenAI, Foundry Local, the app in tmux.

Every test here is marked ``slow``, so ``-m "not slow"`` leaves the whole tier out.
"""

from __future__ import annotations

from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if HERE in Path(item.path).parents:
            item.add_marker(pytest.mark.slow)
