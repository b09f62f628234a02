"""The live status line under the chat: time to first token, tokens/s, context, worker RSS and CPU."""

from __future__ import annotations

from typing import Any

from textual.widgets import Static

from engine.backends.base import Resident


def _bytes(n: int) -> str:
    return f"{n / 2**20:.0f} MB" if n else "-"


class ChatStatus(Static):
    def show(self, resident: Resident | None, last: dict[str, Any] | None, context_tokens: int, state: str) -> None:
        last = last or {}
        ttft = f"{last['ttft_ms']:.0f} ms" if last.get("ttft_ms") else "-"
        tps = f"{last['decode_tps']:.1f}" if last.get("decode_tps") else "-"
        limit = resident.context_length if resident and resident.context_length else "?"
        rss = _bytes(resident.rss_bytes) if resident else "-"
        cpu = f"{resident.cpu_percent:.0f}%" if resident else "-"
        self.update(f"{state}  |  TTFT {ttft}  |  {tps} tok/s  |  context {context_tokens}/{limit}  |  RSS {rss}  |  CPU {cpu}")
