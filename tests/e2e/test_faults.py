"""Faults, caused for real: killed apps and owners, a full disk, a hung worker, crashes mid-write, damaged files."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import psutil
import pytest

from engine.backends.base import BackendError
from engine.backends.ort_genai import OrtGenaiBackend
from engine.convert.plan import check_plan, convert_job, plan_conversion, worker_spec
from engine.process import journal
from engine.process.conventions import PARTIAL_MARK
from engine.process.events import Stage
from engine.profiles.profile import ModelSection, Profile, save_profile
from engine.recipes.catalog import ConvertSettings
from tests.helpers import wait_until
from tests.tmux import TmuxApp, have_tmux


def processes_mentioning(text: str) -> list[psutil.Process]:
    found = []
    for proc in psutil.process_iter(["cmdline"]):
        if proc.pid != os.getpid() and text in " ".join(proc.info["cmdline"] or []):
            found.append(proc)
    return found


def partials(output: Path) -> list[Path]:
    return list(output.parent.glob(f".{output.name}{PARTIAL_MARK}*")) if output.parent.is_dir() else []


def tiny_profile(tiny_model: Path, tmp_path: Path, output: Path) -> Path:
    profile = Profile(
        name="tiny", model=ModelSection(path=str(tiny_model)), convert=ConvertSettings(precision="int4", output=str(output))
    )
    return save_profile(profile, tmp_path / "tiny.toml")


# the journal ------------------------------------------------------------------


# workers never outlive the process that started them ---------------------------


# the app killed during a conversion ---------------------------------------------


def olive_running(output: Path) -> bool:
    """Olive itself (not just the worker that starts it) is at work on ``output``."""
    return any(any(Path(arg).name == "olive" for arg in p.cmdline()[:2]) for p in processes_mentioning(str(output.parent)))


def _pane_pid(app: TmuxApp) -> int:
    out = subprocess.run(
        ["tmux", "display-message", "-p", "-t", app.session, "#{pane_pid}"], capture_output=True, text=True, check=True
    )
    return int(out.stdout.strip())


@pytest.mark.skipif(not have_tmux(), reason="tmux is not installed")
@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGKILL], ids=["SIGTERM", "SIGKILL"])
def test_app_killed_during_a_conversion_leaves_nothing_and_says_so_next_time(sig, tiny_model, home, tmp_path):
    output = tmp_path / "models" / "tiny-int4"
    profile = tiny_profile(tiny_model, tmp_path, output)
    env = {"SLMOPS_HOME": str(home), "TERM": "screen-256color"}
    with TmuxApp(["--profile", str(profile)], width=100, height=30, env=env) as app:
        app.wait_for("Environment")
        app.keys("2")
        app.wait_for("olive auto-opt")
        app.keys("c")
        app.wait_for("with Olive?")  # long jobs ask first
        app.keys("y")
        # mid-conversion: Olive runs, writing into its staging folder beside the output
        wait_until(lambda: partials(output) and olive_running(output), 60, "Olive did not start")
        time.sleep(2)
        os.kill(_pane_pid(app), sig)
        app.wait_gone(30)
    wait_until(lambda: not processes_mentioning(str(output.parent)), 20, "a worker or Olive outlived the app")
    wait_until(lambda: not partials(output), 10, "the staging folder was left behind")
    assert not output.exists()
    [entry] = journal.entries()  # the run is remembered, for the next start to report
    assert entry.kind == "conversion" and not entry.owner_alive()
    with TmuxApp(["--profile", str(profile)], width=100, height=30, env=env) as app:
        screen = app.wait_for("interrupted", timeout=30)
        assert "tiny" in screen
        app.keys("q")
        app.wait_gone()
    assert journal.entries() == []


def test_headless_convert_killed_is_reported_by_doctor(tiny_model, home, tmp_path):
    output = tmp_path / "models" / "tiny-int4"
    profile = tiny_profile(tiny_model, tmp_path, output)
    slmops = str(Path(sys.executable).with_name("slmops"))
    env = {**os.environ, "SLMOPS_HOME": str(home)}
    cli = subprocess.Popen(
        [slmops, "convert", "--profile", str(profile)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env
    )
    wait_until(lambda: olive_running(output), 60, "Olive did not start")
    cli.kill()
    cli.wait()
    wait_until(
        lambda: not processes_mentioning(str(output.parent)) and not partials(output), 20, "the conversion outlived its command"
    )
    done = subprocess.run([slmops, "doctor", "--json"], capture_output=True, text=True, env=env)
    [entry] = json.loads(done.stdout)["interrupted"]
    assert entry["kind"] == "conversion" and entry["output"] == str(output) and entry["log"].endswith(".log")
    assert not output.exists() and journal.entries() == []


# the disk fills up -----------------------------------------------------------------


@pytest.fixture
def small_disk(tmp_path):
    """A 140 MB filesystem of its own: enough for the pre-flight check, not for a conversion and a ballast."""
    mount = tmp_path / "small"
    mount.mkdir()
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=140m", "tmpfs", str(mount)], capture_output=True, text=True)
    if done.returncode != 0:
        pytest.skip(f"cannot mount a small filesystem here (needs root): {done.stderr.strip()}")
    yield mount
    subprocess.run(["umount", "-l", str(mount)], capture_output=True)


def fill(folder: Path, leave_bytes: int) -> None:
    free = shutil.disk_usage(folder).free
    with open(folder / "ballast", "wb") as fh:
        fh.truncate(0)
        fh.write(b"\0" * max(0, free - leave_bytes))


async def test_disk_filling_up_during_a_conversion_is_a_clear_error_and_leaves_nothing(small_disk, tiny_model, home):
    output = small_disk / "tiny-int4"
    profile = Profile(name="tiny", model=ModelSection(path=str(tiny_model)), convert=ConvertSettings(precision="int4"))
    plan = plan_conversion(profile, output=output)
    job = convert_job(worker_spec(plan, check_plan(plan)))
    async for event in job.events():
        if isinstance(event, Stage) and not (small_disk / "ballast").exists():
            fill(small_disk, 2 << 20)  # someone else fills the disk while Olive runs
    assert not job.finished.ok
    text = f"{job.error.message} {job.error.hint}"
    assert "ran out of space" in text and "No space left on device" in text, text
    assert sorted(p.name for p in small_disk.iterdir()) == ["ballast"]
    assert journal.entries() == []


# crashes while writing ---------------------------------------------------------------


# damaged files and vanished folders ----------------------------------------------------


async def test_a_corrupted_genai_config_is_a_clear_chat_error(demo_onnx_int4, tmp_path):
    folder = tmp_path / "damaged"
    shutil.copytree(demo_onnx_int4, folder)
    (folder / "genai_config.json").write_text('{"model": {"decoder": ')
    backend = OrtGenaiBackend(folder)
    with pytest.raises(BackendError) as info:
        await backend.start()
    await backend.close()
    assert "genai_config.json" in info.value.message and "JSON" in info.value.message
