"""The conversion's stages with the time each took, and the worker's memory."""

from __future__ import annotations

import re
import time

from rich.console import Group
from rich.table import Table
from rich.text import Text
from textual.widgets import Static

from engine.base.units import human_bytes
from engine.convert.stages import STAGES
from engine.process.events import Stage

# Words first, so that the list reads the same without colour.
_STYLE = {
    "waiting": "dim",
    "start": "bold yellow",
    "done": "green",
    "skipped": "dim",
    "failed": "bold red",
    "cancelled": "yellow",
}
_WORD = {"start": "running"}
_SECONDS = re.compile(r"[\d.]+s")


class ConvertStages(Static):
    DEFAULT_CSS = """
    ConvertStages { border: round $accent; padding: 0 1; }
    """

    def __init__(self, **kwargs) -> None:
        super().__init__(**kwargs)
        self.reset()

    def reset(self) -> None:
        self.status = {name: "waiting" for name in STAGES}
        self.detail = {name: "" for name in STAGES}
        self.started: dict[str, float] = {}
        self.elapsed: dict[str, float] = {}
        self.percent: float | None = None
        self.rss = self.peak_rss = 0
        self.estimated = 0
        self.refresh_view()

    def on_mount(self) -> None:
        self.set_interval(0.5, self._tick)

    def _tick(self) -> None:
        if any(status == "start" for status in self.status.values()):
            self.refresh_view()

    def stage(self, event: Stage) -> None:
        if event.name not in self.status:
            return
        now = time.monotonic()
        if event.status == "start":
            self.started[event.name] = now
            self.percent = None
        elif event.name in self.started:
            self.elapsed[event.name] = now - self.started[event.name]
        self.status[event.name] = event.status
        self.detail[event.name] = event.detail
        self.refresh_view()

    def fail_running(self, status: str = "failed") -> None:
        """End the stage running now as ``status`` (failed, or cancelled)."""
        for name, now in self.status.items():
            if now == "start":
                self.stage(Stage(name, status))

    def memory(self, rss: int, peak: int) -> None:
        self.rss, self.peak_rss = rss, peak
        self.refresh_view()

    def estimate(self, ram_bytes: int) -> None:
        """The plan's estimate of the peak (0: none measured), shown beside the measured peak."""
        self.estimated = ram_bytes
        self.refresh_view()

    def progress(self, percent: float) -> None:
        self.percent = percent
        self.refresh_view()

    def refresh_view(self) -> None:
        table = Table.grid(padding=(0, 1))
        table.add_column(width=12)
        table.add_column(width=8)
        table.add_column(justify="right", width=7)
        table.add_column()
        now = time.monotonic()
        for name in STAGES:
            status = self.status[name]
            seconds = self.elapsed.get(name, now - self.started[name] if status == "start" else None)
            clock = f"{seconds:.1f}s" if seconds is not None else ""
            # the worker's own timing ("9.6s"; figure-ok: an example) would repeat the clock column; other details are shown
            extra = "" if _SECONDS.fullmatch(self.detail[name]) else self.detail[name]
            if status == "start" and self.percent is not None:
                extra = f"{self.percent:.0f}%"
            table.add_row(
                name, Text(_WORD.get(status, status), style=_STYLE[status]), clock, Text(extra, overflow="ellipsis", no_wrap=True)
            )
        # two short lines: the box is narrow, and the estimate is what the peak is read against
        against = f"\npeak estimated at {human_bytes(self.estimated)}" if self.estimated else ""
        memory = Text(f"memory {human_bytes(self.rss)} now, peak {human_bytes(self.peak_rss)}{against}")
        self.update(Group(table, memory))

    def summary(self) -> str:
        """Each stage and its time on one line, for the result card (the box itself may be scrolled away)."""
        return ", ".join(
            f"{name} {self.elapsed[name]:.1f}s" if name in self.elapsed else f"{name} {self.status[name]}" for name in STAGES
        )
