"""The Convert panel with Pilot: a real conversion of the tiny model, the filter, cancel, the workflow editor."""

from __future__ import annotations

import io

from rich.console import Console
from textual.widgets import Input, Static

from tui.widgets.convert.log import ConvertLog


def shown(widget: Static) -> str:
    """The text a Static displays, whatever renderable it holds."""
    console = Console(width=200, record=True, file=io.StringIO())
    console.print(widget.content)
    return console.export_text()


def test_filter_shows_only_matching_lines():
    from textual.app import App

    class Host(App):
        def compose(self):
            yield ConvertLog()

    async def run():
        app = Host()
        async with app.run_test() as pilot:
            log = app.query_one(ConvertLog)
            for line in ("Reading layer 0", "Saving GenAI config", "Reading layer 1"):
                log.add(line)
            app.query_one(Input).value = "layer"
            await pilot.pause()
            return log.shown()

    import asyncio

    assert asyncio.run(run()) == ["Reading layer 0", "Reading layer 1"]
