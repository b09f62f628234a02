"""Save an SVG screenshot of each panel, driving the real app on the demo model.

Run with ``make screenshots``; the README shows the files it writes to
``docs/screenshots/``. Uses a temporary slmops home, so your own cache and
profiles are not touched (the demo model is reused where it is).
"""

from __future__ import annotations

import asyncio
import os
import sys
import tempfile
from pathlib import Path

from engine.base import locations

OUT = Path(__file__).resolve().parent.parent / "docs" / "screenshots"
SIZE = (110, 34)


def screen_text(app) -> str:
    return app.export_screenshot().replace("&#160;", " ")


async def wait_for(pilot, app, text: str, timeout: float = 600) -> None:
    for _ in range(int(timeout / 0.5)):
        await pilot.pause(0.5)
        if text in screen_text(app):
            return
    raise TimeoutError(f"{text!r} never appeared")


def save(app, name: str) -> None:
    OUT.mkdir(parents=True, exist_ok=True)
    app.save_screenshot(filename=f"{name}.svg", path=str(OUT))
    print(f"saved {OUT / name}.svg")


async def main() -> None:
    from engine.foundry.cache import resolve_location
    from engine.foundry.publish import deploy_or_reuse, plan_publish
    from engine.profiles.profile import find_profile
    from tui.app import SlmopsApp

    app = SlmopsApp(profile_arg="demo")
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, app, "r re-runs")
        save(app, "environment")

        await pilot.press("2")
        await pilot.press("c")
        await pilot.pause(1)
        await pilot.press("y")  # the confirmation that names what will run
        await wait_for(pilot, app, "of the source's")
        save(app, "convert")

        profile = find_profile("demo")
        await deploy_or_reuse(plan_publish(profile, profile.output_path(), resolve_location(None, "").path))
        await pilot.press("3")
        await pilot.press("r")
        await wait_for(pilot, app, profile.deploy_name())
        await pilot.pause(1)
        save(app, "cache")

        await pilot.press("4")
        await pilot.pause(1)  # the message box has focus
        await pilot.press(*"What is the capital of France?", "enter")
        await wait_for(pilot, app, "Paris", timeout=120)
        await pilot.pause(2)
        save(app, "chat")

        await pilot.press("escape")  # out of the message box: letter keys typed there would not reach the app
        await pilot.press("g")
        await pilot.pause(1)
        await pilot.press("y")  # run the pipeline
        await pilot.pause(1)
        await pilot.press("y")  # replace the conversion made in the Convert panel above
        await wait_for(pilot, app, "Succeeded", timeout=900)
        save(app, "pipeline")


if __name__ == "__main__":
    os.environ.setdefault("SLMOPS_DEMO_MODEL_DIR", str(locations.demo_model_dir()))
    os.environ["SLMOPS_HOME"] = tempfile.mkdtemp(prefix="slmops-screenshots-")
    sys.exit(asyncio.run(main()))
