"""Keys are declared once, in ``BINDINGS``: the help screen and the command palette are made from them.

A binding's ``description`` is its short label (footer) and its ``tooltip`` says
what it does (help). The tooltip's lead, before any colon, semicolon or
parenthesis, names it in the palette in the words a user looks for ("Run the
quick benchmark"). Sections: the app's keys, each panel's, then each screen's.
Screens are found, not listed: every ``Screen`` subclass with bindings in a
module of ``tui.screens`` (where every screen lives) has a section, so a new
screen shows in the help without being named here. ``HELP`` (Textual's own
class variable) is a short Markdown introduction to a section.
"""

from __future__ import annotations

import importlib
import inspect
import pkgutil
import re
from collections.abc import Iterable
from dataclasses import dataclass
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


def lead_and_rest(binding: Binding) -> tuple[str, str]:
    """A binding's tooltip split at its first colon, semicolon or parenthesis: what the key does, then the details."""
    text = describe(binding)
    found = re.search(r": |; | \(", text)
    if found is None:
        return text, ""
    rest = text[found.end() :]
    return text[: found.start()], rest.replace(")", "", 1) if found.group() == " (" else rest


def command_title(binding: Binding) -> str:
    """The palette's name for a binding: the lead of its tooltip, in the words a user looks for ("Run the quick benchmark")."""
    lead = lead_and_rest(binding)[0]
    return lead[:1].upper() + lead[1:]


def commands(bindings: Iterable[Binding], where: str = "") -> list[Command]:
    """The palette's commands for one section's bindings (one per action); ``where`` names the panel they act in.

    A command's help is the rest of its tooltip (its title says the lead) and its key.
    """
    result: list[Command] = []
    for _, group in groupby(bindings, key=lambda b: (b.action, describe(b))):
        group = list(group)
        key = f"key {', '.join(key_display(b) for b in group)}" + (f" in the {where}" if where else "")
        rest = lead_and_rest(group[0])[1]
        result.append(Command(command_title(group[0]), f"{rest} ({key})" if rest else key, group[0]))
    return result


@dataclass(frozen=True)
class Offer:
    """A command the palette offers now: it runs ``command``'s action on ``node``, after showing ``panel`` if set."""

    command: Command
    node: DOMNode
    panel: str = ""  # the id of a panel not on show


def palette(app, screen: Screen) -> list[Offer]:
    """What the palette offers on ``screen``: the app's keys, then the screen's own.

    Over the panels, every panel's: the one on show first, then the others, which show their
    panel first (their ``esc`` is left out: it acts on what is on show). Only actions that
    ``check_action`` allows now are offered.
    """
    owners: list[tuple[DOMNode, list[Command], str]] = [(app, commands(own_bindings(type(app))), "")]
    if screen is app.screen_stack[0]:
        shown = app.current_panel()
        for panel in sorted(app.panels(), key=lambda p: p is not shown):
            bindings = [b for b in own_bindings(type(panel)) if panel is shown or b.key != "escape"]
            owners.append((panel, commands(bindings, f"{panel.TITLE} panel"), "" if panel is shown else panel.id))
    else:
        owners.append((screen, commands(own_bindings(type(screen))), ""))
    offered = []
    for node, node_commands, panel_id in owners:
        for command in node_commands:
            _, name, params = parse(command.binding.action)
            if node.check_action(name, params):
                offered.append(Offer(command, node, panel_id))
    return offered
