"""The command line: which profile a command uses, how errors end a command, the version it reports."""

from __future__ import annotations

import asyncio
import json
import os
import signal
from importlib import metadata
from pathlib import Path

import pytest

import engine.profiles.profile as profile_module
from engine.cli import main
from engine.cli.interrupts import on_interrupt

# Each command that takes a profile, with the arguments it needs to start.
PROFILE_COMMANDS = [["convert", "--dry-run"], ["deploy", "--dry-run"], ["run"], ["bench"], ["chat"], ["serve"], ["tune"]]


@pytest.fixture
def asked(monkeypatch: pytest.MonkeyPatch) -> list[Path]:
    """The profile files a command tries to load; the first load stops it with a profile error."""
    seen: list[Path] = []

    def load(path):
        seen.append(Path(path))
        raise profile_module.ProfileError("stopped here by the test")

    monkeypatch.setattr(profile_module, "load_profile", load)
    return seen


@pytest.mark.parametrize("command", PROFILE_COMMANDS, ids=lambda c: c[0])
def test_the_top_level_profile_is_the_one_the_command_uses(command, asked, tmp_path: Path):
    chosen = tmp_path / "chosen.toml"
    assert main(["-p", str(chosen), *command]) == 2
    assert asked == [chosen]


@pytest.mark.parametrize("command", PROFILE_COMMANDS, ids=lambda c: c[0])
def test_the_commands_own_profile_wins_when_given(command, asked, tmp_path: Path):
    assert main(["-p", str(tmp_path / "top.toml"), command[0], "--profile", str(tmp_path / "own.toml"), *command[1:]]) == 2
    assert asked == [tmp_path / "own.toml"]


def test_without_a_profile_a_command_uses_the_demo(asked):
    assert main(["convert", "--dry-run"]) == 2
    assert asked[-1].name == "demo.toml"


def test_an_engine_error_is_said_once_with_its_hint_and_as_json_when_asked(tmp_path: Path, capsys):
    assert main(["bench", "--load", str(tmp_path / "nowhere"), "--json"]) == 1
    out, err = capsys.readouterr()
    said = json.loads(out)
    assert said["ok"] is False and "not a benchmark run" in said["error"] and "runs/" in said["hint"]
    assert err.startswith("slmops bench: ") and "what to do:" in err


def test_a_profile_error_ends_the_command_with_status_2(tmp_path: Path, capsys):
    broken = tmp_path / "broken.toml"
    broken.write_text("name = [")
    assert main(["convert", "--profile", str(broken), "--json"]) == 2
    assert "is not valid TOML" in json.loads(capsys.readouterr().out)["error"]


def test_the_version_is_the_installed_packages(capsys):
    with pytest.raises(SystemExit):
        main(["--version"])
    assert capsys.readouterr().out.strip() == f"slmops {metadata.version('slmops')}"


class _Pipeline:
    """Stands in for engine.pipeline.Pipeline in the CLI's Ctrl-C wiring: its cancel fails."""

    def __init__(self) -> None:
        self.cancelled = asyncio.Event()

    async def events(self):
        await self.cancelled.wait()
        return
        yield

    async def cancel(self) -> None:
        self.cancelled.set()
        raise RuntimeError("cancelling failed")


async def test_a_failure_while_stopping_on_ctrl_c_is_raised_not_lost():
    from engine.cli.run import _run

    pipeline = _Pipeline()
    asyncio.get_running_loop().call_later(0.2, os.kill, os.getpid(), signal.SIGINT)
    with pytest.raises(RuntimeError, match="cancelling failed"):
        await asyncio.wait_for(_run(pipeline, verbose=False), 10)


async def test_ctrl_c_runs_the_action_and_waits_for_it():
    done = []

    async def stop() -> None:
        await asyncio.sleep(0.1)
        done.append("stopped")

    async with on_interrupt(stop):
        os.kill(os.getpid(), signal.SIGINT)
        await asyncio.sleep(0.05)
    assert done == ["stopped"]
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler  # Python's own handling again
