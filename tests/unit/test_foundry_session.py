"""The Foundry Local session: typed calls, matched to their replies, one worker for the calls made while it starts
(a scripted worker answers as the Foundry Local worker does)."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from engine.foundry.runtime import CheckPublic, FoundryRuntimeError, FoundrySession, Load, Register, Remove
from engine.process.events import Finished
from engine.process.jobs import Job


@pytest.fixture
def started(monkeypatch) -> list[Job]:
    jobs: list[Job] = []

    def scripted_foundry(cache_dir: Path, ops: list[dict], *, interactive: bool = False) -> Job:
        jobs.append(Job("tests.workers.scripted", {"actions": [["foundry", ops]]}, interactive=interactive))
        return jobs[-1]

    monkeypatch.setattr("engine.foundry.runtime.foundry_job", scripted_foundry)
    return jobs


def test_a_call_is_the_request_the_worker_reads():
    assert Register(Path("/c/m"), "m:1").fields() == {"path": "/c/m", "model_id": "m:1"}
    assert Remove(path=Path("/c/m")).fields() == {"model_id": "", "path": "/c/m"}
    assert (Load("m:1").describe(), CheckPublic().describe()) == ("load m:1", "public")


async def test_calls_made_while_the_worker_starts_go_to_it_and_each_gets_its_own_reply(started, tmp_path: Path):
    heard: list = []
    session = FoundrySession(tmp_path, listener=heard.append)
    first, second = await asyncio.gather(session.call(Load("a:1")), session.call(Register(tmp_path / "b", "b:1")))
    assert len(started) == 1 and session.waiting() == []
    assert (first["model_id"], first["loaded"], second["model_id"]) == ("a:1", True, "b:1")
    await session.close()
    assert not session.running and isinstance(heard[-1], Finished)


async def test_a_call_the_worker_never_answers_is_lost_and_says_how(monkeypatch, tmp_path: Path):
    def busy_foundry(cache_dir: Path, ops: list[dict], *, interactive: bool = False) -> Job:
        return Job("tests.workers.scripted", {"actions": [["sleep", 60]]}, interactive=interactive)

    monkeypatch.setattr("engine.foundry.runtime.foundry_job", busy_foundry)
    session = FoundrySession(tmp_path)
    request = await session.submit(Load("a:1"))
    assert [c.describe() for c in session.waiting()] == ["load a:1"]
    while not session.job.running:
        await asyncio.sleep(0.05)
    await session.cancel()
    with pytest.raises(FoundryRuntimeError) as lost:
        await session.reply(request)
    assert isinstance(lost.value.lost, Finished) and lost.value.lost.cancelled
