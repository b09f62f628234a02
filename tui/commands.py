"""The command palette: the app's keys and those of the panel or screen on show, from their bindings."""

from __future__ import annotations

from textual.command import DiscoveryHit, Hit, Hits, Provider

from tui import keymap


class SlmopsCommands(Provider):
    def _commands(self):
        return keymap.palette(self.app, self.screen)

    async def discover(self) -> Hits:
        for title, help_text, callback in self._commands():
            yield DiscoveryHit(title, callback, help=help_text)

    async def search(self, query: str) -> Hits:
        matcher = self.matcher(query)
        for title, help_text, callback in self._commands():
            score = matcher.match(title)
            if score > 0:
                yield Hit(score, matcher.highlight(title), callback, help=help_text)
