"""The command palette: the app's keys and those of the panels or the screen on show, from their bindings."""

from __future__ import annotations

from functools import partial

from textual.command import DiscoveryHit, Hit, Hits, Provider

from tui import keymap


class SlmopsCommands(Provider):
    async def _run(self, offer: keymap.Offer) -> None:
        if offer.panel:
            self.app.show_panel(offer.panel)
        await self.app.run_action(offer.command.binding.action, offer.node)

    async def discover(self) -> Hits:
        for offer in keymap.palette(self.app, self.screen):
            yield DiscoveryHit(offer.command.title, partial(self._run, offer), help=offer.command.help)

    async def search(self, query: str) -> Hits:
        matcher = self.matcher(query)
        for offer in keymap.palette(self.app, self.screen):
            score = matcher.match(offer.command.title)
            if score > 0:
                yield Hit(score, matcher.highlight(offer.command.title), partial(self._run, offer), help=offer.command.help)
