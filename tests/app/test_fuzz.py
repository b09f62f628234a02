"""The app never closes, whatever is typed or pasted into any text field and whichever of its keys are pressed.

For every panel and every screen, seeded generated text (printable, unicode, very long, paths such as
``~x``, ``/``, ``..``, sources, numbers, markup, deep nesting, control characters) goes into each of its text
fields, by typing (short text) or as a paste; then a key for each action it binds is pressed, the footer's
first (and the app's footer keys, once). Whatever a key opens over the target is dismissed, a confirmation
answered no: so no job that needs a confirmation may start, and none does; nor may any worker fail (the
app would say so and go on, but it is a defect all the same). The seeds are fixed, so every complete run
tries the same inputs; how many each target tried is printed and written to ``RESULTS`` (the README's
reliability section cites it). Each target has a time budget, so that ``make check`` stays short. What
measures this machine stands in fixed (the environment checks), and the Foundry Local worker is a
scripted one.
"""

from __future__ import annotations

import json
import os
import random
import string
import time
from dataclasses import dataclass
from pathlib import Path

import pytest
from textual import events
from textual.binding import Binding
from textual.widgets import Input, TextArea

import tui.jobs
from engine import environment as checks
from engine.base import locations
from engine.process.jobs import REGISTRY, Job
from tests.app.finished_pipeline import FinishedPipelineScreen
from tests.helpers import wait_for
from tui.app import SlmopsApp
from tui.panels.base import Panel
from tui.screens.confirm import ConfirmScreen

RESULTS = Path(__file__).with_name("fuzz-app.json")
SEED = 25
TEXTS_PER_FIELD = 4
TYPED_MAX = 6  # longer text is pasted (typing takes a key press a character)
# Each target's time; one still under way then stops early, and the counts say so. A run that records the counts
# (RESULTS) on a busy machine gives itself more: SLMOPS_FUZZ_BUDGET_S=60 pytest tests/app/test_fuzz.py
TARGET_BUDGET_S = float(os.environ.get("SLMOPS_FUZZ_BUDGET_S", "3"))
SIZE = (100, 30)
# Jobs a key may start without a confirmation: the scripted stand-in for the Foundry Local worker (load, check...).
UNCONFIRMED_OK = {"tests.workers.scripted"}
SKIPPED_ACTIONS = {"quit", "app.quit", "help_quit"}  # quitting ends the app, as it should (it asks while jobs run)

PATHS = [
    "~x",
    "~nosuchuser",
    "~",
    "~/",
    "/",
    "//",
    ".",
    "..",
    "../..",
    "../../../../etc/passwd",
    "/dev/null",
    "/proc/self",
    "x.gguf",
    "x-00000-of-00000.gguf",
    "x-00001-of-00002.gguf",
    "ORG/NAME",
    "a/b/c/d",
    "ollama:",
    "ollama:../../x",
    "ollama:x:y:z",
    "lmstudio:",
    "lmstudio:a/b/../../c",
    "hf:",
    "C:\\models\\x",
    "\\\\server\\share",
    "@demo",
    "@nosuch",
]
SPECIAL = [
    "",
    " ",
    "-1",
    "0",
    "1e309",
    "nan",
    "inf",
    "0x10",
    "9" * 40,
    "1,2,,3",
    "[bold]x[/",
    "[/]",
    "[link=file:///etc/passwd]x",
    "{0}{}%s%n",
    "\x00",
    "\x1b[31mred",
    "a\nb",
    "\t",
    "'; rm -rf / #",
    "$(reboot)",
    "{" + '"a":' * 3 + "1}",
]
UNICODE_RANGES = [(0x00A0, 0x024F), (0x0300, 0x036F), (0x0590, 0x06FF), (0x200B, 0x202E), (0x4E00, 0x4E80), (0x1F300, 0x1F64F)]


def generated(rng: random.Random) -> str:
    kind = rng.randrange(7)
    if kind == 0:
        return "".join(rng.choice(string.printable[:95]) for _ in range(rng.randint(1, 40)))
    if kind == 1:
        return "".join(chr(rng.randint(*rng.choice(UNICODE_RANGES))) for _ in range(rng.randint(1, 30)))
    if kind == 2:
        return rng.choice(string.ascii_letters + "/~.") * rng.randint(255, 5000)
    if kind == 3:
        return rng.choice(PATHS) + rng.choice(["", "/", "/x", ".gguf", "/" + "a" * 300, ":latest"])
    if kind == 4:
        return rng.choice("[{(") * rng.randint(100, 20000)  # deep nesting, for whatever parses JSON or markup
    if kind == 5:
        return rng.choice(SPECIAL)
    return rng.choice(PATHS)


def typeable(text: str) -> bool:
    return 0 < len(text) <= TYPED_MAX and all(c in string.ascii_letters + string.digits + "~/._-:@" for c in text)


