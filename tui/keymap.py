"""Keys are declared once, in ``BINDINGS``: the help screen and the command palette are made from them.

A binding's ``description`` names it (footer, palette title) and its ``tooltip``
says more (help, palette help). Sections: the app's keys, each panel's, then
each screen's. Screens are found, not listed: every ``Screen`` subclass with
bindings in a module of ``tui.screens`` (where every screen lives) has a section,
so a new screen shows in the help without being named here. ``HELP`` (Textual's
own class variable) is a short Markdown introduction to a section.
"""

from __future__ import annotations

import importlib
import inspect
import pkgutil
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from functools import partial
from itertools import groupby
from pathlib import Path

from textual.actions import parse
from textual.binding import Binding
from textual.dom import DOMNode
from textual.keys import format_key
from textual.screen import Screen

INTRO = Path(__file__).with_name("help.md")
SCREENS_PACKAGE = "tui.screens"


@dataclass(frozen=True)
class Section:
    title: str
    owner: type[DOMNode]
    bindings: tuple[Binding, ...]

    @property
    def intro(self) -> str:
        return inspect.cleandoc(self.owner.__dict__.get("HELP") or "")


@dataclass(frozen=True)
class Command:
    title: str
    help: str
    binding: Binding


def own_bindings(cls: type[DOMNode]) -> tuple[Binding, ...]:
    """The bindings a class declares itself (not those it inherits), one per key."""
    return tuple(Binding.make_bindings(cls.__dict__.get("BINDINGS", ())))


def key_display(binding: Binding) -> str:
    return binding.key_display or format_key(binding.key)


def describe(binding: Binding) -> str:
    return binding.tooltip or binding.description


def screen_title(cls: type[Screen]) -> str:
    """``HELP_TITLE`` if the screen has one, else its class name in words ("TuneScreen" -> "Tune")."""
    title = cls.__dict__.get("HELP_TITLE")
    if title:
        return title
    words = re.findall(r"[A-Z][a-z]*", cls.__name__.removesuffix("Screen"))
    return " ".join([words[0], *(w.lower() for w in words[1:])]) if words else cls.__name__


def screen_classes() -> list[type[Screen]]:
    """Every screen of the app with keys of its own, in the modules of ``SCREENS_PACKAGE``.

    Imports those modules: done when the help opens, never at start-up.
    """
    found: dict[str, type[Screen]] = {}
    package = importlib.import_module(SCREENS_PACKAGE)
    for info in pkgutil.iter_modules(package.__path__):
        module = importlib.import_module(f"{SCREENS_PACKAGE}.{info.name}")
        for value in vars(module).values():
            if (
                inspect.isclass(value)
                and issubclass(value, Screen)
                and value.__module__ == module.__name__
                and own_bindings(value)
            ):
                found[value.__qualname__] = value
    return sorted(found.values(), key=screen_title)


def sections(app_cls: type, panels: Iterable[type], screens: Iterable[type[Screen]] = ()) -> list[Section]:
    result = [Section("Everywhere", app_cls, own_bindings(app_cls))]
    result += [Section(f"{panel.TITLE} panel", panel, own_bindings(panel)) for panel in panels]
    result += [Section(screen_title(screen), screen, own_bindings(screen)) for screen in screens]
    return result


def help_markdown(all_sections: list[Section]) -> str:
    parts = [INTRO.read_text(encoding="utf-8").rstrip()]
    for section in all_sections:
        parts.append(f"## {section.title}")
        if section.intro:
            parts.append(section.intro)
        rows = ["| key | action |", "|---|---|"]
        # one row for keys bound side by side to one action ("esc q ?" close)
        for (_, text), group in groupby(section.bindings, key=lambda b: (b.action, describe(b))):
            keys = " ".join(f"`{key_display(b)}`" for b in group)
            rows.append(f"| {keys} | {text} |")
        parts.append("\n".join(rows))
    return "\n\n".join(parts) + "\n"


def commands(title: str, bindings: Iterable[Binding]) -> list[Command]:
    """The palette's commands for one section's bindings (one per action)."""
    result: list[Command] = []
    for (_, text), group in groupby(bindings, key=lambda b: (b.action, b.description)):
        group = list(group)
        keys = ", ".join(key_display(b) for b in group)
        name = f"{title}: {text}" if title else text
        tip = group[0].tooltip or group[0].description
        result.append(Command(name, f"{tip} (key {keys})", group[0]))
    return result


def palette(app, screen: Screen) -> list[tuple[str, str, Callable[[], object]]]:
    """What the palette offers on ``screen``: the app's keys, then those of the panel or screen on show.

    Only actions that ``check_action`` allows now are offered.
    """
    owners: list[tuple[str, DOMNode]] = [("", app)]
    if screen is app.screen_stack[0]:
        panel = app.current_panel()
        if panel is not None:
            owners.append((panel.TITLE, panel))
    else:
        owners.append((screen_title(type(screen)), screen))
    offered = []
    for title, node in owners:
        for command in commands(title, own_bindings(type(node))):
            _, name, params = parse(command.binding.action)
            if node.check_action(name, params):
                offered.append((command.title, command.help, partial(app.run_action, command.binding.action, node)))
    return offered
