"""A status line of the worker processes running now, whoever started them (engine.process.jobs.REGISTRY)."""

from __future__ import annotations

from collections import Counter

from textual.reactive import reactive
from textual.widgets import Static

from engine.process.jobs import REGISTRY


class JobsStatus(Static):
    """Hidden while nothing runs; otherwise "running 2: convert, chat" with a count per label."""

    DEFAULT_CSS = """
    JobsStatus { height: 1; padding: 0 1; background: $boost; color: $text-muted; display: none; }
    JobsStatus.-busy { display: block; }
    """

    labels: reactive[tuple[str, ...]] = reactive(())

    def on_mount(self) -> None:
        self._unsubscribe = REGISTRY.subscribe(self._changed)
        self._changed()

    def on_unmount(self) -> None:
        self._unsubscribe()

    def _changed(self) -> None:
        self.labels = tuple(job.label for job in REGISTRY.running())

    def watch_labels(self, labels: tuple[str, ...]) -> None:
        self.set_class(bool(labels), "-busy")
        counts = Counter(labels)
        names = ", ".join(f"{label} x{n}" if n > 1 else label for label, n in counts.items())
        self.update(f"running {len(labels)}: {names}" if labels else "")
