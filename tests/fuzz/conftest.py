"""The fuzz tier: generated inputs for every parser of outside input, where a result or SlmopsError is all that may
come out. Seeds are fixed (derandomized), so a run is repeatable; each target counts the inputs it tried and how
they ended, printed at the end of the run and, with SLMOPS_FUZZ_RESULTS=FILE, written there as JSON (the
README's reliability section is rendered from that file by benchmarks/fuzz.py)."""

from __future__ import annotations

import json
import os
import resource
from collections import Counter
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, settings

from engine.base.errors import SlmopsError

# Inputs per target: parsers of bytes and text take 2,000; targets that lay out folders or open sockets per input
# take half as many, so the whole tier stays near a minute of CPU. SLMOPS_FUZZ_EXAMPLES scales both.
EXAMPLES = int(os.environ.get("SLMOPS_FUZZ_EXAMPLES", "2000"))
settings.register_profile(
    "slmops-fuzz",
    max_examples=EXAMPLES,
    derandomize=True,  # the same inputs every run: a failure found once is found again
    database=None,
    deadline=timedelta(seconds=2),  # one input that takes longer is a failure: parsing must be bounded in time
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.filter_too_much],
    print_blob=True,
)
FUZZ = settings.get_profile("slmops-fuzz")
FUZZ_IO = settings(FUZZ, max_examples=max(1, EXAMPLES // 2))
MEMORY_GROWTH = 256 << 20  # what one target may add to the process's peak memory

TALLY: dict[str, Counter] = {}
DESCRIPTIONS: dict[str, str] = {}


def target(name: str, description: str) -> Callable[[Callable[..., Any]], Callable[..., str]]:
    """Count each call of the decorated function as one input of ``name``: a result, or an SlmopsError (which must
    carry a hint), or what the function itself calls an error by returning "error" (a request refused with a
    4xx); anything else escapes and fails the test."""
    DESCRIPTIONS[name] = description

    def wrap(function: Callable[..., Any]) -> Callable[..., str]:
        def run(*args: Any, **kwargs: Any) -> str:
            tally = TALLY.setdefault(name, Counter())
            tally["inputs"] += 1
            try:
                said = function(*args, **kwargs)
            except SlmopsError as exc:
                assert exc.message and exc.hint, f"{type(exc).__name__} without a message or a hint: {exc!r}"
                tally["errors"] += 1
                return "error"
            if said == "error":
                tally["errors"] += 1
                return "error"
            tally["results"] += 1
            return "result"

        return run

    return wrap


def peak_rss() -> int:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


def pytest_terminal_summary(terminalreporter, exitstatus, config) -> None:
    if not TALLY:
        return
    terminalreporter.section("fuzz: inputs tried per target (a result, or an error with a hint)")
    for name, tally in TALLY.items():
        terminalreporter.write_line(
            f"{name:<22} {tally['inputs']:>7,} inputs: {tally['results']:>6,} results, {tally['errors']:>6,} errors"
        )
    out = os.environ.get("SLMOPS_FUZZ_RESULTS")
    if out:
        data = {
            "settings": {
                "max_examples": EXAMPLES,
                "max_examples_io": FUZZ_IO.max_examples,
                "derandomize": True,
                "deadline_s": FUZZ.deadline.total_seconds(),
                "memory_growth_bytes": MEMORY_GROWTH,
            },
            "targets": [{"target": n, "description": DESCRIPTIONS[n], **TALLY[n]} for n in TALLY],
            "exitstatus": int(exitstatus),
        }
        Path(out).write_text(json.dumps(data, indent=1) + "\n", encoding="utf-8")
