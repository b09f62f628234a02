"""The Environment panel: the checks, live, and the offer to build the demo model."""

from __future__ import annotations

import textwrap
import time

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.widgets import DataTable, Static

from engine import environment
from engine.model.builtins import BuiltinModel, from_reference
from engine.model.demo import build_demo_model_job, demo_model_ready
from engine.process.events import Error, Finished, Stage
from engine.process.jobs import Job
from engine.profiles.profile import Profile
from tui.jobs import JobEvent, drive_job, run_worker, running_worker, work
from tui.panels.base import Panel
from tui.screens.confirm import ConfirmScreen

# Words first, so that the table reads the same without colour.
STATUS_STYLE = {"pass": "bold green", "warn": "bold yellow", "fail": "bold red"}


class EnvironmentPanel(Panel):
    TITLE = "Environment"
    KEY = "1"
    AUTO_FOCUS = "#checks"
    HELP = (
        "Checks Python, RAM, disk, the toolchain versions, execution providers and Foundry Local; `up` / `down` "
        "select a check and show its fix. Headless: `slmops doctor` (a table) or `slmops doctor --json`; the exit "
        "status is non-zero when a check fails."
    )
    BINDINGS = [
        Binding("r", "rerun", "Re-run", tooltip="re-run the environment checks"),
        Binding(
            "b",
            "build_demo",
            "Build demo",
            tooltip="build the demo model the profile uses (@demo or @qwen), offered when it is missing (after confirming)",
        ),
        Binding("escape", "cancel_build", "Cancel build", tooltip="cancel building the demo model (after confirming)"),
    ]

    def __init__(self, **kwargs) -> None:
        super().__init__(**kwargs)
        self.checks: list[environment.Check] = []
        self.running = False
        self.build_job: Job | None = None
        self._build_started = 0.0
        self._build_stage = ""

    def compose(self) -> ComposeResult:
        yield Static("", id="demo-notice")
        yield Static("Running the checks ...", id="env-summary")
        table: DataTable = DataTable(id="checks", cursor_type="row", zebra_stripes=True)
        table.add_columns("check", "status", "value")
        yield table
        yield Static("", id="env-fix")

    def on_mount(self) -> None:
        self.run_checks()
        self.refresh_demo_notice()
        self.set_interval(1.0, self._tick)

    def profile_changed(self, profile: Profile) -> None:
        self.refresh_demo_notice()

    # --- checks -------------------------------------------------------------------

    @work(what="The environment checks", exclusive=True, group="environment-checks")
    async def run_checks(self) -> None:
        self.running = True
        self.query_one("#env-summary", Static).update("Running the checks ...")
        self.add_class("-running")
        started = time.monotonic()
        try:
            found = await environment.run_checks(environment.probe_job())
        finally:
            self.running = False
            self.remove_class("-running")
        self.show_checks(found, time.monotonic() - started)

    def show_checks(self, found: list[environment.Check], elapsed: float) -> None:
        self.checks = found
        self._fill_table()
        table = self.query_one("#checks", DataTable)
        verdict = "some checks FAILED" if any(c.status == "fail" for c in found) else "ready"
        self.query_one("#env-summary", Static).update(f"{environment.summary(found)} in {elapsed:.1f} s: {verdict}. r re-runs.")
        self.show_fix(table.cursor_row)

    def _fill_table(self) -> None:
        """One row per check, its value wrapped to the room the table has: nothing is cut off at the right."""
        table = self.query_one("#checks", DataTable)
        row = table.cursor_row
        table.clear()
        room = self._value_room(table)
        for check in self.checks:
            lines = textwrap.wrap(check.value, room, break_on_hyphens=False) or [""]
            status = Text(check.status.upper(), style=STATUS_STYLE[check.status])
            table.add_row(check.name, status, "\n".join(lines), height=len(lines))
        table.move_cursor(row=min(row, len(self.checks) - 1))

    def _value_room(self, table: DataTable) -> int:
        names = max((len(c.name) for c in self.checks), default=0)
        used = max(names, len("check")) + len("status") + 6 * table.cell_padding + 2  # and room for the scroll bar
        return max(table.size.width - used, 20)

    def on_resize(self) -> None:
        if self.checks:
            self._fill_table()

    def show_fix(self, row: int) -> None:
        fix = self.query_one("#env-fix", Static)
        if not 0 <= row < len(self.checks):
            fix.update("")
            return
        check = self.checks[row]
        fix.update(f"{check.name}: {check.fix}" if check.fix else f"{check.name}: nothing to fix.")

    def on_data_table_row_highlighted(self, event: DataTable.RowHighlighted) -> None:
        self.show_fix(event.cursor_row)

    def action_rerun(self) -> None:
        if not self.running:
            self.run_checks()

    # --- the demo model -------------------------------------------------------------

    def builtin(self) -> BuiltinModel | None:
        """The built-in model the profile names (``@demo``, ``@qwen``), if any."""
        return from_reference(self.profile.model.path)

    def demo_missing(self) -> bool:
        builtin = self.builtin()
        return builtin is not None and not demo_model_ready(model=builtin.key)

    def refresh_demo_notice(self) -> None:
        notice = self.query_one("#demo-notice", Static)
        if self.build_job is not None:
            stage = f" - {self._build_stage}" if self._build_stage else ""
            notice.update(f"Building the demo model{stage} ({time.monotonic() - self._build_started:.0f} s). esc cancels.")
        elif self.demo_missing():
            builtin = self.builtin()
            notice.update(
                f"The profile uses the built-in {builtin.name}, which is not built yet. "
                f"Press b to build it ({builtin.build_time}, once)."
            )
        notice.display = self.build_job is not None or self.demo_missing()
        self.refresh_bindings()

    def _tick(self) -> None:
        if self.build_job is not None:
            self.refresh_demo_notice()

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "build_demo":
            return self.build_job is None and self.demo_missing()
        if action == "cancel_build":
            return self.build_job is not None
        return True

    @work(what="Building the demo model", group="demo-model-ask")
    async def action_build_demo(self) -> None:
        builtin = self.builtin()
        if self.build_job is not None or not self.demo_missing():
            return
        question = ConfirmScreen(f"Build {builtin.name} now? It takes {builtin.build_time}.", yes="Build", no="Not now")
        if not await self.app.push_screen_wait(question):
            return
        if self.build_job is None and self.demo_missing():  # as it was before the question
            self.build_job = build_demo_model_job(model=builtin.key)
            self._build_started, self._build_stage = time.monotonic(), "starting"
            self.refresh_demo_notice()
            run_worker(self, drive_job(self, self.build_job), what="Building the demo model", exclusive=True, group="demo-model")

    @work(what="Cancelling the build", group="demo-model-cancel")
    async def action_cancel_build(self) -> None:
        job = self.build_job
        if job is None:
            return
        question = ConfirmScreen(
            "Cancel building the demo model?", yes="Cancel build", no="Keep building", about=running_worker(self, "demo-model")
        )
        if await self.app.push_screen_wait(question):
            if self.build_job is job:
                await job.cancel()

    def on_job_event(self, message: JobEvent) -> None:
        if message.job is not self.build_job:
            return
        event = message.event
        if isinstance(event, Stage):
            self._build_stage = event.name if event.status == "start" else f"{event.name} {event.status}"
            self.refresh_demo_notice()
        elif isinstance(event, Error):
            self.notify(f"{event.message}\n{event.hint}", title="Demo model not built", severity="error", timeout=20)
        elif isinstance(event, Finished):
            self.build_job = None
            if event.ok:
                self.notify(f"Demo model ready in {event.duration_s:.0f} s.", title="Demo model built")
            elif event.cancelled:
                self.notify("Building the demo model was cancelled; nothing was left half-written.")
            self.refresh_demo_notice()
