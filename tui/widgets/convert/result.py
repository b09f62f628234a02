"""The result card of a conversion: what was made, how big against the source and the guide, how fast."""

from __future__ import annotations

from typing import Any

from rich.table import Table
from rich.text import Text
from textual.widgets import Static

from engine.base.units import human_bytes
from engine.convert.plan import size_words


class ConvertResult(Static):
    DEFAULT_CSS = """
    ConvertResult { height: auto; padding: 0 1; }
    ConvertResult.failed { border: round $error; }
    ConvertResult.ok { border: round $success; }
    ConvertResult.cancelled { border: round $warning; }
    """

    def clear(self) -> None:
        self.update("")
        self.set_classes("")

    def show_result(self, card: dict[str, Any]) -> None:
        table = Table.grid(padding=(0, 1))
        table.add_column(style="bold")
        table.add_column()
        table.add_row("converted", Text(str(card.get("output", "")), style="green"))
        table.add_row("size", size_words(card))
        blocks = ", ".join(map(str, card.get("block_sizes") or [])) or "-"
        table.add_row("recipe", f"{card.get('recipe')} ({card.get('precision')}), block size {blocks}")
        estimated = card.get("memory_estimate_bytes")
        against = f" (estimated {human_bytes(estimated)})" if estimated else ""
        table.add_row("took", f"{card.get('duration_s', 0):.1f}s, peak memory {human_bytes(card.get('peak_rss_bytes'))}{against}")
        if card.get("stages"):
            table.add_row("stages", card["stages"])
        if card.get("runner"):
            program = "the streaming converter" if card["runner"] == "stream" else "Olive"
            table.add_row("made by", f"{program}: {card.get('runner_reason', '')}")
        table.add_row("answer", repr(card.get("answer", "")))
        for setting in card.get("runtime_settings") or []:
            table.add_row("runtime", setting)
        table.add_row("command", Text(str(card.get("command", "")), overflow="fold"))
        if card.get("same_as"):  # the streaming converter ran: the Olive command whose model it makes, byte for byte
            table.add_row("same as", Text(str(card["same_as"]), overflow="fold"))
        table.add_row("log", str(card.get("log", "")))
        for repair in card.get("repairs", []):
            table.add_row("repaired", repair)
        self.set_classes("ok")
        self.update(table)

    def show_error(self, message: str, hint: str = "", log: str = "", *, state: str = "failed") -> None:
        """What ended the conversion: ``state`` (failed, or cancelled), what happened, what to do, the log's end."""
        text = Text()
        text.append(f"{state}: ", style="bold red" if state == "failed" else "bold yellow")
        text.append(message)
        if hint:
            text.append(f"\nwhat to do: {hint}")
        if log:
            text.append(f"\nlog: {log}")
        self.set_classes(state)
        self.update(text)
