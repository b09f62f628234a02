"""An exclusive lock on a file, across processes: one deployment per cache, one tuning run per profile, one run
writing an output."""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
from collections.abc import Iterator
from pathlib import Path

from engine.base import locations
from engine.base.errors import SlmopsError


@contextlib.contextmanager
def file_lock(path: Path, *, wait: bool = True) -> Iterator[None]:
    """Hold ``path`` (created when missing) exclusively; with ``wait=False``, ``BlockingIOError`` when another
    process holds it. The lock goes with the process, so a killed holder leaves nothing to clean up."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX if wait else fcntl.LOCK_EX | fcntl.LOCK_NB)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


@contextlib.contextmanager
def writing(output: Path) -> Iterator[None]:
    """Hold ``output`` while one run writes it; a second run is refused at once. The lock file lives in slmops'
    data folder, named by the output's path, so nothing is left beside the user's files."""
    key = hashlib.sha256(str(output.absolute()).encode()).hexdigest()[:24]
    lock = file_lock(locations.data_dir() / "locks" / f"output-{key}.lock", wait=False)
    try:
        lock.__enter__()
    except BlockingIOError:
        raise SlmopsError(
            f"Another run is writing {output} now.", "Wait for it to finish, or give this run another output."
        ) from None
    try:
        yield
    finally:
        lock.__exit__(None, None, None)
