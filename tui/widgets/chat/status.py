"""The live status line under the chat: state, time to first token, tokens/s, context, worker RSS and CPU.

Reactive: the panel sets what changed and the line redraws. Two sparklines show
the decode speed of the recent answers and the worker's memory over time.
"""

from __future__ import annotations

from collections import deque
from typing import Any

from textual.app import ComposeResult
from textual.containers import Horizontal
from textual.reactive import reactive
from textual.widgets import Sparkline, Static

from engine.base.units import human_bytes

HISTORY = 30  # samples a sparkline keeps


class ChatStatus(Horizontal):
    DEFAULT_CSS = """
    ChatStatus { height: 1; color: $text-muted; }
    ChatStatus Horizontal { width: auto; height: 1; }
    ChatStatus Static { width: auto; }
    ChatStatus Sparkline { width: 8; margin: 0 1; }
    """

    state: reactive[str] = reactive("no model loaded")
    last: reactive[dict[str, Any] | None] = reactive(None)  # the figures of the last answer
    context: reactive[tuple[int, int]] = reactive((0, 0))  # tokens in context, the model's limit
    resident: reactive[tuple[int, float] | None] = reactive(None)  # the worker's RSS bytes and CPU %

    def __init__(self, **kwargs) -> None:
        super().__init__(**kwargs)
        self.speeds: deque[float] = deque(maxlen=HISTORY)
        self.memory: deque[float] = deque(maxlen=HISTORY)

    def compose(self) -> ComposeResult:
        with Horizontal():
            yield Static(id="chat-status-speed")
            yield Sparkline([], id="chat-speed-spark")
        with Horizontal():
            yield Static(id="chat-status-memory")
            yield Sparkline([], id="chat-memory-spark")
            yield Static(id="chat-status-cpu")

    def on_mount(self) -> None:
        self._show_speed()
        self._show_memory()

    def watch_state(self) -> None:
        self._show_speed()

    def watch_last(self, last: dict[str, Any] | None) -> None:
        if last and last.get("decode_tps"):
            self.speeds.append(float(last["decode_tps"]))
            self.query_one("#chat-speed-spark", Sparkline).data = list(self.speeds)
        self._show_speed()

    def watch_context(self) -> None:
        self._show_memory()

    def watch_resident(self, resident: tuple[int, float] | None) -> None:
        if resident and resident[0]:
            self.memory.append(float(resident[0]))
            self.query_one("#chat-memory-spark", Sparkline).data = list(self.memory)
        self._show_memory()

    def _show_speed(self) -> None:
        last = self.last or {}
        ttft = f"{last['ttft_ms']:.0f} ms" if last.get("ttft_ms") else "-"
        tps = f"{last['decode_tps']:.1f}" if last.get("decode_tps") else "-"
        self.query_one("#chat-status-speed", Static).update(f"{self.state}  TTFT {ttft}  {tps} tok/s")

    def _show_memory(self) -> None:
        tokens, limit = self.context
        rss = human_bytes(self.resident[0]) if self.resident and self.resident[0] else "-"
        cpu = f"{self.resident[1]:.0f}%" if self.resident else "-"
        self.query_one("#chat-status-memory", Static).update(f"context {tokens}/{limit or '?'}  RSS {rss}")
        self.query_one("#chat-status-cpu", Static).update(f"CPU {cpu}")
