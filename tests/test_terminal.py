"""The real app in a real terminal, as over SSH: 80x24, tmux, no colour, no mouse."""

from __future__ import annotations

import pytest

from tests.tmux import TmuxApp, have_tmux

pytestmark = pytest.mark.skipif(not have_tmux(), reason="tmux is not installed")


@pytest.mark.parametrize("env", [{"NO_COLOR": "1", "TERM": "screen"}, {"TERM": "screen-256color", "COLORTERM": ""}], ids=["no-color", "256-colours"])
def test_app_is_usable_in_80x24_tmux(env, home):
    with TmuxApp(["--profile", "demo"], env={**env, "SLMOPS_HOME": str(home)}) as app:
        screen = app.wait_for("Environment")
        for title in ("Convert", "Cache", "Chat"):
            assert title in screen
        app.keys("2")
        app.wait_for("Convert")
        app.keys("?")
        app.wait_for("Panels")
        app.keys("Escape")
        app.keys("q")
        app.wait_gone()