@dataclass
class Tried:
    texts: int = 0
    keys: int = 0
    complete: bool = True


class Fuzz:
    def __init__(self, pilot) -> None:
        self.pilot, self.app = pilot, pilot.app
        self.skipped = {b.key for b in Binding.make_bindings(type(self.app).BINDINGS) if b.action in SKIPPED_ACTIONS}

    def alive(self, what: str) -> None:
        assert self.app.is_running and self.app.return_code is None, f"the app closed after {what}"
        started = {job.module for job in REGISTRY.running()} - UNCONFIRMED_OK
        assert not started, f"{what} started {started} without a confirmation"

    async def back_to(self, target, what: str) -> None:
        """Dismiss whatever ``what`` opened over ``target`` (a confirmation: no); reopen the target if it closed."""
        for _ in range(10):
            screen = self.app.screen
            if screen is target.screen:
                break
            if target.screen not in self.app.screen_stack:
                break
            await self.pilot.press("n" if isinstance(screen, ConfirmScreen) else "escape")
            await self.pilot.pause()
            if self.app.screen is screen:  # it does not close with a key: take it away
                self.app.pop_screen()
                await self.pilot.pause()
        self.alive(what)

    async def fill(self, field, text: str) -> None:
        self.app.screen.set_focus(field)
        if isinstance(field, Input):
            field.value = ""
        else:
            field.text = ""
        if typeable(text):
            await self.pilot.press(*text)
        else:
            field.post_message(events.Paste(text))
        await self.pilot.pause()

    def fields(self, root) -> list:
        return [
            f
            for f in root.query("Input, TextArea")
            if not (isinstance(f, TextArea) and f.read_only) and f.display and f.visible and not f.disabled
        ]

    def keys(self, root, with_app: bool) -> list[str]:
        """A key for each action the target binds, and with ``with_app`` for each of the app's in the footer; the
        footer's first, escape last (it mostly closes the target, which would then open again)."""
        bindings = list(Binding.make_bindings(type(root).BINDINGS))
        if with_app:
            bindings += [b for b in Binding.make_bindings(type(self.app).BINDINGS) if b.show]
        bindings = [b for b in bindings if b.key not in self.skipped]
        one_each = {b.action: b for b in reversed(bindings)}.values()  # the first key bound to each action
        return [b.key for b in sorted(one_each, key=lambda b: (b.key == "escape", not b.show, b.key))]

    def focus_keys(self, root) -> None:
        """Focus where the target's keys work: its home (a panel's) or nothing (a screen's), never a text field."""
        if isinstance(root, Panel):
            root.focus_home()
            if isinstance(self.app.focused, (Input, TextArea)):
                other = next((w for w in root.query("*") if w.focusable and not isinstance(w, (Input, TextArea))), None)
                self.app.screen.set_focus(other)
        else:
            self.app.screen.set_focus(None)

    async def run(self, name: str, open_target, tried: Tried, *, with_app: bool = False) -> None:
        rng = random.Random(f"{SEED}-{name}")
        deadline = time.monotonic() + TARGET_BUDGET_S
        target = await open_target()
        for index in range(len(self.fields(target))):
            for _ in range(TEXTS_PER_FIELD):
                if tried.texts and time.monotonic() > deadline:  # each target tries one at least
                    tried.complete = False
                    return
                if target.screen is not self.app.screen:
                    target = await open_target()
                fields = self.fields(target)
                if index >= len(fields):
                    break
                text = generated(rng)
                await self.fill(fields[index], text)
                tried.texts += 1
                self.alive(f"{text[:40]!r} into {name}'s {fields[index].id}")
        for key in self.keys(target, with_app):
            if tried.texts + tried.keys and time.monotonic() > deadline:
                tried.complete = False
                return
            if target.screen is not self.app.screen:
                target = await open_target()
            self.focus_keys(target)
            await self.pilot.press(key)
            tried.keys += 1
            await self.back_to(target, f"key {key} in {name}")
            if isinstance(target, Panel) and self.app.current_panel() is not target:
                self.app.show_panel(target.id)


@pytest.fixture
def quiet(home: Path, tmp_path: Path, monkeypatch, converted: Path) -> Path:
    """Fixed environment checks, a scripted Foundry Local worker, no model in this machine's stores, a converted model
    for the Cache panel's deploy review, and the working folder a temporary one (the pipeline's report goes there)."""

    async def fixed_checks(probe=None):
        return [checks.Check("Python", "pass", "3.11")]

    monkeypatch.setattr(checks, "run_checks", fixed_checks)
    monkeypatch.setattr(checks, "probe_job", lambda: None)

    def scripted_foundry(cache_dir: Path, ops: list[dict], *, interactive: bool = False) -> Job:
        return Job("tests.workers.scripted", {"actions": [["foundry", ops]]}, interactive=interactive, label="Foundry Local")

    monkeypatch.setattr("engine.foundry.runtime.foundry_job", scripted_foundry)
    for name in ("HOME", "HF_HUB_CACHE", "OLLAMA_MODELS"):
        monkeypatch.setenv(name, str(tmp_path / "empty" / name.lower()))
    monkeypatch.delenv("HUGGINGFACE_HUB_CACHE", raising=False)
    monkeypatch.chdir(tmp_path)
    (converted / "config.json").write_text(json.dumps({"model_type": "llama"}))
    output = locations.models_dir() / "demo-int4"  # where the demo profile's conversion lands
    output.parent.mkdir(parents=True)
    output.symlink_to(converted, target_is_directory=True)
    return tmp_path


