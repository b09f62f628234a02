"""Runs into the same output: each cleans up only its own staging folders, and one writes the output at a time."""

from __future__ import annotations

import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

from engine.base.errors import SlmopsError
from engine.base.locks import writing
from engine.convert.plan import convert_job
from engine.model.gguf import read_model
from engine.model.gguf_folder import gguf_folder_job, plan_gguf_folder
from engine.process import journal
from engine.process.conventions import new_run, partials_glob, staging_prefix
from engine.process.workers import ConvertSpec


def dead_pid() -> int:
    done = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True, check=True)
    return int(done.stdout)


def test_recovery_and_a_failed_run_remove_only_their_own_staging(tmp_path, home):
    output = tmp_path / "out"
    working, failed = new_run(), new_run()
    alive = Path(tempfile.mkdtemp(prefix=staging_prefix(output, working), dir=tmp_path))
    alive_scratch = Path(tempfile.mkdtemp(prefix=staging_prefix(output, working) + "work-", dir=tmp_path))
    left = Path(tempfile.mkdtemp(prefix=staging_prefix(output, failed), dir=tmp_path))
    interrupted = journal.Entry("conversion", "to out", str(output), [partials_glob(output, failed)], pid=dead_pid())
    journal.begin(interrupted)
    assert [e.title for e in journal.recover()] == ["to out"]
    assert not left.exists() and alive.is_dir() and alive_scratch.is_dir()
    journal.discard(journal.Entry("conversion", "to out", str(output), [partials_glob(output, new_run())]))
    assert alive.is_dir() and alive_scratch.is_dir()


def test_each_job_names_its_own_run(smollm2_gguf, tmp_path, home):
    plan = plan_gguf_folder(read_model(smollm2_gguf), "llama", name="smollm2", reference="x")
    first, second = gguf_folder_job(plan), gguf_folder_job(plan)
    assert first.spec["run"] != second.spec["run"]
    assert first.journal_entry.cleanup == [partials_glob(plan.output, first.spec["run"])]
    converting = convert_job(ConvertSpec(str(tmp_path / "o"), str(tmp_path / "log")))
    assert converting.journal_entry.cleanup == [partials_glob(tmp_path / "o", converting.spec["run"])]


def test_a_second_run_into_an_output_being_written_is_refused(tmp_path):
    from engine.workers.gguf_folder import main

    output = tmp_path / "folder"
    with writing(output):
        with pytest.raises(SlmopsError, match="Another run is writing") as info:
            main({"gguf": str(tmp_path / "x.gguf"), "output": str(output), "run": new_run()})
        assert info.value.hint
    assert not list(tmp_path.glob(".folder.partial-*"))
