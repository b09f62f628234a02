"""Helpers the tests share: waiting on the app or on a condition, and whether a process is gone."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from pathlib import Path

import psutil
from textual.pilot import Pilot

from engine.process.jobs import REGISTRY, Job
from engine.profiles.profile import ModelSection, Profile
from engine.recipes.catalog import ConvertSettings


async def wait_for(pilot: Pilot, condition: Callable[[], object], timeout: float = 120.0) -> None:
    """Let the app run until ``condition()`` holds; fail after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out waiting for the app"
        await pilot.pause(0.1)


async def quit_as_a_user(pilot: Pilot) -> None:
    """Quit as a user does: the quit action, answered yes when it asks because work still runs (a loaded model)."""
    from tui.app import jobs_to_lose
    from tui.screens.confirm import ConfirmScreen

    asks = bool(jobs_to_lose())
    await pilot.app.action_quit()
    if asks:
        await wait_for(pilot, lambda: isinstance(pilot.app.screen, ConfirmScreen), 10)
        await pilot.press("y")


def wait_until(condition: Callable[[], object], timeout: float, what: str) -> None:
    """Poll ``condition()`` outside an event loop; fail with ``what`` after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.2)
    raise AssertionError(f"{what} within {timeout}s")


def gone(pid: int) -> bool:
    """The process has ended (a zombie not yet reaped counts as ended)."""
    try:
        return psutil.Process(pid).status() == psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return True


def profile_for(model: Path, output: Path, **convert) -> Profile:
    return Profile(name="t", model=ModelSection(path=str(model)), convert=ConvertSettings(output=str(output), **convert))


class Watch:
    """Every job that runs while it watches, and the processes each had started when last looked at."""

    def __init__(self) -> None:
        self.jobs: set[Job] = set()
        self.pids: set[int] = set()
        self._unsubscribe = REGISTRY.subscribe(self._seen)

    def _seen(self) -> None:
        self.jobs.update(REGISTRY.running())
        self.look()

    def look(self) -> None:
        for job in REGISTRY.running():
            if job.pid:
                self.pids.add(job.pid)
                try:
                    self.pids.update(p.pid for p in psutil.Process(job.pid).children(recursive=True))
                except psutil.Error:
                    pass

    def running(self, condition: Callable[[Job], bool]) -> bool:
        self.look()
        try:
            return any(condition(job) for job in REGISTRY.running())
        except psutil.Error:  # it ended meanwhile
            return False

    def assert_all_gone(self) -> None:
        self._unsubscribe()
        assert self.pids, "no worker was seen"
        wait_until(
            lambda: all(gone(pid) for pid in self.pids),
            5,
            f"workers {sorted(p for p in self.pids if not gone(p))} outlived the app",
        )
        assert len(REGISTRY) == 0


def report_text(screen) -> str:
    return str(screen.query_one("#np-report").render())


def deploy_default(source: Path, cache: Path):
    """Deploy ``source`` (a llama) with the default runtime settings: physical cores."""
    from engine.foundry.deploy import execute, plan_deploy

    (source / "config.json").write_text(json.dumps({"model_type": "llama"}))
    return execute(plan_deploy(Profile(name="p"), source, cache))


def measure_llama(threads: int) -> None:
    """A tune history in which the tuner measured ``threads`` intra-op threads best for llama (a full run)."""
    from engine.onnx import tune_history

    report = {
        "state": "complete",
        "created": "2026-11-25T23:00:00",
        "runs": 5,
        "judged": True,
        "chosen": "c",
        "chosen_settings": {"intra_op_num_threads": threads},
        "candidates": [{"name": "c", "recipe": "rtn-int4-head8", "settings": {}, "error": None}],
    }
    assert tune_history.record(report, "llama")


def int4_weight_bytes(config: dict) -> int:
    """What "every MatMul and the embedding in 4 bits, blocks of 128, asymmetric" should weigh, from a Hugging
    Face ``config.json``: the layers' linear weights, the embedding and lm_head (one tensor each in the ONNX
    graph, tied or not), each at half a byte per weight plus an fp32 scale and a packed zero point per block."""
    h, i, layers = config["hidden_size"], config["intermediate_size"], config["num_hidden_layers"]
    kv = h // config["num_attention_heads"] * config.get("num_key_value_heads", config["num_attention_heads"])
    per_layer = 2 * h * h + 2 * h * kv + 3 * h * i
    weights = layers * per_layer + 2 * config["vocab_size"] * h
    return round(weights * (0.5 + 4 / 128 + 0.5 / 128))


def perplexity_bound(fp32: float, max_increase: float) -> tuple[float, float]:
    """The perplexity an int4 model may have, from fp32's scored the same way in the same test: at most the
    tuner's bound over it, and not better than it by more than 2 % (a scoring bug, not a better model)."""
    return fp32 * 0.98, fp32 * (1 + max_increase)
