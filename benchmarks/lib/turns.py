"""Sides taken in turn: every side once per round, the order rotating each round (A B C, B C A, ...), so that a
change in the machine's load falls on every side alike; each run recorded with its round, position and side."""

from __future__ import annotations

import sys
from collections.abc import Callable
from typing import Any

from engine.bench.runner import rotation


def take_turns(
    doc: dict[str, Any],
    sides: list[str],
    rounds: int,
    run: Callable[[str], dict[str, Any]],
    failures: tuple[type[BaseException], ...],
) -> None:
    """``run(side)`` for every side of every round, into ``doc["runs"]``; a run raising one of ``failures`` is
    recorded with its error (and in ``doc["errors"]``), and the others go on."""
    for round_ in range(rounds):
        for position, i in enumerate(rotation(len(sides), round_)):
            try:
                figures = {**run(sides[i]), "error": None}
            except failures as exc:
                message = getattr(exc, "message", None) or str(exc)
                figures = {"error": message[-500:]}
                doc["errors"].append(f"round {round_ + 1}, {sides[i]}: {figures['error']}")
            doc["runs"].append({"round": round_, "position": position, "side": sides[i], **figures})
        print(f"round {round_ + 1}/{rounds} done", file=sys.stderr, flush=True)
