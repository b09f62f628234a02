"""The one error type the user sees: what happened, and what to do about it.

Every module's own error (a bad profile, a failed deploy, a lost worker...)
derives from :class:`SlmopsError`, so front ends catch one type and always
have a hint to show.
"""

from __future__ import annotations


class SlmopsError(Exception):
    def __init__(self, message: str, hint: str = "") -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint
