"""Faults, caused for real: killed apps and owners, a full disk, a hung worker, crashes mid-write, damaged files."""

from __future__ import annotations

import errno
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from engine.backends.base import BackendError
from engine.backends.models import chat_models
from engine.backends.ort_genai import OrtGenaiBackend
from engine.foundry import cache as foundry_cache
from engine.foundry import deploy
from engine.process import journal
from engine.process.jobs import Job
from engine.profiles.profile import Profile, ProfileError, load_profile, save_profile
from tests.helpers import gone, wait_until

ROOT = Path(__file__).resolve().parents[2]
SCRIPTED = "tests.workers.scripted"


# the journal ------------------------------------------------------------------


def test_journal_cleans_up_after_dead_owners_only(home, tmp_path):
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    stale = tmp_path / ".out.partial-abc"
    stale.mkdir()
    (stale / "model.onnx").write_bytes(b"half")
    journal.begin(
        journal.Entry("conversion", "of gone (int4)", str(tmp_path / "out"), [str(tmp_path / ".out.partial-*")], pid=dead.pid)
    )
    mine = journal.begin(
        journal.Entry("conversion", "of mine (int4)", str(tmp_path / "mine"), [str(tmp_path / ".mine.partial-*")])
    )
    (tmp_path / ".mine.partial-x").mkdir()

    interrupted = journal.recover()

    assert [entry.title for entry in interrupted] == ["of gone (int4)"]
    assert "of gone (int4)" in interrupted[0].message() and "interrupted" in interrupted[0].message()
    assert not stale.exists()
    assert (tmp_path / ".mine.partial-x").exists(), "a live owner's run was touched"
    assert [entry.title for entry in journal.entries()] == ["of mine (int4)"]
    journal.end(mine)
    assert journal.entries() == []


# workers never outlive the process that started them ---------------------------

OWNER = """
import asyncio

from engine.process.jobs import Job

async def main():
    job = Job("tests.workers.scripted", {"actions": [["spawn", 0], ["sleep", 120]]})
    async for event in job.events():
        if getattr(event, "line", "").startswith("child "):
            print(job.pid, event.line.split()[1], flush=True)

asyncio.run(main())
"""


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGKILL], ids=["SIGTERM", "SIGKILL"])
def test_workers_and_their_children_end_with_their_owner(sig):
    owner = subprocess.Popen(
        [sys.executable, "-c", OWNER], cwd=ROOT, stdout=subprocess.PIPE, text=True, env={**os.environ, "PYTHONPATH": str(ROOT)}
    )
    worker_pid, child_pid = map(int, owner.stdout.readline().split())
    assert not gone(worker_pid) and not gone(child_pid)
    owner.send_signal(sig)
    owner.wait(10)
    wait_until(lambda: gone(worker_pid) and gone(child_pid), 10, "the worker and the process it started did not end")


async def test_a_hung_worker_times_out_and_the_next_job_runs():
    hung = Job(SCRIPTED, {"actions": [["spawn", 0], ["sleep", 120]]}, idle_timeout_s=1.5, grace_s=1)
    events = await hung.run()
    child = next(int(e.line.split()[1]) for e in events if getattr(e, "line", "").startswith("child "))
    assert hung.finished.timed_out and not hung.finished.ok
    assert "stopped answering" in hung.error.message and "time limit" in hung.error.hint
    wait_until(lambda: gone(child), 5, "the hung worker's child survived")
    after = Job(SCRIPTED, {"actions": [["stage", "again"]]})
    await after.run()
    assert after.finished.ok and after.result == {"done": True}


# the app killed during a conversion ---------------------------------------------


# the disk fills up -----------------------------------------------------------------


# crashes while writing ---------------------------------------------------------------


def test_a_failed_profile_write_keeps_the_old_file(tmp_path, monkeypatch):
    path = save_profile(Profile(name="old"), tmp_path / "p.toml")
    before = path.read_bytes()

    def crash(*args):
        raise OSError(errno.EIO, "power cut")

    monkeypatch.setattr(os, "replace", crash)
    with pytest.raises(OSError):
        save_profile(Profile(name="new"), path, overwrite=True)
    assert path.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["p.toml"]


def test_an_atomic_write_keeps_the_mode_of_the_file_it_replaces(tmp_path):
    from engine.base.atomic import write_text_atomic

    kept = tmp_path / "kept.json"
    kept.write_text("{}")
    kept.chmod(0o640)
    write_text_atomic(kept, "[]")
    assert kept.read_text() == "[]" and kept.stat().st_mode & 0o777 == 0o640
    new = write_text_atomic(tmp_path / "new.json", "{}")
    umask = os.umask(0)
    os.umask(umask)
    assert new.stat().st_mode & 0o777 == 0o666 & ~umask  # as open() would make it, not mkstemp's 0600


WRITER = """
import sys
from engine.base.atomic import write_text_atomic
n = 0
while True:
    n += 1
    write_text_atomic(sys.argv[1], f"version = {n}\\n" + "padding = '" + "x" * 200000 + "'\\n")
    if n == 3:
        print("writing", flush=True)
"""


def test_a_process_killed_while_writing_leaves_a_whole_file(tmp_path):
    import tomllib

    target = tmp_path / "profile.toml"
    writer = subprocess.Popen(
        [sys.executable, "-c", WRITER, str(target)],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    writer.stdout.readline()
    time.sleep(0.3)
    writer.kill()
    writer.wait()
    assert tomllib.loads(target.read_text())["version"] >= 3  # the old or the new file, never half of one


@pytest.fixture
def model_folder(tmp_path: Path) -> Path:
    """A small model-shaped folder (deploy's file side needs no real weights)."""
    folder = tmp_path / "converted"
    folder.mkdir()
    genai = {"model": {"context_length": 2048, "decoder": {"filename": "model.onnx"}}, "search": {"max_length": 2048}}
    (folder / "genai_config.json").write_text(json.dumps(genai))
    (folder / "model.onnx").write_bytes(b"onnx" * 1000)
    shutil.copy(
        Path(__file__).resolve().parents[1] / "data" / "templates" / "chatml--SmolLM2-135M-Instruct.jinja",
        folder / "chat_template.jinja",
    )
    return folder


def deploy_profile() -> Profile:
    profile = Profile(name="p")
    profile.deploy.name = "m"
    return profile


def test_a_deployment_failing_midway_leaves_no_half_model(model_folder, home, tmp_path, monkeypatch):
    cache = tmp_path / "cache"
    plan = deploy.plan_deploy(deploy_profile(), model_folder, cache)
    copies = []

    def copy_then_fill(src, dst):
        if copies:
            raise OSError(errno.ENOSPC, "No space left on device", str(dst))
        copies.append(dst)
        return shutil.copyfile(src, dst)

    monkeypatch.setattr(deploy.shutil, "copy2", copy_then_fill)
    with pytest.raises(OSError, match="No space"):
        deploy.execute(plan)
    assert [p.name for p in (cache / "custom").iterdir()] == []
    assert journal.entries() == []


DEPLOYER = """
import sys
from pathlib import Path
from engine.foundry.deploy import execute, plan_deploy
from engine.profiles.profile import Profile
profile = Profile(name="p")
profile.deploy.name = "m"
print(execute(plan_deploy(profile, Path(sys.argv[1]), Path(sys.argv[2]))).slot.model_id)
"""


def test_two_processes_deploying_into_one_cache_corrupt_nothing(model_folder, home, tmp_path):
    cache = tmp_path / "cache"
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", DEPLOYER, str(model_folder), str(cache)], cwd=ROOT, stdout=subprocess.PIPE, text=True, env=env
        )
        for _ in range(2)
    ]
    ids = sorted(proc.communicate(timeout=60)[0].strip() for proc in procs)
    assert ids == ["m:1", "m:2"]
    entries = foundry_cache.scan(cache)
    assert sorted(e.path.name for e in entries) == ["m", "m-v2"]
    assert all(e.valid for e in entries), [e.problems for e in entries]
    assert not [p for p in (cache / "custom").iterdir() if p.name.startswith(".")]


# damaged files and vanished folders ----------------------------------------------------


def test_a_half_written_profile_is_a_clear_error(tmp_path):
    good = save_profile(Profile(name="cut"), tmp_path / "cut.toml").read_text()
    broken = tmp_path / "cut.toml"
    broken.write_text(good[: good.index("[convert]") + 5])
    with pytest.raises(ProfileError, match="not valid TOML") as info:
        load_profile(broken)
    assert str(broken) in str(info.value)
    done = subprocess.run(
        [str(Path(sys.executable).with_name("slmops")), "convert", "--profile", str(broken), "--dry-run"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    assert done.returncode != 0
    assert "not valid TOML" in done.stdout + done.stderr and "Traceback" not in done.stderr


def test_a_corrupted_genai_config_is_named_in_the_cache_listing(model_folder, tmp_path):
    cache = tmp_path / "cache"
    plan = deploy.execute(deploy.plan_deploy(deploy_profile(), model_folder, cache))
    (plan.slot.folder / "genai_config.json").write_text('{"model": {"decoder": ')
    [entry] = foundry_cache.scan(cache)
    assert not entry.valid
    assert any("genai_config.json is unreadable" in problem for problem in entry.problems)


async def test_a_model_folder_deleted_while_listed(model_folder, home, tmp_path, monkeypatch):
    cache = tmp_path / "cache"
    monkeypatch.setattr("engine.base.locations.foundry_cache_dir", lambda: cache)
    plan = deploy.execute(deploy.plan_deploy(deploy_profile(), model_folder, cache))
    profile = Profile(name="p")
    assert [folder for _, folder in chat_models(profile)] == [plan.slot.folder.resolve()]
    shutil.rmtree(plan.slot.folder)  # deleted by hand while the panels list it
    assert chat_models(profile) == []
    assert foundry_cache.scan(cache) == []
    backend = OrtGenaiBackend(plan.slot.folder)
    with pytest.raises(BackendError) as info:
        await backend.start()
    await backend.close()
    assert "no genai_config.json" in info.value.message
