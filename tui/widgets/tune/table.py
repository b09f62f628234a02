"""The tuner's table: one row per candidate, its state while the run goes, then its figures and rank."""

from __future__ import annotations

from typing import Any

from textual.widgets import DataTable

from engine.tune.report import table_rows

# What ranks a candidate first, so that it shows at 80 columns; the latencies follow, and at 100 every column shows
# once the run has ended (the rows are in rank order; "TTFT s" and "TTFT l": the short and the long prompt's, ms).
COLUMNS = ("candidate", "state", "MB", "tok/s", "RSS MB", "pass", "ppl", "quality", "TTFT s", "TTFT l")
QUALITY = {True: "keeps", False: "loses", None: "?"}
STATE_WIDTH = 40  # the longest state shown; what fits in the table at 80 columns


def _cell(value: Any) -> str:
    return "-" if value is None else str(value)


class TuneTable(DataTable):
    def on_mount(self) -> None:
        self.cursor_type = "row"
        self._start()

    def _start(self) -> None:
        """No rows, and columns as narrow as their headings: a long state of the last run does not widen the table."""
        self.clear(columns=True)
        self.column_keys = self.add_columns(*COLUMNS)

    def reset(self, names: list[str], converters: dict[str, str] | None = None) -> None:
        """Every candidate queued, with the program that converts it."""
        self._start()
        for name in names:
            by = (converters or {}).get(name)
            self.add_row(name, f"queued: {by}"[:STATE_WIDTH] if by else "queued", *["" for _ in COLUMNS[2:]], key=name)

    def set_state(self, name: str, state: str) -> None:
        if name in self.rows:
            # the column widens to the state, so that it is shown in full
            self.update_cell(name, self.column_keys[1], state[:STATE_WIDTH], update_width=True)

    def set_figures(self, candidate: dict[str, Any]) -> None:
        """A candidate's figures as soon as it is measured (``engine.tune.runner``'s row); quality is told at the end."""
        (r,) = table_rows({"candidates": [candidate]})
        if r["name"] not in self.rows:
            return
        figures = ("size_mb", "decode_tps", "peak_rss_mb", "pass_rate", "perplexity", None, "ttft_ms_short", "ttft_ms_long")
        for column, key in zip(self.column_keys[2:], figures):
            if key is not None:
                self.update_cell(r["name"], column, _cell(r[key]), update_width=True)

    def show_rows(self, rows: list[dict[str, Any]], skipped: list[str]) -> None:
        """The ranked figures (``engine.tune.report.table_rows``), in rank order."""
        self._start()
        for r in rows:
            state = "failed" if r["error"] else "chosen" if r.get("chosen") else "done" if r["measured"] else "unmeasured"
            quality = "failed" if r["error"] else QUALITY[r["keeps_quality"]]
            self.add_row(
                r["name"],
                state,
                _cell(r["size_mb"]),
                _cell(r["decode_tps"]),
                _cell(r["peak_rss_mb"]),
                _cell(r["pass_rate"]),
                _cell(r["perplexity"]),
                quality,
                _cell(r["ttft_ms_short"]),
                _cell(r["ttft_ms_long"]),
                key=r["name"],
            )
        for name in skipped:
            self.add_row(name, "not run", *["" for _ in COLUMNS[2:]], key=name)

    def selected_name(self) -> str | None:
        if not self.row_count:
            return None
        return self.coordinate_to_cell_key((self.cursor_row, 0)).row_key.value
