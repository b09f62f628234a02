"""The job runner: event order, crashes, cancellation of the whole process group, time limits."""

from __future__ import annotations

import asyncio

import psutil

from engine.process import journal
from engine.process.events import Error, Finished, Log, Progress, Resources, Result, Stage
from engine.process.jobs import Job


def scripted(*actions, **kwargs) -> Job:
    return Job("tests.workers.scripted", {"actions": [list(a) for a in actions]}, **kwargs)


def without_samples(events):
    return [e for e in events if not isinstance(e, Resources)]


async def test_events_arrive_in_order_and_end_with_finished():
    job = scripted(("stage", "load"), ("progress", 1), ("progress", 2), ("progress", 3), ("stage", "save"))
    events = without_samples(await job.run())
    assert [type(e) for e in events] == [Stage, Progress, Progress, Progress, Stage, Result, Finished]
    assert [e.current for e in events if isinstance(e, Progress)] == [1, 2, 3]
    assert events[-1].ok and job.result == {"done": True}


async def test_library_output_on_stdout_becomes_log_not_garbage():
    job = scripted(("print", "hello from a library"), ("print", '{"type": "bogus"}'))
    events = await job.run()
    lines = [e.line for e in events if isinstance(e, Log)]
    assert "hello from a library" in lines
    assert job.finished.ok


async def test_exception_in_worker_is_an_error_event_with_traceback():
    job = scripted(("stderr", "about to fail"), ("raise", "boom"))
    events = await job.run()
    errors = [e for e in events if isinstance(e, Error)]
    assert len(errors) == 1 and "RuntimeError: boom" in errors[0].message
    assert any("boom" in line for line in errors[0].log_tail)
    assert not job.finished.ok and job.finished.returncode == 1


async def test_worker_error_carries_hint():
    job = scripted(("fail", "the model folder is empty"))
    await job.run()
    assert job.error.message == "the model folder is empty" and job.error.hint == "do the other thing"


async def test_worker_dying_without_result_gives_error_with_last_log_lines():
    job = scripted(("stderr", "loading weights"), ("stderr", "segfault imminent"), ("exit", 7))
    events = await job.run()
    error = next(e for e in events if isinstance(e, Error))
    assert "status 7" in error.message
    assert error.log_tail[-2:] == ["loading weights", "segfault imminent"]
    assert isinstance(events[-1], Finished) and not events[-1].ok


async def test_cancel_ends_the_whole_process_group():
    job = scripted(("spawn", None), ("sleep", 300), grace_s=1.0)
    child_pid = None
    async for event in job.events():
        if isinstance(event, Log) and event.line.startswith("child "):
            child_pid = int(event.line.split()[1])
            worker_pid = job.pid
            await job.cancel()
    assert child_pid is not None
    assert job.finished.cancelled and not job.finished.ok
    await asyncio.sleep(0.2)
    for pid in (worker_pid, child_pid):
        assert not psutil.pid_exists(pid) or psutil.Process(pid).status() == psutil.STATUS_ZOMBIE


async def test_leaving_the_iterator_early_kills_the_worker():
    job = scripted(("stage", "start"), ("sleep", 300))
    async for event in job.events():
        if isinstance(event, Stage):
            pid = job.pid
            break
    await asyncio.sleep(0.2)
    assert not psutil.pid_exists(pid) or psutil.Process(pid).status() == psutil.STATUS_ZOMBIE


async def test_hung_worker_times_out():
    job = scripted(("stage", "start"), ("sleep", 300), idle_timeout_s=1.0, grace_s=0.5)
    events = await job.run()
    assert job.finished.timed_out and not job.finished.ok
    assert "time limit" in next(e for e in events if isinstance(e, Error)).message


