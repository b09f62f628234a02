"""The named choices of a conversion: precision, method and runner, each with its one default.

They are string enums, so a profile keeps them as the plain TOML strings it
always had, JSON specs and reports carry the same strings, and a member
compares equal to its string.
"""

from __future__ import annotations

import sys
from enum import Enum

if sys.version_info >= (3, 11):
    from enum import StrEnum
else:  # pragma: no cover

    class StrEnum(str, Enum):
        """``enum.StrEnum`` of Python 3.11: members are their values, also in ``str()`` and f-strings."""

        def __str__(self) -> str:
            return str(self.value)


class Precision(StrEnum):
    INT4 = "int4"
    INT8 = "int8"
    FP32 = "fp32"
    FP16 = "fp16"  # GPU providers only


DEFAULT_PRECISION = Precision.INT4  # every machine runs it, at an eighth of the fp32 size
QUANTIZED = (Precision.INT4, Precision.INT8)


class Method(StrEnum):
    AUTO_OPT = "auto-opt"  # the guide's single command line: olive auto-opt
    CONFIG = "config"  # an Olive workflow: olive run --config


DEFAULT_METHOD = Method.AUTO_OPT


class Runner(StrEnum):
    AUTO = "auto"  # a profile's choice: the streaming converter where validated, else Olive
    OLIVE = "olive"
    STREAM = "stream"  # the streaming converter (engine.workers.streaming)


DEFAULT_RUNNER = Runner.AUTO
PROFILE_RUNNERS = (Runner.AUTO, Runner.OLIVE)  # what a profile may ask for; the plan picks OLIVE or STREAM
