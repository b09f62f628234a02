"""The one error type of conversion planning: what happened, and what to do."""

from __future__ import annotations

from engine.base.errors import SlmopsError


class ConvertError(SlmopsError):
    pass
