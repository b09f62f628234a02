"""The whole guide with one key: checks, convert, verify, deploy, benchmark, then the report.

Stages whose inputs did not change since their last success are skipped, so
running again after a failure resumes where it stopped. It starts only after a
confirmation that names what will run (:func:`describe`). ``esc`` cancels
(after confirming) or closes; ``o`` toggles the report and the log, which read
with the usual paging keys (and ``j`` / ``k`` / ``space``).
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.message import Message
from textual.screen import ModalScreen
from textual.widgets import ContentSwitcher, Footer, Markdown, RichLog, Static

from engine.base.units import human_bytes
from engine.pipeline import STAGES, Pipeline, PipelineEvent, PipelineOptions
from engine.process.events import Error, Log, Progress, Resources, Stage
from engine.profiles.profile import Profile
from tui.jobs import JobEvent, drive_job, running_worker, work
from tui.screens.confirm import ConfirmScreen

MARKS = {"": "  ", "start": "> ", "done": "ok", "skipped": "--", "failed": "!!"}


@dataclass
class PipelineDone(Message):
    report: dict


def describe(profile: Profile, quick: bool) -> str:
    """The confirmation question: what the pipeline will run, in words."""
    c = profile.convert
    recipe = c.recipe or c.method
    return (
        f"Run the whole pipeline on profile {profile.name}?\n\nchecks, convert {c.precision} ({recipe}) into "
        f"{profile.output_path()}, verify, deploy to Foundry Local as {profile.deploy_name()}, "
        f"{'quick' if quick else 'full'} benchmark, report.\nStages whose inputs did not change are skipped."
    )


class PipelineScreen(ModalScreen[None]):
    HELP_TITLE = "Pipeline"
    HELP = (
        "Opened with `g` after confirming; runs checks, convert, verify, deploy, a quick benchmark and a report. "
        "Stages whose inputs did not change are skipped (`slmops run` headless). The report and the log scroll "
        "with `up` / `down`, `pageup` / `pagedown`, `home` / `end`, and `j` / `k` / `space`."
    )
    DEFAULT_CSS = """
    PipelineScreen { align: center middle; }
    #pipeline { width: 96%; height: 94%; border: thick $accent; background: $surface; padding: 0 1; }
    #pipeline-title { text-style: bold; }
    #pipeline-body { height: 1fr; }
    #pipeline-stages { width: 34; height: auto; padding: 1 1 0 0; }
    #pipeline-right { width: 1fr; height: 1fr; }
    #pipeline-log, #pipeline-report { height: 1fr; }
    /* the report has its own stage table: it takes the whole width */
    #pipeline-body.-report #pipeline-stages { display: none; }
    #pipeline-status { height: auto; max-height: 3; color: $text-muted; }
    /* the report's tables at their content's width, one line a row: a narrow screen scrolls a table sideways
       rather than squeezing a path or an answer into a column a word wide */
    #pipeline-report-text MarkdownTableContent { grid-gutter: 0 1; keyline: none; }
    """
    BINDINGS = [
        Binding(
            "escape", "cancel_or_close", "Cancel/close", tooltip="cancel the pipeline or close this view (cancelling asks first)"
        ),
        Binding("g", "run", "Run again", tooltip="run the pipeline again (after confirming); finished stages are skipped"),
        Binding("o", "toggle_report", "Report/log", tooltip="switch between the report and the log"),
        Binding("j", "scroll('down')", "Down", show=False, tooltip="scroll the report or the log down a line"),
        Binding("k", "scroll('up')", "Up", show=False, tooltip="scroll the report or the log up a line"),
        Binding("space", "scroll('page')", "Page down", show=False, tooltip="scroll the report or the log down a page"),
    ]

    def __init__(self, profile: Profile, *, quick: bool = True) -> None:
        super().__init__()
        self.profile = profile
        self.quick = quick
        self.pipeline: Pipeline | None = None
        self.stage_status: dict[str, str] = {name: "" for name in STAGES}
        self.stage_started: dict[str, float] = {}
        self.stage_time: dict[str, float] = {}
        self.started = 0.0
        self.ended = 0.0  # the elapsed clock stops here
        self.detail = ""
        self.peak_rss = 0

    def compose(self) -> ComposeResult:
        with Vertical(id="pipeline"):
            yield Static(
                f"Pipeline: {self.profile.name} - checks, convert, verify, deploy, benchmark ({'quick' if self.quick else 'full'} benchmark)",
                id="pipeline-title",
            )
            with Horizontal(id="pipeline-body"):
                yield Static(id="pipeline-stages")
                with ContentSwitcher(initial="pipeline-log", id="pipeline-right"):
                    yield RichLog(id="pipeline-log", wrap=True, max_lines=5000, min_width=20)  # wrapped to the pane, not to 78
                    with VerticalScroll(id="pipeline-report"):  # focused when shown: the paging keys scroll it
                        yield Markdown(id="pipeline-report-text")
            yield Static(id="pipeline-status")
        yield Footer()

    def on_mount(self) -> None:
        self.set_interval(0.5, self._refresh)  # the clocks of the running stage
        self._begin(confirmed=True)  # the app asked before opening this screen

    @property
    def running(self) -> bool:
        return self.pipeline is not None and any(s == "start" for s in self.stage_status.values())

    def action_run(self) -> None:
        self._begin(confirmed=False)

    @work(what="Starting the pipeline", exclusive=True, group="pipeline-start")
    async def _begin(self, *, confirmed: bool) -> None:
        if self.running:
            self.notify("The pipeline is already running.")
            return
        question = ConfirmScreen(describe(self.profile, self.quick), yes="Run", no="Not now")
        if not confirmed and not await self.app.push_screen_wait(question):
            return
        pipeline = Pipeline(self.profile, PipelineOptions(quick=self.quick))
        existing = pipeline.foreign_output()
        if existing is not None:
            if not await self.app.push_screen_wait(
                ConfirmScreen(
                    f"{existing} already exists and was not made by this pipeline. Replace it?", yes="Replace", no="Keep it"
                )
            ):
                self.detail = "not started: the conversion output exists; change convert.output or confirm replacing it (g)"
                self._refresh()
                return
            pipeline.options.force = True
        self._start(pipeline)

    def _start(self, pipeline: Pipeline) -> None:
        self.stage_status = {name: "" for name in STAGES}
        self.stage_time.clear()
        self.started, self.ended = time.monotonic(), 0.0
        self._show_pane("pipeline-log")
        self.pipeline = pipeline
        self._drive(pipeline)

    @work(what="The pipeline", exclusive=True, group="pipeline")
    async def _drive(self, pipeline: Pipeline) -> None:
        await drive_job(self, pipeline)
        self.post_message(PipelineDone(pipeline.report))  # after its events: one queue keeps their order

    def on_job_event(self, message: JobEvent) -> None:
        if message.job is not self.pipeline:
            return
        item: PipelineEvent = message.event
        event = item.event
        log = self.query_one("#pipeline-log", RichLog)
        if item.own and isinstance(event, Stage):
            self.stage_status[item.stage] = event.status
            if event.status == "start":
                self.stage_started[item.stage] = time.monotonic()
            elif item.stage in self.stage_started:
                self.stage_time[item.stage] = time.monotonic() - self.stage_started[item.stage]
            detail = f" ({event.detail})" if event.detail else ""
            log.write(Text(f"== {item.stage}: {event.status}{detail}", style="bold"))
        elif isinstance(event, Stage):
            self.detail = f"{item.stage}: {event.name} {event.status}"
            log.write(f"{item.stage}: {event.name} - {event.status}")
        elif isinstance(event, Progress):
            self.detail = f"{item.stage}: {event.message}"
        elif isinstance(event, Resources):
            self.peak_rss = max(self.peak_rss, event.peak_rss_bytes)
        elif isinstance(event, Error):
            log.write(Text(f"error: {event.message}", style="red"))
            if event.hint:
                log.write(Text(f"what to do: {event.hint}", style="red"))
        elif isinstance(event, Log):
            log.write(Text(event.line), scroll_end=True)
        self._refresh()

    # A sample is a JobEvent too, but Textual routes it by its own class name.
    on_job_sample = on_job_event

    def on_pipeline_done(self, message: PipelineDone) -> None:
        report = message.report
        self.ended = time.monotonic()
        self.stage_status = {name: s for name, s in self.stage_status.items() if s != "start"} | {
            name: stage["status"] for name, stage in report.get("stages", {}).items()
        }
        path = report.get("report_md")
        if path and Path(path).is_file():
            self.query_one("#pipeline-report-text", Markdown).update(Path(path).read_text(encoding="utf-8"))
            self._show_pane("pipeline-report")
        verdict = "finished" if report.get("ok") else "stopped"
        self.detail = f"{verdict}; report: {path}"
        self.notify(f"Pipeline {verdict}. Report: {path}", severity="information" if report.get("ok") else "warning")
        self._refresh()

    def _refresh(self) -> None:
        lines = []
        for name in STAGES:
            status = self.stage_status.get(name, "")
            if status == "start":
                seconds = time.monotonic() - self.stage_started.get(name, time.monotonic())
            else:
                seconds = self.stage_time.get(name)
            clock = f"{seconds:6.1f}s" if seconds is not None else ""
            lines.append(f"{MARKS.get(status, '  ')} {name:<8} {status:<8} {clock}")
        self.query_one("#pipeline-stages", Static).update("\n".join(lines))
        elapsed = (self.ended or time.monotonic()) - self.started if self.started else 0
        self.query_one("#pipeline-status", Static).update(
            f"elapsed {elapsed:.0f}s  peak memory {human_bytes(self.peak_rss)}\n{self.detail[:200]}"
        )

    def action_toggle_report(self) -> None:
        self._show_pane("pipeline-report" if self.query_one(ContentSwitcher).current == "pipeline-log" else "pipeline-log")

    def _show_pane(self, pane: str) -> None:
        """Show the log or the report, focused: the paging keys reach the one on show."""
        self.query_one(ContentSwitcher).current = pane
        self.query_one("#pipeline-body").set_class(pane == "pipeline-report", "-report")
        self.set_focus(self.query_one(f"#{pane}"))

    def action_scroll(self, how: str) -> None:
        pane = self.query_one(f"#{self.query_one(ContentSwitcher).current}")
        if how == "page":
            pane.scroll_page_down()
        else:
            (pane.scroll_down if how == "down" else pane.scroll_up)()

    @work(what="Cancelling the pipeline", group="pipeline-cancel")
    async def action_cancel_or_close(self) -> None:
        if not self.running:
            self.dismiss(None)
            return
        question = (
            "Cancel the pipeline? The running stage stops and leaves nothing partial; "
            "finished stages are kept and skipped next time."
        )
        if await self.app.push_screen_wait(
            ConfirmScreen(question, yes="Cancel it", no="Keep going", about=running_worker(self, "pipeline"))
        ):
            if self.pipeline is not None:
                await self.pipeline.cancel()
