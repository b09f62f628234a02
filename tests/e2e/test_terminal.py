"""The real app in a real terminal, as over SSH: 80x24, tmux, no colour, no mouse."""

from __future__ import annotations

import subprocess
import time

import psutil
import pytest

from tests.tmux import TmuxApp, have_tmux

pytestmark = pytest.mark.skipif(not have_tmux(), reason="tmux is not installed")


@pytest.mark.parametrize(
    "env", [{"NO_COLOR": "1", "TERM": "screen"}, {"TERM": "screen-256color", "COLORTERM": ""}], ids=["no-color", "256-colours"]
)
def test_app_is_usable_in_80x24_tmux(env, home):
    with TmuxApp(["--profile", "demo"], env={**env, "SLMOPS_HOME": str(home)}) as app:
        screen = app.wait_for("Environment")
        for title in ("Convert", "Cache", "Chat"):
            assert title in screen
        app.keys("2")
        app.wait_for("Convert")
        app.keys("?")
        app.wait_for("Take a fine-tuned")
        app.keys("Escape")
        app.keys("q")
        app.wait_gone()


def test_typing_a_sentence_in_chat_fires_no_key(home):
    """Press 4 and type: every letter goes into the message box; no screen opens, no job starts."""
    sentence = "Write a quick haiku about tigers"  # t tuner, r run, g pipeline, a apply, k quick, q quit
    with TmuxApp(["--profile", "demo"], env={"NO_COLOR": "1", "TERM": "screen", "SLMOPS_HOME": str(home)}) as app:
        app.wait_for("r re-runs", timeout=60)  # the environment checks have ended: their worker is gone
        pid = int(
            subprocess.run(
                ["tmux", "display-message", "-p", "-t", app.session, "#{pane_pid}"], capture_output=True, text=True, check=True
            ).stdout
        )
        app.keys("4")
        app.wait_for("Message (Enter sends")
        for char in sentence:
            app.keys("Space" if char == " " else char)
        app.wait_for(sentence)
        time.sleep(1.0)  # anything a key started would show by now
        screen = app.screen()
        assert sentence in screen
        for opened in ("Recipe tuner", "Run the whole pipeline", "Pipeline:", "Pick a profile", "Quick/full"):
            assert opened not in screen, f"{opened!r} is on the screen:\n{screen}"
        assert "running " not in screen  # the line of running jobs is hidden
        assert app.alive() and psutil.Process(pid).children(recursive=True) == []
        app.keys("Escape")
        app.keys("q")
        app.wait_gone()


def test_a_conversion_of_the_demo_model_over_a_plain_terminal(demo_model, tmp_path, home):
    """What a user over SSH does: open the app, go to Convert, convert, read the result."""
    from engine.profiles.profile import profile_from_dict, save_profile

    output = tmp_path / "demo-int4"
    profile = save_profile(
        profile_from_dict(
            {
                "name": "ssh",
                "model": {"path": str(demo_model)},
                "convert": {"output": str(output)},
            }
        ),
        tmp_path / "ssh.toml",
    )
    env = {"NO_COLOR": "1", "TERM": "screen", "SLMOPS_HOME": str(home)}
    with TmuxApp(["--profile", str(profile)], env=env) as app:
        app.wait_for("Environment")
        app.keys("2")
        app.wait_for("load model")
        app.keys("c")
        app.wait_for("with Olive?")  # the confirmation names what will run
        app.keys("y")
        screen = app.wait_for("peak memory", timeout=600)
        assert "the guide's" in screen or "of the source's" in screen
        assert (output / "genai_config.json").is_file()
        app.keys("q")
        app.wait_gone()
