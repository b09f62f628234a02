"""The command palette: the app's keys and those of the panels or the screen on show, from their bindings."""

from __future__ import annotations

import re
from functools import partial

from textual.command import DiscoveryHit, Hit, Hits, Provider
from textual.markup import escape

from tui import keymap


def help_markup(text: str) -> str:
    """A command's help as the palette shows it (Textual markup): `code` in bold, without its backticks."""
    return re.sub(r"`([^`]+)`", r"[b]\1[/b]", escape(text))


def words_score(query: str, command: keymap.Command) -> float:
    """A hit when every word typed begins a word of the command's title or help ("int8", "change precision"):
    below 1, so below any fuzzy match of the title; higher when more of the words are in the title."""
    typed = query.lower().split()
    title = re.findall(r"\w+", command.title.lower())
    words = title + re.findall(r"\w+", command.help.lower())
    if not typed or not all(any(w.startswith(t) for w in words) for t in typed):
        return 0.0
    in_title = sum(any(w.startswith(t) for w in title) for t in typed)
    return 0.5 + 0.4 * in_title / len(typed)


class SlmopsCommands(Provider):
    async def _run(self, offer: keymap.Offer) -> None:
        if offer.panel:
            self.app.show_panel(offer.panel)
        await self.app.run_action(offer.command.binding.action, offer.node)

    async def discover(self) -> Hits:
        for offer in keymap.palette(self.app, self.screen):
            yield DiscoveryHit(offer.command.title, partial(self._run, offer), help=help_markup(offer.command.help))

    async def search(self, query: str) -> Hits:
        matcher = self.matcher(query)
        for offer in keymap.palette(self.app, self.screen):
            command = offer.command
            score = matcher.match(command.title)
            shown = matcher.highlight(command.title) if score > 0 else command.title
            score = score or words_score(query, command)
            if score > 0:
                yield Hit(score, shown, partial(self._run, offer), help=help_markup(command.help))
