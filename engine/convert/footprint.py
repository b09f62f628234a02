"""What a conversion needs, before it starts: peak memory and disk, from the factors the benchmark measured.

``benchmarks/convert_memory.py`` runs each way of converting (a *side*) on
models of several sizes, samples the whole process tree's memory and the
bytes on disk, and keeps every run in ``benchmarks/results``; ``benchmarks/gguf.py``
records the peak of each Gemma 3 conversion too. ``convert_memory --factors``
fits, per side, bytes = per_param x parameters + base through every committed
peak (least squares for the slope; the base, a fixed overhead, raised so that
the line lies on or above every measured peak, and never under the smallest
overhead a side measured on two model sizes shows: every conversion runs the
same worker and verification) and writes them
into :data:`FACTORS_FILE`, which this module reads. An estimate adds the file's
stated margin on top, and says when the model is outside the sizes measured
(an extrapolation). No figure is typed here: a side nobody measured has no
estimate. ``tests/unit/test_convert_memory.py`` checks that the file is the fit
of the committed results and that no committed peak exceeds its estimate.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from engine.base.choices import Method, Precision, Runner
from engine.base.units import human_bytes
from engine.recipes.catalog import Recipe

FACTORS_FILE = Path(__file__).with_name("footprint_factors.json")
# The ways of converting whose footprints differ; every recipe and runner falls in one (see side_of).
SIDES = {
    "stream": "the streaming converter, int4",
    "stream-int8": "the streaming converter, int8",
    "stream-fp32": "the streaming converter, fp32",
    "olive": "an Olive workflow (ModelBuilder fp32, then a quantization pass)",
    "guide": "the model builder's own int4 in Olive (the guide's olive auto-opt)",
}


@dataclass(frozen=True)
class Fit:
    """bytes = per_param x parameters + base."""

    per_param: float
    base: float

    def at(self, parameters: int) -> int:
        return int(self.per_param * parameters + self.base)


@dataclass(frozen=True)
class SideFactors:
    ram: Fit
    disk: Fit
    basis: str  # where the fit comes from (models, results files, dates)
    measured: tuple[int, int] = (0, 0)  # the smallest and largest parameter counts measured
    margin: float = 0.0  # the share added on top of the fitted line

    def ram_at(self, parameters: int) -> int:
        return int(self.ram.at(parameters) * (1 + self.margin))

    def disk_at(self, parameters: int) -> int:
        return int(self.disk.at(parameters) * (1 + self.margin))


@dataclass(frozen=True)
class Footprint:
    """One conversion's estimated peak memory (the whole process tree, verification included) and disk."""

    side: str
    ram_bytes: int
    disk_bytes: int
    basis: str
    extrapolated: bool = False  # the model is outside the parameter counts measured

    def describe(self) -> str:
        return f"about {human_bytes(self.ram_bytes)} of memory and {human_bytes(self.disk_bytes)} of disk at its peak"


def side_of(recipe: Recipe, runner: str) -> str:
    """Which measured side a recipe run by ``runner`` (olive | stream) resembles."""
    if recipe.method == Method.AUTO_OPT or recipe.builder_precision == Precision.INT4:
        return "guide"  # the builder quantizes in memory after building the whole fp32 graph (its to_int4)
    if runner == Runner.STREAM:
        return {"int8": "stream-int8", "fp32": "stream-fp32"}.get(recipe.precision, "stream")
    return "olive"


def load_factors(path: Path | None = None) -> dict[str, SideFactors]:
    """The fitted factors per side (from :data:`FACTORS_FILE`); empty when the file is missing or unreadable (then
    nothing is estimated)."""
    try:
        data: dict[str, Any] = json.loads((path or FACTORS_FILE).read_text(encoding="utf-8"))
        margin = float(data.get("margin", 0.0))
        return {
            side: SideFactors(
                Fit(**entry["ram"]),
                Fit(**entry["disk"]),
                entry.get("basis", ""),
                tuple(entry.get("measured_parameters") or (0, 0)),  # type: ignore[arg-type]
                margin,
            )
            for side, entry in data["sides"].items()
        }
    except (OSError, ValueError, KeyError, TypeError):
        return {}


def estimate(recipe: Recipe, runner: str, parameters: int, factors: dict[str, SideFactors] | None = None) -> Footprint | None:
    """The footprint of converting a model of ``parameters`` with ``recipe`` by ``runner``; None when not measured."""
    factors = load_factors() if factors is None else factors
    side = side_of(recipe, runner)
    found = factors.get(side)
    if found is None or parameters <= 0:
        return None
    low, high = found.measured
    outside = not low <= parameters <= high
    basis = f"{SIDES[side]}: {found.basis}, plus a {found.margin:.0%} margin"
    if outside:
        basis += (
            f"; extrapolated: this model has {parameters / 1e9:.2f}B parameters, "
            f"the measurements {low / 1e9:.2f}B to {high / 1e9:.2f}B"
        )
    return Footprint(side, found.ram_at(parameters), found.disk_at(parameters), basis, outside)


def estimate_gguf(
    recipe: Recipe, parameters: int, held_values: int, factors: dict[str, SideFactors] | None = None
) -> Footprint | None:
    """The footprint of streaming a GGUF: the streaming converter's measured side at the model's size, plus the
    float32 values it holds beyond a folder's memory-mapped weights (``held_values``: one decoder layer and the
    largest tensor, dequantized); None when that side was not measured."""
    found = estimate(recipe, Runner.STREAM, parameters, factors)
    if found is None:
        return None
    extra = 4 * held_values
    return Footprint(
        found.side,
        found.ram_bytes + extra,
        found.disk_bytes,
        f"{found.basis}; plus {human_bytes(extra)} of float32 values read from the GGUF (a layer and its largest tensor)",
        found.extrapolated,
    )
