"""The table of cache entries: filterable by text, sortable by any column."""

from __future__ import annotations

from rich.text import Text
from textual.widgets import DataTable

from engine.base.units import human_bytes
from engine.foundry.cache import CacheEntry

# Short headings and the status beside the state, so that 80 columns show them all (the problems in words: the detail).
COLUMNS = ("name", "ver", "state", "status", "prec", "template", "size", "EP")
_SORT_KEYS = {
    "name": lambda e: e.name.lower(),
    "ver": lambda e: e.version,
    "prec": lambda e: e.precision,
    "EP": lambda e: e.execution_provider,
    "size": lambda e: e.size_bytes,
    "template": lambda e: e.template_family,
    "state": lambda e: (not e.loaded, not e.registered),
    "status": lambda e: e.valid,
}


def state_of(entry: CacheEntry) -> str:
    return "loaded" if entry.loaded else "registered" if entry.registered else "not registered"


class CacheTable(DataTable):
    """Rows keyed by the entry's folder path."""

    def __init__(self, **kwargs) -> None:
        super().__init__(cursor_type="row", zebra_stripes=True, **kwargs)
        self.entries: list[CacheEntry] = []
        self.filter_text = ""
        self.sort_column = "name"

    def on_mount(self) -> None:
        self.add_columns(*COLUMNS)

    def show(self, entries: list[CacheEntry]) -> None:
        self.entries = entries
        self._render_rows()

    def set_filter(self, text: str) -> None:
        self.filter_text = text.strip().lower()
        self._render_rows()

    def next_sort(self) -> str:
        """Sort by the next column; returns its name."""
        index = (COLUMNS.index(self.sort_column) + 1) % len(COLUMNS)
        self.sort_column = COLUMNS[index]
        self._render_rows()
        return self.sort_column

    def visible(self) -> list[CacheEntry]:
        rows = [
            e
            for e in self.entries
            if self.filter_text
            in " ".join(
                (e.name, e.version, e.model_id, e.precision, e.template_family, state_of(e), e.status, e.path.name)
            ).lower()
        ]
        return sorted(rows, key=_SORT_KEYS[self.sort_column])

    def selected(self) -> CacheEntry | None:
        rows = self.visible()
        return rows[self.cursor_row] if rows and 0 <= self.cursor_row < len(rows) else None

    def _render_rows(self) -> None:
        keep = self.selected()
        self.clear()
        rows = self.visible()
        for entry in rows:
            problems = "problem" if len(entry.problems) == 1 else "problems"
            status = Text("ok", style="green") if entry.valid else Text(problems, style="red")
            state = Text(state_of(entry), style="bold" if entry.loaded else "")
            self.add_row(
                entry.name,
                entry.version or "-",
                state,
                status,
                entry.precision,
                entry.template_family,
                human_bytes(entry.size_bytes),
                entry.execution_provider.removesuffix("ExecutionProvider"),
                key=str(entry.path),
            )
        if keep is not None and keep in rows:
            self.move_cursor(row=rows.index(keep))
