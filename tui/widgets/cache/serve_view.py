"""Serving the selected model to applications, from the Cache panel: the endpoint's URL and a live view of its requests.

The serve worker runs as an engine job like any other (``drive_job``), so
quitting the app stops it; its own output goes to the log file, never here.
"""

from __future__ import annotations

import collections
from pathlib import Path

from rich.text import Text
from textual.widgets import Static

from engine.endpoint import snippets
from engine.endpoint.records import API_PATH, Endpoint, RequestRecord
from engine.endpoint.service import Notice, ServiceMonitor, serve_job, stop
from engine.foundry.cache import CacheEntry
from engine.process.events import Error, Finished
from engine.process.jobs import Job
from tui.jobs import JobEvent, drive_job, run_worker
from tui.screens.snippet import SnippetScreen


class ServeView(Static):
    DEFAULT_CSS = """
    ServeView { height: auto; max-height: 8; border-top: solid $primary; padding: 0 1; display: none; }
    ServeView.-active { display: block; }
    """

    def __init__(self, **kwargs) -> None:
        super().__init__("", **kwargs)
        self.job: Job | None = None
        self.monitor: ServiceMonitor | None = None
        self.name_served = ""
        self.path_served: Path | None = None
        self.state = ""  # starting | serving | stopping | failed: what, why
        self.notes: list[str] = []
        self.recent: collections.deque[RequestRecord] = collections.deque(maxlen=3)

    @property
    def endpoint(self) -> Endpoint | None:
        return self.monitor.endpoint if self.monitor and self.state == "serving" else None

    @property
    def serving(self) -> bool:
        return self.job is not None and self.job.running

    def serves(self, path: Path) -> bool:
        """Whether the service runs (or starts) on the model in ``path``."""
        return self.job is not None and self.path_served == path

    async def stop_serving(self) -> None:
        """Stop the service, if it runs; returns once its worker has ended."""
        if self.job is not None:
            self.state = "stopping"
            self._show()
            await stop(self.job)

    async def toggle(self, entry: CacheEntry | None, cache_dir: Path) -> None:
        """Stop the service if it runs, else serve ``entry``."""
        if self.job is not None:
            await self.stop_serving()
            return
        if entry is None:
            return
        self.monitor, self.notes, self.name_served = ServiceMonitor(), [], entry.model_id or entry.name
        self.path_served = entry.path
        self.recent.clear()
        self.state = "starting"
        self.job = serve_job(entry.path, cache_dir)
        self.add_class("-active")
        self._show()
        run_worker(self, drive_job(self, self.job), what="Serving", group="serve")

    def copy_snippet(self) -> None:
        if self.endpoint is None:
            self.notify("Nothing is served: v serves the selected model.", severity="warning")
            return
        code = snippets.python(self.endpoint)
        self.app.copy_to_clipboard(code)
        # shown too: the clipboard is the terminal's to pass on, and tmux drops it unless set-clipboard is on
        title = (
            f"A Python example for {self.endpoint.base_url} (pip install openai), copied to the clipboard if the terminal "
            "takes it (in tmux: set-clipboard on). Select it here otherwise; esc closes."
        )
        self.app.push_screen(SnippetScreen(title, code))

    def on_job_event(self, message: JobEvent) -> None:
        if message.job is not self.job:
            return
        message.stop()
        event = message.event
        shown = self.monitor.see(event)
        if isinstance(shown, Endpoint):
            self.state = "serving"
            self.notify(f"Serving {shown.model_id} at {shown.base_url}; u copies a Python example.")
        elif isinstance(shown, RequestRecord):
            self.recent.append(shown)
        elif isinstance(shown, Notice):
            self.notes.append(shown.text)
        elif isinstance(event, Error):
            self.state = f"failed: {event.message} {event.hint}".strip()
        elif isinstance(event, Finished):
            self.job = None
            self.monitor.close()
            if not self.state.startswith("failed"):
                self.state = ""
                self.remove_class("-active")
        self._show()

    def _show(self) -> None:
        text = Text()
        if self.state == "serving" and self.endpoint:
            text.append("serving ", style="bold")
            text.append(f"{self.endpoint.model_id} at ")
            text.append(self.endpoint.base_url, style="bold underline")
            text.append("   v stops, u copies a Python example\n", style="dim")
            totals = self.monitor.totals
            speed = f"{totals.tokens_per_s:.1f}" if totals.tokens_per_s else "-"
            text.append(f"requests {totals.requests}   errors {totals.errors}   tokens {totals.tokens_out}   tok/s {speed}")
            for note in self.notes:
                text.append(f"   {note}", style="dim")
            width = max(40, self.size.width - 2)
            for record in self.recent:  # one line each; the API path is in the URL above already
                line = record.line().replace(API_PATH, "")
                text.append("\n" + (line if len(line) <= width else line[: width - 1] + "…"), style="" if record.ok else "red")
        elif self.state.startswith("failed"):
            text.append(f"serving {self.name_served} {self.state}", style="red")
            if self.monitor:
                text.append(f"\nlog: {self.monitor.log_path}", style="dim")
        elif self.state:
            text.append(f"{self.state} {self.name_served} ...", style="dim")
        self.update(text)
