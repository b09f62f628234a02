"""Keys: declared once (help and palette come from the bindings), typing never fires them, long jobs ask first.

Pilot tests on the real app; no job may start in any of them.
"""

from __future__ import annotations

import importlib
import inspect
import pkgutil

from textual.screen import Screen

import tui
from tui import keymap
from tui.app import PANELS, SlmopsApp


def all_sections() -> list[keymap.Section]:
    return keymap.sections(SlmopsApp, PANELS, keymap.screen_classes())


def test_help_and_palette_are_made_from_every_binding():
    sections = all_sections()
    titles = [s.title for s in sections]
    assert {"Everywhere", "Chat & Bench panel", "Recipe tuner", "Pipeline", "Deploy review"} <= set(titles)
    text = keymap.help_markdown(sections)
    for section in sections:
        assert f"## {section.title}" in text
        palette = keymap.commands(section.bindings)
        for binding in section.bindings:
            assert f"`{keymap.key_display(binding)}`" in text, (section.title, binding.key)
            assert keymap.describe(binding) in text
            assert any(c.binding.action == binding.action for c in palette), (section.title, binding.action)


def test_palette_names_say_what_a_key_does_and_fit_the_palette():
    for section in all_sections():
        titles = [c.title for c in keymap.commands(section.bindings)]
        assert len(set(titles)) == len(titles), section.title  # two commands of a section are told apart
        for title in titles:
            assert title[0].isupper() and 2 <= len(title) <= 52, (section.title, title)


def test_a_new_screen_is_found_without_being_listed():
    names = {cls.__name__ for cls in keymap.screen_classes()}
    assert {"TuneScreen", "PipelineScreen", "NewProfileScreen", "ProfileEditor", "DeployReview"} <= names


def test_every_screen_lives_in_tui_screens():
    """The help lists the screens it finds in tui.screens: a screen kept among the widgets would be missing from it."""
    elsewhere = []
    for info in pkgutil.walk_packages(tui.__path__, "tui."):
        module = importlib.import_module(info.name)
        for value in vars(module).values():
            if inspect.isclass(value) and issubclass(value, Screen) and value.__module__ == info.name:
                if not info.name.startswith(f"{keymap.SCREENS_PACKAGE}."):
                    elsewhere.append(f"{info.name}.{value.__name__}")
    assert elsewhere == []


def test_no_panel_key_shadows_an_app_key():
    app_keys = {b.key for b in keymap.own_bindings(SlmopsApp)}
    for panel in PANELS:
        shadowed = app_keys & {b.key for b in keymap.own_bindings(panel)}
        assert not shadowed, f"{panel.TITLE} binds the app's {shadowed}"
