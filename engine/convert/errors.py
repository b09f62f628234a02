"""The one error type of conversion planning: what happened, and what to do."""

from __future__ import annotations


class ConvertError(Exception):
    def __init__(self, message: str, hint: str = "") -> None:
        super().__init__(message)
        self.message, self.hint = message, hint
