"""The command line: which profile a command uses, how errors end a command, the version it reports."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
from importlib import metadata
from pathlib import Path

import pytest

import engine.profiles.profile as profile_module
from engine.cli import build_parser, main
from engine.cli.interrupts import on_interrupt
from engine.cli.output import READER_GONE

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


def test_a_reader_that_stops_early_ends_the_command_quietly(tmp_path: Path):
    """Fails on the old command line: `slmops profiles demo | head -5` ended in a BrokenPipeError traceback."""
    read, write = os.pipe()
    os.close(read)  # the reader is gone before a line is written
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[2])}
    done = subprocess.run(
        [sys.executable, "-m", "tui.main", "profiles", "demo"], stdout=write, stderr=subprocess.PIPE, env=env, timeout=60
    )
    os.close(write)
    assert done.returncode == READER_GONE and b"Traceback" not in done.stderr, done.stderr.decode()


def test_an_unknown_profile_says_how_to_find_one_not_a_setting_named_above(capsys):
    assert main(["profiles", "nonexist"]) == 2
    err = capsys.readouterr().err
    assert "no profile named 'nonexist'" in err and "named above" not in err and "slmops profiles lists them" in err


def test_a_dry_run_prints_its_plan_on_stdout_and_as_json(demo_model: Path, home: Path, capsys):
    """Fails on the old convert: the plan went to stderr, and --json printed nothing."""
    assert main(["convert", "--dry-run"]) == 0
    out, _ = capsys.readouterr()
    assert "recipe " in out and "\n$ olive " in out
    assert main(["convert", "--dry-run", "--json"]) == 0
    said = json.loads(capsys.readouterr().out)
    assert said["ok"] and said["dry_run"] and said["command"].startswith("olive ") and said["plan"]


def test_the_command_line_names_its_own_commands_not_the_apps_keys(demo_model: Path, home: Path, capsys):
    assert main(["convert", "--method", "config", "--dry-run"]) == 0
    note = next(line for line in capsys.readouterr().out.splitlines() if "workflow is generated" in line)
    assert "slmops convert --write-config" in note and "(w," not in note, note


@pytest.mark.parametrize("piped, asked, temperature", [(True, None, 0.0), (True, 0.5, 0.5), (False, None, 0.7)])
def test_questions_piped_into_chat_are_answered_greedy(piped, asked, temperature, monkeypatch):
    """Fails on the old chat, which answered questions piped in at the profile's temperature 0.7."""
    from engine.cli.chat import conversation_from
    from engine.cli.profile_option import chosen

    monkeypatch.setattr(sys.stdin, "isatty", lambda: not piped)
    args = build_parser().parse_args(["chat", *(["--temperature", str(asked)] if asked is not None else [])])
    settings = conversation_from(chosen(args), args).settings
    assert settings.temperature == temperature
    if piped and asked is None:
        assert (settings.top_p, settings.repetition_penalty) == (1.0, 1.0)  # as measurements ask


def test_cache_lists_the_profiles_cache_as_the_cache_panel_does(converted: Path, tmp_path: Path, home: Path, capsys):
    """Fails on the old `slmops cache`, which took no profile and looked only in the foundry CLI's cache or slmops' own."""
    from engine.foundry.deploy import execute, plan_deploy
    from engine.profiles.profile import Profile, save_profile

    profile = Profile(name="p")
    profile.deploy.name, profile.deploy.cache_dir = "m", str(tmp_path / "cache")
    execute(plan_deploy(profile, converted, tmp_path / "cache"))
    path = save_profile(profile, tmp_path / "p.toml")
    for argv in (["cache", "ls", "-p", str(path), "--json"], ["-p", str(path), "cache", "ls", "--json"]):
        assert main(argv) == 0
        listed = json.loads(capsys.readouterr().out)
        assert listed["cache"]["source"] == "profile" and [m["name"] for m in listed["models"]] == ["m"]


def test_every_command_but_chat_takes_json_from_one_place():
    commands = build_parser()._subparsers._group_actions[0].choices
    takes = {name for name, parser in commands.items() if "--json" in parser.format_help()}
    takes |= {f"cache {a}" for a in commands["cache"]._subparsers._group_actions[0].choices if a}
    assert set(commands) - takes == {"chat", "cache"}  # cache: each of its actions
    assert {"cache ls", "cache ask", "cache rm"} <= takes