async def test_nothing_typed_or_pressed_closes_the_app(quiet: Path, capsys, monkeypatch):
    from tui.screens.deploy_review import DeployReview
    from tui.screens.help import HelpScreen
    from tui.screens.new_profile import NewProfileScreen
    from tui.screens.profile_editor import ProfileEditor
    from tui.screens.profile_picker import ProfilePicker
    from tui.screens.snippet import SnippetScreen
    from tui.screens.tune import TuneScreen
    from tui.screens.workflow_editor import WorkflowEditor

    tried: dict[str, Tried] = {}
    failed: list[str] = []  # what a worker raised: said in the app, which goes on, but a defect all the same
    report = tui.jobs.report_failure
    monkeypatch.setattr(
        tui.jobs, "report_failure", lambda node, what, error: failed.append(f"{what}: {error!r}") or report(node, what, error)
    )
    started = time.monotonic()
    app = SlmopsApp(profile_arg="demo")
    async with app.run_test(size=SIZE) as pilot:
        fuzz = Fuzz(pilot)

        def panel(panel_id: str):
            async def open_target():
                while len(app.screen_stack) > 1:
                    app.pop_screen()
                app.show_panel(panel_id)
                await pilot.pause()
                return app.query_one(f"#{panel_id}", Panel)

            return open_target

        def pushed(make):
            async def open_target():
                while len(app.screen_stack) > 1:
                    app.pop_screen()
                await app.push_screen(make())
                await pilot.pause()
                return app.screen

            return open_target

        async def deploy_review():
            await panel("cache")()
            await pilot.press("d")
            await wait_for(pilot, lambda: isinstance(app.screen, DeployReview), 10)
            return app.screen

        targets = {
            "environment panel": panel("environment"),
            "convert panel": panel("convert"),
            "cache panel": panel("cache"),
            "chat panel": panel("chat"),
            "new profile screen": pushed(NewProfileScreen),
            "profile editor": pushed(lambda: ProfileEditor(app.profile)),
            "profile picker": pushed(ProfilePicker),
            "help screen": pushed(lambda: HelpScreen(tuple(type(p) for p in app.panels()))),
            "tuner screen": pushed(lambda: TuneScreen(app.profile)),
            "pipeline screen": pushed(lambda: FinishedPipelineScreen(quiet / "report.md")),
            "workflow editor": pushed(lambda: WorkflowEditor('{"passes": {}}\n', str(quiet / "workflow.json"))),
            "deploy review": deploy_review,
            "snippet screen": pushed(lambda: SnippetScreen("An example", "print('x')\n")),
            "confirmation": pushed(lambda: ConfirmScreen("Really?")),
        }
        for name, open_target in targets.items():
            tried[name] = Tried()
            await fuzz.run(name, open_target, tried[name], with_app=name == "environment panel")
        await app.cancel_jobs()
    elapsed = time.monotonic() - started
    counts = {name: {"texts": t.texts, "keys": t.keys, "complete": t.complete} for name, t in tried.items()}
    with capsys.disabled():
        print(f"\napp fuzz, seed {SEED}, {elapsed:.1f} s:")
        for name, count in counts.items():
            print(f"  {name}: {count['texts']} texts, {count['keys']} keys" + ("" if count["complete"] else " (stopped: time)"))
    if all(t.complete for t in tried.values()):  # the same inputs every time: a stopped run would say less
        results = {
            "what": "tests/app/test_fuzz.py: text typed or pasted into every text field of every panel and screen, "
            "then every key bound there pressed (confirmations answered no); the app must not close, and no "
            "job that needs a confirmation may start",
            "seed": SEED,
            "texts_per_field": TEXTS_PER_FIELD,
            "targets": {name: {"texts": c["texts"], "keys": c["keys"]} for name, c in counts.items()},
            "inputs": sum(c["texts"] + c["keys"] for c in counts.values()),
        }
        text = json.dumps(results, indent=2) + "\n"
        if not RESULTS.is_file() or RESULTS.read_text(encoding="utf-8") != text:
            RESULTS.write_text(text, encoding="utf-8")
    assert all(t.texts + t.keys for t in tried.values()), counts
    assert not failed, failed
