"""The command palette: app-wide commands plus those of the panel on show."""

from __future__ import annotations

from functools import partial

from textual.command import DiscoveryHit, Hit, Hits, Provider


class SlmopsCommands(Provider):
    def _commands(self):
        app = self.app
        for panel in app.panels():
            yield f"Show {panel.TITLE}", f"Switch to the {panel.TITLE} panel (key {panel.KEY})", partial(app.show_panel, panel.id)
        yield "Pick profile", "Choose the profile the app works with (key p)", app.action_pick_profile
        yield "New profile", "A profile for your own model folder: what it is, whether it converts, save it (key n)", \
            app.action_new_profile
        yield "Edit profile", "Precision, recipe, output, deploy name, model config, bench lengths (key e)", \
            app.action_edit_profile
        yield "Run the whole pipeline", "Checks, convert, verify, deploy, benchmark and a report, resuming where it stopped (key g)", app.action_pipeline
        yield "Recipe tuner", "Find the fastest recipe that keeps quality (key t)", app.action_tune
        yield "Help", "Keys and panels (key ?)", app.action_help
        current = app.current_panel()
        if current is not None:
            for command in current.palette_commands():
                yield command.title, command.help, command.callback

    async def discover(self) -> Hits:
        for title, help_text, callback in self._commands():
            yield DiscoveryHit(title, callback, help=help_text)

    async def search(self, query: str) -> Hits:
        matcher = self.matcher(query)
        for title, help_text, callback in self._commands():
            score = matcher.match(title)
            if score > 0:
                yield Hit(score, matcher.highlight(title), callback, help=help_text)
