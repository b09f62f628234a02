"""The Convert panel: the profile's conversion, its exact olive command, live stages and log, the result card."""

from __future__ import annotations

import json
from collections import deque

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.widgets import Input, Sparkline, Static

from engine.base.errors import SlmopsError
from engine.base.units import human_bytes
from engine.convert.plan import (
    ConvertPlan,
    check_builtin_built,
    check_plan,
    convert_job,
    footprint,
    output_status,
    plan_conversion,
    plan_verdict,
    result_card,
    worker_spec,
    write_config,
)
from engine.process.events import Error, Finished, Log, Progress, Resources, Stage
from engine.process.jobs import Job
from engine.process.memory_kill import available_memory
from engine.profiles.profile import Profile
from tui.jobs import JobEvent, JobSample, drive_job, run_worker, running_worker, work
from tui.panels.base import Panel
from tui.screens.confirm import ConfirmScreen
from tui.screens.workflow_editor import WorkflowEditor
from tui.widgets.convert.log import ConvertLog
from tui.widgets.convert.result import ConvertResult
from tui.widgets.convert.stages import ConvertStages

MEMORY_SAMPLES = 120  # about a minute of the runner's samples


class ConvertPanel(Panel):
    TITLE = "Convert"
    KEY = "2"
    # The panel's keys work where focus is inside it; the log view takes them (the filter would swallow letters).
    AUTO_FOCUS = "#convert-log-lines"
    HELP = (
        "Converts and quantizes the profile's model with Olive, or with the streaming converter where it makes the same "
        "model in a fraction of the memory (the panel says which, and why), and verifies the result. The exact `olive` "
        "command line is shown so that you can paste it elsewhere. Headless: "
        "`slmops convert --profile P [--precision X] [--output DIR] [--force] [--json]`."
    )
    BINDINGS = [
        Binding(
            "c",
            "start",
            "Convert",
            tooltip="convert the profile's model (after confirming, at the profile's precision: int4, int8, fp16 or fp32, "
            "changed with e; an existing output is replaced only if you say so)",
        ),
        Binding(
            "escape",
            "cancel",
            "Cancel",
            tooltip="cancel the conversion (after confirming; nothing but its log is left behind); "
            "in the filter: back to the log",
        ),
        Binding(
            "w",
            "edit_workflow",
            "Workflow",
            show=False,
            tooltip="edit the Olive workflow file (method 2): view it, change it, save it beside the profile",
        ),
        Binding("f", "focus_filter", "Filter log", tooltip="filter the log"),
    ]

    def __init__(self, **kwargs) -> None:
        super().__init__(**kwargs)
        self.plan: ConvertPlan | None = None
        self.job: Job | None = None
        self.memory: deque[int] = deque(maxlen=MEMORY_SAMPLES)  # the worker's RSS, for the sparkline

    def compose(self) -> ComposeResult:
        # What decides the run first (which program, whether the model converts, memory, the output's state, the
        # command), the settings after: the top scrolls within a share of the height, so that 80x24 shows the stages.
        with VerticalScroll(id="convert-top"):
            yield Static("", id="convert-support")
            yield Static("", id="convert-command")
            yield Static("", id="convert-settings")
        with Horizontal(id="convert-body"):
            with Vertical(id="convert-left"):
                yield ConvertStages(id="convert-stages")
                yield Sparkline([], id="convert-memory")  # the worker's memory over the conversion
            yield ConvertLog(id="convert-log")
        with VerticalScroll(id="convert-bottom"):
            yield ConvertResult(id="convert-result")

    def on_mount(self) -> None:
        self.refresh_plan()

    def profile_changed(self, profile: Profile) -> None:
        if not self.running:  # the last profile's result or error is not this one's; a running job shows on to its end
            self.clear_run()
        self.refresh_plan()

    def clear_run(self) -> None:
        """Empty stages, memory, log and result: what a run shows."""
        self.remove_class("-made")
        self.query_one(ConvertResult).clear()
        self.query_one(ConvertStages).reset()
        self.memory.clear()
        self.query_one("#convert-memory", Sparkline).data = []
        self.query_one(ConvertLog).clear()

    @property
    def running(self) -> bool:
        return self.job is not None

    def refresh_plan(self) -> None:
        settings = self.query_one("#convert-settings", Static)
        command = self.query_one("#convert-command", Static)
        try:
            self.plan = plan_conversion(self.profile)
        except SlmopsError as exc:
            self.plan = None
            self.query_one("#convert-support", Static).update(Text(f"{exc.message}\n{exc.hint}", style="red"))
            settings.update("")
            command.update("")
            return
        c, plan = self.profile.convert, self.plan
        lines = [
            f"model {plan.params.model}",
            f"output {plan.output}",
            f"method {c.method}  precision {c.precision}  recipe {plan.recipe.name}  {c.device}/{c.provider}",
            f"block size {c.block_size}  symmetric {str(c.symmetric).lower()}  accuracy level {c.accuracy_level or 'unset'}  "
            f"quantize embedding/lm_head {str(c.quantize_lm_head).lower()}",
            *(f"note: {note}" for note in plan.notes),
        ]
        settings.update(Text("\n".join(lines)))
        command.update(Text(f"$ {plan.display()}", style="bold"))
        checking = Text.assemble(plan.runner_line(), "\n", Text("checking the model and the output ...", style="dim"))
        self.query_one("#convert-support", Static).update(checking)
        self.check_support(plan)

    @work(what="Checking the model", thread=True, exclusive=True, group="convert-support")
    def check_support(self, plan: ConvertPlan) -> None:
        """The support verdict and the output's state read files (a fraction of a second): off the UI thread."""
        try:
            verdict = plan_verdict(plan)
            support = Text(verdict.summary(), style="yellow" if verdict.repairs else "green")
        except SlmopsError as exc:
            support = Text(f"{exc.message}\n{exc.hint}", style="red")
        text = Text.assemble(
            plan.runner_line(), "\n", support, "\n", self.memory_line(plan), "\n", f"output: {self.output_state(plan)}"
        )
        self.app.call_from_thread(self._show_support, plan, text)

    def _show_support(self, plan: ConvertPlan, text: Text) -> None:
        if plan is self.plan:
            self.query_one("#convert-support", Static).update(text)

    @staticmethod
    def memory_line(plan: ConvertPlan) -> Text:
        """The plan's estimated peak memory against what is available now (the check refuses when it does not fit)."""
        if not plan.parameters:
            return Text("memory: estimated once the model can be read", style="dim")
        needed = footprint(plan)
        if needed is None:
            return Text("memory: no measured estimate for this recipe", style="dim")
        free = available_memory()
        fits = needed.ram_bytes <= free
        return Text(
            f"memory: about {human_bytes(needed.ram_bytes)} at its peak"
            + (" (extrapolated beyond the model sizes measured)" if needed.extrapolated else "")
            + f", {human_bytes(free)} available"
            + ("" if fits else ": it would not fit; c says what would"),
            style="" if fits else "red",
        )

    @staticmethod
    def output_state(plan: ConvertPlan) -> str:
        """What the output folder holds, by its provenance manifest."""
        try:
            status, manifest = output_status(plan)
        except (OSError, SlmopsError) as exc:
            return f"cannot be read ({exc})"
        made = (manifest or {}).get("created", "?")
        return {
            "missing": "not made yet",
            "current": f"up to date (made {made} from these settings and this source)",
            "stale": f"made {made} from other settings or another source; converting replaces it (after asking)",
            "foreign": "exists, not made by slmops (no manifest); converting replaces it (after asking)",
        }[status]

    # starting ---------------------------------------------------------------

    @work(what="Starting the conversion", exclusive=True, group="convert-confirm")
    async def action_start(self) -> None:
        if self.running:
            self.notify("A conversion is already running; Esc cancels it.", severity="warning")
            return
        self.refresh_plan()
        plan = self.plan
        if plan is None:
            return
        try:  # nothing to convert yet: said before asking, not after
            check_builtin_built(plan)
        except SlmopsError as exc:
            self.clear_run()
            self.query_one(ConvertResult).show_error(exc.message, exc.hint)
            return
        c = self.profile.convert
        question = (
            f"Convert {plan.params.model} to {c.precision} ({plan.recipe.name}) with {plan.runner.program}?\n\n"
            f"into {plan.output}, then load and verify it; a minute or more, with the machine busy."
        )
        if plan.output.exists():
            current = output_status(plan)[0] == "current"
            question += (
                f"\n\n{plan.output} is up to date: it was made from these settings and this source. Convert it again anyway?"
                if current
                else f"\n\n{plan.output} already exists: it is replaced."
            )
            yes = "Convert again" if current else "Replace and convert"
        else:
            yes = "Convert"
        if await self.app.push_screen_wait(ConfirmScreen(question, yes=yes, no="Not now")):
            self.start(plan, force=plan.output.exists())

    def start(self, plan: ConvertPlan, *, force: bool) -> None:
        result = self.query_one(ConvertResult)
        stages = self.query_one(ConvertStages)
        log = self.query_one(ConvertLog)
        self.clear_run()
        try:
            report = check_plan(plan, force=force)
        except SlmopsError as exc:
            result.show_error(exc.message, exc.hint)
            return
        for warning in report.warnings:
            self.notify(warning, severity="warning", timeout=10)
        log.add(f"{report.architecture}, {report.parameters / 1e6:.0f}M parameters")
        log.add(f"$ {plan.display()}")
        log.add(plan.runner_line())
        stages.estimate(report.ram_needed)
        self.job = convert_job(worker_spec(plan, report, force=force))
        run_worker(self, drive_job(self, self.job), what="The conversion", exclusive=True, group="convert")

    # events -----------------------------------------------------------------

    def on_job_event(self, message: JobEvent) -> None:
        if message.job is not self.job:
            return
        event = message.event
        if isinstance(event, Stage):
            self.query_one(ConvertStages).stage(event)
        elif isinstance(event, Log):
            self.query_one(ConvertLog).add(event.line)
        elif isinstance(event, Error):
            self.query_one(ConvertStages).fail_running()
            self.query_one(ConvertResult).show_error(event.message, event.hint, "\n".join(event.log_tail[-5:]))
        elif isinstance(event, Finished):
            self.finished(message.job, event)

    def on_job_sample(self, message: JobSample) -> None:
        if message.job is not self.job:
            return
        event = message.event
        if isinstance(event, Resources):
            self.query_one(ConvertStages).memory(event.rss_bytes, event.peak_rss_bytes)
            self.memory.append(event.rss_bytes)
            self.query_one("#convert-memory", Sparkline).data = list(self.memory)
        elif isinstance(event, Progress) and event.fraction is not None:
            self.query_one(ConvertStages).progress(event.fraction * 100)

    def finished(self, job: Job, event: Finished) -> None:
        self.job = None
        if event.ok:
            self.show_made(result_card(job))
            self.notify("Conversion verified and in place.")
            self.refresh_plan()  # the output line now says "up to date"
            return
        if event.cancelled:
            self.query_one(ConvertStages).fail_running("cancelled")
            self.query_one(ConvertResult).show_error("nothing was kept but the log.", state="cancelled")
            return
        self.query_one(ConvertStages).fail_running()

    def show_made(self, card: dict) -> None:
        """The result card of a conversion made, with its stages' times; it takes the room the settings had."""
        self.add_class("-made")
        self.query_one(ConvertResult).show_result({**card, "stages": self.query_one(ConvertStages).summary()})

    # cancel, workflow, filter -------------------------------------------------

    @work(what="Cancelling the conversion", group="convert-cancel")
    async def action_cancel(self) -> None:
        job = self.job
        if job is None:
            self.focus_home()  # out of the filter
            return
        if await self.app.push_screen_wait(
            ConfirmScreen(
                "Cancel the running conversion?\nIts partial output is deleted.",
                yes="Cancel it",
                no="Keep going",
                about=running_worker(self, "convert"),
            )
        ):
            if self.job is job:
                await job.cancel()

    @work(what="Editing the workflow", exclusive=True, group="convert-workflow")
    async def action_edit_workflow(self) -> None:
        self.refresh_plan()
        plan = self.plan
        if plan is None:
            return
        if plan.command.config is None:
            self.notify(
                'This recipe is one olive command, not a workflow file. Set convert.method = "config" in the profile.',
                severity="warning",
            )
            return
        path = plan.config_path
        text = path.read_text(encoding="utf-8") if path and path.is_file() else json.dumps(plan.command.config, indent=2) + "\n"
        edited = await self.app.push_screen_wait(WorkflowEditor(text, str(path)))
        if edited is None:
            return
        replace = ConfirmScreen(f"{path} exists.\nReplace it?", yes="Replace", no="Keep")
        if path and path.exists() and not await self.app.push_screen_wait(replace):
            return
        force = bool(path and path.exists())
        try:
            saved = write_config(plan, path, text=edited, force=force)
        except SlmopsError as exc:
            self.notify(f"{exc.message} {exc.hint}", severity="error")
            return
        self.refresh_plan()
        running = (
            "It runs on the next conversion (c)."
            if self.plan and self.plan.config_path == saved
            else "Set convert.config_file to it to run it."
        )
        self.notify(f"Saved {saved}. {running}")

    def action_focus_filter(self) -> None:
        self.query_one("#convert-filter", Input).focus()
