"""The conversation as Markdown, with the answer under way refreshed at most ~12 times a second."""

from __future__ import annotations

import time

from textual.containers import VerticalScroll
from textual.widgets import Markdown, Static

REFRESH_S = 0.08  # re-rendering Markdown per token would make long answers crawl


class ChatLog(VerticalScroll):
    """Messages top to bottom; ``begin_answer`` / ``add_text`` / ``end_answer`` stream one answer."""

    DEFAULT_CSS = """
    ChatLog { border: round $primary-darken-2; }
    ChatLog .chat-user { background: $boost; padding: 0 1; margin: 1 0 0 8; }
    ChatLog .chat-answer { margin: 0 8 0 0; }
    ChatLog .chat-notice { color: $text-muted; text-style: italic; }
    ChatLog .chat-error { color: $error; }
    """

    def __init__(self, **kwargs) -> None:
        super().__init__(**kwargs)
        self._answer: Markdown | None = None
        self._text = ""
        self._shown = 0.0

    async def add_user(self, text: str) -> None:
        await self.mount(Static(text or " ", classes="chat-user"))
        self.scroll_end(animate=False)

    async def add_notice(self, text: str, error: bool = False) -> None:
        await self.mount(Static(text, classes="chat-error" if error else "chat-notice"))
        self.scroll_end(animate=False)

    async def begin_answer(self) -> None:
        self._text, self._shown = "", 0.0
        self._answer = Markdown("…", classes="chat-answer")
        await self.mount(self._answer)

    async def add_text(self, text: str) -> None:
        self._text += text
        if time.monotonic() - self._shown >= REFRESH_S:
            await self._show()

    async def end_answer(self) -> str:
        await self._show()
        self._answer = None
        return self._text

    async def _show(self) -> None:
        if self._answer is not None:
            self._shown = time.monotonic()
            await self._answer.update(self._text or "…")
            self.scroll_end(animate=False)

    async def clear(self) -> None:
        await self.remove_children()
