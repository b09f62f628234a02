"""The request/reply protocol (engine.process.rpc) over a real worker process that answers late, out of order or not at all."""

from __future__ import annotations

import asyncio

import pytest

from engine.process import rpc
from engine.process.events import Finished, Result, Token
from engine.process.jobs import Job


async def serving(hold: int = 1, drop: tuple[int, ...] = ()):
    """A scripted worker answering rpc requests, its client, and the task that feeds the client the worker's events."""
    job = Job("tests.workers.scripted", {"actions": [["answer", {"hold": hold, "drop": list(drop)}]]}, interactive=True)
    client = rpc.Client(job.send)
    stream = job.events()
    client.feed(await anext(stream))  # the worker is running once its first event arrives

    async def pump() -> None:
        async for event in stream:
            client.feed(event)

    return job, client, asyncio.create_task(pump())


async def test_replies_in_reverse_order_reach_the_requests_they_answer():
    job, client, pump = await serving(hold=2)
    first, second = client.new("echo", text="first"), client.new("echo", text="second")
    await client.send(first)
    await client.send(second)
    for request in (first, second):
        text, stream = request["text"], [e async for e in client.events(request)]
        assert [e.text for e in stream if isinstance(e, Token)] == [f"<{text}>"]
        assert isinstance(stream[-1], Result) and stream[-1].data["echo"] == text
    await job.close_input()
    await pump
    assert job.finished.ok


async def test_a_lost_reply_is_not_taken_for_the_next_one():
    job, client, pump = await serving(drop=(1,))
    lost = client.new("echo", text="lost")
    await client.send(lost)
    assert await client.call("echo", text="kept") == {"id": 2, "op": "echo", "ok": True, "echo": "kept"}
    assert client.waiting() == [lost]  # the one answered waits no more, at once
    await job.close_input()
    with pytest.raises(rpc.RequestLost):  # the worker ended without answering it
        await asyncio.wait_for(client.reply(lost), 10)
    await pump


async def test_a_failed_request_is_an_error_with_its_reason_and_the_worker_stays():
    job, client, pump = await serving()
    with pytest.raises(rpc.RequestFailed, match="KeyError"):
        await client.call("echo")  # no text
    assert (await client.call("echo", text="still here"))["echo"] == "still here"
    await job.close_input()
    await pump


def test_a_reply_nobody_waits_for_is_dropped():
    client = rpc.Client()
    request = client.new("echo")
    client.feed(Result({"id": 99, "ok": True}))
    client.feed(Result({"id": [1], "ok": True}))  # garbled, unhashable id
    client.feed(Result({"id": request["id"], "ok": True, "mine": True}))
    assert asyncio.run(client.reply(request))["mine"]
    assert client.waiting() == []


def test_requests_after_the_worker_ended_are_lost_at_once():
    client = rpc.Client()
    client.feed(Finished(ok=True, returncode=0))
    with pytest.raises(rpc.RequestLost):
        asyncio.run(client.reply(client.new("echo")))


def test_the_worker_side_answers_every_request_with_its_id():
    lines = ['{"op": "double", "id": 3, "n": 2}\n', "\n", '{"op": "double", "id": 4}\n']
    replies = [rpc.answer(r, lambda r: {"n": r["n"] * 2}) for r in rpc.requests(lines)]
    assert replies[0] == {"id": 3, "op": "double", "ok": True, "n": 4}
    assert replies[1]["id"] == 4 and not replies[1]["ok"] and "KeyError" in replies[1]["error"]
    with pytest.raises(ValueError):
        list(rpc.requests(["[1, 2]\n"]))
