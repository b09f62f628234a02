"""The error of the source model: not a model folder, or not one the installed toolchain converts."""

from __future__ import annotations

from engine.base.errors import SlmopsError


class ModelError(SlmopsError):
    pass
