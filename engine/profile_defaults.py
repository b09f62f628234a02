"""Where a new profile's conversion settings come from: one function, so that a better source can replace it.

For now the guide's advice: ``olive auto-opt`` int4 on the CPU ("start with
INT4"). A recipe measured on this machine by the tuner can later take its place here.
"""

from __future__ import annotations

from engine.profiles import ConvertSection


def default_convert_section(model_type: str, precision: str = "int4") -> tuple[ConvertSection, str]:
    """The conversion settings a new profile of a ``model_type`` model starts from, and why."""
    section = ConvertSection(method="auto-opt", precision=precision)
    if precision == "int8":
        return section, "int8 on the CPU goes through the rtn-int8 workflow (auto-opt has no int8 route that works there)"
    return (
        section,
        f"the guide's one command (olive auto-opt --use_model_builder --precision {precision}) for a {model_type or 'new'} model",
    )
