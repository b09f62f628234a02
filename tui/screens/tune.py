"""The Tune view: convert the profile's model with several recipes, measure each, rank them, apply one.

``r`` runs after a confirmation (``k`` switches between the quick and the full
candidate set), ``a`` writes the selected candidate (the chosen one first) into
the profile after a confirmation, ``esc`` cancels a run (after confirming; what
was measured is kept) or closes the view.
"""

from __future__ import annotations

from dataclasses import dataclass

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.message import Message
from textual.reactive import reactive
from textual.screen import ModalScreen
from textual.widgets import Footer, Static

from engine.profiles.profile import Profile, ProfileError, load_profile
from engine.recipes.candidates import select
from engine.tune.runner import TuneOptions, Tuner, TuneUpdate
from tui.jobs import run_worker, running_worker, work
from tui.screens.confirm import ConfirmScreen
from tui.widgets.tune.chart import TuneChart
from tui.widgets.tune.table import TuneTable


@dataclass
class TuneProgress(Message):
    update: TuneUpdate


class TuneScreen(ModalScreen[None]):
    HELP_TITLE = "Recipe tuner"
    HELP = (
        "Opened with `t`. The table's `TTFT s` and `TTFT l`: milliseconds to the first token of the short and the long "
        "prompt. Headless: `slmops tune --profile P`."
    )
    # Below 120 columns the chart goes under the table, so that the table's state column shows in full.
    HORIZONTAL_BREAKPOINTS = [(0, "-narrow"), (120, "-wide")]
    DEFAULT_CSS = """
    TuneScreen { align: center middle; }
    #tune { width: 96%; height: 94%; border: thick $accent; background: $surface; padding: 0 1; }
    #tune-title { text-style: bold; }
    #tune-body { height: 1fr; }
    TuneTable { width: 1fr; height: 1fr; }
    TuneChart { width: 62; height: 1fr; }
    TuneScreen.-narrow #tune { width: 100%; height: 100%; padding: 0; }  /* the table's ranking columns fit at 80 */
    TuneScreen.-narrow #tune-body { layout: vertical; }
    TuneScreen.-narrow TuneTable { height: auto; max-height: 9; }
    TuneScreen.-narrow TuneChart { width: 1fr; height: 1fr; min-height: 6; }
    #tune-status { height: auto; max-height: 6; color: $text-muted; }
    """
    BINDINGS = [
        Binding("r", "run", "Run", tooltip="run the tuner: convert and measure every candidate of the set (after confirming)"),
        Binding("k", "toggle_quick", "Quick/full", tooltip="switch between the quick and the full candidate set"),
        Binding("a", "apply", "Apply", tooltip="apply the selected candidate: write it into the profile (after confirming)"),
        Binding(
            "escape",
            "cancel_or_close",
            "Cancel/close",
            tooltip="cancel the tuner's run or close this view (cancelling asks first; what was measured is kept)",
        ),
    ]

    quick: reactive[bool] = reactive(True)

    def __init__(self, profile: Profile) -> None:
        super().__init__()
        self.profile = profile
        self.tuner: Tuner | None = None
        self.report: dict | None = None

    def compose(self) -> ComposeResult:
        with Vertical(id="tune"):
            yield Static(id="tune-title")
            with Horizontal(id="tune-body"):
                yield TuneTable(id="tune-table")
                yield TuneChart("(run to measure)", id="tune-chart")
            yield Static(
                "r runs the tuner: each candidate is converted (by the program its row names), then measured.", id="tune-status"
            )
        yield Footer()

    def watch_quick(self) -> None:
        candidates = select(None, quick=self.quick)
        names = [c.name for c in candidates]
        # one line: the table lists the candidates
        self.query_one("#tune-title", Static).update(
            f"Recipe tuner - profile {self.profile.name} - the {'quick' if self.quick else 'full'} set of {len(names)} "
            "candidates (k switches)"
        )
        self.query_one(TuneTable).reset(names, self._converters(candidates))

    def _converters(self, candidates: list) -> dict[str, str]:
        """Which program converts each candidate; the streaming converter where the plan chooses it, as convert does."""
        from engine.tune.runner import converter_of

        return {c.name: converter_of(self.profile, c) for c in candidates}

    def _status(self, text: str) -> None:
        self.query_one("#tune-status", Static).update(text)

    @property
    def running(self) -> bool:
        return running_worker(self, "tune") is not None

    def action_toggle_quick(self) -> None:
        if self.running:
            return
        self.quick = not self.quick

    @work(what="Starting the tuner", exclusive=True, group="tune-confirm")
    async def action_run(self) -> None:
        if self.running:
            self.notify("The tuner is already running.")
            return
        from engine.base.errors import SlmopsError
        from engine.convert.plan import plan_conversion, plan_verdict

        try:  # every candidate converts the same model: refuse it now rather than once per candidate
            plan_verdict(plan_conversion(self.profile))
        except SlmopsError as exc:
            self._status(f"{exc.message}\n{exc.hint}")
            return
        candidates = select(None, quick=self.quick)
        converters = self._converters(candidates)
        question = (
            f"Run the recipe tuner on profile {self.profile.name}?\nIt converts the model "
            f"{len(candidates)} times ({', '.join(f'{c.name} by {converters[c.name]}' for c in candidates)}) and measures "
            "each: several minutes, with the machine busy."
        )
        if not await self.app.push_screen_wait(ConfirmScreen(question, yes="Run", no="Not now")):
            return
        self.query_one(TuneTable).reset([c.name for c in candidates], converters)
        self.query_one(TuneChart).waiting("measuring: the chart is drawn when the run ends")
        self.tuner = Tuner(self.profile, TuneOptions(candidates, quick=self.quick), lambda u: self.post_message(TuneProgress(u)))
        run_worker(self, self._tune(), what="The tuner", exclusive=True, group="tune")

    async def _tune(self) -> None:
        from engine.tune.runner import TuneBusy

        try:
            await self.tuner.run()
        except TuneBusy as exc:
            self._status(f"{exc.message}\n{exc.hint}")
        finally:
            self.report = self.tuner.report
            self.call_later(self._show_report)

    def on_tune_progress(self, message: TuneProgress) -> None:
        u = message.update
        if u.status == "saved":
            return
        table = self.query_one(TuneTable)
        table.set_state(u.candidate, u.detail if u.status == "failed" else f"{u.status}: {u.detail}" if u.detail else u.status)
        if u.status == "done" and u.row is not None:  # its figures now, not when the whole run ends
            table.set_figures(u.row)
        if u.status not in ("done", "failed"):
            self._status(f"{u.candidate}: {u.status} {u.detail}")

    def _show_report(self) -> None:
        from engine.tune.report import chosen_none, speedup, table_rows, verdict_line

        report = self.report
        if report is None:
            return
        rows = table_rows(report)
        for row in rows:
            row["chosen"] = row["name"] == report["chosen"]
        self.query_one(TuneTable).show_rows(rows, report.get("skipped") or [])
        self.query_one(TuneChart).show(report["candidates"], report["chosen"])
        gain = speedup(report, report["chosen"])
        self._status(
            f"{report['state']}: chosen {report['chosen'] or chosen_none(report)}"
            + (f" ({gain}x guide int4)" if gain else "")
            + (f"; measured settings: {report['chosen_settings']}" if report.get("chosen_settings") else "")
            + (f"\n{line}" if (line := verdict_line(report)) else "")
            + f"\nsaved {report.get('saved_to', '-')}  (a applies the selected row)"
        )

    @work(what="Applying the candidate", exclusive=True, group="tune-apply")
    async def action_apply(self) -> None:
        from engine.tune.apply import ApplyError, apply_candidate, candidate_of, describe_runtime, runtime_of, target_path

        if self.report is None or self.running:
            self.notify("Run the tuner first, and let it finish or cancel it.")
            return
        try:
            candidate = candidate_of(self.report, self.query_one(TuneTable).selected_name())
        except ApplyError as exc:
            self.notify(str(exc), severity="error")
            return
        path = target_path(self.profile)
        runtime = runtime_of(self.report)
        question = (
            f"Write {candidate.name} (recipe {candidate.recipe}) into {path} as the profile's conversion recipe, "
            f"with runtime settings {describe_runtime(runtime)}?"
            + ("\nThe file exists and will be replaced." if path.exists() else "")
        )

        if not await self.app.push_screen_wait(ConfirmScreen(question, yes="Apply")):
            return
        try:
            _, written = apply_candidate(self.profile, candidate, path, runtime)
            self.profile = load_profile(written)
        except (OSError, ProfileError) as exc:
            self.notify(f"Not applied: {exc}", severity="error")
            return
        self.app.profile = self.profile
        self.notify(f"Applied {candidate.name} to {written}")

    @work(what="Cancelling the tuner", exclusive=True, group="tune-cancel")
    async def action_cancel_or_close(self) -> None:
        if not self.running:
            self.dismiss(None)
            return
        if await self.app.push_screen_wait(
            ConfirmScreen(
                "Cancel the tuner? What was measured is kept.", yes="Cancel run", no="Go on", about=running_worker(self, "tune")
            )
        ):
            for worker in self.workers:
                if worker.group == "tune":
                    worker.cancel()
