"""Drive the real app in a real terminal: tmux with send-keys and capture-pane."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
import uuid
from pathlib import Path


class TmuxApp:
    """One app process inside a detached tmux session of a fixed size."""

    def __init__(self, args: list[str], *, width: int = 80, height: int = 24, env: dict[str, str] | None = None) -> None:
        self.session = f"slmops-test-{uuid.uuid4().hex[:8]}"
        self.width, self.height = width, height
        self.args = args
        self.env = env or {}

    def __enter__(self) -> TmuxApp:
        slmops = Path(sys.executable).with_name("slmops")
        command = [str(slmops), *self.args]
        # A tmux server already running (another test, another checkout) gives a new session its own
        # environment, not ours: pass what decides which code runs.
        passed = {key: os.environ[key] for key in ("PYTHONPATH", "SLMOPS_DEMO_MODEL_DIR") if key in os.environ}
        env_args = [part for key, value in {**passed, **self.env}.items() for part in ("-e", f"{key}={value}")]
        subprocess.run(
            ["tmux", "new-session", "-d", "-s", self.session, "-x", str(self.width), "-y", str(self.height), *env_args, *command],
            check=True,
            env={**os.environ, **self.env},
        )
        return self

    def __exit__(self, *exc) -> None:
        subprocess.run(["tmux", "kill-session", "-t", self.session], capture_output=True)

    def keys(self, *keys: str) -> None:
        for key in keys:
            subprocess.run(["tmux", "send-keys", "-t", self.session, key], check=True)
            if key == "Escape":
                # A key right after ESC would reach the app as alt+key, as in any terminal.
                time.sleep(0.5)

    def screen(self) -> str:
        out = subprocess.run(["tmux", "capture-pane", "-p", "-t", self.session], capture_output=True, text=True)
        return out.stdout

    def alive(self) -> bool:
        return subprocess.run(["tmux", "has-session", "-t", self.session], capture_output=True).returncode == 0

    def wait_for(self, text: str, timeout: float = 30.0) -> str:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            screen = self.screen()
            if text in screen:
                return screen
            time.sleep(0.2)
        raise AssertionError(f"{text!r} did not appear within {timeout}s; the screen shows:\n{self.screen()}")

    def wait_gone(self, timeout: float = 15.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if not self.alive():
                return
            time.sleep(0.2)
        raise AssertionError(f"the app did not exit; the screen shows:\n{self.screen()}")


def have_tmux() -> bool:
    return shutil.which("tmux") is not None