async def test_resources_are_sampled_and_peak_reported():
    job = scripted(("allocate", 200), ("sleep", 1.5), sample_interval_s=0.2)
    events = await job.run()
    samples = [e for e in events if isinstance(e, Resources)]
    assert len(samples) >= 3
    assert job.finished.peak_rss_bytes >= 200 * 1024 * 1024
    assert all(s.peak_rss_bytes <= job.finished.peak_rss_bytes for s in samples)


async def test_interactive_worker_answers_requests_until_input_closes():
    job = scripted(("serve", None), interactive=True)
    stream = job.events()
    events = [await anext(stream)]  # the worker is running once the first event arrives
    await job.send({"text": "one"})
    await job.send({"text": "two"})
    await job.close_input()
    events += [event async for event in stream]
    assert [e.line for e in events if isinstance(e, Log)] == ["echo one", "echo two"]
    assert job.finished.ok


async def test_a_failed_job_removes_the_partials_its_journal_entry_names(tmp_path, home):
    partial = tmp_path / ".out.partial-1"
    entry = journal.Entry("conversion", "to out", str(tmp_path / "out"), [str(tmp_path / ".out.partial-*")])
    job = scripted(("mkdir", str(partial)), ("exit", 3), journal_entry=entry)
    await job.run()
    assert not job.finished.ok
    assert not partial.exists() and journal.entries() == []


async def test_a_successful_job_keeps_its_files(tmp_path, home):
    kept = tmp_path / ".out.partial-1"
    entry = journal.Entry("conversion", "to out", str(tmp_path / "out"), [str(tmp_path / ".out.partial-*")])
    job = scripted(("mkdir", str(kept)), journal_entry=entry)
    await job.run()
    assert job.finished.ok and kept.is_dir() and journal.entries() == []


def test_argv_is_a_list_never_a_shell_string():
    argv = scripted(("stage", "x; rm -rf /")).argv()
    assert isinstance(argv, list) and argv[1:3] == ["-m", "tests.workers.scripted"]


async def test_a_worker_the_kernel_kills_is_reported_as_killed_for_memory_with_its_peak():
    # the worker ends itself by SIGKILL as the kernel's out-of-memory killer would: the runner did not send it
    job = scripted(("allocate", 200), ("sleep", 1.0), ("sigkill", None), sample_interval_s=0.2)
    await job.run()
    assert not job.finished.ok and job.memory_kill is not None
    assert job.memory_kill.peak_rss_bytes > 200 << 20
    assert "memory" in job.error.message and "MB" in job.error.message and "signal SIGKILL" not in job.error.message
    assert "Close other programs" in job.error.hint


async def test_a_sigkill_the_runner_sent_is_a_cancel_not_a_memory_kill():
    job = scripted(("sleep", 300), grace_s=0.2)
    async for event in job.events():
        if isinstance(event, Resources):
            await job.cancel()
    assert job.finished.cancelled and job.memory_kill is None


async def test_a_worker_that_cannot_start_ends_as_a_failed_job(tmp_path):
    from engine.process.jobs import REGISTRY

    job = scripted(("stage", "load"), cwd=tmp_path / "gone", label="convert")
    events = await job.run()
    assert [type(e) for e in events] == [Error, Finished] and not events[-1].ok and job.finished is events[-1]
    assert events[0].message.startswith("The convert worker could not start: No such file or directory") and events[0].hint
    assert job not in REGISTRY and not job.running


async def test_a_run_that_cannot_be_recorded_stops_its_worker(tmp_path, home, monkeypatch):
    """A full disk when the journal entry is written: the worker is ended and the job fails with a hint."""
    import errno

    def full(entry):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(journal, "begin", full)
    entry = journal.Entry("conversion", "to out", str(tmp_path / "out"), [str(tmp_path / ".out.partial-*")])
    job = scripted(("sleep", 30), journal_entry=entry, label="convert")
    events = await asyncio.wait_for(job.run(), 20)
    errors = [e for e in events if isinstance(e, Error)]
    assert errors and errors[0].message == "The convert run could not be recorded: No space left on device"
    assert not job.finished.ok and not psutil.pid_exists(job.pid)
