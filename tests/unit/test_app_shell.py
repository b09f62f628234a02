"""The app shell with Pilot: panels, palette, help, profile picker, the live Environment
panel, the demo model offer, and quitting that leaves no process behind."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

# Run in a fresh interpreter: what matters is what the app itself imports.
APP_IMPORTS = """
import asyncio, json, sys
from tui.app import SlmopsApp

async def main():
    app = SlmopsApp()
    async with app.run_test(size=(100, 32)) as pilot:
        panel = app.query_one("#environment")
        while not panel.checks:
            await pilot.pause(0.1)
        for key in "2341":
            await pilot.press(key)
            await pilot.pause()
    heavy = ("torch", "transformers", "olive", "onnxruntime", "onnxruntime_genai", "foundry_local_sdk")
    print(json.dumps(sorted({m.split(".")[0] for m in sys.modules} & set(heavy))))

asyncio.run(main())
"""


def test_the_app_process_never_imports_the_ml_stack():
    root = Path(__file__).resolve().parents[2]
    proc = subprocess.run([sys.executable, "-c", APP_IMPORTS], capture_output=True, text=True, timeout=120, cwd=root)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert json.loads(proc.stdout.strip().splitlines()[-1]) == []
